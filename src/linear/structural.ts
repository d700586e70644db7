/**
 * The linear maps that move data between axes without arithmetic: indexes (kets, paper Fig. 10,
 * 11), views of tandem axes, zero padding, the convolution tensor (eq. 4, 5) and the zero map.
 *
 * @packageDocumentation
 */
import { broadcast, make, seq } from '../core/construct.js'
import {
  type DimLike,
  dimConv,
  dimFactors,
  dimPadded,
  dimSize,
  showDim,
  describeValue,
  dimConvT,
  dimCropped,
  readDim,
  dimSum,
  dimEquals,
  type Dim,
} from '../core/dim.js'
import { TermError, fail } from '../core/errors.js'
import { identityPoly, sumPoly, zeroPoly } from '../core/linearity.js'
import type { Term } from '../core/term.js'
import {
  type Shape,
  type ShapeLike,
  type TupleType,
  showShape,
  toShape,
  toType,
} from '../core/types.js'
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

/**
 * The crop of any axis: `[a] -> [crop(a, before, after)]`, the entries from `before` to
 * `a - after` (evaluation refuses a crop that leaves nothing). On a padded axis it undoes the
 * padding: `cropAxis(pad(x,1,1), 1, 1) : [pad(x,1,1)] -> [x]` is {@link crop}.
 *
 * @example
 * ```ts
 * import { cropAxis, evaluate, showTyped } from 'neural-circuit-diagrams'
 * showTyped(cropAxis('x', 1, 2)) // 'crop(crop(x,1,2),1,2) : [x] -> [crop(x,1,2)]'
 * evaluate(cropAxis('x', 1, 2), { x: 5 }, [[1, 2, 3, 4, 5]])[0] // Float64Array [2, 3]
 * ```
 */
export const cropAxis = (axis: DimLike, before: number, after: number): Term => {
  const a = readDim(axis, 'cropAxis: the axis')
  return flipAdjoint(pad(dimCropped(a, before, after), before, after) as Flippable)
}

/** Options of {@link convTensorTransposeFrom}. */
export interface ConvTransposeFromOptions {
  /** Default 1. */
  readonly stride?: number
  /** Default 1. */
  readonly dilation?: number
  /** Entries cropped at both ends of the output (PyTorch's `padding`). Default 0. */
  readonly padding?: number
  /** Zeros added at the end of the output, below the stride (PyTorch's `output_padding`). Default 0. */
  readonly outputPadding?: number
}

/**
 * The transposed convolution tensor built from its input (blocks) axis `y` (paper Fig. 26):
 * `[y k] -> [x]` with `x = (y - 1) s - 2 p + d (k - 1) + op + 1`, PyTorch's `ConvTranspose`
 * output size: the adjoint of the convolution tensor of the axis `convT(y, k, s, d, op)` (whose
 * blocks axis is `y` again, as `dimConv` undoes `dimConvT`), then the padding `p` cropped at both
 * ends. So an up-sampling path can follow a down-sampling one: the output of a kernel-2 stride-2
 * transposed convolution of `y` is `(2*y)`.
 *
 * @example
 * ```ts
 * import { constDim, convTensorTransposeFrom, evaluate, showTyped } from 'neural-circuit-diagrams'
 * showTyped(convTensorTransposeFrom('y', constDim(2), { stride: 2 })) // 'convTensorᵀ((2*y),2,s2,d1) : [y 2] -> [(2*y)]'
 * evaluate(convTensorTransposeFrom('y', 'k', { padding: 1 }), { y: 2, k: 3 }, [[1, 2, 3, 4, 5, 6]])[0] // Float64Array [6, 8]
 * ```
 */
export const convTensorTransposeFrom = (
  input: DimLike,
  kernel: DimLike,
  options: ConvTransposeFromOptions = {},
): Term => {
  const y = readDim(input, 'convTensorTransposeFrom: the input axis')
  const k = readDim(kernel, 'convTensorTransposeFrom: the kernel axis')
  const stride = options.stride ?? 1
  const dilation = options.dilation ?? 1
  const p = options.padding ?? 0
  const op = options.outputPadding ?? 0
  if (!Number.isInteger(op) || op < 0 || op >= stride)
    fail('bad-argument', 'convTensorTransposeFrom: the output padding must be below the stride', {
      expected: `an integer from 0 to ${stride - 1}`,
      got: describeValue(op),
    })
  if (!Number.isInteger(p) || p < 0)
    fail('bad-argument', 'convTensorTransposeFrom: the padding must be an integer >= 0', {
      expected: 'an integer >= 0',
      got: describeValue(p),
    })
  const full = dimConvT(y, k, stride, dilation, op)
  const scatter = convTensorAdjoint(full, k, { stride, dilation })
  return p === 0 ? scatter : seq(scatter, cropAxis(full, p, p))
}

const readPieces = (pieces: ReadonlyArray<DimLike>, where: string): Shape => {
  if (!Array.isArray(pieces) || pieces.length === 0)
    fail('bad-argument', `${where}: needs the axes of one part or more`, {
      expected: 'a non-empty list of dims, one per part',
      got: describeValue(pieces),
    })
  return Object.freeze(pieces.map((d, i) => readDim(d, `${where}: the axis of part ${i}`)))
}

/**
 * Concatenation on one axis, `[a₁] × ... × [aₙ] -> [a₁ + ... + aₙ]` (the sum as `dimSum` writes
 * it): the primitive that {@link concat} broadcasts over the other axes. @internal
 */
export const concatPieces = (pieces: ReadonlyArray<DimLike>): Term => {
  const ps = readPieces(pieces, 'concat')
  return make({
    kind: 'concat',
    pieces: ps,
    dom: Object.freeze(ps.map((d) => Object.freeze([d]))),
    cod: Object.freeze([Object.freeze([dimSum(...ps)])]),
    poly: sumPoly(ps.length),
  })
}

/**
 * The split on one axis, `[a₁ + ... + aₙ] -> [a₁] × ... × [aₙ]`: the transpose of
 * {@link concatPieces}, which {@link split} broadcasts over the other axes. @internal
 */
export const splitPieces = (pieces: ReadonlyArray<DimLike>): Term => {
  const ps = readPieces(pieces, 'split')
  return make({
    kind: 'concat',
    pieces: ps,
    adjoint: true,
    dom: Object.freeze([Object.freeze([dimSum(...ps)])]),
    cod: Object.freeze(ps.map((d) => Object.freeze([d]))),
    poly: Object.freeze(ps.map(() => Object.freeze(['0']))),
  })
}

/**
 * The parts of a concatenation or split: their shapes, the position of the joined axis (a
 * negative position counts from the end, as in PyTorch), and the shape with the axis joined.
 */
const joinShapes = (
  axis: number,
  parts: ReadonlyArray<ShapeLike>,
  where: string,
): { readonly at: number; readonly shapes: ReadonlyArray<Shape> } => {
  if (!Array.isArray(parts) || parts.length === 0)
    fail('bad-argument', `${where}: needs the shapes of one part or more`, {
      expected: "a non-empty list of shapes, such as [['c1', 'h'], ['c2', 'h']]",
      got: describeValue(parts),
    })
  const shapes = parts.map((s, i) => {
    try {
      return toShape(s)
    } catch (e) {
      if (!(e instanceof TermError)) throw e
      return fail(e.code, `${where}: part ${i}: ${e.summary}`, e.details)
    }
  })
  const first = shapes[0] as Shape
  const rank = first.length
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank)
    fail('bad-argument', `${where}: the axis must be a position in the parts' shapes`, {
      expected:
        rank === 0
          ? 'parts with at least one axis'
          : `an integer from ${-rank} to ${rank - 1} (the parts are ${showShape(first)})`,
      got: describeValue(axis),
    })
  const at = axis < 0 ? axis + rank : axis
  shapes.forEach((s, i) => {
    const same = s.length === rank && s.every((d, j) => j === at || dimEquals(d, first[j] as Dim))
    if (!same)
      fail('type-mismatch', `${where}: part ${i} does not match part 0 off the joined axis`, {
        expected: `${showShape(first.map((d, j) => (j === at ? (s[j] ?? d) : d)))} (axis ${at} may differ)`,
        got: showShape(s),
        hint: 'every part must have the same axes except the one joined',
      })
  })
  return { at, shapes }
}

/** The one-axis primitive `f` broadcast over the axes of `shape` before and after `at`. */
const overOtherAxes = (f: Term, shape: Shape, at: number): Term => {
  const before = shape.slice(0, at)
  const after = shape.slice(at + 1)
  const inner = after.length === 0 ? f : broadcast(f, after, { at: 'last' })
  return before.length === 0 ? inner : broadcast(inner, before, { at: 0 })
}

/**
 * Concatenation along an axis (`torch.cat`, `np.concatenate`): the linear map from a tuple of
 * tensors to one tensor, the parts joined end to end in order on axis `axis` (a negative axis
 * counts from the end), the other axes shared. The joined axis is the sum of the parts' axes
 * (`dimSum`). Built as the one-axis concatenation broadcast over the other axes (the skip
 * connections of U-Net concatenate channels, paper Fig. 28); its transpose is {@link split}.
 *
 * @example
 * ```ts
 * import { concat, evaluate, showTyped } from 'neural-circuit-diagrams'
 * showTyped(concat(0, [['a'], ['b']])) // 'concat(a,b) : [a] × [b] -> [(a+b)]'
 * showTyped(concat(0, ['c h', 'c h'])) // 'bcast[h @in(1,1) @out(1)](concat(c,c)) : [c h] × [c h] -> [(2*c) h]'
 * evaluate(concat(-1, [['h', 'a'], ['h', 'b']]), { h: 2, a: 1, b: 2 }, [[1, 2], [3, 4, 5, 6]])[0] // Float64Array [1, 3, 4, 2, 5, 6]
 * ```
 */
export const concat = (axis: number, parts: ReadonlyArray<ShapeLike>): Term => {
  const { at, shapes } = joinShapes(axis, parts, 'concat')
  return overOtherAxes(concatPieces(shapes.map((s) => s[at] as Dim)), shapes[0] as Shape, at)
}

/**
 * The split along an axis (`torch.split`, `np.split`): one tensor cut on axis `axis` into parts
 * of the given shapes, in order; the transpose of {@link concat} (and its inverse on either side).
 *
 * @example
 * ```ts
 * import { split, evaluate, showTyped } from 'neural-circuit-diagrams'
 * showTyped(split(0, [['a'], ['b']])) // 'split(a,b) : [(a+b)] -> [a] × [b]'
 * evaluate(split(0, [['a'], ['b']]), { a: 1, b: 2 }, [[1, 2, 3]]) // [Float64Array [1], Float64Array [2, 3]]
 * ```
 */
export const split = (axis: number, parts: ReadonlyArray<ShapeLike>): Term => {
  const { at, shapes } = joinShapes(axis, parts, 'split')
  return overOtherAxes(splitPieces(shapes.map((s) => s[at] as Dim)), shapes[0] as Shape, at)
}
