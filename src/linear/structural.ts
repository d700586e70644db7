/**
 * The linear maps that move data between axes without arithmetic: indexes (kets, paper Fig. 10,
 * 11), views of tandem axes, zero padding, the convolution tensor (eq. 4, 5) and the zero map.
 *
 * @packageDocumentation
 */
import { make } from '../core/construct.js'
import {
  type DimLike,
  dimConv,
  dimFactors,
  dimPadded,
  dimSize,
  showDim,
  describeValue,
  readDim,
} from '../core/dim.js'
import { TermError, fail } from '../core/errors.js'
import { identityPoly, zeroPoly } from '../core/linearity.js'
import type { Term } from '../core/term.js'
import { type ShapeLike, type TupleType, showShape, toShape, toType } from '../core/types.js'
import type { TypeLike } from '../core/construct.js'

/**
 * The ket `|i⟩`: the entry at position `i` of axis `a`, `[a] -> []` (paper Fig. 10, 11). Broadcast
 * it to index one axis of a larger tensor. Positions start at 0; a position past a default size
 * is refused here, past a bound size at evaluation.
 *
 * @example
 * ```ts
 * import { index, broadcast, showTyped } from 'neural-circuit-diagrams'
 * // Fig. 10: a row of a [a b] table.
 * showTyped(broadcast(index('a', 2), ['b'], { at: 'last' })) // 'bcast[b @in(1) @out(0)](|2⟩_a) : [a b] -> [b]'
 * ```
 */
export const index = (axis: DimLike, at: number): Term => {
  const a = readDim(axis, 'index: the axis')
  if (!Number.isInteger(at) || at < 0)
    fail('bad-index', `index: the position on ${showDim(a)} must be an integer >= 0`, {
      expected: 'an integer >= 0 (positions start at 0)',
      got: describeValue(at),
    })
  if (a.kind === 'var' && a.size !== undefined && at >= a.size)
    fail('bad-index', `index: position ${at} is past the end of ${showDim(a)}`, {
      expected: `a position from 0 to ${a.size - 1} (${showDim(a)} has default size ${a.size})`,
      got: String(at),
    })
  if (a.kind === 'const' && at >= a.value)
    fail('bad-index', `index: position ${at} is past the end of an axis of size ${a.value}`, {
      expected: `a position from 0 to ${a.value - 1}`,
      got: String(at),
    })
  return make({
    kind: 'index',
    axis: a,
    at,
    dom: Object.freeze([Object.freeze([a])]),
    cod: Object.freeze([Object.freeze([])]),
    poly: identityPoly(1),
  })
}

const factorKey = (s: ReadonlyArray<ReturnType<typeof dimFactors>>) => {
  const atoms = s.flatMap((f) => f.atoms).sort()
  const constant = s.reduce((n, f) => n * f.constant, 1)
  return `${constant}:${atoms.join('*')}`
}

/**
 * A row-major reshape between shapes of the same size: tandem axes as one (paper Fig. 11), or
 * back. The sizes must agree for every binding of the dims, so the factors must match.
 *
 * @example
 * ```ts
 * import { view, dimProduct, showTyped } from 'neural-circuit-diagrams'
 * showTyped(view('h w c', [dimProduct('h', 'w'), 'c'])) // 'view([h w c] -> [(h*w) c]) : [h w c] -> [(h*w) c]'
 * ```
 */
export const view = (from: ShapeLike, to: ShapeLike): Term => {
  const f = toShape(from)
  const t = toShape(to)
  const kf = factorKey(f.map(dimFactors))
  const kt = factorKey(t.map(dimFactors))
  if (kf !== kt)
    fail('bad-view', `view: ${showShape(f)} and ${showShape(t)} do not have the same size`, {
      expected: `a shape whose dims multiply to the factors of ${showShape(f)}`,
      got: showShape(t),
      hint: 'a view only regroups axes; use einsum to sum or diagonalise, pad to grow',
    })
  return make({
    kind: 'view',
    from: f,
    to: t,
    dom: Object.freeze([f]),
    cod: Object.freeze([t]),
    poly: identityPoly(1),
  })
}

/**
 * Zero padding of one axis: `[a] -> [pad(a, before, after)]` (paper section 3.3, Fig. 26).
 *
 * @example
 * ```ts
 * import { pad, showTyped } from 'neural-circuit-diagrams'
 * showTyped(pad('x', 1, 2)) // 'pad(x,1,2) : [x] -> [pad(x,1,2)]'
 * ```
 */
export const pad = (axis: DimLike, before: number, after: number): Term => {
  const a = readDim(axis, 'pad: the axis')
  const out = dimPadded(a, before, after)
  return make({
    kind: 'pad',
    axis: a,
    before,
    after,
    dom: Object.freeze([Object.freeze([a])]),
    cod: Object.freeze([Object.freeze([out])]),
    poly: identityPoly(1),
  })
}

/** Options of {@link convTensor}. */
export interface ConvOptions {
  readonly stride?: number
  readonly dilation?: number
}

/**
 * The convolution tensor of paper eq. 4, as the linear map `[x] -> [y k]` that cuts the input
 * into overlapping blocks: `out[i, j] = in[s i + d j]`, with `y` given by eq. 5. Broadcasting a
 * linear map, a mean or a max over the blocks gives convolution and pooling (Fig. 25); its
 * transpose gives transposed convolution (Fig. 26).
 *
 * @example
 * ```ts
 * import { convTensor, dimSize, showTyped } from 'neural-circuit-diagrams'
 * const c = convTensor('x', 'k', { stride: 2 })
 * showTyped(c) // 'convTensor(x,k,s2,d1) : [x] -> [conv(x,k,s2,d1) k]'
 * dimSize(c.cod[0]![0]!, { x: 9, k: 3 }) // 4
 * ```
 */
export const convTensor = (input: DimLike, kernel: DimLike, options: ConvOptions = {}): Term => {
  const x = readDim(input, 'convTensor: the input axis')
  const k = readDim(kernel, 'convTensor: the kernel axis')
  const stride = options.stride ?? 1
  const dilation = options.dilation ?? 1
  const y = dimConv(x, k, stride, dilation)
  // Refuse now what defaults already show to be empty.
  try {
    dimSize(y, {})
  } catch (e) {
    if (e instanceof TermError && e.code === 'bad-size') throw e
  }
  return make({
    kind: 'convTensor',
    input: x,
    kernel: k,
    stride,
    dilation,
    dom: Object.freeze([Object.freeze([x])]),
    cod: Object.freeze([Object.freeze([y, k])]),
    poly: identityPoly(1),
  })
}

/**
 * The zero map `() -> T`; the transpose of `drop(T)`.
 *
 * @example
 * ```ts
 * import { zero, showTyped } from 'neural-circuit-diagrams'
 * showTyped(zero([['y']])) // 'zero([y]) : () -> [y]'
 * ```
 */
export const zero = (type: TypeLike): Term => {
  const t: TupleType = toType(type)
  return make({ kind: 'zero', type: t, dom: Object.freeze([]), cod: t, poly: zeroPoly(t.length) })
}

type Flippable = Extract<Term, { kind: 'index' | 'pad' | 'convTensor' }>

/**
 * The transpose of an index, a padding or a convolution tensor, as the same kind marked
 * `adjoint` with domain and codomain exchanged; the adjoint of an adjoint is the original.
 * @internal
 */
export const flipAdjoint = (t: Flippable): Term => {
  const { linearity: _l, adjoint, dom, cod, ...rest } = t
  return make({
    ...rest,
    ...(adjoint === true ? {} : { adjoint: true as const }),
    dom: cod,
    cod: dom,
  })
}

/**
 * The one-hot embedding `⟨i|`: `[] -> [a]`, the scalar at position `i` and zeros elsewhere; the
 * transpose of {@link index} (paper Fig. 10, 20).
 *
 * @example
 * ```ts
 * import { oneHot, evaluate, showTyped } from 'neural-circuit-diagrams'
 * showTyped(oneHot('a', 1)) // '⟨1|_a : [] -> [a]'
 * evaluate(oneHot('a', 1), { a: 3 }, [[5]])[0] // Float64Array [0, 5, 0]
 * ```
 */
export const oneHot = (axis: DimLike, at: number): Term => flipAdjoint(index(axis, at) as Flippable)

/**
 * The crop `[pad(a, before, after)] -> [a]`: the transpose of {@link pad}.
 *
 * @example
 * ```ts
 * import { crop, evaluate, showTyped } from 'neural-circuit-diagrams'
 * showTyped(crop('x', 1, 1)) // 'crop(x,1,1) : [pad(x,1,1)] -> [x]'
 * evaluate(crop('x', 1, 1), { x: 2 }, [[9, 1, 2, 9]])[0] // Float64Array [1, 2]
 * ```
 */
export const crop = (axis: DimLike, before: number, after: number): Term =>
  flipAdjoint(pad(axis, before, after) as Flippable)

/**
 * The transposed convolution tensor `[y k] -> [x]`, `out[s i + d j] += in[i, j]`: the transpose
 * of {@link convTensor}, which transposed convolution broadcasts (paper Fig. 26).
 *
 * @example
 * ```ts
 * import { convTensorAdjoint, evaluate, showTyped } from 'neural-circuit-diagrams'
 * showTyped(convTensorAdjoint('x', 'k')) // 'convTensorᵀ(x,k,s1,d1) : [conv(x,k,s1,d1) k] -> [x]'
 * evaluate(convTensorAdjoint('x', 'k'), { x: 3, k: 2 }, [[1, 2, 3, 4]])[0] // Float64Array [1, 5, 4]
 * ```
 */
export const convTensorAdjoint = (
  input: DimLike,
  kernel: DimLike,
  options: ConvOptions = {},
): Term => flipAdjoint(convTensor(input, kernel, options) as Flippable)
