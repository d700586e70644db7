/**
 * The element-wise kernel `mapUnary` (src/eval/kernels.ts), which runs a loop of its own per op,
 * against each op's definition written out here entry by entry, bit for bit (`Object.is`: -0 and
 * NaN count), on random values and the edge cases -0, ±∞, NaN, 1e308 and subnormals; `erf`
 * against values from Python's `math.erf` (C99 libm).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { erf, mapUnary } from '../src/eval/kernels.js'
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
  gelu: (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
  normcdf: (v) => 0.5 * (1 + erf(v / Math.SQRT2)),
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
            expect(out.length).toBe(src.length)
            src.forEach((v, i) => {
              if (!Object.is(out[i], f(v, factor)))
                expect({ op, v, factor, got: out[i] }).toEqual({ op, v, factor, got: f(v, factor) })
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
  // Its Taylor series cancels near |x| = 3 (erf(2.9) is 2e-14 off, about 100 ulps): the bound is
  // what it achieves, not full double precision.
  it('matches libm to 1e-13 relative', () => {
    for (const [x, y] of known)
      expect(Math.abs(erf(x) - y)).toBeLessThanOrEqual(1e-13 * Math.abs(y))
    expect(Math.abs(erf(1) - 0.8427007929497149)).toBeLessThanOrEqual(2 * Number.EPSILON)
  })
})
