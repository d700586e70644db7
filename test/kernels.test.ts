/**
 * The element-wise kernel `mapUnary` (src/eval/kernels.ts), which runs a loop of its own per op,
 * against each op's definition written out here and against `unaryFunction`, entry by entry, bit
 * for bit (`Object.is`: -0 and NaN count), on random values and the edge cases -0, ±∞, NaN, 1e308 and subnormals; `erf`
 * against values from Python's `math.erf` (C99 libm).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { erf, erfc, mapUnary, unaryFunction } from '../src/eval/kernels.js'
import type { ScalarOp } from '../src/core/term.js'

const alloc = (n: number): Float64Array => new Float64Array(n)

const reference: Record<string, (v: number, factor: number) => number> = {
  relu: (v) => Math.max(v, 0),
  scale: (v, f) => f * v,
  offset: (v, f) => v + f,
  exp: (v) => Math.exp(v),
  log: (v) => Math.log(v),
  tanh: (v) => Math.tanh(v),
  sqrt: (v) => Math.sqrt(v),
  reciprocal: (v) => 1 / (v + 0),
  step: (v) => (v > 0 ? 1 : 0),
  sigmoid: (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v))),
  // v Φ(v) and Φ(v) = erfc(-v/√2)/2, which is (1 + erf(v/√2))/2 without its cancellation for
  // v < 0 (test/erf.test.ts checks their accuracy).
  gelu: (v) => v * (0.5 * erfc(-v / Math.SQRT2)),
  normcdf: (v) => 0.5 * erfc(-v / Math.SQRT2),
}

const edges = [0, -0, 1, -1, Infinity, -Infinity, NaN, 1e308, -1e308, 5e-324, -5e-324, 3, -3, 40]

describe('mapUnary', () => {
  for (const op of Object.keys(reference)) {
    it(`${op}: every entry as its definition, bit for bit`, () => {
      const f = reference[op] as (v: number, factor: number) => number
      fc.assert(
        fc.property(
          fc.array(fc.double(), { maxLength: 40 }),
          fc.double({ min: -8, max: 8, noNaN: true }),
          (xs, factor) => {
            const src = Float64Array.from([...xs, ...edges])
            const out = mapUnary(src, op as ScalarOp, factor, alloc)
            const g = unaryFunction(op as ScalarOp, factor)
            expect(out.length).toBe(src.length)
            src.forEach((v, i) => {
              if (!Object.is(out[i], f(v, factor)))
                expect({ op, v, factor, got: out[i] }).toEqual({ op, v, factor, got: f(v, factor) })
              if (!Object.is(out[i], g(v)))
                expect({ op, v, factor, got: out[i] }).toEqual({ op, v, factor, got: g(v) })
            })
          },
        ),
        { numRuns: 60 },
      )
    })
  }
})

describe('erf', () => {
  // Python 3: math.erf(x) for each x (C99 libm, correctly rounded or within 1 ulp).
  const known: ReadonlyArray<readonly [number, number]> = [
    [0.1, 0.1124629160182849],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [1.5, 0.9661051464753108],
    [2, 0.9953222650189527],
    [2.9, 0.9999589021219005],
    [3.5, 0.9999992569016276],
    [5, 0.9999999999984626],
    [-0.7, -0.6778011938374184],
  ]
  // Full double precision (the Taylor series it replaced was 190 ulps off at 2.9); test/erf.test.ts
  // checks 20,000 points to 1 ulp.
  it('matches libm to 2^-52 relative', () => {
    for (const [x, y] of known)
      expect(Math.abs(erf(x) - y)).toBeLessThanOrEqual(Number.EPSILON * Math.abs(y))
  })
})
