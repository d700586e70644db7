/**
 * optimize (issue 13, section 4; paper section 3.6): the cheapest term found equal under the cost
 * model, with a proof checkProof accepts. The showcase: the forward-derivative gradient of Fig. 33
 * (quadratic in the input) of a layer with tanh and a mean, a two-layer MLP and scaled dot-product
 * attention. Figures of FLOPs before and after, against backpropagation, are in bench/search.md
 * (npm run bench:search); these tests assert only what does not depend on time.
 */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  type Term,
  attention,
  broadcast,
  checkProof,
  cost,
  defaultSizes,
  einsum,
  evaluate,
  forwardGradient,
  grad,
  id,
  lawCatalogue,
  linearLayer,
  mean,
  mul,
  normalKey,
  normalize,
  optimize,
  par,
  randomInputs,
  randomParams,
  seq,
  show,
  sigmoid,
  tanh,
} from '../src/index.js'
import { unitsBesideBroadcasts } from '../src/rewrite/rules/transpose.js'
import { termArb } from '../src/testing/terms.js'

const catalogue = lawCatalogue()

const agree = (a: Term, b: Term, sizes: Record<string, number>): boolean => {
  const inputs = randomInputs(a.dom, sizes, 3)
  const params = randomParams(a, sizes, 4)
  const x = evaluate(a, sizes, inputs, params)
  const y = evaluate(b, sizes, inputs, params)
  return x.every((l, o) =>
    Array.from(l).every((p, j) => {
      const q = (y[o] as Float64Array)[j] as number
      return Math.abs(p - q) <= 1e-9 * Math.max(1, Math.abs(p), Math.abs(q))
    }),
  )
}

/** The networks of section 3.6, the sizes their cost is measured at, and the node limit. */
export const showcase: ReadonlyArray<
  readonly [string, () => Term, Record<string, number>, number]
> = [
  [
    'L(W) ; tanh ; mean',
    () => seq(linearLayer('W', 'a', 'b'), tanh('b'), mean('b')),
    { a: 16, b: 8 },
    800,
  ],
  [
    'two-layer MLP',
    () =>
      seq(
        linearLayer('W1', 'a', 'h'),
        tanh('h'),
        linearLayer('W2', 'h', 'c'),
        sigmoid('c'),
        mean('c'),
      ),
    { a: 8, h: 6, c: 4 },
    800,
  ],
  [
    'scaled dot-product attention ; mean',
    () => seq(attention({ y: 'y', x: 'x', k: 'k' }), broadcast(mean('k'), ['y']), mean('y')),
    { y: 3, x: 3, k: 2 },
    // Three inputs: one iteration over this forward gradient takes about 2500 e-nodes.
    3000,
  ],
]

describe('optimize', () => {
  it('returns a term no costlier than the input, with a proof checkProof accepts', () => {
    const t = seq(einsum('a b, b c -> a c'), einsum('a c -> c a'))
    const sizes = { a: 8, b: 8, c: 8 }
    for (const model of ['flops', 'memory', { flops: 1, memory: 10 }] as const) {
      const r = optimize(t, { cost: model, sizes, limits: { timeMs: 20000 } })
      expect(r.score.after).toBeLessThanOrEqual(r.score.before)
      expect(E.isRight(checkProof(r.proof, catalogue))).toBe(true)
      expect(agree(t, r.term, sizes)).toBe(true)
    }
  })

  it('forward gradients of other functions of several inputs come within 1.5x of backpropagation', () => {
    // Not tuned to attention: two vectors multiplied, a layer's output times a vector, a matrix
    // product; each input's unit is brought beside its broadcast and transposed away.
    const cases: ReadonlyArray<readonly [Term, Record<string, number>]> = [
      [seq(mul('a'), mean('a')), { a: 6 }],
      [seq(par(linearLayer('W', 'a', 'b'), id([['b']])), mul('b'), mean('b')), { a: 5, b: 4 }],
      [
        seq(
          einsum('i j, j k -> i k'),
          broadcast(tanh('k'), ['i']),
          broadcast(mean('k'), ['i']),
          mean('i'),
        ),
        { i: 4, j: 3, k: 2 },
      ],
    ]
    for (const [f, sizes] of cases) {
      const fg = forwardGradient(f)
      const r = optimize(fg, {
        cost: 'flops',
        sizes,
        limits: { iterations: 1, nodes: 3000, timeMs: 60000 },
      })
      expect(E.isRight(checkProof(r.proof, catalogue))).toBe(true)
      expect(r.proof.steps.map((s) => s.rule)).toContain('transpose/unit-broadcast-shape')
      expect(r.after.flops).toBeLessThanOrEqual(1.5 * cost(normalize(grad(f)), sizes).flops)
      expect(agree(fg, r.term, sizes)).toBe(true)
      expect(agree(grad(f), r.term, sizes)).toBe(true)
    }
  })

  it('the units brought beside their broadcasts: the same normal form and values, on random functions of several inputs', () => {
    // The presentation optimize joins to the input's class by one structural/normal-form step.
    const functions = fc
      .constantFrom<ReadonlyArray<ReadonlyArray<string>>>(
        [['a'], ['b']],
        [['a', 'b'], ['b']],
        [['a'], ['a', 'b'], ['b']],
      )
      .chain((dom) => termArb(dom, { cod: [[]], smooth: true, depth: 2 }))
    for (const f of fc.sample(functions, { numRuns: 25, seed: 7 })) {
      const fg = forwardGradient(f)
      const beside = unitsBesideBroadcasts(fg)
      if (beside === undefined) throw new Error(`no unit moved in ${show(fg, { maxLength: 200 })}`)
      expect(normalKey(beside)).toBe(normalKey(fg))
      expect(agree(fg, beside, defaultSizes(fg, 4))).toBe(true)
    }
    // Nothing to move: the single-input gradient of Fig. 33 already has its unit beside its
    // broadcast, and a term without units has none.
    expect(unitsBesideBroadcasts(forwardGradient(showcase[0]?.[1]() as Term))).toBeUndefined()
    expect(unitsBesideBroadcasts(seq(einsum('a b, b c -> a c'), tanh(['a', 'c'])))).toBeUndefined()
  })

  for (const [name, f, sizes, nodes] of showcase)
    it(`section 3.6: the forward gradient of ${name} comes within 1.5x of backpropagation's FLOPs, by a checked proof`, () => {
      const fg = forwardGradient(f())
      const r = optimize(fg, {
        cost: 'flops',
        sizes,
        limits: { iterations: 1, nodes, timeMs: 60000 },
      })
      expect(E.isRight(checkProof(r.proof, catalogue))).toBe(true)
      expect(r.proof.lhs).toBe(fg)
      expect(r.proof.rhs).toBe(r.term)
      // Never costlier than the input or its structural normal form; cheaper than both.
      expect(r.after.flops).toBeLessThan(Math.min(r.before.flops, cost(normalize(fg), sizes).flops))
      // Section 3.6's target: within 1.5x of backpropagation's FLOPs (Fig. 33 into Fig. 37 by
      // transpose/unit-broadcast, and for attention's matrix inputs transpose/unit-broadcast-shape
      // once per input after the units are brought beside their broadcasts).
      expect(r.after.flops).toBeLessThanOrEqual(1.5 * cost(normalize(grad(f())), sizes).flops)
      const laws = r.proof.steps.map((s) => s.rule)
      if (name.includes('attention'))
        expect(laws.filter((l) => l === 'transpose/unit-broadcast-shape')).toHaveLength(3)
      else expect(laws).toContain('transpose/unit-broadcast')
      expect(agree(fg, r.term, sizes)).toBe(true)
      // And equal to the engine's own reverse derivative, an independent construction.
      expect(agree(grad(f()), r.term, sizes)).toBe(true)
    })
})
