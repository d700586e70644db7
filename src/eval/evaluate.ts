/**
 * The numeric evaluator (DESIGN.md section 4): the ground truth of every law.
 *
 * Broadcasting is defined by its indexes (paper Fig. 13, 14): the broadcast of f at index i is f
 * on the i-th slices. The evaluator computes exactly that, but vectorised: every value carries one
 * flag per enclosing broadcast ("does it vary along this broadcast axis?"), stored as leading
 * batch axes. Kernels act on rows, einsum turns batch axes into labels, so a broadcast costs one
 * evaluation of its body, and a shared input (inner broadcasting) is never copied per index.
 * `test/broadcast.test.ts` checks this against the loop of Fig. 13.
 *
 * @packageDocumentation
 */
import { type Dim, type Sizes, dimKey, dimSize, dimVars, showDim } from '../core/dim.js'
import { TermError, absurd, fail } from '../core/errors.js'
import { broadcast } from '../core/construct.js'
import { show } from '../core/show.js'
import { generatorKey } from '../core/generator.js'
import { type Generator, type Term, children, splitByLengths } from '../core/term.js'
import { type Shape, type TupleType, shapeSize, showShape, showType } from '../core/types.js'
import {
  type Schedule,
  contractionSchedule,
  planKernel,
  runSchedule,
  runScheduleView,
} from './contract.js'
import { type FusedKernel, fusedKernel } from './fused.js'
import { cost } from './cost.js'
import { jvp } from '../derive/jvp.js'
import {
  axisKernel,
  concatKernel,
  convAdjointBlockKernel,
  convAdjointKernel,
  convAdjointStridedKernel,
  convBlockKernel,
  convKernel,
  cropBlockKernel,
  cropKernel,
  indexKernel,
  isBlockBroadcast,
  mapBinary,
  mapUnary,
  oneHotKernel,
  padBlockKernel,
  padKernel,
  splitKernel,
} from './kernels.js'
import { type BufferPool, keepPool, poolFor } from './pool.js'
import { type Allocate, gather, permute, sizeOf, stridesOf } from './strided.js'
import { type Applied, type GeneratorLike, generatorApplication } from './generators.js'

/** Options of {@link evaluate}. */
export interface EvalOptions {
  /**
   * The largest tensor, in entries, that evaluation may hold (default 2^27, 1 GiB of float64).
   * A term whose types need more at the given sizes is refused before any work.
   */
  readonly memoryCap?: number
  /**
   * Implementations of generators by name (`src/core/generator.ts`): a function of one tuple of
   * inputs, or an object with `apply` and, for derivatives, `tangent` (see
   * `GeneratorImplementation`). A generator without one runs its seeded random
   * interpretation of the declared linearity. An implementation is a function of its inputs,
   * which it must not write into (they are the evaluator's values, read by other steps in an
   * order fusion may change, and may be the caller's own inputs); it may keep them past the call
   * (the evaluator does not reuse their buffers, src/eval/pool.ts). It is called only for values
   * an output reads (a generator whose outputs the term drops, as a derivative drops a primal
   * it recomputes, is not called, so what that call would throw or return wrongly is not seen),
   * and once per index of the broadcasts its inputs vary along. A missing implementation or
   * derived form is refused before any work all the same.
   */
  readonly generators?: Readonly<Record<string, GeneratorLike>>
  /** The seed of the random interpretations of generators (default 0). */
  readonly generatorSeed?: number
  /**
   * The most entries the whole evaluation may hold at once: inputs, parameters and every live
   * intermediate together (default 2^28, 2 GiB of float64). Checked before any work against the
   * peak memory the cost model (`cost`) predicts for the term at these sizes; the prediction is
   * made only when the sum of every value the evaluation holds could exceed a quarter of the cap,
   * so small evaluations pay nothing for it. Not counted, as garbage the collector has not yet
   * taken is not: the freed intermediates kept to use again in this evaluation and the next of
   * the same term (src/eval/pool.ts), at most four times the entries of the intermediates it
   * held at once and 2^25 entries in all, until `releaseBuffers()`.
   */
  readonly totalMemoryCap?: number
  /**
   * Check that every input, parameter and output entry is finite: a NaN or an infinity is
   * refused with a `TermError` (`not-finite`) naming the tensor, the flat position and the
   * index along each axis (default false: IEEE values propagate as they would in any tensor
   * library).
   */
  readonly checkFinite?: boolean
}

/** The default {@link EvalOptions.memoryCap}. */
export const DEFAULT_MEMORY_CAP = 2 ** 27

/** The default {@link EvalOptions.totalMemoryCap}. */
export const DEFAULT_TOTAL_MEMORY_CAP = 2 ** 28

/** Input data: row-major entries of one tuple segment. */
export type TensorData = Float64Array | ReadonlyArray<number>

/** A tensor that varies along some of the enclosing broadcast axes (its leading batch axes). */
interface Value {
  readonly data: Float64Array
  readonly levels: ReadonlyArray<boolean>
  /**
   * Where the entries lie when not row-major: the stride of each axis (the value varies along
   * no level then). Only an einsum step marked `view` makes one, for the one step that reads it
   * ({@link markViews}).
   */
  readonly strides?: ReadonlyArray<number>
}

/**
 * Sizes of dims and entries of shapes under one evaluation's binding, each computed once: dims
 * and shapes are shared objects (a derivative reads the same types many times), so they are
 * remembered by identity.
 */
interface Measure {
  readonly dim: (d: Dim) => number
  readonly entries: (s: Shape) => number
}

const measureOf = (sizes: Sizes): Measure => {
  const dims = new Map<Dim, number>()
  const shapes = new Map<Shape, number>()
  const dim = (d: Dim): number => {
    let n = dims.get(d)
    if (n === undefined) {
      n = dimSize(d, sizes)
      dims.set(d, n)
    }
    return n
  }
  return {
    dim,
    entries: (s) => {
      let n = shapes.get(s)
      if (n === undefined) {
        n = 1
        for (const d of s) n *= dim(d)
        shapes.set(s, n)
      }
      return n
    },
  }
}

interface Context {
  readonly sizes: Sizes
  readonly measure: Measure
  readonly levels: ReadonlyArray<number>
  readonly params: ReadonlyMap<string, Float64Array>
  readonly alloc: Allocate
  /** The map of each generator node, made once per evaluation. */
  readonly generator: (g: Generator) => Applied
  /** Set when a primitive computes an entry that is NaN or infinite ({@link evaluateWatched}). */
  readonly watch?: { nonFinite: boolean }
  /** The sizes, as a string ({@link EinsumPlan}). */
  readonly sizesKey: string
  /** Buffers used again once nothing reads them (src/eval/pool.ts); none when watched or literal. */
  readonly pool?: BufferPool
}

const size = (ctx: Context, d: Dim): number => ctx.measure.dim(d)

/** How many rows the broadcast levels flagged in `levels` hold together. */
const batchOf = (ctx: Context, levels: ReadonlyArray<boolean>): number =>
  levels.reduce((n, on, l) => (on ? n * (ctx.levels[l] as number) : n), 1)

const rowwise = (v: Value, data: Float64Array): Value => ({ data, levels: v.levels })

const unbatched = (ctx: Context, data: Float64Array): Value => ({
  data,
  levels: ctx.levels.map(() => false),
})

/** Materialise `v` along every level of `mask` (a broadcast of the data, stride 0). */
const expand = (
  ctx: Context,
  v: Value,
  mask: ReadonlyArray<boolean>,
  rowSize: number,
): Float64Array => {
  if (v.levels.every((on, l) => on === mask[l])) return v.data
  const shape: number[] = []
  const strides: number[] = []
  let stride = rowSize
  const own: number[] = []
  for (let l = v.levels.length - 1; l >= 0; l--) {
    own[l] = v.levels[l] ? stride : 0
    if (v.levels[l]) stride *= ctx.levels[l] as number
  }
  mask.forEach((on, l) => {
    if (on) {
      shape.push(ctx.levels[l] as number)
      strides.push(own[l] as number)
    }
  })
  shape.push(rowSize)
  strides.push(1)
  return gather(v.data, shape, strides, ctx.alloc)
}

const split = splitByLengths

/** Along which enclosing broadcasts a value varies: one flag per level. */
type Mask = ReadonlyArray<boolean>

/**
 * One step of a compiled term ({@link compile}): a primitive, or a broadcast with its body
 * compiled, reading value slots and writing fresh ones.
 */
interface Step {
  readonly t: Term
  readonly ins: ReadonlyArray<number>
  readonly outs: ReadonlyArray<number>
  /** The outputs' broadcast masks (for the checks made before any work). */
  readonly masks: ReadonlyArray<Mask>
  /** A broadcast's body. */
  readonly body?: Program
  /**
   * An element-wise op on whole tensors: a scalar primitive (`shape` []), or one op of a broadcast
   * circuit over inputs all broadcast alike, run on tensors of `shape` ({@link pointwiseCircuit}).
   */
  readonly elementwise?: Elementwise
  /**
   * A check-only step standing for a pointwise circuit compiled into element-wise steps
   * ({@link pointwiseCircuit}): how many broadcasts the circuit was nested in. The steps as
   * written hold each of its outputs once per level, and the precheck counts them so.
   */
  readonly circuitLayers?: number
  /** A run of element-wise steps computed in one pass ({@link fuseElementwise}). */
  readonly fused?: Fused
  /** A view: checked before any work, no work at run time (its output is its input's slot). */
  readonly checkOnly: boolean
  /** The slots read for the last time here, or made here and never read: released after it. */
  readonly free: number[]
  /**
   * Whether an output of the program reads this step's outputs, directly or through later
   * steps ({@link markLive}). A dead step (a value the term computes and then drops, such as
   * the primal a derivative recomputes for a branch it discards) is skipped, except when the
   * evaluation watches every value for IEEE specials ({@link evaluateWatched}), which must see
   * what the term computes, not only what it returns.
   */
  live: boolean
  /** An einsum's contraction as last planned ({@link runEinsum}). */
  plan?: EinsumPlan
  /**
   * An einsum whose one reader takes a strided source: its result is left where the products
   * put it, without the output's transpose ({@link markViews}).
   */
  view?: boolean
}

interface Elementwise {
  readonly op: Extract<Term, { kind: 'scalar' }>
  readonly shape: Shape
}

/**
 * Element-wise steps fused into one pass (src/eval/fused.ts): `parts` are the steps it stands
 * for in the order they ran, the kernel the tree they make over the fused step's inputs
 * ({@link fuseElementwise}). The parts run one by one when the evaluation watches every
 * value ({@link evaluateWatched}: the fused pass holds no intermediate to watch).
 */
interface Fused {
  readonly parts: ReadonlyArray<Step>
  readonly kernel: FusedKernel
  readonly shape: Shape
}

/**
 * An einsum step's contraction, planned for one binding of the sizes and one set of broadcast
 * levels of its inputs: evaluating the term again at the same sizes replays it, where planning
 * (the labels with the broadcast levels, their extents, the schedule's key) cost about 5 µs an
 * einsum.
 */
interface EinsumPlan {
  readonly key: string
  readonly inLevels: ReadonlyArray<ReadonlyArray<boolean>>
  readonly mask: ReadonlyArray<boolean>
  readonly schedule: Schedule
  /**
   * A `view` step's schedule makes its output in another order ({@link viewOrder}): the
   * position there of each output axis, and the row-major strides of that order.
   */
  readonly view?: { readonly axes: ReadonlyArray<number>; readonly strides: ReadonlyArray<number> }
}

const sameLevels = (plan: EinsumPlan, inputs: ReadonlyArray<Value>): boolean => {
  if (plan.inLevels.length !== inputs.length) return false
  for (let i = 0; i < inputs.length; i++) {
    const a = plan.inLevels[i] as ReadonlyArray<boolean>
    const b = (inputs[i] as Value).levels
    if (a.length !== b.length) return false
    for (let l = 0; l < a.length; l++) if (a[l] !== b[l]) return false
  }
  return true
}

/**
 * A term compiled for evaluation: its primitives in the order the term runs them, on numbered
 * value slots (the inputs are slots 0, 1, ...). Wiring (`id`, `seq`, `par`, `swap`, `copy`,
 * `drop`, `box`, a `derivative`'s jvp) makes no step: it only decides which slots each step
 * reads, so a term whose derivative carries many wires through many layers pays for them once,
 * when it is compiled, and not at every evaluation.
 */
interface Program {
  readonly slots: number
  /** The broadcast mask of every slot. */
  readonly masks: ReadonlyArray<Mask>
  readonly steps: ReadonlyArray<Step>
  readonly outputs: ReadonlyArray<number>
  /** The generators among the steps (in bodies too), in the order the checks meet them. */
  readonly generators: ReadonlyArray<Generator>
  /**
   * The checks before any work that passed, by memory cap and sizes: what they found (the
   * entries held, the parameters), so that evaluating again at the same sizes repeats only the
   * generators' preparation ({@link precheck}).
   */
  readonly passed: Map<string, Prechecked>
  /**
   * Which outputs an enclosing step reads and which inputs the live steps read
   * ({@link markLive}): a broadcast skips moving the others in and out, as it skips dead steps.
   */
  wanted: boolean[]
  used: boolean[]
}

interface Prechecked {
  readonly held: number
  readonly params: ReadonlyArray<readonly [string, { size: number; shape: Shape }]>
}

/**
 * Compile `term` whose inputs vary along the enclosing broadcasts as `entry` says, inside
 * `depth` broadcasts. The masks follow the evaluator's (a primitive's outputs vary along every
 * level one of its inputs varies along; parameters and zeros along none).
 */
const compileProgram = (
  term: Term,
  entry: ReadonlyArray<Mask>,
  depth: number,
  fuse: boolean,
): Program => {
  const masks: Mask[] = [...entry]
  const steps: Step[] = []
  const none = (): Mask => Array.from({ length: depth }, () => false)
  const union = (ins: ReadonlyArray<number>): Mask =>
    none().map((_, l) => ins.some((r) => (masks[r] as Mask)[l] as boolean))
  const emit = (
    t: Term,
    ins: ReadonlyArray<number>,
    outMasks: ReadonlyArray<Mask>,
    body?: Program,
    elementwise?: Elementwise,
  ): number[] => {
    const outs = outMasks.map((m) => masks.push(m) - 1)
    steps.push({
      t,
      ins,
      outs,
      masks: outMasks,
      ...(body !== undefined ? { body } : {}),
      ...(elementwise !== undefined ? { elementwise } : {}),
      checkOnly: false,
      free: [],
      live: true,
    })
    return outs
  }
  // Inside `circuit`, a scalar op stands for its broadcast over the circuit's axes.
  const go = (t: Term, ins: ReadonlyArray<number>, circuit?: Circuit): number[] => {
    switch (t.kind) {
      case 'id':
        return [...ins]
      case 'seq':
        return t.parts.reduce<number[]>((rs, p) => go(p, rs, circuit), [...ins])
      case 'par': {
        const groups = split(
          ins,
          t.parts.map((p) => p.dom.length),
        )
        return t.parts.flatMap((p, i) => go(p, groups[i] as number[], circuit))
      }
      case 'swap':
        return [...ins.slice(t.left.length), ...ins.slice(0, t.left.length)]
      case 'copy':
        return [...ins, ...ins]
      case 'drop':
        return []
      case 'box':
        return go(t.body, ins, circuit)
      case 'derivative':
        return go(jvp(t.body), ins)
      case 'view': {
        const r = ins[0] as number
        steps.push({
          t,
          ins,
          outs: [r],
          masks: [masks[r] as Mask],
          checkOnly: true,
          free: [],
          live: true,
        })
        return [r]
      }
      case 'broadcast': {
        // A circuit of scalar ops broadcast over its every input is the circuit of those ops on
        // the whole tensors: each an element-wise step, which fuses with its neighbours or,
        // dropped, is dead; no step moves data in and out of the broadcast's layout. Not in the
        // program as written (evaluateAsWritten), which runs the broadcast's copies.
        const circuit = fuse ? pointwiseCircuit(t) : undefined
        if (circuit !== undefined) {
          const outs = go(circuit.body, ins, circuit)
          // The precheck counts the outputs as the steps as written hold them, once per level.
          steps.push({
            t,
            ins: [],
            outs: [],
            masks: outs.map((r) => masks[r] as Mask),
            circuitLayers: circuit.layers,
            checkOnly: true,
            free: [],
            live: true,
          })
          return outs
        }
        const body = compileProgram(
          t.body,
          ins.map((r, i) => [...(masks[r] as Mask), t.inputs[i] !== 'shared']),
          depth + 1,
          fuse,
        )
        const outMasks = body.outputs.map((r) => (body.masks[r] as Mask).slice(0, depth))
        return emit(t, ins, outMasks, body)
      }
      case 'scalar':
        return circuit === undefined
          ? emit(t, ins, [union(ins)], undefined, { op: t, shape: [] })
          : emit(circuit.lift(t), ins, [union(ins)], undefined, { op: t, shape: circuit.shape })
      case 'einsum':
      case 'generator':
        return emit(
          t,
          ins,
          t.cod.map(() => union(ins)),
        )
      case 'concat':
        return emit(
          t,
          ins,
          t.adjoint === true ? t.pieces.map(() => masks[ins[0] as number] as Mask) : [union(ins)],
        )
      case 'param':
        return emit(t, ins, [none()])
      case 'zero':
        return emit(
          t,
          ins,
          t.type.map(() => none()),
        )
      case 'axisOp':
      case 'index':
      case 'pad':
      case 'convTensor':
        return emit(t, ins, [masks[ins[0] as number] as Mask])
      default:
        return absurd(t)
    }
  }
  const made = go(
    term,
    entry.map((_, i) => i),
  )
  const outputs = fuse ? fuseElementwise(steps, made) : made
  if (fuse) markViews(steps, outputs)
  // Release every slot after the step that reads it last (never an output): a value is held
  // only as long as the term needs it.
  const kept = new Set(outputs)
  const last = new Map<number, number>()
  steps.forEach((s, i) => {
    if (!s.checkOnly) s.ins.forEach((r) => last.set(r, i))
  })
  steps.forEach((s) => {
    if (!s.checkOnly) for (const r of s.outs) if (!last.has(r) && !kept.has(r)) s.free.push(r)
  })
  for (const [r, i] of last) if (!kept.has(r)) (steps[i] as Step).free.push(r)
  const generators = steps.flatMap((st) =>
    st.t.kind === 'generator' ? [st.t] : st.body !== undefined ? st.body.generators : [],
  )
  return {
    slots: masks.length,
    masks,
    steps,
    outputs,
    generators,
    passed: new Map(),
    wanted: outputs.map(() => true),
    used: entry.map(() => true),
  }
}

/** A broadcast circuit of scalar ops ({@link pointwiseCircuit}). */
interface Circuit {
  readonly body: Term
  /** The axes of the nest, outermost first: each op runs on tensors of this shape. */
  readonly shape: Shape
  /** How many broadcasts the nest has. */
  readonly layers: number
  /** One op of the body broadcast as the nest broadcasts the body. */
  readonly lift: (op: Extract<Term, { kind: 'scalar' }>) => Term
}

/**
 * A broadcast (or a nest of them) of a circuit of scalar ops: a body whose every wire is a
 * scalar, made of scalar primitives and wiring (a single op such as `relu[y k]`, or
 * `copy ; relu ⊗ step ; swap ; drop ⊗ id`, a ReLU as the reverse derivative splits it, Fig.
 * 27's residual ReLUs), with every input and output of each broadcast at one position. The
 * broadcast of the circuit is the circuit of the broadcast ops, each computed on the whole
 * tensors: entry i of an op's output is the op of entries i of its inputs in the broadcast's
 * layout and in the plain one alike, since the same permutation moves every operand. Undefined
 * for anything else (a shared input is spread, not entry-wise).
 */
const pointwiseCircuit = (t: Extract<Term, { kind: 'broadcast' }>): Circuit | undefined => {
  let b: Term = t
  const nest: Array<{ readonly axes: Shape; readonly at: number }> = []
  while (b.kind === 'broadcast') {
    const at = b.outputs[0] ?? b.inputs[0]
    if (typeof at !== 'number' || [...b.inputs, ...b.outputs].some((p) => p !== at))
      return undefined
    nest.push({ axes: b.axes, at })
    b = b.body
  }
  if (!isScalarCircuit(b)) return undefined
  return {
    body: b,
    shape: nest.flatMap((l) => l.axes),
    layers: nest.length,
    // The body itself is the broadcast t already (a single op).
    lift: (op) =>
      op === b
        ? t
        : nest.reduceRight(
            (f: Term, l) =>
              broadcast(f, l.axes, { inputs: f.dom.map(() => l.at), outputs: [l.at] }),
            op as Term,
          ),
  }
}

/** Whether every wire of `t` is a scalar and it is made of scalar primitives and wiring. */
const isScalarCircuit = (t: Term): boolean => {
  if (![...t.dom, ...t.cod].every((s) => s.length === 0)) return false
  if (t.kind === 'seq' || t.kind === 'par') return t.parts.every(isScalarCircuit)
  if (t.kind === 'box') return isScalarCircuit(t.body)
  return ['scalar', 'id', 'swap', 'copy', 'drop'].includes(t.kind)
}

/**
 * Fuse runs of element-wise steps (in place): a step whose every input made by an element-wise
 * step of the same layout (broadcast mask and shape) is read by it alone absorbs that step, so
 * each tree of such steps runs as one pass at its root's place (src/eval/fused.ts). A value
 * read twice, or by anything else, or returned, is computed as before. Returns `outputs`.
 */
const fuseElementwise = (steps: Step[], outputs: number[]): number[] => {
  const reads = readCounts(steps, outputs)
  const layout = (s: Step) =>
    `${(s.masks[0] as Mask).join()} ${(s.elementwise as Elementwise).shape.map(dimKey).join(' ')}`
  const producer = new Map<number, number>()
  const trees = new Map<number, number[]>()
  const absorbed = new Set<number>()
  steps.forEach((s, i) => {
    if (s.elementwise === undefined) return
    const tree: number[] = []
    for (const r of new Set(s.ins)) {
      const p = producer.get(r)
      if (p === undefined || reads.get(r) !== 1) continue
      if (layout(steps[p] as Step) !== layout(s)) continue
      tree.push(...(trees.get(p) ?? [p]))
      absorbed.add(p)
      trees.delete(p)
    }
    producer.set(s.outs[0] as number, i)
    if (tree.length > 0) trees.set(i, [...tree.sort((a, b) => a - b), i])
  })
  if (trees.size === 0) return outputs
  const out: Step[] = []
  steps.forEach((s, i) => {
    if (absorbed.has(i)) return
    const tree = trees.get(i)
    if (tree === undefined) return out.push(s)
    const parts = tree.map((k) => steps[k] as Step)
    const made = new Map(parts.map((p, k) => [p.outs[0] as number, k] as const))
    const ins = [...new Set(parts.flatMap((p) => p.ins.filter((r) => !made.has(r))))]
    const nodes = parts.map((p) => ({
      op: (p.elementwise as Elementwise).op.op,
      args: p.ins.map((r) => {
        const k = made.get(r)
        return k === undefined ? ins.indexOf(r) : ins.length + k
      }),
    }))
    const kernel = fusedKernel(ins.length, nodes)
    if (kernel === undefined) return out.push(...parts)
    return out.push({
      t: s.t,
      ins,
      outs: s.outs,
      masks: s.masks,
      fused: { parts, kernel, shape: (s.elementwise as Elementwise).shape },
      checkOnly: false,
      free: [],
      live: true,
    })
  })
  steps.splice(0, steps.length, ...out)
  return outputs
}

/** How many times each slot is read: by the steps, and once more for each output it is. */
const readCounts = (
  steps: ReadonlyArray<Step>,
  outputs: ReadonlyArray<number>,
): Map<number, number> => {
  const reads = new Map<number, number>()
  const bump = (r: number) => reads.set(r, (reads.get(r) ?? 0) + 1)
  for (const s of steps) s.ins.forEach(bump)
  outputs.forEach(bump)
  return reads
}

/**
 * Mark the einsum steps whose result only a transposed convolution tensor reads, run by a block
 * kernel ({@link blockRun}): a convolution's input gradient (`ocpq, abo -> apbqc`, the transpose
 * of Fig. 24's product) is then made as `[a b p q c]` ({@link viewOrder}), handed over where
 * the matrix product leaves it, and read with strides, where the output's transpose to
 * `[a p b q c]` took longer than the product itself. A result read twice, or returned, stays row-major.
 */
const markViews = (steps: ReadonlyArray<Step>, outputs: ReadonlyArray<number>): void => {
  const reads = readCounts(steps, outputs)
  const einsums = new Map<number, Step>()
  for (const s of steps) {
    if (s.t.kind === 'einsum' && s.fused === undefined && s.elementwise === undefined)
      einsums.set(s.outs[0] as number, s)
    const r = s.ins[0]
    if (r === undefined || reads.get(r) !== 1 || s.t.kind !== 'broadcast') continue
    const run = blockRun(s.t)
    const e = einsums.get(r)
    if (e !== undefined && run?.inner.body.kind === 'convTensor' && run.inner.body.adjoint === true)
      e.view = true
  }
}

/**
 * Mark the steps of `prog` that the outputs flagged in `wanted` read, directly or through later
 * steps, and nothing else; into a broadcast, only the body outputs that are read (its other
 * outputs are left undefined, {@link runBroadcast}). Every value is pure, so a step no output
 * reads changes no output.
 */
const markLive = (prog: Program, wanted: ReadonlyArray<boolean>): void => {
  const read = new Set<number>()
  prog.outputs.forEach((r, i) => {
    if (wanted[i] === true) read.add(r)
  })
  for (let i = prog.steps.length - 1; i >= 0; i--) {
    const s = prog.steps[i] as Step
    const used = s.outs.map((r) => read.has(r))
    s.live = s.checkOnly || used.some((u) => u)
    if (!s.live) continue
    if (s.body !== undefined) markLive(s.body, used)
    s.ins.forEach((r, j) => {
      if (s.body === undefined || (s.body.used[j] as boolean)) read.add(r)
    })
  }
  prog.wanted = prog.outputs.map((_, i) => wanted[i] === true)
  prog.used = prog.used.map((_, i) => read.has(i))
}

const programs = new WeakMap<Term, Program>()
const literalPrograms = new WeakMap<Term, Program>()

/**
 * The compiled form of a whole term (inputs varying along no broadcast), made once per term:
 * dead steps marked and element-wise runs fused, or, `literal`, every step as the term writes
 * it ({@link evaluateAsWritten}).
 */
const compile = (term: Term, literal = false): Program => {
  const cache = literal ? literalPrograms : programs
  let p = cache.get(term)
  if (p === undefined) {
    p = compileProgram(
      term,
      term.dom.map(() => []),
      0,
      !literal,
    )
    if (!literal)
      markLive(
        p,
        p.outputs.map(() => true),
      )
    cache.set(term, p)
  }
  return p
}

/** A row of {@link compiledSteps}. @internal */
export interface CompiledStep {
  readonly kind: string
  readonly what: string
  readonly depth: number
  readonly live: boolean
  readonly parts: number
  /** An einsum that hands its result to its one reader strided ({@link markViews}). */
  readonly view: boolean
}

/**
 * The steps `evaluate` runs for `term`, as compiled ({@link compile}): one entry per step, a
 * broadcast's body after it one level deeper, with whether it is live ({@link markLive}) and,
 * for a fused run, how many element-wise steps it stands for. For tests and benchmarks: the
 * evaluator's cost at small sizes is mostly a fixed cost per step. @internal
 */
export const compiledSteps = (term: Term): ReadonlyArray<CompiledStep> => {
  const rows: CompiledStep[] = []
  const walk = (prog: Program, depth: number, live: boolean) => {
    for (const s of prog.steps) {
      if (s.checkOnly) continue
      const kind =
        s.fused !== undefined ? 'fused' : s.elementwise !== undefined ? 'elementwise' : s.t.kind
      const what =
        s.fused !== undefined
          ? s.fused.parts.map((p) => (p.elementwise as Elementwise).op.op).join(' ')
          : s.elementwise !== undefined
            ? s.elementwise.op.op
            : s.t.kind === 'einsum'
              ? `${s.t.inputs.map((l) => l.join('')).join(',')}->${s.t.output.join('')}`
              : s.t.kind === 'axisOp'
                ? s.t.op
                : ''
      rows.push({
        kind,
        what,
        depth,
        live: live && s.live,
        parts: s.fused?.parts.length ?? 1,
        view: s.view === true,
      })
      if (s.body !== undefined) walk(s.body, depth + 1, live && s.live)
    }
  }
  walk(compile(term), 0, true)
  return rows
}

/** Run a compiled term on the values of its inputs. */
const execute = (prog: Program, ctx: Context, inputs: ReadonlyArray<Value>): Value[] => {
  const slots = new Array<Value | undefined>(prog.slots)
  for (let i = 0; i < inputs.length; i++) slots[i] = inputs[i]
  const w = ctx.watch
  const pool = ctx.pool
  if (pool !== undefined) return executePooled(prog, ctx, slots, inputs.length, pool)
  for (const s of prog.steps) {
    if (s.checkOnly) continue
    if (!s.live && w === undefined) {
      for (const r of s.free) slots[r] = undefined
      continue
    }
    if (s.fused !== undefined && w !== undefined) {
      // Watched: the parts one by one, so that every value they compute is seen.
      for (const p of s.fused.parts) run(p, ctx, slots)
      for (const p of s.fused.parts)
        if (p.outs[0] !== s.outs[0]) slots[p.outs[0] as number] = undefined
    } else run(s, ctx, slots)
    for (const r of s.free) slots[r] = undefined
  }
  return prog.outputs.map((r) => slots[r] as Value)
}

/**
 * {@link execute} with its buffers counted ({@link BufferPool}): every slot that takes a value
 * holds its buffer, every slot emptied releases it, so a buffer whose last reader has run is used
 * again by a later step. The slots left at the end are released too, the outputs kept for the
 * caller (a broadcast's exit, or the result). Dead steps are skipped, as unwatched. It is the
 * loop of {@link execute} again, not a branch inside it: one loop with the pool's calls behind
 * `pool !== undefined` made the U-Net's raw gradient 1.17-1.29x slower (bench/derive-ab.ts,
 * 120 alternations, both orders).
 */
const executePooled = (
  prog: Program,
  ctx: Context,
  slots: Array<Value | undefined>,
  inputs: number,
  pool: BufferPool,
): Value[] => {
  for (let i = 0; i < inputs; i++) {
    const v = slots[i]
    if (v !== undefined) pool.hold(v.data)
  }
  for (const s of prog.steps) {
    if (s.checkOnly) continue
    if (s.live) {
      // What a generator's implementation was given is its to keep.
      if (s.t.kind === 'generator')
        for (const r of s.ins) {
          const v = slots[r]
          if (v !== undefined) pool.keep(v.data)
        }
      const mark = pool.mark()
      run(s, ctx, slots)
      for (const r of s.outs) {
        const v = slots[r]
        if (v !== undefined) pool.hold(v.data)
      }
      pool.sweep(mark, s.t.kind === 'generator')
    }
    for (const r of s.free) {
      const v = slots[r]
      if (v !== undefined) pool.release(v.data)
      slots[r] = undefined
    }
  }
  const outs = prog.outputs.map((r) => slots[r] as Value)
  for (let r = 0; r < slots.length; r++) {
    const v = slots[r]
    if (v !== undefined) pool.release(v.data, prog.outputs.includes(r))
  }
  return outs
}

/** Run one step on the slots. */
const run = (s: Step, ctx: Context, slots: Array<Value | undefined>): void => {
  const ins = s.ins.map((r) => slots[r] as Value)
  let outs: Value[]
  if (s.body !== undefined)
    outs = runBroadcast(s.t as Extract<Term, { kind: 'broadcast' }>, ctx, ins, s.body)
  else {
    outs =
      s.fused !== undefined
        ? [runFused(s.fused, ctx, ins)]
        : s.elementwise !== undefined
          ? [runElementwise(s.elementwise, ctx, ins)]
          : s.t.kind === 'einsum'
            ? [runEinsum(s.t, ctx, ins, s)]
            : runPrimitive(s.t, ctx, ins)
    // Only primitives make new entries.
    const w = ctx.watch
    if (w !== undefined && !w.nonFinite)
      w.nonFinite = outs.some((v) => !v.data.every(Number.isFinite))
  }
  for (let j = 0; j < s.outs.length; j++) slots[s.outs[j] as number] = outs[j]
}

/** The factor of a scale or offset (times a size's power, `scaleBySize`). */
const factorOf = (ctx: Context, t: Extract<Term, { kind: 'scalar' }>): number =>
  t.bySize === undefined ? t.factor : t.factor * size(ctx, t.bySize.dim) ** t.bySize.power

/** Along which levels any of `inputs` varies. */
const unionLevels = (ctx: Context, inputs: ReadonlyArray<Value>): boolean[] =>
  ctx.levels.map((_, l) => inputs.some((v) => v.levels[l] as boolean))

/**
 * An element-wise op on tensors of `shape` (entries of one row of the broadcast levels): a sum
 * or product materialises each input along the levels either varies along.
 */
const runElementwise = (e: Elementwise, ctx: Context, inputs: ReadonlyArray<Value>): Value => {
  const t = e.op
  const [a, b] = inputs as [Value, Value | undefined]
  if (t.op === 'add' || t.op === 'mul') {
    const mask = unionLevels(ctx, inputs)
    const row = ctx.measure.entries(e.shape)
    const x = expand(ctx, a, mask, row)
    const y = expand(ctx, b as Value, mask, row)
    return { data: mapBinary(x, y, t.op, ctx.alloc), levels: mask }
  }
  return rowwise(a, mapUnary(a.data, t.op, factorOf(ctx, t), ctx.alloc))
}

/** A fused run of element-wise steps in one pass (each input materialised as for a sum). */
const runFused = (f: Fused, ctx: Context, inputs: ReadonlyArray<Value>): Value => {
  const mask = unionLevels(ctx, inputs)
  const row = ctx.measure.entries(f.shape)
  const xs = inputs.map((v) => expand(ctx, v, mask, row))
  const out = ctx.alloc(batchOf(ctx, mask) * row, 'a fused element-wise run')
  f.kernel.run(
    xs,
    f.parts.map((p) => factorOf(ctx, (p.elementwise as Elementwise).op)),
    out,
  )
  return { data: out, levels: mask }
}

/** A primitive's outputs (wiring and broadcasts are compiled away, {@link compile}). */
const runPrimitive = (t: Term, ctx: Context, inputs: ReadonlyArray<Value>): Value[] => {
  switch (t.kind) {
    case 'zero':
      return t.type.map((s) => unbatched(ctx, ctx.alloc(ctx.measure.entries(s), 'zero')))
    case 'param':
      return [unbatched(ctx, ctx.params.get(t.name) as Float64Array)]
    case 'scalar':
      return [runElementwise({ op: t, shape: [] }, ctx, inputs)]
    case 'axisOp': {
      const v = inputs[0] as Value
      return [rowwise(v, axisKernel(v.data, size(ctx, t.axis), t.op, t.epsilon, ctx.alloc))]
    }
    case 'index': {
      const v = inputs[0] as Value
      const n = size(ctx, t.axis)
      return [
        rowwise(
          v,
          t.adjoint === true
            ? oneHotKernel(v.data, n, t.at, ctx.alloc)
            : indexKernel(v.data, n, t.at, ctx.alloc),
        ),
      ]
    }
    case 'view':
      return [inputs[0] as Value]
    case 'pad': {
      const v = inputs[0] as Value
      const kernel = t.adjoint === true ? cropKernel : padKernel
      return [rowwise(v, kernel(v.data, size(ctx, t.axis), t.before, t.after, ctx.alloc))]
    }
    case 'convTensor': {
      const v = inputs[0] as Value
      const y = size(ctx, (t.adjoint === true ? t.dom : t.cod)[0]?.[0] as Dim)
      const data = (t.adjoint === true ? convAdjointKernel : convKernel)(
        v.data,
        size(ctx, t.input),
        y,
        size(ctx, t.kernel),
        t.stride,
        t.dilation,
        ctx.alloc,
      )
      return [rowwise(v, data)]
    }
    case 'concat': {
      const lengths = t.pieces.map((d) => size(ctx, d))
      if (t.adjoint === true) {
        const v = inputs[0] as Value
        return splitKernel(v.data, lengths, ctx.alloc).map((data) => rowwise(v, data))
      }
      // The parts may vary along different broadcast levels: materialise each along all of them.
      const mask = unionLevels(ctx, inputs)
      const data = inputs.map((v, i) => expand(ctx, v, mask, lengths[i] as number))
      return [{ data: concatKernel(data, lengths, ctx.alloc), levels: mask }]
    }
    case 'einsum':
      return [runEinsum(t, ctx, inputs)]
    case 'generator':
      return runGenerator(t, ctx, inputs)
    case 'id':
    case 'seq':
    case 'par':
    case 'swap':
    case 'copy':
    case 'drop':
    case 'box':
    case 'derivative':
    case 'broadcast':
      return fail('internal', `evaluate: ${t.kind} is not a primitive`, { where: show(t) })
    default:
      return absurd(t)
  }
}

/**
 * A generator node on batched values: every input materialised along the union of the broadcast
 * levels they vary along, then the generator applied to each batch index (its implementation
 * sees one tuple at a time).
 */
const runGenerator = (t: Generator, ctx: Context, inputs: ReadonlyArray<Value>): Value[] => {
  const f = ctx.generator(t)
  const mask = unionLevels(ctx, inputs)
  const rows = t.dom.map((s) => ctx.measure.entries(s))
  const outRows = t.cod.map((s) => ctx.measure.entries(s))
  const data = inputs.map((v, i) => expand(ctx, v, mask, rows[i] as number))
  const nb = batchOf(ctx, mask)
  if (nb === 1) return f(data).map((d) => ({ data: d, levels: mask }))
  const outs = outRows.map((r) => ctx.alloc(r * nb, 'a generator output'))
  for (let b = 0; b < nb; b++) {
    const ys = f(
      data.map((d, i) => d.subarray(b * (rows[i] as number), (b + 1) * (rows[i] as number))),
    )
    ys.forEach((y, j) => (outs[j] as Float64Array).set(y, b * (outRows[j] as number)))
  }
  return outs.map((d) => ({ data: d, levels: mask }))
}

const levelLabel = (l: number): string => `\u0000${l}`

/** An einsum's labels and their dims, listed once per term. */
const dimsOf = (t: Extract<Term, { kind: 'einsum' }>): ReadonlyArray<readonly [string, Dim]> => {
  let ds = einsumDims.get(t)
  if (ds === undefined) {
    ds = Object.entries(t.dims)
    einsumDims.set(t, ds)
  }
  return ds
}

const einsumDims = new WeakMap<Term, ReadonlyArray<readonly [string, Dim]>>()

const runEinsum = (
  t: Extract<Term, { kind: 'einsum' }>,
  ctx: Context,
  inputs: ReadonlyArray<Value>,
  step?: Step,
): Value => {
  const key = `${planKernel()} ${ctx.levels.join(' ')} ${ctx.sizesKey}`
  const known = step?.plan
  if (known !== undefined && known.key === key && sameLevels(known, inputs))
    return scheduled(known, inputs, ctx)
  const labelSize = new Map<string, number>()
  for (const [label, d] of dimsOf(t)) labelSize.set(label, size(ctx, d))
  ctx.levels.forEach((n, l) => labelSize.set(levelLabel(l), n))
  const mask = unionLevels(ctx, inputs)
  const batchLabels = (levels: ReadonlyArray<boolean>) =>
    levels.flatMap((on, l) => (on ? [levelLabel(l)] : []))
  const operands = inputs.map((v, i) => ({
    data: v.data,
    labels: [...batchLabels(v.levels), ...(t.inputs[i] as ReadonlyArray<string>)],
  }))
  // A view of an output varying along no level is made in the order its reader takes best.
  const order = step?.view === true && !mask.some((on) => on) ? viewOrder(t) : undefined
  const schedule = contractionSchedule(
    operands.map((o) => o.labels),
    order ?? [...batchLabels(mask), ...t.output],
    labelSize,
  )
  const plan: EinsumPlan = {
    key,
    inLevels: inputs.map((v) => [...v.levels]),
    mask,
    schedule,
    ...(order === undefined
      ? {}
      : {
          view: {
            axes: t.output.map((l) => order.indexOf(l)),
            strides: stridesOf(order.map((l) => labelSize.get(l) as number)),
          },
        }),
  }
  if (step !== undefined) step.plan = plan
  return scheduled(plan, inputs, ctx)
}

/**
 * The order a `view` einsum of two operands makes its output in: the labels both keep, then
 * each operand's own free labels, the operand of the output's last label last (each group in
 * the output's order), so that one matrix product makes it with no transpose of the result
 * (`ocpq, abo -> apbqc` as `[a b][p q c]`, the block of channels still innermost for the
 * transposed convolution tensor that reads it).
 *
 * Only where that cannot change a sum: at most one summed label, in both operands, and no label
 * twice in an operand or in the output. Another order may choose another kernel or operand
 * order (the direct loop nest, a swapped pair), and with two summed labels that sums each entry
 * in another order, a last-bit difference from the evaluation as written
 * (test/conv-view.test.ts). Any other einsum keeps its output order: its view is the row-major
 * schedule's own products, only without the last transpose.
 */
const viewOrder = (t: Extract<Term, { kind: 'einsum' }>): ReadonlyArray<string> => {
  const [x, y] = t.inputs as ReadonlyArray<ReadonlyArray<string> | undefined>
  const out = t.output
  if (t.inputs.length !== 2 || x === undefined || y === undefined) return out
  const once = (ls: ReadonlyArray<string>) => new Set(ls).size === ls.length
  if (!once(out) || !once(x) || !once(y)) return out
  const summed = [...x, ...y].filter((l) => !out.includes(l))
  if (summed.length !== 0 && !(summed.length === 2 && summed[0] === summed[1])) return out
  const both = out.filter((l) => x.includes(l) && y.includes(l))
  const onlyX = out.filter((l) => x.includes(l) && !y.includes(l))
  const onlyY = out.filter((l) => !x.includes(l) && y.includes(l))
  const lastInX = onlyX.includes(out[out.length - 1] as string)
  const order = [...both, ...(lastInX ? onlyY : onlyX), ...(lastInX ? onlyX : onlyY)]
  return order.length === out.length ? order : out
}

/** Run an einsum's schedule: row-major, or, for a `view` plan, strided along the output's axes. */
const scheduled = (plan: EinsumPlan, inputs: ReadonlyArray<Value>, ctx: Context): Value => {
  const data = inputs.map((v) => v.data)
  const levels = plan.mask
  if (plan.view === undefined) return { data: runSchedule(plan.schedule, data, ctx.alloc), levels }
  const r = runScheduleView(plan.schedule, data, ctx.alloc)
  const made = r.strides ?? plan.view.strides
  const strides = plan.view.axes.map((i) => made[i] as number)
  return { data: r.data, levels, strides }
}

type Broadcast = Extract<Term, { kind: 'broadcast' }>

/**
 * A pad, crop or convolution tensor broadcast after its axis (`broadcast(f, axes, { at: 'last'
 * })`, as `conv1d` and `conv2d` cut their spatial axes, src/models/conv.ts), under any number of
 * broadcasts that place their axes first, in and out (`conv2d` cuts its second spatial axis as
 * `broadcast(broadcast(convTensor, [c], last), [yh kh])`): the input's layout is already rows
 * (the leading axes, in order), the kernel's axis, then a contiguous block of the inner
 * broadcast's axes, so a block kernel runs on it directly, where the general path moves the data
 * in and out. Undefined for any other broadcast.
 */
const blockRun = (t: Broadcast): { rows: Dim[]; inner: Broadcast } | undefined => {
  const rows: Dim[] = []
  let b: Term = t
  while (b.kind === 'broadcast' && !isBlockBroadcast(b)) {
    if (b.inputs.length !== 1 || b.inputs[0] !== 0 || b.outputs.length !== 1 || b.outputs[0] !== 0)
      return undefined
    rows.push(...b.axes)
    b = b.body
  }
  return b.kind === 'broadcast' ? { rows, inner: b } : undefined
}

/** {@link blockRun}'s broadcasts run by their block kernel; undefined for any other broadcast. */
const blockBroadcast = (
  t: Broadcast,
  ctx: Context,
  inputs: ReadonlyArray<Value>,
): Value[] | undefined => {
  const run = blockRun(t)
  if (run === undefined) return undefined
  const { inner } = run
  const body = inner.body
  if (body.kind !== 'pad' && body.kind !== 'convTensor') return undefined
  const v = inputs[0] as Value
  const axes = inner.axes.map((d) => size(ctx, d))
  const block = sizeOf(axes)
  let data: Float64Array
  if (body.kind === 'convTensor' && body.adjoint === true && v.strides !== undefined) {
    // A convolution's input gradient where its product left it (markViews).
    const st = v.strides
    const r = run.rows.length
    const y = size(ctx, body.dom[0]?.[0] as Dim)
    data = convAdjointStridedKernel(
      v.data,
      run.rows.map((d, a) => ({ n: size(ctx, d), s: st[a] as number })),
      {
        x: size(ctx, body.input),
        y,
        k: size(ctx, body.kernel),
        si: st[r] as number,
        sj: st[r + 1] as number,
      },
      axes.map((n, a) => ({ n, s: st[r + 2 + a] as number })),
      body.stride,
      body.dilation,
      ctx.alloc,
    )
  } else if (v.strides !== undefined) {
    return fail(
      'internal',
      'evaluate: a strided value reached a kernel that reads row-major data',
      {
        expected:
          'a row-major value (markViews marks only einsums read by a transposed convolution tensor)',
        got: `a value with strides [${v.strides.join(', ')}] for a ${body.kind}${body.adjoint === true ? ' adjoint' : ''}`,
        where: show(t, { maxLength: 160 }),
      },
    )
  } else if (body.kind === 'pad')
    data = (body.adjoint === true ? cropBlockKernel : padBlockKernel)(
      v.data,
      size(ctx, body.axis),
      body.before,
      body.after,
      block,
      ctx.alloc,
    )
  else
    data = (body.adjoint === true ? convAdjointBlockKernel : convBlockKernel)(
      v.data,
      size(ctx, body.input),
      size(ctx, (body.adjoint === true ? body.dom : body.cod)[0]?.[0] as Dim),
      size(ctx, body.kernel),
      body.stride,
      body.dilation,
      block,
      ctx.alloc,
    )
  // As `run` watches every primitive's output (evaluateWatched).
  const w = ctx.watch
  if (w !== undefined && !w.nonFinite) w.nonFinite = !data.every(Number.isFinite)
  return [{ data, levels: v.levels }]
}

const runBroadcast = (
  t: Broadcast,
  ctx: Context,
  inputs: ReadonlyArray<Value>,
  body: Program,
): Value[] => {
  const fast = blockBroadcast(t, ctx, inputs)
  if (fast !== undefined) return fast
  const p = sizeOf(t.axes.map((d) => size(ctx, d)))
  const depth = ctx.levels.length
  const extents = (s: Shape) => s.map((d) => size(ctx, d))
  const skip = ctx.watch === undefined
  const { used, wanted } = body
  const enter = inputs.map((v, i): Value => {
    const at = t.inputs[i] as number | 'shared'
    // An input no live step of the body reads (markLive) is not moved in.
    if (skip && !(used[i] as boolean)) return v
    if (at === 'shared') return { data: v.data, levels: [...v.levels, false] }
    const body = extents(t.body.dom[i] as Shape)
    const m = sizeOf(body.slice(0, at))
    const q = sizeOf(body.slice(at))
    const data = permute(v.data, [batchOf(ctx, v.levels), m, p, q], [0, 2, 1, 3], ctx.alloc)
    return { data, levels: [...v.levels, true] }
  })
  const inner: Context = { ...ctx, levels: [...ctx.levels, p] }
  const outs = execute(body, inner, enter)
  const exits = outs.map((w, i): Value => {
    // An output no later step reads is left out (its slot stays empty, markLive).
    if (skip && !(wanted[i] as boolean)) return w
    const at = t.outputs[i] as number
    const body = extents(t.body.cod[i] as Shape)
    const m = sizeOf(body.slice(0, at))
    const q = sizeOf(body.slice(at))
    const levels = w.levels.slice(0, depth)
    const nb = batchOf(ctx, levels)
    const data = w.levels[depth]
      ? permute(w.data, [nb, p, m, q], [0, 2, 1, 3], ctx.alloc)
      : gather(w.data, [nb, m, p, q], [m * q, q, 0, 1], ctx.alloc)
    return { data, levels }
  })
  // The body's outputs, once all are copied out, are read no more (unless passed on as they are).
  const pool = ctx.pool
  if (pool !== undefined) {
    // (An output no later step reads is left undefined.)
    const passed = exits.map((v) => (v as Value | undefined)?.data.buffer)
    for (const w of outs as ReadonlyArray<Value | undefined>)
      if (w !== undefined && !passed.includes(w.data.buffer)) pool.discard(w.data)
  }
  return exits
}

/**
 * The checks made before any work: every size, index, parameter, and every tensor within the cap.
 * Sizes are counted as the evaluator holds them: a run over the broadcast flags of each value
 * (mirroring `run`), so a parameter or shared input inside a broadcast counts once, not once per
 * index.
 */
const precheck = (
  term: Term,
  program: Program,
  sizes: Sizes,
  sizesKey: string,
  measure: Measure,
  cap: number,
  params: Map<string, { size: number; shape: Shape }>,
  generatorOf: (g: Generator) => Applied,
): number => {
  // The checks depend on the term, the sizes and the cap only: once passed, they pass again.
  const key = `${cap} ${sizesKey}`
  const known = program.passed.get(key)
  if (known !== undefined) {
    for (const [name, p] of known.params) params.set(name, p)
    for (const g of program.generators) generatorOf(g)
    return known.held
  }
  const held = checkAll(term, program, sizes, measure, cap, params, generatorOf)
  if (program.passed.size >= 8) program.passed.clear()
  program.passed.set(key, { held, params: [...params] })
  return held
}

const checkAll = (
  term: Term,
  program: Program,
  sizes: Sizes,
  measure: Measure,
  cap: number,
  params: Map<string, { size: number; shape: Shape }>,
  generatorOf: (g: Generator) => Applied,
): number => {
  let held = 0
  const check = (
    t: Term,
    type: TupleType,
    masks: ReadonlyArray<Mask>,
    levels: ReadonlyArray<number>,
    hold = true,
  ) =>
    type.forEach((s, i) => {
      const copies = (masks[i] ?? []).reduce((n, on, l) => (on ? n * (levels[l] as number) : n), 1)
      const n = measure.entries(s) * copies
      if (hold) held += n
      if (n > cap)
        fail('memory-cap', `evaluate: a tensor of ${n} entries is over the memory cap of ${cap}`, {
          expected: `at most ${cap} entries per tensor (EvalOptions.memoryCap)`,
          got: `${showShape(s)}${copies > 1 ? ` broadcast ${copies} times` : ''} = ${n} entries at ${JSON.stringify(sizes)}`,
          where: show(t, { maxLength: 160 }),
          hint: 'use smaller sizes, or raise memoryCap if the machine has the memory',
        })
    })
  // The steps in the order they run. Wiring passes on tensors already counted (its inputs, its
  // parts' outputs) and makes no step: counting them again would count every value once per
  // layer it is carried through.
  const walk = (prog: Program, levels: ReadonlyArray<number>): void => {
    for (const step of prog.steps) visit(step, levels, prog.masks)
  }
  const visit = (step: Step, levels: ReadonlyArray<number>, slots: ReadonlyArray<Mask>): void => {
    // A fused run is checked as the steps it stands for.
    if (step.fused !== undefined) {
      for (const p of step.fused.parts) visit(p, levels, slots)
      return
    }
    const t = step.t
    switch (t.kind) {
      case 'broadcast': {
        const p = t.axes.reduce((n, d) => n * measure.dim(d), 1)
        if (step.body !== undefined) walk(step.body, [...levels, p])
        else if (step.circuitLayers !== undefined)
          // A circuit compiled into its ops, counted there. Held as the steps as written hold
          // its outputs: once per level of the nest (each broadcast's body output, as many
          // entries as the whole output), so the total below, and whether the peak is
          // predicted, are those of evaluateAsWritten.
          for (let k = 0; k < step.circuitLayers; k++) check(t, t.cod, step.masks, levels)
        else {
          // One op of a circuit compiled into its ops (pointwiseCircuit), on the whole tensors.
          const e = step.elementwise as Elementwise
          e.shape.forEach((d) => measure.dim(d))
          if (e.op.bySize !== undefined) measure.dim(e.op.bySize.dim)
        }
        break
      }
      case 'einsum':
        for (const [, d] of dimsOf(t)) measure.dim(d)
        break
      case 'index': {
        const n = measure.dim(t.axis)
        if (t.at >= n)
          fail('bad-index', `evaluate: index ${t.at} is past the end of ${showDim(t.axis)}`, {
            expected: `a position below ${showDim(t.axis)} = ${n}`,
            got: String(t.at),
            where: show(t),
          })
        break
      }
      case 'param': {
        const n = measure.entries(t.shape)
        const seen = params.get(t.name)
        if (seen !== undefined && dimKeyOf(seen.shape) !== dimKeyOf(t.shape))
          fail('bad-argument', `evaluate: parameter '${t.name}' is used with two shapes`, {
            expected: showShape(seen.shape),
            got: showShape(t.shape),
            hint: 'give different parameters different names',
          })
        params.set(t.name, { size: n, shape: t.shape })
        break
      }
      case 'concat':
        t.pieces.forEach((d) => measure.dim(d))
        break
      case 'scalar':
        if (t.bySize !== undefined) measure.dim(t.bySize.dim)
        break
      case 'axisOp':
      case 'view':
      case 'pad':
      case 'convTensor':
        t.cod.forEach((s) => s.forEach((d) => measure.dim(d)))
        break
      case 'generator': {
        for (const s of [...t.dom, ...t.cod]) s.forEach((d) => measure.dim(d))
        // Its inputs are materialised along every level one of them varies along (runGenerator):
        // copies that are not values of the term (not held), but tensors all the same.
        const union = levels.map((_, l) => step.ins.some((r) => (slots[r] as Mask)[l] === true))
        check(
          t,
          t.dom,
          t.dom.map(() => union),
          levels,
          false,
        )
        // Made here, before any work: a missing implementation of a derived form, or random
        // tensors over the cap, are refused now.
        generatorOf(t)
        break
      }
      case 'zero':
      case 'id':
      case 'seq':
      case 'par':
      case 'swap':
      case 'copy':
      case 'drop':
      case 'box':
      case 'derivative':
        break
      default:
        absurd(t)
    }
    if (!step.checkOnly) check(t, t.cod, step.masks, levels)
  }
  check(
    term,
    term.dom,
    term.dom.map(() => []),
    [],
  )
  walk(program, [])
  for (const { size } of params.values()) held += size
  return held
}

const dimKeyOf = (s: Shape): string => s.map(dimKey).join(' ')

/**
 * Dims are identified by name, so a name left to its default size must have one default: two
 * dim objects `k` with defaults 2 and 3 in one term are refused (unless `sizes` binds `k`).
 */
const checkDefaults = (term: Term, sizes: Sizes): void => {
  for (const [name, values] of defaultsOf(term)) {
    if (values.length < 2 || Object.prototype.hasOwnProperty.call(sizes, name)) continue
    fail('bad-size', `evaluate: dim '${name}' has two default sizes`, {
      expected: `one default size for '${name}', or a size in the sizes record`,
      got: `defaults ${values[0]} and ${values[1]}`,
      hint: `pass { ${name}: <size> } or build both dims with the same default`,
    })
  }
}

/**
 * The default sizes of each dim name in a term, distinct, in the order first met: computed once
 * per term (terms are immutable), so evaluating one term many times walks it once.
 */
const defaultsOf = (term: Term): ReadonlyMap<string, ReadonlyArray<number>> => {
  const known = defaultsMemo.get(term)
  if (known !== undefined) return known
  const seen = new Map<string, number[]>()
  // Terms, shapes and dims are shared objects (a derivative reads the same sub-terms and types
  // many times): each is visited once.
  const visited = new Set<object>()
  const visitDim = (d: Dim): void => {
    if (visited.has(d)) return
    visited.add(d)
    for (const [name, v] of dimVars(d)) {
      if (v.size === undefined) continue
      const values = seen.get(name)
      if (values === undefined) seen.set(name, [v.size])
      else if (!values.includes(v.size)) values.push(v.size)
    }
  }
  const visitShape = (s: Shape): void => {
    if (visited.has(s)) return
    visited.add(s)
    s.forEach(visitDim)
  }
  const visit = (t: Term): void => {
    if (visited.has(t)) return
    visited.add(t)
    t.dom.forEach(visitShape)
    t.cod.forEach(visitShape)
    if (t.kind === 'scalar' && t.bySize !== undefined) visitDim(t.bySize.dim)
    if (t.kind === 'einsum') Object.values(t.dims).forEach(visitDim)
    children(t).forEach(visit)
  }
  visit(term)
  defaultsMemo.set(term, seen)
  return seen
}

const defaultsMemo = new WeakMap<Term, ReadonlyMap<string, ReadonlyArray<number>>>()

const toFloat64 = (x: TensorData): Float64Array =>
  x instanceof Float64Array ? x : Float64Array.from(x)

const isTensorData = (x: unknown): x is TensorData =>
  x instanceof Float64Array || (Array.isArray(x) && x.every((v) => typeof v === 'number'))

/**
 * Evaluate a term on a tuple of dense row-major float64 tensors. `sizes` binds the term's dims
 * (dims with a default size may be left out), `params` gives every `param` by name.
 *
 * Refused before any work, with what was expected and what came: a wrong number of inputs, an
 * input of the wrong length, a missing or misshapen parameter, an unbound dim, a size that is not
 * a positive integer, an index past its axis, and any tensor over the memory cap.
 *
 * The outputs never share memory with the inputs, the parameters or each other.
 *
 * Generators run their implementation from `options.generators`, or their seeded random
 * interpretation (`options.generatorSeed`).
 *
 * @example
 * ```ts
 * import { evaluate, einsum } from 'neural-circuit-diagrams'
 * const matmul = einsum('a b, b c -> a c')
 * const [c] = evaluate(matmul, { a: 1, b: 2, c: 1 }, [[1, 2], [3, 4]])
 * c // Float64Array [11]
 * ```
 */
export const evaluate = (
  term: Term,
  sizes: Sizes,
  inputs: ReadonlyArray<TensorData>,
  params: Readonly<Record<string, TensorData>> = {},
  options: EvalOptions = {},
): Float64Array[] => evaluateIn(term, sizes, inputs, params, options, undefined)

/**
 * {@link evaluate}, also telling whether any primitive computed an entry that is NaN or
 * infinite on the way (an IEEE result outside the reals, such as an overflow, even when the
 * outputs are finite again: `1/∞ = 0`). `equivalent` reports a counterexample only from an
 * evaluation whose every value is a real number (README, "Number semantics"). It runs every
 * step, dead ones and the parts of fused runs included, so it sees what the term computes;
 * `asWritten` watches {@link evaluateAsWritten} instead (for tests: the two see the same). @internal
 */
export const evaluateWatched = (
  term: Term,
  sizes: Sizes,
  inputs: ReadonlyArray<TensorData>,
  params: Readonly<Record<string, TensorData>> = {},
  options: EvalOptions = {},
  asWritten = false,
): { readonly outputs: Float64Array[]; readonly nonFinite: boolean } => {
  const watch = { nonFinite: false }
  const outputs = evaluateIn(term, sizes, inputs, params, options, watch, asWritten)
  return { outputs, nonFinite: watch.nonFinite }
}

/**
 * {@link evaluate} running every step as the term writes it: no step skipped as dead, no
 * element-wise run fused, no broadcast of an element-wise op flattened (its entry and exit
 * copies made): the same entries bit for bit and the same refusals (test/adversary.test.ts).
 * The cost model (cost.ts) counts this evaluation's allocations
 * exactly; the default one allocates at most as much (test/cost.test.ts). @internal
 */
export const evaluateAsWritten = (
  term: Term,
  sizes: Sizes,
  inputs: ReadonlyArray<TensorData>,
  params: Readonly<Record<string, TensorData>> = {},
  options: EvalOptions = {},
): Float64Array[] => evaluateIn(term, sizes, inputs, params, options, undefined, true)

const evaluateIn = (
  term: Term,
  sizes: Sizes,
  inputs: ReadonlyArray<TensorData>,
  params: Readonly<Record<string, TensorData>>,
  options: EvalOptions,
  watch: { nonFinite: boolean } | undefined,
  literal = false,
): Float64Array[] => {
  const cap = options.memoryCap ?? DEFAULT_MEMORY_CAP
  if (!(Number.isFinite(cap) && cap >= 1))
    fail('bad-argument', 'evaluate: memoryCap must be a positive number of entries', {
      expected: 'memoryCap >= 1',
      got: String(cap),
    })
  const totalCap = options.totalMemoryCap ?? DEFAULT_TOTAL_MEMORY_CAP
  if (!(Number.isFinite(totalCap) && totalCap >= 1))
    fail('bad-argument', 'evaluate: totalMemoryCap must be a positive number of entries', {
      expected: 'totalMemoryCap >= 1',
      got: String(totalCap),
    })
  if (sizes === null || typeof sizes !== 'object' || Array.isArray(sizes))
    fail('bad-size', 'evaluate: the second argument must be the sizes of the dims', {
      expected: 'a record of sizes such as { k: 4 } ({} when every dim has a default)',
      got: sizes === null ? 'null' : Array.isArray(sizes) ? 'an array' : typeof sizes,
      where: show(term, { maxLength: 160 }),
    })
  for (const [name, n] of Object.entries(sizes))
    if (!(typeof n === 'number' && Number.isInteger(n) && n >= 1))
      fail('bad-size', `evaluate: the size of '${name}' must be a positive integer`, {
        expected: 'an integer >= 1',
        got: `${name}: ${String(n)}`,
      })
  if (!Array.isArray(inputs) || inputs.length !== term.dom.length)
    fail(
      'bad-input',
      `evaluate: the term takes ${term.dom.length} input segment(s) but ${Array.isArray(inputs) ? inputs.length : 'no array'} came`,
      {
        expected: `${term.dom.length} tensors of types ${showType(term.dom)}`,
        got: Array.isArray(inputs) ? `${inputs.length} tensors` : typeof inputs,
        where: show(term, { maxLength: 160 }),
      },
    )
  const check = (entries: number, what: string): number => {
    if (entries > cap)
      throw new TermError(
        'memory-cap',
        `evaluate: ${what} of ${entries} entries is over the memory cap of ${cap}`,
        {
          expected: `at most ${cap} entries (EvalOptions.memoryCap)`,
          got: `${entries}`,
        },
      )
    return entries
  }
  // Generators keep their tables for the whole evaluation: never from the pool.
  const alloc: Allocate = (entries, what) => new Float64Array(check(entries, what))
  const needed = new Map<string, { size: number; shape: Shape }>()
  checkDefaults(term, sizes)
  const seed = options.generatorSeed ?? 0
  const implementations = options.generators ?? {}
  const made = new Map<string, Applied>()
  const generatorOf = (g: Generator): Applied => {
    const key = generatorKey(g)
    let f = made.get(key)
    if (f === undefined) {
      f = generatorApplication(g, sizes, implementations, seed, alloc)
      made.set(key, f)
    }
    return f
  }
  const program = compile(term, literal)
  const measure = measureOf(sizes)
  const sizesKey = JSON.stringify(sizes)
  const held = precheck(term, program, sizes, sizesKey, measure, cap, needed, generatorOf)
  if (held > totalCap / 4) {
    const peak = cost(term, sizes).peakMemory
    if (peak > totalCap)
      fail(
        'memory-cap',
        `evaluate: the evaluation would hold ${peak} entries at once, over the total memory cap of ${totalCap}`,
        {
          expected: `at most ${totalCap} entries live together (EvalOptions.totalMemoryCap)`,
          got: `a peak of ${peak} entries (inputs, parameters and live intermediates, as cost(term, sizes).peakMemory predicts) at ${JSON.stringify(sizes)}`,
          where: show(term, { maxLength: 160 }),
          hint: 'use smaller sizes, or raise totalMemoryCap if the machine has the memory',
        },
      )
  }
  const data = inputs.map((x, i) => {
    const shape = term.dom[i] as Shape
    const n = shapeSize(shape, sizes)
    if (!isTensorData(x))
      fail('bad-input', `evaluate: input ${i} is not a tensor`, {
        expected: `a Float64Array or number[] of ${n} entries (${showShape(shape)})`,
        got: typeof x,
      })
    if (x.length !== n)
      fail('bad-input', `evaluate: input ${i} should have ${n} entries but has ${x.length}`, {
        expected: `${showShape(shape)} = ${n} entries at ${JSON.stringify(sizes)}`,
        got: `${x.length} entries`,
      })
    return toFloat64(x)
  })
  const paramData = new Map<string, Float64Array>()
  for (const [name, { size: n, shape }] of needed) {
    const x = params[name]
    if (x === undefined || !isTensorData(x))
      fail('bad-input', `evaluate: parameter '${name}' is missing`, {
        expected: `params['${name}'] with ${n} entries (${showShape(shape)})`,
        got: x === undefined ? `params with ${JSON.stringify(Object.keys(params))}` : typeof x,
      })
    else if (x.length !== n)
      fail(
        'bad-input',
        `evaluate: parameter '${name}' should have ${n} entries but has ${x.length}`,
        {
          expected: `${showShape(shape)} = ${n} entries at ${JSON.stringify(sizes)}`,
          got: `${x.length} entries`,
        },
      )
    else paramData.set(name, toFloat64(x))
  }
  if (options.checkFinite === true) {
    data.forEach((x, i) => checkFinite(x, term.dom[i] as Shape, sizes, `input ${i}`))
    for (const [name, { shape }] of needed)
      checkFinite(paramData.get(name) as Float64Array, shape, sizes, `parameter '${name}'`)
  }
  // Watched, every value is seen as made; literal, every allocation is the cost model's.
  const pool = watch === undefined && !literal ? poolFor(program) : undefined
  const ctx: Context = {
    sizes,
    measure,
    levels: [],
    params: paramData,
    alloc: pool === undefined ? alloc : (entries, what) => pool.take(check(entries, what)),
    ...(pool !== undefined ? { pool } : {}),
    generator: generatorOf,
    ...(watch !== undefined ? { watch } : {}),
    sizesKey,
  }
  // A non-finite input is a value on the way too (the evaluation watched it as it was passed on).
  if (watch !== undefined) watch.nonFinite = !data.every((x) => x.every(Number.isFinite))
  const outs = execute(
    program,
    ctx,
    data.map((d) => ({ data: d, levels: [] })),
  )
  if (pool !== undefined)
    keepPool(
      program,
      pool,
      outs.map((v) => v.data),
    )
  const owned = new Set<Float64Array>([...data, ...paramData.values()])
  const result = outs.map((v) => {
    if (owned.has(v.data)) return Float64Array.from(v.data)
    owned.add(v.data)
    return v.data
  })
  if (options.checkFinite === true)
    result.forEach((x, i) => checkFinite(x, term.cod[i] as Shape, sizes, `output ${i}`, term))
  return result
}

/** Refuse the first entry of a tensor that is NaN or infinite, naming where it is. */
const checkFinite = (
  x: Float64Array,
  shape: Shape,
  sizes: Sizes,
  what: string,
  term?: Term,
): void => {
  const at = x.findIndex((v) => !Number.isFinite(v))
  if (at < 0) return
  const extents = shape.map((d) => dimSize(d, sizes))
  const index: number[] = []
  let rest = at
  for (let k = extents.length - 1; k >= 0; k--) {
    const n = extents[k] as number
    index.unshift(rest % n)
    rest = Math.floor(rest / n)
  }
  const bad = x.filter((v) => !Number.isFinite(v)).length
  const axes = shape.map((d, k) => `${showDim(d)}=${index[k]}`).join(', ')
  fail(
    'not-finite',
    `evaluate: ${what} has ${bad} ${bad === 1 ? 'entry that is' : 'entries that are'} not finite, the first ${x[at]} at position ${at}${axes !== '' ? ` (${axes})` : ''}`,
    {
      expected: `finite numbers in ${what} ${showShape(shape)} (EvalOptions.checkFinite)`,
      got: `${x[at]} at position ${at}${axes !== '' ? `, index ${axes}` : ''}`,
      ...(term !== undefined ? { where: show(term, { maxLength: 160 }) } : {}),
    },
  )
}
