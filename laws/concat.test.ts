/**
 * The concatenation laws (src/rewrite/rules/concat.ts, paper Fig. 28), each checked by the law
 * contract: both sides evaluated and compared on random sizes (1 to 4), random parts and random
 * sub-terms, rewriting deterministic. False neighbours (the parts in the wrong order, a split
 * rejoined in the other order, flattening reordered) are refuted with a numeric counterexample.
 * The search (`equivalent`) proves equations of concatenations with them, and its proofs replay.
 */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  P,
  type Term,
  broadcast,
  checkProof,
  concat,
  dimSum,
  equivalent,
  id,
  lawCatalogue,
  mean,
  par,
  relu,
  rule,
  seq,
  split,
  tanh,
  v,
} from '../src/index.js'
import { concatEinsum, concatRules } from '../src/rewrite/rules/concat.js'
import { einsumArb } from '../src/testing/einsums.js'
import { checkLaw, refuteLaw } from '../src/testing/laws.js'
import { DEFAULT_DIMS, shapeArb } from '../src/testing/sizes.js'
import { termArb } from '../src/testing/terms.js'

/** Cases per law: 200 in CI, more on demand (`LAW_RUNS=5000 npm run laws`). */
const numRuns = Number(process.env.LAW_RUNS ?? 200)

const dimArb = fc.constantFrom(...DEFAULT_DIMS)

/**
 * Instances of `concat/einsum`, which the pattern-walking generator cannot draw (the joined axis
 * of the broadcast is fixed by the concatenation before it): parts `[a X]`, `[b X]`, a shared
 * weight `[W]`, and a map `e : [X] × [W] -> [Y]`, an einsum (`einsums`) or any term.
 */
const einsumCases = (einsums: boolean): fc.Arbitrary<Term> =>
  fc
    .record({
      a: dimArb,
      b: dimArb,
      X: shapeArb({ minRank: 1, maxRank: 2 }),
      W: shapeArb({ minRank: 0, maxRank: 2 }),
      Y: shapeArb({ minRank: 0, maxRank: 2 }),
    })
    .chain(({ a, b, X, W, Y }) =>
      (einsums
        ? einsumArb([X, W], DEFAULT_DIMS, { maxRank: 4, maxCells: 256, maxSize: 4 })
        : termArb([X, W], { cod: [Y], depth: 2, generators: false })
      ).map((e) =>
        seq(
          par(
            concat(0, [
              [a, ...X],
              [b, ...X],
            ]),
            id([W]),
          ),
          broadcast(e, [dimSum(a, b)], { inputs: [0, 'shared'], outputs: [0] }),
        ),
      ),
    )

describe('concatenation laws hold (Fig. 28)', () => {
  for (const r of concatRules)
    it(`${r.name} (${r.source})`, () => {
      const options =
        r === concatEinsum ? { numRuns, instances: { forward: einsumCases(true) } } : { numRuns }
      const report = checkLaw(r, options)
      expect(report.directions[0]?.exercised).toBeGreaterThanOrEqual(numRuns / 4)
    })
  it('concat/einsum for any map with a shared input, not only einsums (Fig. 14)', () => {
    checkLaw(concatEinsum, { numRuns, instances: { forward: einsumCases(false) } })
  })
})

const a = v.dim('a')

/** Refute at a coarse tolerance: the counterexample is a difference no rounding explains. */
const coarse = { tolerance: 0.01 }

const refutedNumerically = (counterexample: string): void => {
  expect(counterexample).toContain('before:')
  expect(counterexample).toMatch(/problem: output \d+ differs at entry \d+/)
}

describe('plausible false concatenation laws are refuted', () => {
  it('the parts in the wrong order: concatenation is not commutative', () => {
    // Two parts of one axis a, so both sides have the type [a] × [a] -> [(2*a)].
    const wrong = rule(
      'wrong/concat-commutes',
      P.concat([a, a]),
      P.seq(P.swap([[a]], [[a]]), P.concat([a, a])),
    )
    refutedNumerically(refuteLaw(wrong, 'forward', coarse))
  })

  it('joining the pieces of a split in the other order is not the identity', () => {
    const wrong = rule(
      'wrong/split-swap-concat',
      P.seq(v.as('s', P.split([a, a])), P.swap([[a]], [[a]]), P.concat([a, a])),
      P.id(v.dom('s')),
      { oneWay: true },
    )
    refutedNumerically(refuteLaw(wrong, 'forward', coarse))
  })

  it('flattening does not reorder the parts', () => {
    const reordered = rule(
      'wrong/flatten-reordered-values',
      P.seq(
        P.par(P.id([[a]]), v.as('c', P.concat([a, a]))),
        P.concat([a, v.segment('cod', 'c', 0)]),
      ),
      P.seq(P.par(P.swap([[a]], [[a]]), P.id([[a]])), P.concat([a, a, a])),
      { oneWay: true },
    )
    refutedNumerically(refuteLaw(reordered, 'forward', coarse))
  })
})

describe('the search proves equations of concatenations with these laws (and replays them)', () => {
  const ab = [['a'], ['b']]
  const proves = (lhs: Term, rhs: Term, law: string): void => {
    const r = equivalent(lhs, rhs)
    if (r.kind !== 'proof') throw new Error(`${r.kind}: not proved`)
    expect(r.proof.steps.map((s) => s.rule)).toContain(law)
    expect(E.isRight(checkProof(r.proof, lawCatalogue()))).toBe(true)
  }
  it('split ; concat = id and concat ; split = id', () => {
    proves(seq(split(0, ab), concat(0, ab)), id([[dimSum('a', 'b')]]), 'concat/split-concat')
    proves(seq(concat(0, ab), split(0, ab)), id(ab), 'concat/concat-split')
    proves(
      seq(split(0, ['a h', 'b h']), concat(0, ['a h', 'b h'])),
      id([[dimSum('a', 'b'), 'h']]),
      'concat/split-concat',
    )
  })
  it('relu commutes with a concatenation, over one axis and broadcast over another', () => {
    proves(
      seq(par(relu('a'), relu('b')), concat(0, ab)),
      seq(concat(0, ab), relu([dimSum('a', 'b')])),
      'concat/elementwise',
    )
    proves(
      seq(par(relu('a h'), relu('b h')), concat(0, ['a h', 'b h'])),
      seq(concat(0, ['a h', 'b h']), relu([dimSum('a', 'b'), 'h'])),
      'concat/broadcast',
    )
  })
  it('mean pooling of rows commutes with joining the rows (concat/broadcast-reduce)', () => {
    proves(
      seq(par(broadcast(mean('k'), ['a']), broadcast(mean('k'), ['b'])), concat(0, ab)),
      seq(concat(0, ['a k', 'b k']), broadcast(mean('k'), [dimSum('a', 'b')])),
      'concat/broadcast-reduce',
    )
  })
  it('a concatenation of a concatenation is one concatenation', () => {
    proves(
      seq(par(id([['a']]), concat(0, [['b'], ['c']])), concat(0, [['a'], [dimSum('b', 'c')]])),
      concat(0, [['a'], ['b'], ['c']]),
      'concat/flatten-right',
    )
  })
  it('relu on one part and tanh on the other is not relu after the concatenation', () => {
    const r = equivalent(
      seq(par(relu('a'), tanh('b')), concat(0, ab)),
      seq(concat(0, ab), relu([dimSum('a', 'b')])),
    )
    expect(r.kind).toBe('counterexample')
  })
})
