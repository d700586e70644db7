/**
 * Fused element-wise runs (src/eval/fused.ts, `fuseElementwise` in src/eval/evaluate.ts): the
 * fused pass gives the entries of the ops one by one bit for bit. `evaluateWatched` runs the
 * parts of a fused step one by one (it watches every value), so it is the reference here; the
 * values include the IEEE specials the strict-zero product and `1/(v + 0)` treat apart.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Term,
  add,
  broadcast,
  copy,
  drop,
  id,
  mul,
  offset,
  par,
  scale,
  scaleBySize,
  seq,
  unary,
  UNARY_OPS,
} from '../src/index.js'
import { compiledSteps, evaluate, evaluateWatched } from '../src/eval/evaluate.js'

const A = [['a']] as const
const T2 = [['a'], ['a']] as const

/** The first or the second of two inputs of type [a]. */
const pick = (k: 0 | 1): Term => (k === 0 ? par(id(A), drop(A)) : par(drop(A), id(A)))

/** A random tree of element-wise ops on two inputs of type [a]. */
const treeArb: fc.Memo<Term> = fc.memo((n) =>
  n <= 1
    ? fc.constantFrom(pick(0), pick(1))
    : fc.oneof(
        { weight: 1, arbitrary: fc.constantFrom(pick(0), pick(1)) },
        {
          weight: 3,
          arbitrary: fc
            .tuple(treeArb(n - 1), fc.constantFrom(...UNARY_OPS))
            .map(([t, op]) => seq(t, unary(op, ['a']))),
        },
        {
          weight: 2,
          arbitrary: fc
            .tuple(treeArb(n - 1), fc.constantFrom(-1, 0.5, 3, -0))
            .map(([t, f]) => seq(t, scale(f, ['a']))),
        },
        { weight: 1, arbitrary: treeArb(n - 1).map((t) => seq(t, offset(0.25, ['a']))) },
        { weight: 1, arbitrary: treeArb(n - 1).map((t) => seq(t, scaleBySize('a', -1, ['a']))) },
        {
          weight: 4,
          arbitrary: fc
            .tuple(treeArb(n - 1), treeArb(n - 1), fc.boolean())
            .map(([l, r, isAdd]) => seq(copy(T2), par(l, r), isAdd ? add(['a']) : mul(['a']))),
        },
      ),
)

const special = [0, -0, Infinity, -Infinity, NaN, 1e308, -1e308, 5e-324, 1, -1, 0.5, 2.5, -3]
const valueArb = fc.oneof(fc.constantFrom(...special), fc.double({ min: -8, max: 8, noNaN: true }))

const sameBits = (x: Float64Array, y: Float64Array): boolean =>
  x.length === y.length && x.every((v, i) => Object.is(v, y[i]))

/**
 * Whether `t` fuses a run (counted), and its evaluation equals the watched one (every part run
 * one by one) bit for bit.
 */
const agreesWithWatched = (
  t: Term,
  sizes: Readonly<Record<string, number>>,
  inputs: ReadonlyArray<ReadonlyArray<number>>,
): boolean => {
  const out = evaluate(t, sizes, inputs)[0] as Float64Array
  const ref = evaluateWatched(t, sizes, inputs).outputs[0] as Float64Array
  return sameBits(out, ref)
}

const fusedParts = (t: Term): number =>
  compiledSteps(t)
    .filter((s) => s.kind === 'fused' && s.live)
    .reduce((n, s) => n + s.parts, 0)

describe('fused element-wise runs', () => {
  it('equal the ops one by one bit for bit on random trees and IEEE specials', () => {
    let fused = 0
    fc.assert(
      fc.property(
        treeArb(5),
        fc.array(valueArb, { minLength: 6, maxLength: 6 }),
        (tree, values) => {
          if (fusedParts(tree) > 0) fused++
          expect(agreesWithWatched(tree, { a: 3 }, [values.slice(0, 3), values.slice(3)])).toBe(
            true,
          )
        },
      ),
      { numRuns: 400, seed: 3 },
    )
    expect(fused).toBeGreaterThan(200)
  })

  it('inside a broadcast, with an input shared across it (materialised for the pass)', () => {
    let fused = 0
    fc.assert(
      fc.property(
        treeArb(4),
        fc.array(valueArb, { minLength: 9, maxLength: 9 }),
        (tree, values) => {
          // Input 0 varies along b, input 1 is shared by every b.
          const t = broadcast(tree, ['b'], { inputs: [0, 'shared'] })
          if (fusedParts(t) > 0) fused++
          expect(agreesWithWatched(t, { a: 3, b: 2 }, [values.slice(0, 6), values.slice(6)])).toBe(
            true,
          )
        },
      ),
      { numRuns: 200, seed: 5 },
    )
    expect(fused).toBeGreaterThan(80)
  })

  it('a chain is one pass, hand-computed; a value read twice is not absorbed', () => {
    // ((x + y) · 3) · x: the sum and the scale are read once, x twice (an input: fine).
    const chain = seq(copy(T2), par(add(['a']), pick(0)), par(scale(3, ['a']), id(A)), mul(['a']))
    expect(fusedParts(chain)).toBe(3)
    expect(
      evaluate(chain, { a: 2 }, [
        [1, 2],
        [3, -4],
      ])[0],
    ).toEqual(Float64Array.from([12, -12]))
    // s = x + y read twice (s · s): the sum stays its own step, the product its own too.
    const shared = seq(add(['a']), copy(A), mul(['a']))
    expect(fusedParts(shared)).toBe(0)
    expect(
      evaluate(shared, { a: 2 }, [
        [1, 2],
        [3, -4],
      ])[0],
    ).toEqual(Float64Array.from([16, 4]))
  })

  it('watched, a fused run still reports a NaN it computes and then cleans', () => {
    // 0 · log(-1) is 0 (strict zero) but log(-1) is NaN on the way.
    const t = seq(par(unary('log', ['a']), id(A)), mul(['a']))
    expect(fusedParts(t)).toBe(2)
    expect(evaluate(t, { a: 1 }, [[-1], [0]])[0]).toEqual(Float64Array.from([0]))
    expect(evaluateWatched(t, { a: 1 }, [[-1], [0]]).nonFinite).toBe(true)
  })
})
