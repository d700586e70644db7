import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { P, checkProof, holds, index, lawCatalogue, prove, rule, v } from '../src/index.js'
import { checkLaw, checkedCatalogue } from '../src/testing/laws.js'

// Issue 9, "Soundness", item 5: checkLaw passed rules that none of its cases exercised. Cases
// that failed a rule's condition, or whose sizes did not fit, counted as passes, and sizes were
// never drawn above 4. Each test here failed before the fix.
const a = v.dim('a')
const n = v.value('n')
const atLeast = (k: number) => holds(`?n >= ${k}`, (bs) => (bs.get('n')?.value as number) >= k)
/** False: the ket |n⟩ is not |0⟩, but only for n ≥ 5, which needs an axis of 6 or more. */
const indexFive = rule('my/index-five', P.index(a, n), P.index(a, 0), {
  when: [atLeast(5)],
  oneWay: true,
})
/** True, with the same condition: |n⟩ = |n⟩. */
const indexSame = rule('my/index-same', P.index(a, n), P.index(a, n), { when: [atLeast(5)] })

describe('checkLaw counts the cases that exercised the rule', () => {
  it('a rule whose condition the cases never meet fails (300 runs used to pass)', () => {
    expect(() => checkLaw(indexFive, { numRuns: 300, seed: 1 })).toThrow(
      /only 0 of 300 cases exercised the rule, fewer than the 75 required/,
    )
    // True or not: untested is not passed.
    expect(() => checkLaw(indexSame, { numRuns: 100, seed: 1 })).toThrow(/only 0 of 100/)
  })

  it('maxSize is honoured: at sizes up to 8 the false rule is refuted numerically', () => {
    expect(() => checkLaw(indexFive, { numRuns: 300, seed: 1, maxSize: 8 })).toThrow(/before: \|5⟩/)
    // The sub-terms' maxSize is the sizes' maxSize too.
    expect(() => checkLaw(indexFive, { numRuns: 300, seed: 2, terms: { maxSize: 8 } })).toThrow(
      /before: \|5⟩/,
    )
  })

  it('draws instances that meet the conditions, and reports how many cases did', () => {
    const report = checkLaw(indexSame, { numRuns: 100, seed: 3, maxSize: 8 })
    const [tally] = report.directions
    expect(report.rule).toBe('my/index-same')
    expect(tally?.runs).toBe(100)
    expect(tally?.exercised).toBeGreaterThanOrEqual(25)
    expect(
      (tally?.exercised ?? 0) + (tally?.failedConditions ?? 0) + (tally?.unfitSizes ?? 0),
    ).toBe(100)
    // The threshold is an option: demanding every case fails here, where some draws miss.
    expect(() =>
      checkLaw(indexSame, { numRuns: 100, seed: 3, maxSize: 8, minExercised: 101 }),
    ).toThrow(/fewer than the 101 required/)
  })

  it('checkProof does not accept |5⟩ = |0⟩: the rule never reaches a checked catalogue', () => {
    const proof = prove('five is zero', index('k', 5), [[indexFive, { path: [] }]])
    expect(proof.rhs).toEqual(index('k', 0))
    // The built-in catalogue does not know the rule; a catalogue of checked rules refuses it.
    expect(E.isLeft(checkProof(proof, lawCatalogue()))).toBe(true)
    expect(() => checkedCatalogue([indexFive], { numRuns: 300, seed: 1 })).toThrow(/my\/index-five/)
    expect(() => checkedCatalogue([indexFive], { numRuns: 300, seed: 1, maxSize: 8 })).toThrow(
      /before: \|5⟩/,
    )
    const ok = checkedCatalogue([indexSame], { numRuns: 60, seed: 1, maxSize: 8 })
    expect(ok.has('my/index-same')).toBe(true)
  })
})
