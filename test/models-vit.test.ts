/**
 * The vision transformer (section 3.5, Fig. 29; `src/models/vit.ts`): types, parameter counts by
 * hand, patching by a view equal to the convolution tensor with stride = kernel (conv2d), and the
 * network against TensorFlow.js written layer by layer (reshape/transpose patches, tf.matMul,
 * tf.concat, tf.moments, tf.erf GELU, tf.softmax) on the same weights, forward and the gradient
 * with respect to the image and every parameter, and against finite differences
 * (test/models-oracle.ts states the tolerances).
 */
import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import {
  TermError,
  constDim,
  conv2d,
  dimProduct,
  evaluate,
  paramsOf,
  patchEmbedding,
  randomInputs,
  randomParams,
  seq,
  shapeExtents,
  showType,
  view,
  visionTransformer,
  vitParamCount,
} from '../src/index.js'
import { type Get, checkModel, tfLayers } from './models-oracle.js'
import { useTensorFlowCpu } from './tf-setup.js'

useTensorFlowCpu()

/** A 4x6 image of 3 channels in 2x2 patches (a 2x3 grid), width 4, 2 heads of 2, 1 layer. */
const config = { gh: 'a', gw: 'b', p: 2, c: 3, m: 'm', k: 'k', h: 'h', f: 'f', classes: 5 }
const sizes = { a: 2, b: 3, m: 4, k: 2, h: 2, f: 6 }

const count = (t: ReturnType<typeof visionTransformer>, s: Record<string, number>): number =>
  [...paramsOf(t).values()].reduce((n, sh) => n + shapeExtents(sh, s).reduce((a, e) => a * e, 1), 0)

/** The vision transformer with TensorFlow ops (N = 1), image [H W c] as ours. */
const tfVit = ([image]: ReadonlyArray<tf.Tensor>, p: Get): tf.Tensor => {
  const { a, b, m } = sizes
  const { linear, ln, mha, ff, sub } = tfLayers(p, sizes)
  // [gh p gw q c] -> [gh gw c p q]: one row of (c p q) per patch, as the weight [m c p q].
  const patches = tf.reshape(
    tf.transpose(tf.reshape(image as tf.Tensor, [a, 2, b, 2, 3]), [0, 2, 4, 1, 3]),
    [a * b, 3 * 2 * 2],
  )
  const tokens = tf.add(linear(patches, tf.reshape(p('embed.weight'), [m, 12])), p('embed.bias'))
  let v = tf.add(tf.concat([p('cls'), tokens], 0), p('position'))
  v = sub('pre', v, 'layer1.ln1', (u) => mha(u, u, 'layer1.attn.'))
  v = sub('pre', v, 'layer1.ln2', (u) => ff(u, 'layer1.ff', 'gelu'))
  const cls = tf.slice(ln(v, 'ln'), [0, 0], [1, m])
  return tf.reshape(tf.softmax(tf.add(linear(cls, p('head.weight')), p('head.bias'))), [-1])
}

describe('the vision transformer (section 3.5)', () => {
  it('is typed from the image, whose sides are multiples of the patch, to the classes', () => {
    const vit = visionTransformer({ ...config, layers: 1 })
    expect(showType(vit.dom)).toBe('[(2*a) (2*b) 3]')
    expect(showType(vit.cod)).toBe('[5]')
    expect(() => visionTransformer({ ...config, layers: 0 })).toThrow(TermError)
  })

  it('has the parameter count of the hand formula, the engine and paramsOf agreeing', () => {
    const { a, b, m, k, h, f } = sizes
    // By hand: the patch embedding, the class token, the positions, one pre-norm layer,
    // the last layer norm, the head.
    const embedding = m * 3 * 2 * 2 + m // 52
    const tokens = 1 + a * b // 7: the class token and 6 patches
    const layer = 2 * m + 4 * m * k * h + 2 * m + (m * f + f + f * m + m) // 8 + 64 + 8 + 58 = 138
    const byHand = embedding + m + tokens * m + layer + 2 * m + (m * 5 + 5)
    expect(byHand).toBe(52 + 4 + 28 + 138 + 8 + 25)
    expect(count(visionTransformer({ ...config, layers: 1 }), sizes)).toBe(byHand)
    const numbers = { gh: a, gw: b, p: 2, q: 2, c: 3, m, k, h, f, classes: 5 }
    expect(vitParamCount({ ...numbers, layers: 1 })).toBe(byHand)
    expect(count(visionTransformer({ ...config, layers: 3 }), sizes)).toBe(byHand + 2 * layer)
    expect(vitParamCount({ ...numbers, layers: 3 })).toBe(byHand + 2 * layer)
  })

  it('patching by a view is the convolution with stride = kernel (section 3.3)', () => {
    const patched = patchEmbedding('embed', { gh: 'a', gw: 'b', p: 2, c: 3, m: 'm' })
    const two = constDim(2)
    const [h, w] = [dimProduct('a', 2), dimProduct('b', 2)]
    const convolved = seq(
      conv2d('embed', {
        h,
        w,
        kh: two,
        kw: two,
        cIn: constDim(3),
        cOut: 'm',
        stride: [2, 2],
        bias: true,
      }),
      view(['a', 'b', 'm'], [dimProduct('a', 'b'), 'm']),
    )
    expect(showType(convolved.dom)).toBe(showType(patched.dom))
    expect(showType(convolved.cod)).toBe(showType(patched.cod))
    const s = { a: 2, b: 3, m: 4 }
    const xs = randomInputs(patched.dom, s, 8)
    const ps = randomParams(patched, s, 9)
    const [u] = evaluate(patched, s, xs, ps) as [Float64Array]
    const [v] = evaluate(convolved, s, xs, ps) as [Float64Array]
    u.forEach((e, i) => expect(v[i]).toBeCloseTo(e, 12))
    // A false neighbour: the patch width and height swapped in the weight differ.
    const swapped = { ...ps, 'embed.weight': transposeLast2(ps['embed.weight']!, 4, 3, 2) }
    const [t] = evaluate(convolved, s, xs, swapped) as [Float64Array]
    expect(Math.max(...u.map((e, i) => Math.abs(e - (t[i] as number))))).toBeGreaterThan(1e-3)
  })

  it('agrees with TensorFlow and finite differences (N = 1)', () => {
    const vit = visionTransformer({ ...config, layers: 1 })
    const report = checkModel({ name: 'ViT', term: vit, tf: tfVit }, sizes, 13)
    console.info(`vision transformer oracle: worst/tolerance ${JSON.stringify(report)}`)
  }, 300_000)
})

/** `[o c p q] -> [o c q p]` of a square patch, row-major. */
const transposeLast2 = (w: Float64Array, o: number, c: number, p: number): Float64Array =>
  Float64Array.from({ length: o * c * p * p }, (_, e) => {
    const [i, j] = [Math.floor(e / p) % p, e % p]
    const base = e - i * p - j
    return w[base + j * p + i] as number
  })
