/**
 * Derivatives (paper section 3.6, Fig. 30-37): the forward derivative `jvp` against finite
 * differences and hand-written formulas, transposition of linear maps (`<L x, y> = <x, Lᵀ y>`
 * and `Lᵀᵀ = L`), refusals with reasons, `vjp` tied to `jvp` by the defining property of the
 * transpose, `grad` against the forward gradient, and the codec and normal form on terms with
 * derivative nodes and the new leaves.
 *
 * Tolerances (stated once, used throughout):
 *
 * - finite differences: the central fourth-order stencil `(8 (f(x+h) - f(x-h)) - (f(x+2h) -
 *   f(x-2h))) / 12h`, at the best step of the ladder `h ∈ {1e-3, …, 1e-7}` (the same step for
 *   every entry of a case), must agree with the jvp tangent entry-wise within `1e-6 · (1 +
 *   |fd|)`. The ladder is there for layer norms of nearly constant rows (`σ ≈ √ε`), whose
 *   curvature is on the scale of 1e-3 or less; a wrong derivative disagrees at every step;
 * - the value part of `jvp(f)`: equal to `f x` within `1e-12 · (1 + |f x|)`;
 * - hand-written derivative formulas: within `1e-10 · (1 + |expected|)`;
 * - inner products `<a, b>`: within `1e-9 · max(1, Σ|a_i b_i|)` (relative to the scale of the
 *   sum, so cancellation does not make it arbitrarily strict);
 * - two evaluations that should agree: entry-wise within `1e-9 · max(1, |expected|)`.
 */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  type Shape,
  type Sizes,
  type Term,
  type TermKind,
  type TupleType,
  TermError,
  UNARY_OPS,
  type UnaryOp,
  add,
  argmax,
  box,
  broadcast,
  convTensor,
  convTensorAdjoint,
  copy,
  crop,
  decodeTerm,
  derivative,
  dimProduct,
  drop,
  einsum,
  einsumOf,
  encodeTerm,
  forwardGradient,
  grad,
  id,
  index,
  jvp,
  layerNorm,
  liftParams,
  linearLayer,
  linearityIn,
  max,
  mean,
  mul,
  normalize,
  normcdf,
  offset,
  oneHot,
  pad,
  par,
  param,
  randomInputs,
  randomParams,
  relu,
  scale,
  seq,
  show,
  showTyped,
  softmax,
  step,
  sumOf,
  swap,
  tanh,
  termEquals,
  transpose,
  unary,
  view,
  vjp,
  zero,
} from '../src/index.js'
import { evaluate } from '../src/eval/evaluate.js'
import {
  inputsArb,
  subterms,
  termParams,
  termWithSizesArb,
  tupleTypeArb,
} from '../src/testing/arbitraries.js'

type Params = Readonly<Record<string, Float64Array>>
type Tensors = ReadonlyArray<Float64Array>

// ---------------------------------------------------------------------------------------------
// Numeric helpers

const FD_STEPS = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7]
const FD_TOLERANCE = 1e-6
const VALUE_TOLERANCE = 1e-12
const FORMULA_TOLERANCE = 1e-10
const INNER_TOLERANCE = 1e-9
const EQUAL_TOLERANCE = 1e-9

/** Runs of the generated properties, times `DERIVE_RUNS` (default 1) for longer soak runs. */
const runs = (n: number): number => n * Number(process.env.DERIVE_RUNS ?? 1)

/** `x + t dx`, segment by segment. */
const shifted = (xs: Tensors, dxs: Tensors, t: number): Float64Array[] =>
  xs.map((x, i) => x.map((v, j) => v + t * dxs[i]![j]!))

/**
 * The error of a tangent against finite differences: the largest `|tangent - fd| / (1 + |fd|)`
 * over the entries, at the best step of {@link FD_STEPS} (fourth-order central stencil).
 */
const fdError = (
  f: Term,
  sizes: Sizes,
  xs: Tensors,
  dxs: Tensors,
  params: Params,
  tangent: Tensors,
): number => {
  let best = Infinity
  for (const h of FD_STEPS) {
    const at = (t: number): Float64Array[] => evaluate(f, sizes, shifted(xs, dxs, t * h), params)
    const [p1, m1, p2, m2] = [at(1), at(-1), at(2), at(-2)]
    let worst = 0
    tangent.forEach((seg, k) =>
      seg.forEach((v, j) => {
        const d1 = p1[k]![j]! - m1[k]![j]!
        const d2 = p2[k]![j]! - m2[k]![j]!
        const fd = (8 * d1 - d2) / (12 * h)
        const e = Math.abs(v - fd) / (1 + Math.abs(fd))
        // NaN is never below: a NaN tangent or difference fails.
        if (!(e <= worst)) worst = e
      }),
    )
    best = Math.min(best, worst)
    if (best <= FD_TOLERANCE / 100) break
  }
  return best
}

/** The largest `|a - b| / (1 + |b|)`; Infinity when the shapes differ or a NaN appears. */
const relError = (a: Tensors, b: Tensors): number => {
  if (a.length !== b.length) return Infinity
  let worst = 0
  a.forEach((x, i) => {
    const y = b[i]!
    if (x.length !== y.length) worst = Infinity
    x.forEach((v, j) => {
      const e = Math.abs(v - y[j]!) / (1 + Math.abs(y[j]!))
      if (!(e <= worst)) worst = e
    })
  })
  return worst
}

/** Entry-wise agreement within `tol · max(1, |expected|)`. */
const expectClose = (got: Tensors, expected: Tensors, tol = EQUAL_TOLERANCE): void => {
  expect(got.length).toBe(expected.length)
  got.forEach((x, i) => {
    const y = expected[i]!
    expect(x.length).toBe(y.length)
    x.forEach((v, j) => {
      const w = y[j]!
      if (!(Math.abs(v - w) <= tol * Math.max(1, Math.abs(w))))
        expect.fail(`output ${i} entry ${j}: ${v} vs ${w} (tolerance ${tol})`)
    })
  })
}

/** `<a, b>` over all segments, with the scale `Σ |a_i b_i|`. */
const inner = (a: Tensors, b: Tensors): { readonly value: number; readonly scale: number } => {
  let value = 0
  let sc = 0
  a.forEach((x, i) =>
    x.forEach((v, j) => {
      const p = v * b[i]![j]!
      value += p
      sc += Math.abs(p)
    }),
  )
  return { value, scale: sc }
}

/** `<a, b> = <c, d>` within {@link INNER_TOLERANCE} of the larger scale. */
const expectInnerEqual = (a: Tensors, b: Tensors, c: Tensors, d: Tensors): void => {
  const l = inner(a, b)
  const r = inner(c, d)
  const bound = INNER_TOLERANCE * Math.max(1, l.scale, r.scale)
  if (!(Math.abs(l.value - r.value) <= bound))
    expect.fail(`inner products differ: ${l.value} vs ${r.value} (tolerance ${bound})`)
}

/** Seeded random tensors for a type, as evaluate takes them. */
const randomOf = (type: TupleType, sizes: Sizes, seed: number): Float64Array[] =>
  randomInputs(type, sizes, seed)

/**
 * Seeded values for every parameter a term reads, inside derivative nodes too (`randomParams`
 * does not look inside `derivative` bodies).
 */
const paramsOf = (t: Term, sizes: Sizes, seed: number): Params =>
  Object.fromEntries(
    [...termParams(t)].map(([name, shape], i) => [
      name,
      randomInputs([shape], sizes, seed + i)[0]!.map((v) => v / 2),
    ]),
  )

// ---------------------------------------------------------------------------------------------
// Generators

/** The kinds of head node the generator may draw, but for the ones listed. */
const kindsBut = (...excluded: TermKind[]): TermKind[] =>
  (
    [
      'id',
      'swap',
      'copy',
      'drop',
      'einsum',
      'scalar',
      'axisOp',
      'index',
      'view',
      'pad',
      'convTensor',
      'concat',
      'zero',
      'param',
      'seq',
      'par',
      'broadcast',
      'box',
    ] as TermKind[]
  ).filter((k) => !excluded.includes(k))

/** Domains with at least one segment (an empty domain has nothing to differentiate). */
const nonEmptyDom = tupleTypeArb({ minLength: 1, maxLength: 3, maxRank: 3 })

// ---------------------------------------------------------------------------------------------

describe('jvp agrees with finite differences on generated smooth terms', () => {
  // Smooth: no relu, step or max (the generator's smooth mode), numerically safe (default).
  const cases = termWithSizesArb({ smooth: true, depth: 3 }).chain((c) =>
    fc.tuple(fc.constant(c), inputsArb(c.term.dom, c.sizes)),
  )

  it('value part is f x, tangent part is the directional derivative, D(f) evaluates as jvp(f)', () => {
    fc.assert(
      fc.property(cases, ([c, dx]) => {
        const m = c.term.cod.length
        const d = jvp(c.term)
        expect(subterms(d).some((t) => t.kind === 'derivative')).toBe(false)
        const out = evaluate(d, c.sizes, [...c.inputs, ...dx], c.params)
        const fx = evaluate(c.term, c.sizes, c.inputs, c.params)
        expect(relError(out.slice(0, m), fx)).toBeLessThanOrEqual(VALUE_TOLERANCE)
        const tangent = out.slice(m)
        expect(fdError(c.term, c.sizes, c.inputs, dx, c.params, tangent)).toBeLessThanOrEqual(
          FD_TOLERANCE,
        )
        // The unexpanded D(f) evaluates to the same numbers.
        const viaNode = evaluate(derivative(c.term), c.sizes, [...c.inputs, ...dx], c.params)
        expect(viaNode).toEqual(out)
      }),
      { numRuns: runs(200) },
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Per primitive

/** The standard normal density, and its CDF by composite Simpson (independent of the engine). */
const phi = (x: number): number => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI)
const Phi = (x: number): number => {
  const n = 2000
  const h = x / n
  let s = phi(0) + phi(x)
  for (let i = 1; i < n; i++) s += (i % 2 === 1 ? 4 : 2) * phi(i * h)
  return 0.5 + (s * h) / 3
}
const sigma = (x: number): number => 1 / (1 + Math.exp(-x))

/** Each unary op: its derivative by hand, and where to test it (away from kinks and poles). */
const UNARY_CASES: ReadonlyArray<{
  readonly name: string
  readonly term: (shape: string) => Term
  readonly slope: (x: number) => number
  readonly min: number
  readonly max: number
  /** Keep away from the kink at 0. */
  readonly kink?: boolean
}> = [
  {
    name: 'relu',
    term: (s) => relu(s),
    slope: (x) => (x > 0 ? 1 : 0),
    min: -2,
    max: 2,
    kink: true,
  },
  {
    name: 'gelu',
    term: (s) => unary('gelu', s),
    slope: (x) => Phi(x) + x * phi(x),
    min: -3,
    max: 3,
  },
  { name: 'exp', term: (s) => unary('exp', s), slope: Math.exp, min: -2, max: 2 },
  { name: 'log', term: (s) => unary('log', s), slope: (x) => 1 / x, min: 0.1, max: 3 },
  { name: 'tanh', term: (s) => tanh(s), slope: (x) => 1 - Math.tanh(x) ** 2, min: -3, max: 3 },
  {
    name: 'sigmoid',
    term: (s) => unary('sigmoid', s),
    slope: (x) => sigma(x) * (1 - sigma(x)),
    min: -4,
    max: 4,
  },
  {
    name: 'sqrt',
    term: (s) => unary('sqrt', s),
    slope: (x) => 0.5 / Math.sqrt(x),
    min: 0.1,
    max: 3,
  },
  {
    name: 'reciprocal',
    term: (s) => unary('reciprocal', s),
    slope: (x) => -1 / (x * x),
    min: 0.2,
    max: 3,
  },
  { name: 'step', term: (s) => step(s), slope: () => 0, min: -2, max: 2, kink: true },
  { name: 'normcdf', term: (s) => normcdf(s), slope: phi, min: -3, max: 3 },
  { name: 'offset(0.75)', term: (s) => offset(0.75, s), slope: () => 1, min: -2, max: 2 },
]

const K = 5
const pointsArb = (min: number, max: number, kink = false): fc.Arbitrary<Float64Array> =>
  fc
    .array(
      fc
        .double({ min, max, noNaN: true })
        .map((v) => (kink && Math.abs(v) < 0.01 ? (v < 0 ? v - 0.01 : v + 0.01) : v)),
      { minLength: K, maxLength: K },
    )
    .map((xs) => Float64Array.from(xs))
const directionArb = pointsArb(-2, 2)

/** Check `jvp(f)` at `(xs, dxs)`: value, finite differences and (when given) a formula. */
const checkJvp = (
  f: Term,
  sizes: Sizes,
  xs: Tensors,
  dxs: Tensors,
  expected?: Tensors,
  params: Params = {},
): void => {
  const m = f.cod.length
  const out = evaluate(jvp(f), sizes, [...xs, ...dxs], params)
  expect(relError(out.slice(0, m), evaluate(f, sizes, xs, params))).toBeLessThanOrEqual(
    VALUE_TOLERANCE,
  )
  const tangent = out.slice(m)
  expect(fdError(f, sizes, xs, dxs, params, tangent)).toBeLessThanOrEqual(FD_TOLERANCE)
  if (expected !== undefined)
    expect(relError(tangent, expected)).toBeLessThanOrEqual(FORMULA_TOLERANCE)
}

describe('jvp of each primitive: finite differences and the derivative by hand', () => {
  it('the unary list is covered', () => {
    const covered = new Set(UNARY_CASES.map((c) => c.name))
    UNARY_OPS.forEach((op: UnaryOp) => expect(covered.has(op)).toBe(true))
  })

  for (const u of UNARY_CASES)
    it(`${u.name}' (element-wise over [k])`, () => {
      const f = u.term('k')
      fc.assert(
        fc.property(pointsArb(u.min, u.max, u.kink), directionArb, (x, dx) => {
          const expected = x.map((v, j) => u.slope(v) * dx[j]!)
          checkJvp(f, { k: K }, [x], [dx], [expected])
        }),
        { numRuns: runs(30) },
      )
    })

  it('gelu and tanh at a few points, by the formulas gelu′ = Φ + xφ and tanh′ = 1 - tanh²', () => {
    for (const x of [-1.5, -0.3, 0, 0.5, 2]) {
      const [, g] = evaluate(jvp(unary('gelu')), {}, [[x], [1]])
      expect(g![0]).toBeCloseTo(Phi(x) + x * phi(x), 12)
      const [, t] = evaluate(jvp(tanh()), {}, [[x], [1]])
      expect(t![0]).toBeCloseTo(1 - Math.tanh(x) ** 2, 14)
    }
  })

  const A = 5
  const rowArb = pointsArb(-2, 2)

  it('softmax: s ⊙ (dx - <s, dx>)', () => {
    fc.assert(
      fc.property(rowArb, directionArb, (x, dx) => {
        const mx = Math.max(...x)
        const e = x.map((v) => Math.exp(v - mx))
        const z = e.reduce((a, b) => a + b, 0)
        const s = e.map((v) => v / z)
        const sdx = s.reduce((acc, v, j) => acc + v * dx[j]!, 0)
        checkJvp(softmax('a'), { a: A }, [x], [dx], [s.map((v, j) => v * (dx[j]! - sdx))])
      }),
      { numRuns: runs(30) },
    )
  })

  it('layerNorm: (dx - mean dx - y mean(y ⊙ dx)) / σ, σ = √(var + ε)', () => {
    const eps = 1e-5
    fc.assert(
      fc.property(rowArb, directionArb, (x, dx) => {
        const avg = (v: Float64Array): number => v.reduce((a, b) => a + b, 0) / v.length
        const mu = avg(x)
        const sd = Math.sqrt(avg(x.map((v) => (v - mu) ** 2)) + eps)
        const y = x.map((v) => (v - mu) / sd)
        const mdx = avg(dx)
        const ydx = avg(y.map((v, j) => v * dx[j]!))
        const expected = dx.map((v, j) => (v - mdx - y[j]! * ydx) / sd)
        checkJvp(layerNorm('a', { epsilon: eps }), { a: A }, [x], [dx], [expected])
      }),
      { numRuns: runs(30) },
    )
  })

  it('max: dx at the argmax (away from ties); argmax: tangent zero; mean: mean dx', () => {
    fc.assert(
      fc.property(rowArb, directionArb, (x, dx) => {
        const sorted = [...x].sort((a, b) => b - a)
        fc.pre(sorted[0]! - sorted[1]! > 1e-2)
        const i = x.indexOf(sorted[0]!)
        checkJvp(max('a'), { a: A }, [x], [dx], [Float64Array.of(dx[i]!)])
        checkJvp(argmax('a'), { a: A }, [x], [dx], [new Float64Array(A)])
        const [oneHotAt] = evaluate(argmax('a'), { a: A }, [x])
        expect([...oneHotAt!]).toEqual([...x].map((_, j) => (j === i ? 1 : 0)))
        checkJvp(
          mean('a'),
          { a: A },
          [x],
          [dx],
          [Float64Array.of(dx.reduce((a, b) => a + b, 0) / A)],
        )
      }),
      { numRuns: runs(30) },
    )
  })

  it('mul (product rule x dy + dx y) and add (dx + dy)', () => {
    fc.assert(
      fc.property(rowArb, rowArb, directionArb, directionArb, (x, y, dx, dy) => {
        const xy = x.map((v, j) => v * dy[j]! + dx[j]! * y[j]!)
        checkJvp(mul('k'), { k: K }, [x, y], [dx, dy], [xy])
        checkJvp(add('k'), { k: K }, [x, y], [dx, dy], [dx.map((v, j) => v + dy[j]!)])
      }),
      { numRuns: runs(30) },
    )
  })

  it('einsums with diagonals follow the product rule: E(dx, y) + E(x, dy)', () => {
    const sizes = { a: 3, b: 2 }
    for (const spec of ['a a, a b -> b', 'a b, a -> a a', 'a a -> a', 'a, a, b -> a b']) {
      const e = einsum(spec)
      for (let seed = 1; seed <= 5; seed++) {
        const xs = randomOf(e.dom, sizes, seed)
        const dxs = randomOf(e.dom, sizes, 100 + seed)
        // Σ_i E(x_1, …, dx_i, …, x_n), each term evaluated by the engine's einsum.
        const terms = e.dom.map(
          (_, i) =>
            evaluate(
              e,
              sizes,
              xs.map((x, j) => (j === i ? dxs[j]! : x)),
            )[0]!,
        )
        const expected = terms[0]!.map((_, j) => terms.reduce((acc, t) => acc + t[j]!, 0))
        checkJvp(e, sizes, xs, dxs, [expected])
      }
    }
  })

  it('linear leaves are their own derivative: index, pad, convTensor (stride, dilation), view', () => {
    const sizes = { a: 4, b: 3, x: 9, k: 3 }
    const leaves = [
      index('a', 2),
      pad('a', 1, 2),
      convTensor('x', 'k', { stride: 2, dilation: 2 }),
      convTensor('x', 'k', { stride: 3 }),
      view('a b', [dimProduct('a', 'b')]),
      view([dimProduct('a', 'b')], 'a b'),
      oneHot('a', 1),
      crop('a', 1, 2),
      convTensorAdjoint('x', 'k', { stride: 2, dilation: 2 }),
    ]
    for (const f of leaves)
      for (let seed = 1; seed <= 3; seed++) {
        const xs = randomOf(f.dom, sizes, seed)
        const dxs = randomOf(f.dom, sizes, 50 + seed)
        checkJvp(f, sizes, xs, dxs, evaluate(f, sizes, dxs))
      }
  })

  it('a nested derivative D(D(tanh)) agrees with finite differences of D(tanh)', () => {
    const dd = derivative(derivative(tanh()))
    const xs = [[0.3], [0.7], [-0.4], [1.1]].map((v) => Float64Array.from(v))
    const once = derivative(tanh())
    const out = evaluate(dd, {}, xs)
    expect(fdError(once, {}, xs.slice(0, 2), xs.slice(2), {}, out.slice(2))).toBeLessThanOrEqual(
      FD_TOLERANCE,
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Transposition

/**
 * `<L x, y> = <x, Lᵀ y>` for a linear term and a case.
 */
const expectAdjoint = (L: Term, sizes: Sizes, x: Tensors, y: Tensors, params: Params): void =>
  expectInnerEqual(evaluate(L, sizes, x, params), y, x, evaluate(transpose(L), sizes, y, params))

describe('transposition of generated linear terms', () => {
  // Every kind, zero and drop included (their regressions are at the end of the file).
  const linearCases = (kinds: TermKind[]) =>
    nonEmptyDom
      .chain((dom) => termWithSizesArb({ dom, linear: true, kinds }))
      .chain((c) => fc.tuple(fc.constant(c), inputsArb(c.term.cod, c.sizes)))

  it('<L x, y> = <x, Lᵀ y> (all segments, relative tolerance 1e-9)', () => {
    fc.assert(
      fc.property(linearCases(kindsBut()), ([c, y]) => {
        expect(c.term.linearity).toBe('linear')
        const Lt = transpose(c.term)
        expect(Lt.dom).toEqual(c.term.cod)
        expect(Lt.cod).toEqual(c.term.dom)
        expectAdjoint(c.term, c.sizes, c.inputs, y, c.params)
      }),
      { numRuns: runs(150) },
    )
  })

  it('involution: transpose(transpose(L)) evaluates as L', () => {
    fc.assert(
      fc.property(linearCases(kindsBut()), ([c]) => {
        const Ltt = transpose(transpose(c.term))
        expect(Ltt.dom).toEqual(c.term.dom)
        expect(Ltt.cod).toEqual(c.term.cod)
        expectClose(
          evaluate(Ltt, c.sizes, c.inputs, c.params),
          evaluate(c.term, c.sizes, c.inputs, c.params),
        )
      }),
      { numRuns: runs(150) },
    )
  })
})

describe('transposition: explicit cases', () => {
  const sizes: Sizes = { a: 3, b: 2, x: 9, k: 3, y: 4 }

  /** Adjoint identity, involution and the expected text form of the transpose. */
  const check = (L: Term, form?: string): void => {
    const Lt = transpose(L)
    if (form !== undefined) expect(show(Lt)).toBe(form)
    for (let seed = 1; seed <= 3; seed++) {
      const x = randomOf(L.dom, sizes, seed)
      const y = randomOf(L.cod, sizes, 10 + seed)
      const params = randomParams(L, sizes, 20 + seed)
      expectAdjoint(L, sizes, x, y, params)
      expectClose(evaluate(transpose(Lt), sizes, x, params), evaluate(L, sizes, x, params))
    }
  }

  it('einsum: diagonal read, diagonal embedding, spread, sum and a contraction', () => {
    check(einsum('a a -> a'), 'einsum(a -> a a)')
    check(einsum('a -> a a'), 'einsum(a a -> a)')
    check(einsum(' -> a'), 'einsum(a -> )')
    check(einsum('a b -> '), 'einsum( -> a b)')
    check(einsum('a b -> b a'), 'einsum(b a -> a b)')
  })

  it('copy ↔ add, drop ↔ zero, swap ↔ swap, scale ↔ scale', () => {
    check(copy([['a']]), 'add[a]')
    check(add('a'), 'bcast[a](copy([]))')
    check(copy([['a'], ['b']]))
    check(drop([['a']]), 'zero([a])')
    check(zero([['a']]), 'drop([a])')
    check(swap([['a']], [['b']]), 'swap([b], [a])')
    check(scale(-2, 'a'), 'scale(-2)[a]')
  })

  it('index ↔ oneHot, view ↔ view, pad ↔ crop, convTensor ↔ convTensorAdjoint', () => {
    expect(termEquals(transpose(index('a', 1)), oneHot('a', 1))).toBe(true)
    expect(termEquals(transpose(oneHot('a', 1)), index('a', 1))).toBe(true)
    check(index('a', 1))
    check(oneHot('a', 2))
    const v = view('a b', [dimProduct('a', 'b')])
    expect(termEquals(transpose(v), view([dimProduct('a', 'b')], 'a b'))).toBe(true)
    check(v)
    expect(termEquals(transpose(pad('x', 1, 2)), crop('x', 1, 2))).toBe(true)
    check(pad('x', 1, 2), 'crop(x,1,2)')
    check(crop('x', 2, 0))
    const conv = { stride: 2, dilation: 2 }
    expect(
      termEquals(transpose(convTensor('x', 'k', conv)), convTensorAdjoint('x', 'k', conv)),
    ).toBe(true)
    check(convTensor('x', 'k', conv))
    check(convTensorAdjoint('x', 'k', conv))
  })

  it('a broadcast with a shared linear input: its cotangent is summed over the axes', () => {
    const b = broadcast(add('a'), ['b'], { inputs: [0, 'shared'], outputs: [0] })
    expect(showTyped(b)).toContain('[b a] × [a] -> [b a]')
    check(b)
    // By hand: Lᵀ y = (y, Σ_b y[b, :]).
    const y = randomOf(b.cod, sizes, 3)[0]!
    const [y0, s] = evaluate(transpose(b), sizes, [y])
    expect([...y0!]).toEqual([...y])
    expectClose([s!], [Float64Array.from([0, 1, 2], (j) => y[j]! + y[3 + j]!)])
  })

  it('seq, par, a linear layer (params stay constants) and mean', () => {
    check(seq(index('a', 1), einsum(' -> b')))
    check(par(index('a', 1), pad('x', 1, 0), einsum('a b -> b a')))
    const ll = linearLayer('W', 'x', 'y')
    const llt = transpose(ll)
    expect(showTyped(llt)).toContain(': [y] -> [x]')
    expect(show(llt)).toContain('param(W.weight[y x])')
    check(ll)
    check(seq(ll, mean('y')))
    check(mean('a'))
    check(seq(broadcast(mean('a'), ['b']), scale(3, 'b')))
  })
})

describe('refusals, with reasons', () => {
  const refusal = (f: () => unknown): TermError => {
    try {
      f()
    } catch (e) {
      if (e instanceof TermError) return e
      throw e
    }
    return expect.fail('expected a TermError')
  }

  it('transpose of relu, of affine maps and of mul on both inputs: not-linear, marked >>…<<', () => {
    const r = refusal(() => transpose(relu('k')))
    expect(r.code).toBe('not-linear')
    expect(r.summary).toBe('not linear: relu is not linear')
    expect(r.details.where).toBe('bcast[k](>>relu<<)')

    const ll = refusal(() => transpose(linearLayer('W', 'x', 'y', { bias: true })))
    expect(ll.code).toBe('not-linear')
    expect(ll.summary).toMatch(/adds a primal value to a linear one \(affine/)
    expect(ll.details.where).toContain('>>add<<')

    const o = refusal(() => transpose(offset(1, 'k')))
    expect(o.code).toBe('not-linear')
    expect(o.summary).toMatch(/adds a constant \(affine/)
    expect(o.details.where).toBe('bcast[k](>>offset(1)<<)')

    const m = refusal(() => transpose(mul('k')))
    expect(m.code).toBe('not-linear')
    expect(m.summary).toContain('multiplies two linear inputs')
    expect(m.details.where).toBe('bcast[k](>>mul<<)')

    // Deep inside: the marked sub-term is the offending one, not the whole term.
    const deep = refusal(() =>
      transpose(seq(einsum('a -> a'), box('B', seq(scale(2, 'a'), tanh('a'))))),
    )
    expect(deep.code).toBe('not-linear')
    expect(deep.details.where).toBe('einsum(a -> a) ; B{scale(2)[a] ; bcast[a](>>tanh<<)}')
    // An einsum of two linear inputs.
    const e = refusal(() => transpose(einsum('a, a -> a')))
    expect(e.summary).toContain('multiplies linear inputs 0 and 1')
    expect(e.details.where).toContain('>>einsum(a, a -> a)<<')
    // A constant on an output: affine.
    const c = refusal(() => transpose(par(id([['a']]), param('P', 'b'))))
    expect(c.code).toBe('not-linear')
    expect(c.summary).toContain('output 1 does not depend on the inputs (affine)')
  })

  it('linearityIn: mul is linear in each input, one at a time', () => {
    expect(linearityIn(mul('k'))).toEqual([
      { input: 0, linear: true },
      { input: 1, linear: true },
    ])
  })

  it('linearityIn: linearLayer ; relu is not linear, the reason names relu', () => {
    const [r] = linearityIn(seq(linearLayer('W', 'x', 'y'), relu('y')))
    expect(r).toEqual({
      input: 0,
      linear: false,
      reason: 'not linear: relu is not linear',
      where: 'L(W: x -> y) ; bcast[y](>>relu<<)',
    })
  })

  it('linearityIn: relu ⊗ id is not linear in input 1 either (x1 ↦ (relu x0, x1) is affine)', () => {
    // Documented behaviour: with input 0 held fixed, output 0 is the constant relu(x0), so the
    // map is affine in input 1, not linear; the reason says so and there is no sub-term to mark.
    const [r0, r1] = linearityIn(par(relu('k'), id([['k']])))
    expect(r0).toEqual({
      input: 0,
      linear: false,
      reason: 'not linear: relu is not linear',
      where: 'bcast[k](>>relu<<) ⊗ id([k])',
    })
    expect(r1).toEqual({
      input: 1,
      linear: false,
      reason: 'output 0 does not depend on input 1 (a constant part: affine)',
    })
    // Dropping the relu output makes it linear in input 1 (input 0: see the dead-code bug below).
    const dropped = seq(par(relu('k'), id([['k']])), par(drop([['k']]), id([['k']])))
    expect(linearityIn(dropped)[1]).toEqual({ input: 1, linear: true })
  })

  it('linearityIn: a constant output (a parameter) makes the term affine', () => {
    expect(linearityIn(par(id([['a']]), param('P', 'b')))).toEqual([
      {
        input: 0,
        linear: false,
        reason: 'output 1 does not depend on input 0 (a constant part: affine)',
      },
    ])
    expect(linearityIn(linearLayer('W', 'x', 'y'))).toEqual([{ input: 0, linear: true }])
  })
})

// ---------------------------------------------------------------------------------------------
// vjp and gradients

/** `Σ_i Σ f_i(x)²`: a scalar from any outputs (squares so softmax rows do not sum to constants). */
const sumOfSquares = (f: Term): Term => {
  const squares = f.cod.map((s: Shape) => {
    const labels = s.map((_, j) => `l${j}`)
    const dims = Object.fromEntries(s.map((d, j) => [`l${j}`, d] as const))
    return seq(copy([s]), einsumOf({ inputs: [labels, labels], output: [] }, { dims }))
  })
  return seq(f, par(...squares), sumOf([[]], f.cod.length))
}

describe('vjp and gradients', () => {
  // Every kind, constants (zero, drop, param) included.
  const smooth = (depth: number) =>
    nonEmptyDom.chain((dom) => termWithSizesArb({ dom, smooth: true, depth, kinds: kindsBut() }))

  it('vjp(f)(x, ȳ) = (f x, x̄) with <ȳ, jvp(f)(x, dx).tangent> = <x̄, dx> (Fig. 35)', () => {
    const cases = smooth(2).chain((c) =>
      fc.tuple(fc.constant(c), inputsArb(c.term.cod, c.sizes), inputsArb(c.term.dom, c.sizes)),
    )
    fc.assert(
      fc.property(cases, ([c, ybar, dx]) => {
        const m = c.term.cod.length
        const back = vjp(c.term)
        expect(back.dom).toEqual([...c.term.dom, ...c.term.cod])
        expect(back.cod).toEqual([...c.term.cod, ...c.term.dom])
        const out = evaluate(back, c.sizes, [...c.inputs, ...ybar], c.params)
        const xbar = out.slice(m)
        expect(
          relError(out.slice(0, m), evaluate(c.term, c.sizes, c.inputs, c.params)),
        ).toBeLessThanOrEqual(VALUE_TOLERANCE)
        const tangent = evaluate(jvp(c.term), c.sizes, [...c.inputs, ...dx], c.params).slice(m)
        expectInnerEqual(ybar, tangent, xbar, dx)
      }),
      { numRuns: runs(50) },
    )
  })

  it('grad equals forwardGradient on scalar-valued smooth terms (f ; Σ‖·‖²)', () => {
    fc.assert(
      fc.property(smooth(1), (c) => {
        const loss = sumOfSquares(c.term)
        expect(loss.cod).toEqual([[]])
        const g = evaluate(grad(loss), c.sizes, c.inputs, c.params)
        const fg = evaluate(forwardGradient(loss), c.sizes, c.inputs, c.params)
        expect(g.map((x) => x.length)).toEqual(c.inputs.map((x) => x.length))
        expectClose(g, fg)
      }),
      { numRuns: runs(25) },
    )
  })

  it('grad with respect to parameters (liftParams) agrees with finite differences in W', () => {
    const f = seq(linearLayer('W', 'x', 'y', { bias: true }), tanh('y'), mean('y'))
    const sizes = { x: 3, y: 4 }
    const params = randomParams(f, sizes, 5)
    const [x] = randomInputs(f.dom, sizes, 6)
    const lifted = liftParams(f, ['W.weight'])
    expect(showTyped(lifted.term)).toContain('[y x] × [x] -> []')
    const [gx, gw] = evaluate(grad(f, { params: ['W.weight'] }), sizes, [x!], params)
    expect(gx!.length).toBe(3)
    const w = params['W.weight']!
    const dw = randomInputs([['y', 'x']], sizes, 7)[0]!
    // <∇_W f, dW> against the directional derivative in W (through the lifted term).
    const tangent = evaluate(jvp(lifted.term), sizes, [w, x!, dw, new Float64Array(3)], params)[1]!
    expectInnerEqual([gw!], [dw], [tangent], [Float64Array.of(1)])
    expect(
      fdError(lifted.term, sizes, [w, x!], [dw, new Float64Array(3)], params, [tangent]),
    ).toBeLessThanOrEqual(FD_TOLERANCE)
  })
})

// ---------------------------------------------------------------------------------------------
// Codec and normal form

describe('codec and normal form with derivative nodes and the new leaves', () => {
  const sizes: Sizes = { k: 4, a: 3, x: 9, kk: 3 }
  const conv = { stride: 2, dilation: 2 }
  const examples: ReadonlyArray<Term> = [
    derivative(seq(tanh('k'), softmax('k'))),
    derivative(derivative(unary('gelu'))),
    seq(oneHot('a', 1), step('a'), normcdf('a'), argmax('a')),
    seq(pad('x', 1, 2), crop('x', 1, 2), offset(0.5, 'x')),
    seq(convTensor('x', 'kk', conv), convTensorAdjoint('x', 'kk', conv)),
    seq(derivative(seq(linearLayer('W', 'k', 'a'), tanh('a'))), par(argmax('a'), mean('a'))),
    derivative(seq(broadcast(max('k'), ['a']), normcdf('a'))),
  ]

  const roundTrip = (t: Term): Term => {
    const r = decodeTerm(JSON.parse(JSON.stringify(encodeTerm(t))))
    if (E.isLeft(r)) return expect.fail(`decode failed: ${JSON.stringify(r.left)}`)
    return r.right
  }

  it('encode/decode gives equal terms with equal evaluation', () => {
    for (const t of examples) {
      const back = roundTrip(t)
      expect(termEquals(back, t)).toBe(true)
      expect(showTyped(back)).toBe(showTyped(t))
      expect(back.linearity).toBe(t.linearity)
      const x = randomOf(t.dom, sizes, 1)
      const params = paramsOf(t, sizes, 2)
      expect(evaluate(back, sizes, x, params)).toEqual(evaluate(t, sizes, x, params))
    }
  })

  it('encode/decode of D(f) for generated smooth f', () => {
    fc.assert(
      fc.property(
        termWithSizesArb({ smooth: true, depth: 2 }).chain((c) =>
          fc.tuple(fc.constant(c), inputsArb(c.term.dom, c.sizes)),
        ),
        ([c, dx]) => {
          const d = derivative(c.term)
          const back = roundTrip(d)
          expect(termEquals(back, d)).toBe(true)
          const ins = [...c.inputs, ...dx]
          expect(evaluate(back, c.sizes, ins, c.params)).toEqual(
            evaluate(d, c.sizes, ins, c.params),
          )
        },
      ),
      { numRuns: runs(40) },
    )
  })

  it('normalize of a term with derivative nodes evaluates as the term', () => {
    for (const t of examples) {
      const n = normalize(t)
      expect(showTyped(n)).not.toContain('D(')
      expect(n.dom).toEqual(t.dom)
      expect(n.cod).toEqual(t.cod)
      for (let seed = 1; seed <= 2; seed++) {
        const x = randomOf(t.dom, sizes, seed)
        const params = paramsOf(t, sizes, 10 + seed)
        expectClose(evaluate(n, sizes, x, params), evaluate(t, sizes, x, params))
      }
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Regressions: constant (zero) parts and dead code in `splitLinear`, found by the properties.

describe('constant (zero) parts and dead code in splitLinear (regressions)', () => {
  // A zero output is both a primal constant and a linear value: `split` counts the outputs the
  // linearity analysis knows to be zero as linear, and vjp gives zero values for them. A part
  // that is not linear but whose output is dropped is split in normal form (dead code gone).

  const zeros = par(zero([['a']]), zero([[]]))
  const deadProduct = seq(einsum(',  -> '), drop([[]]))
  const deadRelu = seq(par(relu('k'), id([['k']])), par(drop([['k']]), id([['k']])))

  it('the terms below are linear by the linearity analysis', () => {
    for (const t of [zeros, deadProduct, deadRelu, drop([['a'], []])])
      expect(t.linearity).toBe('linear')
  })

  it('transpose(zero([a]) ⊗ zero([])) is drop([a] × [])', () => {
    const L = zeros
    expect(show(transpose(L))).toBe('drop([a] × [])')
  })

  it('involution holds on drop([a] × []) (a shrunk counterexample of the property)', () => {
    // transpose(drop([a] × [])) = zero([a]) ⊗ zero([]), whose transpose is drop again.
    const L = drop([['a'], []])
    expect(transpose(transpose(L)).cod).toEqual(L.cod)
    expect(show(transpose(transpose(L)))).toBe('drop([a] × [])')
  })

  it('vjp of a term with a constant part after a drop: drop([a]) ; param(W[b])', () => {
    // Once refused as 'internal' (both outputs of jvp(f) counted primal). Also vjp(param('W',
    // [])), the shrunk counterexample of the vjp property on terms with params.
    const f = seq(drop([['a']]), param('W', 'b'))
    expect(vjp(f).cod).toEqual([...f.cod, ...f.dom])
    const [y, xbar] = evaluate(
      vjp(f),
      { a: 2, b: 2 },
      [
        [1, 2],
        [3, 4],
      ],
      { W: [5, 6] },
    )
    expect(Array.from(y as Float64Array)).toEqual([5, 6])
    expect(Array.from(xbar as Float64Array)).toEqual([0, 0])
    expect(vjp(param('W', [])).cod).toEqual([[]])
  })

  it('vjp(id([b]) ⊗ einsum( -> c) ⊗ zero([])): a zero value is given as zero', () => {
    // jvp(f) = f ⊗ f (f is linear): the zero value is linear in anything, so vjp gives it as a
    // zero (it once refused the term).
    const f = par(id([['b']]), einsum(' -> c'), zero([[]]))
    expect(vjp(f).dom).toEqual([...f.dom, ...f.cod])
    const out = evaluate(vjp(f), { b: 2, c: 2 }, [[1, 2], [3], [4, 5], [6, 7], [8]])
    expect(out.map((o) => Array.from(o))).toEqual([[1, 2], [3, 3], [0], [4, 5], [13]])
  })

  it('dead code: einsum(, -> ) ; drop([]) is linear and transposes', () => {
    // The linearity analysis says linear (the product is dropped), so jvp gives f ⊗ f; split by
    // structure refuses the product, so it is split in normal form, where it is gone. Likewise
    // normcdf ; copy([]) ; einsum(, -> ) ; drop([]). Shrunk counterexamples of the vjp property.
    expect(transpose(deadProduct).dom).toEqual([])
    const zeros2 = evaluate(transpose(deadProduct), {}, [])
    expect(zeros2.map((o) => Array.from(o))).toEqual([[0], [0]])
    const deadNormcdf = seq(unary('normcdf'), copy([[]]), einsum(',  -> '), drop([[]]))
    expect(evaluate(vjp(deadNormcdf), {}, [[0.3]]).map((o) => Array.from(o))).toEqual([[0]])
  })

  it('dead code: linearityIn(relu ⊗ id ; drop ⊗ id) reads past the dropped relu', () => {
    // The relu output is dropped, so relu is not the reason (it once was): the term is x1, which
    // is constant in x0 (affine, not linear in it) and linear in x1.
    expect(linearityIn(deadRelu)).toEqual([
      {
        input: 0,
        linear: false,
        reason: 'output 0 does not depend on input 0 (a constant part: affine)',
      },
      { input: 1, linear: true },
    ])
  })

  it('randomParams looks inside derivative nodes (src/eval/random.ts)', () => {
    const f = derivative(linearLayer('W', 'x', 'y'))
    expect(Object.keys(randomParams(f, { x: 2, y: 3 }, 1))).toEqual(['W.weight'])
  })

  it('a product with the zero value of a constant is zero (second reading): 0 ⊙ tanh x', () => {
    // Once refused: "multiplies two linear inputs (quadratic)".
    const f = seq(par(zero([['d']]), tanh('d')), mul('d'))
    const out = evaluate(vjp(f), { d: 2 }, [
      [0.1, 0.2],
      [1, 1],
    ])
    expect(out.map((o) => Array.from(o))).toEqual([
      [0, 0],
      [0, 0],
    ])
  })

  it('an RNN step from a zero state: the weight gradient is zero, the input gradient is not', () => {
    // Once refused with respect to W: the product rule met W's tangent times h0 = 0.
    const f = seq(
      par(zero([['h']]), id([['h']])),
      par(linearLayer('W', 'h', 'h'), id([['h']])),
      add('h'),
      tanh('h'),
      mean('h'),
    )
    const W = { 'W.weight': [1, 2, 3, 4] }
    const [dx, dW] = evaluate(grad(f, { params: ['W.weight'] }), { h: 2 }, [[0.1, 0.2]], W)
    expect(Array.from(dW as Float64Array)).toEqual([0, 0, 0, 0])
    // d/dx mean(tanh(x)) = (1 - tanh² x) / 2
    ;[0.1, 0.2].forEach((x, i) =>
      expect((dx as Float64Array)[i]).toBeCloseTo((1 - Math.tanh(x) ** 2) / 2, 12),
    )
  })

  it('a product with a zero factor, already in normal form, does not loop (second reading)', () => {
    // x·x·0: the retry in normal form once recursed forever (a new but equal normal form).
    const f = seq(par(copy([[]]), zero([[]])), einsum(', , -> '))
    const out = evaluate(vjp(f), {}, [[0.5], [1]])
    expect(out.map((o) => Array.from(o))).toEqual([[0], [0]])
  })
})
