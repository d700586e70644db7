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
  TermError,
  add,
  cost,
  step,
  swap,
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
import {
  compiledSteps,
  evaluate,
  evaluateAsWritten,
  evaluateWatched,
} from '../src/eval/evaluate.js'

const A = [['a']] as const
const T2 = [['a'], ['a']] as const

/** The first or the second of two inputs of type [a] (or of `shape`). */
const pick = (k: 0 | 1, shape: ReadonlyArray<string> = ['a']): Term =>
  k === 0 ? par(id([shape]), drop([shape])) : par(drop([shape]), id([shape]))

/** A random tree of element-wise ops on two inputs of type [`shape`] ([a] by default). */
const treeOver = (shape: ReadonlyArray<string>): fc.Memo<Term> => {
  const two = [shape, shape] as const
  const tree: fc.Memo<Term> = fc.memo((n) =>
    n <= 1
      ? fc.constantFrom(pick(0, shape), pick(1, shape))
      : fc.oneof(
          { weight: 1, arbitrary: fc.constantFrom(pick(0, shape), pick(1, shape)) },
          {
            weight: 3,
            arbitrary: fc
              .tuple(tree(n - 1), fc.constantFrom(...UNARY_OPS))
              .map(([t, op]) => seq(t, unary(op, shape))),
          },
          {
            weight: 2,
            arbitrary: fc
              .tuple(tree(n - 1), fc.constantFrom(-1, 0.5, 3, -0))
              .map(([t, f]) => seq(t, scale(f, shape))),
          },
          { weight: 1, arbitrary: tree(n - 1).map((t) => seq(t, offset(0.25, shape))) },
          {
            weight: 1,
            arbitrary: tree(n - 1).map((t) => seq(t, scaleBySize('a', -1, shape))),
          },
          {
            weight: 4,
            arbitrary: fc
              .tuple(tree(n - 1), tree(n - 1), fc.boolean())
              .map(([l, r, isAdd]) => seq(copy(two), par(l, r), isAdd ? add(shape) : mul(shape))),
          },
        ),
  )
  return tree
}

const treeArb = treeOver(['a'])

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

/** The code of the TermError `f` throws ('none' when it throws nothing). */
const errorCode = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    if (e instanceof TermError) return e.code
    throw e
  }
  return 'none'
}

/** Whether the compiled term runs a broadcast through a body (not flattened into its ops). */
const runsBody = (t: Term): boolean => compiledSteps(t).some((s) => s.kind === 'broadcast')

describe('broadcasts of circuits of scalar ops (pointwiseCircuit)', () => {
  const S = [[]] as const
  /**
   * A ReLU's forward as the reverse derivative splits it (src/derive/transpose.ts): the value
   * and its slope computed together, the slope (read by the backward broadcast) dropped here.
   */
  const split = seq(copy(S), par(unary('relu', []), step()), swap(S, S), par(drop(S), id(S)))

  it('a ReLU split broadcast over axes runs as its ops, the dropped slope not at all', () => {
    const t = broadcast(broadcast(split, ['c']), ['h', 'w'])
    expect(runsBody(t)).toBe(false)
    expect(compiledSteps(t).map((s) => [s.what, s.live])).toEqual([
      ['relu', true],
      ['step', false],
    ])
    const x = [-2, 0, -0, 3, NaN, Infinity, -1, 0.5]
    const out = evaluate(t, { h: 2, w: 2, c: 2 }, [x])[0] as Float64Array
    expect(sameBits(out, Float64Array.from([0, 0, 0, 3, NaN, Infinity, 0, 0.5]))).toBe(true)
  })

  it('random circuits, nested in one or two broadcasts: the entries as written, bit for bit', () => {
    let flattened = 0
    let dead = 0
    fc.assert(
      fc.property(
        treeOver([])(5),
        treeOver([])(3),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(valueArb, { minLength: 24, maxLength: 24 }),
        (left, right, outputs, nest, values) => {
          // Both trees' values (the second first), or the first's, or the second's: the first
          // tree's ops then computed for nothing.
          const both = seq(copy([[], []]), par(left, right))
          const body =
            outputs === 0
              ? seq(both, swap(S, S))
              : outputs === 1
                ? left
                : seq(both, par(drop(S), id(S)))
          // Over a then b (the axes of b first or last), or over b a at once; or with the second
          // input shared across a (spread, not entry-wise: run through the body).
          const t =
            nest < 2
              ? broadcast(broadcast(body, ['a']), ['b'], { at: nest === 0 ? 0 : 'last' })
              : nest === 2
                ? broadcast(body, ['b', 'a'])
                : broadcast(broadcast(body, ['a'], { inputs: [0, 'shared'] }), ['b'])
          if (!runsBody(t)) flattened++
          else expect(nest).toBe(3)
          if (compiledSteps(t).some((s) => !s.live)) dead++
          const sizes = { a: 3, b: 4 }
          const ins = [values.slice(0, 12), values.slice(12, nest === 3 ? 16 : 24)]
          const out = evaluate(t, sizes, ins)
          const ref = evaluateAsWritten(t, sizes, ins)
          const watched = evaluateWatched(t, sizes, ins).outputs
          expect(out.length).toBe(ref.length)
          out.forEach((o, i) => {
            expect(sameBits(o, ref[i] as Float64Array)).toBe(true)
            expect(sameBits(o, watched[i] as Float64Array)).toBe(true)
          })
        },
      ),
      { numRuns: 300, seed: 11 },
    )
    expect(flattened).toBeGreaterThan(180)
    expect(dead).toBeGreaterThan(50)
  })

  it('refuses a total memory cap as the evaluation as written does: its outputs counted per level', () => {
    // relu copied to 8 outputs: as written, each broadcast holds the 8 outputs; flattened, the
    // copies are one slot, but the precheck counts them as written.
    const eight = seq(
      unary('relu', []),
      copy(S),
      par(copy(S), copy(S)),
      par(copy(S), copy(S), copy(S), copy(S)),
    )
    const t = broadcast(broadcast(eight, ['a']), ['b'])
    expect(runsBody(t)).toBe(false)
    const sizes = { a: 50, b: 40 }
    const x = [Array.from({ length: 2000 }, (_, i) => i - 1000)]
    const peak = cost(t, sizes).peakMemory
    for (const cap of [peak - 1, Math.floor(peak / 2)]) {
      const options = { totalMemoryCap: cap }
      expect(errorCode(() => evaluateAsWritten(t, sizes, x, {}, options))).toBe('memory-cap')
      expect(errorCode(() => evaluate(t, sizes, x, {}, options))).toBe('memory-cap')
    }
    expect(evaluate(t, sizes, x, {}, { totalMemoryCap: peak })).toHaveLength(8)
  })
})
