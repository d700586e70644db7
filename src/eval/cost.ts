/**
 * The cost model (DESIGN.md section 1; paper section 3.6, Fig. 34): the floating-point
 * operations and the peak memory of evaluating a term at given sizes, per primitive and in total.
 * Fig. 34 counts the forward-derivative gradient as "the size of the input times the cost of the
 * forward pass" (quadratic) against the reverse derivative's constant multiple (linear); this
 * module gives those counts for any term, so the claim can be checked (test/cost.test.ts) and set
 * beside measured times (bench/derive.ts).
 *
 * The model mirrors the numeric evaluator (`src/eval/evaluate.ts`) step by step, on sizes instead
 * of data: it runs the same recursion, with one abstract value (a length and one "varies along
 * this broadcast axis" flag per enclosing broadcast) where the evaluator holds a tensor, and
 * charges what the evaluator's kernels do. It counts the steps as the term writes them
 * (`evaluateAsWritten`); `evaluate` also skips the steps no output reads and fuses element-wise
 * runs, so it allocates at most what the model counts (test/cost.test.ts). It lives in `src/eval`
 * because it replays the evaluator's contraction plans and kernel layouts (`contract.ts`,
 * `kernels.ts`), and `evaluate` asks it for the peak memory before any work (README,
 * "Architecture").
 *
 * Counts. A *row* is the data of one tensor divided by its last axis (or axes) the kernel acts on;
 * `E` is the number of entries of the value the kernel reads, `O` of the one it writes. Within a
 * broadcast every value carries the broadcast axes it varies along as leading batch axes, so a
 * broadcast costs one vectorised run of its body, whose values are larger by the product of the
 * sizes of the axes they vary along; a shared input (inner broadcasting, Fig. 14) or a parameter
 * is never copied per index, and work on it is done once, not once per index.
 *
 * - `scalar:<op>`: 1 FLOP per output entry, `O`; transcendental functions (exp, log, tanh,
 *   sigmoid, sqrt, reciprocal, gelu, normcdf) count {@link CostOptions.transcendental} (default 1)
 *   per entry. `add` and `mul` of operands varying along different broadcast axes first
 *   materialise both on the union (memory, no FLOPs), as the evaluator does.
 * - `axisOp:<op>` on rows of `n` entries: softmax `5n` per row (max, subtract, exp, sum,
 *   divide), layerNorm `6n + 4` (sum, subtract, square, sum, subtract, multiply; then divide,
 *   add ε, square root, reciprocal), max `n`, argmax `n`, mean `n + 1` (sum, divide).
 * - `einsum`: the evaluator's contraction (`src/eval/contract.ts`) replayed: diagonals of
 *   repeated labels (memory only), each operand's private labels summed first (1 FLOP per entry
 *   of the summed operand), then pairwise contractions in the same greedy order (the pair with the
 *   smallest joint index space, ties to the smaller result), each a batched matrix product
 *   costing `2 · B · M · K · N` FLOPs, that is 2 × the product of the sizes of every label of the
 *   pair (one multiply and one add per point of its joint index space), then a last private sum and
 *   the output's transpose or diagonal embedding (memory only). Broadcast axes a value varies
 *   along are labels, as in the evaluator. The operand transposes a step needs count as memory.
 *   A matrix product `a b, b c -> a c` is `2abc` FLOPs.
 * - `convTensor:adjoint` (transposed convolution's scatter) adds: 1 FLOP per input entry.
 * - Structural moves cost 0 FLOPs and the memory they write: `index` (`O` = rows),
 *   `index:adjoint` (one-hot, `O` = `n·E`), `pad` and `pad:adjoint` (crop), `convTensor`
 *   (`y·k` per row of `x`), `concat` (the joined rows, and any part materialised on the union of
 *   the parts' broadcast levels), `concat:adjoint` (the split's parts), `zero` (its type), `broadcast` (the transposes that move broadcast
 *   axes to the front on entry and back on exit, and the materialisation of an output that does
 *   not vary along the broadcast). `view`, `param`, `id`, `swap`, `copy` and `drop` move no data:
 *   0 and 0 (a copy is two references to one tensor, as in the evaluator).
 * - `output`: the evaluator returns fresh tensors, so an output that is an input, a parameter or
 *   another output is copied at the end.
 * - `derivative` nodes cost as their expansion `jvp(body)`, boxes as their bodies.
 * - `generator:<F>` (`generator:Fᵀ`, `generator:dF`, `generator:dFᵀ` for its derived forms): the
 *   FLOPs declared per application ({@link CostOptions.generators}, default 0) times the batch;
 *   memory: its outputs, and its inputs materialised on the union of their broadcast levels.
 *
 * Memory is counted in entries (float64 numbers; bytes are 8 ×). `allocated` is the sum over
 * every tensor written. `peakMemory` simulates the evaluation order (a `seq` left to right, the
 * parts of a `par` in order, a broadcast's body between its entry and exit copies): the inputs and
 * parameters are resident throughout (`resident`), and every other tensor is live from its
 * allocation until the last wire holding it is consumed: while a part runs, the outputs of the
 * parts before it and the inputs of the parts after it stay live. Tensors are told apart by
 * identity, so a value on two wires (copy) counts once. Within one kernel, its inputs, its
 * temporaries (an einsum's transposed operands and pairwise intermediates, all of one einsum's
 * current operands) and its output are live together. The peak is `resident` plus the largest
 * sum of the live tensors at any allocation. This is the evaluator's live set if intermediates are
 * freed as soon as no wire holds them; the JavaScript garbage collector frees them later, so a
 * measured heap may be higher (bench/run.ts measures it).
 *
 * @packageDocumentation
 */
import { id, par, seq } from '../core/construct.js'
import { type Dim, type Sizes, dimSize, showDim } from '../core/dim.js'
import { absurd, fail } from '../core/errors.js'
import { show } from '../core/show.js'
import { type AxisOpName, type ScalarOp, type Term, splitByLengths } from '../core/term.js'
import { type Shape, shapeSize } from '../core/types.js'
import { jvp, sumOf } from '../derive/jvp.js'
import { einsumOf } from '../linear/einsum.js'
import { choosePair, contractionSchedule, pairLayout, planPair } from './contract.js'
import { directPoints } from './direct.js'
import { isBlockBroadcast } from './kernels.js'

/** Options of {@link cost}. */
export interface CostOptions {
  /**
   * FLOPs charged per entry for a transcendental scalar function (exp, log, tanh, sigmoid, sqrt,
   * reciprocal, gelu, normcdf). Default 1, as every other scalar function.
   */
  readonly transcendental?: number
  /**
   * The FLOPs of one application of each generator (by name), a number or a function of the
   * sizes; its transpose and derivative forms are charged the same. A generator not named costs
   * 0 FLOPs (its outputs still count as memory).
   */
  readonly generators?: Readonly<Record<string, number | ((sizes: Sizes) => number)>>
}

/** The cost of one kind of primitive: how many times it runs, its FLOPs, the entries it writes. */
export interface PrimitiveCost {
  /**
   * A stable name: `einsum`, `scalar:<op>` (`scalar:mul`), `axisOp:<op>` (`axisOp:softmax`),
   * `index`, `index:adjoint`, `view`, `pad`, `pad:adjoint`, `convTensor`, `convTensor:adjoint`,
   * `zero`, `param`, `id`, `swap`, `copy`, `drop`, `broadcast`, `output`.
   */
  readonly primitive: string
  /** Runs of its kernel: a broadcast body runs once (vectorised), so this counts occurrences. */
  readonly count: number
  readonly flops: number
  /** Entries written (allocated), summed over its runs. */
  readonly memory: number
}

/** The cost of a term at given sizes: see the module comment for the model. */
export interface Cost {
  /** Floating-point operations in total. */
  readonly flops: number
  /** The most entries live at once, the resident inputs and parameters included. */
  readonly peakMemory: number
  /** Entries of the inputs and of the parameters the term reads. */
  readonly resident: number
  /** Entries written in total, over every tensor the evaluation allocates. */
  readonly allocated: number
  /**
   * Whether every figure is exact: false when a count exceeds 2^53 (`Number.MAX_SAFE_INTEGER`),
   * beyond which float64 numbers skip integers, so the figures are rounded (to 16 digits).
   */
  readonly exact: boolean
  /** Per primitive, most FLOPs first (then most memory, then by name). */
  readonly byPrimitive: ReadonlyArray<PrimitiveCost>
}

/** An abstract tensor: its number of entries; identity tells tensors apart. */
interface Buf {
  readonly entries: number
  readonly pinned: boolean
}

/** An abstract value: a tensor and the broadcast levels it varies along (as in the evaluator). */
interface Val {
  readonly buf: Buf
  readonly levels: ReadonlyArray<boolean>
}

/** The values other than a kernel's own that are live while it runs: a stack of wire tuples. */
interface Held {
  readonly vals: ReadonlyArray<Val>
  readonly next: Held | undefined
}

/** An einsum operand during contraction: its tensor and the label of each axis. */
interface Operand {
  readonly buf: Buf
  readonly labels: ReadonlyArray<string>
}

const TRANSCENDENTAL: ReadonlySet<ScalarOp> = new Set<ScalarOp>([
  'exp',
  'log',
  'tanh',
  'sigmoid',
  'sqrt',
  'reciprocal',
  'gelu',
  'normcdf',
])

/** FLOPs of an axis operation on `rows` rows of `n` entries (see the module comment). */
const axisFlops = (op: AxisOpName, rows: number, n: number): number => {
  switch (op) {
    case 'softmax':
      return rows * 5 * n
    case 'layerNorm':
      return rows * (6 * n + 4)
    case 'max':
    case 'argmax':
      return rows * n
    case 'mean':
      return rows * (n + 1)
    default:
      return absurd(op)
  }
}

const product = (ns: ReadonlyArray<number>): number => ns.reduce((a, b) => a * b, 1)

/** Whether the evaluator's `permute` copies (moving axes of extent 1 moves nothing). */
const permuteCopies = (shape: ReadonlyArray<number>, perm: ReadonlyArray<number>): boolean => {
  const moved = perm.filter((p) => shape[p] !== 1)
  return !moved.every((p, i) => i === 0 || (moved[i - 1] as number) < p)
}

const split = splitByLengths

const levelLabel = (l: number): string => `\u0000${l}`

/** The simulation: the evaluator's recursion on abstract values. */
class Simulation {
  private readonly rows = new Map<string, { count: number; flops: number; memory: number }>()
  private readonly params = new Map<string, Buf>()
  private transientPeak = 0
  allocated = 0

  constructor(
    private readonly sizes: Sizes,
    private readonly transcendental: number,
    private readonly generatorFlops: Readonly<
      Record<string, number | ((sizes: Sizes) => number)>
    > = {},
  ) {}

  size(d: Dim): number {
    return dimSize(d, this.sizes)
  }

  private row(name: string) {
    let r = this.rows.get(name)
    if (r === undefined) {
      r = { count: 0, flops: 0, memory: 0 }
      this.rows.set(name, r)
    }
    return r
  }

  /** One run of a primitive's kernel. */
  ran(name: string, flops = 0): void {
    const r = this.row(name)
    r.count += 1
    r.flops += flops
  }

  flops(name: string, n: number): void {
    this.row(name).flops += n
  }

  /** Allocate a tensor for `name`, with `held` and `extra` live beside it. */
  alloc(name: string, entries: number, held: Held | undefined, extra: ReadonlyArray<Buf>): Buf {
    const buf: Buf = { entries, pinned: false }
    this.row(name).memory += entries
    this.allocated += entries
    this.observe(held, [...extra, buf])
    return buf
  }

  /** Record the live entries (the unpinned tensors of `held` and `extra`). */
  observe(held: Held | undefined, extra: ReadonlyArray<Buf>): void {
    const seen = new Set<Buf>()
    let total = 0
    const see = (b: Buf) => {
      if (b.pinned || seen.has(b)) return
      seen.add(b)
      total += b.entries
    }
    extra.forEach(see)
    for (let h = held; h !== undefined; h = h.next) for (const v of h.vals) see(v.buf)
    if (total > this.transientPeak) this.transientPeak = total
  }

  param(name: string, shape: Shape): Buf {
    let b = this.params.get(name)
    if (b === undefined) {
      b = { entries: shapeSize(shape, this.sizes), pinned: true }
      this.params.set(name, b)
    }
    return b
  }

  result(inputs: number): Cost {
    const resident = inputs + [...this.params.values()].reduce((n, b) => n + b.entries, 0)
    const byPrimitive = [...this.rows.entries()]
      .map(([primitive, r]) => ({ primitive, count: r.count, flops: r.flops, memory: r.memory }))
      .sort(
        (a, b) =>
          b.flops - a.flops ||
          b.memory - a.memory ||
          (a.primitive < b.primitive ? -1 : a.primitive > b.primitive ? 1 : 0),
      )
    const flops = byPrimitive.reduce((n, r) => n + r.flops, 0)
    const peakMemory = resident + this.transientPeak
    // Every count is a sum of non-negative terms, so one rounded term makes its total exceed 2^53.
    const exact = [flops, peakMemory, resident, this.allocated].every(Number.isSafeInteger)
    return { flops, peakMemory, resident, allocated: this.allocated, exact, byPrimitive }
  }

  private batch(levels: ReadonlyArray<number>, v: Val): number {
    return v.levels.reduce((n, on, l) => (on ? n * (levels[l] as number) : n), 1)
  }

  private bufs(vals: ReadonlyArray<Val>): Buf[] {
    return vals.map((v) => v.buf)
  }

  run(
    t: Term,
    levels: ReadonlyArray<number>,
    ins: ReadonlyArray<Val>,
    held: Held | undefined,
  ): Val[] {
    switch (t.kind) {
      case 'id':
        this.ran('id')
        return [...ins]
      case 'seq':
        return t.parts.reduce<Val[]>((vs, p) => this.run(p, levels, vs, held), [...ins])
      case 'par': {
        const groups = split(
          ins,
          t.parts.map((p) => p.dom.length),
        )
        const outs: Val[] = []
        t.parts.forEach((p, i) => {
          const others = [...outs, ...groups.slice(i + 1).flat()]
          const inner = others.length > 0 ? { vals: others, next: held } : held
          outs.push(...this.run(p, levels, groups[i] as Val[], inner))
        })
        return outs
      }
      case 'swap':
        this.ran('swap')
        return [...ins.slice(t.left.length), ...ins.slice(0, t.left.length)]
      case 'copy':
        this.ran('copy')
        return [...ins, ...ins]
      case 'drop':
        this.ran('drop')
        return []
      case 'box':
        return this.run(t.body, levels, ins, held)
      case 'derivative':
        return this.run(jvp(t.body), levels, ins, held)
      case 'zero': {
        this.ran('zero')
        const none = levels.map(() => false)
        const outs: Val[] = []
        for (const s of t.type)
          outs.push({
            buf: this.alloc('zero', shapeSize(s, this.sizes), held, this.bufs(outs)),
            levels: none,
          })
        return outs
      }
      case 'param':
        this.ran('param')
        return [{ buf: this.param(t.name, t.shape), levels: levels.map(() => false) }]
      case 'view':
        this.ran('view')
        t.to.forEach((d) => this.size(d))
        return [ins[0] as Val]
      case 'scalar':
        return [this.scalar(t, levels, ins, held)]
      case 'axisOp': {
        const v = ins[0] as Val
        const n = this.size(t.axis)
        const rows = v.buf.entries / n
        const name = `axisOp:${t.op}`
        this.ran(name, axisFlops(t.op, rows, n))
        const reduces = t.op === 'max' || t.op === 'mean'
        const out = this.alloc(name, reduces ? rows : v.buf.entries, held, this.bufs(ins))
        return [{ buf: out, levels: v.levels }]
      }
      case 'index': {
        const v = ins[0] as Val
        const n = this.size(t.axis)
        if (t.at >= n)
          fail('bad-index', `cost: index ${t.at} is past the end of ${showDim(t.axis)}`, {
            expected: `a position below ${showDim(t.axis)} = ${n}`,
            got: String(t.at),
          })
        const name = t.adjoint === true ? 'index:adjoint' : 'index'
        this.ran(name)
        const entries = t.adjoint === true ? v.buf.entries * n : v.buf.entries / n
        return [{ buf: this.alloc(name, entries, held, this.bufs(ins)), levels: v.levels }]
      }
      case 'pad': {
        const v = ins[0] as Val
        const n = this.size(t.axis)
        const m = n + t.before + t.after
        const name = t.adjoint === true ? 'pad:adjoint' : 'pad'
        this.ran(name)
        const entries = t.adjoint === true ? (v.buf.entries / m) * n : (v.buf.entries / n) * m
        return [{ buf: this.alloc(name, entries, held, this.bufs(ins)), levels: v.levels }]
      }
      case 'convTensor': {
        const v = ins[0] as Val
        const x = this.size(t.input)
        const k = this.size(t.kernel)
        const y = this.size((t.adjoint === true ? t.dom : t.cod)[0]?.[0] as Dim)
        if (t.adjoint === true) {
          const rows = v.buf.entries / (y * k)
          this.ran('convTensor:adjoint', rows * y * k)
          const out = this.alloc('convTensor:adjoint', rows * x, held, this.bufs(ins))
          return [{ buf: out, levels: v.levels }]
        }
        this.ran('convTensor')
        const out = this.alloc('convTensor', (v.buf.entries / x) * y * k, held, this.bufs(ins))
        return [{ buf: out, levels: v.levels }]
      }
      case 'concat':
        return this.concat(t, levels, ins, held)
      case 'einsum':
        return [this.einsum(t, levels, ins, held)]
      case 'broadcast':
        return this.broadcast(t, levels, ins, held)
      case 'generator':
        return this.generator(t, levels, ins, held)
      default:
        return absurd(t)
    }
  }

  /**
   * A generator, as the evaluator runs it: its inputs materialised on the union of their broadcast
   * levels, then one application per batch index at its declared FLOPs, writing its outputs.
   */
  private generator(
    t: Extract<Term, { kind: 'generator' }>,
    levels: ReadonlyArray<number>,
    ins: ReadonlyArray<Val>,
    held: Held | undefined,
  ): Val[] {
    const name = `generator:${show(t)}`
    const mask = levels.map((_, l) => ins.some((v) => v.levels[l] as boolean))
    const nb = mask.reduce((n, on, l) => (on ? n * (levels[l] as number) : n), 1)
    const declared = Object.prototype.hasOwnProperty.call(this.generatorFlops, t.name)
      ? this.generatorFlops[t.name]
      : undefined
    const each = typeof declared === 'function' ? declared(this.sizes) : (declared ?? 0)
    if (!(Number.isFinite(each) && each >= 0))
      fail('bad-argument', `cost: the FLOPs of generator '${t.name}' must be a number >= 0`, {
        expected: 'a finite number >= 0 (per application)',
        got: String(each),
      })
    this.ran(name, each * nb)
    const live: Buf[] = this.bufs(ins)
    ins.forEach((v, i) => {
      if (v.levels.every((on, l) => on === mask[l])) return
      const rows = shapeSize(t.dom[i] as Shape, this.sizes)
      live.push(this.alloc(name, rows * nb, held, live))
    })
    const outs: Val[] = []
    for (const s of t.cod) {
      const buf = this.alloc(name, shapeSize(s, this.sizes) * nb, held, [
        ...live,
        ...this.bufs(outs),
      ])
      outs.push({ buf, levels: mask })
    }
    return outs
  }

  /**
   * A concatenation, as the evaluator runs it: the parts materialised on the union of their
   * broadcast levels, then the joined output; a split writes its parts.
   */
  private concat(
    t: Extract<Term, { kind: 'concat' }>,
    levels: ReadonlyArray<number>,
    ins: ReadonlyArray<Val>,
    held: Held | undefined,
  ): Val[] {
    const lengths = t.pieces.map((d) => this.size(d))
    const total = lengths.reduce((a, b) => a + b, 0)
    if (t.adjoint === true) {
      const v = ins[0] as Val
      const rows = v.buf.entries / total
      this.ran('concat:adjoint')
      const outs: Val[] = []
      for (const n of lengths)
        outs.push({
          buf: this.alloc('concat:adjoint', rows * n, held, [
            ...this.bufs(ins),
            ...this.bufs(outs),
          ]),
          levels: v.levels,
        })
      return outs
    }
    const mask = levels.map((_, l) => ins.some((v) => v.levels[l] as boolean))
    const nb = mask.reduce((n, on, l) => (on ? n * (levels[l] as number) : n), 1)
    const rows =
      (nb * (ins[0] as Val).buf.entries) /
      (this.batch(levels, ins[0] as Val) * (lengths[0] as number))
    this.ran('concat')
    const live: Buf[] = this.bufs(ins)
    ins.forEach((v, i) => {
      if (v.levels.every((on, l) => on === mask[l])) return
      live.push(this.alloc('concat', rows * (lengths[i] as number), held, live))
    })
    return [{ buf: this.alloc('concat', rows * total, held, live), levels: mask }]
  }

  private scalar(
    t: Extract<Term, { kind: 'scalar' }>,
    levels: ReadonlyArray<number>,
    ins: ReadonlyArray<Val>,
    held: Held | undefined,
  ): Val {
    const name = `scalar:${t.op}`
    const a = ins[0] as Val
    if (t.op === 'add' || t.op === 'mul') {
      const b = ins[1] as Val
      const mask = a.levels.map((on, l) => on || (b.levels[l] as boolean))
      const n = this.batch(levels, { buf: a.buf, levels: mask })
      this.ran(name, n)
      const live: Buf[] = this.bufs(ins)
      const expand = (v: Val): Buf => {
        if (v.levels.every((on, l) => on === mask[l])) return v.buf
        const e = this.alloc(name, n, held, live)
        live.push(e)
        return e
      }
      expand(a)
      expand(b)
      return { buf: this.alloc(name, n, held, live), levels: mask }
    }
    if (t.bySize !== undefined) this.size(t.bySize.dim)
    const n = a.buf.entries
    this.ran(name, TRANSCENDENTAL.has(t.op) ? n * this.transcendental : n)
    return { buf: this.alloc(name, n, held, this.bufs(ins)), levels: a.levels }
  }

  private einsum(
    t: Extract<Term, { kind: 'einsum' }>,
    levels: ReadonlyArray<number>,
    ins: ReadonlyArray<Val>,
    held: Held | undefined,
  ): Val {
    const labelSize = new Map<string, number>()
    for (const [label, d] of Object.entries(t.dims)) labelSize.set(label, this.size(d))
    levels.forEach((n, l) => labelSize.set(levelLabel(l), n))
    const mask = levels.map((_, l) => ins.some((v) => v.levels[l] as boolean))
    const batchLabels = (ls: ReadonlyArray<boolean>) =>
      ls.flatMap((on, l) => (on ? [levelLabel(l)] : []))
    const operands = ins.map((v, i) => ({
      buf: v.buf,
      labels: [...batchLabels(v.levels), ...(t.inputs[i] as ReadonlyArray<string>)],
    }))
    this.ran('einsum')
    const out = this.contract(
      operands,
      [...batchLabels(mask), ...t.output],
      labelSize,
      held,
      this.bufs(ins),
    )
    return { buf: out, levels: mask }
  }

  /** `src/eval/contract.ts`'s `contract`, replayed on sizes. */
  private contract(
    operands: ReadonlyArray<Operand>,
    output: ReadonlyArray<string>,
    size: ReadonlyMap<string, number>,
    held: Held | undefined,
    inputs: ReadonlyArray<Buf>,
  ): Buf {
    const name = 'einsum'
    const extents = (ls: ReadonlyArray<string>) => ls.map((l) => size.get(l) as number)
    const ext = (ls: ReadonlyArray<string>) => product(extents(ls))
    const outSet = new Set(output)
    // The direct loop nest (src/eval/direct.ts): q FLOPs a point, only the result allocated.
    const direct = contractionSchedule(
      operands.map((o) => o.labels),
      output,
      size,
    ).direct
    if (direct !== undefined) {
      this.flops(name, directPoints(direct) * operands.length)
      return this.alloc(name, ext(output), held, inputs)
    }
    /** Every tensor of this einsum that is live now (inputs and current operands). */
    const live = (ops: ReadonlyArray<Operand>, more: ReadonlyArray<Buf> = []): Buf[] => [
      ...inputs,
      ...ops.map((o) => o.buf),
      ...more,
    ]
    // Diagonals of repeated labels.
    let ops: Operand[] = []
    for (const o of operands) {
      const labels = [...new Set(o.labels)]
      if (labels.length === o.labels.length) ops.push({ buf: o.buf, labels })
      else ops.push({ buf: this.alloc(name, ext(labels), held, live(ops)), labels })
    }
    const sumPrivate = (
      op: Operand,
      needed: (label: string) => boolean,
      current: ReadonlyArray<Operand>,
    ): Operand => {
      const keep: number[] = []
      const drop: number[] = []
      op.labels.forEach((l, a) => (needed(l) ? keep : drop).push(a))
      if (drop.length === 0) return op
      const shape = extents(op.labels)
      const temps: Buf[] = []
      // Summed axes that lead are added row by row in place (sumAxes, src/eval/strided.ts).
      const leading = drop.every((a, i) => a === i)
      if (!leading && permuteCopies(shape, [...keep, ...drop]))
        temps.push(this.alloc(name, op.buf.entries, held, live(current)))
      this.flops(name, op.buf.entries)
      const labels = keep.map((a) => op.labels[a] as string)
      return { buf: this.alloc(name, ext(labels), held, live(current, temps)), labels }
    }
    const diagonals = ops
    const uses = (label: string, except: number): boolean =>
      outSet.has(label) || diagonals.some((o, i) => i !== except && o.labels.includes(label))
    const summed: Operand[] = []
    diagonals.forEach((o, i) =>
      summed.push(sumPrivate(o, (l) => uses(l, i), [...diagonals, ...summed])),
    )
    ops = summed
    while (ops.length > 1) {
      const [i, j] = choosePair(ops, outSet, ext)
      const rest = ops.filter((_, k) => k !== i && k !== j)
      const keep = (l: string) => outSet.has(l) || rest.some((o) => o.labels.includes(l))
      const x0 = ops[i] as Operand
      const y0 = ops[j] as Operand
      const last = rest.length === 0 ? output : undefined
      const p = planPair(
        { ...x0, entries: x0.buf.entries },
        { ...y0, entries: y0.buf.entries },
        keep,
        ext,
        last,
      )
      const temps: Buf[] = []
      const layout = pairLayout(p, extents)
      if (permuteCopies(extents(p.x.labels), layout.px))
        temps.push(this.alloc(name, p.x.buf.entries, held, live(ops, temps)))
      if (permuteCopies(extents(p.y.labels), layout.py))
        temps.push(this.alloc(name, p.y.buf.entries, held, live(ops, temps)))
      const [b, m, k, n] = [ext(p.batch), ext(p.left), ext(p.inner), ext(p.right)]
      this.flops(name, 2 * b * m * k * n)
      const merged = {
        buf: this.alloc(name, b * m * n, held, live(ops, temps)),
        labels: [...p.labels],
      }
      ops = [...rest, merged]
    }
    const only = ops[0]
    if (only === undefined) return this.alloc(name, ext(output), held, inputs)
    const last = sumPrivate(only, (l) => outSet.has(l), ops)
    const unique = [...outSet]
    const plain = unique.length === output.length && output.every((l) => last.labels.includes(l))
    const lastLive = [...inputs, only.buf, last.buf]
    if (plain) {
      const perm = output.map((l) => last.labels.indexOf(l))
      return permuteCopies(extents(last.labels), perm)
        ? this.alloc(name, ext(output), held, lastLive)
        : last.buf
    }
    return this.alloc(name, ext(output), held, lastLive)
  }

  private broadcast(
    t: Extract<Term, { kind: 'broadcast' }>,
    levels: ReadonlyArray<number>,
    ins: ReadonlyArray<Val>,
    held: Held | undefined,
  ): Val[] {
    const name = 'broadcast'
    this.ran(name)
    // A pad or convolution tensor broadcast after its axis runs on its input's layout, no copies.
    if (isBlockBroadcast(t)) return this.run(t.body, levels, ins, held)
    const p = product(t.axes.map((d) => this.size(d)))
    const depth = levels.length
    const extents = (s: Shape) => s.map((d) => this.size(d))
    const live: Buf[] = this.bufs(ins)
    const enter = ins.map((v, i): Val => {
      const at = t.inputs[i] as number | 'shared'
      if (at === 'shared') return { buf: v.buf, levels: [...v.levels, false] }
      const body = extents(t.body.dom[i] as Shape)
      const m = product(body.slice(0, at))
      const q = product(body.slice(at))
      const shape = [this.batch(levels, v), m, p, q]
      if (!permuteCopies(shape, [0, 2, 1, 3])) return { buf: v.buf, levels: [...v.levels, true] }
      const buf = this.alloc(name, v.buf.entries, held, live)
      live.push(buf)
      return { buf, levels: [...v.levels, true] }
    })
    const inner = [...levels, p]
    const outs = this.run(t.body, inner, enter, { vals: ins, next: held })
    const after: Buf[] = [...this.bufs(ins), ...this.bufs(outs)]
    return outs.map((w, i): Val => {
      const at = t.outputs[i] as number
      const body = extents(t.body.cod[i] as Shape)
      const m = product(body.slice(0, at))
      const q = product(body.slice(at))
      const lv = w.levels.slice(0, depth)
      const nb = this.batch(levels, { buf: w.buf, levels: lv })
      if (w.levels[depth] === true && !permuteCopies([nb, p, m, q], [0, 2, 1, 3]))
        return { buf: w.buf, levels: lv }
      const buf = this.alloc(name, nb * m * p * q, held, after)
      after.push(buf)
      return { buf, levels: lv }
    })
  }
}

/**
 * The FLOPs and memory of evaluating `term` at `sizes` with the numeric evaluator, per primitive
 * and in total (paper section 3.6, Fig. 34); the model is given in this module's comment. Dims
 * left out of `sizes` take their default sizes; an unbound dim is refused with the evaluator's
 * error (`unbound-dim`). Beyond 2^53 the figures are rounded and `exact` is false.
 *
 * @example
 * ```ts
 * import { cost, einsum, softmax, seq, linearLayer, tanh, mean, grad, forwardGradient } from 'neural-circuit-diagrams'
 * // A matrix product: one multiply and one add per point of the index space a b c.
 * const c = cost(einsum('a b, b c -> a c'), { a: 2, b: 3, c: 4 })
 * c.flops // 48
 * c.resident // 18
 * c.byPrimitive[0] // { primitive: 'einsum', count: 1, flops: 48, memory: 20 }
 * c.exact // true
 * cost(einsum('a b, b c -> a c'), { a: 1e6, b: 1e6, c: 1e6 }).exact // false (2e18 FLOPs > 2^53)
 * cost(softmax('x'), { x: 10 }).flops // 50
 * // Fig. 34: the forward-derivative gradient is quadratic in the input, the reverse one linear.
 * const f = seq(linearLayer('W', 'x', 'y'), tanh('y'), mean('y'))
 * const flops = (g: typeof f, x: number) => cost(g, { x, y: 4 }).flops
 * flops(forwardGradient(f), 128) / flops(forwardGradient(f), 64) > 3.5 // true
 * flops(grad(f), 128) / flops(grad(f), 64) < 2.1 // true
 * ```
 */
export const cost = (term: Term, sizes: Sizes, options: CostOptions = {}): Cost => {
  const transcendental = options.transcendental ?? 1
  if (!(Number.isFinite(transcendental) && transcendental >= 0))
    fail('bad-argument', 'cost: transcendental must be a number of FLOPs >= 0', {
      expected: 'a finite number >= 0',
      got: String(transcendental),
    })
  const sim = new Simulation(sizes, transcendental, options.generators)
  const inputs = term.dom.map((s): Val => ({
    buf: { entries: shapeSize(s, sizes), pinned: true },
    levels: [],
  }))
  term.cod.forEach((s) => shapeSize(s, sizes))
  const outs = sim.run(term, [], inputs, undefined)
  // The evaluator returns fresh tensors: an input, a parameter or a repeated output is copied.
  const seen = new Set<Buf>()
  const held: Buf[] = outs.map((v) => v.buf)
  for (const v of outs) {
    if (v.buf.pinned || seen.has(v.buf)) {
      sim.ran('output')
      held.push(sim.alloc('output', v.buf.entries, undefined, held))
    }
    seen.add(v.buf)
  }
  return sim.result(inputs.reduce((n, v) => n + v.buf.entries, 0))
}

/**
 * A cost as a markdown table: one row per primitive (count, FLOPs, entries written), a total row,
 * and the peak memory in entries and in bytes.
 *
 * @example
 * ```ts
 * import { cost, costTable, einsum } from 'neural-circuit-diagrams'
 * const lines = costTable(cost(einsum('a b, b c -> a c'), { a: 2, b: 3, c: 4 })).split('\n')
 * lines[0] // '| primitive | count | FLOPs | memory (entries) |'
 * lines[2] // '| einsum | 1 | 48 | 20 |'
 * lines[3] // '| total | 1 | 48 | 20 |'
 * lines[4] // 'peak memory: 38 entries (304 bytes), of which 18 resident (inputs and parameters)'
 * ```
 */
export const costTable = (c: Cost): string => {
  const lines = [
    '| primitive | count | FLOPs | memory (entries) |',
    '| --- | ---: | ---: | ---: |',
    ...c.byPrimitive.map((r) => `| ${r.primitive} | ${r.count} | ${r.flops} | ${r.memory} |`),
    `| total | ${c.byPrimitive.reduce((n, r) => n + r.count, 0)} | ${c.flops} | ${c.allocated} |`,
    `peak memory: ${c.peakMemory} entries (${c.peakMemory * 8} bytes), of which ${c.resident} resident (inputs and parameters)`,
    ...(c.exact ? [] : ['not exact: some counts exceed 2^53 and are rounded to 16 digits']),
  ]
  return lines.join('\n')
}

/**
 * `f` followed by the sum of every entry of every output: a scalar loss `A -> [[]]` to take
 * {@link grad} of when `f` is not scalar-valued (its gradient is the vjp of `f` seeded with ones).
 * A scalar-valued `f` is returned as it is.
 *
 * @example
 * ```ts
 * import { sumLoss, relu, evaluate, showTyped } from 'neural-circuit-diagrams'
 * const loss = sumLoss(relu('y k'))
 * showTyped(loss) // 'relu[y k] ; einsum(a0 a1 -> ; a0=y, a1=k) : [y k] -> []'
 * evaluate(loss, { y: 1, k: 3 }, [[1, -2, 3]])[0] // Float64Array [4]
 * ```
 */
export const sumLoss = (f: Term): Term => {
  if (f.cod.length === 1 && (f.cod[0] as Shape).length === 0) return f
  const sums = f.cod.map((s) => {
    if (s.length === 0) return id([s])
    const labels = s.map((_, j) => `a${j}`)
    const dims = Object.fromEntries(s.map((d, j) => [`a${j}`, d] as const))
    return einsumOf({ inputs: [labels], output: [] }, { dims })
  })
  if (sums.length === 0)
    return fail('bad-argument', 'sumLoss: the term has no output to sum', {
      expected: 'a term with at least one output segment',
      got: 'the empty tuple',
    })
  if (sums.length === 1) return seq(f, sums[0] as Term)
  return seq(f, par(...sums), sumOf([[]], sums.length))
}

/**
 * The growth exponent of a cost: the least-squares slope of `log y` over `log x` for points
 * `[x, y]` (2 for a cost quadratic in x, 1 for a linear one; paper Fig. 34).
 *
 * @example
 * ```ts
 * import { growthExponent } from 'neural-circuit-diagrams'
 * growthExponent([[8, 64], [16, 256], [32, 1024]]) // 2
 * ```
 */
export const growthExponent = (points: ReadonlyArray<readonly [number, number]>): number => {
  if (points.length < 2 || points.some(([x, y]) => !(x > 0 && y > 0)))
    return fail('bad-argument', 'growthExponent: needs two or more points with x, y > 0', {
      expected: 'points [x, y] with positive coordinates, at least two distinct x',
      got: JSON.stringify(points),
    })
  const lx = points.map(([x]) => Math.log(x))
  const ly = points.map(([, y]) => Math.log(y))
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length
  const my = ly.reduce((a, b) => a + b, 0) / ly.length
  let sxy = 0
  let sxx = 0
  lx.forEach((x, i) => {
    sxy += (x - mx) * ((ly[i] as number) - my)
    sxx += (x - mx) ** 2
  })
  if (sxx === 0)
    return fail('bad-argument', 'growthExponent: needs two distinct x', {
      expected: 'points at two or more sizes',
      got: JSON.stringify(points),
    })
  return sxy / sxx
}
