/**
 * Tensors of one evaluation used again once nothing reads them (issue 12, section 2). The raw
 * gradient of the U-Net (Fig. 28) allocates some 40 MB of intermediates per evaluation; left to
 * the garbage collector, its pauses took 12-18 ms of a 160 ms evaluation on this project's
 * 2-core machine (5-6 collections an evaluation, `PerformanceObserver` on `gc`), and the
 * collector's own threads as much again. Handed back here when their last reader has run, the
 * same buffers serve the later steps that want the same number of entries: 2-3 collections and
 * 4-7 ms an evaluation.
 *
 * The evaluator ({@link execute} in src/eval/evaluate.ts) counts, per buffer, the slots that hold
 * a value on it (`hold`, `release`): values share buffers (a view, a broadcast's shared input, a
 * strided view of a product), so a buffer is free only when no slot holds any value on it. Only
 * buffers that this pool made are used again, never an input, a parameter, a generator's table
 * or an output. A buffer given out again is zeroed first, as a fresh one is (kernels add into
 * their outputs). The buffers kept for use again hold at most twice as many entries as the
 * slots held at most at once ({@link SPARE_BOUND}; with the bound at one, the U-Net's gradient
 * still spent 8-9 ms an evaluation collecting); the pool is dropped with the evaluation.
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

/** How many buffers pools have given out again since the process started. @internal */
export const buffersReused = (): number => reusedCount

/**
 * The constructor of the whole-buffer views of freed buffers, taken when this module loads: a
 * view allocates nothing, and code that counts allocations by wrapping the global constructor
 * (the cost model's test) sees only new tensors.
 */
const View = Float64Array

/** The free buffers kept hold at most this many times the most entries slots held at once. */
const SPARE_BOUND = 2

/** One evaluation's reusable buffers, and how many slots hold each buffer. @internal */
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

  /** A zeroed tensor of `entries`: a free one of that length when there is one. */
  take(entries: number): Float64Array {
    const list = this.spare.get(entries)
    const reused = list?.pop()
    if (reused !== undefined) {
      this.spareEntries -= entries
      reusedCount++
      reused.fill(0)
      this.made.add(reused.buffer)
      return reused
    }
    const fresh = new Float64Array(entries)
    if (entries >= smallest) this.made.add(fresh.buffer)
    return fresh
  }

  /** A slot now holds `data` (or a value on its buffer). */
  hold(data: Float64Array): void {
    const b = data.buffer
    // A buffer too small to have been made here is not counted (most of a small model's).
    if (b.byteLength < 8 * smallest) return
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
    if (b.byteLength < 8 * smallest) return
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

  private recycle(b: ArrayBufferLike, entries: number): void {
    this.made.delete(b)
    if (this.spareEntries + entries > SPARE_BOUND * this.mostHeld) return
    this.spareEntries += entries
    const whole = new View(b)
    const list = this.spare.get(entries)
    if (list === undefined) this.spare.set(entries, [whole])
    else list.push(whole)
  }
}
