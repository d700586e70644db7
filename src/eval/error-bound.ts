/**
 * Forward rounding-error bounds of the float64 evaluator (README, "Number semantics"): the laws
 * are true of real numbers, and the evaluator rounds. `evaluateWithErrorBounds` gives, beside
 * each output entry, a bound of how far the evaluator's value can be from the exact real value
 * of the term at the same inputs, so that `equivalent` reports a counterexample only where the
 * two sides differ by more than both bounds together (a difference within them may be rounding:
 * `(1e16 x + x) - 1e16 x` is x over the reals and 2 away from it at x = 1.5).
 *
 * How (forward error analysis along the data flow, midpoint-radius): every value is a tensor of
 * midpoints `m` with a radius `r` per entry, and the claim kept at every wire is that both the
 * exact real value and the evaluator's float64 value lie within `r` of `m`. The inputs and
 * parameters are exact (`r = 0`). Structure (id, seq, par, swap, copy, drop, box, views) passes
 * values on; a dropped branch reaches no output and so bounds nothing. At each primitive, the
 * midpoint is the evaluator's own result on the midpoints (the public {@link evaluate} on that
 * node), and the radius is the primitive's spread over the input ball plus twice its own
 * rounding over the ball (once for the midpoint, once for the evaluator's value):
 *
 * - structural linear maps with 0/1 coefficients (einsum, index and its one-hot, pad and crop,
 *   the convolution tensor and its transpose, concat and split, mean): with `A` the map itself,
 *   `r' = A(r) + 2 γ_D A(|m| + r)` for one input, and for a multilinear map of q inputs
 *   (einsum, mul) the telescoped `Σ_i A(|m_1| + r_1, …, r_i, |m_{i+1}|, …) + 2 γ_D A(|m| + r)`,
 *   `γ_D = D u / (1 - D u)`, `u = 2^-53`, D the longest chain of roundings to one output entry
 *   in any summation order (q products plus the number of summed terms), evaluated with the
 *   evaluator on non-negative data, then inflated for its own rounding;
 * - add, mul, scale, offset: the textbook bounds (`|a| r_b + r_a |b| + r_a r_b + 2u |a b|`, …);
 *   a scale by a power of a size (`k^-0.5`) also carries the rounding of its factor;
 * - monotone unary maps (exp, log, tanh, sigmoid, sqrt, reciprocal, normcdf): the exact image of
 *   the ball `[m - r, m + r]` is enclosed by the evaluator at its ends, each end widened by that
 *   map's rounding (16u relative for the transcendental ones, 2u for sqrt and 1/x, and an
 *   absolute 2^-48 for erf and erfc, 20 times the largest error measured against mpmath on
 *   [-7, 7]);
 *   log on a ball reaching 0, and 1/x on a ball containing 0, are unbounded; sqrt's ball is
 *   clamped at 0, its domain; gelu is 1.13-Lipschitz (its slope is below 1.129); relu and max
 *   are 1-Lipschitz and exact; step and argmax are exact where the ball does not reach a
 *   jump (0 for step, a near tie for argmax), and off by at most 1 where it does;
 * - softmax: slope `2 y_j (1 - y_j) ≤ 1/2` in the sup norm, and its rounding relative to `y_j`;
 *   layerNorm: slope `(2 + √n)/σ` with σ bounded below over the ball, and its rounding through
 *   the mean, the variance, the square root and the division;
 * - generators: their seeded random interpretations are bounded from their construction
 *   (`src/eval/generators.ts`: entries of the random matrices and tensors at most `1/√fan-in`,
 *   biases at most 1/2, tanh 1-Lipschitz), every form (map, transpose, tangent, cotangent). A
 *   generator with a supplied implementation (`EvalOptions.generators`) cannot be bounded: its
 *   outputs get an infinite bound (nothing is concluded from them).
 *
 * Broadcasts run as the evaluator runs them (paper Fig. 13, 14): their axes join the leading
 * rows of every value (a shared input repeated along them), and each primitive is evaluated once
 * over all rows, the evaluations its bound needs (the map on the radii and magnitudes, or on the
 * ends of the balls) stacked into the same call.
 *
 * Underflow adds an absolute `2^-1060` at every step. A NaN or an infinity on the way gives an
 * infinite bound to what it reaches: such trials are outside the reals anyway (README). The bound holds for any order
 * of summation, so it does not depend on how the kernels schedule a contraction.
 *
 * @packageDocumentation
 */
import { broadcast } from '../core/construct.js'
import { constDim, dimSize, type Sizes } from '../core/dim.js'
import { fail } from '../core/errors.js'
import { type Generator, type Term, splitByLengths } from '../core/term.js'
import { type Shape, shapeSize } from '../core/types.js'
import { jvp } from '../derive/jvp.js'
import { type EvalOptions, type TensorData, evaluate } from './evaluate.js'

/** The unit roundoff of float64. */
const U = 2 ** -53

/** An absolute allowance per step for underflow (gradual underflow loses at most 2^-1075). */
const TINY = 2 ** -1060

/**
 * The absolute error of the evaluator's erf and erfc (src/eval/kernels.ts, fdlibm's s_erf.c):
 * `2^-48` (3.6e-15), 20 times the largest measured against mpmath on 20,000 points of [-7, 7],
 * erfc's 1.56u (1.7e-16, at -0.508; erf's is 0.66u); test/erf.test.ts checks 2^-51 at every
 * interval end. normcdf is `erfc(-v/√2)/2` (measured within 0.97u on [-38, 8]), gelu `v` times
 * that (1.38u |v|).
 */
const ERF_ERROR = 2 ** -48

/**
 * The relative error of the evaluator's `Φ(v) = erfc(-v/√2)/2` at `|v| ≤ a`, twice the
 * `(2κ + 8) u` that test/erf.test.ts checks on [-38, 8] against mpmath (κ = |v φ(v) / Φ(v)| ≤
 * 1 + v², the Mills ratio bound; measured at most 1180u at v = -29.17): the absolute `ERF_ERROR`
 * alone is 2^-49 however small Φ is, so `1e100 Φ(x - 20)` and `2e100 Φ(x - 20)` were within it
 * (adversary5). A subnormal Φ carries an absolute `2^-1073` more, which gelu multiplies by |v|.
 */
const phiRelative = (a: number): number => 2 * (2 * (1 + a * a) + 8) * U

/** The largest slope of gelu, `Φ(v) + v φ(v)` (about 1.1289 at v = √2). */
const GELU_SLOPE = 1.13

/** `γ_n = n u / (1 - n u)`: the relative error of n roundings. */
const gamma = (n: number): number => {
  const nu = n * U
  return nu < 0.5 ? nu / (1 - nu) : Infinity
}

/** Round a non-negative bound up past the rounding of the few operations that computed it. */
const up = (x: number): number => x * (1 + 2 ** -46) + TINY

/** A bound computed by an evaluation of depth D on non-negative data, made an upper bound. */
const inflate = (x: number, depth: number): number => up(x * (1 + 2 * gamma(depth + 4)))

/** A lower end of `m - r` and an upper end of `m + r` (the subtraction rounds). */
const lower = (m: number, r: number): number => m - r - (Math.abs(m) + r) * 2 ** -52 - TINY
const upper = (m: number, r: number): number => m + r + (Math.abs(m) + r) * 2 ** -52 + TINY

/** Midpoints and radii of one tensor: the exact and the evaluator's values lie within r of m. */
interface Ball {
  readonly m: Float64Array
  readonly r: Float64Array
}

/** A ball as a primitive's input: `shared` when it is one tensor for every broadcast row. */
interface Input extends Ball {
  readonly shared: boolean
}

interface Ctx {
  readonly sizes: Sizes
  readonly params: Readonly<Record<string, TensorData>>
  readonly options: EvalOptions
  readonly jvps: Map<Term, Term>
}

const abs = (x: Float64Array): Float64Array => x.map(Math.abs)

const absPlus = (b: Ball): Float64Array => b.m.map((v, i) => Math.abs(v) + (b.r[i] as number))

const isZero = (x: Float64Array): boolean => x.every((v) => v === 0)

/** The evaluator on one node (a primitive, or a broadcast of one). */
const evalNode = (ctx: Ctx, node: Term, xs: ReadonlyArray<Float64Array>): Float64Array[] =>
  evaluate(node, ctx.sizes, xs, ctx.params, ctx.options)

const split = splitByLengths

const product = (xs: ReadonlyArray<number>): number => xs.reduce((n, x) => n * x, 1)

/**
 * A term on balls that carry `rows` leading rows: the indexes of the enclosing broadcasts, every
 * value materialised along all of them (a shared input is repeated), so that a primitive runs
 * once, as itself broadcast over the rows ({@link batched}).
 */
const run = (t: Term, ctx: Ctx, ins: ReadonlyArray<Ball>, rows: number): Ball[] => {
  switch (t.kind) {
    case 'id':
      return [...ins]
    case 'seq':
      return t.parts.reduce<Ball[]>((vs, p) => run(p, ctx, vs, rows), [...ins])
    case 'par': {
      const groups = split(
        ins,
        t.parts.map((p) => p.dom.length),
      )
      return t.parts.flatMap((p, i) => run(p, ctx, groups[i] as Ball[], rows))
    }
    case 'swap':
      return [...ins.slice(t.left.length), ...ins.slice(0, t.left.length)]
    case 'copy':
      return [...ins, ...ins]
    case 'drop':
      return []
    case 'box':
      return run(t.body, ctx, ins, rows)
    case 'derivative': {
      let d = ctx.jvps.get(t)
      if (d === undefined) {
        d = jvp(t.body)
        ctx.jvps.set(t, d)
      }
      return run(d, ctx, ins, rows)
    }
    case 'view':
      return [ins[0] as Ball]
    case 'broadcast':
      return runBroadcast(t, ctx, ins, rows)
    case 'zero':
    case 'param':
    case 'scalar':
    case 'axisOp':
    case 'index':
    case 'pad':
    case 'convTensor':
    case 'concat':
    case 'einsum':
    case 'generator':
      return primitive(
        t,
        rows,
        ctx,
        ins.map((b) => ({ ...b, shared: false })),
      )
  }
}

const batches = new WeakMap<Term, Map<number, Term>>()

/** A primitive broadcast over `rows` leading rows (itself for one row), made once. */
const batched = (p: Term, rows: number): Term => {
  if (rows === 1) return p
  let byRows = batches.get(p)
  if (byRows === undefined) {
    byRows = new Map()
    batches.set(p, byRows)
  }
  let b = byRows.get(rows)
  if (b === undefined) {
    b = broadcast(p, [constDim(rows)])
    byRows.set(rows, b)
  }
  return b
}

/** `[n0, n1, n2, n3]` to `[n0, n2, n1, n3]`. */
const swapMiddle = (
  x: Float64Array,
  n0: number,
  n1: number,
  n2: number,
  n3: number,
): Float64Array => {
  if (n1 === 1 || n2 === 1) return x
  const out = new Float64Array(x.length)
  for (let a = 0; a < n0; a++)
    for (let i = 0; i < n1; i++)
      for (let j = 0; j < n2; j++) {
        const from = ((a * n1 + i) * n2 + j) * n3
        const to = ((a * n2 + j) * n1 + i) * n3
        for (let c = 0; c < n3; c++) out[to + c] = x[from + c] as number
      }
  return out
}

/** `[n0, n1]` to `[n0, p, n1]`, each row repeated p times. */
const repeat = (x: Float64Array, n0: number, p: number, n1: number): Float64Array => {
  const out = new Float64Array(n0 * p * n1)
  for (let a = 0; a < n0; a++)
    for (let i = 0; i < p; i++) out.set(x.subarray(a * n1, (a + 1) * n1), (a * p + i) * n1)
  return out
}

/**
 * A broadcast (paper Fig. 13, 14): its axes join the leading rows (a broadcast input's axes moved
 * in front of its body shape, a shared input repeated along them), the body runs once on all
 * rows, and the axes go back to their places in the outputs.
 */
const runBroadcast = (
  t: Extract<Term, { kind: 'broadcast' }>,
  ctx: Ctx,
  ins: ReadonlyArray<Ball>,
  rows: number,
): Ball[] => {
  const p = product(t.axes.map((d) => dimSize(d, ctx.sizes)))
  const body = t.body
  const layout = (s: Shape, at: number) => {
    const e = s.map((d) => dimSize(d, ctx.sizes))
    return { m: product(e.slice(0, at)), q: product(e.slice(at)) }
  }
  const enter = ins.map((b, s): Ball => {
    const at = t.inputs[s] as number | 'shared'
    if (at === 'shared') {
      const n = shapeSize(body.dom[s] as Shape, ctx.sizes)
      return { m: repeat(b.m, rows, p, n), r: repeat(b.r, rows, p, n) }
    }
    const { m, q } = layout(body.dom[s] as Shape, at)
    return { m: swapMiddle(b.m, rows, m, p, q), r: swapMiddle(b.r, rows, m, p, q) }
  })
  return run(body, ctx, enter, rows * p).map((y, j) => {
    const { m, q } = layout(body.cod[j] as Shape, t.outputs[j] as number)
    return { m: swapMiddle(y.m, rows, p, m, q), r: swapMiddle(y.r, rows, p, m, q) }
  })
}

/**
 * The evaluator on `p` for several argument tuples at once: each tuple is `rows` rows, and all
 * of them go through one evaluation of `p` broadcast over their rows stacked (rows are
 * independent), since on small tensors an evaluation costs mostly its checks.
 */
const evalStacked = (
  ctx: Ctx,
  p: Term,
  rows: number,
  sets: ReadonlyArray<ReadonlyArray<Float64Array>>,
): Float64Array[][] => {
  const k = sets.length
  if (k === 1) return [evalNode(ctx, batched(p, rows), sets[0] as Float64Array[])]
  const args = p.dom.map((_, s) => {
    const n = (sets[0]?.[s] as Float64Array).length
    const x = new Float64Array(n * k)
    sets.forEach((set, i) => x.set(set[s] as Float64Array, i * n))
    return x
  })
  const ys = evalNode(ctx, batched(p, rows * k), args)
  return sets.map((_, i) =>
    ys.map((y) => {
      const n = y.length / k
      return y.slice(i * n, (i + 1) * n)
    }),
  )
}

/** How a primitive is bounded: through the map itself (linear, multilinear), or entry-wise. */
type Plan =
  | { readonly kind: 'linear'; readonly depth: number }
  | { readonly kind: 'multilinear'; readonly depth: number }
  | { readonly kind: 'ends' }
  | { readonly kind: 'own' }

const MONOTONE = new Set(['exp', 'log', 'tanh', 'sigmoid', 'sqrt', 'reciprocal', 'normcdf'])

const planOf = (p: Term, ctx: Ctx, ins: ReadonlyArray<Input>): Plan => {
  if (p.kind === 'index' || p.kind === 'pad' || p.kind === 'concat')
    return { kind: 'linear', depth: 0 }
  if (p.kind === 'convTensor')
    // Each entry of the transposed convolution sums at most y·k inputs.
    return {
      kind: 'linear',
      depth: p.adjoint === true ? shapeSize(p.dom[0] as Shape, ctx.sizes) : 0,
    }
  if (p.kind === 'einsum' && p.inputs.length > 0) {
    const inOut = new Set(p.output)
    const summed = new Set(p.inputs.flat().filter((l) => !inOut.has(l)))
    const n = product([...summed].map((l) => dimSize(p.dims[l] as never, ctx.sizes)))
    const depth = p.inputs.length + n
    return { kind: p.inputs.length === 1 ? 'linear' : 'multilinear', depth }
  }
  if (p.kind === 'scalar' && MONOTONE.has(p.op) && !isZero((ins[0] as Input).r))
    return { kind: 'ends' }
  return { kind: 'own' }
}

/** The ends of the balls of a monotone map's argument (sqrt's clamped at 0, its domain). */
const endsOf = (op: string, a: Ball, f: (m: number, r: number) => number): Float64Array =>
  a.m.map((m, i) => {
    const v = f(m, a.r[i] as number)
    return op === 'sqrt' ? Math.max(v, 0) : v
  })

/**
 * A primitive `p` on `rows` rows: its midpoints, and, in the same evaluation, what its bound
 * needs of the map itself (the radii and magnitudes through a linear or multilinear map, the
 * images of the ends of the balls through a monotone one).
 */
const primitive = (p: Term, rows: number, ctx: Ctx, ins: ReadonlyArray<Input>): Ball[] => {
  const plan = planOf(p, ctx, ins)
  const sets: Float64Array[][] = [ins.map((b) => b.m)]
  const hi = plan.kind === 'linear' || plan.kind === 'multilinear' ? ins.map(absPlus) : []
  const parts: number[] = []
  if (plan.kind === 'linear')
    sets.push(
      ins.map((b) => b.r),
      ...(plan.depth > 0 ? [hi] : []),
    )
  if (plan.kind === 'multilinear') {
    sets.push(hi)
    const lo = ins.map((b) => abs(b.m))
    ins.forEach((b, i) => {
      if (isZero(b.r)) return
      parts.push(sets.length)
      sets.push([...hi.slice(0, i), b.r, ...lo.slice(i + 1)])
    })
  }
  if (plan.kind === 'ends') {
    const op = (p as Extract<Term, { kind: 'scalar' }>).op
    const a = ins[0] as Input
    sets.push([endsOf(op, a, lower)], [endsOf(op, a, upper)])
  }
  const ys = evalStacked(ctx, p, rows, sets)
  const mids = ys[0] as Float64Array[]
  let radii: Float64Array[]
  if (plan.kind === 'linear') radii = linearBounds(ys[1] as Float64Array[], ys[2], plan.depth)
  else if (plan.kind === 'multilinear')
    radii = multilinearBounds(
      ys[1] as Float64Array[],
      parts.map((i) => ys[i] as Float64Array[]),
      plan.depth + ins.length,
      plan.depth,
      underflowOf(hi, rows, plan.depth + ins.length),
    )
  else radii = bounds(p, rows, ctx, ins, mids, plan.kind === 'ends' ? [ys[1], ys[2]] : undefined)
  // Outside the reals (a NaN or ±∞ midpoint, a NaN radius) nothing is said: the bound is ∞.
  return mids.map((m, j) => {
    const r = radii[j] as Float64Array
    for (let e = 0; e < r.length; e++)
      if (!Number.isFinite(m[e] as number) || Number.isNaN(r[e] as number)) r[e] = Infinity
    return { m, r }
  })
}

/** Row `b` of an input laid out as `rows` rows (a shared input is one row for all). */
const row = (x: Float64Array, shared: boolean, rows: number, b: number): Float64Array => {
  if (shared) return x
  const n = x.length / rows
  return x.subarray(b * n, (b + 1) * n)
}

/** The bounds of the primitives bounded entry-wise (and of the constants). */
const bounds = (
  p: Term,
  rows: number,
  ctx: Ctx,
  ins: ReadonlyArray<Input>,
  mids: ReadonlyArray<Float64Array>,
  ends: readonly [Float64Array[] | undefined, Float64Array[] | undefined] | undefined,
): Float64Array[] => {
  switch (p.kind) {
    case 'zero':
    case 'param':
    case 'einsum': // with no input: a constant
      return mids.map((m) => new Float64Array(m.length))
    case 'scalar':
      return [
        scalarBounds(
          p,
          ctx,
          ins,
          mids[0] as Float64Array,
          ends?.[0]?.[0] as Float64Array,
          ends?.[1]?.[0] as Float64Array,
        ),
      ]
    case 'axisOp':
      return [axisBounds(p, ctx, rows, ins[0] as Input, mids[0] as Float64Array)]
    case 'generator':
      return generatorBounds(p, ctx, rows, ins, mids)
    case 'index':
    case 'pad':
    case 'concat':
    case 'convTensor':
    case 'id':
    case 'seq':
    case 'par':
    case 'swap':
    case 'copy':
    case 'drop':
    case 'box':
    case 'derivative':
    case 'view':
    case 'broadcast':
      return fail('internal', `error bounds: '${p.kind}' is not bounded entry-wise`, {
        expected: 'a primitive bounded entry-wise',
        got: p.kind,
      })
  }
}

/**
 * A jointly linear map with 0/1 coefficients, `depth` roundings per output entry: `spread` is
 * the map of the radii, `size` of |m| + r.
 */
const linearBounds = (
  spread: Float64Array[],
  size: Float64Array[] | undefined,
  depth: number,
): Float64Array[] => {
  if (depth === 0 || size === undefined) return spread
  const g = 2 * gamma(depth)
  return spread.map((s, j) =>
    s.map((v, e) => inflate(v + g * ((size[j] as Float64Array)[e] as number), depth)),
  )
}

/**
 * A multilinear map of 0/1 coefficients (einsum, mul): the telescoped product rule, `size` the
 * map of |m| + r and `parts` its terms.
 */
const multilinearBounds = (
  size: Float64Array[],
  parts: ReadonlyArray<Float64Array[]>,
  depth: number,
  roundings: number,
  underflow: Float64Array,
): Float64Array[] => {
  const total = size.map((s) => {
    const per = s.length / underflow.length
    return s.map((v, e) => 2 * gamma(roundings) * v + (underflow[Math.floor(e / per)] as number))
  })
  for (const part of parts)
    part.forEach((s, j) => {
      const t = total[j] as Float64Array
      for (let e = 0; e < s.length; e++) t[e] = (t[e] as number) + (s[e] as number)
    })
  return total.map((t) => t.map((v) => inflate(v, depth)))
}

/**
 * Per row, the absolute error that underflow can add to a product of several inputs, which the
 * relative `γ_D` rule misses: an intermediate product that underflows (`x y = 1e-324 -> 0`, off by
 * up to 2^-1075) is multiplied afterwards by the other factors (`M w = 1e306`), and the float64
 * evaluations of `A(|m| + r)` underflow the same way. An intermediate entry of any pairwise
 * order carries at most `D` such errors, and what multiplies it afterwards sums to at most the
 * product of the other inputs' 1-norms, so per output entry `2 q D 2^-1074 Π max(1, ‖|m_i| + r_i‖₁)`
 * (twice: once for the evaluator, once for the bound's own evaluation), over the row.
 */
const underflowOf = (
  hi: ReadonlyArray<Float64Array>,
  rows: number,
  depth: number,
): Float64Array => {
  const out = new Float64Array(rows)
  for (let b = 0; b < rows; b++) {
    // The product first (at least 1, so it does not underflow), then the tiny factor.
    let p = 1
    for (const x of hi) {
      const n = x.length / rows
      let s = 0
      for (let i = b * n; i < (b + 1) * n; i++) s += x[i] as number
      p *= Math.max(1, s * (1 + gamma(n + 1)))
    }
    out[b] = p * (1 + gamma(hi.length + 2)) * (2 * hi.length * (depth + 1) * 2 ** -1074)
  }
  return out
}

/** The rounding of a unary map's result y at an argument of magnitude a. */
const unaryRounding = (op: string, y: number, a: number): number => {
  const ay = Math.abs(y)
  switch (op) {
    case 'sqrt':
    case 'reciprocal':
      return 2 * U * ay
    case 'normcdf':
      return Math.min(0.5 * ERF_ERROR + 4 * U, phiRelative(a) * ay + (a + 1) * 2 ** -1071)
    case 'gelu':
      return Math.min(
        0.5 * a * ERF_ERROR + 16 * U * ay + 2 * U * a,
        (phiRelative(a) + 2 * U) * ay + (a + 1) * 2 ** -1071,
      )
    default:
      // exp, log, tanh, sigmoid: fdlibm's are within 1-2 ulps; 16 leaves room for others.
      return 16 * U * ay
  }
}

const scalarBounds = (
  p: Extract<Term, { kind: 'scalar' }>,
  ctx: Ctx,
  ins: ReadonlyArray<Input>,
  out: Float64Array,
  lo: Float64Array | undefined,
  hi: Float64Array | undefined,
): Float64Array => {
  const a = ins[0] as Input
  const ia = (j: number) => (a.shared ? 0 : j)
  const r = new Float64Array(out.length)
  switch (p.op) {
    case 'add':
    case 'mul': {
      const b = ins[1] as Input
      const ib = (j: number) => (b.shared ? 0 : j)
      for (let j = 0; j < out.length; j++) {
        const ma = Math.abs(a.m[ia(j)] as number)
        const ra = a.r[ia(j)] as number
        const mb = Math.abs(b.m[ib(j)] as number)
        const rb = b.r[ib(j)] as number
        r[j] =
          p.op === 'add'
            ? up(ra + rb + 2 * U * (ma + ra + mb + rb))
            : up(ma * rb + ra * mb + ra * rb + 2 * U * (ma + ra) * (mb + rb))
      }
      return r
    }
    case 'scale': {
      const c =
        p.bySize === undefined
          ? p.factor
          : p.factor * dimSize(p.bySize.dim, ctx.sizes) ** p.bySize.power
      const ac = Math.abs(c)
      // The factor k^power is itself rounded (pow within a few ulps, then the product).
      const dc = p.bySize === undefined ? 0 : 8 * U * ac
      for (let j = 0; j < out.length; j++) {
        const m = Math.abs(a.m[ia(j)] as number)
        const rr = a.r[ia(j)] as number
        r[j] = up((ac + dc) * rr + dc * m + 2 * U * ac * (m + rr))
      }
      return r
    }
    case 'offset': {
      const c = Math.abs(p.factor)
      for (let j = 0; j < out.length; j++) {
        const m = Math.abs(a.m[ia(j)] as number)
        const rr = a.r[ia(j)] as number
        r[j] = up(rr + 2 * U * (m + rr + c))
      }
      return r
    }
    case 'relu':
      for (let j = 0; j < out.length; j++) r[j] = a.r[ia(j)] as number
      return r
    case 'step':
      for (let j = 0; j < out.length; j++) {
        const m = a.m[ia(j)] as number
        const rr = a.r[ia(j)] as number
        r[j] = rr === 0 || lower(m, rr) > 0 || upper(m, rr) <= 0 ? 0 : 1
      }
      return r
    case 'gelu':
      for (let j = 0; j < out.length; j++) {
        const m = Math.abs(a.m[ia(j)] as number)
        const rr = a.r[ia(j)] as number
        const y = Math.abs(out[j] as number)
        r[j] = up(GELU_SLOPE * rr + 2 * unaryRounding('gelu', y + GELU_SLOPE * rr, m + rr))
      }
      return r
    case 'exp':
    case 'log':
    case 'tanh':
    case 'sigmoid':
    case 'sqrt':
    case 'reciprocal':
    case 'normcdf': {
      // Monotone on their domain: the image of the ball lies between the images of its ends.
      const op = p.op
      for (let j = 0; j < out.length; j++) {
        const m = a.m[ia(j)] as number
        const rr = a.r[ia(j)] as number
        const y = out[j] as number
        if (rr === 0) {
          // Exact argument: the evaluator's value is this one, within its rounding.
          r[j] = up(2 * unaryRounding(op, y, Math.abs(m)))
          continue
        }
        const l = lower(m, rr)
        const h = upper(m, rr)
        if ((op === 'log' && l <= 0) || (op === 'reciprocal' && l <= 0 && h >= 0)) {
          r[j] = Infinity
          continue
        }
        const fl = (lo as Float64Array)[j] as number
        const fh = (hi as Float64Array)[j] as number
        const big = Math.max(Math.abs(fl), Math.abs(fh))
        const edge = Math.max(
          Math.abs(y - fl) + unaryRounding(op, fl, Math.abs(l)),
          Math.abs(fh - y) + unaryRounding(op, fh, Math.abs(h)),
        )
        r[j] = up(edge + unaryRounding(op, big, Math.max(Math.abs(l), Math.abs(h))) * (1 + 1e-6))
      }
      return r
    }
  }
}

const axisBounds = (
  p: Extract<Term, { kind: 'axisOp' }>,
  ctx: Ctx,
  rows: number,
  a: Input,
  out: Float64Array,
): Float64Array => {
  const n = dimSize(p.axis, ctx.sizes)
  const r = new Float64Array(out.length)
  const outRow = out.length / rows
  for (let b = 0; b < rows; b++) {
    const x = row(a.m, a.shared, rows, b)
    const rr = row(a.r, a.shared, rows, b)
    const y = out.subarray(b * outRow, (b + 1) * outRow)
    const o = r.subarray(b * outRow, (b + 1) * outRow)
    let R = 0
    for (let j = 0; j < n; j++) R = Math.max(R, rr[j] as number)
    switch (p.op) {
      case 'max':
        o[0] = R
        break
      case 'mean': {
        let s = 0
        let mag = 0
        for (let j = 0; j < n; j++) {
          s += rr[j] as number
          mag += Math.abs(x[j] as number) + (rr[j] as number)
        }
        o[0] = inflate(s / n + 2 * gamma(n + 1) * (mag / n), n + 1)
        break
      }
      case 'argmax': {
        if (R === 0) break
        const at = y.indexOf(1)
        const l = lower(x[at] as number, rr[at] as number)
        let clear = true
        for (let j = 0; j < n; j++)
          if (j !== at && upper(x[j] as number, rr[j] as number) >= l) clear = false
        if (!clear) o.fill(1)
        break
      }
      case 'softmax': {
        let mx = -Infinity
        for (let j = 0; j < n; j++) mx = Math.max(mx, x[j] as number)
        const eta = (j: number) => U * (Math.abs((x[j] as number) - mx) + 2 * R) * 1.01 + 16 * U
        let etaMax = 0
        for (let j = 0; j < n; j++) etaMax = Math.max(etaMax, eta(j))
        for (let j = 0; j < n; j++) {
          const rel = (eta(j) + etaMax + gamma(n + 2)) * 1.01
          const Y = Math.min(1, ((y[j] as number) * (1 + 2 * rel) + TINY) * Math.exp(2 * R))
          o[j] = up(2 * Math.min(0.25, Y) * R + 2 * Y * rel)
        }
        break
      }
      case 'layerNorm':
        o.fill(layerNormBound(x, rr, n, R, p.epsilon))
        break
      default:
        return p.op satisfies never
    }
  }
  return r
}

/** The bound of every entry of one row of layerNorm (see the module comment). */
const layerNormBound = (
  x: Float64Array,
  rr: Float64Array,
  n: number,
  R: number,
  epsilon: number,
): number => {
  let s = 0
  let sAbs = 0
  for (let j = 0; j < n; j++) {
    s += x[j] as number
    sAbs += Math.abs(x[j] as number)
  }
  const mu = s / n
  const eMu = gamma(n + 1) * (sAbs / n)
  let dMax = 0
  let q = 0
  for (let j = 0; j < n; j++) {
    const d = (x[j] as number) - mu
    dMax = Math.max(dMax, Math.abs(d))
    q += d * d
  }
  const eD = eMu + U * (dMax + eMu)
  // The standard deviation at the midpoints from below, then over the ball (a seminorm: it moves
  // by at most R), then σ = sqrt(var + ε) from below.
  const stdLo = Math.sqrt(q / n) * (1 - gamma(n + 4)) - eD
  const sigma = Math.sqrt(Math.max(0, stdLo - R) ** 2 + epsilon) * (1 - 4 * U)
  if (!(sigma > 0)) return Infinity
  // The rounding of the kernel at any point of the ball.
  const dV = dMax + eD + 2 * R
  const eMuV = gamma(n + 1) * (sAbs / n + R)
  const eDV = eMuV + U * (dV + eMuV)
  // The kernel's sum of squares at any point of the ball is at most n (dV + eDV)^2: where that
  // may overflow, the kernel divides by sqrt(∞) and gives finite zeros (an overflow inside the
  // primitive, which no watch sees), so nothing can be said.
  if (!(n * (dV + eDV) ** 2 * (1 + gamma(n + 4)) * (1 + 2 ** -40) < Number.MAX_VALUE))
    return Infinity
  const eVar = 2 * dV * eDV + eDV * eDV + gamma(n + 2) * (dV + eDV) ** 2
  const eW = eVar + U * (dV * dV + epsilon + eVar)
  const wLo = sigma * sigma - eW
  if (!(wLo > 0)) return Infinity
  const eInv = 0.5 * wLo ** -1.5 * eW + (4 * U) / Math.sqrt(wLo)
  const inv = 1 / sigma
  const rounding = eDV * inv + (dV + eDV) * eInv + U * (dV + eDV) * (inv + eInv)
  return up(((2 + Math.sqrt(n)) * R * inv + 2 * rounding) * (1 + 1e-6))
}

/** Σ over a row of |m| + r, and of r. */
const rowSums = (b: Input, rows: number, k: number): { mag: number; spread: number } => {
  const x = row(b.m, b.shared, rows, k)
  const r = row(b.r, b.shared, rows, k)
  let mag = 0
  let spread = 0
  for (let i = 0; i < x.length; i++) {
    mag += Math.abs(x[i] as number) + (r[i] as number)
    spread += r[i] as number
  }
  return { mag, spread }
}

/**
 * Generators: a supplied implementation is not bounded (infinite); the random interpretations
 * are bounded from how `src/eval/generators.ts` builds them.
 */
const generatorBounds = (
  g: Generator,
  ctx: Ctx,
  rows: number,
  ins: ReadonlyArray<Input>,
  mids: ReadonlyArray<Float64Array>,
): Float64Array[] => {
  const supplied =
    ctx.options.generators !== undefined &&
    Object.prototype.hasOwnProperty.call(ctx.options.generators, g.name)
  const outs = mids.map((m) => new Float64Array(m.length))
  if (supplied) {
    outs.forEach((o) => o.fill(Infinity))
    return outs
  }
  const n = g.from.map((s) => shapeSize(s, ctx.sizes))
  const m = g.to.map((s) => shapeSize(s, ctx.sizes))
  const fanIn = Math.max(
    1,
    n.reduce((a, b) => a + b, 0),
  )
  const put = (k: number, value: (j: number) => number) =>
    outs.forEach((o, j) => {
      const len = o.length / rows
      o.fill(value(j), k * len, (k + 1) * len)
    })
  for (let k = 0; k < rows; k++) {
    const sums = ins.map((b) => rowSums(b, rows, k))
    if (g.declared === 'multilinear') {
      // |T| ≤ 1/√Π n; y = Σ T x_1 ⋯ x_n (n products, Π n terms per entry).
      const s = (1 / Math.sqrt(Math.max(1, product(n)))) * (1 + 8 * U)
      const factors =
        g.form === 'map'
          ? sums
          : [
              ...sums.slice(0, n.length - 1),
              sums
                .slice(n.length - 1)
                .reduce((acc, x) => ({ mag: acc.mag + x.mag, spread: acc.spread + x.spread }), {
                  mag: 0,
                  spread: 0,
                }),
            ]
      const depth =
        n.length + 2 + (g.form === 'map' ? product(n) : m.reduce((a, b) => a + b, 0) * product(n))
      const mag = s * product(factors.map((f) => f.mag))
      let spread = 0
      factors.forEach((f, i) => {
        const before = product(factors.slice(0, i).map((x) => x.mag))
        const after = product(factors.slice(i + 1).map((x) => Math.max(0, x.mag - x.spread)))
        spread += before * f.spread * after
      })
      // Underflow inside the products, amplified by the later factors (see underflowOf).
      const uf =
        product(factors.map((f) => Math.max(1, f.mag))) *
        (2 * factors.length * (depth + 1) * 2 ** -1074)
      const bound = inflate(s * spread + 2 * gamma(depth) * mag + uf, depth)
      put(k, () => bound)
      continue
    }
    // |M| ≤ 1/√fan-in, |c| ≤ 1/2.
    const s = (1 / Math.sqrt(fanIn)) * (1 + 8 * U)
    const linear = (xs: ReadonlyArray<{ mag: number; spread: number }>, terms: number) => {
      const mag = xs.reduce((a, x) => a + x.mag, 0)
      const spread = xs.reduce((a, x) => a + x.spread, 0)
      return {
        size: s * mag,
        bound: inflate(s * spread + 2 * gamma(terms + 1) * s * mag, terms + 1),
      }
    }
    if (g.declared === 'linear') {
      const { bound } = linear(sums, g.form === 'map' ? fanIn : m.reduce((a, b) => a + b, 0))
      put(k, () => bound)
      continue
    }
    // Nonlinear: y = tanh(W x + c), 1-Lipschitz, rounded by 16u at most.
    const z = linear(sums.slice(0, n.length), fanIn + 1)
    const ry = up(z.bound + 2 * gamma(fanIn + 3) * 0.5 + 32 * U)
    const slopeSpread = 2 * ry * (1 + ry)
    if (g.form === 'map') {
      put(k, () => ry)
      continue
    }
    if (g.form === 'tangent') {
      const l = linear(sums.slice(n.length), fanIn)
      const bound = up(l.bound + l.size * slopeSpread + 8 * U * (l.size + l.bound))
      put(k, () => bound)
      continue
    }
    // Cotangent: ȳ' = (1 - y²) ⊙ ȳ, then Wᵀ ȳ'.
    const cots = ins.slice(n.length).map((b) => {
      const { mag, spread } = rowSums(b, rows, k)
      return {
        mag,
        spread: spread + mag * slopeSpread + 8 * U * mag,
      }
    })
    const { bound } = linear(
      cots,
      m.reduce((a, b) => a + b, 0),
    )
    put(k, () => up(bound))
  }
  return outs
}

/** Per output segment, a bound of |evaluator − exact| for each entry. */
export interface ErrorBounds {
  /** The evaluator's outputs ({@link evaluate}). */
  readonly outputs: Float64Array[]
  /**
   * Per output segment and entry, a bound of the distance between the evaluator's float64
   * value and the exact real value of the term at the same inputs (Infinity when nothing can be
   * said: a generator with a supplied implementation, log or 1/x near 0, NaN or ±∞ on the way).
   */
  readonly bounds: Float64Array[]
}

/**
 * The midpoints and radii of the outputs, for inputs the evaluator has already accepted: the
 * evaluator's outputs and the exact values both lie within `r` of `m`. @internal
 */
export const roundingBalls = (
  term: Term,
  sizes: Sizes,
  inputs: ReadonlyArray<TensorData>,
  params: Readonly<Record<string, TensorData>> = {},
  options: EvalOptions = {},
): ReadonlyArray<{ readonly m: Float64Array; readonly r: Float64Array }> => {
  const ctx: Ctx = { sizes, params, options, jvps: new Map() }
  const balls = inputs.map((x) => {
    const m = x instanceof Float64Array ? x : Float64Array.from(x)
    return { m, r: new Float64Array(m.length) }
  })
  return run(term, ctx, balls, 1)
}

/**
 * The bounds alone, of |evaluator − exact| for each output entry, for inputs the evaluator has
 * already accepted. Both lie within the radius r of the midpoint m; given the evaluator's
 * `outputs`, the bound is `r + |output − m|` (r itself where they agree, as they mostly do),
 * else 2r. @internal
 */
export const roundingBounds = (
  term: Term,
  sizes: Sizes,
  inputs: ReadonlyArray<TensorData>,
  params: Readonly<Record<string, TensorData>> = {},
  options: EvalOptions = {},
  outputs?: ReadonlyArray<Float64Array>,
): Float64Array[] =>
  roundingBalls(term, sizes, inputs, params, options).map((b, o) => {
    const out = outputs?.[o]
    return b.r.map((r, j) =>
      out === undefined
        ? up(2 * r)
        : out[j] === b.m[j]
          ? r
          : up(r + Math.abs((out[j] as number) - (b.m[j] as number))),
    )
  })

/**
 * {@link evaluate}, with a bound of the float64 rounding error of every output entry: the
 * exact real value of the term at these inputs lies within `bounds[o][j]` of `outputs[o][j]`
 * (forward error analysis along the data flow; see `src/eval/error-bound.ts` for each
 * primitive's rule). `equivalent` refutes an equation only where the sides differ by more than
 * their two bounds (README, "Number semantics").
 *
 * @example
 * ```ts
 * import { evaluateWithErrorBounds, seq, copy, par, scale, id, add } from 'neural-circuit-diagrams'
 * // (1e16 x + x) - 1e16 x: x over the reals, 2 in float64 at x = 1.5
 * const k = ['k']
 * const f = seq(copy([k]), par(seq(copy([k]), par(scale(1e16, k), id([k])), add(k)), scale(-1e16, k)), add(k))
 * const { outputs, bounds } = evaluateWithErrorBounds(f, { k: 1 }, [[1.5]])
 * outputs[0][0] // 2
 * bounds[0][0] >= 0.5 // true (the exact 1.5 is within the bound)
 * ```
 */
export const evaluateWithErrorBounds = (
  term: Term,
  sizes: Sizes,
  inputs: ReadonlyArray<TensorData>,
  params: Readonly<Record<string, TensorData>> = {},
  options: EvalOptions = {},
): ErrorBounds => {
  const outputs = evaluate(term, sizes, inputs, params, options)
  return { outputs, bounds: roundingBounds(term, sizes, inputs, params, options, outputs) }
}
