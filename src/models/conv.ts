/**
 * Convolution, pooling and transposed convolution (paper section 3.3, Fig. 24-26), built only
 * from the primitives: the convolution tensor of eq. 4 cuts an axis into overlapping blocks, and
 * a learned linear map (convolution), a mean or a max (pooling) is broadcast over the blocks.
 * Tandem axes act per axis, so 2D versions apply the convolution tensor to each spatial axis in
 * turn. Transposed convolution uses the transpose of the convolution tensor, built here from the
 * unit and an inner product (Fig. 20).
 *
 * Layouts: channels last (`[x c]`, `[h w c]`, as TensorFlow's NWC / NHWC without the batch);
 * weights as PyTorch stores them (`[cOut cIn k]`, `[cOut cIn kh kw]`, and `[cIn cOut k]`,
 * `[cIn cOut kh kw]` for transposed convolution); biases `[cOut]`.
 *
 * @packageDocumentation
 */
import { box, broadcast, id, par, seq } from '../core/construct.js'
import { type Dim, type DimLike, dimKey, toDim } from '../core/dim.js'
import { fail } from '../core/errors.js'
import { add, max, mean, param } from '../core/primitives.js'
import type { Term } from '../core/term.js'
import type { Shape } from '../core/types.js'
import { einsum } from '../linear/einsum.js'
import { convTensor, convTensorAdjoint, pad } from '../linear/structural.js'

/** Zero padding of one axis: `[before, after]` entries. */
export type Padding1d = readonly [number, number]

/** Zero padding of two axes: `[[top, bottom], [left, right]]`. */
export type Padding2d = readonly [Padding1d, Padding1d]

/** The reductions of pooling (Fig. 25). */
export type PoolKind = 'max' | 'mean'

/** Options of {@link conv1d}. */
export interface Conv1dOptions {
  /** The spatial input axis. */
  readonly x: DimLike
  /** The kernel axis. */
  readonly k: DimLike
  /** Input channels. */
  readonly cIn: DimLike
  /** Output channels. */
  readonly cOut: DimLike
  /** Default 1. */
  readonly stride?: number
  /** Default 1. */
  readonly dilation?: number
  /** Zero padding of `x` before the blocks are cut: `[before, after]`. Default none. */
  readonly padding?: Padding1d
  /** Add a learned bias `name.bias` of shape `[cOut]`. Default false. */
  readonly bias?: boolean
}

/** Options of {@link conv2d}. */
export interface Conv2dOptions {
  readonly h: DimLike
  readonly w: DimLike
  readonly kh: DimLike
  readonly kw: DimLike
  readonly cIn: DimLike
  readonly cOut: DimLike
  /** `[sh, sw]`, default `[1, 1]`. */
  readonly stride?: readonly [number, number]
  /** `[dh, dw]`, default `[1, 1]`. */
  readonly dilation?: readonly [number, number]
  /** `[[top, bottom], [left, right]]` zeros, default none. */
  readonly padding?: Padding2d
  /** Add a learned bias `name.bias` of shape `[cOut]`. Default false. */
  readonly bias?: boolean
}

/** Options of {@link pool1d}. */
export interface Pool1dOptions {
  readonly x: DimLike
  readonly k: DimLike
  /** The channel axis, which the pooling is broadcast over. */
  readonly c: DimLike
  /** Default 1 (not the kernel size, as in PyTorch: the kernel size is a variable here). */
  readonly stride?: number
  /** Default 1. */
  readonly dilation?: number
  /** Zero padding, for `'mean'` only: the zeros count in the mean (PyTorch's default). */
  readonly padding?: Padding1d
}

/** Options of {@link pool2d}. */
export interface Pool2dOptions {
  readonly h: DimLike
  readonly w: DimLike
  readonly kh: DimLike
  readonly kw: DimLike
  readonly c: DimLike
  /** `[sh, sw]`, default `[1, 1]` (not the kernel size). */
  readonly stride?: readonly [number, number]
  /** `[dh, dw]`, default `[1, 1]`. */
  readonly dilation?: readonly [number, number]
  /** Zero padding, for `'mean'` only: the zeros count in the mean (PyTorch's default). */
  readonly padding?: Padding2d
}

/** Options of {@link convTensorTranspose}. */
export interface ConvTensorTransposeOptions {
  readonly stride?: number
  readonly dilation?: number
}

/** Options of {@link convTranspose1d}. */
export interface ConvTranspose1dOptions {
  /** The spatial output axis; the input axis is the derived `conv(x, k, s, d)`. */
  readonly x: DimLike
  readonly k: DimLike
  readonly cIn: DimLike
  readonly cOut: DimLike
  /** Default 1. */
  readonly stride?: number
  /** Default 1. */
  readonly dilation?: number
  /** Add a learned bias `name.bias` of shape `[cOut]`. Default false. */
  readonly bias?: boolean
}

/** Options of {@link convTranspose2d}. */
export interface ConvTranspose2dOptions {
  /** The spatial output axes; the input axes are the derived `conv(h, kh, ..)`, `conv(w, kw, ..)`. */
  readonly h: DimLike
  readonly w: DimLike
  readonly kh: DimLike
  readonly kw: DimLike
  readonly cIn: DimLike
  readonly cOut: DimLike
  /** `[sh, sw]`, default `[1, 1]`. */
  readonly stride?: readonly [number, number]
  /** `[dh, dw]`, default `[1, 1]`. */
  readonly dilation?: readonly [number, number]
  /** Add a learned bias `name.bias` of shape `[cOut]`. Default false. */
  readonly bias?: boolean
}

/** `f` on one axis, broadcast over the axes `before` and `after` it. */
const along = (f: Term, before: Shape, after: Shape): Term => {
  const inner = after.length > 0 ? broadcast(f, after, { at: 'last' }) : f
  return before.length > 0 ? broadcast(inner, before) : inner
}

/** The output axis (first axis of the codomain) of a convolution tensor. */
const blocksOf = (c: Term): Dim => c.cod[0]?.[0] as Dim

/** Zero padding of `axis` between `before` and `after` axes, or nothing; and the padded axis. */
const padAxis = (
  axis: Dim,
  padding: Padding1d | undefined,
  before: Shape,
  after: Shape,
): { readonly term: Term | undefined; readonly out: Dim } => {
  if (padding === undefined || (padding[0] === 0 && padding[1] === 0))
    return { term: undefined, out: axis }
  const p = pad(axis, padding[0], padding[1])
  return { term: along(p, before, after), out: p.cod[0]?.[0] as Dim }
}

/** `[... cOut] -> [... cOut]` adding the learned bias `[cOut]`, shared by every position. */
const biasStep = (name: string, positions: Shape, cOut: Dim): Term =>
  seq(
    par(id([[...positions, cOut]]), param(`${name}.bias`, [cOut])),
    broadcast(add([cOut]), positions, { inputs: [0, 'shared'], outputs: [0] }),
  )

const steps = (...parts: ReadonlyArray<Term | undefined>): Term =>
  seq(...parts.filter((p): p is Term => p !== undefined))

const suffix = (stride: number, dilation: number, padding?: Padding1d): string =>
  (stride !== 1 ? `, s${stride}` : '') +
  (dilation !== 1 ? `, d${dilation}` : '') +
  (padding !== undefined && (padding[0] !== 0 || padding[1] !== 0)
    ? `, pad ${padding[0]},${padding[1]}`
    : '')

/**
 * A 1D convolution layer `[x cIn] -> [conv(x′, k, s, d) cOut]` (paper Fig. 25, 26), with `x′` the
 * padded axis: zero-pad x, cut it into blocks with the convolution tensor broadcast over the
 * channels (`[x′ cIn] -> [y k cIn]`), then apply the learned linear map `k cIn -> cOut` to every
 * block, `out[i, o] = Σ_{j,c} in′[s i + d j, c] W[o, c, j] (+ b[o])`. The weight is
 * `param(name.weight, [cOut cIn k])` as PyTorch's `Conv1d`, the bias `param(name.bias, [cOut])`.
 *
 * @example
 * ```ts
 * import { conv1d, dimSize, showTyped } from 'neural-circuit-diagrams'
 * const c = conv1d('C', { x: 'x', k: 'k', cIn: 'c', cOut: 'd', stride: 2, padding: [1, 1] })
 * showTyped(c) // 'Conv1d(C: k, c -> d, s2, pad 1,1) : [x c] -> [conv(pad(x,1,1),k,s2,d1) d]'
 * dimSize(c.cod[0]![0]!, { x: 8, k: 3 }) // 4
 * ```
 */
export const conv1d = (name: string, options: Conv1dOptions): Term => {
  const [x, k, cIn, cOut] = [options.x, options.k, options.cIn, options.cOut].map(toDim) as [
    Dim,
    Dim,
    Dim,
    Dim,
  ]
  const stride = options.stride ?? 1
  const dilation = options.dilation ?? 1
  const padded = padAxis(x, options.padding, [], [cIn])
  const cut = convTensor(padded.out, k, { stride, dilation })
  const y = blocksOf(cut)
  const body = steps(
    padded.term,
    along(cut, [], [cIn]),
    par(id([[y, k, cIn]]), param(`${name}.weight`, [cOut, cIn, k])),
    einsum('i j c, o c j -> i o', { dims: { i: y, j: k, c: cIn, o: cOut } }),
    options.bias === true ? biasStep(name, [y], cOut) : undefined,
  )
  const label = `Conv1d(${name}: ${dimKey(k)}, ${dimKey(cIn)} -> ${dimKey(cOut)}${suffix(stride, dilation, options.padding)}${options.bias === true ? ', +' : ''})`
  return box(label, body)
}

/**
 * A 2D convolution layer `[h w cIn] -> [yh yw cOut]` (paper Fig. 26): tandem spatial axes act
 * per axis, so each is padded and cut into blocks by its own convolution tensor (giving
 * `[yh kh yw kw cIn]`), then one einsum applies the learned map `kh kw cIn -> cOut` to every
 * block. Weight `param(name.weight, [cOut cIn kh kw])` as PyTorch's `Conv2d` (TensorFlow's
 * filter is its permutation `[kh kw cIn cOut]`); bias `param(name.bias, [cOut])`.
 *
 * @example
 * ```ts
 * import { conv2d, dimSize, showTyped } from 'neural-circuit-diagrams'
 * const c = conv2d('C', { h: 'h', w: 'w', kh: 'p', kw: 'q', cIn: 'c', cOut: 'd', stride: [2, 1] })
 * showTyped(c) // 'Conv2d(C: p q, c -> d, s2,1) : [h w c] -> [conv(h,p,s2,d1) conv(w,q,s1,d1) d]'
 * dimSize(c.cod[0]![0]!, { h: 7, p: 3 }) // 3
 * ```
 */
export const conv2d = (name: string, options: Conv2dOptions): Term => {
  const [h, w, kh, kw, cIn, cOut] = [
    options.h,
    options.w,
    options.kh,
    options.kw,
    options.cIn,
    options.cOut,
  ].map(toDim) as [Dim, Dim, Dim, Dim, Dim, Dim]
  const cut = blocks2d(h, w, kh, kw, cIn, options.stride, options.dilation, options.padding)
  const body = steps(
    cut.term,
    par(id([[cut.yh, kh, cut.yw, kw, cIn]]), param(`${name}.weight`, [cOut, cIn, kh, kw])),
    einsum('a p b q c, o c p q -> a b o', {
      dims: { a: cut.yh, p: kh, b: cut.yw, q: kw, c: cIn, o: cOut },
    }),
    options.bias === true ? biasStep(name, [cut.yh, cut.yw], cOut) : undefined,
  )
  return box(
    `Conv2d(${name}: ${dimKey(kh)} ${dimKey(kw)}, ${dimKey(cIn)} -> ${dimKey(cOut)}${suffix2d(options.stride, options.dilation, options.padding)}${options.bias === true ? ', +' : ''})`,
    body,
  )
}

const suffix2d = (
  stride: readonly [number, number] | undefined,
  dilation: readonly [number, number] | undefined,
  padding: Padding2d | undefined,
): string => {
  const [sh, sw] = stride ?? [1, 1]
  const [dh, dw] = dilation ?? [1, 1]
  const pads = padding?.flat() ?? []
  return (
    (sh !== 1 || sw !== 1 ? `, s${sh},${sw}` : '') +
    (dh !== 1 || dw !== 1 ? `, d${dh},${dw}` : '') +
    (pads.some((n) => n !== 0) ? `, pad ${pads.join(',')}` : '')
  )
}

/** `[h w c] -> [yh kh yw kw c]`: pad both spatial axes, then cut each into blocks. */
const blocks2d = (
  h: Dim,
  w: Dim,
  kh: Dim,
  kw: Dim,
  c: Dim,
  stride: readonly [number, number] | undefined,
  dilation: readonly [number, number] | undefined,
  padding: Padding2d | undefined,
): { readonly term: Term; readonly yh: Dim; readonly yw: Dim } => {
  const [sh, sw] = stride ?? [1, 1]
  const [dh, dw] = dilation ?? [1, 1]
  const padH = padAxis(h, padding?.[0], [], [w, c])
  const padW = padAxis(w, padding?.[1], [padH.out], [c])
  const cutH = convTensor(padH.out, kh, { stride: sh, dilation: dh })
  const cutW = convTensor(padW.out, kw, { stride: sw, dilation: dw })
  const yh = blocksOf(cutH)
  const yw = blocksOf(cutW)
  const term = steps(
    padH.term,
    padW.term,
    along(cutH, [], [padW.out, c]),
    along(cutW, [yh, kh], [c]),
  )
  return { term, yh, yw }
}

const reduction = (kind: PoolKind, axis: Dim): Term => {
  if (kind === 'max') return max(axis)
  if (kind === 'mean') return mean(axis)
  return fail('bad-argument', `pool: unknown reduction '${String(kind)}'`, {
    expected: `'max' or 'mean'`,
    got: JSON.stringify(kind),
  })
}

const checkPoolPadding = (kind: PoolKind, padding: ReadonlyArray<number>): void => {
  if (kind === 'max' && padding.some((n) => n !== 0))
    fail('bad-argument', 'pool: max pooling does not take padding', {
      expected: 'no padding for max pooling, or mean pooling',
      got: `padding ${JSON.stringify(padding)}`,
      hint: 'zero padding would let 0 win over negative entries, unlike the -∞ padding of frameworks',
    })
}

/**
 * 1D pooling `[x c] -> [conv(x′, k, s, d) c]` (paper Fig. 25): the convolution tensor cuts x into
 * blocks, then a max or a mean over each block is broadcast over blocks and channels.
 * `out[i, c] = max_j in′[s i + d j, c]` (or the mean). Padding (mean only) adds zeros that count.
 *
 * @example
 * ```ts
 * import { pool1d, showTyped } from 'neural-circuit-diagrams'
 * showTyped(pool1d('max', { x: 'x', k: 'k', c: 'c', stride: 2 }))
 * // 'MaxPool1d(k, s2) : [x c] -> [conv(x,k,s2,d1) c]'
 * ```
 */
export const pool1d = (kind: PoolKind, options: Pool1dOptions): Term => {
  const [x, k, c] = [options.x, options.k, options.c].map(toDim) as [Dim, Dim, Dim]
  const stride = options.stride ?? 1
  const dilation = options.dilation ?? 1
  const reduce = reduction(kind, k)
  checkPoolPadding(kind, options.padding ?? [])
  const padded = padAxis(x, options.padding, [], [c])
  const cut = convTensor(padded.out, k, { stride, dilation })
  const y = blocksOf(cut)
  const body = steps(padded.term, along(cut, [], [c]), along(reduce, [y], [c]))
  return box(`${poolName(kind)}1d(${dimKey(k)}${suffix(stride, dilation, options.padding)})`, body)
}

const poolName = (kind: PoolKind): string => (kind === 'max' ? 'MaxPool' : 'AvgPool')

/**
 * 2D pooling `[h w c] -> [yh yw c]` (paper Fig. 25): each spatial axis is cut into blocks by its
 * convolution tensor (`[yh kh yw kw c]`), then the max or mean is taken over `kh` and then over
 * `kw`, broadcast over the blocks and channels (blocks have equal sizes, so two means are the mean
 * of the block). Padding (mean only) adds zeros that count.
 *
 * @example
 * ```ts
 * import { pool2d, showTyped } from 'neural-circuit-diagrams'
 * showTyped(pool2d('mean', { h: 'h', w: 'w', kh: 'p', kw: 'q', c: 'c', stride: [2, 2] }))
 * // 'AvgPool2d(p q, s2,2) : [h w c] -> [conv(h,p,s2,d1) conv(w,q,s2,d1) c]'
 * ```
 */
export const pool2d = (kind: PoolKind, options: Pool2dOptions): Term => {
  const [h, w, kh, kw, c] = [options.h, options.w, options.kh, options.kw, options.c].map(
    toDim,
  ) as [Dim, Dim, Dim, Dim, Dim]
  const overH = reduction(kind, kh)
  const overW = reduction(kind, kw)
  checkPoolPadding(kind, options.padding?.flat() ?? [])
  const cut = blocks2d(h, w, kh, kw, c, options.stride, options.dilation, options.padding)
  const body = steps(
    cut.term,
    along(overH, [cut.yh], [cut.yw, kw, c]),
    along(overW, [cut.yh, cut.yw], [c]),
  )
  return box(
    `${poolName(kind)}2d(${dimKey(kh)} ${dimKey(kw)}${suffix2d(options.stride, options.dilation, options.padding)})`,
    body,
  )
}

/**
 * The transpose of the convolution tensor (paper Fig. 26): the linear map
 * `[conv(x, k, s, d) k] -> [x]`, `out[l] = Σ_{s i + d j = l} in[i, j]`, which scatters every block
 * back onto the positions it was cut from, adding overlaps. It is `transpose(convTensor(…))`, the
 * `convTensorAdjoint` leaf with a direct kernel; {@link convTensorTransposeBySnake} builds the
 * same map from the unit and the cup (Fig. 20).
 *
 * @example
 * ```ts
 * import { convTensorTranspose, evaluate, showTyped } from 'neural-circuit-diagrams'
 * const t = convTensorTranspose('x', 'k', { stride: 2 })
 * showTyped(t) // 'convTensorᵀ(x,k,s2,d1) : [conv(x,k,s2,d1) k] -> [x]'
 * // x = 5, k = 3, stride 2: two blocks overlap at position 2.
 * evaluate(t, { x: 5, k: 3 }, [[1, 1, 1, 1, 1, 1]])[0] // Float64Array [1, 1, 2, 1, 1]
 * ```
 */
export const convTensorTranspose = (
  input: DimLike,
  kernel: DimLike,
  options: ConvTensorTransposeOptions = {},
): Term => convTensorAdjoint(input, kernel, options)

/**
 * The transposed convolution tensor built with the unit and the cup (Fig. 20):
 * `einsum('i j -> l l i j')` is the unit `η_x` (the identity matrix, every basis vector of `R^x`)
 * times the input; the convolution tensor is broadcast over the first `x` axis and over the input
 * (`[x x y k] -> [x y k y k]`), and the cup pairs its blocks with the input,
 * `einsum('l a b a b -> l')`. It holds an `x·(y·k)²` tensor: the law `transpose/conv` shows it
 * equal to the direct {@link convTensorTranspose}.
 *
 * @example
 * ```ts
 * import { convTensorTransposeBySnake, evaluate, show } from 'neural-circuit-diagrams'
 * const t = convTensorTransposeBySnake('x', 'k', { stride: 2 })
 * show(t) // 'convTensorᵀ-snake(x,k,s2,d1)'
 * evaluate(t, { x: 5, k: 3 }, [[1, 1, 1, 1, 1, 1]])[0] // Float64Array [1, 1, 2, 1, 1]
 * ```
 */
export const convTensorTransposeBySnake = (
  input: DimLike,
  kernel: DimLike,
  options: ConvTensorTransposeOptions = {},
): Term => {
  const x = toDim(input)
  const k = toDim(kernel)
  const cut = convTensor(x, k, options)
  const y = blocksOf(cut)
  const body = seq(
    einsum('i j -> l l i j', { dims: { i: y, j: k, l: x } }),
    along(cut, [x], [y, k]),
    einsum('l a b a b -> l', { dims: { l: x, a: y, b: k } }),
  )
  return box(
    `convTensorᵀ-snake(${dimKey(x)},${dimKey(k)},s${options.stride ?? 1},d${options.dilation ?? 1})`,
    body,
  )
}

/**
 * A 1D transposed convolution layer `[conv(x, k, s, d) cIn] -> [x cOut]` (paper Fig. 26): the
 * learned map `cIn -> k cOut` broadcast over the input positions makes one output block per
 * position (`[y k cOut]`), and the transposed convolution tensor, broadcast over the channels,
 * adds the blocks back onto the positions they cover:
 * `out[l, o] = Σ_{s i + d j = l} Σ_c in[i, c] W[c, o, j] (+ b[o])`.
 * Weight `param(name.weight, [cIn cOut k])` as PyTorch's `ConvTranspose1d`; bias `[cOut]`.
 *
 * The input axis is the derived dim `conv(x, k, s, d)`, so one binds the output length x:
 * `x = (y - 1) s + d (k - 1) + 1` is what frameworks produce, and up to `s - 1` more positions
 * give trailing zeros (TensorFlow's `outputShape`, PyTorch's `output_padding`).
 *
 * @example
 * ```ts
 * import { convTranspose1d, showTyped } from 'neural-circuit-diagrams'
 * showTyped(convTranspose1d('T', { x: 'x', k: 'k', cIn: 'c', cOut: 'd', stride: 2 }))
 * // 'ConvTranspose1d(T: k, c -> d, s2) : [conv(x,k,s2,d1) c] -> [x d]'
 * ```
 */
export const convTranspose1d = (name: string, options: ConvTranspose1dOptions): Term => {
  const [x, k, cIn, cOut] = [options.x, options.k, options.cIn, options.cOut].map(toDim) as [
    Dim,
    Dim,
    Dim,
    Dim,
  ]
  const stride = options.stride ?? 1
  const dilation = options.dilation ?? 1
  const scatter = convTensorTranspose(x, k, { stride, dilation })
  const y = scatter.dom[0]?.[0] as Dim
  const body = steps(
    par(id([[y, cIn]]), param(`${name}.weight`, [cIn, cOut, k])),
    einsum('i c, c o j -> i j o', { dims: { i: y, c: cIn, o: cOut, j: k } }),
    along(scatter, [], [cOut]),
    options.bias === true ? biasStep(name, [x], cOut) : undefined,
  )
  return box(
    `ConvTranspose1d(${name}: ${dimKey(k)}, ${dimKey(cIn)} -> ${dimKey(cOut)}${suffix(stride, dilation)}${options.bias === true ? ', +' : ''})`,
    body,
  )
}

/**
 * A 2D transposed convolution layer `[conv(h, kh, ..) conv(w, kw, ..) cIn] -> [h w cOut]` (paper
 * Fig. 26): the learned map `cIn -> kh kw cOut` makes one block per input position
 * (`[yh kh yw kw cOut]`), then the transposed convolution tensor of each spatial axis scatters
 * the blocks back. Weight `param(name.weight, [cIn cOut kh kw])` as PyTorch's `ConvTranspose2d`
 * (TensorFlow's `conv2dTranspose` filter is its permutation `[kh kw cOut cIn]`); bias `[cOut]`.
 * As in {@link convTranspose1d}, one binds the output sizes h and w.
 *
 * @example
 * ```ts
 * import { convTranspose2d, showTyped } from 'neural-circuit-diagrams'
 * showTyped(convTranspose2d('T', { h: 'h', w: 'w', kh: 'p', kw: 'q', cIn: 'c', cOut: 'd' }))
 * // 'ConvTranspose2d(T: p q, c -> d) : [conv(h,p,s1,d1) conv(w,q,s1,d1) c] -> [h w d]'
 * ```
 */
export const convTranspose2d = (name: string, options: ConvTranspose2dOptions): Term => {
  const [h, w, kh, kw, cIn, cOut] = [
    options.h,
    options.w,
    options.kh,
    options.kw,
    options.cIn,
    options.cOut,
  ].map(toDim) as [Dim, Dim, Dim, Dim, Dim, Dim]
  const [sh, sw] = options.stride ?? [1, 1]
  const [dh, dw] = options.dilation ?? [1, 1]
  const scatterH = convTensorTranspose(h, kh, { stride: sh, dilation: dh })
  const scatterW = convTensorTranspose(w, kw, { stride: sw, dilation: dw })
  const yh = scatterH.dom[0]?.[0] as Dim
  const yw = scatterW.dom[0]?.[0] as Dim
  const body = steps(
    par(id([[yh, yw, cIn]]), param(`${name}.weight`, [cIn, cOut, kh, kw])),
    einsum('a b c, c o p q -> a p b q o', {
      dims: { a: yh, b: yw, c: cIn, o: cOut, p: kh, q: kw },
    }),
    along(scatterH, [], [yw, kw, cOut]),
    along(scatterW, [h], [cOut]),
    options.bias === true ? biasStep(name, [h, w], cOut) : undefined,
  )
  return box(
    `ConvTranspose2d(${name}: ${dimKey(kh)} ${dimKey(kw)}, ${dimKey(cIn)} -> ${dimKey(cOut)}${suffix2d(options.stride, options.dilation, undefined)}${options.bias === true ? ', +' : ''})`,
    body,
  )
}
