/**
 * The element-wise kernel `mapUnary` (src/eval/kernels.ts), which runs a loop of its own per op,
 * against each op's definition written out here and against `unaryFunction`, entry by entry, bit
 * for bit (`Object.is`: -0 and NaN count), on random values and the edge cases -0, ±∞, NaN, 1e308 and subnormals; `erf`
 * against values from Python's `math.erf` (C99 libm).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  convAdjointBlockKernel,
  convBlockKernel,
  erf,
  erfc,
  mapUnary,
  unaryFunction,
} from '../src/eval/kernels.js'
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

describe('the convolution block kernels (conv2d cuts its axes with them, Fig. 24)', () => {
  // By their definition, one entry at a time: out[r, i, j, t] = in[r, s i + d j, t], and the
  // transpose out[r, s i + d j, t] += in[r, i, j, t] summed in the order of i, then j.
  const cut = (src: Float64Array, c: Conv): Float64Array => {
    const out = new Float64Array(c.rows * c.y * c.k * c.b)
    for (let r = 0; r < c.rows; r++)
      for (let i = 0; i < c.y; i++)
        for (let j = 0; j < c.k; j++)
          for (let t = 0; t < c.b; t++)
            out[((r * c.y + i) * c.k + j) * c.b + t] = src[
              (r * c.x + c.s * i + c.d * j) * c.b + t
            ] as number
    return out
  }
  const uncut = (src: Float64Array, c: Conv): Float64Array => {
    const out = new Float64Array(c.rows * c.x * c.b)
    for (let r = 0; r < c.rows; r++)
      for (let i = 0; i < c.y; i++)
        for (let j = 0; j < c.k; j++)
          for (let t = 0; t < c.b; t++) {
            const o = (r * c.x + c.s * i + c.d * j) * c.b + t
            out[o] = (out[o] as number) + (src[((r * c.y + i) * c.k + j) * c.b + t] as number)
          }
    return out
  }
  interface Conv {
    rows: number
    x: number
    y: number
    k: number
    s: number
    d: number
    b: number
  }
  const convArb: fc.Arbitrary<Conv> = fc
    .record({
      rows: fc.integer({ min: 1, max: 3 }),
      y: fc.integer({ min: 1, max: 6 }),
      k: fc.integer({ min: 1, max: 4 }),
      s: fc.integer({ min: 1, max: 3 }),
      d: fc.constantFrom(1, 1, 2, 3),
      extra: fc.integer({ min: 0, max: 2 }),
      // Blocks across the unrolled runs' edges (four a pass) and copyBlock's 64.
      b: fc.constantFrom(1, 2, 3, 4, 5, 7, 16, 21, 70),
    })
    .map(({ extra, ...c }) => ({ ...c, x: c.s * (c.y - 1) + c.d * (c.k - 1) + 1 + extra }))
  const specials = [0, -0, Infinity, -Infinity, NaN, 1e308, -1e308, 5e-324]
  const entries = (n: number, seed: number): Float64Array =>
    Float64Array.from({ length: n }, (_, i) => {
      const h = Math.imul(seed + i, 2654435761) >>> 0
      return h % 5 === 0 ? (specials[h % specials.length] as number) : (h / 2 ** 32) * 4 - 2
    })
  const same = (a: Float64Array, b: Float64Array): boolean =>
    a.length === b.length && a.every((v, i) => Object.is(v, b[i]))

  it('convBlockKernel and convAdjointBlockKernel: every entry as defined, bit for bit', () => {
    let undilated = 0
    fc.assert(
      fc.property(convArb, fc.nat(), (c, seed) => {
        if (c.d === 1 && c.k > 1) undilated++
        const x = entries(c.rows * c.x * c.b, seed)
        const got = convBlockKernel(x, c.x, c.y, c.k, c.s, c.d, c.b, alloc)
        expect(same(got, cut(x, c))).toBe(true)
        const g = entries(c.rows * c.y * c.k * c.b, seed + 1)
        const back = convAdjointBlockKernel(g, c.x, c.y, c.k, c.s, c.d, c.b, alloc)
        expect(same(back, uncut(g, c))).toBe(true)
      }),
      { numRuns: 300, seed: 12 },
    )
    // The one-run path (undilated, more than one tap) was reached.
    expect(undilated).toBeGreaterThan(50)
  })
})
