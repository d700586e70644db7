/**
 * Gradients near the cheap-gradient bound (issue 12, section 2), by the cost model, never by the
 * clock: the raw `grad` of the 784-128-10 MLP over a batch of 64 keeps the weights' gradients out
 * of the batch (one contraction over the batch, not a tensor per row then summed), so its peak
 * memory is a small multiple of the loss's; before, it was 13.2 M entries against 177 k (75x).
 */
import { describe, expect, it } from 'vitest'
import {
  attention,
  broadcast,
  cost,
  evaluate,
  grad,
  mlp,
  multiHeadAttention,
  normalize,
  randomInputs,
  randomParams,
  sumLoss,
} from '../src/index.js'

const loss = sumLoss(broadcast(mlp({ input: 'x', hidden: ['h'], output: 'c' }), ['b']))
const params = Object.keys(randomParams(loss, { b: 1, x: 1, h: 1, c: 1 }, 1))
const g = grad(loss, { params })

describe('grad of a batched MLP', () => {
  it('needs at most 3x the peak memory and 3.5x the FLOPs of the loss', () => {
    const sizes = { b: 64, x: 784, h: 128, c: 10 }
    const [l, d] = [cost(loss, sizes), cost(g, sizes)]
    expect(d.peakMemory).toBeLessThanOrEqual(3 * l.peakMemory)
    expect(d.flops).toBeLessThanOrEqual(3.5 * l.flops)
  })

  it('evaluates equal to its normal form (an independent reading of the same gradient)', () => {
    const sizes = { b: 3, x: 5, h: 4, c: 2 }
    const inputs = randomInputs(loss.dom, sizes, 3)
    const ps = randomParams(loss, sizes, 4)
    const a = evaluate(g, sizes, inputs, ps)
    const b = evaluate(normalize(g), sizes, inputs, ps)
    expect(a.length).toBe(params.length + 1)
    a.forEach((x, i) =>
      x.forEach((v, j) => expect(Math.abs(v - (b[i] as Float64Array)[j]!)).toBeLessThan(1e-9)),
    )
  })
})

describe('grad shares the forward values inside broadcasts', () => {
  // Before: the backward broadcast recomputed its body's forward values, as an opaque broadcast
  // is one node of the graph that merges equal values: softmax ran 2 times in the gradient of
  // attention and 3 times in that of multi-head attention (by the cost model's count).
  const cases = [
    ['attention', attention({ y: 'y', x: 'x', k: 'k', v: 'v' }), { y: 16, x: 16, k: 8, v: 8 }],
    [
      'multi-head attention',
      multiHeadAttention({ y: 'y', x: 'x', m: 'm', k: 'k', h: 'h' }),
      { y: 8, x: 8, m: 16, k: 4, h: 2 },
    ],
  ] as const
  for (const [name, t, sizes] of cases)
    it(`${name}: softmax once, FLOPs near the normal form's, values as its normal form`, () => {
      const l = sumLoss(t)
      const d = grad(l, { params: Object.keys(randomParams(l, sizes, 1)) })
      const count = (c: ReturnType<typeof cost>) =>
        c.byPrimitive.find((p) => p.primitive === 'axisOp:softmax')?.count
      const [cl, cd] = [cost(l, sizes), cost(d, sizes)]
      expect(count(cl)).toBe(1)
      expect(count(cd)).toBe(1)
      expect(cd.flops).toBeLessThanOrEqual(3 * cl.flops)
      // The seed's cotangent spread over the sum's axes is fused into the contractions reading
      // it, as in the normal form (before: 1.65x the normal form's FLOPs for attention).
      expect(cd.flops).toBeLessThanOrEqual(1.1 * cost(normalize(d), sizes).flops)
      const inputs = randomInputs(l.dom, sizes, 5)
      const ps = randomParams(l, sizes, 6)
      const a = evaluate(d, sizes, inputs, ps)
      const b = evaluate(normalize(d), sizes, inputs, ps)
      a.forEach((x, i) =>
        x.forEach((v, j) =>
          expect(Math.abs(v - (b[i] as Float64Array)[j]!)).toBeLessThan(
            1e-9 * Math.max(1, Math.abs(v)),
          ),
        ),
      )
    })
})
