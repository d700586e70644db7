/**
 * The forward derivative (paper section 3.6, Fig. 30-32; DESIGN.md section 6). `D(f)` is the
 * `(_, D_)` functor: `(x, dx) ↦ (f x, Df(x)·dx)`, points then tangents. {@link jvp} expands it
 * into primitives by the rules below, which are also the `derivative/*` laws of the catalogue:
 *
 * - chain rule: `D(f ; g) = D(f) ; D(g)` (Fig. 31-32);
 * - `D` over `par` (with the wiring that interleaves points and tangents) and over broadcasts
 *   (the tangents placed as the points are, shared where they are shared);
 * - a linear map is its own derivative: `D(f) = f ⊗ f` (so copy, drop, swap, einsums of one
 *   input, views, indexes, padding, the convolution tensor, add, scale and mean);
 * - a constant (a term of the empty tuple, such as a parameter) has tangent zero;
 * - a multilinear map follows the product rule: `Σ_i f(x_1, …, dx_i, …, x_n)`;
 * - one rule per nonlinear primitive (relu, gelu, exp, log, tanh, sigmoid, sqrt, reciprocal,
 *   step, normcdf, offset, softmax, layerNorm, max, argmax);
 * - a nonlinear generator F: `(x, dx) ↦ (F x, dF(x, dx))`, its opaque tangent map.
 *
 * Tangents where a slope is infinite (README, "Number semantics"): the tangent part is a linear
 * map of the tangent, so a zero tangent stays zero even where the slope is infinite or NaN:
 * `sqrt'(0) · 0 = 0`, `log'(0) · 0 = 0`, `reciprocal'(0) · 0 = 0` (IEEE would give NaN). Every
 * rule above multiplies a tangent by its slope with `mul`, which is strict in zero, and the
 * evaluator runs `D(f)` as `jvp(f)`, so the two cannot differ. This is what makes a law
 * rewritten inside `D(...)` keep the derivative: `D(sqrt ; pad) = D(pad ; sqrt)` at the padded
 * entries, where the right side meets `sqrt'(0)` and the left side does not (the zero of a
 * padded tangent is a value here, not JAX's symbolic zero, which would still give NaN there).
 * The einsums of the product rule (sums of products) are IEEE; layerNorm with ε = 0 on a
 * constant row is NaN already in its value.
 *
 * @packageDocumentation
 */
import { box, broadcast, drop, id, par, seq, swap } from '../core/construct.js'
import { type Wire, graph, wiring } from '../core/dag.js'
import type { Dim } from '../core/dim.js'
import { absurd, fail } from '../core/errors.js'
import {
  add,
  argmax,
  exp,
  layerNorm,
  max,
  mean,
  mul,
  normcdf,
  offset,
  reciprocal,
  scale,
  softmax,
  sqrt,
  step,
  unary,
} from '../core/primitives.js'
import { show } from '../core/show.js'
import { generatorNode } from '../core/generator.js'
import { mapTerm } from '../core/update.js'
import type { AxisOpName, ScalarOp, Term } from '../core/term.js'
import { type Shape, type TupleType, concatTypes } from '../core/types.js'
import { einsum } from '../linear/einsum.js'
import { zero } from '../linear/structural.js'

const SCALAR: TupleType = [[]]

/**
 * `k` tuples of type `t` side by side, added segment by segment: `t^k -> t`.
 *
 * @example
 * ```ts
 * import { sumOf, evaluate, showTyped } from 'neural-circuit-diagrams'
 * showTyped(sumOf([['k']], 2)) // 'add[k] : [k] × [k] -> [k]'
 * evaluate(sumOf([['k']], 3), { k: 2 }, [[1, 2], [3, 4], [5, 6]])[0] // Float64Array [9, 12]
 * ```
 */
export const sumOf = (t: TupleType, k: number): Term => {
  if (k === 0) return zero(t)
  if (k === 1) return id(t)
  const m = t.length
  const sources = Array.from({ length: m }, (_, s) =>
    Array.from({ length: k }, (_, j) => j * m + s),
  ).flat()
  const repeated = concatTypes(...Array.from({ length: k }, () => t))
  // k copies of s added left to right: add ⊗ id, then add ⊗ id, ..., then add.
  const addK = (s: Shape): Term =>
    seq(
      ...Array.from({ length: k - 1 }, (_, r) =>
        r === k - 2 ? add(s) : par(add(s), id(Array.from({ length: k - 2 - r }, () => s))),
      ),
    )
  const regroup = wiring(repeated, sources)
  const adds = par(...t.map(addK))
  return regroup.kind === 'id' ? adds : seq(regroup, adds)
}

/**
 * The interleaving of points and tangents of stacked parts: `[A_1 … A_k, A_1′ … A_k′]` to
 * `[A_1, A_1′, …, A_k, A_k′]` (grouped by part). Built on whole parts, not on wires: one block
 * swap brings the tangents of the first half of the parts next to their points
 * (`A_lo A_hi A_lo′ A_hi′` to `A_lo A_lo′ A_hi A_hi′`), then each half is interleaved side by
 * side, so the term has `log k` levels of the width (`id ⊗ swap ⊗ id` for two parts), where a
 * permutation of the wires would have `log²` of the number of wires.
 */
const interleave = (types: ReadonlyArray<TupleType>): Term => riffle(types, false)

/** The inverse of {@link interleave}: grouped by part back to points then tangents. */
const deinterleave = (types: ReadonlyArray<TupleType>): Term => riffle(types, true)

/**
 * {@link interleave} (or its inverse) by halves of the parts, on one flat array of the parts'
 * shapes: each level slices it once (`lo`, `hi`: the shapes of a run of parts).
 */
const riffle = (types: ReadonlyArray<TupleType>, inverse: boolean): Term => {
  const parts = types.filter((t) => t.length > 0)
  const flat: Shape[] = []
  const start: number[] = []
  for (const t of parts) {
    start.push(flat.length)
    for (const s of t) flat.push(s)
  }
  start.push(flat.length)
  const shapes = (from: number, to: number): TupleType =>
    flat.slice(start[from] as number, start[to] as number)
  const go = (from: number, to: number): Term => {
    if (to - from < 2) {
      const all = shapes(from, to)
      return id([...all, ...all])
    }
    const h = (from + to) >> 1
    const lo = shapes(from, h)
    const hi = shapes(h, to)
    const halves = par(go(from, h), go(h, to))
    return inverse
      ? seq(halves, par(id(lo), swap(lo, hi), id(hi)))
      : seq(par(id(lo), swap(hi, lo), id(hi)), halves)
  }
  return go(0, parts.length)
}

/**
 * `D(f_1 ⊗ … ⊗ f_k)`: points and tangents regrouped per part, each part's derivative, and the
 * results regrouped as points then tangents.
 *
 * @example
 * ```ts
 * import { derivativeOfPar, jvp, tanh, exp, evaluate } from 'neural-circuit-diagrams'
 * // (tanh ⊗ exp) at (0, 0) in the direction (1, 2): values (0, 1), tangents (1, 2).
 * const d = derivativeOfPar([tanh(), exp()], jvp)
 * evaluate(d, {}, [[0], [0], [1], [2]]).map((v) => v[0]) // [0, 1, 1, 2]
 * ```
 */
export const derivativeOfPar = (parts: ReadonlyArray<Term>, d: (f: Term) => Term): Term =>
  seq(
    interleave(parts.map((p) => p.dom)),
    par(...parts.map(d)),
    deinterleave(parts.map((p) => p.cod)),
  )

/**
 * The product rule for a multilinear `f` of `n` inputs: `(x, dx) ↦ (f x, Σ_i f(x_1, …, dx_i,
 * …, x_n))`.
 *
 * @example
 * ```ts
 * import { productRule, mul, evaluate } from 'neural-circuit-diagrams'
 * // d(x y) = dx y + x dy at x = 2, y = 3, dx = 1, dy = 10.
 * evaluate(productRule(mul()), {}, [[2], [3], [1], [10]]).map((v) => v[0]) // [6, 23]
 * ```
 */
export const productRule = (f: Term): Term => {
  const n = f.dom.length
  const sources = [
    ...Array.from({ length: n }, (_, j) => j),
    ...Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => (j === i ? n + j : j)),
    ).flat(),
  ]
  return seq(
    wiring(concatTypes(f.dom, f.dom), sources),
    par(...Array.from({ length: n + 1 }, () => f)),
    par(id(f.cod), sumOf(f.cod, n)),
  )
}

/** The standard normal density φ(x) = exp(-x²/2)/√(2π), on wires. */
const density = (x: Wire, apply: (op: Term, ...ins: Wire[]) => Wire[]): Wire => {
  const [sq] = apply(mul(), x, x) as [Wire]
  const [e] = apply(exp(), ...apply(scale(-0.5), sq)) as [Wire]
  return apply(scale(1 / Math.sqrt(2 * Math.PI)), e)[0] as Wire
}

/**
 * The derivative of a unary scalar function, `[] × [] -> [] × []` (value, tangent), written with
 * primitives only.
 *
 * @example
 * ```ts
 * import { derivativeOfScalar, evaluate } from 'neural-circuit-diagrams'
 * evaluate(derivativeOfScalar('exp'), {}, [[0], [5]]).map((v) => v[0]) // [1, 5]
 * ```
 */
export const derivativeOfScalar = (op: ScalarOp, factor = 1): Term => {
  // A function of the op alone (no dims; the factor only counts for offset, whose derivatives
  // are not kept): built once per op, so the derivative of a stack of n element-wise maps shares
  // one body instead of building n graphs.
  if (op === 'offset') return buildScalarDerivative(op, factor)
  let d = scalarDerivatives.get(op)
  if (d === undefined) scalarDerivatives.set(op, (d = buildScalarDerivative(op, factor)))
  return d
}

const scalarDerivatives = new Map<ScalarOp, Term>()

const buildScalarDerivative = (op: ScalarOp, factor: number): Term =>
  graph([[], []], ([x, dx], apply) => {
    const at = x as Wire
    const dt = dx as Wire
    const one = (t: Term, ...ins: Wire[]): Wire => apply(t, ...ins)[0] as Wire
    const times = (a: Wire, b: Wire): Wire => one(mul(), a, b)
    const neg = (a: Wire): Wire => one(scale(-1), a)
    switch (op) {
      case 'relu':
        return [one(unary('relu'), at), times(one(step(), at), dt)]
      case 'gelu': {
        // gelu' = Φ(x) + x φ(x)
        const slope = one(add(), one(normcdf(), at), times(at, density(at, apply)))
        return [one(unary('gelu'), at), times(slope, dt)]
      }
      case 'exp': {
        const y = one(exp(), at)
        return [y, times(y, dt)]
      }
      case 'log':
        return [one(unary('log'), at), times(one(reciprocal(), at), dt)]
      case 'tanh': {
        // tanh' = 1 - tanh²
        const y = one(unary('tanh'), at)
        return [y, one(add(), dt, neg(times(times(y, y), dt)))]
      }
      case 'sigmoid': {
        // σ' = σ - σ²
        const y = one(unary('sigmoid'), at)
        return [y, times(one(add(), y, neg(times(y, y))), dt)]
      }
      case 'sqrt': {
        const y = one(sqrt(), at)
        return [y, times(one(scale(0.5), one(reciprocal(), y)), dt)]
      }
      case 'reciprocal': {
        const y = one(reciprocal(), at)
        return [y, neg(times(times(y, y), dt))]
      }
      case 'step':
        // Zero almost everywhere (the kink at 0 is a point).
        apply(drop(SCALAR), dt)
        return [one(step(), at), one(zero(SCALAR))]
      case 'normcdf':
        return [one(normcdf(), at), times(density(at, apply), dt)]
      case 'offset':
        return [one(offset(factor), at), dt]
      case 'scale':
      case 'add':
      case 'mul':
        return fail('bad-argument', `derivativeOfScalar: ${op} is not a unary nonlinear function`, {
          expected: 'relu, gelu, exp, log, tanh, sigmoid, sqrt, reciprocal, step, normcdf, offset',
          got: op,
          hint: 'scale and add are linear (D f = f ⊗ f), mul follows the product rule',
        })
      default:
        return absurd(op)
    }
  })

/**
 * The derivative of an operation on one axis, `[a] × [a] -> cod × cod`, with primitives only:
 * softmax `s ⊙ (dx - <s, dx>)`, layerNorm `(dx - mean dx - y mean(y ⊙ dx)) / σ`, max `<argmax
 * x, dx>`, argmax zero.
 *
 * @example
 * ```ts
 * import { derivativeOfAxisOp, dim, evaluate } from 'neural-circuit-diagrams'
 * // max at [1, 5, 2] moves with the entry at the maximum: the tangent is dx[1].
 * const d = derivativeOfAxisOp('max', dim('a'))
 * evaluate(d, { a: 3 }, [[1, 5, 2], [10, 20, 30]]).map((v) => v[0]) // [5, 20]
 * ```
 */
export const derivativeOfAxisOp = (op: AxisOpName, a: Dim, epsilon = 0): Term =>
  graph([[a], [a]], ([x, dx], apply) => {
    const at = x as Wire
    const dt = dx as Wire
    const one = (t: Term, ...ins: Wire[]): Wire => apply(t, ...ins)[0] as Wire
    // Einsums over the axis: `b` is a second label of the same dim.
    const ein = (spec: string): Term =>
      einsum(spec, { dims: spec.includes('b') ? { a, b: a } : { a } })
    switch (op) {
      case 'softmax': {
        // s ⊙ dx - s <s, dx>, the negation on the tangent read by the second einsum: in the
        // transpose it then follows that einsum and fuses with the add of the two cotangents
        // (one element-wise pass, src/eval/fused.ts) instead of preceding it.
        const s = one(axisOpTerm('softmax', a), at)
        const t = one(ein('a, a -> a'), s, dt)
        const u = one(ein('a, b, b -> a'), s, s, one(scale(-1, [a]), dt))
        return [s, one(add([a]), t, u)]
      }
      case 'layerNorm': {
        const y = one(axisOpTerm('layerNorm', a, epsilon), at)
        const perSize = (factor: number): Term =>
          scale(factor, [a], { bySize: { dim: a, power: -1 } })
        // σ = sqrt(mean((x - mean x)²) + ε), from x: x - mean x as x plus its sum spread over the
        // axis times -1/n (the sum and spread one einsum, the scaling and the add one pass), the
        // sum of squares one einsum, then 1/n, ε, sqrt and 1/· one element-wise pass.
        const centred = one(add([a]), at, one(perSize(-1), one(ein('b -> a'), at)))
        const sumSquares = one(ein('a, a -> '), centred, centred)
        const inv = one(
          reciprocal(),
          one(
            sqrt(),
            one(offset(epsilon), one(scale(1, [], { bySize: { dim: a, power: -1 } }), sumSquares)),
          ),
        )
        // (dx - (Σ dx + y <y, dx>) / n) / σ, the -1/n on the tangent read by the two einsums: in
        // the transpose it follows them, and the sum of their cotangents, the scaling and the
        // add of the direct one are one element-wise pass.
        const u = one(perSize(-1), dt)
        const sums = one(add([a]), one(ein('b -> a'), u), one(ein('a, b, b -> a'), y, y, u))
        const inner = one(add([a]), dt, sums)
        return [y, one(ein('a, -> a'), inner, inv)]
      }
      case 'max':
        return [one(max(a), at), one(ein('a, a -> '), one(argmax(a), at), dt)]
      case 'argmax':
        apply(drop([[a]]), dt)
        return [one(argmax(a), at), one(zero([[a]]))]
      case 'mean':
        return fail('bad-argument', 'derivativeOfAxisOp: mean is linear', {
          expected: 'softmax, layerNorm, max or argmax',
          got: op,
          hint: 'a linear map is its own derivative: D f = f ⊗ f',
        })
      default:
        return absurd(op)
    }
  })

const axisOpTerm = (op: 'softmax' | 'layerNorm' | 'mean', a: Dim, epsilon = 0): Term =>
  op === 'softmax' ? softmax(a) : op === 'layerNorm' ? layerNorm(a, { epsilon }) : mean(a)

/**
 * The derivative of a generator that is neither linear (its own derivative) nor constant: a
 * multilinear one by the product rule, a nonlinear F as `(x, dx) ↦ (F x, dF(x, dx))` with the
 * opaque tangent map dF (linear in dx; its transpose is the cotangent form). Second derivatives
 * of a generator are refused.
 *
 * @internal
 */
export const derivativeOfGenerator = (f: Extract<Term, { kind: 'generator' }>): Term => {
  if (f.linearity === 'multilinear') return productRule(f)
  if (f.form !== 'map')
    return fail(
      'bad-argument',
      `jvp: the second derivative of generator '${f.name}' is not supported`,
      {
        expected: 'a generator, its transpose, or the first derivative of a generator',
        got: show(f, { maxLength: 80 }),
        hint: 'differentiate an implementation-backed term instead, or state the derivative as a generator',
      },
    )
  const n = f.dom.length
  const dF = generatorNode(f.name, f.declared, f.from, f.to, 'tangent')
  return seq(wiring(concatTypes(f.dom, f.dom), [...range(n), ...range(2 * n)]), par(f, dF))
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

const memo = new WeakMap<Term, Term>()

/** `f` with every `D(g)` inside replaced by `jvp(g)`: free of derivative nodes. */
const expandDerivatives = (f: Term): Term =>
  mapTerm(f, (t) => (t.kind === 'derivative' ? jvp(t.body) : t))

/**
 * The parts of a sequence with every maximal run of consecutive parts whose composite is linear
 * grouped into one sequence (greedy from the left), so that the chain rule differentiates it as
 * a whole: `D(f) = f ⊗ f`. A linear layer is `(W ⊗ id) ; einsum`, an einsum of a parameter: alone
 * the einsum is bilinear and its derivative would multiply the parameter's zero tangent.
 */
const linearRuns = (parts: ReadonlyArray<Term>): Term[] => {
  const out: Term[] = []
  let i = 0
  while (i < parts.length) {
    let run = parts[i] as Term
    let j = i + 1
    while (j < parts.length) {
      const next = seq(run, parts[j] as Term)
      if (next.linearity !== 'linear') break
      run = next
      j++
    }
    out.push(run)
    i = j
  }
  return out
}

/**
 * The forward derivative of `f` expanded into primitives: a term `A × A -> B × B` computing
 * `(f x, Df(x)·dx)`, equal to `D(f)` and free of `derivative` nodes.
 *
 * @example
 * ```ts
 * import { jvp, tanh, evaluate, show } from 'neural-circuit-diagrams'
 * const d = jvp(tanh())
 * const [y, dy] = evaluate(d, {}, [[0.5], [1]])
 * y // Float64Array [0.46211715726000974]
 * dy // Float64Array [0.7864477329659274] (1 - tanh(0.5)²)
 * ```
 */
export const jvp = (f: Term): Term => {
  const hit = memo.get(f)
  if (hit !== undefined) return hit
  const out = expand(f)
  memo.set(f, out)
  return out
}

const expand = (f: Term): Term => {
  if (f.kind === 'derivative') return jvp(jvp(f.body))
  if (f.linearity === 'linear') {
    const g = expandDerivatives(f)
    return par(g, g)
  }
  if (f.dom.length === 0) return par(expandDerivatives(f), zero(f.cod))
  switch (f.kind) {
    case 'seq':
      return seq(...linearRuns(f.parts).map(jvp))
    case 'par':
      return derivativeOfPar(f.parts, jvp)
    case 'broadcast':
      return broadcast(jvp(f.body), f.axes, {
        inputs: [...f.inputs, ...f.inputs],
        outputs: [...f.outputs, ...f.outputs],
      })
    case 'box':
      return box(`D(${f.name})`, jvp(f.body))
    case 'einsum':
      return productRule(f)
    case 'scalar':
      return f.op === 'mul' ? productRule(f) : derivativeOfScalar(f.op, f.factor)
    case 'axisOp':
      return derivativeOfAxisOp(f.op, f.axis, f.epsilon)
    case 'generator':
      return derivativeOfGenerator(f)
    case 'id':
    case 'swap':
    case 'copy':
    case 'drop':
    case 'index':
    case 'view':
    case 'pad':
    case 'convTensor':
    case 'concat':
    case 'zero':
    case 'param':
      // Linear or constant: handled above. Reaching here means the linearity analysis said
      // otherwise, which would be a bug.
      return fail('internal', `jvp: no derivative rule for ${show(f, { maxLength: 80 })}`, {
        expected: 'a linear or constant term',
        got: f.linearity,
      })
    default:
      return absurd(f)
  }
}
