import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  TermError,
  applyAt,
  broadcast,
  constDim,
  conv1d,
  convTensor,
  dim,
  dimConv,
  dimSize,
  einsum,
  evaluate,
  id,
  par,
  param,
  pool1d,
  seq,
  showDim,
  showTyped,
  subsample,
} from '../src/index.js'
import type { Dim, Term } from '../src/index.js'
import {
  convolutionRules,
  kernelOne,
  kernelOneBroadcast,
  stride,
} from '../src/rewrite/rules/convolution.js'
import { checkLaw } from '../src/testing/laws.js'

/** Cases per law and direction: 200 in CI, more on demand (`LAW_RUNS=5000 npm run laws`). */
const numRuns = Number(process.env.LAW_RUNS ?? 200)

/**
 * `convolution/stride` skips its instances of stride 1 (its condition) and the sizes up to 4
 * that leave a block axis empty (`x < d (k - 1) + 1`): about a quarter of its cases remain, so it
 * runs four times as many to check at least `numRuns`.
 */
const runsOf = (name: string): number => (name === stride.name ? 4 * numRuns : numRuns)

describe('convolution laws hold (section 3.3, eq. 4-5)', () => {
  for (const r of convolutionRules)
    it(`${r.name} (${r.source})`, () => checkLaw(r, { numRuns: runsOf(r.name) }))
})

const x = dim('x')
const k = dim('k')
const ONE = constDim(1)

/** The size of a dim, or undefined when the convolution it describes is empty. */
const sizeOrEmpty = (d: Dim, sizes: Record<string, number>): number | undefined => {
  try {
    return dimSize(d, sizes)
  } catch (e) {
    if (e instanceof TermError && e.code === 'bad-size') return undefined
    throw e
  }
}

const values = (t: Term, sizes: Record<string, number>, input: Float64Array): number[] =>
  Array.from(evaluate(t, sizes, [input])[0] as Float64Array)

const ramp = (n: number): Float64Array => Float64Array.from({ length: n }, (_, i) => i + 1)

describe('the output dim of a one-wide kernel simplifies (dimConv)', () => {
  it('the 1x1 convolution tensor is [x] -> [x 1], whatever the dilation, and the identity', () => {
    expect(showDim(dimConv(x, ONE, 1, 1))).toBe('x')
    expect(showDim(dimConv(x, ONE, 1, 3))).toBe('x')
    expect(showTyped(convTensor(x, ONE))).toBe('convTensor(x,1,s1,d1) : [x] -> [x 1]')
    expect(values(convTensor(x, ONE, { dilation: 2 }), { x: 4 }, ramp(4))).toEqual([1, 2, 3, 4])
  })
  it('a strided one-wide kernel forgets its dilation', () => {
    expect(showDim(dimConv(x, ONE, 2, 3))).toBe('conv(x,1,s2,d1)')
    expect(showDim(dimConv(x, k, 2, 3))).toBe('conv(x,k,s2,d3)')
  })
  it('strides compose: every t-th block of a convolution of stride s is one of stride s t', () => {
    expect(showDim(dimConv(dimConv(x, k, 2, 3), ONE, 3, 5))).toBe('conv(x,k,s6,d3)')
    expect(showDim(dimConv(dimConv(x, ONE, 2, 1), ONE, 2, 1))).toBe('conv(x,1,s4,d1)')
  })
  it('the simplified dims have the sizes of eq. 5 applied twice, and are empty together', () => {
    fc.assert(
      fc.property(
        fc.record({
          x: fc.integer({ min: 1, max: 30 }),
          k: fc.integer({ min: 1, max: 5 }),
          s: fc.integer({ min: 1, max: 4 }),
          t: fc.integer({ min: 1, max: 4 }),
          d: fc.integer({ min: 1, max: 3 }),
        }),
        ({ x: xs, k: ks, s, t, d }) => {
          const inner = Object.freeze({ kind: 'conv', input: x, kernel: k, stride: s, dilation: d })
          const nested = Object.freeze({
            kind: 'conv',
            input: inner,
            kernel: ONE,
            stride: t,
            dilation: 1,
          })
          const sizes = { x: xs, k: ks }
          const simplified = dimConv(dimConv(x, k, s, d), ONE, t, 1)
          expect(sizeOrEmpty(simplified, sizes)).toBe(sizeOrEmpty(nested as Dim, sizes))
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('1x1 convolution is broadcasting over the input (section 3.3)', () => {
  it('a 1x1 convolution layer is a linear map on the channels, broadcast over the positions', () => {
    const layer = conv1d('C', { x: 'x', k: ONE, cIn: 'c', cOut: 'd' })
    expect(showTyped(layer)).toBe('Conv1d(C: 1, c -> d) : [x c] -> [x d]')
    // Inner broadcasting (Fig. 14): the weight is shared by every position.
    const perPosition = seq(
      par(id([['x', 'c']]), param('C.weight', ['d', 'c', ONE])),
      broadcast(einsum('c, d c j -> d', { dims: { j: ONE } }), ['x'], { inputs: [0, 'shared'] }),
    )
    expect(showTyped(perPosition)).toMatch(/: \[x c\] -> \[x d\]$/)
    const sizes = { x: 5, c: 3, d: 2 }
    const params = { 'C.weight': Float64Array.from({ length: 6 }, (_, i) => i - 2) }
    const input = Float64Array.from({ length: 15 }, (_, i) => Math.cos(i))
    const a = evaluate(layer, sizes, [input], params)[0] as Float64Array
    const b = evaluate(perPosition, sizes, [input], params)[0] as Float64Array
    b.forEach((value, i) => expect(value).toBeCloseTo(a[i] as number, 12))
  })
  it('kernel-one-broadcast turns 1-wide pooling into the reduction broadcast over positions', () => {
    const pool = pool1d('max', { x: 'x', k: ONE, c: 'c' })
    const rewritten = applyAt(kernelOneBroadcast, pool, { path: [0] })
    if (E.isLeft(rewritten)) throw new Error(rewritten.left.message)
    const after = rewritten.right.term
    expect(JSON.stringify(after)).not.toContain('convTensor')
    const input = Float64Array.from({ length: 12 }, (_, i) => ((i * 5) % 7) - 3)
    const sizes = { x: 4, c: 3 }
    expect(values(after, sizes, input)).toEqual(values(pool, sizes, input))
    expect(values(after, sizes, input)).toEqual(Array.from(input))
  })
  it('kernel-one rewrites the 1x1 convolution tensor to a view, and back', () => {
    const there = applyAt(kernelOne, convTensor(x, ONE), { path: [] })
    expect(E.isRight(there) && showTyped(there.right.term)).toBe(
      'view([x] -> [x 1]) : [x] -> [x 1]',
    )
    if (E.isLeft(there)) return
    const back = applyAt(kernelOne, there.right.term, { path: [] }, 'backward')
    expect(E.isRight(back) && showTyped(back.right.term)).toBe(
      'convTensor(x,1,s1,d1) : [x] -> [x 1]',
    )
  })
})

/** Sizes and hyper-parameters of a non-empty convolution, larger than the law contract's. */
const convArb = (minStride: number) =>
  fc
    .record({
      k: fc.integer({ min: 1, max: 4 }),
      s: fc.integer({ min: minStride, max: 4 }),
      d: fc.integer({ min: 1, max: 3 }),
      extra: fc.integer({ min: 0, max: 9 }),
    })
    .map(({ k: ks, s, d, extra }) => ({ k: ks, s, d, x: d * (ks - 1) + 1 + extra }))

describe('stride and dilation in eq. 4', () => {
  it('the stride law on sizes up to 19: every s-th block of the stride-1 blocks', () => {
    fc.assert(
      fc.property(convArb(2), ({ k: ks, s, d, x: xs }) => {
        const lhs = convTensor(x, k, { stride: s, dilation: d })
        const rewritten = applyAt(stride, lhs, { path: [] })
        if (E.isLeft(rewritten)) throw new Error(rewritten.left.message)
        const sizes = { x: xs, k: ks }
        expect(values(rewritten.right.term, sizes, ramp(xs))).toEqual(values(lhs, sizes, ramp(xs)))
      }),
      { numRuns },
    )
  })
  it('the stride law leaves stride 1 and the one-wide kernel alone (it would loop)', () => {
    expect(E.isLeft(applyAt(stride, convTensor(x, k), { path: [] }))).toBe(true)
    expect(E.isLeft(applyAt(stride, convTensor(x, ONE, { stride: 2 }), { path: [] }))).toBe(true)
  })
  it('dilation d is the undilated kernel of span d (k - 1) + 1, then every d-th kernel entry', () => {
    // A test, not a law: the right side's dims, conv(x, span, s, 1) and conv(span, 1, d, 1), have
    // the sizes of conv(x, k, s, d) and k but are other dims.
    fc.assert(
      fc.property(convArb(1), ({ k: ks, s, d, x: xs }) => {
        const kernel = constDim(ks)
        const span = constDim(d * (ks - 1) + 1)
        const dilated = convTensor(x, kernel, { stride: s, dilation: d })
        const cut = convTensor(x, span, { stride: s })
        const viaSpan = seq(cut, broadcast(subsample(span, d), [cut.cod[0]?.[0] as Dim]))
        expect(values(viaSpan, { x: xs }, ramp(xs))).toEqual(values(dilated, { x: xs }, ramp(xs)))
        if (d > 1 && ks > 1) expect(showTyped(viaSpan)).not.toBe(showTyped(dilated))
      }),
      { numRuns },
    )
  })
  it('subsample takes every s-th entry', () => {
    expect(values(subsample('a', 3), { a: 7 }, ramp(7))).toEqual([1, 4, 7])
    expect(showTyped(subsample('a', 1))).toMatch(/: \[a\] -> \[a\]$/)
  })
})
