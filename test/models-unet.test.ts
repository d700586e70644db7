/**
 * U-Net (paper Fig. 28, `src/models/unet.ts`): types in canonical dims, parameter counts by hand
 * from the legend, refusals of sizes that do not survive the down-sampling, and the network
 * against TensorFlow.js built layer by layer (tf.conv2d 'same', tf.relu, tf.maxPool,
 * tf.conv2dTranspose, tf.concat) on the same weights, forward and every gradient, and against
 * finite differences (test/models-oracle.ts states the tolerances).
 */
import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import {
  TermError,
  constDim,
  dimPadded,
  dimProduct,
  evaluate,
  paramsOf,
  randomInputs,
  randomParams,
  shapeExtents,
  showType,
  showTyped,
  unet,
  unetParameterCount,
} from '../src/index.js'
import { type Get, checkModel } from './models-oracle.js'
import { useTensorFlowCpu } from './tf-setup.js'

useTensorFlowCpu()

/** A small U-Net of depth 2: channels 1 -> 2 -> 3 -> 4 (bottom), 2 output channels. */
const small = {
  h: dimProduct(4, 'm'),
  w: dimProduct(4, 'n'),
  channels: ['c0', 'c1', 'c2', 'c3'],
  out: 'y',
} as const
const net = unet(small)
const channelSizes = { c0: 1, c1: 2, c2: 3, c3: 4, y: 2 }

/**
 * The same network with TensorFlow ops, input and output `[H W c]` as ours (batch of one);
 * `valid`: unpadded convolutions, each saved value cropped at its centre to the up-sampled size.
 */
const tfUNet = (input: tf.Tensor, p: Get, depth: number, valid = false): tf.Tensor => {
  const conv = (x: tf.Tensor, name: string, k: number): tf.Tensor => {
    // Ours [cOut cIn kh kw] (PyTorch's), TensorFlow's filter [kh kw cIn cOut].
    const filter = tf.transpose(p(`${name}.weight`), [2, 3, 1, 0]) as tf.Tensor4D
    return tf.add(
      tf.conv2d(x as tf.Tensor4D, filter, 1, k === 3 && !valid ? 'same' : 'valid'),
      p(`${name}.bias`),
    )
  }
  const centre = (x: tf.Tensor, like: tf.Tensor): tf.Tensor => {
    const [, sh, sw, sc] = x.shape as [number, number, number, number]
    const [, uh, uw] = like.shape as [number, number, number, number]
    return tf.slice(
      x,
      [0, Math.floor((sh - uh) / 2), Math.floor((sw - uw) / 2), 0],
      [1, uh, uw, sc],
    )
  }
  const double = (x: tf.Tensor, name: string): tf.Tensor =>
    tf.relu(conv(tf.relu(conv(x, `${name}.conv1`, 3)), `${name}.conv2`, 3))
  let v: tf.Tensor = tf.expandDims(input, 0)
  const saved: tf.Tensor[] = []
  for (let l = 1; l <= depth; l++) {
    v = double(v, `U.down${l}`)
    saved.push(v)
    v = tf.maxPool(v as tf.Tensor4D, 2, 2, 'valid')
  }
  v = double(v, 'U.bottom')
  for (let l = depth; l >= 1; l--) {
    const name = `U.up${l}.upconv`
    // Ours [cIn cOut kh kw] (PyTorch's ConvTranspose2d), TensorFlow's filter [kh kw cOut cIn].
    const filter = tf.transpose(p(`${name}.weight`), [2, 3, 1, 0]) as tf.Tensor4D
    const [, hh, ww] = v.shape as [number, number, number, number]
    const skip = saved[l - 1] as tf.Tensor
    const cOut = skip.shape[3] as number
    const up = tf.add(
      tf.conv2dTranspose(v as tf.Tensor4D, filter, [1, 2 * hh, 2 * ww, cOut], 2, 'valid'),
      p(`${name}.bias`),
    )
    // Fig. 28: the up-sampled features first, then the saved ones.
    v = double(tf.concat([up, valid ? centre(skip, up) : skip], 3), `U.up${l}`)
  }
  return tf.squeeze(conv(v, 'U.out', 1), [0])
}

/** By hand: a padded 3x3 convolution a -> b with bias, and two of them (Double Convolution). */
const conv3 = (a: number, b: number): number => 9 * a * b + b
const double = (a: number, b: number): number => conv3(a, b) + conv3(b, b)

/** The count of Fig. 28's network with channels c0 ... c_{D+1} and y outputs. */
const byHand = (c: ReadonlyArray<number>, y: number): number => {
  const depth = c.length - 2
  const at = (i: number): number => c[i] as number
  let n = 0
  // Down blocks and the bottom: Double Convolutions c_{λ-1} -> c_λ, λ = 1 ... D+1.
  for (let l = 1; l <= depth + 1; l++) n += double(at(l - 1), at(l))
  // Up blocks: a 2x2 transposed convolution c_{λ+1} -> c_λ with bias, then 2 c_λ -> c_λ.
  for (let l = 1; l <= depth; l++) n += 4 * at(l + 1) * at(l) + at(l) + double(2 * at(l), at(l))
  // The 1x1 convolution c_1 -> y with bias.
  return n + at(1) * y + y
}

describe('U-Net (Fig. 28)', () => {
  it('keeps its spatial axes by canonical dims: [(4*m) (4*n) c0] -> [(4*m) (4*n) y]', () => {
    expect(showTyped(net)).toBe('UNet : [(4*m) (4*n) c0] -> [(4*m) (4*n) y]')
    // The legend's configuration: x̄₁ = 512, depth 4, so x̄₅ = 32.
    const legend = unet({
      h: constDim(512),
      w: constDim(512),
      channels: [1, 128, 256, 512, 1024, 2048].map(constDim),
      out: constDim(2),
    })
    expect(showType(legend.dom)).toBe('[512 512 1]')
    expect(showType(legend.cod)).toBe('[512 512 2]')
  })

  it('has the parameter count of the hand formula, by the legend (c_i = 64 * 2^i, y = 2)', () => {
    // The small one: (9·1·2+2 + 9·2·2+2) + (9·2·3+3 + 9·3·3+3) + (9·3·4+4 + 9·4·4+4)
    //   + up 2: 4·4·3+3 + (9·6·3+3 + 9·3·3+3) + up 1: 4·3·2+2 + (9·4·2+2 + 9·2·2+2) + 2·2+2.
    const hand = 20 + 38 + 57 + 84 + 112 + 148 + 51 + 165 + 84 + 26 + 74 + 38 + 6
    expect(hand).toBe(903)
    expect(byHand([1, 2, 3, 4], 2)).toBe(hand)
    expect(unetParameterCount(small, channelSizes)).toBe(hand)
    // No parameter depends on the image size.
    expect(unetParameterCount(small, { ...channelSizes, m: 5, n: 7 })).toBe(hand)
    // The legend of Fig. 28: c_0 = 1, c_i = 64 · 2^i (i = 1 ... 5), y = 2.
    const legend = [1, ...[1, 2, 3, 4, 5].map((i) => 64 * 2 ** i)]
    const options = {
      h: constDim(512),
      w: constDim(512),
      channels: legend.map(constDim),
      out: constDim(2),
    }
    expect(byHand(legend, 2)).toBe(124107522)
    expect(unetParameterCount(options, {})).toBe(124107522)
    // Ronneberger et al.'s widths 64 ... 1024: the 31.0 million usually quoted.
    expect(byHand([1, 64, 128, 256, 512, 1024], 2)).toBe(31030658)
  })

  it('refuses an input size that does not survive its down-sampling, saying what to write', () => {
    const attempt = (h: Parameters<typeof unet>[0]['h']): TermError => {
      try {
        unet({ ...small, h })
      } catch (e) {
        if (e instanceof TermError) return e
        throw e
      }
      throw new Error('no error')
    }
    const plain = attempt('h')
    expect(plain.code).toBe('bad-size')
    expect(plain.message).toMatch(/does not survive 2 halvings/)
    expect(plain.message).toMatch(/dimProduct\(4, 'm'\)/)
    // A multiple of 2 but not of 4: the second pooling would floor. 12 = 4 · 3 passes.
    expect(showType(unet({ ...small, h: constDim(12) }).dom)).toBe('[12 (4*n) c0]')
    expect(attempt(dimProduct(2, 'm')).message).toMatch(
      /at level 2, m pools to conv\(crop\(m,1,0\),1,s2,d1\)/,
    )
    expect(attempt(constDim(6)).message).toMatch(/at level 2, 3 pools to 1, which up-samples to 2/)
    expect(attempt(constDim(10)).message).toMatch(/at level 2, 5 pools to 2, which up-samples to 4/)
    expect(() => unet({ ...small, channels: ['c0'] })).toThrow(/two levels or more/)
  })

  it('evaluates at 8x4 with every saved value used (each up block reads its skip)', () => {
    const sizes = { ...channelSizes, m: 2, n: 1 }
    const params = randomParams(net, sizes, 2)
    const x = randomInputs(net.dom, sizes, 1)
    const [out] = evaluate(net, sizes, x, params) as [Float64Array]
    expect(out.length).toBe(8 * 4 * 2)
    // The last up block reads the saved C₁: zeroing its weights on the skip half of its input
    // changes the output.
    const w = Float64Array.from(params['U.up1.conv1.weight'] as Float64Array)
    // [cOut=2, cIn=4, 3, 3]: the skip channels are cIn 2 and 3 (after the up-sampled 0, 1).
    for (let o = 0; o < 2; o++)
      for (let i = 2; i < 4; i++) for (let k = 0; k < 9; k++) w[(o * 4 + i) * 9 + k] = 0
    const [cut] = evaluate(net, sizes, x, { ...params, 'U.up1.conv1.weight': w }) as [Float64Array]
    expect(Array.from(cut).some((v, i) => Math.abs(v - (out[i] as number)) > 1e-9)).toBe(true)
    // 5 Double Convolutions (2 down, the bottom, 2 up) of 2 convolutions, 2 up-samplings and the
    // 1x1 convolution, each a weight and a bias.
    expect(paramsOf(net).size).toBe(2 * (5 * 2 + 2 + 1))
  })

  it('agrees with TensorFlow (forward and every gradient) and with finite differences', () => {
    const sizes = { ...channelSizes, m: 2, n: 1 }
    const report = checkModel(
      { name: 'U-Net', term: net, tf: ([x], p) => tfUNet(x as tf.Tensor, p, 2) },
      sizes,
      11,
    )
    console.info(`U-Net oracle: worst/tolerance ${JSON.stringify(report)}`)
    // The image, the weights, and the loss weights R of the output's shape.
    expect(report.entries).toBe(8 * 4 * 1 + 903 + 8 * 4 * 2)
    expect(shapeExtents(net.cod[0]!, sizes)).toEqual([8, 4, 2])
  }, 300_000)
})

describe('the unpadded U-Net of Ronneberger et al. (padding: valid): crops where needed', () => {
  it('maps 572 x 572 to 388 x 388 at depth 4, every size by canonical dims', () => {
    const x = dimPadded(dimProduct(16, 'm'), 124, 0)
    const classic = unet({
      h: x,
      w: x,
      channels: ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'],
      out: 'y',
      padding: 'valid',
    })
    expect(showTyped(classic)).toBe(
      'UNet : [pad((16*m),124,0) pad((16*m),124,0) c0] -> [crop((16*m),60,0) crop((16*m),60,0) y]',
    )
    expect(shapeExtents(classic.dom[0]!, { m: 28, c0: 1 })).toEqual([572, 572, 1])
    expect(shapeExtents(classic.cod[0]!, { m: 28, y: 2 })).toEqual([388, 388, 2])
    // The same parameters as the padded one: padding has none.
    const sizes = { c0: 1, c1: 64, c2: 128, c3: 256, c4: 512, c5: 1024, y: 2 }
    const options = {
      h: x,
      w: x,
      channels: ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'],
      out: 'y',
      padding: 'valid',
    } as const
    expect(unetParameterCount(options, sizes)).toBe(byHand([1, 64, 128, 256, 512, 1024], 2))
  })

  it('refuses a saved value that no constant crop fits to the up-sampled one', () => {
    expect(() => unet({ ...small, h: 'h', padding: 'valid' })).toThrow(
      /saved features of level 2 cannot be cropped/,
    )
  })

  it('agrees with TensorFlow (tf.slice for the crops), forward and every gradient', () => {
    // Depth 1: 2m + 4 = 18 and 2n + 4 = 20 in, 2 x 4 out.
    const net1 = unet({
      h: dimPadded(dimProduct(2, 'm'), 4, 0),
      w: dimPadded(dimProduct(2, 'n'), 4, 0),
      channels: ['c0', 'c1', 'c2'],
      out: 'y',
      padding: 'valid',
    })
    const sizes = { m: 7, n: 8, c0: 1, c1: 2, c2: 3, y: 2 }
    expect(shapeExtents(net1.cod[0]!, sizes)).toEqual([2, 4, 2])
    const report = checkModel(
      { name: 'U-Net valid', term: net1, tf: ([x], p) => tfUNet(x as tf.Tensor, p, 1, true) },
      sizes,
      13,
    )
    console.info(`U-Net (valid) oracle: worst/tolerance ${JSON.stringify(report)}`)
    expect(report.entries).toBe(18 * 20 + byHand([1, 2, 3], 2) + 2 * 4 * 2)
  }, 300_000)
})
