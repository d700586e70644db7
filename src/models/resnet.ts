/**
 * The identity residual network with full pre-activation, IdResNet (He et al. 2016, "Identity
 * Mappings in Deep Residual Networks"), as paper Fig. 27 draws it: a 3x3 stem, `Block(s, N)`s of
 * bottleneck residual units, then BatchNorm & Activate, a global average pool, a linear layer and
 * SoftMax.
 *
 * Layout, as the figure's wires read top to bottom: `[x̄ x̄ c b]`, two spatial axes, the channels
 * and the batch. The batch is an axis of its own because batch normalisation reads it.
 *
 * Sizes: a same-padded 3x3 convolution keeps its dim (`conv(pad(h,1,1),3,s1,d1)` is `h`, the
 * canonical forms of `src/core/dim.ts`), and a stride-2 1x1 convolution halves `(2*h)` to `h`.
 * So the network is written in the side `x` of its last stage: the input side is
 * `dimProduct(S, x)` with S the product of the strides (`(4*x)` for Fig. 27, `x = 8` for a 32x32
 * image), and the global pool is a kernel as wide as `x`, whose output dim is `1`.
 *
 * @packageDocumentation
 */
import { box, broadcast, copy, id, par, seq } from '../core/construct.js'
import {
  type Dim,
  type DimLike,
  constDim,
  dimConv,
  dimKey,
  dimProduct,
  toDim,
} from '../core/dim.js'
import { fail } from '../core/errors.js'
import { add, layerNorm, param, relu, softmax } from '../core/primitives.js'
import type { Term } from '../core/term.js'
import { einsum } from '../linear/einsum.js'
import { linearLayer } from '../linear/layer.js'
import { view } from '../linear/structural.js'
import { conv2d, pool2d } from './conv.js'

/** A dim given as a name, a dim or a fixed size. */
export type SizeLike = DimLike | number

/** A fixed size as a constant dim, anything else as {@link toDim} reads it. @internal */
export const sizeDim = (d: SizeLike): Dim => (typeof d === 'number' ? constDim(d) : toDim(d))

/** Options of {@link batchNorm}. */
export interface BatchNormOptions {
  /** The spatial axes (statistics are taken over them and the batch). */
  readonly spatial: ReadonlyArray<SizeLike>
  /** The channel axis: one mean, variance, gain and bias per channel. */
  readonly c: SizeLike
  /** The batch axis. */
  readonly b: SizeLike
  /** Added to the variance, default 1e-5 (PyTorch's `BatchNorm2d`). */
  readonly epsilon?: number
}

/**
 * Batch normalisation in training mode (Ioffe and Szegedy 2015; the circle of Fig. 27's
 * BatchNorm & Activate): `[...spatial c b] -> [...spatial c b]`, each channel normalised by the
 * mean and the biased variance over the spatial axes and the batch, then scaled by
 * `name.gain [c]` and shifted by `name.bias [c]` (`BatchNorm2d`'s weight and bias, with batch
 * statistics). Built from the primitives: the channel moves first (an einsum), the other axes
 * become one tandem axis (a view, Fig. 11), `layerNorm` over it is broadcast over the channels,
 * and the learned affine map follows. Running averages, which only inference uses, are state,
 * not part of the function.
 *
 * @example
 * ```ts
 * import { batchNorm, showTyped } from 'neural-circuit-diagrams'
 * showTyped(batchNorm('bn', { spatial: ['h', 'w'], c: 'c', b: 'b' }))
 * // 'BatchNorm(bn: c) : [h w c b] -> [h w c b]'
 * ```
 */
export const batchNorm = (name: string, options: BatchNormOptions): Term => {
  const spatial = options.spatial.map(sizeDim)
  const [c, b] = [sizeDim(options.c), sizeDim(options.b)]
  const letters = spatial.map((_, i) => `s${i}`)
  const dims = { ...Object.fromEntries(letters.map((l, i) => [l, spatial[i] as Dim])), c, b }
  const pooled = dimProduct(...spatial, b)
  const layout = [...spatial, c, b]
  const channelFirst = [c, ...spatial, b]
  const body = seq(
    einsum(`${letters.join(' ')} c b -> c ${letters.join(' ')} b`, { dims }),
    view(channelFirst, [c, pooled]),
    broadcast(layerNorm(pooled, { epsilon: options.epsilon ?? 1e-5 }), [c]),
    view([c, pooled], channelFirst),
    par(id([channelFirst]), param(`${name}.gain`, [c])),
    einsum(`c ${letters.join(' ')} b, c -> ${letters.join(' ')} c b`, { dims }),
    par(id([layout]), param(`${name}.bias`, [c])),
    broadcast(broadcast(add([c]), [b], { at: 'last', inputs: [1, 'shared'] }), spatial, {
      inputs: [0, 'shared'],
    }),
  )
  return box(`BatchNorm(${name}: ${dimKey(c)})`, body)
}

/** Options of {@link idResNet}. */
export interface IdResNetOptions {
  /**
   * The spatial side of the last stage (`x̄/4` in Fig. 27); the input side is `dimProduct(S, x)`,
   * S the product of the strides.
   */
  readonly x: DimLike
  /** The batch axis. */
  readonly b: DimLike
  /** Input channels (3 in Fig. 27). */
  readonly channels: SizeLike
  /** Classes (10 in Fig. 27). */
  readonly classes: SizeLike
  /**
   * The widths `n_μ`: the stem's, then each block's output width ([16, 64, 128, 256] in
   * Fig. 27). Each block's bottleneck is `n_b = n/4` (the legend of `Block(s, N)`).
   */
  readonly widths: ReadonlyArray<number>
  /** Each block's stride, one per block (default [1, 2, 2, ...]: the first block keeps the size). */
  readonly strides?: ReadonlyArray<number>
  /** Residual units per block, N (3 in Fig. 27). */
  readonly units: number
  /** End with SoftMax over the classes (default true, as Fig. 27). */
  readonly softmax?: boolean
}

/** `f` acting on `[... c]`, broadcast over the batch at the end. */
const perImage = (f: Term, b: Dim): Term => broadcast(f, [b], { at: 'last' })

/** A same-padded square convolution `[h h cIn b] -> [h' h' cOut b]` (★k in Fig. 27). */
const conv = (
  name: string,
  h: Dim,
  k: number,
  cIn: Dim,
  cOut: Dim,
  b: Dim,
  stride = 1,
  bias = false,
): Term => {
  const p = (k - 1) / 2
  const kernel = constDim(k)
  return perImage(
    conv2d(name, {
      h,
      w: h,
      kh: kernel,
      kw: kernel,
      cIn,
      cOut,
      stride: [stride, stride],
      ...(p > 0
        ? {
            padding: [
              [p, p],
              [p, p],
            ] as const,
          }
        : {}),
      bias,
    }),
    b,
  )
}

/** BatchNorm & Activate (the pink R boxes of Fig. 27): batch norm, then ReLU. */
const normActivate = (name: string, h: Dim, c: Dim, b: Dim): Term =>
  box('BatchNorm & Activate', seq(batchNorm(name, { spatial: [h, h], c, b }), relu([h, h, c, b])))

/** `copy ; (branch ⊗ shortcut) ; add` (the Residual Component of Fig. 27). */
const residual = (shape: ReadonlyArray<Dim>, branch: Term, shortcut: Term): Term =>
  seq(copy([shape]), par(branch, shortcut), add(branch.cod[0] as ReadonlyArray<Dim>))

const checkWidth = (n: number, where: string): void => {
  if (!Number.isInteger(n) || n < 4 || n % 4 !== 0)
    fail('bad-argument', `idResNet: ${where} must be a multiple of 4 (its bottleneck is n/4)`, {
      expected: 'an integer multiple of 4, at least 4',
      got: String(n),
    })
}

/**
 * `Block(s, N)` of Fig. 27: `[h h n0 b] -> [h/s h/s n1 b]`. The first unit pre-activates its
 * input, then adds a bottleneck branch (1x1 to `n_b = n1/4` with stride s and bias, 3x3, 1x1 to
 * n1, each after BatchNorm & Activate) to a projection shortcut (1x1 with stride s and bias);
 * when neither the width nor the size changes it is an identity unit like the others. The other
 * N - 1 units are identity residual units `copy ; (R ; ★1 ; R ; ★3 ; R ; ★1 ⊗ id) ; add`.
 */
const block = (
  name: string,
  h: Dim,
  n0: number,
  n1: number,
  stride: number,
  units: number,
  b: Dim,
): { readonly term: Term; readonly out: Dim } => {
  const [c0, c1, cb] = [constDim(n0), constDim(n1), constDim(n1 / 4)]
  const out = dimConv(h, constDim(1), stride, 1)
  const unit = (u: string, cIn: Dim, first: boolean): Term => {
    const [hIn, s] = first ? [h, stride] : [out, 1]
    return seq(
      ...(first ? [] : [normActivate(`${u}.bn1`, hIn, cIn, b)]),
      conv(`${u}.conv1`, hIn, 1, cIn, cb, b, s, first),
      normActivate(`${u}.bn2`, out, cb, b),
      conv(`${u}.conv2`, out, 3, cb, cb, b),
      normActivate(`${u}.bn3`, out, cb, b),
      conv(`${u}.conv3`, out, 1, cb, c1, b),
    )
  }
  const parts: Term[] = []
  const projected = stride !== 1 || n0 !== n1
  if (projected) {
    const u = `${name}.unit1`
    parts.push(
      normActivate(`${u}.bn1`, h, c0, b),
      residual(
        [h, h, c0, b],
        unit(u, c0, true),
        conv(`${u}.shortcut`, h, 1, c0, c1, b, stride, true),
      ),
    )
  }
  for (let n = projected ? 2 : 1; n <= units; n++) {
    const u = `${name}.unit${n}`
    const branch = unit(u, c1, false)
    parts.push(residual([out, out, c1, b], branch, id([[out, out, c1, b]])))
  }
  return { term: box(`Block(${stride}, ${units})`, seq(...parts)), out }
}

/**
 * The identity ResNet of Fig. 27: `[(S*x) (S*x) c b] -> [classes b]`, S the product of the
 * strides. A 3x3 stem convolution to `n_1`, one `Block(s, N)` per further width, BatchNorm &
 * Activate, a global average pool (its kernel as wide as the last side `x`), a flatten, the
 * linear layer `head` with bias, and SoftMax over the classes; everything per image, broadcast
 * over the batch except batch normalisation. Parameters: `stem.weight`, then per block
 * `block<i>.unit<n>.{bn1,bn2,bn3}.{gain,bias}`, `.conv1.weight` (and `.conv1.bias` and
 * `.shortcut.{weight,bias}` in a projecting first unit), `.conv2.weight`, `.conv3.weight`,
 * then `bn.{gain,bias}` and `head.{weight,bias}`; {@link idResNetParamCount} counts them.
 *
 * @example
 * ```ts
 * import { idResNet, idResNetParamCount, paramsOf, shapeExtents, showType } from 'neural-circuit-diagrams'
 * const net = idResNet({ x: 'x', b: 'b', channels: 3, classes: 10, widths: [16, 64, 128, 256], units: 3 })
 * showType(net.dom) // '[(4*x) (4*x) 3 b]'
 * showType(net.cod) // '[10 b]'
 * const sizes = { x: 8, b: 2 }
 * let n = 0
 * for (const s of paramsOf(net).values()) n += shapeExtents(s, sizes).reduce((a, e) => a * e, 1)
 * n // 312778
 * idResNetParamCount({ channels: 3, classes: 10, widths: [16, 64, 128, 256], units: 3 }) // 312778
 * ```
 */
export const idResNet = (options: IdResNetOptions): Term => {
  const { widths, units } = options
  if (widths.length < 2 || !Number.isInteger(units) || units < 1)
    fail('bad-argument', 'idResNet: needs a stem width, one width per block, and N >= 1 units', {
      expected: 'widths [n1, n2, ...] of length >= 2 and an integer units >= 1',
      got: `widths ${JSON.stringify(widths)}, units ${String(units)}`,
    })
  const strides = options.strides ?? widths.slice(1).map((_, i) => (i === 0 ? 1 : 2))
  if (strides.length !== widths.length - 1)
    fail('bad-argument', 'idResNet: one stride per block', {
      expected: `${widths.length - 1} strides (one per width after the stem's)`,
      got: JSON.stringify(strides),
    })
  widths.slice(1).forEach((n, i) => checkWidth(n, `the width of block ${i + 1}`))
  const [x, b] = [toDim(options.x), toDim(options.b)]
  const side = dimProduct(...strides, x)
  const channels = sizeDim(options.channels)
  const classes = sizeDim(options.classes)
  const stemWidth = constDim(widths[0] as number)
  const parts: Term[] = [conv('stem', side, 3, channels, stemWidth, b)]
  let h = side
  for (let i = 1; i < widths.length; i++) {
    const blk = block(
      `block${i}`,
      h,
      widths[i - 1] as number,
      widths[i] as number,
      strides[i - 1] as number,
      units,
      b,
    )
    parts.push(blk.term)
    h = blk.out
  }
  const last = constDim(widths[widths.length - 1] as number)
  const pooled = perImage(pool2d('mean', { h, w: h, kh: h, kw: h, c: last }), b)
  const one = pooled.cod[0]?.[0] as Dim
  parts.push(
    normActivate('bn', h, last, b),
    pooled,
    view([one, one, last, b], [last, b]),
    perImage(linearLayer('head', last, classes, { bias: true }), b),
  )
  if (options.softmax ?? true) parts.push(perImage(softmax(classes), b))
  return box(`IdResNet(N = ${units}, n = [${widths.join(', ')}])`, seq(...parts))
}

/**
 * The number of parameters of {@link idResNet}, by the formula read off Fig. 27 (independent of
 * the term): stem `9 c n1`; per block from `n0` to `n1` with `n_b = n1/4`, a projecting first unit
 * `2 n0 + (n0 n_b + n_b) + 2 n_b + 9 n_b² + 2 n_b + n_b n1 + (n0 n1 + n1)`, and each identity unit
 * `2 n1 + n1 n_b + 2 n_b + 9 n_b² + 2 n_b + n_b n1`; then `2 n_last` and the head
 * `n_last classes + classes`.
 *
 * @example
 * ```ts
 * import { idResNetParamCount } from 'neural-circuit-diagrams'
 * idResNetParamCount({ channels: 3, classes: 10, widths: [4, 8], units: 1 }) // 332
 * ```
 */
export const idResNetParamCount = (config: {
  readonly channels: number
  readonly classes: number
  readonly widths: ReadonlyArray<number>
  readonly strides?: ReadonlyArray<number>
  readonly units: number
}): number => {
  const { channels, classes, widths, units } = config
  const strides = config.strides ?? widths.slice(1).map((_, i) => (i === 0 ? 1 : 2))
  let total = 9 * channels * (widths[0] as number)
  for (let i = 1; i < widths.length; i++) {
    const [n0, n1] = [widths[i - 1] as number, widths[i] as number]
    const nb = n1 / 4
    const inner = 2 * nb + 9 * nb * nb + 2 * nb + nb * n1
    const identityUnit = 2 * n1 + n1 * nb + inner
    const projected = strides[i - 1] !== 1 || n0 !== n1
    total += projected
      ? 2 * n0 + (n0 * nb + nb) + inner + (n0 * n1 + n1) + (units - 1) * identityUnit
      : units * identityUnit
  }
  const last = widths[widths.length - 1] as number
  return total + 2 * last + last * classes + classes
}
