import { describe, expect, it } from 'vitest'
import { P, rule, v } from '../src/index.js'
import { cartesianRules } from '../src/rewrite/rules/cartesian.js'
import { categoryRules } from '../src/rewrite/rules/category.js'
import { monoidalRules } from '../src/rewrite/rules/monoidal.js'
import { checkLaw, refuteLaw } from '../src/testing/laws.js'

/** Cases per law and direction: 200 in CI, more on demand (`LAW_RUNS=5000 npm run laws`). */
const numRuns = Number(process.env.LAW_RUNS ?? 200)

describe('category, tuple and Cartesian laws hold', () => {
  for (const r of [...categoryRules, ...monoidalRules, ...cartesianRules])
    it(`${r.name} (${r.source})`, () => checkLaw(r, { numRuns }))
})

describe('plausible false laws are refuted, with a readable counterexample', () => {
  const A = v.type('A')
  it('swapping a pair of equal types is not the identity', () => {
    const wrong = rule('wrong/swap-is-id', P.swap(A, A), P.id(v.concat(A, A)))
    const counterexample = refuteLaw(wrong)
    expect(counterexample).toContain('before: swap(')
    expect(counterexample).toContain('differs')
  })
  it('a true law is not refuted (the refutation can fail)', () => {
    const wrong = rule('wrong/copy-drop', P.seq(P.copy(A), P.drop(v.concat(A, A))), P.drop(A), {
      oneWay: true,
    })
    // True (both sides are drop): a law that holds is not refuted.
    expect(() => refuteLaw(wrong, 'forward', { numRuns: 50 })).toThrow(/not refuted/)
  })
  it('the second copy is not zero', () => {
    const wrong = rule(
      'wrong/copy-zero',
      P.copy(A),
      P.seq(P.copy(A), P.par(P.id(A), P.seq(P.drop(A), P.zero(A)))),
    )
    expect(refuteLaw(wrong)).toMatch(/before: copy\(/)
  })
})
