/**
 * Every primitive against hand-computed values and against its definition by indexes (paper
 * Fig. 10-15): an element-wise map is the scalar function at every index, an index extracts the
 * entry it names, indexes on different axes commute, a view keeps the row-major data, and the
 * convolution tensor is eq. 4 with the output size of eq. 5.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Dim,
  type Term,
  type UnaryOp,
  TermError,
  add,
  broadcast,
  constDim,
  convTensor,
  copy,
  dim,
  dimProduct,
  dimSize,
  drop,
  einsum,
  evaluate,
  exp,
  gelu,
  id,
  index,
  layerNorm,
  linearLayer,
  log,
  max,
  mean,
  mul,
  pad,
  par,
  param,
  reciprocal,
  relu,
  scale,
  seq,
  sigmoid,
  softmax,
  sqrt,
  swap,
  tanh,
  unary,
  view,
  zero,
  seededRandom,
} from '../src/index.js'

// ---------------------------------------------------------------------------------------------
// Helpers

/** Seeded uniform numbers in [0, 1): the engine's mulberry32, for test data only. */
const prng = seededRandom

/** `n` numbers uniform in [lo, hi). */
const randomArray = (n: number, seed: number, lo = -2, hi = 2): Float64Array => {
  const next = prng(seed)
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * next())
}

/** Entry-wise closeness, NaN equal to NaN and infinities exact; a message with both arrays. */
const expectClose = (got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-12): void => {
  const show = (xs: ArrayLike<number>) => `[${Array.from(xs).join(', ')}]`
  if (got.length !== want.length)
    throw new Error(`length ${got.length}, want ${want.length}\n got:  ${show(got)}`)
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as number
    const w = want[i] as number
    const ok = Number.isNaN(w)
      ? Number.isNaN(g)
      : !Number.isFinite(w)
        ? g === w
        : Math.abs(g - w) <= tol * Math.max(1, Math.abs(w))
    if (!ok)
      throw new Error(`entry ${i}: got ${g}, want ${w}\n got:  ${show(got)}\n want: ${show(want)}`)
  }
}

/** Relative closeness, for hand values that may be tiny: `|got - want| <= tol |want|`. */
const expectRel = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void => {
  expect(got.length).toBe(want.length)
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as number
    const w = want[i] as number
    if (Number.isNaN(w)) expect(g, `entry ${i}`).toBeNaN()
    else if (w === 0 || !Number.isFinite(w)) expect(g, `entry ${i}`).toBe(w)
    else if (!(Math.abs(g - w) <= tol * Math.abs(w)))
      throw new Error(
        `entry ${i}: got ${g}, want ${w} (relative error ${Math.abs(g - w) / Math.abs(w)})`,
      )
  }
}

/** The only output of a term with one output. */
const run1 = (
  t: Term,
  sizes: Record<string, number>,
  inputs: ReadonlyArray<ArrayLike<number>>,
  params: Record<string, ArrayLike<number>> = {},
): Float64Array => {
  const outs = evaluate(
    t,
    sizes,
    inputs.map((x) => Float64Array.from(x)),
    Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Float64Array.from(v)])),
  )
  expect(outs).toHaveLength(1)
  return outs[0] as Float64Array
}

/** The entry `[i, j]` of a `[y k]` table, by indexes (Fig. 11): `|i⟩_y` then `|j⟩_k`. */
const entry = (i: number, j: number): Term =>
  seq(broadcast(index('y', i), ['k'], { at: 'last' }), index('k', j))

const phi = (v: number): number => 0.5 * (1 + erfRef(v / Math.SQRT2))

/** An independent erf (Abramowitz-Stegun 7.1.26 is too coarse; use the series with many terms). */
const erfRef = (x: number): number => {
  // Maclaurin series in long form; accurate to ~1e-15 for |x| <= 3 in float64.
  let sum = 0
  let term = x
  for (let n = 0; n < 200; n++) {
    sum += term / (2 * n + 1)
    term *= (-x * x) / (n + 1)
    if (Math.abs(term) < 1e-30) break
  }
  return (2 / Math.sqrt(Math.PI)) * sum
}

/** The scalar functions as plain math, for the definition by indexes. */
const REFERENCE: Record<UnaryOp, (v: number) => number> = {
  relu: (v) => (v > 0 ? v : 0),
  gelu: (v) => v * phi(v),
  exp: Math.exp,
  log: Math.log,
  tanh: Math.tanh,
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  sqrt: Math.sqrt,
  reciprocal: (v) => 1 / v,
  step: (v) => (v > 0 ? 1 : 0),
  normcdf: phi,
}

const sizeArb = fc.integer({ min: 1, max: 4 })

// ---------------------------------------------------------------------------------------------

describe('unary scalar functions (Fig. 15)', () => {
  const cases: ReadonlyArray<[string, Term, ReadonlyArray<[number, number]>]> = [
    [
      'relu',
      relu(),
      [
        [-2, 0],
        [0, 0],
        [3.5, 3.5],
        [-1e-300, 0],
      ],
    ],
    [
      'gelu',
      gelu(),
      [
        [1, 0.8413447460685429],
        [-0.5, -0.15426876936299344],
        [0, 0],
        [2, 1.9544997361036416],
        [3, 3 * 0.9986501019683699],
        [-3, -3 * 0.0013498980316300945],
        [0.1, 0.053982783727702904],
      ],
    ],
    [
      'exp',
      exp(),
      [
        [0, 1],
        [1, Math.E],
        [-1, 1 / Math.E],
        [Math.LN2, 2],
      ],
    ],
    [
      'log',
      log(),
      [
        [1, 0],
        [Math.E, 1],
        [0.5, -Math.LN2],
        [0, -Infinity],
        [-1, NaN],
      ],
    ],
    [
      'tanh',
      tanh(),
      [
        [0, 0],
        [1, 0.7615941559557649],
        [-1, -0.7615941559557649],
        [1000, 1],
        [-1000, -1],
      ],
    ],
    [
      'sigmoid',
      sigmoid(),
      [
        [0, 0.5],
        [Math.log(3), 0.75],
        [-Math.log(3), 0.25],
        [1000, 1],
        [-1000, 0],
        [800, 1],
        [-800, 0],
        [-40, Math.exp(-40) / (1 + Math.exp(-40))],
      ],
    ],
    [
      'sqrt',
      sqrt(),
      [
        [4, 2],
        [2, Math.SQRT2],
        [0, 0],
        [-1, NaN],
      ],
    ],
    [
      'reciprocal',
      reciprocal(),
      [
        [4, 0.25],
        [-0.5, -2],
        [0, Infinity],
      ],
    ],
    [
      'scale(3)',
      scale(3),
      [
        [2, 6],
        [-1.5, -4.5],
        [0, 0],
      ],
    ],
    [
      'scale(-0.125)',
      scale(-0.125),
      [
        [8, -1],
        [1, -0.125],
      ],
    ],
  ]

  it.each(cases)('%s at hand-computed points', (_name, f, points) => {
    expect(f.dom).toEqual([[]])
    expect(f.cod).toEqual([[]])
    for (const [v, want] of points) expectRel(run1(f, {}, [[v]]), [want], 1e-12)
  })

  it('the sigmoid stays finite and in [0, 1] for large |v|', () => {
    const vs = [-1e308, -1e5, -745, -710, -709, 709, 710, 1e5, 1e308, -Infinity, Infinity]
    const out = run1(sigmoid('x'), { x: vs.length }, [vs])
    for (const s of out) {
      expect(Number.isNaN(s)).toBe(false)
      expect(s).toBeGreaterThanOrEqual(0)
      expect(s).toBeLessThanOrEqual(1)
    }
    expect(out[0]).toBe(0)
    expect(out[vs.length - 1]).toBe(1)
    // Small but not flushed: e^-40 / (1 + e^-40) is representable to full precision.
    expectRel(run1(sigmoid(), {}, [[-40]]), [4.248354255291589e-18], 1e-12)
  })

  it('gelu is v Φ(v) with the exact erf, not the tanh approximation', () => {
    // The tanh approximation differs from the exact form by ~1e-4 near v = -1.5.
    const v = -1.5
    const exact = v * phi(v)
    const approx = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))
    const [got] = run1(gelu(), {}, [[v]])
    expect(Math.abs((got as number) - exact)).toBeLessThan(1e-14)
    expect(Math.abs((got as number) - approx)).toBeGreaterThan(1e-6)
  })

  const ops = Object.keys(REFERENCE) as UnaryOp[]
  it.each(ops)('%s broadcast over [y k] is the scalar function at every index (Fig. 15)', (op) => {
    fc.assert(
      fc.property(sizeArb, sizeArb, fc.nat(), (y, k, seed) => {
        const positive = op === 'log' || op === 'sqrt'
        const x = randomArray(y * k, seed, positive ? 0.01 : -3, 3)
        const f = unary(op, 'y k')
        expect(f.dom).toEqual(f.cod)
        const out = run1(f, { y, k }, [x])
        const want = Array.from(x, REFERENCE[op])
        expectClose(out, want, 1e-12)
        // By indexes: the [i, j] entry of f's output is f of the [i, j] entry of its input.
        const i = seed % y
        const j = (seed >> 3) % k
        const lhs = run1(seq(f, entry(i, j)), { y, k }, [x])
        const rhs = run1(seq(entry(i, j), unary(op)), { y, k }, [x])
        expect(lhs).toEqual(rhs)
        expectClose(lhs, [REFERENCE[op](x[i * k + j] as number)], 1e-12)
      }),
      { numRuns: 25 },
    )
  })

  it('scale(c) over [y k] multiplies every entry by c', () => {
    fc.assert(
      fc.property(
        sizeArb,
        sizeArb,
        fc.double({ min: -10, max: 10, noNaN: true }),
        fc.nat(),
        (y, k, c, seed) => {
          const x = randomArray(y * k, seed)
          expectClose(
            run1(scale(c, 'y k'), { y, k }, [x]),
            Array.from(x, (v) => c * v),
            0,
          )
        },
      ),
      { numRuns: 30 },
    )
  })
})

describe('add and mul', () => {
  it('at hand-computed points', () => {
    expect(run1(add(), {}, [[2], [3.5]])).toEqual(Float64Array.from([5.5]))
    expect(run1(mul(), {}, [[2], [3.5]])).toEqual(Float64Array.from([7]))
    expect(
      run1(add('x'), { x: 3 }, [
        [1, 2, 3],
        [10, 20, 30],
      ]),
    ).toEqual(Float64Array.from([11, 22, 33]))
    expect(
      run1(mul('x'), { x: 3 }, [
        [1, 2, 3],
        [10, -20, 0.5],
      ]),
    ).toEqual(Float64Array.from([10, -40, 1.5]))
  })

  it('entry [i, j] of add / mul over [y k] is add / mul of the [i, j] entries (Fig. 13)', () => {
    fc.assert(
      fc.property(sizeArb, sizeArb, fc.nat(), fc.nat(), (y, k, s1, s2) => {
        const a = randomArray(y * k, s1)
        const b = randomArray(y * k, s2)
        const i = s1 % y
        const j = s2 % k
        for (const [f, op] of [
          [add, (u: number, v: number) => u + v],
          [mul, (u: number, v: number) => u * v],
        ] as const) {
          const whole = run1(f('y k'), { y, k }, [a, b])
          expect(whole).toEqual(Float64Array.from(a, (u, n) => op(u, b[n] as number)))
          const viaIndex = run1(seq(par(entry(i, j), entry(i, j)), f()), { y, k }, [a, b])
          expect(viaIndex).toEqual(Float64Array.from([whole[i * k + j] as number]))
        }
      }),
      { numRuns: 30 },
    )
  })
})

// ---------------------------------------------------------------------------------------------

describe('operations on one axis', () => {
  it('softmax at hand-computed points', () => {
    expectClose(run1(softmax('k'), { k: 2 }, [[0, Math.LN2]]), [1 / 3, 2 / 3])
    expectClose(run1(softmax('k'), { k: 3 }, [[5, 5, 5]]), [1 / 3, 1 / 3, 1 / 3])
    expectClose(run1(softmax('k'), { k: 1 }, [[-7]]), [1])
  })

  it('softmax is stable for large inputs', () => {
    expectClose(run1(softmax('k'), { k: 2 }, [[1000, 1000]]), [0.5, 0.5])
    expectClose(run1(softmax('k'), { k: 3 }, [[1000, 1000 + Math.LN2, 1000]]), [0.25, 0.5, 0.25])
    expectClose(run1(softmax('k'), { k: 2 }, [[-1000, -1000 + Math.LN2]]), [1 / 3, 2 / 3])
    const out = run1(softmax('k'), { k: 2 }, [[1000, 0]])
    expect(out).toEqual(Float64Array.from([1, 0]))
  })

  it('softmax rows sum to 1 and match exp(v - max) / Σ exp(v - max)', () => {
    fc.assert(
      fc.property(
        sizeArb,
        sizeArb,
        fc.nat(),
        fc.double({ min: -800, max: 800, noNaN: true }),
        (y, k, seed, shift) => {
          const x = randomArray(y * k, seed, shift - 5, shift + 5)
          const out = run1(broadcast(softmax('k'), ['y']), { y, k }, [x])
          for (let r = 0; r < y; r++) {
            const row = Array.from(x.subarray(r * k, r * k + k))
            const m = Math.max(...row)
            const e = row.map((v) => Math.exp(v - m))
            const s = e.reduce((p, q) => p + q, 0)
            const got = out.subarray(r * k, r * k + k)
            expectClose(
              got,
              e.map((v) => v / s),
              1e-12,
            )
            expect(Math.abs(got.reduce((p, q) => p + q, 0) - 1)).toBeLessThan(1e-12)
          }
        },
      ),
      { numRuns: 40 },
    )
  })

  it('layerNorm at a hand-computed point (ε = 0)', () => {
    // mean 2, biased variance 2/3: (v - 2) / sqrt(2/3).
    expectClose(
      run1(layerNorm('k', { epsilon: 0 }), { k: 3 }, [[1, 2, 3]]),
      [-1.224744871391589, 0, 1.224744871391589],
    )
    // The default ε is 1e-5: [0, 2] has variance 1, so the result is ±1/sqrt(1 + 1e-5).
    const s = 1 / Math.sqrt(1 + 1e-5)
    expectClose(run1(layerNorm('k'), { k: 2 }, [[0, 2]]), [-s, s], 1e-14)
  })

  it('layerNorm: mean 0, variance 1/(1 + ε/var), and the formula', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 6 }),
        fc.nat(),
        fc.constantFrom(0, 1e-5, 0.1, 1),
        (k, seed, eps) => {
          const x = randomArray(k, seed, -3, 3)
          const out = run1(layerNorm('k', { epsilon: eps }), { k }, [x])
          const mu = x.reduce((p, q) => p + q, 0) / k
          const v = x.reduce((p, q) => p + (q - mu) ** 2, 0) / k
          expectClose(
            out,
            Array.from(x, (q) => (q - mu) / Math.sqrt(v + eps)),
            1e-10,
          )
          const m = out.reduce((p, q) => p + q, 0) / k
          expect(Math.abs(m)).toBeLessThan(1e-12)
          const outVar = out.reduce((p, q) => p + (q - m) ** 2, 0) / k
          expect(Math.abs(outVar - 1 / (1 + eps / v))).toBeLessThan(1e-9)
        },
      ),
      { numRuns: 40 },
    )
  })

  it('max and mean at hand-computed points', () => {
    expect(run1(max('k'), { k: 4 }, [[3, -1, 7, 2]])).toEqual(Float64Array.from([7]))
    expect(run1(mean('k'), { k: 4 }, [[3, -1, 7, 2]])).toEqual(Float64Array.from([2.75]))
    expect(run1(max('k'), { k: 3 }, [[-5, -2, -9]])).toEqual(Float64Array.from([-2]))
    expect(max('k').cod).toEqual([[]])
  })

  it('max and mean broadcast over y reduce every row', () => {
    fc.assert(
      fc.property(sizeArb, sizeArb, fc.nat(), (y, k, seed) => {
        const x = randomArray(y * k, seed)
        const rows = Array.from({ length: y }, (_, r) => Array.from(x.subarray(r * k, r * k + k)))
        expect(run1(broadcast(max('k'), ['y']), { y, k }, [x])).toEqual(
          Float64Array.from(rows.map((r) => Math.max(...r))),
        )
        expectClose(
          run1(broadcast(mean('k'), ['y']), { y, k }, [x]),
          rows.map((r) => r.reduce((p, q) => p + q, 0) / k),
        )
      }),
      { numRuns: 30 },
    )
  })
})

// ---------------------------------------------------------------------------------------------

describe('index (Fig. 10, 11)', () => {
  // A [a b] = [3 4] table, entry [i, j] = 10 i + j.
  const table = Array.from({ length: 12 }, (_, n) => 10 * Math.floor(n / 4) + (n % 4))

  it('index on the first axis extracts a row (Fig. 10)', () => {
    const row = broadcast(index('a', 2), ['b'], { at: 'last' })
    expect(row.dom).toEqual([[dim('a'), dim('b')]])
    expect(row.cod).toEqual([[dim('b')]])
    expect(run1(row, { a: 3, b: 4 }, [table])).toEqual(Float64Array.from([20, 21, 22, 23]))
  })

  it('index on the second axis extracts a column (Fig. 10)', () => {
    const column = broadcast(index('b', 1), ['a'])
    expect(column.cod).toEqual([[dim('a')]])
    expect(run1(column, { a: 3, b: 4 }, [table])).toEqual(Float64Array.from([1, 11, 21]))
  })

  it('the bare ket picks one entry of a vector', () => {
    expect(run1(index('a', 0), { a: 3 }, [[7, 8, 9]])).toEqual(Float64Array.from([7]))
    expect(run1(index('a', 2), { a: 3 }, [[7, 8, 9]])).toEqual(Float64Array.from([9]))
    expect(run1(index(constDim(2), 1), {}, [[4, 5]])).toEqual(Float64Array.from([5]))
  })

  it('indexes on different axes commute and give the entry (Fig. 11)', () => {
    fc.assert(
      fc.property(sizeArb, sizeArb, fc.nat(), fc.nat(), fc.nat(), (a, b, ii, jj, seed) => {
        const i = ii % a
        const j = jj % b
        const x = randomArray(a * b, seed)
        const aThenB = seq(broadcast(index('a', i), ['b'], { at: 'last' }), index('b', j))
        const bThenA = seq(broadcast(index('b', j), ['a']), index('a', i))
        const lhs = run1(aThenB, { a, b }, [x])
        const rhs = run1(bThenA, { a, b }, [x])
        expect(lhs).toEqual(rhs)
        expect(lhs).toEqual(Float64Array.from([x[i * b + j] as number]))
      }),
      { numRuns: 50 },
    )
  })

  it('tandem axes: index i of a = a1 x a2 is index (i / a2, i % a2) (Fig. 11)', () => {
    fc.assert(
      fc.property(sizeArb, sizeArb, fc.nat(), fc.nat(), (a1, a2, ii, seed) => {
        const i = ii % (a1 * a2)
        const x = randomArray(a1 * a2, seed)
        const flat = seq(view('a1 a2', [dimProduct('a1', 'a2')]), index(dimProduct('a1', 'a2'), i))
        const nested = seq(
          broadcast(index('a1', Math.floor(i / a2)), ['a2'], { at: 'last' }),
          index('a2', i % a2),
        )
        const lhs = run1(flat, { a1, a2 }, [x])
        expect(lhs).toEqual(run1(nested, { a1, a2 }, [x]))
        expect(lhs).toEqual(Float64Array.from([x[i] as number]))
      }),
      { numRuns: 30 },
    )
  })
})

describe('view', () => {
  it('keeps the row-major data', () => {
    const v = view('h w c', [dimProduct('h', 'w'), 'c'])
    const x = Array.from({ length: 24 }, (_, n) => n * 1.5 - 3)
    expect(run1(v, { h: 2, w: 3, c: 4 }, [x])).toEqual(Float64Array.from(x))
    const split = view([dimProduct('h', 'w')], 'w h')
    expect(split.cod).toEqual([[dim('w'), dim('h')]])
    expect(run1(split, { h: 2, w: 3 }, [[0, 1, 2, 3, 4, 5]])).toEqual(
      Float64Array.from([0, 1, 2, 3, 4, 5]),
    )
  })

  it('a view to the product and back is the identity', () => {
    fc.assert(
      fc.property(sizeArb, sizeArb, sizeArb, fc.nat(), (a, b, c, seed) => {
        const ab = dimProduct('a', 'b')
        const there = view('a b c', [ab, 'c'])
        const back = view([ab, 'c'], 'a b c')
        const round = seq(there, back)
        expect(round.dom).toEqual(round.cod)
        const x = randomArray(a * b * c, seed)
        expect(run1(round, { a, b, c }, [x])).toEqual(x)
        // The tandem axis indexes as a then b: entry [i*b + j, l] of the view is x[i, j, l].
        const i = seed % a
        const j = (seed >> 2) % b
        const l = (seed >> 4) % c
        const picked = seq(
          there,
          broadcast(index(ab, i * b + j), ['c'], { at: 'last' }),
          index('c', l),
        )
        expect(run1(picked, { a, b, c }, [x])).toEqual(
          Float64Array.from([x[(i * b + j) * c + l] as number]),
        )
      }),
      { numRuns: 30 },
    )
  })
})

describe('pad', () => {
  it('puts zeros around, before and after', () => {
    expect(run1(pad('x', 2, 1), { x: 3 }, [[1, 2, 3]])).toEqual(
      Float64Array.from([0, 0, 1, 2, 3, 0]),
    )
    expect(run1(pad('x', 0, 2), { x: 2 }, [[5, 6]])).toEqual(Float64Array.from([5, 6, 0, 0]))
    expect(run1(pad('x', 3, 0), { x: 1 }, [[9]])).toEqual(Float64Array.from([0, 0, 0, 9]))
    expect(pad('x', 0, 0).cod).toEqual([[dim('x')]])
  })

  it('pads every row of a broadcast, and its size is x + before + after', () => {
    fc.assert(
      fc.property(
        sizeArb,
        sizeArb,
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.nat(),
        (y, x, before, after, seed) => {
          const p = pad('x', before, after)
          const n = x + before + after
          expect(dimSize(p.cod[0]?.[0] as Dim, { x })).toBe(n)
          const data = randomArray(y * x, seed)
          const out = run1(broadcast(p, ['y']), { y, x }, [data])
          const want = new Float64Array(y * n)
          for (let r = 0; r < y; r++)
            for (let c = 0; c < x; c++) want[r * n + before + c] = data[r * x + c] as number
          expect(out).toEqual(want)
        },
      ),
      { numRuns: 40 },
    )
  })
})

describe('convTensor (eq. 4, 5)', () => {
  it('cuts [x] into blocks: a hand-computed case', () => {
    // x = 6, k = 3, stride 2, dilation 1: y = floor((6 - 2 - 1) / 2 + 1) = 2.
    const c = convTensor('x', 'k', { stride: 2 })
    expect(run1(c, { x: 6, k: 3 }, [[0, 1, 2, 3, 4, 5]])).toEqual(
      Float64Array.from([0, 1, 2, 2, 3, 4]),
    )
    // Dilation 2: out[i, j] = in[i + 2 j], y = 6 - 4 = 2.
    const d = convTensor('x', 'k', { dilation: 2 })
    expect(run1(d, { x: 6, k: 3 }, [[0, 1, 2, 3, 4, 5]])).toEqual(
      Float64Array.from([0, 2, 4, 1, 3, 5]),
    )
    expect(dimSize(convTensor('x', 'k', { stride: 2 }).cod[0]?.[0] as Dim, { x: 9, k: 3 })).toBe(4)
  })

  it('out[i, j] = in[s i + d j] with y = floor((x - d(k-1) - 1)/s + 1), or an empty-output error', () => {
    let valid = 0
    let empty = 0
    for (let x = 1; x <= 10; x++)
      for (let k = 1; k <= 4; k++)
        for (let s = 1; s <= 3; s++)
          for (let d = 1; d <= 3; d++) {
            const c = convTensor('x', 'k', { stride: s, dilation: d })
            const yDim = c.cod[0]?.[0]
            const y = Math.floor((x - d * (k - 1) - 1) / s + 1)
            const data = Array.from({ length: x }, (_, n) => n + 0.5)
            if (y < 1) {
              empty++
              expect(() => dimSize(yDim as Dim, { x, k })).toThrow(TermError)
              expect(() => run1(c, { x, k }, [data])).toThrow(/would be empty/)
              // With default sizes the constructor refuses it at once.
              expect(() =>
                convTensor(dim('x', { size: x }), dim('k', { size: k }), {
                  stride: s,
                  dilation: d,
                }),
              ).toThrow(TermError)
              continue
            }
            valid++
            expect(dimSize(yDim as Dim, { x, k })).toBe(y)
            const out = run1(c, { x, k }, [data])
            expect(out).toHaveLength(y * k)
            for (let i = 0; i < y; i++)
              for (let j = 0; j < k; j++) expect(out[i * k + j]).toBe(data[s * i + d * j])
            // The last block reaches into the input, the next one would not fit.
            expect(s * (y - 1) + d * (k - 1)).toBeLessThan(x)
            expect(s * y + d * (k - 1)).toBeGreaterThanOrEqual(x)
          }
    expect(valid).toBeGreaterThan(100)
    expect(empty).toBeGreaterThan(20)
  })

  it('is the one-hot tensor of eq. 4 as a linear map', () => {
    // Applying it to the basis vector e_l gives 1 exactly where l = s i + d j.
    const [x, k, s, d] = [7, 3, 2, 1]
    const y = Math.floor((x - d * (k - 1) - 1) / s + 1)
    const c = convTensor('x', 'k', { stride: s, dilation: d })
    for (let l = 0; l < x; l++) {
      const e = Array.from({ length: x }, (_, n) => (n === l ? 1 : 0))
      const out = run1(c, { x, k }, [e])
      for (let i = 0; i < y; i++)
        for (let j = 0; j < k; j++) expect(out[i * k + j]).toBe(l === s * i + d * j ? 1 : 0)
    }
  })
})

// ---------------------------------------------------------------------------------------------

describe('zero, param and linearLayer', () => {
  it('zero gives zeros of every shape of its type', () => {
    const z = zero([['y', 'k'], [], ['x']])
    expect(z.dom).toEqual([])
    const outs = evaluate(z, { y: 2, k: 3, x: 4 }, [])
    expect(outs.map((o) => Array.from(o))).toEqual([[0, 0, 0, 0, 0, 0], [0], [0, 0, 0, 0]])
  })

  it('param gives its value (a copy)', () => {
    const w = Float64Array.from([1, 2, 3, 4, 5, 6])
    const p = param('W', 'h k')
    expect(p.dom).toEqual([])
    const [out] = evaluate(p, { h: 2, k: 3 }, [], { W: w })
    expect(out).toEqual(w)
    expect(out).not.toBe(w)
  })

  it('linearLayer without bias is W v, by hand', () => {
    // W = [[1, 2], [3, 4], [5, 6]] : [h k] with h = 3, k = 2.
    const L = linearLayer('W', 'k', 'h')
    expect(L.dom).toEqual([[dim('k')]])
    expect(L.cod).toEqual([[dim('h')]])
    const out = run1(L, { k: 2, h: 3 }, [[1, -1]], { 'W.weight': [1, 2, 3, 4, 5, 6] })
    expect(out).toEqual(Float64Array.from([-1, -1, -1]))
    expect(run1(L, { k: 2, h: 3 }, [[2, 0.5]], { 'W.weight': [1, 2, 3, 4, 5, 6] })).toEqual(
      Float64Array.from([3, 8, 13]),
    )
  })

  it('linearLayer with bias is W v + b, by hand', () => {
    const L = linearLayer('W', 'k', 'h', { bias: true })
    const params = { 'W.weight': [1, 2, 3, 4, 5, 6], 'W.bias': [10, 20, 30] }
    expect(run1(L, { k: 2, h: 3 }, [[1, -1]], params)).toEqual(Float64Array.from([9, 19, 29]))
  })

  it('linearLayer is W v (+ b) on random sizes', () => {
    fc.assert(
      fc.property(sizeArb, sizeArb, fc.nat(), fc.boolean(), (k, h, seed, bias) => {
        const v = randomArray(k, seed)
        const W = randomArray(h * k, seed + 1)
        const b = randomArray(h, seed + 2)
        const L = linearLayer('Lin', 'k', 'h', { bias })
        const params: Record<string, ArrayLike<number>> = { 'Lin.weight': W }
        if (bias) params['Lin.bias'] = b
        const want = Array.from({ length: h }, (_, o) => {
          let acc = bias ? (b[o] as number) : 0
          for (let i = 0; i < k; i++) acc += (W[o * k + i] as number) * (v[i] as number)
          return acc
        })
        expectClose(run1(L, { k, h }, [v], params), want, 1e-12)
      }),
      { numRuns: 40 },
    )
  })
})

describe('plumbing: id, seq, par, copy, drop, swap', () => {
  const sizes = { y: 2, x: 3 }
  const u = [1, -2]
  const w = [3, -4, 5]

  it('id passes its inputs', () => {
    expect(evaluate(id([['y'], ['x']]), sizes, [u, w]).map((o) => Array.from(o))).toEqual([u, w])
    expect(evaluate(id([]), {}, [])).toEqual([])
  })

  it('copy duplicates, drop deletes, swap exchanges', () => {
    expect(evaluate(copy([['y']]), sizes, [u]).map((o) => Array.from(o))).toEqual([u, u])
    expect(evaluate(copy([['y'], ['x']]), sizes, [u, w]).map((o) => Array.from(o))).toEqual([
      u,
      w,
      u,
      w,
    ])
    expect(evaluate(drop([['y'], ['x']]), sizes, [u, w])).toEqual([])
    const sw = swap([['y']], [['x'], []])
    expect(sw.cod).toEqual([[dim('x')], [], [dim('y')]])
    expect(evaluate(sw, sizes, [u, w, [7]]).map((o) => Array.from(o))).toEqual([w, [7], u])
  })

  it('seq composes left to right, par acts on consecutive segments', () => {
    const f = seq(relu('y'), scale(2, 'y'))
    expect(run1(f, sizes, [u])).toEqual(Float64Array.from([2, 0]))
    const g = seq(scale(2, 'y'), relu('y'))
    expect(run1(g, sizes, [[-1, 3]])).toEqual(Float64Array.from([0, 6]))
    const p = par(relu('y'), scale(-1, 'x'), id([[]]))
    expect(evaluate(p, sizes, [u, w, [9]]).map((o) => Array.from(o))).toEqual([
      [1, 0],
      [-3, 4, -5],
      [9],
    ])
    // Copy then act on each copy: (relu ⊗ id) ∘ Δ, then add: relu(v) + v.
    const h = seq(copy([['y']]), par(relu('y'), id([['y']])), add('y'))
    expect(run1(h, sizes, [u])).toEqual(Float64Array.from([2, -2]))
    // Swap then a map that is not symmetric in its inputs.
    const k = seq(swap([['x']], [['y']]), einsum('y, x -> y x'))
    expect(run1(k, sizes, [w, u])).toEqual(Float64Array.from([3, -4, 5, -6, 8, -10]))
  })
})

describe('linearity tags', () => {
  it.each<[string, Term, string]>([
    ['relu', relu('k'), 'nonlinear'],
    ['gelu', gelu('k'), 'nonlinear'],
    ['softmax', softmax('k'), 'nonlinear'],
    ['layerNorm', layerNorm('k'), 'nonlinear'],
    ['max', max('k'), 'nonlinear'],
    ['mean', mean('k'), 'linear'],
    ['scale', scale(3, 'k'), 'linear'],
    ['add', add('k'), 'linear'],
    ['mul', mul('k'), 'multilinear'],
    ['linearLayer without bias', linearLayer('W', 'k', 'h'), 'linear'],
    ['linearLayer with bias', linearLayer('W', 'k', 'h', { bias: true }), 'nonlinear'],
    ['einsum of two inputs', einsum('y k, x k -> y x'), 'multilinear'],
    ['einsum of one input', einsum('y k -> k y'), 'linear'],
    ['copy', copy([['k'], ['x']]), 'linear'],
    ['drop', drop([['k']]), 'linear'],
    ['swap', swap([['k']], [['x']]), 'linear'],
    ['index', index('a', 0), 'linear'],
    ['view', view('a b', [dimProduct('a', 'b')]), 'linear'],
    ['pad', pad('x', 1, 1), 'linear'],
    ['convTensor', convTensor('x', 'k'), 'linear'],
    ['zero', zero([['k']]), 'linear'],
    ['relu after a linear layer', seq(linearLayer('W', 'k', 'h'), relu('h')), 'nonlinear'],
    ['mul of a copy (a square)', seq(copy([['k']]), mul('k')), 'nonlinear'],
  ])('%s is %s', (_name, t, want) => {
    expect(t.linearity).toBe(want)
  })

  it('the tags agree with the numbers: linear maps are additive, relu is not', () => {
    const sizes = { k: 3, h: 2 }
    const params = { 'W.weight': [1, -2, 3, 0.5, 4, -1] }
    const u = [1, -2, 0.5]
    const v = [-3, 1, 2]
    const sum = u.map((q, n) => q + (v[n] as number))
    const L = linearLayer('W', 'k', 'h')
    const lu = run1(L, sizes, [u], params)
    const lv = run1(L, sizes, [v], params)
    expectClose(
      run1(L, sizes, [sum], params),
      Array.from(lu, (q, n) => q + (lv[n] as number)),
    )
    const r = relu('k')
    const ru = run1(r, sizes, [u])
    const rv = run1(r, sizes, [v])
    expect(Array.from(run1(r, sizes, [sum]))).not.toEqual(
      Array.from(ru, (q, n) => q + (rv[n] as number)),
    )
  })
})
