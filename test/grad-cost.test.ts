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
  dimProduct,
  evaluate,
  exp,
  grad,
  idResNet,
  unet,
  mlp,
  mul,
  multiHeadAttention,
  normalize,
  randomInputs,
  randomParams,
  sumLoss,
  tanh,
  type Sizes,
  type Term,
} from '../src/index.js'
import { type Dag, type Wire, postOrder, releasingOrder } from '../src/core/dag.js'
import { weightedSumLoss } from '../src/testing/losses.js'

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

describe('the raw grad of the convolutional models of src/models', () => {
  // At the sizes of bench/derive.ts, where the gradient peaked at 3.79x (IdResNet) and 4.27x
  // (U-Net) the forward's memory: every weight's cotangent was taken after the whole backward
  // pass, and the unfolded images (9x an image for a 3x3 kernel) were held from the forward
  // pass to the backward one. Now 2.53x and 2.16x, at the same FLOPs (cuts are data moves).
  const cases: ReadonlyArray<readonly [string, Term, Sizes]> = [
    [
      'IdResNet (Fig. 27)',
      idResNet({ x: 'x', b: 'b', channels: 3, classes: 10, widths: [16, 64, 128, 256], units: 1 }),
      { x: 8, b: 2 },
    ],
    [
      'U-Net (Fig. 28)',
      unet({
        h: dimProduct(4, 'm'),
        w: dimProduct(4, 'n'),
        channels: ['c0', 'c1', 'c2', 'c3'],
        out: 'y',
      }),
      { m: 16, n: 16, c0: 1, c1: 8, c2: 16, c3: 32, y: 2 },
    ],
  ]
  for (const [name, net, sizes] of cases)
    it(`${name}: within 3x the forward's peak memory and 3.1x its FLOPs`, () => {
      const l = weightedSumLoss(net)
      const d = grad(l, { params: Object.keys(randomParams(l, sizes, 1)) })
      const [cl, cd] = [cost(l, sizes), cost(d, sizes)]
      expect(cd.peakMemory).toBeLessThanOrEqual(3 * cl.peakMemory)
      expect(cd.flops).toBeLessThanOrEqual(3.1 * cl.flops)
    })
})

describe('releasingOrder', () => {
  const w = (node: number): Wire => ({ node, out: 0 })

  it('runs a node that releases a value as soon as its inputs are made', () => {
    // a = tanh x, b1 = exp a, b2 = exp b1, c = b2 · b1; d = a · x. Depth-first from the outputs
    // [c, d] runs d last, holding a to the end; d is a's last reader once b1 is made, so it runs
    // right after b1 (b2 releases nothing: c reads b1 too).
    const dag: Dag = {
      dom: [[]],
      cod: [[], []],
      nodes: [
        { op: tanh(), inputs: [w(-1)] },
        { op: exp(), inputs: [w(0)] },
        { op: exp(), inputs: [w(1)] },
        { op: mul(), inputs: [w(2), w(1)] },
        { op: mul(), inputs: [w(0), w(-1)] },
      ],
      outputs: [w(3), w(4)],
    }
    expect(postOrder(dag)).toEqual([0, 1, 2, 3, 4])
    expect(releasingOrder(dag)).toEqual([0, 1, 4, 2, 3])
  })

  it('runs a deferred node with one reader just before that reader', () => {
    // p = exp x, q = tanh x, r = p · q: depth-first makes p first; deferred, p waits for r.
    const dag: Dag = {
      dom: [[]],
      cod: [[]],
      nodes: [
        { op: exp(), inputs: [w(-1)] },
        { op: tanh(), inputs: [w(-1)] },
        { op: mul(), inputs: [w(0), w(1)] },
      ],
      outputs: [w(2)],
    }
    expect(releasingOrder(dag)).toEqual([0, 1, 2])
    expect(releasingOrder(dag, (op) => op.kind === 'scalar' && op.op === 'exp')).toEqual([1, 0, 2])
  })
})
