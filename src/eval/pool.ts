/**
 * Tensors used again once nothing reads them (issue 12, section 2). The raw gradient of the
 * U-Net (Fig. 28) allocates some 40 MB of intermediates per evaluation; left to the garbage
 * collector, its pauses took 12-18 ms of a 160 ms evaluation on this project's 2-core machine
 * (5-6 collections an evaluation, `PerformanceObserver` on `gc`), and the collector's own threads
 * as much again.
 *
 * The evaluator ({@link execute} in src/eval/evaluate.ts) counts, per buffer, the slots that hold
 * a value on it (`hold`, `release`): values share buffers (a view, a broadcast's shared input, a
 * strided view of a product), so a buffer is free only when no slot holds any value on it. A
 * buffer a step took and no slot holds once it has run was its scratch, free at once (`sweep`).
 * Only buffers that this pool made are used again, never an input, a parameter, a generator's
 * table, what a generator's implementation was given, or an output. A buffer given out again is
 * zeroed first, as a fresh one is (kernels add into their outputs), and only to a step that wants
 * as many entries.
 *
 * A term evaluated again (a training loop, a benchmark) finds the buffers its last evaluation
 * freed ({@link poolFor}, {@link keepPool}): the pools of the {@link KEPT_POOLS} terms evaluated
 * last are kept between evaluations until {@link releaseBuffers}. The free buffers a pool keeps
 * hold at most {@link SPARE_BOUND} times the entries its slots held at once, and all pools
 * together at most {@link SPARE_CAP} entries. Kept so, the U-Net's loss and raw gradient
 * allocate no new tensor from one evaluation to the next, and the process spends about half the
 * CPU time on them that it spent collecting their garbage (bench/derive-results.md).
 *
 * @packageDocumentation
 * @internal
 */

/** Buffers smaller than this are left to the collector (its young generation takes them cheaply). */
let smallest = 4096

/** Buffers given out again, over all evaluations (tests: that a case reached the pool). */
let reusedCount = 0

/**
 * Set the fewest entries of a buffer the pool uses again, returning the previous (tests: `1`
 * sends every buffer through it, as tiny terms would not). @internal
 */
export const setPoolSmallest = (entries: number): number => {
  const old = smallest
  smallest = entries
  return old
}

/** Buffers made new (of at least the smallest pooled size), over all evaluations. */
let madeCount = 0

/** How many buffers pools have given out again since the process started. @internal */
export const buffersReused = (): number => reusedCount

/** How many buffers pools have made new since the process started (tests). @internal */
export const buffersMade = (): number => madeCount

/**
 * The constructor of the whole-buffer views of freed buffers, taken when this module loads: a
 * view allocates nothing, and code that counts allocations by wrapping the global constructor
 * (the cost model's test) sees only new tensors.
 */
const View = Float64Array

/**
 * The free buffers a pool keeps hold at most this many times the most entries its slots held at
 * once (in this evaluation or, until this one holds more, the last). Buffers are reused only at
 * their exact length, so the U-Net's loss needs 2.8 times its most held to allocate nothing again
 * (its sizes of feature maps and windows differ); 2 left it allocating 2.8 M entries an
 * evaluation, 3 0.6 M, 4 none. With the bound at 1, the U-Net's gradient spent 8-9 ms an
 * evaluation collecting.
 */
export const SPARE_BOUND = 4

/**
 * The most entries of free buffers kept, by one pool or by all kept pools together (2^25,
 * 256 MiB of float64): past it a freed buffer is the collector's, as it was without the pool.
 */
export const SPARE_CAP = 2 ** 25

/**
 * The reusable buffers of the evaluations of one term, and how many slots hold each buffer.
 * @internal
 */
export class BufferPool {
  /** Slots holding a value on each buffer. */
  private readonly refs = new Map<ArrayBufferLike, number>()
  /** The buffers this pool made (weakly: a buffer no one holds is the collector's). */
  private readonly made = new WeakSet<ArrayBufferLike>()
  /** Free buffers by their number of entries. */
  private readonly spare = new Map<number, Float64Array[]>()
  private spareEntries = 0
  private heldEntries = 0
  private mostHeld = 0
  /** The most the last evaluation held at once (the bound, until this one holds more). */
  private carried = 0

  /**
   * The threshold this pool was made under: it counts, keeps and gives out only buffers of at
   * least this many entries, whatever `setPoolSmallest` later says (a pool that counted by a new
   * threshold would not count the small buffers it kept under the old one, and would recycle
   * them while slots held them); {@link poolFor} drops a kept pool made under another.
   */
  readonly smallest = smallest

  /** The buffers given out since the innermost running step began ({@link mark}). */
  private readonly taken: ArrayBufferLike[] = []

  /** A zeroed tensor of `entries`: a free one of that length when there is one. */
  take(entries: number): Float64Array {
    const list = this.spare.get(entries)
    const reused = list?.pop()
    if (reused !== undefined) {
      this.spareEntries -= entries
      reusedCount++
      reused.fill(0)
      this.made.add(reused.buffer)
      this.taken.push(reused.buffer)
      return reused
    }
    const fresh = new Float64Array(entries)
    if (entries >= this.smallest) {
      madeCount++
      this.made.add(fresh.buffer)
      this.taken.push(fresh.buffer)
    }
    return fresh
  }

  /** A step begins: where its buffers start in the list of those given out. */
  mark(): number {
    return this.taken.length
  }

  /**
   * The step that began at `mark` has run and its outputs are held: the buffers it took that no
   * slot holds were its scratch (a contraction's transposed operands, a shared input spread for
   * an element-wise op), free now, unless `given` (a generator's step: its implementation was
   * given that scratch, a spread input, and may keep it). A buffer a slot holds is freed when the
   * slot lets it go.
   */
  sweep(mark: number, given = false): void {
    for (let i = mark; i < this.taken.length; i++) {
      const b = this.taken[i] as ArrayBufferLike
      if (this.refs.has(b) || !this.made.has(b)) continue
      if (given) this.made.delete(b)
      else this.recycle(b, b.byteLength / 8)
    }
    this.taken.length = mark
  }

  /** A slot now holds `data` (or a value on its buffer). */
  hold(data: Float64Array): void {
    const b = data.buffer
    // A buffer too small to have been made here is not counted (most of a small model's).
    if (b.byteLength < 8 * this.smallest) return
    const n = this.refs.get(b)
    if (n === undefined) {
      this.refs.set(b, 1)
      if (this.made.has(b)) {
        this.heldEntries += b.byteLength / 8
        if (this.heldEntries > this.mostHeld) this.mostHeld = this.heldEntries
      }
    } else this.refs.set(b, n + 1)
  }

  /**
   * A slot no longer holds `data`. When no slot holds its buffer, the buffer is free to use
   * again, unless `keep` (an output handed to the caller, who holds it next).
   */
  release(data: Float64Array, keep = false): void {
    const b = data.buffer
    if (b.byteLength < 8 * this.smallest) return
    const n = this.refs.get(b)
    if (n === undefined) return
    if (n > 1) {
      this.refs.set(b, n - 1)
      return
    }
    this.refs.delete(b)
    if (!this.made.has(b)) return
    const entries = b.byteLength / 8
    this.heldEntries -= entries
    if (!keep) this.recycle(b, entries)
  }

  /**
   * Never use `data`'s buffer again in this evaluation: a generator's implementation was given
   * it, and may keep it past its call (the user's code; only writing into it is forbidden).
   */
  keep(data: Float64Array): void {
    const b = data.buffer
    if (!this.made.has(b)) return
    this.made.delete(b)
    if (this.refs.has(b)) this.heldEntries -= b.byteLength / 8
  }

  /**
   * Hand back a buffer that no slot holds and no one will read again (a broadcast's output
   * once copied out); ignored when a slot holds it or the pool did not make it.
   */
  discard(data: Float64Array): void {
    const b = data.buffer
    if (!this.refs.has(b) && this.made.has(b)) this.recycle(b, b.byteLength / 8)
  }

  /** Start an evaluation with the free buffers of the last one (none for a new pool). */
  begin(): void {
    this.refs.clear()
    this.taken.length = 0
    this.heldEntries = 0
    this.carried = this.mostHeld
    this.mostHeld = 0
  }

  /**
   * End an evaluation whose `outputs` go to the caller (never used again): keep at most
   * SPARE_BOUND times what it held at once.
   */
  end(outputs: ReadonlyArray<Float64Array>): void {
    for (const o of outputs) this.made.delete(o.buffer)
    this.trim(SPARE_BOUND * this.mostHeld)
    this.refs.clear()
  }

  /** Drop free buffers until they hold at most `bound` entries. */
  trim(bound: number): void {
    for (const [entries, list] of this.spare) {
      while (this.spareEntries > bound && list.length > 0) {
        list.pop()
        this.spareEntries -= entries
      }
      if (list.length === 0) this.spare.delete(entries)
    }
  }

  /** The entries of the free buffers this pool keeps. */
  get spareSize(): number {
    return this.spareEntries
  }

  private recycle(b: ArrayBufferLike, entries: number): void {
    this.made.delete(b)
    const bound = Math.min(SPARE_CAP, SPARE_BOUND * Math.max(this.mostHeld, this.carried))
    if (this.spareEntries + entries > bound) return
    this.spareEntries += entries
    const whole = new View(b)
    const list = this.spare.get(entries)
    if (list === undefined) this.spare.set(entries, [whole])
    else list.push(whole)
  }
}

/** How many terms' pools are kept between evaluations. */
export const KEPT_POOLS = 4

/** The kept pools, the least recently evaluated first. */
const kept = new Map<object, BufferPool>()

/** Forget a kept pool: its free buffers are the collector's. */
const drop = (key: object): void => {
  kept.get(key)?.trim(0)
  kept.delete(key)
}

/**
 * The pool for an evaluation of the compiled term `key`: the one its last evaluation left, taken
 * out while this one runs (an evaluation inside it, by a generator's implementation, gets its
 * own), or a new one. @internal
 */
export const poolFor = (key: object): BufferPool => {
  const last = kept.get(key)
  kept.delete(key)
  const pool = last !== undefined && last.smallest === smallest ? last : new BufferPool()
  pool.begin()
  return pool
}

/**
 * Keep the pool of a finished evaluation of `key` for the next, its `outputs` handed to the
 * caller; the pool of the term evaluated least recently goes when more than KEPT_POOLS are kept.
 * @internal
 */
export const keepPool = (
  key: object,
  pool: BufferPool,
  outputs: ReadonlyArray<Float64Array>,
): void => {
  pool.end(outputs)
  drop(key)
  kept.set(key, pool)
  let total = 0
  for (const p of kept.values()) total += p.spareSize
  for (const [k, p] of kept) {
    if (k === key || (kept.size <= KEPT_POOLS && total <= SPARE_CAP)) break
    total -= p.spareSize
    drop(k)
  }
}

/**
 * Let go of the buffers `evaluate` keeps for the next evaluation of the terms it evaluated last
 * (freed intermediates of at most four terms, each at most four times the entries its last
 * evaluation held at once, 2^25 entries in all), so that the garbage collector can take them.
 * Returns how many entries they held. Evaluating again needs no call: the buffers serve the
 * next evaluation of the same term, which then allocates no new tensor.
 *
 * @example
 * ```ts
 * import { copy, evaluate, mul, releaseBuffers, relu, seq } from 'neural-circuit-diagrams'
 * releaseBuffers() // side effects only (whatever earlier evaluations kept)
 * // relu(x)²: the relu's 5000 entries are freed once the product has read them, and kept.
 * const square = seq(relu('n'), copy([['n']]), mul(['n']))
 * evaluate(square, { n: 5000 }, [new Float64Array(5000)])
 * releaseBuffers() // 5000
 * releaseBuffers() // 0
 * ```
 */
export const releaseBuffers = (): number => {
  const entries = [...kept.values()].reduce((n, p) => n + p.spareSize, 0)
  for (const k of [...kept.keys()]) drop(k)
  return entries
}
