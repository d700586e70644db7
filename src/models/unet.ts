/**
 * U-Net (Ronneberger et al., 2015) as the paper draws it in Fig. 28: the variant with padded
 * ("same") convolutions, so that every convolution keeps its spatial axes and no skip connection
 * needs a crop. The down path saves each level's features (the `→ C_λ` of the figure: a copy
 * carried along the tuple), the up path loads them (`C_λ →`) and concatenates them with the
 * up-sampled features on the channel axis, "a view over a tuple" (Fig. 28's remark).
 *
 * @packageDocumentation
 */
import { box, broadcast, copy, id, par, seq } from '../core/construct.js'
import {
  type Dim,
  type DimLike,
  type Sizes,
  constDim,
  dimConv,
  dimConvT,
  dimEquals,
  dimKey,
  dimSum,
  readDim,
  showDim,
} from '../core/dim.js'
import { fail } from '../core/errors.js'
import { paramsOf } from '../core/params.js'
import { add, param, relu } from '../core/primitives.js'
import type { Term } from '../core/term.js'
import { type Shape, type TupleType, shapeSize } from '../core/types.js'
import { einsum } from '../linear/einsum.js'
import { concat, convTensorTransposeFrom } from '../linear/structural.js'
import { conv2d, pool2d } from './conv.js'

/** The configuration of {@link unet}, with the legend of Fig. 28. */
export interface UNetOptions {
  /**
   * The spatial axes of the input, `x̄₁` (512 in the legend). Each is halved `depth` times, so it
   * must be a multiple of `2^depth` for every binding: write it as `dimProduct(16, 'm')` (or a
   * fixed multiple of 16) for the legend's depth 4.
   */
  readonly h: DimLike
  readonly w: DimLike
  /**
   * The channels of the levels, `c₀` (the input's) to `c_{depth+1}` (the bottom's): the legend's
   * `c₀ = 1`, `c_i = 64 · 2^i`. The depth, the number of down-sampling steps (4 in Fig. 28), is
   * `channels.length - 2`.
   */
  readonly channels: ReadonlyArray<DimLike>
  /** The output channels `y` (2 in the legend). */
  readonly out: DimLike
  /** The prefix of the parameter names (default `'U'`). */
  readonly name?: string
}

const THREE = constDim(3)
const TWO = constDim(2)
const ONE = constDim(1)

/** `[h w a] -> [h w b]`: a padded 3x3 convolution with a bias, then ReLU (one `★3 ➤R➤`). */
const convRelu = (name: string, h: Dim, w: Dim, a: Dim, b: Dim): Term =>
  seq(
    conv2d(name, {
      h,
      w,
      kh: THREE,
      kw: THREE,
      cIn: a,
      cOut: b,
      padding: [
        [1, 1],
        [1, 1],
      ],
      bias: true,
    }),
    relu([h, w, b]),
  )

/** The Double Convolution of Fig. 28: `[h w a] -> [h w b]`, two padded 3x3 convolutions. */
const doubleConv = (name: string, h: Dim, w: Dim, a: Dim, b: Dim): Term =>
  box(
    `DoubleConv(${dimKey(a)} -> ${dimKey(b)})`,
    seq(convRelu(`${name}.conv1`, h, w, a, b), convRelu(`${name}.conv2`, h, w, b, b)),
  )

/**
 * The up-sampling of Fig. 28 (`★2ᵀ` then `L₊`): a transposed convolution with kernel 2 and
 * stride 2 built from its input, `[y v a] -> [(2*y) (2*v) b]`: the learned map
 * `a -> kh kw b` makes one 2x2 block per input position, and the transposed convolution tensor
 * of each axis (`convTensorTransposeFrom`) puts the blocks side by side; then the bias. Weight
 * `[a b 2 2]` as PyTorch's `ConvTranspose2d`, bias `[b]`.
 */
const upConv = (name: string, y: Dim, v: Dim, a: Dim, b: Dim): Term => {
  const scatterH = convTensorTransposeFrom(y, TWO, { stride: 2 })
  const scatterW = convTensorTransposeFrom(v, TWO, { stride: 2 })
  const h = scatterH.cod[0]?.[0] as Dim
  const w = scatterW.cod[0]?.[0] as Dim
  return box(
    `UpConv(${name}: ${dimKey(a)} -> ${dimKey(b)})`,
    seq(
      par(id([[y, v, a]]), param(`${name}.weight`, [a, b, TWO, TWO])),
      einsum('i j c, c o p q -> i p j q o', { dims: { i: y, j: v, c: a, o: b, p: TWO, q: TWO } }),
      broadcast(scatterH, [v, TWO, b], { at: 'last' }),
      broadcast(broadcast(scatterW, [b], { at: 'last' }), [h]),
      par(id([[h, w, b]]), param(`${name}.bias`, [b])),
      broadcast(add([b]), [h, w], { inputs: [0, 'shared'], outputs: [0] }),
    ),
  )
}

/** The spatial axes of each level, `x̄₁ ... x̄_{depth+1}`, refusing an axis that does not halve. */
const levels = (axis: Dim, depth: number, which: string): Dim[] => {
  const out = [axis]
  for (let l = 1; l <= depth; l++) {
    const x = out[l - 1] as Dim
    const down = dimConv(x, TWO, 2, 1)
    const back = dimConvT(down, TWO, 2, 1, 0)
    if (!dimEquals(back, x))
      fail(
        'bad-size',
        `unet: the input axis ${which} = ${showDim(axis)} does not survive ${depth} halving${depth === 1 ? '' : 's'}`,
        {
          expected: `${which} a multiple of 2^${depth} = ${2 ** depth} for every size, so that each max pooling halves it and each up-sampling doubles it back`,
          got: `at level ${l}, ${showDim(x)} pools to ${showDim(down)}, which up-samples to ${showDim(back)}`,
          hint: `write the axis as dimProduct(${2 ** depth}, '${which === 'h' ? 'm' : 'n'}'), or a fixed multiple of ${2 ** depth}`,
        },
      )
    out.push(down)
  }
  return out
}

/**
 * The U-Net of paper Fig. 28 with padded convolutions, channels last: `[x̄₁ x̄₁ c₀] -> [x̄₁ x̄₁ y]`.
 *
 * - Down Scale Block λ = 1 ... depth: a Double Convolution `c_{λ-1} -> c_λ` at `x̄_λ` (two padded
 *   3x3 convolutions with bias, each followed by ReLU), its output saved (`→ C_λ`: copied onto
 *   the tuple), then 2x2 max pooling of stride 2, `x̄_{λ+1} = x̄_λ / 2`;
 * - the bottom: a Double Convolution `c_depth -> c_{depth+1}` at `x̄_{depth+1}`;
 * - Up Scale Block λ = depth ... 1: up-sampling `x̄_{λ+1} -> x̄_λ` by a transposed convolution of
 *   kernel 2 and stride 2, `c_{λ+1} -> c_λ` (`★2ᵀ`, `L₊`), the saved `C_λ` loaded and
 *   concatenated after it on the channels (`2 c_λ`), a Double Convolution `2 c_λ -> c_λ`;
 * - a 1x1 convolution `c₁ -> y` (`★1`).
 *
 * Fig. 28 draws the up blocks as concatenate, convolve, up-sample, starting from the bottom's
 * up-sampling, and stops after the up-sampling to `x̄₁`: `C₁` is saved but not loaded. We follow
 * Ronneberger et al., whose last up step loads `C₁` and convolves `2 c₁ -> c₁` before the 1x1
 * convolution; every saved value is used. The tuple between the blocks is the current features
 * followed by the saved ones, newest first.
 *
 * Parameters: `name.down{λ}.conv{1,2}`, `name.bottom.conv{1,2}`, `name.up{λ}.conv{1,2}`,
 * `name.up{λ}.upconv`, `name.out`, each with `.weight` (PyTorch's layouts) and `.bias`.
 *
 * @example
 * ```ts
 * import { unet, dimProduct, showTyped } from 'neural-circuit-diagrams'
 * const u = unet({ h: dimProduct(4, 'm'), w: dimProduct(4, 'n'), channels: ['c0', 'c1', 'c2', 'c3'], out: 'y' })
 * showTyped(u) // 'UNet : [(4*m) (4*n) c0] -> [(4*m) (4*n) y]'
 * ```
 */
export const unet = (options: UNetOptions): Term => {
  const name = options.name ?? 'U'
  const h = readDim(options.h, 'unet: the axis h')
  const w = readDim(options.w, 'unet: the axis w')
  if (!Array.isArray(options.channels) || options.channels.length < 2)
    fail('bad-argument', 'unet: needs the channels of two levels or more', {
      expected: 'channels [c0, c1, ..., c_{depth+1}], depth = channels.length - 2 >= 0',
      got: Array.isArray(options.channels) ? `${options.channels.length} entries` : 'no list',
    })
  const c = options.channels.map((d, i) => readDim(d, `unet: channels[${i}]`))
  const y = readDim(options.out, 'unet: the output channels')
  const depth = c.length - 2
  const hs = levels(h, depth, 'h')
  const ws = levels(w, depth, 'w')
  const at = (l: number): readonly [Dim, Dim] => [hs[l - 1] as Dim, ws[l - 1] as Dim]
  const chan = (l: number): Dim => c[l] as Dim
  const features = (l: number, ch: Dim): Shape => [...at(l), ch]
  /** The saved features `C_λ ... C_1`, newest first, after the down block λ. */
  const saved = (l: number): TupleType =>
    Array.from({ length: l }, (_, i) => features(l - i, chan(l - i)))
  const steps: Term[] = []
  for (let l = 1; l <= depth; l++) {
    const [xh, xw] = at(l)
    const down = box(
      `Down ${l}`,
      seq(
        doubleConv(`${name}.down${l}`, xh, xw, chan(l - 1), chan(l)),
        copy([features(l, chan(l))]),
        par(
          pool2d('max', { h: xh, w: xw, kh: TWO, kw: TWO, c: chan(l), stride: [2, 2] }),
          id([features(l, chan(l))]),
        ),
      ),
    )
    steps.push(par(down, id(saved(l - 1))))
  }
  const [bh, bw] = at(depth + 1)
  steps.push(
    par(doubleConv(`${name}.bottom`, bh, bw, chan(depth), chan(depth + 1)), id(saved(depth))),
  )
  for (let l = depth; l >= 1; l--) {
    const [xh, xw] = at(l)
    const [yh, yw] = at(l + 1)
    const here = features(l, chan(l))
    const up = box(
      `Up ${l}`,
      seq(
        par(upConv(`${name}.up${l}.upconv`, yh, yw, chan(l + 1), chan(l)), id([here])),
        concat(-1, [here, here]),
        doubleConv(`${name}.up${l}`, xh, xw, dimSum(chan(l), chan(l)), chan(l)),
      ),
    )
    steps.push(par(up, id(saved(l - 1))))
  }
  steps.push(conv2d(`${name}.out`, { h, w, kh: ONE, kw: ONE, cIn: chan(1), cOut: y, bias: true }))
  return box('UNet', seq(...steps))
}

/**
 * The number of learned parameters of {@link unet} at the given sizes (every weight and bias,
 * read from the term).
 *
 * @example
 * ```ts
 * import { unet, unetParameterCount } from 'neural-circuit-diagrams'
 * const options = { h: 'h', w: 'w', channels: ['c0', 'c1'], out: 'y' }
 * // depth 0: a Double Convolution c0 -> c1, (9·1·2 + 2) + (9·2·2 + 2), and the 1x1
 * // convolution c1 -> y, 2·2 + 2.
 * unetParameterCount(options, { c0: 1, c1: 2, y: 2 }) // 64
 * ```
 */
export const unetParameterCount = (options: UNetOptions, sizes: Sizes): number => {
  let n = 0
  for (const shape of paramsOf(unet(options)).values()) n += shapeSize(shape, sizes)
  return n
}
