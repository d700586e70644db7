/**
 * Named primitives with numeric semantics: scalar functions (element-wise once broadcast over a
 * shape, paper Fig. 15), operations on one axis (softmax, layer norm, max and mean pooling), and
 * learned parameters.
 *
 * @packageDocumentation
 */
import { fail } from './errors.js'
import { type DimLike, readDim } from './dim.js'
import { broadcast, make } from './construct.js'
import { constantPoly, identityPoly, multilinearPoly, nonlinearPoly, sumPoly } from './linearity.js'
import type { AxisOpName, ScalarOp, SizePower, Term } from './term.js'
import { type ShapeLike, toShape } from './types.js'

const SCALAR: readonly [] = Object.freeze([])
const ONE_SCALAR = Object.freeze([SCALAR])
const TWO_SCALARS = Object.freeze([SCALAR, SCALAR])

/** The nonlinear unary scalar functions. */
export type UnaryOp = Exclude<ScalarOp, 'scale' | 'offset' | 'add' | 'mul'>

/** The unary functions, in catalogue order. */
export const UNARY_OPS: ReadonlyArray<UnaryOp> = Object.freeze([
  'relu',
  'gelu',
  'exp',
  'log',
  'tanh',
  'sigmoid',
  'sqrt',
  'reciprocal',
  'step',
  'normcdf',
])

const scalarTerm = (op: ScalarOp, factor = 1, bySize?: SizePower): Term => {
  const binary = op === 'add' || op === 'mul'
  const poly =
    op === 'scale'
      ? identityPoly(1)
      : op === 'offset'
        ? affinePoly
        : op === 'add'
          ? sumPoly(2)
          : op === 'mul'
            ? multilinearPoly(2)
            : nonlinearPoly(1)
  return make({
    kind: 'scalar',
    op,
    factor,
    ...(bySize !== undefined ? { bySize: Object.freeze({ ...bySize }) } : {}),
    dom: binary ? TWO_SCALARS : ONE_SCALAR,
    cod: ONE_SCALAR,
    poly,
  })
}

/** `v + c`: the identity plus a constant. */
const affinePoly = Object.freeze([Object.freeze(['', '0'])])

/** Broadcast a scalar map over a shape (Fig. 15); the bare scalar map for `[]`. */
const elementwise = (f: Term, shape: ShapeLike | undefined): Term => {
  const s = toShape(shape ?? [])
  return s.length === 0 ? f : broadcast(f, s)
}

/**
 * A unary scalar function applied element-wise over a shape (paper Fig. 15).
 *
 * @example
 * ```ts
 * import { unary, showTyped } from 'neural-circuit-diagrams'
 * showTyped(unary('tanh', 'y k')) // 'tanh[y k] : [y k] -> [y k]'
 * ```
 */
export const unary = (op: UnaryOp, shape?: ShapeLike): Term => {
  if (!UNARY_OPS.includes(op))
    fail('bad-argument', `unary: unknown function '${String(op)}'`, {
      expected: UNARY_OPS.join(', '),
      got: String(op),
    })
  return elementwise(scalarTerm(op), shape)
}

/**
 * ReLU element-wise: `max(0, v)`.
 *
 * @example
 * ```ts
 * import { relu, evaluate, showTyped } from 'neural-circuit-diagrams'
 * showTyped(relu('y k')) // 'relu[y k] : [y k] -> [y k]'
 * evaluate(relu('y'), { y: 2 }, [[-1, 2]])[0] // Float64Array [0, 2]
 * ```
 */
export const relu = (shape?: ShapeLike): Term => unary('relu', shape)
/** GELU element-wise, exact form `v Φ(v)` with Φ the normal CDF. */
export const gelu = (shape?: ShapeLike): Term => unary('gelu', shape)
/** exp element-wise. */
export const exp = (shape?: ShapeLike): Term => unary('exp', shape)
/** Natural log element-wise (NaN below 0, -Infinity at 0, as in IEEE arithmetic). */
export const log = (shape?: ShapeLike): Term => unary('log', shape)
/** tanh element-wise. */
export const tanh = (shape?: ShapeLike): Term => unary('tanh', shape)
/** The logistic sigmoid `1 / (1 + e^-v)` element-wise. */
export const sigmoid = (shape?: ShapeLike): Term => unary('sigmoid', shape)
/** Square root element-wise. */
export const sqrt = (shape?: ShapeLike): Term => unary('sqrt', shape)
/** `1 / v` element-wise. */
export const reciprocal = (shape?: ShapeLike): Term => unary('reciprocal', shape)
/**
 * The Heaviside step element-wise: 1 above 0, else 0 (the derivative of relu, 0 at 0 as in
 * TensorFlow and PyTorch).
 *
 * @example
 * ```ts
 * import { step, evaluate } from 'neural-circuit-diagrams'
 * evaluate(step('y'), { y: 3 }, [[-1, 0, 2]])[0] // Float64Array [0, 0, 1]
 * ```
 */
export const step = (shape?: ShapeLike): Term => unary('step', shape)
/** The standard normal CDF Φ element-wise (the derivative of gelu is `Φ(v) + v φ(v)`). */
export const normcdf = (shape?: ShapeLike): Term => unary('normcdf', shape)

/**
 * Adding a constant, element-wise: `v + c`; affine, so not linear.
 *
 * @example
 * ```ts
 * import { offset, evaluate, show } from 'neural-circuit-diagrams'
 * show(offset(1e-5, 'k')) // 'offset(0.00001)[k]'
 * evaluate(offset(2), {}, [[1]])[0] // Float64Array [3]
 * ```
 */
export const offset = (constant: number, shape?: ShapeLike): Term => {
  if (!Number.isFinite(constant))
    fail('bad-argument', 'offset: the constant must be a finite number', {
      expected: 'a finite number',
      got: String(constant),
    })
  return elementwise(scalarTerm('offset', constant), shape)
}

/**
 * Multiplication by a constant, element-wise; linear.
 *
 * @example
 * ```ts
 * import { scale, show } from 'neural-circuit-diagrams'
 * show(scale(0.125, 'y x')) // 'scale(0.125)[y x]'
 * ```
 */
export const scale = (
  factor: number,
  shape?: ShapeLike,
  options: { bySize?: { dim: DimLike; power: number } } = {},
): Term => {
  if (!Number.isFinite(factor))
    fail('bad-argument', 'scale: the factor must be a finite number', {
      expected: 'a finite number',
      got: String(factor),
    })
  const by = options.bySize
  if (by !== undefined && !Number.isFinite(by.power))
    fail('bad-argument', 'scale: the power of a size must be a finite number', {
      expected: 'a finite number, such as -0.5 for 1/√k',
      got: String(by.power),
    })
  const sizePower =
    by === undefined
      ? undefined
      : { dim: readDim(by.dim, 'scale: the dim of bySize'), power: by.power }
  return elementwise(scalarTerm('scale', factor, sizePower), shape)
}

/**
 * Multiplication by a power of a size, element-wise: `scaleBySize('k', -0.5, 'y x')` divides by
 * `√k` as scaled dot-product attention does (paper Fig. 19, 22); linear.
 *
 * @example
 * ```ts
 * import { scaleBySize, evaluate, show } from 'neural-circuit-diagrams'
 * show(scaleBySize('k', -0.5, 'y')) // 'scale(k^-0.5)[y]'
 * evaluate(scaleBySize('k', -0.5), { k: 4 }, [[3]])[0] // Float64Array [1.5]
 * ```
 */
export const scaleBySize = (dim: DimLike, power: number, shape?: ShapeLike): Term =>
  scale(1, shape, { bySize: { dim, power } })

/**
 * Addition of two tensors of one shape: `[s] × [s] -> [s]`; linear.
 *
 * @example
 * ```ts
 * import { add, showTyped } from 'neural-circuit-diagrams'
 * showTyped(add('x')) // 'add[x] : [x] × [x] -> [x]'
 * ```
 */
export const add = (shape?: ShapeLike): Term => elementwise(scalarTerm('add'), shape)

/**
 * Element-wise multiplication `[s] × [s] -> [s]`; bilinear (multilinear in its two segments).
 * Strict in zero (README, "Number semantics"): `0 · v = 0` for every `v`, `±∞` and NaN
 * included, so that a zero tangent stays zero in a derivative (`jvp` multiplies tangents by
 * slopes with `mul`).
 *
 * @example
 * ```ts
 * import { mul, evaluate } from 'neural-circuit-diagrams'
 * mul('x').linearity // 'multilinear'
 * evaluate(mul('x'), { x: 2 }, [[0, 2], [Infinity, Infinity]])[0] // Float64Array [0, Infinity]
 * ```
 */
export const mul = (shape?: ShapeLike): Term => elementwise(scalarTerm('mul'), shape)

const axisOp = (op: AxisOpName, axis: DimLike, epsilon = 0): Term => {
  const a = readDim(axis, `${op}: the axis`)
  const reduces = op === 'max' || op === 'mean'
  return make({
    kind: 'axisOp',
    op,
    axis: a,
    epsilon,
    dom: Object.freeze([Object.freeze([a])]),
    cod: Object.freeze([reduces ? SCALAR : Object.freeze([a])]),
    poly: op === 'mean' ? identityPoly(1) : nonlinearPoly(1),
  })
}

/**
 * SoftMax over one axis, `[a] -> [a]` (the ◁ of Fig. 21-23); broadcast it over the others.
 * Computed stably (the maximum is subtracted first).
 *
 * @example
 * ```ts
 * import { softmax, broadcast, showTyped } from 'neural-circuit-diagrams'
 * showTyped(broadcast(softmax('x'), ['y'])) // 'bcast[y](softmax(x)) : [y x] -> [y x]'
 * ```
 */
export const softmax = (axis: DimLike): Term => axisOp('softmax', axis)

/**
 * Layer normalisation over one axis without learned scale and shift: `(v - mean) / sqrt(var + ε)`
 * with the biased variance, as PyTorch's `LayerNorm(elementwise_affine=False)`; ε = 1e-5.
 */
export const layerNorm = (axis: DimLike, options: { epsilon?: number } = {}): Term => {
  const eps = options.epsilon ?? 1e-5
  if (!Number.isFinite(eps) || eps < 0)
    fail('bad-argument', 'layerNorm: epsilon must be a finite number >= 0', {
      expected: 'epsilon >= 0',
      got: String(eps),
    })
  return axisOp('layerNorm', axis, eps)
}

/** The maximum over one axis `[a] -> []` (max pooling once broadcast over blocks, Fig. 25). */
export const max = (axis: DimLike): Term => axisOp('max', axis)

/** The mean over one axis `[a] -> []` (average pooling, Fig. 25); linear. */
export const mean = (axis: DimLike): Term => axisOp('mean', axis)

/**
 * The one-hot vector of the first maximum over one axis, `[a] -> [a]`: the derivative of `max`
 * is `dx ↦ <argmax x, dx>`.
 *
 * @example
 * ```ts
 * import { argmax, evaluate } from 'neural-circuit-diagrams'
 * evaluate(argmax('a'), { a: 3 }, [[1, 5, 5]])[0] // Float64Array [0, 1, 0]
 * ```
 */
export const argmax = (axis: DimLike): Term => axisOp('argmax', axis)

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_.\-/]*$/

/**
 * A named learned parameter `() -> [shape]`: its value comes from the evaluator's `params`.
 * Gradients with respect to weights are gradients with respect to this input (DESIGN.md 3).
 *
 * @example
 * ```ts
 * import { param, showTyped } from 'neural-circuit-diagrams'
 * showTyped(param('W', 'h k')) // 'param(W[h k]) : () -> [h k]'
 * ```
 */
export const param = (name: string, shape: ShapeLike): Term => {
  if (!PARAM_NAME.test(name))
    fail('bad-argument', `param: '${name}' is not a parameter name`, {
      expected: 'letters, digits, _ . - / (not starting with a digit)',
      got: JSON.stringify(name),
    })
  const s = toShape(shape)
  return make({
    kind: 'param',
    name,
    shape: s,
    dom: Object.freeze([]),
    cod: Object.freeze([s]),
    poly: constantPoly(1),
  })
}
