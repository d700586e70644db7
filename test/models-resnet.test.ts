/**
 * IdResNet (paper Fig. 27, `src/models/resnet.ts`): types, parameter counts by hand, and the
 * network against TensorFlow.js built layer by layer (tf.conv2d, tf.moments + tf.batchNorm,
 * tf.relu, mean pooling, tf.matMul, tf.softmax) on the same weights, forward and gradient, and
 * against finite differences (test/models-oracle.ts states the tolerances).
 */
import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import {
  TermError,
  batchNorm,
  evaluate,
  idResNet,
  idResNetParamCount,
  paramsOf,
  randomInputs,
  randomParams,
  shapeExtents,
  showType,
} from '../src/index.js'
import { type Get, checkModel } from './models-oracle.js'
import { useTensorFlowCpu } from './tf-setup.js'

useTensorFlowCpu()

/** A small IdResNet: a 3x3 stem to 4, Block(1, 2) to 8 and Block(2, 2) to 8, 5 classes. */
const config = { channels: 3, classes: 5, widths: [4, 8, 8], units: 2 } as const
const net = idResNet({ x: 'x', b: 'b', ...config })

const entries = (sizes: Record<string, number>): number =>
  [...paramsOf(net).values()].reduce(
    (n, s) => n + shapeExtents(s, sizes).reduce((a, e) => a * e, 1),
    0,
  )

/** The same network with TensorFlow ops; input [H W c b] and output [classes b] as ours. */
const tfResNet = (input: tf.Tensor, p: Get): tf.Tensor => {
  // TensorFlow's layout is NHWC: the batch first.
  let v = tf.transpose(input, [3, 0, 1, 2])
  const conv = (x: tf.Tensor, name: string, k: number, stride = 1, bias = false): tf.Tensor => {
    // Ours [cOut cIn kh kw] (PyTorch's), TensorFlow's filter [kh kw cIn cOut].
    const filter = tf.transpose(p(`${name}.weight`), [2, 3, 1, 0]) as tf.Tensor4D
    const y = tf.conv2d(x as tf.Tensor4D, filter, stride, k === 3 ? 'same' : 'valid')
    return bias ? tf.add(y, p(`${name}.bias`)) : y
  }
  const bnRelu = (x: tf.Tensor, name: string): tf.Tensor => {
    const { mean, variance } = tf.moments(x, [0, 1, 2])
    return tf.relu(tf.batchNorm(x, mean, variance, p(`${name}.bias`), p(`${name}.gain`), 1e-5))
  }
  const unit = (x: tf.Tensor, u: string, stride: number, first: boolean): tf.Tensor => {
    let y = first ? x : bnRelu(x, `${u}.bn1`)
    y = conv(y, `${u}.conv1`, 1, stride, first)
    y = conv(bnRelu(y, `${u}.bn2`), `${u}.conv2`, 3)
    return conv(bnRelu(y, `${u}.bn3`), `${u}.conv3`, 1)
  }
  v = conv(v, 'stem', 3)
  const strides = [1, 2]
  for (let i = 1; i <= 2; i++) {
    const s = strides[i - 1] as number
    const u1 = `block${i}.unit1`
    const pre = bnRelu(v, `${u1}.bn1`)
    v = tf.add(unit(pre, u1, s, true), conv(pre, `${u1}.shortcut`, 1, s, true))
    v = tf.add(unit(v, `block${i}.unit2`, 1, false), v)
  }
  v = tf.mean(bnRelu(v, 'bn'), [1, 2])
  v = tf.add(tf.matMul(v, p('head.weight'), false, true), p('head.bias'))
  return tf.transpose(tf.softmax(v))
}

describe('IdResNet (Fig. 27)', () => {
  it('is typed in the side of its last stage: (2*x) for one stride-2 block, 1 after the pool', () => {
    expect(showType(net.dom)).toBe('[(2*x) (2*x) 3 b]')
    expect(showType(net.cod)).toBe('[5 b]')
    // Fig. 27's own configuration: x̄ = 4 x̄/4, so a 32x32 image is x = 8.
    const fig27 = idResNet({
      x: 'x',
      b: 'b',
      channels: 3,
      classes: 10,
      widths: [16, 64, 128, 256],
      units: 3,
    })
    expect(showType(fig27.dom)).toBe('[(4*x) (4*x) 3 b]')
    expect(shapeExtents(fig27.dom[0]!, { x: 8, b: 1 })).toEqual([32, 32, 3, 1])
  })

  it('has the parameter count of the hand formula, the engine and paramsOf agreeing', () => {
    // By hand from Fig. 27, widths [4, 8, 8], N = 2, bottleneck n/4 = 2, 3 channels, 5 classes:
    const stem = 9 * 3 * 4 // 3x3, 3 -> 4, no bias
    // Block(1, 2), 4 -> 8: a projecting unit then an identity unit.
    const project = (n0: number) =>
      2 * n0 + // BatchNorm & Activate of the input (gain, bias)
      (n0 * 2 + 2) + // 1x1 to the bottleneck, with bias (L+ in the figure)
      2 * 2 + // BN
      9 * 2 * 2 + // 3x3, 2 -> 2
      2 * 2 + // BN
      2 * 8 + // 1x1, 2 -> 8
      (n0 * 8 + 8) // the shortcut 1x1 with bias
    const identity = 2 * 8 + 8 * 2 + 2 * 2 + 9 * 2 * 2 + 2 * 2 + 2 * 8
    const block1 = project(4) + identity
    const block2 = project(8) + identity // Block(2, 2), 8 -> 8: stride 2, so projected
    const head = 2 * 8 + (8 * 5 + 5) // the last BN, then Linear 8 -> 5 with bias
    const byHand = stem + block1 + block2 + head
    expect(byHand).toBe(637)
    expect(idResNetParamCount(config)).toBe(byHand)
    expect(entries({ x: 2, b: 3 })).toBe(byHand)
    // No parameter depends on the image or batch size.
    expect(entries({ x: 5, b: 1 })).toBe(byHand)
    // Fig. 27's configuration.
    const fig27 = { channels: 3, classes: 10, widths: [16, 64, 128, 256], units: 3 }
    const big = idResNet({ x: 'x', b: 'b', ...fig27 })
    const n = [...paramsOf(big).values()].reduce(
      (s, sh) => s + shapeExtents(sh, { x: 8, b: 1 }).reduce((a, e) => a * e, 1),
      0,
    )
    expect(n).toBe(idResNetParamCount(fig27))
    expect(n).toBe(312778)
  })

  it('refuses a width without a whole bottleneck and a wrong number of strides', () => {
    expect(() => idResNet({ x: 'x', b: 'b', ...config, widths: [4, 6] })).toThrow(TermError)
    expect(() => idResNet({ x: 'x', b: 'b', ...config, strides: [1] })).toThrow(/one stride/)
  })

  it('evaluates to a distribution over the classes for every image', () => {
    const sizes = { x: 2, b: 3 }
    const [out] = evaluate(
      net,
      sizes,
      randomInputs(net.dom, sizes, 1),
      randomParams(net, sizes, 2),
    ) as [Float64Array]
    for (let j = 0; j < 3; j++) {
      let s = 0
      for (let c = 0; c < 5; c++) s += out[c * 3 + j] as number
      expect(s).toBeCloseTo(1, 12)
    }
  })

  it('batch norm normalises each channel over the image and the batch', () => {
    const bn = batchNorm('bn', { spatial: ['h', 'w'], c: 'c', b: 'b' })
    const sizes = { h: 2, w: 3, c: 2, b: 2 }
    const x = randomInputs(bn.dom, sizes, 5)
    const gain = Float64Array.of(1, 1)
    const bias = Float64Array.of(0, 0)
    const [y] = evaluate(bn, sizes, x, { 'bn.gain': gain, 'bn.bias': bias }) as [Float64Array]
    for (let c = 0; c < 2; c++) {
      const vs: number[] = []
      for (let i = 0; i < 6; i++) for (let b = 0; b < 2; b++) vs.push(y[(i * 2 + c) * 2 + b]!)
      const mean = vs.reduce((a, v) => a + v, 0) / vs.length
      const variance = vs.reduce((a, v) => a + (v - mean) ** 2, 0) / vs.length
      expect(mean).toBeCloseTo(0, 12)
      // (var) / (var + 1e-5) with the biased variance of the data.
      expect(variance).toBeGreaterThan(0.99)
      expect(variance).toBeLessThan(1)
    }
  })

  it('agrees with TensorFlow (forward and every gradient) and with finite differences', () => {
    const report = checkModel(
      { name: 'IdResNet', term: net, tf: ([x], p) => tfResNet(x as tf.Tensor, p) },
      { x: 2, b: 3 },
      7,
    )
    console.info(`IdResNet oracle: worst/tolerance ${JSON.stringify(report)}`)
    expect(report.entries).toBe(4 * 4 * 3 * 3 + 637 + 5 * 3) // the image, the weights, R
  }, 300_000)
})
