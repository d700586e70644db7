/**
 * Well-typed random terms. A generator is asked for a term of a given domain (a tuple type) and
 * draws, by type, one of the constructors that accept that domain: a primitive on the segment
 * (scalar maps and axis operations broadcast over the rest of it, index, view, pad, the
 * convolution tensor, einsums, unit and cup, linear layers, the split of an axis that is a sum,
 * a segment concatenated with its copy), a tuple-level map (swap, copy, drop, multi-input
 * einsums, concatenation of segments that agree off one axis, add and mul, params and zeros from the empty tuple, generators of each
 * linearity), or, while depth
 * remains, a composite whose parts are drawn for the types they receive: `seq` (the second part
 * drawn for the first's codomain with `chain`), `par` (a split of the tuple), `broadcast` (outer,
 * at any position, or inner with shared segments), `box`, and the residual/gated combination
 * `copy ; f ⊗ g ; add|mul`. A requested codomain is reached by appending {@link adapt}.
 *
 * Nothing is ever filtered: every choice is made among the constructors that fit, so every
 * value, and every value shrinking reaches, is well-typed. Terms shrink first by structure
 * (`shrinkTerm`: the identity, prefixes of sequences, sub-terms of the same type, each strictly
 * smaller), then as fast-check shrinks the choices (towards `id`, position 0, the first operator).
 *
 * Validity for sizes: a term drawn with `maxSize: m` (default 4) is valid for every binding of its
 * size variables from {@link sizeBounds} to `m`. Index positions on a size variable are at most
 * `m - 1` and raise its lower bound; on other dims they are below the dim's least size. A
 * convolution `convTensor(x, k, s, d)` is drawn only when the least size of `x` is at least
 * `d (k_max - 1) + 1`, `k_max` being the largest size of the kernel (the constant, or `m` for a
 * size variable); otherwise `x` is zero-padded by the difference first. So conv outputs have at
 * least one entry whatever the sizes up to `m`.
 *
 * Shapes stay small: ranks at most `maxRank` (4), at most `maxCells` (1024) entries per segment at
 * the largest sizes, and copies only while the tuple has at most `maxSegments` (4) segments.
 *
 * @packageDocumentation
 */
import fc from 'fast-check'
import {
  type TypeLike,
  box,
  broadcast,
  copy,
  derivative,
  drop,
  id,
  par,
  seq,
  swap,
} from '../core/construct.js'
import {
  type Dim,
  type DimLike,
  constDim,
  dimConv,
  dimKey,
  dimPadded,
  dimProduct,
  dimSum,
  toDim,
} from '../core/dim.js'
import {
  UNARY_OPS,
  type UnaryOp,
  add,
  layerNorm,
  max,
  mean,
  mul,
  param,
  scale,
  softmax,
  unary,
} from '../core/primitives.js'
import { absurd } from '../core/errors.js'
import { generator, generatorTranspose } from '../core/generator.js'
import type { AxisOpName, Placement, Term, TermKind } from '../core/term.js'
import { type Shape, type TupleType, shapeEquals, toType, typeEquals } from '../core/types.js'
import { cup, unit } from '../linear/einsum.js'
import { linearLayer } from '../linear/layer.js'
import { concat, convTensor, index, pad, split, view, zero } from '../linear/structural.js'
import { adapt } from './adapt.js'
import { type ShapeBudget, einsumArb, transposeArb } from './einsums.js'
import { TermArbitrary } from './shrink.js'
import {
  DEFAULT_DIMS,
  DEFAULT_MAX_SIZE,
  maxCells,
  maxDimSize,
  minDimSize,
  shapeArb,
  tupleTypeArb,
} from './sizes.js'

/** Options of {@link termArb}. */
export interface TermArbOptions {
  /** The codomain to reach (by appending {@link adapt}); any codomain when absent. */
  readonly cod?: TypeLike
  /** Nesting depth of composites (seq, par, broadcast, box, combinations); default 3. */
  readonly depth?: number
  /**
   * Only linear constructors: single-input einsums, copy, drop, swap, id, par, seq, broadcast,
   * index, view, pad, convTensor, concat and split, zero, scale, add, mean, linearLayer without
   * bias. The term's
   * `linearity` is then `'linear'`.
   */
  readonly linear?: boolean
  /**
   * Draw generators (default true): opaque maps of each declared linearity, evaluated by their
   * seeded random interpretations. False for terms that must lower to code (src/codegen refuses
   * generators).
   */
  readonly generators?: boolean
  /** No relu and no max, for finite differences. */
  readonly smooth?: boolean
  /**
   * Default true: outputs are finite on finite inputs. `exp` is fed by tanh or sigmoid, and
   * `log`, `sqrt` and `reciprocal` by a bounded positive map (tanh;exp, tanh;sigmoid or
   * sigmoid;exp), so no overflow, NaN or division by zero arises. False draws them bare.
   */
  readonly numericSafe?: boolean
  /**
   * Restrict the constructors drawn, by the kind of their head node (unit and cup are `einsum`,
   * linear layers are `box`). Element-wise and per-axis primitives come broadcast over the rest
   * of their segment regardless, `id` is the fallback when nothing else fits, and the glue of a
   * requested codomain (see {@link adapt}) uses structural kinds.
   */
  readonly kinds?: ReadonlyArray<TermKind>
  /** The dims new axes are drawn from (spreads, units, layer outputs, kernels, params). */
  readonly dims?: ReadonlyArray<DimLike>
  /** The largest size of a size variable the term must be valid for; default 4. */
  readonly maxSize?: number
  /** Default 4. */
  readonly maxRank?: number
  /** Default 4. */
  readonly maxSegments?: number
  /** The largest number of entries of a segment (at the largest sizes); default 1024. */
  readonly maxCells?: number
}

interface Ctx extends ShapeBudget {
  readonly linear: boolean
  readonly generators: boolean
  /**
   * Inside the body of a derivative: no nonlinear generators, whose second derivative the engine
   * refuses (a law may put one more D around a drawn term).
   */
  readonly inDerivative: boolean
  readonly smooth: boolean
  readonly numericSafe: boolean
  readonly kinds: ReadonlySet<TermKind> | undefined
  readonly dims: ReadonlyArray<Dim>
  readonly maxSegments: number
}

interface Option {
  readonly arbitrary: fc.Arbitrary<Term>
  readonly weight: number
}

const resolve = (o: TermArbOptions): Ctx => {
  const dims = (o.dims ?? DEFAULT_DIMS).map(toDim)
  if (dims.length === 0) throw new RangeError('termArb: the dim pool is empty')
  return {
    linear: o.linear ?? false,
    generators: o.generators ?? true,
    inDerivative: false,
    smooth: o.smooth ?? false,
    numericSafe: o.numericSafe ?? true,
    kinds: o.kinds === undefined ? undefined : new Set(o.kinds),
    dims,
    maxSize: o.maxSize ?? DEFAULT_MAX_SIZE,
    maxRank: o.maxRank ?? 4,
    maxCells: o.maxCells ?? 1024,
    maxSegments: o.maxSegments ?? 4,
  }
}

/** Build the arbitrary only when a value is drawn from it: keeps recursion finite and cheap. */
const lazy = (build: () => fc.Arbitrary<Term>): fc.Arbitrary<Term> => fc.constant(null).chain(build)

/** One of the items, shrinking towards the first. */
const pick = <A>(xs: ReadonlyArray<A>): fc.Arbitrary<A> => fc.constantFrom(...xs)

const allowed = (ctx: Ctx, k: TermKind): boolean => ctx.kinds === undefined || ctx.kinds.has(k)

const fits = (ctx: ShapeBudget, s: Shape): boolean =>
  s.length <= ctx.maxRank && maxCells(s, ctx.maxSize) <= ctx.maxCells

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

/** `s` with `w` axes at `i` replaced by `by`. */
const replaced = (s: Shape, i: number, w: number, by: Shape): Shape => [
  ...s.slice(0, i),
  ...by,
  ...s.slice(i + w),
]

/**
 * Apply `f: [s[i..i+w]] -> [c]` to the axes `i..i+w` of `s`, broadcasting it over the axes after
 * (placed after the body's axes) and before (placed first).
 */
const atAxes = (f: Term, s: Shape, i: number, w: number): Term => {
  const before = s.slice(0, i)
  const after = s.slice(i + w)
  const out = (f.cod[0] as Shape).length
  const inner = after.length > 0 ? broadcast(f, after, { inputs: [w], outputs: [out] }) : f
  return before.length > 0 ? broadcast(inner, before, { inputs: [0], outputs: [0] }) : inner
}

const axisOp = (op: AxisOpName, a: Dim): Term =>
  op === 'softmax'
    ? softmax(a)
    : op === 'layerNorm'
      ? layerNorm(a)
      : op === 'max'
        ? max(a)
        : mean(a)

/** The bounded positive maps that feed log, sqrt and reciprocal when numerically safe. */
const POSITIVE: ReadonlyArray<readonly [UnaryOp, UnaryOp]> = [
  ['tanh', 'exp'],
  ['tanh', 'sigmoid'],
  ['sigmoid', 'exp'],
]

const unaryArb = (op: UnaryOp, s: Shape, ctx: Ctx): fc.Arbitrary<Term> => {
  if (!ctx.numericSafe) return fc.constant(unary(op, s))
  switch (op) {
    case 'exp':
      return pick<UnaryOp>(['tanh', 'sigmoid']).map((g) => seq(unary(g, s), unary('exp', s)))
    case 'log':
    case 'sqrt':
    case 'reciprocal':
      return pick(POSITIVE).map(([f, g]) => seq(unary(f, s), unary(g, s), unary(op, s)))
    case 'relu':
    case 'gelu':
    case 'tanh':
    case 'sigmoid':
    case 'step':
    case 'normcdf':
      return fc.constant(unary(op, s))
    default:
      return absurd(op)
  }
}

/** The largest position an index on `d` may take for every valid size. */
const indexLimit = (d: Dim, ctx: Ctx): number =>
  d.kind === 'var' ? Math.min(ctx.maxSize, d.size ?? ctx.maxSize) - 1 : minDimSize(d) - 1

const ONE = constDim(1)

/**
 * The views of `s`: splits of product axes, groups of adjacent axes into a product (alone or
 * there and back), and 1-length axes inserted or removed; each family with its weight.
 */
const viewOptions = (s: Shape, ctx: Ctx): Option[] => {
  const r = s.length
  const splits = range(r).filter((i) => (s[i] as Dim).kind === 'product')
  const ones = range(r).filter((i) => {
    const d = s[i] as Dim
    return d.kind === 'const' && d.value === 1
  })
  const options: Option[] = []
  if (splits.length > 0)
    options.push({
      weight: 3,
      arbitrary: pick(splits).map((i) => {
        const d = s[i] as Extract<Dim, { kind: 'product' }>
        return view(s, replaced(s, i, 1, d.factors))
      }),
    })
  if (r >= 2)
    options.push({
      weight: 2,
      arbitrary: lazy(() => {
        const blocks = range(r - 1).flatMap((i) => range(r - i - 1).map((k) => ({ i, w: k + 2 })))
        return fc.tuple(pick(blocks), fc.boolean()).map(([{ i, w }, back]) => {
          const g = replaced(s, i, w, [dimProduct(...s.slice(i, i + w))])
          return back ? seq(view(s, g), view(g, s)) : view(s, g)
        })
      }),
    })
  if (ones.length > 0 || r + 1 <= ctx.maxRank) {
    const removals = ones.map((i) => replaced(s, i, 1, []))
    const inserts = r + 1 <= ctx.maxRank ? range(r + 1).map((p) => replaced(s, p, 0, [ONE])) : []
    options.push({
      weight: 1,
      arbitrary: lazy(() => pick([...removals, ...inserts]).map((t) => view(s, t))),
    })
  }
  return options
}

interface ConvChoice {
  readonly i: number
  readonly kernel: Dim
  readonly stride: number
  readonly dilation: number
}

const KERNELS: ReadonlyArray<Dim> = [constDim(2), constDim(3), constDim(1)]

/** The padding that makes axis `x` long enough for the kernel at every size, if any. */
const convPadding = (x: Dim, c: ConvChoice, ctx: Ctx): [number, number] | undefined => {
  const need = c.dilation * (maxDimSize(c.kernel, ctx.maxSize) - 1) + 1
  const missing = need - minDimSize(x)
  if (missing <= 0) return undefined
  const before = Math.floor(missing / 2)
  return [before, missing - before]
}

/** The shapes a convolution on axis i goes through (after the padding, after the conv). */
const convShapes = (s: Shape, c: ConvChoice, ctx: Ctx): Shape[] => {
  const x = s[c.i] as Dim
  const p = convPadding(x, c, ctx)
  const xp = p === undefined ? x : dimPadded(x, p[0], p[1])
  return [
    replaced(s, c.i, 1, [xp]),
    replaced(s, c.i, 1, [dimConv(xp, c.kernel, c.stride, c.dilation), c.kernel]),
  ]
}

/** The convolution tensor on axis i, zero-padding the axis first when it might be too short. */
const convOn = (s: Shape, c: ConvChoice, ctx: Ctx): Term => {
  const x = s[c.i] as Dim
  const p = convPadding(x, c, ctx)
  if (p === undefined) return atAxes(convTensor(x, c.kernel, c), s, c.i, 1)
  const padding = pad(x, p[0], p[1])
  const padded = (padding.cod[0] as Shape)[0] as Dim
  return seq(
    atAxes(padding, s, c.i, 1),
    atAxes(convTensor(padded, c.kernel, c), replaced(s, c.i, 1, [padded]), c.i, 1),
  )
}

/**
 * The ways an axis can be split into pieces whose sum is the axis (`dimSum` gives it back): a
 * sum into its parts, a padded axis into its base and the padding, a multiple `n a` into `a`
 * and `(n-1) a`.
 */
const splitsOf = (d: Dim): Shape[] => {
  switch (d.kind) {
    case 'sum':
      return d.parts.length >= 2 ? [d.parts] : []
    case 'padded':
      return [[d.base, constDim(d.before + d.after)]]
    case 'product': {
      const c = d.factors.find((f) => f.kind === 'const')
      if (c === undefined || c.kind !== 'const') return []
      const rest = d.factors.filter((f) => f !== c)
      return [[dimProduct(...rest), dimProduct(c.value - 1, ...rest)]]
    }
    case 'const':
      return d.value >= 2 ? [[constDim(1), constDim(d.value - 1)]] : []
    case 'var':
    case 'conv':
    case 'cropped':
    case 'convT':
    case 'named':
      return []
    default:
      return absurd(d)
  }
}

/** The primitives on one segment `[s]`. */
const segmentOptions = (s: Shape, ctx: Ctx, path: string): Option[] => {
  const r = s.length
  const axes = range(r)
  const options: Option[] = []
  const add_ = (weight: number, arbitrary: () => fc.Arbitrary<Term>): void => {
    options.push({ weight, arbitrary: lazy(arbitrary) })
  }
  const unaryOps = ctx.smooth ? UNARY_OPS.filter((op) => op !== 'relu' && op !== 'step') : UNARY_OPS
  if (!ctx.linear && allowed(ctx, 'scalar'))
    add_(4, () => pick(unaryOps).chain((op) => unaryArb(op, s, ctx)))
  if (allowed(ctx, 'scalar')) add_(1, () => pick([2, -1, 0.5, -0.25, 3]).map((c) => scale(c, s)))
  const axisOps: AxisOpName[] = ctx.linear
    ? ['mean']
    : ctx.smooth
      ? ['softmax', 'layerNorm', 'mean']
      : ['softmax', 'layerNorm', 'max', 'mean']
  if (r >= 1 && allowed(ctx, 'axisOp'))
    add_(3, () =>
      fc
        .tuple(pick(axisOps), pick(axes))
        .map(([op, i]) => atAxes(axisOp(op, s[i] as Dim), s, i, 1)),
    )
  if (r >= 1 && allowed(ctx, 'index'))
    add_(1, () =>
      pick(axes).chain((i) =>
        fc
          .integer({ min: 0, max: indexLimit(s[i] as Dim, ctx) })
          .map((at) => atAxes(index(s[i] as Dim, at), s, i, 1)),
      ),
    )
  if (allowed(ctx, 'view')) options.push(...viewOptions(s, ctx))
  const pads = axes.flatMap((i) =>
    [
      [0, 1],
      [1, 0],
      [1, 1],
      [2, 1],
    ].flatMap(([before, after]) =>
      fits(ctx, replaced(s, i, 1, [dimPadded(s[i] as Dim, before as number, after as number)]))
        ? [{ i, before: before as number, after: after as number }]
        : [],
    ),
  )
  if (allowed(ctx, 'pad') && pads.length > 0)
    add_(1, () =>
      pick(pads).map(({ i, before, after }) => atAxes(pad(s[i] as Dim, before, after), s, i, 1)),
    )
  // A split of an axis that is a sum of pieces; a segment joined to itself (copy, concat).
  const splits = allowed(ctx, 'concat')
    ? axes.flatMap((i) => splitsOf(s[i] as Dim).map((pieces) => ({ i, pieces })))
    : []
  if (splits.length > 0)
    add_(1, () =>
      pick(splits).map(({ i, pieces }) =>
        split(
          i,
          pieces.map((p) => replaced(s, i, 1, [p])),
        ),
      ),
    )
  const doubles = axes.filter((i) =>
    fits(ctx, replaced(s, i, 1, [dimSum(s[i] as Dim, s[i] as Dim)])),
  )
  if (allowed(ctx, 'concat') && allowed(ctx, 'copy') && doubles.length > 0)
    add_(1, () => pick(doubles).map((i) => seq(copy([s]), concat(i, [s, s]))))
  // Kernel 1, stride 1 always fits when the rank does: the candidates are listed on demand.
  if (allowed(ctx, 'convTensor') && r >= 1 && r + 1 <= ctx.maxRank)
    add_(1, () => {
      const convs = axes.flatMap((i) =>
        [...KERNELS, ...ctx.dims].flatMap((kernel) =>
          [1, 2, 3].flatMap((stride) =>
            [1, 2].flatMap((dilation) => {
              const c = { i, kernel, stride, dilation }
              return convShapes(s, c, ctx).every((o) => fits(ctx, o)) ? [c] : []
            }),
          ),
        ),
      )
      return pick(convs).map((c) => convOn(s, c, ctx))
    })
  if (allowed(ctx, 'einsum')) {
    add_(3, () => einsumArb([s], ctx.dims, ctx))
    if (r >= 2) add_(1, () => transposeArb(s))
    const units = ctx.dims.filter((a) => fits(ctx, [a, a, ...s]))
    if (units.length > 0)
      add_(1, () =>
        fc
          .tuple(pick(units), fc.integer({ min: 0, max: 2 }))
          .map(([a, p]) =>
            r === 0 ? unit(a) : broadcast(unit(a), s, { inputs: [0], outputs: [p] }),
          ),
      )
    const cups = axes.filter((i) => i + 1 < r && dimKey(s[i] as Dim) === dimKey(s[i + 1] as Dim))
    if (cups.length > 0) add_(2, () => pick(cups).map((i) => atAxes(cup(s[i] as Dim), s, i, 2)))
  }
  const layers = axes.flatMap((i) =>
    [s[i] as Dim, ...ctx.dims].flatMap((out) =>
      fits(ctx, replaced(s, i, 1, [out])) ? [{ i, out }] : [],
    ),
  )
  if (allowed(ctx, 'box') && layers.length > 0)
    add_(1, () =>
      fc
        .tuple(pick(layers), ctx.linear ? fc.constant(false) : fc.boolean())
        .map(([{ i, out }, bias]) =>
          atAxes(linearLayer(`L${path}`, s[i] as Dim, out, { bias }), s, i, 1),
        ),
    )
  return options
}

/** The largest rank of a param or zero that fits the budget. */
const constantRank = (ctx: Ctx): number => {
  let r = 0
  while (r < 2 && Math.pow(ctx.maxSize, r + 1) <= ctx.maxCells && r + 1 <= ctx.maxRank) r++
  return r
}

/**
 * Generators on `dom` (paper Fig. 7, 16, 20: the generic F, G, H), named by their path: a
 * linear one (or the transpose of one), a multilinear form of two or more segments, and a
 * nonlinear one (not when linear). Codomains are small (constants' ranks), so their random
 * interpretations stay small.
 */
const generatorOptions = (dom: TupleType, ctx: Ctx, path: string): Option[] => {
  const n = dom.length
  const options: Option[] = []
  const add_ = (weight: number, arbitrary: () => fc.Arbitrary<Term>): void => {
    options.push({ weight, arbitrary: lazy(arbitrary) })
  }
  const cod = tupleTypeArb({
    dims: ctx.dims,
    minLength: 1,
    maxLength: 2,
    maxRank: constantRank(ctx),
  })
  const name = `F${path}`
  if (n >= 1)
    add_(1, () =>
      fc
        .tuple(cod, fc.boolean())
        .map(([c, transposed]) =>
          transposed
            ? generatorTranspose(generator(`${name}t`, c, dom, { linearity: 'linear' }))
            : generator(name, dom, c, { linearity: 'linear' }),
        ),
    )
  const space = dom.reduce((m, seg) => m * maxCells(seg, ctx.maxSize), 1)
  const forms = [[], ...ctx.dims.map((d) => [d])].filter(
    (c) => space * maxCells(c, ctx.maxSize) <= 4 * ctx.maxCells,
  )
  if (n >= 2 && !ctx.linear && forms.length > 0)
    add_(1, () => pick(forms).map((c) => generator(name, dom, [c], { linearity: 'multilinear' })))
  if (!ctx.linear && !ctx.inDerivative) add_(1, () => cod.map((c) => generator(name, dom, c)))
  return options
}

/** The maps on the whole tuple `dom`. */
const tupleOptions = (dom: TupleType, ctx: Ctx, path: string): Option[] => {
  const n = dom.length
  const options: Option[] = []
  const add_ = (weight: number, arbitrary: () => fc.Arbitrary<Term>): void => {
    options.push({ weight, arbitrary: lazy(arbitrary) })
  }
  if (n === 0) {
    const shape = shapeArb({ dims: ctx.dims, maxRank: constantRank(ctx) })
    if (!ctx.linear && allowed(ctx, 'param')) add_(3, () => shape.map((s) => param(`W${path}`, s)))
    if (allowed(ctx, 'zero'))
      add_(1, () =>
        tupleTypeArb({
          dims: ctx.dims,
          minLength: 1,
          maxLength: 2,
          maxRank: constantRank(ctx),
        }).map((t) => zero(t)),
      )
  }
  if (ctx.generators && allowed(ctx, 'generator') && n <= 2)
    options.push(...generatorOptions(dom, ctx, path))
  if (n === 1) options.push(...segmentOptions(dom[0] as Shape, ctx, path))
  if (n >= 2 && allowed(ctx, 'swap'))
    add_(1, () => pick(range(n - 1)).map((k) => swap(dom.slice(0, k + 1), dom.slice(k + 1))))
  if (n >= 1 && 2 * n <= ctx.maxSegments && allowed(ctx, 'copy'))
    add_(1, () => fc.constant(copy(dom)))
  if (n >= 1 && allowed(ctx, 'drop')) add_(1, () => fc.constant(drop(dom)))
  const space = dom.reduce((m, s) => m * maxCells(s, ctx.maxSize), 1)
  if (n >= 2 && n <= 3 && !ctx.linear && allowed(ctx, 'einsum') && space <= 4 * ctx.maxCells)
    add_(3, () => einsumArb(dom, ctx.dims, ctx))
  // Concatenations of the segments along an axis where they agree off it.
  const first = dom[0]
  const joins =
    n >= 2 && n <= 3 && first !== undefined && allowed(ctx, 'concat')
      ? range(first.length).filter(
          (i) =>
            dom.every(
              (seg) =>
                seg.length === first.length &&
                seg.every((d, j) => j === i || dimKey(d) === dimKey(first[j] as Dim)),
            ) && fits(ctx, replaced(first, i, 1, [dimSum(...dom.map((seg) => seg[i] as Dim))])),
        )
      : []
  if (joins.length > 0) add_(2, () => pick(joins).map((i) => concat(i, dom)))
  if (n === 2 && shapeEquals(dom[0] as Shape, dom[1] as Shape) && allowed(ctx, 'scalar')) {
    const s = dom[0] as Shape
    add_(2, () =>
      pick(ctx.linear ? ['add'] : ['add', 'mul']).map((op) => (op === 'add' ? add(s) : mul(s))),
    )
  }
  return options
}

/** The placements of a block of axes in a segment: every position where it occurs. */
const occurrences = (s: Shape, block: Shape): number[] =>
  range(Math.max(0, s.length - block.length + 1)).filter((q) =>
    block.every((d, k) => dimKey(d) === dimKey(s[q + k] as Dim)),
  )

/** A block of axes of one segment to broadcast over, and where it may go in every segment. */
interface BroadcastChoice {
  readonly ax: Shape
  readonly places: ReadonlyArray<ReadonlyArray<Placement>>
}

/**
 * The blocks (one or two adjacent axes of a segment) a broadcast may pass over `dom`: the other
 * segments take the block where it occurs, or are shared when the block still fits beside them.
 */
const broadcastChoices = (dom: TupleType, ctx: Ctx): BroadcastChoice[] =>
  dom.flatMap((s, i0) =>
    [1, 2]
      .filter((w) => w <= s.length)
      .flatMap((w) =>
        range(s.length - w + 1).flatMap((p) => {
          const ax = s.slice(p, p + w)
          const cells = maxCells(ax, ctx.maxSize)
          const shareable = (seg: Shape): boolean =>
            seg.length + w <= ctx.maxRank && maxCells(seg, ctx.maxSize) * cells <= ctx.maxCells
          const places = dom.map((seg, j): Placement[] =>
            j === i0
              ? [p]
              : [...occurrences(seg, ax), ...(shareable(seg) ? ['shared' as const] : [])],
          )
          return places.every((ps) => ps.length > 0) ? [{ ax, places }] : []
        }),
      ),
  )

/** Broadcast a body drawn for `dom` minus a block of axes over that block. */
const broadcastArb = (
  choices: ReadonlyArray<BroadcastChoice>,
  dom: TupleType,
  depth: number,
  ctx: Ctx,
  path: string,
): fc.Arbitrary<Term> =>
  pick(choices).chain(({ ax, places }) => {
    const w = ax.length
    const body: Ctx = {
      ...ctx,
      maxRank: Math.max(0, ctx.maxRank - w),
      maxCells: Math.max(1, Math.floor(ctx.maxCells / maxCells(ax, ctx.maxSize))),
    }
    return fc.tuple(...places.map((ps) => pick(ps))).chain((inputs) => {
      const bodyDom = dom.map((seg, j) => {
        const q = inputs[j]
        return q === 'shared' || q === undefined ? seg : replaced(seg, q, w, [])
      })
      return gen(bodyDom, depth - 1, body, `${path}0`).chain((f) =>
        fc
          .tuple(...f.cod.map((c) => fc.integer({ min: 0, max: c.length })))
          .map((outputs) => broadcast(f, ax, { inputs, outputs })),
      )
    })
  })

/** The composites: their parts are drawn one level shallower. */
const compositeOptions = (dom: TupleType, depth: number, ctx: Ctx, path: string): Option[] => {
  const n = dom.length
  const options: Option[] = []
  const add_ = (weight: number, arbitrary: () => fc.Arbitrary<Term>): void => {
    options.push({ weight, arbitrary: lazy(arbitrary) })
  }
  const sub = (t: TupleType, k: string) => gen(t, depth - 1, ctx, `${path}${k}`)
  if (allowed(ctx, 'seq'))
    add_(6, () => sub(dom, '0').chain((f) => sub(f.cod, '1').map((g) => seq(f, g))))
  if (allowed(ctx, 'par')) {
    const splits = n === 0 ? [0] : [...range(n + 1).slice(1, n), 0, n]
    add_(n >= 2 ? 4 : 1, () =>
      pick(splits).chain((k) =>
        fc.tuple(sub(dom.slice(0, k), '0'), sub(dom.slice(k), '1')).map(([f, g]) => par(f, g)),
      ),
    )
  }
  const choices = allowed(ctx, 'broadcast') ? broadcastChoices(dom, ctx) : []
  if (choices.length > 0) add_(4, () => broadcastArb(choices, dom, depth, ctx, path))
  if (allowed(ctx, 'box')) add_(1, () => sub(dom, '0').map((f) => box(`B${path}`, f)))
  // D(f) on points × tangents (paper Fig. 32), when the domain is two equal halves.
  const half = dom.slice(0, n / 2)
  if (n >= 2 && n % 2 === 0 && typeEquals(half, dom.slice(n / 2)) && allowed(ctx, 'derivative'))
    add_(2, () =>
      gen(half, depth - 1, { ...ctx, inDerivative: true }, `${path}0`).map((f) =>
        // The doubled codomain must fit; f ⊗ f has the same type otherwise.
        2 * f.cod.length <= ctx.maxSegments ? derivative(f) : par(f, f),
      ),
    )
  if (n === 1 && ['scalar', 'seq', 'par', 'copy'].every((k) => allowed(ctx, k as TermKind))) {
    const seg = dom[0] as Shape
    const to = (k: string) => genTo(dom, dom, depth - 1, ctx, `${path}${k}`)
    add_(2, () =>
      fc
        .tuple(to('0'), to('1'), pick(ctx.linear ? ['add'] : ['add', 'mul']))
        .map(([f, g, op]) => seq(copy(dom), par(f, g), op === 'add' ? add(seg) : mul(seg))),
    )
  }
  return options
}

/** A term of domain `dom` with any codomain. */
const gen = (dom: TupleType, depth: number, ctx: Ctx, path: string): fc.Arbitrary<Term> => {
  const options: Option[] = []
  if (allowed(ctx, 'id')) options.push({ weight: 1, arbitrary: fc.constant(id(dom)) })
  options.push(...tupleOptions(dom, ctx, path))
  if (depth > 0) options.push(...compositeOptions(dom, depth, ctx, path))
  if (options.length === 0) return fc.constant(id(dom))
  if (options.length === 1) return (options[0] as Option).arbitrary
  return fc.oneof({ withCrossShrink: true }, ...options)
}

/** A term `dom -> cod`: a random term followed by the adapter from its codomain. */
const genTo = (
  dom: TupleType,
  cod: TupleType,
  depth: number,
  ctx: Ctx,
  path: string,
): fc.Arbitrary<Term> =>
  gen(dom, depth, ctx, path).map((f) => (typeEquals(f.cod, cod) ? f : seq(f, adapt(f.cod, cod))))

/**
 * Well-typed random terms of domain `dom` (and of codomain `options.cod` when given), of bounded
 * depth, shrinking towards smaller terms. See the module documentation for what is drawn and
 * for the sizes the terms are valid for.
 *
 * @example
 * ```ts
 * import fc from 'fast-check'
 * import { toType, typeEquals } from 'neural-circuit-diagrams'
 * import { termArb } from 'neural-circuit-diagrams/testing'
 * const dom = toType(['a b'])
 * const cod = toType(['b'])
 * const ts = fc.sample(termArb(dom, { cod, linear: true }), { numRuns: 20, seed: 1 })
 * ts.every((t) => typeEquals(t.dom, dom) && typeEquals(t.cod, cod) && t.linearity === 'linear') // true
 * ```
 */
export const termArb = (dom: TypeLike, options: TermArbOptions = {}): fc.Arbitrary<Term> => {
  const ctx = resolve(options)
  const d = toType(dom)
  const depth = options.depth ?? 3
  const cod = options.cod === undefined ? undefined : toType(options.cod)
  const inner =
    cod === undefined
      ? lazy(() => gen(d, depth, ctx, ''))
      : lazy(() => genTo(d, cod, depth, ctx, ''))
  return new TermArbitrary(inner, { keepCod: cod !== undefined, numericSafe: ctx.numericSafe })
}
