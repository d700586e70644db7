import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  type Term,
  add,
  broadcast,
  concat,
  copy,
  drop,
  einsum,
  equivalent,
  evaluate,
  evaluateWithErrorBounds,
  generator,
  id,
  layerNorm,
  mean,
  mul,
  offset,
  par,
  randomInputs,
  randomParams,
  relu,
  scale,
  seededRandom,
  seq,
  softmax,
  swap,
  tanh,
  unary,
  type UnaryOp,
} from '../src/index.js'
import { termWithSizesArb } from '../src/testing/arbitraries.js'
import { roundingBalls } from '../src/eval/error-bound.js'
import { type Q, Unsupported, exactEvaluate, ofFloat, qabs, qcmp, qsub } from './exact-rational.js'

/**
 * Whether |computed − exact| ≤ bound, compared exactly; returns the worst ratio of the error to
 * its bound seen (0 when every value is exact), or throws with the entry that breaks it.
 */
const checkBounds = (
  what: string,
  computed: ReadonlyArray<Float64Array>,
  bounds: ReadonlyArray<Float64Array>,
  exact: ReadonlyArray<ReadonlyArray<Q>>,
): number => {
  let worst = 0
  computed.forEach((c, o) =>
    c.forEach((v, j) => {
      const b = (bounds[o] as Float64Array)[j] as number
      if (!Number.isFinite(v) || b === Infinity) return
      const e = (exact[o] as ReadonlyArray<Q>)[j] as Q
      const err = qabs(qsub(ofFloat(v), e))
      if (err.n === 0n) return
      if (qcmp(err, ofFloat(b)) > 0)
        throw new Error(
          `${what}: output ${o} entry ${j} is ${v}, exactly ${Number(e.n) / Number(e.d)}, an error of ${Number(err.n) / Number(err.d)} over its bound ${b}`,
        )
      worst = Math.max(worst, Number(err.n) / Number(err.d) / b)
    }),
  )
  return worst
}

/**
 * Entries in (-3, 3) with all 53 bits of the significand used (randomInputs draws multiples of
 * 2^-32, whose sums are exact), and one in eight of them huge or tiny, so that additions round.
 */
const fullInputs = (t: Term, sizes: Record<string, number>, seed: number): Float64Array[] => {
  const next = seededRandom(seed)
  return randomInputs(t.dom, sizes, seed).map((x) =>
    x.map(() => {
      const v = 3 * (2 * next() - 1 + (next() - 0.5) * 2 ** -31)
      const pick = next()
      return pick < 1 / 16 ? v * 1e12 : pick < 1 / 8 ? v * 1e-9 : v
    }),
  )
}

describe('the rounding-error bound bounds |float64 − exact| (exact rationals)', () => {
  it('on random terms of the rational fragment at full-precision random inputs', () => {
    let checked = 0
    let rounded = 0
    fc.assert(
      fc.property(
        termWithSizesArb({ depth: 3, maxSize: 3 }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        (c, seed) => {
          const inputs = fullInputs(c.term, c.sizes, seed)
          const params = randomParams(c.term, c.sizes, seed + 1)
          let exact
          try {
            exact = exactEvaluate(c.term, c.sizes, inputs, params, 3)
          } catch (e) {
            if (e instanceof Unsupported) return
            throw e
          }
          const { outputs, bounds } = evaluateWithErrorBounds(c.term, c.sizes, inputs, params, {
            generatorSeed: 3,
          })
          checked++
          if (checkBounds(String(c), outputs, bounds, exact) > 0) rounded++
        },
      ),
      { numRuns: 300, seed: 7 },
    )
    // The property is not vacuous: many terms were in the fragment, and some of them rounded.
    expect(checked).toBeGreaterThan(60)
    expect(rounded).toBeGreaterThan(10)
  })

  it('on terms made to lose digits: large factors, cancellation, long contractions', () => {
    const k = [['k']]
    const big = (c: number) => scale(c, 'k')
    const cancel = (c: number): Term =>
      seq(copy(k), par(seq(copy(k), par(big(c), id(k)), add('k')), big(-c)), add('k'))
    const terms: Term[] = [
      // One rounding of exact inputs: the bound is the primitive's own rounding alone.
      add('k'),
      mul('k'),
      einsum('k, k ->'),
      scale(1 / 3, 'k'),
      offset(1 / 3, 'k'),
      mean('k'),
      cancel(1e16),
      cancel(3.7e15),
      seq(scale(3, 'k'), cancel(1e16)),
      seq(cancel(1e8), cancel(1e12)),
      seq(big(1e300), big(1e-300)),
      seq(copy(k), par(big(1 / 3), big(2 / 3)), mul('k'), cancel(1e10)),
      seq(offset(1e15, 'k'), offset(-1e15, 'k'), relu('k')),
      seq(cancel(1e16), mean('k')),
      seq(copy(k), par(id(k), cancel(1e14)), einsum('k, k ->')),
      seq(
        einsum('k -> k j', { dims: { j: 'j' } }),
        broadcast(cancel(1e15), ['j'], { inputs: [1], outputs: [1] }),
      ),
      seq(copy(k), par(id(k), seq(big(1e18), drop(k))), cancel(1e9)),
      seq(copy(k), par(big(1e16), big(1e-16)), swap(k, k), concat(0, [['k'], ['k']])),
      seq(
        generator('F', k, [['k', 'j']], { linearity: 'linear' }),
        broadcast(cancel(1e15), ['j'], { inputs: [1], outputs: [1] }),
      ),
      seq(
        copy(k),
        par(cancel(1e12), id(k)),
        generator('G', [['k'], ['k']], [['j']], { linearity: 'multilinear' }),
      ),
    ]
    let rounded = 0
    for (const t of terms)
      for (const n of [1, 3, 5])
        for (let seed = 0; seed < 6; seed++) {
          const sizes = { k: n, j: 2 }
          const inputs = fullInputs(t, sizes, seed)
          const exact = exactEvaluate(t, sizes, inputs, {}, 9)
          const { outputs, bounds } = evaluateWithErrorBounds(
            t,
            sizes,
            inputs,
            {},
            {
              generatorSeed: 9,
            },
          )
          if (checkBounds(`${String(t.kind)} at k = ${n}`, outputs, bounds, exact) > 0.01) rounded++
        }
    // The bounds are not vacuous here: many errors are a sizeable part of them.
    expect(rounded).toBeGreaterThan(20)
  })
})

describe('the bound evaluation follows the evaluator on every kind of term', () => {
  it('random terms with every primitive and generators: the evaluator is within the radius', () => {
    // The midpoints are the evaluator's results node by node (broadcasts by their index
    // definition unless a primitive's axes lead), so the evaluator's outputs must lie within the
    // radius of them: this checks the walk (broadcast layouts, shared inputs, derivatives) on
    // the terms that have no exact rational meaning.
    let finite = 0
    fc.assert(
      fc.property(
        termWithSizesArb({ depth: 3, maxSize: 3 }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        (c, seed) => {
          const inputs = fullInputs(c.term, c.sizes, seed)
          const params = randomParams(c.term, c.sizes, seed + 1)
          const outputs = evaluate(c.term, c.sizes, inputs, params, { generatorSeed: 4 })
          const balls = roundingBalls(c.term, c.sizes, inputs, params, { generatorSeed: 4 })
          expect(balls.length).toBe(outputs.length)
          balls.forEach((b, o) => {
            const out = outputs[o] as Float64Array
            expect(b.m.length).toBe(out.length)
            b.m.forEach((m, j) => {
              const v = out[j] as number
              const r = b.r[j] as number
              if (!Number.isFinite(v) || !Number.isFinite(m)) return
              expect(r, String(c)).toBeGreaterThanOrEqual(0)
              expect(Math.abs(v - m), `${String(c)}\noutput ${o} entry ${j}`).toBeLessThanOrEqual(r)
              if (r < Infinity) finite++
            })
          })
        },
      ),
      { numRuns: 200, seed: 11 },
    )
    expect(finite).toBeGreaterThan(1000)
  })
})

/** High-precision values from mpmath (test/python/error_bound_reference.py). */
interface Reference {
  readonly unary: ReadonlyArray<{
    readonly op: UnaryOp
    readonly c: number
    readonly x: number
    readonly shift: number
    readonly exact: number
    readonly err: number
  }>
  readonly rows: ReadonlyArray<{
    readonly op: 'softmax' | 'layerNorm'
    readonly c: number
    readonly shift: number
    readonly x: ReadonlyArray<number>
    readonly exact: ReadonlyArray<number>
    readonly err: ReadonlyArray<number>
  }>
}

const reference = JSON.parse(
  readFileSync(new URL('./fixtures/error-bound-reference.json', import.meta.url), 'utf8'),
) as Reference

describe('the rounding-error bound of the transcendental primitives (against mpmath)', () => {
  // Each case is scale(c) then offset(shift) then offset(-shift) then the map: the argument
  // reaches the map as a ball (rounded by the scale and the shifts), and mpmath gives the map at
  // the exact argument c·x to 40 digits (exact ± err, err ≤ 1e-30 relative).
  it('exp, log, tanh, sigmoid, sqrt, reciprocal, gelu, normcdf on exact and rounded arguments', () => {
    let wide = 0
    for (const r of reference.unary) {
      const t = seq(scale(r.c), offset(r.shift), offset(-r.shift), unary(r.op))
      const { outputs, bounds } = evaluateWithErrorBounds(t, {}, [[r.x]])
      const v = outputs[0]?.[0] as number
      const b = bounds[0]?.[0] as number
      expect(
        Math.abs(v - r.exact),
        `${r.op} at ${r.c} * ${r.x} (shift ${r.shift})`,
      ).toBeLessThanOrEqual(b - r.err - Math.abs(r.exact) * 2 ** -52)
      if (r.shift !== 0 && Math.abs(v - r.exact) > 0) wide++
    }
    expect(reference.unary.length).toBeGreaterThan(100)
    expect(wide).toBeGreaterThan(10)
  })
  it('softmax and layerNorm over an axis of 5', () => {
    for (const r of reference.rows) {
      const t = seq(
        scale(r.c, 'a'),
        offset(r.shift, 'a'),
        offset(-r.shift, 'a'),
        r.op === 'softmax' ? softmax('a') : layerNorm('a'),
      )
      const { outputs, bounds } = evaluateWithErrorBounds(t, { a: r.x.length }, [r.x])
      r.exact.forEach((e, j) => {
        const v = outputs[0]?.[j] as number
        expect(Math.abs(v - e), `${r.op} at ${r.c} * ${r.x.join(' ')}`).toBeLessThanOrEqual(
          (bounds[0]?.[j] as number) - (r.err[j] as number) - Math.abs(e) * 2 ** -52,
        )
      })
    }
  })
})

describe('where the bound can say nothing, it says so', () => {
  // x + 10^8 - 10^8 at x = 10^-9 is 0 in float64 with a ball of about 10^-8 around it.
  const blur = (f: Term): Term => seq(offset(1e8), offset(-1e8), f)
  const at = (t: Term, x: number, options = {}) => {
    const { outputs, bounds } = evaluateWithErrorBounds(t, {}, [[x]], {}, options)
    return { v: outputs[0]?.[0] as number, b: bounds[0]?.[0] as number }
  }
  it('1/x and log x on a ball that reaches 0 are unbounded; step across 0 is off by up to 1', () => {
    expect(at(blur(unary('reciprocal')), 1e-9).b).toBe(Infinity)
    expect(at(blur(unary('log')), 1e-9).b).toBe(Infinity)
    expect(at(blur(unary('step')), 1e-9)).toEqual({ v: 0, b: 1 })
    // Away from 0 the same maps are bounded, and exact inputs round once.
    expect(at(blur(unary('reciprocal')), 0.5).b).toBeLessThan(1e-6)
    expect(at(unary('log'), 0.5).b).toBeLessThan(1e-14)
    expect(at(unary('step'), 0.5).b).toBe(0)
  })
  it('a generator with a supplied implementation is not bounded', () => {
    const G = generator('G', [[]], [[]], { linearity: 'linear' })
    const impl = { generators: { G: (xs: ReadonlyArray<Float64Array>) => [xs[0] as Float64Array] } }
    expect(at(G, 0.5, impl).b).toBe(Infinity)
    expect(at(G, 0.5).b).toBeLessThan(1e-15)
  })
  it('a value that overflows gives an infinite bound, not a finite one', () => {
    expect(at(seq(scale(1e300), scale(1e300), scale(1e-300)), 1).b).toBe(Infinity)
  })
})

describe('the bounds keep refutations', () => {
  const k = [['k']]
  const F = generator('F', k, k)
  const L = generator('L', k, k, { linearity: 'linear' })
  it('ordinary false laws are refuted, their difference far above the bound', () => {
    const pairs: ReadonlyArray<readonly [Term, Term]> = [
      [relu('k'), tanh('k')],
      [seq(scale(2, 'k'), tanh('k')), seq(tanh('k'), scale(2, 'k'))],
      [seq(F, F), F],
      [seq(L, scale(2, 'k')), L],
      [seq(copy(k), mul('k')), id(k)],
      [softmax('k'), id(k)],
      [seq(layerNorm('k'), layerNorm('k'), scale(2, 'k')), layerNorm('k')],
      [einsum('i j -> j i', { dims: { i: 'k', j: 'k' } }), id([['k', 'k']])],
      [seq(unary('exp', 'k'), unary('log', 'k'), scale(1.000001, 'k')), id(k)],
      [seq(unary('gelu', 'k'), mean('k')), seq(relu('k'), mean('k'))],
    ]
    for (const [a, b] of pairs) {
      const r = equivalent(a, b, { limits: false })
      expect(r.kind).toBe('counterexample')
      if (r.kind !== 'counterexample') continue
      const { left, right, bound } = r.counterexample
      expect(Math.abs(left - right)).toBeGreaterThan(bound as number)
      expect(bound).toBeLessThan(1e-6 * Math.abs(left - right))
    }
  })
  it('a counterexample evaluates as reported and its bound is the two sides’ bounds', () => {
    const a = seq(scale(2, 'k'), tanh('k'))
    const b = seq(tanh('k'), scale(2, 'k'))
    const r = equivalent(a, b, { limits: false })
    if (r.kind !== 'counterexample') throw new Error(r.kind)
    const c = r.counterexample
    const x = evaluateWithErrorBounds(a, c.sizes, c.inputs)
    const y = evaluateWithErrorBounds(b, c.sizes, c.inputs)
    expect(x.outputs[c.output]?.[c.entry]).toBe(c.left)
    expect(y.outputs[c.output]?.[c.entry]).toBe(c.right)
    const sum =
      (x.bounds[c.output]?.[c.entry] as number) + (y.bounds[c.output]?.[c.entry] as number)
    expect(c.bound).toBeGreaterThanOrEqual(sum)
    expect(c.bound).toBeLessThan(sum * 1.001)
    expect(evaluate(a, c.sizes, c.inputs)[0]).toEqual(x.outputs[0])
  })
})
