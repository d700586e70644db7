import { readFileSync, readdirSync } from 'node:fs'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  type Dim,
  type Proof,
  type Rule,
  conv2d,
  type Term,
  applyAt,
  bend,
  broadcast,
  checkProof,
  concat,
  copy,
  derivative,
  dim,
  drop,
  einsum,
  einsumOf,
  equivalent,
  evaluate,
  evaluateWithErrorBounds,
  fig20Bend,
  generator,
  id,
  lawCatalogue,
  mapTerm,
  mul,
  par,
  randomInputs,
  reciprocal,
  relu,
  scale,
  seq,
  split,
  swap,
  tanh,
  unbend,
  unit,
  view,
  dimSum,
  add,
  TermError,
  dimConv,
  dimConvT,
  dimCropped,
  dimKey,
  dimPadded,
  dimProduct,
  proofFromJson,
  proofToJson,
  showTyped,
  softmax,
  layerNorm,
  splitLinear,
  replaceAt,
  withChildren,
  forwardGradient,
  grad,
  idResNet,
  sumLoss,
  unet,
  mean,
  optimize,
  param,
  cost,
  unary,
  UNARY_OPS,
  offset,
  scaleBySize,
  visionTransformer,
  transformer,
  causalMask,
  vjp,
  gelu,
  normcdf,
  normalize,
} from '../src/index.js'
import { theorems } from '../proofs/theorems.js'
import { blockWiring } from '../src/core/dag.js'
import { weightedSumLoss } from '../src/testing/losses.js'
import { countAllocations } from './support.js'
import { roundingBounds } from '../src/eval/error-bound.js'
import { compiledSteps, evaluateAsWritten, evaluateWatched } from '../src/eval/evaluate.js'
import { randomParams, seededRandom } from '../src/eval/random.js'
import { instanceArb } from '../src/testing/laws.js'
import { sizeBounds, termSizesArb, tupleTypeArb } from '../src/testing/sizes.js'
import { termArb } from '../src/testing/terms.js'
import { termWithSizesArb } from '../src/testing/cases.js'
import { index } from '../src/linear/structural.js'

// An adversarial reading of the proof kernel (bend laws, the laws of 9ab36a1 and after, concat,
// proof documents): every attempt to make checkProof accept a false equation, or checkProof and
// equivalent disagree. A hole's test failed before its fix; a refusal is pinned as it stands.
const laws = lawCatalogue()
const law = (name: string): Rule => laws.get(name) as Rule

/** The largest |left - right| over both outputs at `sizes`, on one draw of the inputs. */
const gap = (a: Term, b: Term, sizes: Record<string, number>): number => {
  const inputs = randomInputs(a.dom, sizes, 11)
  const x = evaluate(a, sizes, inputs, {}, { generatorSeed: 5 })
  const y = evaluate(b, sizes, inputs, {}, { generatorSeed: 5 })
  return Math.max(0, ...x.flatMap((l, o) => [...l].map((p, j) => Math.abs(p - (y[o]?.[j] ?? NaN)))))
}

const rewrite = (name: string, t: Term, range?: readonly [number, number]) =>
  applyAt(law(name), t, range === undefined ? { path: [] } : { path: [], range })

describe('hole: a counterexample through an overflow (checkProof and equivalent disagreed)', () => {
  // scale(c) ; f = f ; scale(c) for a linear f (linear/homogeneity) is true of real numbers. With
  // c = 1e300 and f = scale(1e10) ; scale(1e-10), the left side overflows to ∞ on the way and
  // 1/∞ = 0, the right side stays finite: both outputs are finite and differ (0 and 2/3 at 1.5).
  // checkProof accepts the one-step proof, and equivalent answered 'counterexample': it compared
  // outputs only, though the README's laws speak of trials whose every value is a real number.
  const k = ['k']
  const f = seq(scale(1e10, k), scale(1e-10, k))
  const lhs = seq(scale(1e300, k), f, reciprocal(k), scale(1e300, k))
  const rhs = seq(f, scale(1e300, k), reciprocal(k), scale(1e300, k))

  it('the law gives a checked proof of lhs = rhs', () => {
    const step = rewrite('linear/homogeneity', lhs, [0, 3])
    expect(E.isRight(step)).toBe(true)
    if (E.isLeft(step)) return
    expect(E.isRight(checkProof({ name: 'h', lhs, rhs, steps: [step.right.step] }, laws))).toBe(
      true,
    )
    // The outputs are finite on both sides and differ: only an intermediate is not real.
    const [x] = evaluate(lhs, { k: 1 }, [[1.5]])
    const [y] = evaluate(rhs, { k: 1 }, [[1.5]])
    expect(x?.[0]).toBe(0)
    expect(y?.[0]).toBeCloseTo(2 / 3, 12)
  })

  it('equivalent does not refute it: the trials overflow, and the search proves it', () => {
    const r = equivalent(lhs, rhs)
    expect(r.kind).not.toBe('counterexample')
    expect(r.kind).toBe('proof')
    if (r.kind === 'proof') expect(E.isRight(checkProof(r.proof, laws))).toBe(true)
  })

  it('a real difference beside an overflow-free trial is still a counterexample', () => {
    expect(equivalent(seq(scale(2, k), reciprocal(k)), seq(scale(3, k), reciprocal(k))).kind).toBe(
      'counterexample',
    )
  })
})

describe('hole (fixed): a counterexample from rounding (checkProof and equivalent disagreed)', () => {
  // f(x) = (10^16 x + x) - 10^16 x is x over the reals and linear, so linear/homogeneity proves
  // scale(3) ; f = f ; scale(3) in one checked step. In float64 the low bits of x are lost: at
  // x = 1.5 the left side gives 8 and the right 6, every value on the way finite, and equivalent
  // answered 'counterexample' from its trials before it searched. Fixed: each side is evaluated
  // with a forward rounding-error bound per output entry (src/eval/error-bound.ts), and a
  // difference within the two bounds refutes nothing; here the bounds follow 10^16 x to the
  // output (tens), and no point of [-1, 1] gives a difference beyond them, as over the reals.
  const k = ['k']
  const big = scale(1e16, k)
  const f = seq(
    copy([k]),
    par(seq(copy([k]), par(big, id([k])), add(k)), seq(big, scale(-1, k))),
    add(k),
  )
  const lhs = seq(scale(3, k), f)
  const rhs = seq(f, scale(3, k))

  it('checkProof accepts the one-step proof; the sides differ in float64 with finite values', () => {
    const step = rewrite('linear/homogeneity', lhs)
    expect(E.isRight(step)).toBe(true)
    if (E.isLeft(step)) return
    expect(E.isRight(checkProof({ name: 'r', lhs, rhs, steps: [step.right.step] }, laws))).toBe(
      true,
    )
    expect(evaluate(lhs, { k: 1 }, [[1.5]])[0]?.[0]).toBe(8)
    expect(evaluate(rhs, { k: 1 }, [[1.5]])[0]?.[0]).toBe(6)
  })

  it('equivalent does not refute a theorem that checkProof proves', () => {
    const r = equivalent(lhs, rhs, { limits: { timeMs: 300 } })
    expect(r.kind).not.toBe('counterexample')
    if (r.kind === 'unknown')
      expect(r.reason).toMatch(
        /within float64 rounding: the two sides' error bounds there add up to \d/,
      )
    if (r.kind === 'proof') expect(E.isRight(checkProof(r.proof, laws))).toBe(true)
  })
  it('the bounds cover the exact values at x = 1.5: 8 and 6 are both within reach of 4.5', () => {
    const l = evaluateWithErrorBounds(lhs, { k: 1 }, [[1.5]])
    const r = evaluateWithErrorBounds(rhs, { k: 1 }, [[1.5]])
    expect(l.outputs[0]?.[0]).toBe(8)
    expect(r.outputs[0]?.[0]).toBe(6)
    expect(l.bounds[0]?.[0]).toBeGreaterThanOrEqual(8 - 4.5)
    expect(r.bounds[0]?.[0]).toBeGreaterThanOrEqual(6 - 4.5)
    // Not absurdly loose: rounding at 4.5e16 is 8 per step, a handful of steps.
    expect(l.bounds[0]?.[0]).toBeLessThan(200)
  })
})

describe('hole: derived-dim constructors took a dim name and crashed later', () => {
  // dimSum('a', 'b') and dimProduct(2, 'a') read names; dimPadded('a', 1, 1) (and dimCropped,
  // dimConv, dimConvT) kept the string as the base and crashed with a plain Error
  // ('unreachable: "a"') when the dim was first compared, not a TermError.
  it('read a name as the dim of that name, like dimSum and dimProduct', () => {
    expect(dimKey(dimPadded('a', 1, 1))).toBe('(a+2)')
    expect(dimKey(dimCropped('a', 1, 1))).toBe('(a-2)')
    expect(dimKey(dimConv('x', 'k', 2, 1))).toBe('conv(x,k,s2,d1)')
    expect(dimKey(dimConvT('y', 'k', 2, 1, 0))).toBe(dimKey(dimConvT(dim('y'), dim('k'), 2, 1, 0)))
    expect(showTyped(relu([dimPadded('a', 1, 1)]))).toBe(
      'relu[(a+2)] : [pad(a,1,1)] -> [pad(a,1,1)]',
    )
  })
  it('refuse a malformed base with a TermError naming the argument', () => {
    expect(() => dimPadded('1a', 1, 1)).toThrow(TermError)
    expect(() => dimConv('x', 3 as unknown as string, 1, 1)).toThrow(/dimConv: the kernel/)
  })
})

describe('refused or sound as it stands: the bend laws (patternOfTerm stand-ins)', () => {
  const o = fig20Bend
  it('bend/involution on a user map named like the stand-ins, all dims one dim', () => {
    // The stand-ins are the generator bend.f and the dims bend_0, bend_1, ...: a user's map of
    // that name, with the stand-in dim bound to every axis at once, is matched as any other.
    const F = generator('bend.f', [['bend_2']], [['bend_2', 'bend_2']], { linearity: 'linear' })
    const t = bend(bend(F, o), unbend(o))
    const r = rewrite('bend/involution', t)
    expect(E.isRight(r) && r.right.term === F).toBe(true)
    for (const n of [1, 6]) expect(gap(t, F, { bend_2: n })).toBeLessThan(1e-9)
  })
  it('bend/seq-outputs with ?f a composite of two maps, e and the outputs one dim', () => {
    const P = generator('P', [['a']], [['b']], { linearity: 'linear' })
    const Q = generator('Q', [['b']], [['a']], { linearity: 'linear' })
    const G = generator('bend.f', [['a']], [['a', 'a']], { linearity: 'linear' })
    const t = bend(seq(P, Q, G), o)
    const r = rewrite('bend/seq-outputs', t)
    expect(E.isRight(r)).toBe(true)
    if (E.isRight(r))
      for (const s of [
        { a: 1, b: 1 },
        { a: 5, b: 7 },
      ])
        expect(gap(t, r.right.term, s)).toBeLessThan(1e-9)
  })
  it('bend/involution is refused for a nonlinear map put where the linear one was', () => {
    const lin = generator('F', [['a']], [['b', 'c']], { linearity: 'linear' })
    const non = generator('F', [['a']], [['b', 'c']])
    // bend() refuses a nonlinear map; build with the linear one, then swap the nonlinear in.
    const t = mapTerm(bend(bend(lin, o), unbend(o)), (s) => (s === lin ? non : s))
    expect(t.linearity).toBe('nonlinear')
    const r = rewrite('bend/involution', t)
    expect(E.isLeft(r) && r.left.reason).toBe('condition')
    expect(gap(t, non, { a: 2, b: 3, c: 2 })).toBeGreaterThan(1e-6)
  })
})

describe('refused as it stands: transpose/unit-broadcast needs ?m linear in its last input', () => {
  const attempt = (m: Term) =>
    rewrite(
      'transpose/unit-broadcast',
      seq(
        par(id([['b']]), unit('a')),
        broadcast(m, ['a'], { inputs: ['shared', 0], outputs: [0] }),
      ),
    )
  const ab = dimSum('a', 'b')
  it('affine through a concatenation of x with the primal p (new kind concat)', () => {
    const m = seq(
      swap([['b']], [['a']]),
      concat(0, [['a'], ['b']]),
      einsum('j ->', { dims: { j: ab } }),
    )
    const r = attempt(m)
    expect(E.isLeft(r) && r.left.reason).toBe('condition')
  })
  it('affine through add, quadratic through copy ; einsum and through mul', () => {
    expect(E.isLeft(attempt(seq(par(einsum('b ->'), einsum('a ->')), add([]))))).toBe(true)
    const twice = par(drop([['b']]), copy([['a']]))
    expect(E.isLeft(attempt(seq(twice, einsum('a, a ->'))))).toBe(true)
    expect(E.isLeft(attempt(seq(twice, mul(['a']), einsum('a ->'))))).toBe(true)
  })
  it('a multilinear generator fed x twice; a tangent map at the point x', () => {
    const M = generator('M', [['a'], ['a']], [[]], { linearity: 'multilinear' })
    const twice = par(drop([['b']]), copy([['a']]))
    expect(E.isLeft(attempt(seq(twice, M)))).toBe(true)
    const G = generator('G', [['a']], [[]])
    const tangentAtX = seq(
      par(einsum('b -> a', { dims: { b: 'b' } }), id([['a']])),
      swap([['a']], [['a']]),
      derivative(G),
      par(drop([[]]), id([[]])),
    )
    expect(E.isLeft(attempt(tangentAtX))).toBe(true)
  })
})

describe('refused as it stands: concatenations, views and default sizes', () => {
  it('sums of dims keep their order: concat(a, b) ; split(b, a) does not type-check', () => {
    expect(() => seq(concat(0, [['a'], ['b']]), split(0, [['b'], ['a']]))).toThrow(TermError)
  })
  it('a multilinear generator has one output (its transpose poly would be wrong otherwise)', () => {
    expect(() =>
      generator('F', [['a'], ['b']], [['c'], ['d']], { linearity: 'multilinear' }),
    ).toThrow(TermError)
  })
  it('linear/view-identity moves a default size: the proof is refused at the end', () => {
    const k2 = dim('k', { size: 2 })
    const t = view([k2], ['k'])
    const r = rewrite('linear/view-identity', t)
    expect(E.isRight(r)).toBe(true)
    if (E.isLeft(r)) return
    // view([k=2] -> [k]) needs k at sizes {} (its output has no default); id([k=2]) does not.
    expect(() => evaluate(t, {}, [[1, 2]])).toThrow(TermError)
    const p = checkProof({ name: 'v', lhs: t, rhs: r.right.term, steps: [r.right.step] }, laws)
    expect(E.isLeft(p) && p.left.reason).toMatch(/default sizes/)
  })
  it('the new view and permutation laws at size-1 axes and sizes 5-8', () => {
    const sizes = [
      { a: 1, b: 1, h: 1 },
      { a: 5, b: 7, h: 6 },
      { a: 8, b: 1, h: 3 },
    ]
    const cases: Array<readonly [string, Term, (readonly [number, number])?]> = [
      [
        'linear/view-fusion',
        seq(view(['a', 'b'], [dimProduct('a', 'b')]), view([dimProduct('a', 'b')], ['b', 'a'])),
      ],
      ['elementwise/view', seq(relu(['a', 'b']), view(['a', 'b'], ['b', 'a']))],
      [
        'elementwise/permute',
        seq(tanh(['a', 'a']), einsum('x y -> y x', { dims: { x: 'a', y: 'a' } })),
      ],
      [
        'broadcast/move-axes',
        seq(
          einsum('x y -> y x', { dims: { x: 'a', y: 'a' } }),
          broadcast(softmax('a'), ['a'], { at: 0 }),
          einsum('x y -> x y', { dims: { x: 'a', y: 'a' } }),
        ),
      ],
    ]
    for (const [name, t] of cases) {
      const r = rewrite(name, t)
      expect(E.isRight(r), name).toBe(true)
      if (E.isRight(r))
        for (const s of sizes) expect(gap(t, r.right.term, s), name).toBeLessThan(1e-9)
    }
  })
})

describe('refused as it stands: proof documents', () => {
  it('a normal-form step whose target was replaced by another term', () => {
    const lhs = seq(copy([['k']]), par(relu('k'), drop([['k']])))
    const r = equivalent(lhs, relu('k'))
    expect(r.kind).toBe('proof')
    if (r.kind !== 'proof') return
    const doc = JSON.parse(proofToJson(r.proof)) as {
      rhs: unknown
      steps: Array<{ bindings: { target: { value: unknown } } }>
    }
    const other = (JSON.parse(proofToJson({ ...r.proof, lhs: tanh('k') })) as { lhs: unknown }).lhs
    const step = doc.steps[0]
    if (step === undefined) throw new Error('no step')
    step.bindings.target.value = other
    doc.rhs = other
    const back = proofFromJson(JSON.stringify(doc))
    expect(E.isRight(back)).toBe(true)
    if (E.isRight(back)) {
      const checked = checkProof(back.right, laws)
      expect(E.isLeft(checked) && checked.left.reason).toMatch(/normal forms differ/)
    }
  })
  it('a one-way law read backwards, and a binding that names another dim', () => {
    const t = view(['a', 'b'], ['a', 'b'])
    const r = rewrite('linear/view-identity', t)
    if (E.isLeft(r)) throw new Error(r.left.message)
    const doc = JSON.parse(
      proofToJson({ name: 'v', lhs: t, rhs: r.right.term, steps: [r.right.step] }),
    ) as { lhs: unknown; rhs: unknown; steps: Array<Record<string, unknown>> }
    const backwards = {
      ...doc,
      lhs: doc.rhs,
      rhs: doc.lhs,
      steps: [{ ...doc.steps[0], direction: 'backward' }],
    }
    const b = proofFromJson(JSON.stringify(backwards))
    expect(E.isRight(b) && E.isLeft(checkProof(b.right, laws))).toBe(true)
    const renamed = JSON.stringify(doc).replace('"name":"b"}]}}', '"name":"c"}]}}')
    const c = proofFromJson(renamed)
    if (E.isRight(c)) expect(E.isLeft(checkProof(c.right, laws))).toBe(true)
  })
})

// A fix tried for the rounding hole above waved off any difference up to 2^-46 of the largest
// magnitude computed anywhere on either side; then a plainly false equation whose terms pass
// through a large intermediate was answered 'unknown', not refuted (a product chain's rounding is
// relative to its result; a dropped branch never reaches an output). It was reverted; these
// pin that refutation keeps working for whatever fix comes next.
describe('the float64 rounding allowance loses refutations', () => {
  const k = [['k']]
  const up = (factor: number, n: number): Term =>
    seq(...Array.from({ length: n }, () => scale(factor, 'k')))
  it('x = 2x through scale(1000)^6 then scale(0.001)^6 is refuted', () => {
    const lhs = seq(up(1000, 6), up(0.001, 6))
    expect(gap(lhs, scale(2, 'k'), { k: 3 })).toBeGreaterThan(0.1)
    const r = equivalent(lhs, scale(2, 'k'), { limits: { timeMs: 300 } })
    expect(r.kind).toBe('counterexample')
  })
  it('x = 2x beside a dropped branch that computes 10^18 x is refuted', () => {
    const lhs = seq(copy(k), par(id(k), seq(up(1000, 6), drop(k))))
    expect(gap(lhs, scale(2, 'k'), { k: 3 })).toBeGreaterThan(0.1)
    const r = equivalent(lhs, scale(2, 'k'), { limits: { timeMs: 300 } })
    expect(r.kind).toBe('counterexample')
  })
})

describe('hole: the einsum bound ignored underflow inside a contraction (a proved theorem refuted)', () => {
  // The multilinear rule bounds the rounding of an einsum by γ_D A(|m| + r) plus one absolute
  // 2^-1060, A evaluated in float64. But an intermediate product that underflows (x y = 1e-324
  // -> 0, absolute error up to 2^-1075) is multiplied afterwards by the other factors of the
  // same einsum (M w = 1e306), and the float64 evaluation of A(|m|) underflows the same way, so
  // the bound said ~1e-295 where the error is ~1e-18, and 1e7 after a scale(1e25). The fused
  // einsum contracts x with y first (their joint index space is the smallest), the unfused one
  // never forms x y. einsum/fusion-middle and linear/homogeneity prove lhs = rhs in two checked
  // steps; equivalent answered 'counterexample' (42680.5 against 0, bound 1e-10).
  const dims = { a: 'n', c: 'n' }
  const G = generator('G', [['k']], [['k']], { linearity: 'linear' })
  const unfused = seq(
    par(scale(1e-162, 'n'), scale(1e-162, 'n'), scale(1e153, ['n', 'n']), scale(1e153, 'n')),
    par(id(['n']), einsum('a, a c -> a c', { dims }), id(['n'])),
    einsum('a, a c, c ->', { dims }),
    scale(1e25, []),
  )
  const lhs = par(unfused, seq(scale(3, 'k'), G))
  const s1 = applyAt(law('einsum/fusion-middle'), lhs, { path: [0], range: [1, 3] })
  const s2 = E.isRight(s1) ? applyAt(law('linear/homogeneity'), s1.right.term, { path: [1] }) : s1
  const rhs = E.isRight(s2) ? s2.right.term : lhs
  it('checkProof accepts the two steps; the fused side evaluates to 0, the exact value is 2.5e6', () => {
    expect(E.isRight(s1) && E.isRight(s2)).toBe(true)
    if (E.isLeft(s1) || E.isLeft(s2)) return
    const proof = { name: 'u', lhs, rhs, steps: [s1.right.step, s2.right.step] }
    expect(E.isRight(checkProof(proof, laws))).toBe(true)
    const ins = [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5], [0.1]]
    // Exact: Σ_a Σ_c x_a y_a M_ac w_c = 4 · 0.5^4 · 1e-324 · 1e306, then · 1e25 = 2.5e6.
    expect(evaluate(lhs, { n: 2, k: 1 }, ins)[0]?.[0]).toBeCloseTo(2.5e6, 3)
    expect(evaluate(rhs, { n: 2, k: 1 }, ins)[0]?.[0]).toBe(0)
  })
  it('the fused side bounds its error (2.5e6), and equivalent does not refute', () => {
    const ins = [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5], [0.1]]
    const b = evaluateWithErrorBounds(rhs, { n: 2, k: 1 }, ins)
    expect(b.bounds[0]?.[0]).toBeGreaterThanOrEqual(2.5e6 * (1 - 1e-12))
    expect(equivalent(lhs, rhs, { limits: false }).kind).not.toBe('counterexample')
  })
})

describe('hole: an absolute tolerance of 1e-9 hid every difference between small outputs', () => {
  // equivalent compared |p - q| <= tolerance · max(1, |p|, |q|), so below magnitude 1 the
  // tolerance was absolute: x · 1e-10 = x · 2e-10 and relu(1e-10 x) = 3 relu(1e-10 x) differ by
  // less than 1e-9 on inputs in [-1, 1], and were 'unknown', never refuted. Since the rounding
  // bounds decide what float64 can explain (each side's error is bounded, e.g. 4e-26 here), the
  // tolerance need only be relative.
  it('x · 1e-10 = x · 2e-10 is refuted', () => {
    expect(equivalent(scale(1e-10, 'k'), scale(2e-10, 'k')).kind).toBe('counterexample')
    const small = seq(scale(1e-10, 'k'), relu('k'))
    expect(equivalent(small, seq(small, scale(3, 'k'))).kind).toBe('counterexample')
  })
})

describe('hole: layerNorm whose variance overflows inside the kernel was bounded by 1e-319', () => {
  // The kernel sums (x - mu)^2 to v; at x of about 1e154 that overflows to ∞, 1/sqrt(∞) = 0,
  // and every output is a finite 0 (no value the evaluation watches is ∞: the overflow is
  // inside the primitive). The exact layerNorm of [1e154, -1e154, 5e153] is about
  // [0.98, -1.37, 0.39]. The bound's own sums overflowed the same way and said 8e-320, so
  // equivalent refuted the true layerNorm_0 = scale(1e154) ; layerNorm_0 (epsilon 0: scale
  // invariance is exact over the reals), 0.0217 against 0 with a bound of 1e-14.
  const ln = layerNorm('k', { epsilon: 0 })
  const big = seq(scale(1e154, 'k'), ln)
  it('the kernel gives 0 where the exact value is 0.98', () => {
    expect(evaluate(big, { k: 3 }, [[1, -1, 0.5]])[0]?.[0]).toBe(0)
    expect(evaluate(ln, { k: 3 }, [[1, -1, 0.5]])[0]?.[0]).toBeCloseTo(0.9805806756909202, 12)
  })
  it('the bound covers it, and equivalent does not refute', () => {
    const b = evaluateWithErrorBounds(big, { k: 3 }, [[1, -1, 0.5]])
    expect(b.bounds[0]?.[0]).toBeGreaterThanOrEqual(0.98)
    expect(equivalent(ln, big, { limits: false, sizes: { k: 5 } }).kind).not.toBe('counterexample')
  })
})

describe('every law, at huge and tiny magnitudes: the sides differ by at most their two bounds', () => {
  // Both sides of a law instance are equal over the reals, so wherever every value is real the
  // float64 results may differ by at most the sum of the two rounding-error bounds; a larger
  // difference is a bound that is too small (equivalent would refute a proved step). Inputs
  // mix magnitudes from 1e-320 to 1e300 entry by entry. This caught the underflow hole above
  // (19 of 2694 checks before its fix).
  it('no law instance differs beyond the bounds (3 instances per law and direction)', () => {
    const exps = [0, 0, 8, 16, -16, 100, -100, 200, -200, 300, -300, -308, -310, -320]
    const found: string[] = []
    let checked = 0
    for (const [name, r] of laws)
      for (const dir of r.bidirectional
        ? (['forward', 'backward'] as const)
        : (['forward'] as const)) {
        let samples: Term[] = []
        try {
          samples = fc.sample(instanceArb(r, dir, { depth: 2 }), { numRuns: 3, seed: 7 })
        } catch {
          // A law whose random instances instanceArb cannot draw at depth 2 (a few are stated
          // so that it cannot; test/law-contract.test.ts draws theirs otherwise).
        }
        for (const before of samples) {
          const ap = applyAt(r, before, { path: [] }, dir)
          if (E.isLeft(ap)) continue
          const after = ap.right.term
          const both = par(before, after)
          if (Object.values(sizeBounds(both)).some((x) => x > 4)) continue
          const sizes = fc.sample(termSizesArb(both, { max: 4 }), { numRuns: 1, seed: checked })[0]
          if (sizes === undefined) continue
          for (let t = 0; t < 6; t++) {
            const next = seededRandom(1000 * checked + t)
            const pick = () => exps[Math.floor(next() * exps.length)] as number
            const e = pick()
            try {
              const inputs = randomInputs(before.dom, sizes, t).map((x) =>
                x.map((v) => v * 10 ** (t % 2 === 1 ? pick() : e)),
              )
              const params = randomParams(both, sizes, t)
              const o = { generatorSeed: 3 }
              const x = evaluateWatched(before, sizes, inputs, params, o)
              const y = evaluateWatched(after, sizes, inputs, params, o)
              if (x.nonFinite || y.nonFinite) continue
              checked++
              const bx = roundingBounds(before, sizes, inputs, params, o, x.outputs)
              const by = roundingBounds(after, sizes, inputs, params, o, y.outputs)
              x.outputs.forEach((xo, i) =>
                xo.forEach((p, j) => {
                  const q = y.outputs[i]?.[j] as number
                  const bound = ((bx[i]?.[j] as number) + (by[i]?.[j] as number)) * (1 + 2 ** -50)
                  if (p !== q && Math.abs(p - q) > bound)
                    found.push(
                      `${name} ${dir} ${JSON.stringify(sizes)}: ${p} vs ${q}, bound ${bound}`,
                    )
                }),
              )
            } catch (err) {
              if (!(err instanceof TermError)) throw err
            }
          }
        }
      }
    expect(checked).toBeGreaterThan(1000)
    expect(found.slice(0, 5)).toEqual([])
  })
})

// Mutated proof documents (2026-12-03): every step of every proof in proofs/json with its
// direction flipped, its window or path moved by one, its law replaced by each other law (with
// and without its bindings). checkProof replays a step through applyAt, so a variant step that
// applyAt accepts must keep the term's meaning: none was found to change it (about 100 of
// 22 000 variants apply, all meaning-preserving at sizes 1, 2 and mixed).
describe('refused or sound as it stands: mutated steps of the proofs in proofs/json', () => {
  const dimNames = (t: unknown, out = new Set<string>()): Set<string> => {
    if (typeof t !== 'object' || t === null) return out
    const r = t as Record<string, unknown>
    if (r.kind === 'var' && typeof r.name === 'string') out.add(r.name)
    for (const [k, v] of Object.entries(r)) if (k !== 'poly') dimNames(v, out)
    return out
  }
  const differs = (a: Term, b: Term): boolean =>
    [1, 2, 3].some((s) => {
      const sizes: Record<string, number> = {}
      let c = 0
      for (const n of dimNames(a)) sizes[n] = s === 3 ? 2 + (c++ % 3) : s
      let x: Float64Array[]
      let y: Float64Array[]
      try {
        const inputs = randomInputs(a.dom, sizes, 11 + s)
        const params = randomParams(a, sizes, 7)
        x = evaluate(a, sizes, inputs, params, { generatorSeed: 5 })
        y = evaluate(b, sizes, inputs, params, { generatorSeed: 5 })
      } catch {
        return false
      }
      return x.some((l, o) =>
        [...l].some((p, j) => {
          const q = y[o]?.[j] ?? NaN
          return !(Math.abs(p - q) <= 1e-6 * Math.max(1, Math.abs(p)))
        }),
      )
    })
  it('no variant step that applies changes what the term computes', () => {
    const names = [...laws.keys()]
    const bad: string[] = []
    let applied = 0
    for (const file of ['snake-fig20', 'tuples-swap-twice', 'linear-naturality-fig17']) {
      const read = proofFromJson(readFileSync(`proofs/json/${file}.proof.json`, 'utf8'))
      if (E.isLeft(read)) throw new Error(file)
      let term = read.right.lhs
      for (const s of read.right.steps) {
        const { path, range } = s.location
        const variants = [
          {
            ...s,
            direction: s.direction === 'forward' ? ('backward' as const) : ('forward' as const),
          },
          ...(range === undefined
            ? []
            : [
                [range[0] - 1, range[1]],
                [range[0] + 1, range[1]],
                [range[0], range[1] - 1],
                [range[0], range[1] + 1],
              ].map((r) => ({ ...s, location: { path, range: r as [number, number] } }))),
          ...names.flatMap((rule) => [
            { ...s, rule },
            { ...s, rule, bindings: undefined },
          ]),
        ]
        for (const v of variants) {
          const r = applyAt(law(v.rule), term, v.location, v.direction, v.bindings)
          if (E.isLeft(r)) continue
          applied++
          if (differs(term, r.right.term)) bad.push(`${file}: ${v.rule} ${v.direction}`)
        }
        const next = applyAt(law(s.rule), term, s.location, s.direction, s.bindings)
        if (E.isLeft(next)) throw new Error(next.left.message)
        term = next.right.term
      }
    }
    expect(applied).toBeGreaterThan(0)
    expect(bad).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// The changes landed after 7a904cf: transpose/unit-broadcast-shape and the units-beside-broadcasts
// presentation of optimize, spliceParts (replaceAt, withChildren), splitLinear reading back once.

/** The gap between two terms at several size records, NaN-safe (Infinity when one fails). */
const gapAt = (a: Term, b: Term, sizes: ReadonlyArray<Record<string, number>>): number =>
  Math.max(...sizes.map((s) => gap(a, b, s)).map((g) => (Number.isNaN(g) ? Infinity : g)))

/** `(id(P) ⊗ η_A) ; bcast[A @in(shared…, 0) @out(0)](m)`, the unit written `-> L L`. */
const onShapeUnit = (m: Term, labels: ReadonlyArray<string> = ['p', 'q', 'r']): Term => {
  const primal = m.dom.slice(0, -1)
  const A = m.dom[m.dom.length - 1] as ReadonlyArray<ReturnType<typeof dim>>
  const L = A.map((_, i) => labels[i] as string)
  const dims = Object.fromEntries(A.map((d, i) => [L[i] as string, d] as const))
  return seq(
    par(id(primal), einsumOf({ inputs: [[]], output: [...L, ...L] }, { dims })),
    broadcast(m, A, { inputs: [...primal.map(() => 'shared' as const), 0], outputs: [0] }),
  )
}

describe('refused or sound as it stands: transpose/unit-broadcast-shape and its ?m', () => {
  const shape = law('transpose/unit-broadcast-shape')
  const sumAB = einsum('i j -> ', { dims: { i: 'a', j: 'b' } })
  const sumK = einsum('k -> ', { dims: { k: 'k' } })
  const sizes = [
    { a: 1, b: 1, k: 1 },
    { a: 2, b: 3, k: 2 },
    { a: 3, b: 1, k: 4 },
    { a: 1, b: 4, k: 1 },
  ]

  it('refuses an M affine, constant or non-linear in its last input [a b]', () => {
    const ms: Record<string, Term> = {
      // f(p) + Σx: affine in x (M(p, 0) = f(p) ≠ 0).
      affine: seq(par(sumK, sumAB), add([])),
      // f(p), x dropped: constant in x.
      constant: seq(par(sumK, drop([['a', 'b']])), id([[]])),
      relu: seq(par(drop([['k']]), relu(['a', 'b'])), sumAB),
      // Σ x ⊙ x: quadratic.
      square: seq(par(drop([['k']]), copy([['a', 'b']])), mul(['a', 'b']), sumAB),
      // Σ tanh(x) (tanh is odd, M(p, 0) = 0, but not linear).
      tanh: seq(par(drop([['k']]), tanh(['a', 'b'])), sumAB),
    }
    for (const [name, m] of Object.entries(ms)) {
      const out = applyAt(shape, onShapeUnit(m), { path: [] })
      expect([name, E.isLeft(out) && out.left.reason]).toEqual([name, 'condition'])
    }
  })

  it('holds where it applies: M weighted by a function of P, on [a b], [a a] and [k], sizes 1', () => {
    const ms: Term[] = [
      seq(par(tanh(['k']), id([['a', 'b']])), einsum('k, i j -> ', { dims: { i: 'a', j: 'b' } })),
      seq(par(drop([['k']]), scale(2, ['a', 'b'])), sumAB),
      // A = [a a]: the identity tensor of [a a] (not its transpose) feeds the rows.
      seq(
        par(tanh(['k']), einsum('i j -> j i', { dims: { i: 'a', j: 'a' } })),
        einsum('k, i j -> ', { dims: { i: 'a', j: 'a' } }),
      ),
      // One axis, P of two segments, one of them a scalar.
      seq(
        par(id([['k']]), einsumOf({ inputs: [[], ['k']], output: ['k'] }, { dims: { k: 'k' } })),
        einsum('k, k -> '),
      ),
    ]
    for (const m of ms) {
      const lhs = onShapeUnit(m)
      const out = applyAt(shape, lhs, { path: [] })
      expect(E.isRight(out)).toBe(true)
      if (E.isRight(out)) expect(gapAt(lhs, out.right.term, sizes)).toBeLessThan(1e-12)
    }
  })

  it('a unit whose labels repeat in another order (-> p q q p) is refused', () => {
    const m = seq(
      par(tanh(['k']), id([['a', 'a']])),
      einsum('k, i j -> ', { dims: { i: 'a', j: 'a' } }),
    )
    const lhs = seq(
      par(id([['k']]), einsum(' -> p q q p', { dims: { p: 'a', q: 'a' } })),
      broadcast(m, ['a', 'a'], { inputs: ['shared', 0], outputs: [0] }),
    )
    const out = applyAt(shape, lhs, { path: [] })
    expect(E.isLeft(out) && out.left.reason).toBe('condition')
  })
})

describe('sound as it stands: splitLinear (read back once, splitWiring) on random masks', () => {
  // The right side of transpose/unit-broadcast(-shape) is a backward of splitLinear, and so are
  // vjp and grad. For a random term and a random mask of linear inputs, where the split succeeds:
  // every output it calls linear is additive in the linear inputs and 0 at 0, every other output
  // does not depend on them and is what the forward computes, and the backward is the adjoint,
  // <ȳ, L x> = <Lᵀ ȳ, x>. Soaked in a scratch run on 4500 terms (3600 splits) and 1800 random
  // wirings with tanh, sums and products (1400 splits): no failure.
  const dot = (a: ReadonlyArray<Float64Array>, b: ReadonlyArray<Float64Array>): number[] => {
    let v = 0
    let s = 0
    a.forEach((x, i) =>
      x.forEach((p, j) => {
        v += p * ((b[i] as Float64Array)[j] as number)
        s += Math.abs(p * ((b[i] as Float64Array)[j] as number))
      }),
    )
    return [v, s]
  }
  const close = (p: number, q: number, scale: number): boolean =>
    Math.abs(p - q) <= 1e-8 * Math.max(1, scale)
  const cases = tupleTypeArb({ minLength: 1, maxLength: 3, maxRank: 3 })
    .chain((dom) =>
      fc.oneof(
        termArb(dom, { depth: 3 }),
        termArb(dom, { depth: 3, linear: true }),
        termArb(dom, { depth: 2, smooth: true }).map((f) => derivative(f)),
        fc
          .tuple(termArb(dom, { depth: 2, smooth: true }), termArb(dom, { depth: 2, linear: true }))
          .map(([a, b]) => par(derivative(a), b)),
      ),
    )
    .chain((t) =>
      fc.tuple(
        fc.constant(t),
        fc.array(fc.boolean(), { minLength: t.dom.length, maxLength: t.dom.length }),
        termSizesArb(t, { max: 4 }),
        fc.integer({ min: 1, max: 1e6 }),
      ),
    )

  it('linear outputs are linear, primal ones constant, the backward the adjoint', () => {
    let split = 0
    fc.assert(
      fc.property(cases, ([f, mask0, sizes, seed]) => {
        const mask = f.kind === 'derivative' ? f.dom.map((_, i) => i >= f.dom.length / 2) : mask0
        let s: ReturnType<typeof splitLinear>
        try {
          s = splitLinear(f, mask)
        } catch (e) {
          if (e instanceof TermError) return
          throw e
        }
        let params: Record<string, Float64Array>
        try {
          params = randomParams(f, sizes, seed + 7)
        } catch (e) {
          if (e instanceof TermError) return // a parameter used with two shapes
          throw e
        }
        split++
        const opt = { generatorSeed: 3 }
        const run = (t: Term, xs: ReadonlyArray<Float64Array>) =>
          evaluate(t, sizes, xs as Float64Array[], params, opt)
        const xs = randomInputs(f.dom, sizes, seed)
        const ys = randomInputs(f.dom, sizes, seed + 1)
        const on = (g: (x: Float64Array, y: Float64Array) => Float64Array) =>
          xs.map((x, i) => (mask[i] === true ? g(x, ys[i] as Float64Array) : x))
        const fx = run(f, xs)
        const fy = run(
          f,
          on((_, y) => y),
        )
        const fxy = run(
          f,
          on((x, y) => x.map((v, j) => v + 2 * (y[j] as number))),
        )
        const f0 = run(
          f,
          on((x) => x.map(() => 0)),
        )
        f.cod.forEach((_, j) =>
          (fx[j] as Float64Array).forEach((v, k) => {
            const w = (fy[j] as Float64Array)[k] as number
            const c = (fxy[j] as Float64Array)[k] as number
            if (s.linearOutputs[j] === true) {
              expect(close(c, v + 2 * w, Math.abs(v) + 2 * Math.abs(w))).toBe(true)
              expect(close((f0[j] as Float64Array)[k] as number, 0, 0)).toBe(true)
            } else expect(close(c, v, Math.abs(v))).toBe(true)
          }),
        )
        const primal = xs.filter((_, i) => mask[i] !== true)
        const fw = run(s.forward, primal)
        const primalOut = fx.filter((_, j) => s.linearOutputs[j] !== true)
        expect(fw.length).toBe(primalOut.length)
        fw.forEach((w, j) =>
          w.forEach((v, k) =>
            expect(close(v, (primalOut[j] as Float64Array)[k] as number, Math.abs(v))).toBe(true),
          ),
        )
        const ybar = randomInputs(
          f.cod.filter((_, j) => s.linearOutputs[j] === true),
          sizes,
          seed + 3,
        )
        const xbar = run(s.backward, [...primal, ...ybar])
        const [l, ls] = dot(
          ybar,
          fx.filter((_, j) => s.linearOutputs[j] === true),
        ) as [number, number]
        const [r, rs] = dot(
          xbar,
          xs.filter((_, i) => mask[i] === true),
        ) as [number, number]
        expect(close(l, r, Math.max(ls, rs))).toBe(true)
      }),
      { numRuns: 80, seed: 41 },
    )
    expect(split).toBeGreaterThan(40)
  })
})

describe('sound as it stands: spliceParts through replaceAt and withChildren', () => {
  // The spliced term must be the constructor's: same parts, type, linearity and polynomial, for
  // replacements of another segmentation, id([]) parts, a par inside a seq and the reverse.
  const same = (a: Term, b: Term): void => {
    expect(showTyped(a)).toBe(showTyped(b))
    expect(a.dom).toEqual(b.dom)
    expect(a.cod).toEqual(b.cod)
    expect(a.linearity).toBe(b.linearity)
    expect(JSON.stringify(a.poly)).toBe(JSON.stringify(b.poly))
  }
  const a = [['a']]
  const b = [['b']]

  it('a par window replaced by one term of the concatenated type, or by id([]) parts', () => {
    const host = par(relu('a'), tanh('b'), id([]), relu('a'))
    const one = seq(swap(a, b), par(tanh('b'), relu('a')), swap(b, a))
    same(replaceAt(host, { path: [], range: [0, 2] }, one), par(one, id([]), relu('a')))
    same(
      replaceAt(host, { path: [], range: [1, 3] }, par(tanh('b'), id([]), id([]))),
      par(relu('a'), tanh('b'), id([]), id([]), relu('a')),
    )
    // The whole par by a seq: the result is that seq, not a par of one part.
    same(
      replaceAt(host, { path: [], range: [0, 4] }, seq(host, id(host.cod))),
      seq(host, id(host.cod)),
    )
  })

  it('a seq window replaced by a par, by a seq that flattens, or by an identity', () => {
    const host = seq(copy(a), par(relu('a'), tanh('a')), mul('a'), tanh('a'))
    const p = par(tanh('a'), relu('a'))
    same(replaceAt(host, { path: [], range: [1, 2] }, p), seq(copy(a), p, mul('a'), tanh('a')))
    const flat = seq(id([['a'], ['a']]), p, id(p.cod))
    same(
      replaceAt(host, { path: [], range: [1, 3] }, seq(flat, mul('a'))),
      seq(copy(a), flat, mul('a'), tanh('a')),
    )
    same(
      replaceAt(host, { path: [], range: [3, 4] }, id(a)),
      seq(copy(a), par(relu('a'), tanh('a')), mul('a'), id(a)),
    )
  })

  it('withChildren refuses an ill-typed child anywhere in a long seq, and re-types a par', () => {
    const parts = Array.from({ length: 100 }, (_, k) => (k % 2 === 0 ? relu('a') : tanh('a')))
    const long = seq(...parts)
    for (const at of [0, 1, 50, 98, 99]) {
      const next = parts.map((p, k) => (k === at ? relu('b') : p))
      expect(() => withChildren(long, next)).toThrow(TermError)
    }
    // Two changed parts that compose with each other but not with their neighbours.
    const pair = parts.map((p, k) => (k === 10 || k === 11 ? relu('b') : p))
    expect(() => withChildren(long, pair)).toThrow(TermError)
    // A par may change type: its new type is the constructor's.
    const host = par(relu('a'), tanh('b'))
    same(withChildren(host, [relu('a'), relu('c')]), par(relu('a'), relu('c')))
    same(withChildren(host, [copy(a), tanh('b')]), par(copy(a), tanh('b')))
  })
})

describe('sound as it stands: optimize of forward gradients of functions of several inputs', () => {
  // optimize adds the units-beside-broadcasts presentation (a normal-form step) and may use
  // transpose/unit-broadcast-shape; its result must be the gradient at sizes 1 and mixed, and
  // its proof must replay. Soaked in a scratch run on 60 random smooth scalar functions of 1-3
  // inputs (38 proofs used a unit-broadcast law): no failure.
  const fs: Record<string, Term> = {
    'Σ tanh(x ⊙ y) · z on [a b] × [b] × []': seq(
      par(einsum('i j, j -> i j', { dims: { i: 'a', j: 'b' } }), id([[]])),
      par(seq(tanh(['a', 'b']), einsum('i j -> ', { dims: { i: 'a', j: 'b' } })), id([[]])),
      mul(),
    ),
    'Σ tanh(x)_ij y_i y_j on [a a] × [a]': seq(
      par(tanh(['a', 'a']), copy([['a']])),
      einsum('i j, i, j -> ', { dims: { i: 'a', j: 'a' } }),
    ),
    'mean(tanh x ⊙ y) on [a] × [a]': seq(par(tanh(['a']), id([['a']])), mul(['a']), mean('a')),
  }
  for (const [name, f] of Object.entries(fs))
    it(name, () => {
      const t = forwardGradient(f)
      const r = optimize(t, { limits: { iterations: 4, nodes: 1500, timeMs: 4000 } })
      expect(E.isRight(checkProof(r.proof, laws))).toBe(true)
      // The rewrite under test was used (at default sizes the cost falls 20x-100x).
      expect(r.proof.steps.some((s) => s.rule === 'transpose/unit-broadcast-shape')).toBe(true)
      const g = grad(f)
      for (const sizes of [
        { a: 1, b: 1 },
        { a: 3, b: 1 },
        { a: 1, b: 4 },
        { a: 2, b: 3 },
      ]) {
        expect(gap(t, g, sizes)).toBeLessThan(1e-9)
        expect(gap(r.term, g, sizes)).toBeLessThan(1e-9)
      }
    })
})

describe('hole (fixed): grad refused a nonlinear generator applied to a constant', () => {
  // Found by grad against finite differences on random smooth terms (2 refusals in 1200): the
  // tangent of a parameter is zero, and the tangent form dF of a nonlinear generator F is linear
  // in it, so dF(W, 0) = 0; splitLinear computed it forward as a constant (its polynomial is a
  // nonlinear map's) and called it primal. grad then refused Σ F(W) ⊙ x ("adds a primal value to
  // a linear one") and the constant drop ; param(W) ; F ; Σ (an internal "not linear in the
  // tangents"). Not a wrong value, a refusal; the fix says dF(x, 0) = 0.
  const F = generator('F', [['c']], [['c']], { linearity: 'nonlinear' })
  const sum = einsum('c -> ', { dims: { c: 'c' } })
  const sizes = { c: 3, d: 2 }
  const params = randomParams(seq(param('W', ['c']), F), sizes, 4)
  const run = (t: Term, xs: ReadonlyArray<ReadonlyArray<number>>) =>
    evaluate(t, sizes, xs as number[][], params, { generatorSeed: 5 })

  it('the gradient of Σ F(W) ⊙ x is F(W)', () => {
    const f = seq(par(param('W', ['c']), id([['c']])), par(F, id([['c']])), mul(['c']), sum)
    const [g] = run(grad(f), [[0.3, -1, 2]])
    const [fw] = run(seq(param('W', ['c']), F), [])
    expect([...(g as Float64Array)]).toEqual([...(fw as Float64Array)])
  })

  it('the gradient of a constant through F is zero', () => {
    const f = seq(drop([['d']]), param('W', ['c']), F, sum)
    expect([...(run(grad(f), [[1, 2]])[0] as Float64Array)]).toEqual([0, 0])
  })
})

describe('sound as it stands: grad against finite differences on random smooth terms', () => {
  // grad (splitLinear read back once, splitWiring, the residual split) with respect to a random
  // subset of the inputs and of the parameters, against the fourth-order central difference.
  // Soaked in scratch runs on 3100 terms (sizes 1 to 4): no wrong value; two refusals, fixed
  // above.
  const cases = tupleTypeArb({ minLength: 1, maxLength: 3, maxRank: 2 })
    .chain((dom) => termArb(dom, { depth: 3, smooth: true, cod: [[]] }))
    .chain((t) =>
      fc.tuple(
        fc.constant(t),
        termSizesArb(t, { max: 4 }),
        fc.integer({ min: 1, max: 1e6 }),
        fc.subarray(
          t.dom.map((_, i) => i),
          { minLength: 1 },
        ),
      ),
    )
  const fd = (at: (t: number) => number): number[] =>
    [1e-3, 1e-4, 1e-5].map((h) => (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h))

  it('every entry of the gradient is a derivative', () => {
    fc.assert(
      fc.property(cases, ([f, sizes, seed, inputs]) => {
        let params: Record<string, Float64Array>
        try {
          params = Object.fromEntries(
            Object.entries(randomParams(f, sizes, seed + 7)).map(([k, v]) => [
              k,
              v.map((x) => x / 2),
            ]),
          )
        } catch (e) {
          if (e instanceof TermError) return // a parameter used with two shapes
          throw e
        }
        const names = Object.keys(params).filter((_, i) => (seed >> i) % 2 === 1)
        const g = grad(f, { inputs, params: names })
        const xs = randomInputs(f.dom, sizes, seed)
        const opt = { generatorSeed: 3 }
        const got = evaluate(g, sizes, xs, params, opt)
        const loss = (ys: Float64Array[], ps: Record<string, Float64Array>): number =>
          (evaluate(f, sizes, ys, ps, opt)[0] as Float64Array)[0] as number
        const near = (v: number, ds: number[]): boolean =>
          ds.some((d) => Math.abs(v - d) <= 1e-5 * (1 + Math.abs(d)))
        inputs.forEach((seg, o) =>
          (xs[seg] as Float64Array).forEach((x, k) => {
            const at = (t: number): number => {
              const ys = xs.map((y) => y.slice())
              ;(ys[seg] as Float64Array)[k] = x + t
              return loss(ys, params)
            }
            expect(near((got[o] as Float64Array)[k] as number, fd(at))).toBe(true)
          }),
        )
        names.forEach((name, q) =>
          (params[name] as Float64Array).forEach((w, k) => {
            const at = (t: number): number => {
              const p = (params[name] as Float64Array).slice()
              p[k] = w + t
              return loss(xs, { ...params, [name]: p })
            }
            const v = (got[inputs.length + q] as Float64Array)[k] as number
            expect(near(v, fd(at))).toBe(true)
          }),
        )
      }),
      { numRuns: 40, seed: 43 },
    )
  })
})

describe('sound as it stands: grad of wide stacks through wide wirings (89c7d49, 97eeb81)', () => {
  // vjp reverses a par part by part, and read-backs permute more than 8 blocks by halves: grad of
  // a stack of 8-24 random smooth parts, a random wiring of their outputs (copies, drops,
  // permutations: blockWiring) and a sum, against the central difference. Soaked on 250 stacks
  // (181 evaluated) and 6000 wirings against their sources: no failure.
  const shapes = [[], ['a'], ['b'], ['a', 'b']]
  const cases = fc
    .tuple(
      fc.array(fc.nat({ max: 3 }), { minLength: 8, maxLength: 24 }),
      fc.integer({ min: 1, max: 1e6 }),
    )
    .chain(([ks, seed]) =>
      fc.tuple(
        fc.tuple(
          ...ks.map((k) =>
            termArb([shapes[k] as string[]], {
              depth: 1,
              smooth: true,
              generators: false,
              cod: [shapes[(k + seed) % 4] as string[]],
            }),
          ),
        ),
        fc.constant(seed),
        fc.array(fc.nat(), { minLength: 1, maxLength: 40 }),
      ),
    )

  it('every entry of the gradient is a derivative', () => {
    let evaluated = 0
    fc.assert(
      fc.property(cases, ([parts, seed, src]) => {
        const p = par(...parts)
        const w = blockWiring(
          p.cod,
          src.map((s) => s % p.cod.length),
        )
        const sums = w.cod.map((s) =>
          s.length === 0
            ? id([[]])
            : einsumOf(
                { inputs: [s.map((_, i) => `l${i}`)], output: [] },
                { dims: Object.fromEntries(s.map((d, i) => [`l${i}`, d])) },
              ),
        )
        let f = seq(p, w, par(...sums))
        while (f.cod.length > 1)
          f = seq(f, par(seq(par(id([[]]), tanh([])), add([])), id(f.cod.slice(2))))
        const sizes = { a: 1 + (seed % 3), b: 1 + ((seed >> 2) % 3), c: 2, d: 2 }
        let params: Record<string, Float64Array>
        let xs: Float64Array[]
        try {
          params = randomParams(f, sizes, 2)
          xs = randomInputs(f.dom, sizes, seed)
          evaluate(f, sizes, xs, params)
        } catch (e) {
          if (e instanceof TermError) return // two shapes of a parameter, an index past a size
          throw e
        }
        evaluated++
        const got = evaluate(grad(f), sizes, xs, params)
        const loss = (ys: Float64Array[]): number =>
          (evaluate(f, sizes, ys, params)[0] as Float64Array)[0] as number
        xs.forEach((x, seg) =>
          x.forEach((v, k) => {
            const ds = [1e-3, 1e-4].map((h) => {
              const at = (t: number): number => {
                const ys = xs.map((y) => y.slice())
                ;(ys[seg] as Float64Array)[k] = v + t * h
                return loss(ys)
              }
              return (8 * (at(1) - at(-1)) - (at(2) - at(-2))) / (12 * h)
            })
            const g = (got[seg] as Float64Array)[k] as number
            expect(ds.some((d) => Math.abs(g - d) <= 1e-5 * (1 + Math.abs(d)))).toBe(true)
          }),
        )
      }),
      { numRuns: 12, seed: 7 },
    )
    expect(evaluated).toBeGreaterThan(5)
  })
})

describe('sound as it stands: einsum plans of one sub-term object under several broadcasts (e89f0cd)', () => {
  // One einsum object `e` placed bare, under a broadcast over n with w shared, under one over m
  // with x shared, and under two nested broadcasts: each place is its own step with its own
  // plan. Two terms sharing `e` evaluated interleaved, at alternating sizes and under the three
  // matmul kernels, against the definition by indexes. Soaked in scratch runs beside 7700
  // random terms (termArb depth 4, generators included) evaluated 45612 times at alternating
  // sizes and kernels against a fresh object of the same term: no difference. Dropping the sizes
  // from the plan's key fails this test (checked); dropping the kernel does not (the kernels give
  // the same entries here: the kernel in the key is for speed, test/eval-plan.test.ts checks it).
  const e = einsum('a b, b c -> a c')
  const t1 = par(
    broadcast(e, ['n'], { inputs: [0, 'shared'] }),
    broadcast(e, ['m'], { inputs: ['shared', 0] }),
    e,
  )
  const t2 = broadcast(broadcast(e, ['n'], { inputs: [0, 0] }), ['m'], { inputs: ['shared', 0] })
  /** x[a b] w[b c] read at offsets, the product written at an offset. */
  const mm = (
    x: Float64Array,
    xo: number,
    w: Float64Array,
    wo: number,
    out: Float64Array,
    oo: number,
    s: Record<string, number>,
  ) => {
    const { a, b, c } = s as { a: number; b: number; c: number }
    for (let i = 0; i < a; i++)
      for (let k = 0; k < c; k++) {
        let v = 0
        for (let j = 0; j < b; j++)
          v += (x[xo + i * b + j] as number) * (w[wo + j * c + k] as number)
        out[oo + i * c + k] = v
      }
  }
  const close = (got: ReadonlyArray<Float64Array>, want: ReadonlyArray<Float64Array>) => {
    expect(got.map((g) => g.length)).toEqual(want.map((g) => g.length))
    want.forEach((w, i) =>
      w.forEach((v, k) =>
        expect(Math.abs(((got[i] as Float64Array)[k] as number) - v)).toBeLessThan(
          1e-12 * (1 + Math.abs(v)),
        ),
      ),
    )
  }
  it('every place, every size, every kernel: the definition by indexes', async () => {
    const { matmulKernel, setMatmulKernel } = await import('../src/eval/wasm/gemm.js')
    const old = matmulKernel()
    const sizes = [
      { n: 3, m: 2, a: 2, b: 4, c: 5 },
      { n: 2, m: 3, a: 5, b: 4, c: 2 },
      { n: 3, m: 2, a: 2, b: 4, c: 5 },
      { n: 1, m: 1, a: 9, b: 17, c: 12 },
      { n: 2, m: 3, a: 5, b: 4, c: 2 },
    ]
    let runs = 0
    try {
      // The sizes alternate under one kernel (a change of kernel alone replans every step).
      for (const k of ['wasm', 'typescript', 'auto'] as const)
        for (const [r, s] of sizes.entries()) {
          setMatmulKernel(k)
          const { n, m, a, b, c } = s
          const ab = a * b
          const bc = b * c
          const ac = a * c
          const xs1 = randomInputs(t1.dom, s, 17 + r)
          const [xn, w1, x2, wm, x3, w3] = xs1 as [
            Float64Array,
            Float64Array,
            Float64Array,
            Float64Array,
            Float64Array,
            Float64Array,
          ]
          const want1 = [new Float64Array(n * ac), new Float64Array(m * ac), new Float64Array(ac)]
          for (let i = 0; i < n; i++) mm(xn, i * ab, w1, 0, want1[0] as Float64Array, i * ac, s)
          for (let i = 0; i < m; i++) mm(x2, 0, wm, i * bc, want1[1] as Float64Array, i * ac, s)
          mm(x3, 0, w3, 0, want1[2] as Float64Array, 0, s)
          const xs2 = randomInputs(t2.dom, s, 29 + r)
          const [y, v] = xs2 as [Float64Array, Float64Array]
          const want2 = [new Float64Array(m * n * ac)]
          for (let q = 0; q < m; q++)
            for (let i = 0; i < n; i++)
              mm(y, i * ab, v, (q * n + i) * bc, want2[0] as Float64Array, (q * n + i) * ac, s)
          close(evaluate(t1, s, xs1), want1)
          close(evaluate(t2, s, xs2), want2)
          close(evaluate(t1, s, xs1), want1)
          runs += 3
        }
    } finally {
      setMatmulKernel(old)
    }
    expect(runs).toBe(45)
  })
})

describe('sound as it stands: grad of conv stacks after releasingOrder and the re-cut images (fb5e3e7)', () => {
  // grad reads back releasing early and keeps a cut's input, not the padded/unfolded image,
  // making the cut again before its backward reader (recutPerReader, residualSplit). Stacks of
  // 1-3 conv2d layers (strides, dilations, paddings 0-2 per side, biases, a weight shared by two
  // layers, two convolutions of one input, a batch broadcast, the input read by a second
  // branch), the grad evaluated at other sizes and under another matmul kernel in between, against
  // the fourth-order central difference. Soaked in scratch runs on 2070 stacks (1981 evaluated,
  // 1410 drawn with the batch, fork and second-branch options): no wrong value.
  const sumAll = (s: ReadonlyArray<Dim>): Term =>
    einsumOf(
      { inputs: [s.map((_, i) => `l${i}`)], output: [] },
      { dims: Object.fromEntries(s.map((d, i) => [`l${i}`, d])) },
    )
  const layerArb = fc.record({
    s: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    d: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    p: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
    bias: fc.boolean(),
    share: fc.boolean(),
  })
  it('every entry of the gradient is a derivative', async () => {
    const { matmulKernel, setMatmulKernel } = await import('../src/eval/wasm/gemm.js')
    const kernels = ['auto', 'typescript', 'wasm'] as const
    const old = matmulKernel()
    let evaluated = 0
    fc.assert(
      fc.property(
        fc.array(layerArb, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 1e6 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (layers, seed, twice, batch, fork) => {
          let f: Term = id([['h', 'w', 'c']])
          let cur = f.cod[0] as ReadonlyArray<Dim>
          layers.forEach((L, i) => {
            const options = {
              h: cur[0] as Dim,
              w: cur[1] as Dim,
              kh: 'p',
              kw: 'q',
              cIn: 'c',
              cOut: 'c',
              stride: L.s,
              dilation: L.d,
              padding: [
                [L.p[0], L.p[1]],
                [L.p[2], L.p[3]],
              ] as const,
            }
            const c = conv2d(L.share && i > 0 ? 'C0' : `C${i}`, { ...options, bias: L.bias })
            const out = c.cod[0] as ReadonlyArray<Dim>
            f =
              fork && i === 0
                ? seq(f, copy([cur]), par(c, conv2d('F', options)), add(out), tanh(out))
                : seq(f, c, tanh(out))
            cur = out
          })
          if (batch) {
            f = broadcast(f, ['n'])
            cur = [dim('n'), ...cur]
          }
          const d0 = f.dom[0] as ReadonlyArray<Dim>
          f = twice
            ? seq(copy([d0]), par(f, tanh(d0)), par(sumAll(cur), sumAll(d0)), add([]))
            : seq(f, sumAll(cur))
          const sizes = {
            n: 1 + ((seed >> 11) % 3),
            h: 5 + (seed % 4),
            w: 4 + ((seed >> 3) % 4),
            c: 1 + ((seed >> 5) % 3),
            p: 1 + ((seed >> 7) % 3),
            q: 1 + ((seed >> 9) % 2),
          }
          let params: Record<string, Float64Array>
          let xs: Float64Array[]
          try {
            params = randomParams(f, sizes, seed)
            xs = randomInputs(f.dom, sizes, seed)
            evaluate(f, sizes, xs, params)
          } catch (e) {
            if (e instanceof TermError) return // a convolution emptied by the sizes
            throw e
          }
          evaluated++
          const names = Object.keys(params)
          const g = grad(f, { inputs: [0], params: names })
          const other = { ...sizes, h: sizes.h + 1 }
          try {
            setMatmulKernel(kernels[seed % 3] as (typeof kernels)[number])
            evaluate(g, other, randomInputs(f.dom, other, seed), randomParams(f, other, seed))
          } catch (e) {
            if (!(e instanceof TermError)) throw e
          } finally {
            setMatmulKernel(kernels[(seed + 1) % 3] as (typeof kernels)[number])
          }
          let got: Float64Array[]
          try {
            got = evaluate(g, sizes, xs, params)
          } finally {
            setMatmulKernel(old)
          }
          const loss = (ys: Float64Array[], ps: Record<string, Float64Array>): number =>
            (evaluate(f, sizes, ys, ps)[0] as Float64Array)[0] as number
          const h = 1e-4
          const fd = (at: (t: number) => number): number =>
            (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h)
          const near = (v: number, d: number): boolean =>
            Math.abs(v - d) <= 1e-5 * (1 + Math.abs(d))
          const x = xs[0] as Float64Array
          x.forEach((v, k) => {
            if (k % 4 !== seed % 4) return
            const at = (t: number): number => {
              const y = x.slice()
              y[k] = v + t
              return loss([y], params)
            }
            expect(near((got[0] as Float64Array)[k] as number, fd(at))).toBe(true)
          })
          names.forEach((name, q) =>
            (params[name] as Float64Array).forEach((w, k) => {
              const at = (t: number): number => {
                const p = (params[name] as Float64Array).slice()
                p[k] = w + t
                return loss(xs, { ...params, [name]: p })
              }
              expect(near((got[1 + q] as Float64Array)[k] as number, fd(at))).toBe(true)
            }),
          )
        },
      ),
      { numRuns: 30, seed: 11 },
    )
    expect(evaluated).toBeGreaterThan(20)
  })
})

describe('hole (fixed): unaryFunction and mapUnary disagreed on relu(NaN) (a355acc)', () => {
  // mapUnary's doc says its entries are unaryFunction's bit for bit; relu(NaN) was NaN in
  // mapUnary (Math.max, as the evaluator always ran it) and 0 in unaryFunction. Every op at
  // every special value and factor, 2016 cases: that one was the only difference.
  it('every op, bit for bit, at -0, ±∞, NaN, subnormals and huge values', async () => {
    const { mapUnary, unaryFunction } = await import('../src/eval/kernels.js')
    const values = [
      0,
      -0,
      1,
      -1,
      Infinity,
      -Infinity,
      NaN,
      5e-324,
      -5e-324,
      2.2250738585072014e-308,
    ]
    values.push(1e308, -1e308, Number.MAX_VALUE, -Number.MAX_VALUE, 710, -710, 745, -745, 20, -20)
    values.push(3, -3, 1e-300, 0.5, -0.5, 40, -40, 1e-8)
    const ops = ['relu', 'scale', 'offset', 'exp', 'log', 'tanh', 'sqrt', 'reciprocal'] as const
    const src = Float64Array.from(values)
    const differ: string[] = []
    for (const op of [...ops, 'step', 'sigmoid', 'gelu', 'normcdf'] as const)
      for (const factor of [0, -0, 2, -1.5, Infinity, NaN]) {
        const got = mapUnary(src, op, factor, (n) => new Float64Array(n))
        const f = unaryFunction(op, factor)
        values.forEach((v, i) => {
          if (!Object.is(got[i], f(v))) differ.push(`${op}(${v}; ${factor}): ${got[i]} vs ${f(v)}`)
        })
      }
    expect(differ).toEqual([])
  })
})

describe('sound as it stands: the raw grad of small IdResNets, where the cuts are re-made (fb5e3e7)', () => {
  // In the conv stacks above recutPerReader finds no shared cut and residualSplit re-makes no
  // cut (checked with counters); IdResNet reaches both (one cut shared by two readers re-cut, 14
  // cuts made again by the backward of a broadcast body). Every fifth entry of the gradient with
  // respect to the input and every parameter against the fourth-order central difference. The raw
  // grad of a tiny U-Net (m = n = 1) misses one bias entry by 2x: a tie of zeros after relu in a
  // max pool, the same value bit for bit at 42013b4 (before fb5e3e7); the U-Net cases below
  // are drawn off ties (parameters shifted by 0.01), 686 entries in scratch runs: no miss.
  const cases = [
    [
      idResNet({ x: 'x', b: 'b', channels: 2, classes: 3, widths: [4, 8], units: 1 }),
      { x: 4, b: 2 },
    ],
    [
      idResNet({ x: 'x', b: 'b', channels: 1, classes: 2, widths: [4, 4, 8], units: 2 }),
      { x: 4, b: 1 },
    ],
  ] as const
  for (const [i, [net, sizes]] of cases.entries())
    it(`IdResNet ${i + 1}: every fifth entry of the gradient is a derivative`, () => {
      const l = sumLoss(net)
      const params = Object.fromEntries(
        Object.entries(randomParams(l, sizes, 3)).map(([k, v]) => [k, v.map((x) => x / 2)]),
      )
      const names = Object.keys(params)
      const xs = randomInputs(l.dom, sizes, 4)
      const got = evaluate(
        grad(l, { inputs: l.dom.map((_, j) => j), params: names }),
        sizes,
        xs,
        params,
      )
      const loss = (ys: Float64Array[], ps: Record<string, Float64Array>): number =>
        (evaluate(l, sizes, ys, ps)[0] as Float64Array)[0] as number
      const h = 1e-4
      const fd = (at: (t: number) => number): number =>
        (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h)
      const near = (v: number, d: number): boolean => Math.abs(v - d) <= 1e-5 * (1 + Math.abs(d))
      let checked = 0
      xs.forEach((x, s) =>
        x.forEach((v, k) => {
          if (k % 5 !== 0) return
          const at = (t: number): number => {
            const ys = xs.map((y) => y.slice())
            ;(ys[s] as Float64Array)[k] = v + t
            return loss(ys, params)
          }
          expect(near((got[s] as Float64Array)[k] as number, fd(at))).toBe(true)
          checked++
        }),
      )
      names.forEach((name, q) =>
        (params[name] as Float64Array).forEach((w, k) => {
          if (k % 5 !== 0) return
          const at = (t: number): number => {
            const p = (params[name] as Float64Array).slice()
            p[k] = w + t
            return loss(xs, { ...params, [name]: p })
          }
          expect(near((got[xs.length + q] as Float64Array)[k] as number, fd(at))).toBe(true)
          checked++
        }),
      )
      expect(checked).toBeGreaterThan(60)
    })
  it('U-Net: every third entry of the gradient is a derivative', () => {
    const net = unet({
      h: dimProduct(4, 'm'),
      w: dimProduct(4, 'n'),
      channels: ['c0', 'c1', 'c2', 'c3'],
      out: 'y',
    })
    const l = sumLoss(net)
    const runs = [
      [6, { m: 2, n: 1, c0: 2, c1: 2, c2: 3, c3: 2, y: 1 }],
      [7, { m: 1, n: 2, c0: 1, c1: 3, c2: 2, c3: 2, y: 2 }],
    ] as const
    let checked = 0
    for (const [seed, sizes] of runs) {
      const params = Object.fromEntries(
        Object.entries(randomParams(l, sizes, seed)).map(([k, v]) => [
          k,
          v.map((x) => x / 2 + 0.01),
        ]),
      )
      const names = Object.keys(params)
      const xs = randomInputs(l.dom, sizes, seed + 1)
      const got = evaluate(grad(l, { inputs: [0], params: names }), sizes, xs, params)
      const loss = (ys: Float64Array[], ps: Record<string, Float64Array>): number =>
        (evaluate(l, sizes, ys, ps)[0] as Float64Array)[0] as number
      const near = (v: number, at: (t: number) => number): boolean =>
        [1e-4, 1e-6].some((h) => {
          const d = (at(h) - at(-h)) / (2 * h)
          return Math.abs(v - d) <= 1e-4 * (1 + Math.abs(d))
        })
      const x = xs[0] as Float64Array
      x.forEach((v, k) => {
        if (k % 3 !== 0) return
        const at = (t: number): number => {
          const y = x.slice()
          y[k] = v + t
          return loss([y], params)
        }
        expect(near((got[0] as Float64Array)[k] as number, at)).toBe(true)
        checked++
      })
      names.forEach((name, q) =>
        (params[name] as Float64Array).forEach((w, k) => {
          if (k % 3 !== 0) return
          const at = (t: number): number => {
            const p = (params[name] as Float64Array).slice()
            p[k] = w + t
            return loss(xs, { ...params, [name]: p })
          }
          expect(near((got[1 + q] as Float64Array)[k] as number, at)).toBe(true)
          checked++
        }),
      )
    }
    expect(checked).toBeGreaterThan(400)
  })
})

// ---------------------------------------------------------------------------------------------
// adversary3: the e-graph's proofs mutated, ?m of transpose/unit-broadcast-shape a derivative, and
// near misses on a square type where the wrong axis type-checks.

/** Differs at sizes 1, 2 and two mixed records (every dim of either side), NaN-safe. */
const differsAtSizes = (a: Term, b: Term): boolean => {
  const names = new Set<string>()
  const walk = (t: unknown): void => {
    if (typeof t !== 'object' || t === null) return
    const r = t as Record<string, unknown>
    if (r.kind === 'var' && typeof r.name === 'string') names.add(r.name)
    for (const [k, v] of Object.entries(r)) if (k !== 'poly') walk(v)
  }
  walk(a)
  walk(b)
  return [1, 2, 3, 4].some((s) => {
    const sizes = Object.fromEntries(
      [...names].map((n, i) => [n, s <= 2 ? s : 1 + (i % 3) + s - 3]),
    )
    let x: Float64Array[]
    let y: Float64Array[]
    try {
      const inputs = randomInputs(a.dom, sizes, 11 + s)
      const params = { ...randomParams(a, sizes, 7), ...randomParams(b, sizes, 7) }
      x = evaluate(a, sizes, inputs, params, { generatorSeed: 5 })
      y = evaluate(b, sizes, inputs, params, { generatorSeed: 5 })
    } catch {
      return false
    }
    return (
      x.length !== y.length ||
      x.some((l, o) =>
        [...l].some(
          (p, j) => !(Math.abs(p - (y[o]?.[j] ?? NaN)) <= 1e-6 * Math.max(1, Math.abs(p))),
        ),
      )
    )
  })
}

describe('refused or sound as it stands: mutations of the proofs equivalent finds (adversary3)', () => {
  // Soaked as written: the 24 theorems of proofs/theorems.ts proved by equivalent (e-graph
  // explanations after the loop-cutting and batched rewrites), 283 mutations (sides swapped,
  // steps reversed without their directions, each step dropped, flipped, its bindings emptied,
  // its location shifted by one, neighbours exchanged): 7 accepted, none changes a value.
  it('every mutated proof that checkProof accepts relates terms that evaluate alike', () => {
    const bad: string[] = []
    let tried = 0
    for (const t of theorems.slice(0, 12)) {
      const p0 = t.proof()
      const r = equivalent(p0.lhs, p0.rhs, { limits: { timeMs: 8000 } })
      if (r.kind !== 'proof') throw new Error(`${t.slug}: ${r.kind}`)
      const p = r.proof
      expect(differsAtSizes(p.lhs, p.rhs)).toBe(false)
      const at = (i: number, f: (s: (typeof p.steps)[number]) => (typeof p.steps)[number]) => ({
        ...p,
        steps: p.steps.map((u, j) => (j === i ? f(u) : u)),
      })
      const muts = [
        { ...p, lhs: p.rhs, rhs: p.lhs },
        { ...p, lhs: p.rhs, rhs: p.lhs, steps: [...p.steps].reverse() },
        ...p.steps.flatMap((s, i) => {
          const { path, range } = s.location
          const locs = [
            ...(range === undefined
              ? []
              : [-1, 1].flatMap((d) => [
                  { path, range: [range[0] + d, range[1]] as [number, number] },
                  { path, range: [range[0], range[1] + d] as [number, number] },
                ])),
            ...(path.length === 0
              ? [{ path: [0] }]
              : [-1, 1].map((d) => ({
                  path: [...path.slice(0, -1), (path[path.length - 1] as number) + d],
                }))),
          ]
          const swapped = [...p.steps]
          if (i + 1 < p.steps.length) [swapped[i], swapped[i + 1]] = [swapped[i + 1] as typeof s, s]
          return [
            { ...p, steps: p.steps.filter((_, j) => j !== i) },
            at(i, (u) => ({ ...u, direction: u.direction === 'forward' ? 'backward' : 'forward' })),
            at(i, (u) => ({ ...u, bindings: new Map() })),
            ...locs.map((location) => at(i, (u) => ({ ...u, location }))),
            ...(i + 1 < p.steps.length ? [{ ...p, steps: swapped }] : []),
          ]
        }),
      ]
      for (const m of muts) {
        tried++
        if (E.isRight(checkProof(m, laws)) && differsAtSizes(m.lhs, m.rhs)) bad.push(t.slug)
      }
    }
    expect(tried).toBeGreaterThan(100)
    expect(bad).toEqual([])
  })
})

describe('refused or sound as it stands: transpose/unit-broadcast-shape with ?m a derivative', () => {
  // ?m = the tangent output of D(f) for f(k, x): linear in the tangent dx only when f's value
  // does not depend on k (else J_k dk is an offset), and in the point x only when D f is
  // bilinear (x ⊙ x). With the point moved last the law must look at x, not at D's tangents.
  const shape = law('transpose/unit-broadcast-shape')
  const sizes = [
    { a: 1, b: 1, k: 1 },
    { a: 2, b: 3, k: 2 },
    { a: 3, b: 1, k: 4 },
  ]
  const sumAB = einsum('i j -> ', { dims: { i: 'a', j: 'b' } })
  const fs: Record<string, readonly [Term, boolean, boolean]> = {
    'tanh k, tanh x': [
      seq(par(tanh(['k']), tanh(['a', 'b'])), einsum('k, i j -> ', { dims: { i: 'a', j: 'b' } })),
      false,
      false,
    ],
    'tanh x': [seq(par(drop([['k']]), tanh(['a', 'b'])), sumAB), true, false],
    'tanh k weights x': [
      seq(par(tanh(['k']), id([['a', 'b']])), einsum('k, i j -> ', { dims: { i: 'a', j: 'b' } })),
      false,
      false,
    ],
    'x ⊙ x': [seq(par(drop([['k']]), copy([['a', 'b']])), mul(['a', 'b']), sumAB), true, true],
  }
  for (const [name, [f, tangentLinear, pointLinear]] of Object.entries(fs))
    it(name, () => {
      const m = seq(derivative(f), par(drop([[]]), id([[]])))
      // (k, dx, dk, x) -> (k, x, dk, dx): the point x is the last input.
      const pointLast = seq(
        par(id([['k']]), swap([['a', 'b']], [['k'], ['a', 'b']])),
        par(id([['k']]), swap([['k']], [['a', 'b']]), id([['a', 'b']])),
        m,
      )
      for (const [mm, linear] of [
        [m, tangentLinear],
        [pointLast, pointLinear],
      ] as const) {
        const lhs = onShapeUnit(mm)
        const out = applyAt(shape, lhs, { path: [] })
        expect(E.isRight(out)).toBe(linear)
        if (E.isRight(out)) expect(gapAt(lhs, out.right.term, sizes)).toBeLessThan(1e-12)
        else expect(out.left.reason).toBe('condition')
      }
    })
})

describe('refused or sound as it stands: near misses on a square type (adversary3)', () => {
  const rows = broadcast(softmax('a'), ['a'])
  const cols = broadcast(softmax('a'), ['a'], { at: 'last' })
  const tr = einsum('i j -> j i', { dims: { i: 'a', j: 'a' } })
  const unitIn = (o: string) =>
    seq(
      par(id([['a', 'a', 'a', 'a']]), einsum(` -> ${o}`, { dims: { p: 'a', q: 'a' } })),
      einsum('i j k l, i j k l -> ', { dims: { i: 'a', j: 'a', k: 'a', l: 'a' } }),
    )
  const cases: Record<string, readonly [Term, Term, 'proof' | 'counterexample']> = {
    'softmax over rows is not over columns of [a a]': [rows, cols, 'counterexample'],
    'nor their derivatives': [derivative(rows), derivative(cols), 'counterexample'],
    'the unit -> p q q p is not -> p q p q': [
      unitIn('p q q p'),
      unitIn('p q p q'),
      'counterexample',
    ],
    'but it is -> q p p q': [unitIn('p q q p'), unitIn('q p p q'), 'proof'],
    'a broadcast transpose is not the identity': [
      broadcast(tr, ['b']),
      id([['b', 'a', 'a']]),
      'counterexample',
    ],
    'D(tanh ; transpose) = D(transpose ; tanh)': [
      derivative(seq(broadcast(tanh('a'), ['a']), tr)),
      derivative(seq(tr, broadcast(tanh('a'), ['a']))),
      'proof',
    ],
  }
  for (const [name, [a, b, kind]] of Object.entries(cases))
    it(name, () => {
      const r = equivalent(a, b)
      expect(r.kind).toBe(kind)
      expect(differsAtSizes(a, b)).toBe(kind === 'counterexample')
      if (r.kind === 'proof') expect(E.isRight(checkProof(r.proof, laws))).toBe(true)
    })
})

describe('a proof step without bindings (built in plain JavaScript)', () => {
  it('is refused with a reason naming the step when it does not apply, not thrown', () => {
    const step = { rule: 'category/id-left', direction: 'forward', location: { path: [] } }
    const proof = { lhs: relu('k'), rhs: relu('k'), steps: [step] } as unknown as Proof
    const r = checkProof(proof, lawCatalogue())
    expect(E.isLeft(r)).toBe(true)
    if (E.isLeft(r)) expect(r.left.reason).toMatch(/^category\/id-left → at \/: /)
  })
})

// adversary4: the evaluator's dead steps (f000091), fused element-wise runs and flattened
// element-wise broadcasts (2769cdb), against the evaluation as written (evaluateAsWritten).

/** `bcast[a_D @1](… bcast[a_1 @1](bcast[a_0](tanh)))`: a nest the inner placements keep apart. */
const tanhNest = (
  depth: number,
): { term: Term; sizes: Record<string, number>; entries: number } => {
  let term: Term = broadcast(tanh([]), ['n0'])
  for (let k = 1; k <= depth; k++) term = broadcast(term, [`n${k}`], { at: 1 })
  const sizes = Object.fromEntries(Array.from({ length: depth + 1 }, (_, k) => [`n${k}`, 2]))
  return { term, sizes, entries: 2 ** (depth + 1) }
}

describe('hole (fixed): evaluateAsWritten ran element-wise broadcasts flattened (adversary4)', () => {
  // 2769cdb compiled a broadcast of a scalar op as the op on whole tensors in both programs, so
  // the evaluation "as written" skipped the entry and exit copies of a nest placed at 1 while the
  // cost model, which it is documented to match exactly, counted them (18 entries modelled, 6
  // allocated), and the reference of the optimised evaluation ran the optimisation under test.
  const allocations = countAllocations

  it('the cost model counts the allocations of the evaluation as written, evaluate makes fewer', () => {
    const t = broadcast(broadcast(add([]), ['a']), ['b'], { at: 1 })
    const sizes = { a: 3, b: 2 }
    const x = randomInputs(t.dom, sizes, 1)
    const written = allocations(() => evaluateAsWritten(t, sizes, x))
    expect(written).toBe(cost(t, sizes).allocated)
    expect(allocations(() => evaluate(t, sizes, x))).toBeLessThan(written)
    const nest = tanhNest(2)
    const y = randomInputs(nest.term.dom, nest.sizes, 2)
    expect(allocations(() => evaluateAsWritten(nest.term, nest.sizes, y))).toBe(
      cost(nest.term, nest.sizes).allocated,
    )
  })
})

describe('hole (fixed): a flattened broadcast skipped the totalMemoryCap prediction (adversary4)', () => {
  // The prediction (src/cost's peak) is made only when the entries every step holds add up to
  // more than a quarter of the cap. The flattened nest counted its output once where the steps as
  // written count it once per level, so at 8 levels and a cap of 8x the tensor, under the peak the
  // model predicts (10x), evaluate accepted what the evaluator before 2769cdb refused.
  it('a nest of 9 broadcasts is refused at a cap under its predicted peak, as written or not', () => {
    const { term, sizes, entries } = tanhNest(8)
    const peak = cost(term, sizes).peakMemory
    expect(peak).toBeGreaterThan(8 * entries)
    const x = randomInputs(term.dom, sizes, 1)
    const verdict = (f: typeof evaluate, cap: number): string => {
      try {
        f(term, sizes, x, {}, { totalMemoryCap: cap })
        return 'ok'
      } catch (e) {
        return e instanceof TermError ? e.code : String(e)
      }
    }
    for (const f of [
      evaluate,
      evaluateAsWritten,
      (...a: Parameters<typeof evaluate>) => evaluateWatched(...a).outputs,
    ]) {
      expect(verdict(f, 8 * entries)).toBe('memory-cap')
      expect(verdict(f, peak)).toBe('ok')
    }
  })
})

/** The outcome of one evaluation: its outputs, or the code of its refusal. */
type Outcome = { readonly outputs: Float64Array[]; readonly nonFinite?: boolean } | string
const outcome = (
  f: () => Float64Array[] | { outputs: Float64Array[]; nonFinite: boolean },
): Outcome => {
  try {
    const r = f()
    return Array.isArray(r) ? { outputs: r } : r
  } catch (e) {
    return e instanceof TermError ? e.code : `thrown: ${String(e)}`
  }
}

/** Where two outcomes differ (entries compared with Object.is), or undefined. */
const differs = (a: Outcome, b: Outcome): string | undefined => {
  if (typeof a === 'string' || typeof b === 'string')
    return a === b
      ? undefined
      : `${typeof a === 'string' ? a : 'values'} vs ${typeof b === 'string' ? b : 'values'}`
  if (a.outputs.length !== b.outputs.length) return 'output count'
  for (let i = 0; i < a.outputs.length; i++) {
    const x = a.outputs[i] as Float64Array
    const y = b.outputs[i] as Float64Array
    if (x.length !== y.length) return `output ${i} length`
    for (let j = 0; j < x.length; j++)
      if (!Object.is(x[j], y[j])) return `output ${i} entry ${j}: ${x[j]} vs ${y[j]}`
  }
  if (a.nonFinite !== undefined && b.nonFinite !== undefined && a.nonFinite !== b.nonFinite)
    return `nonFinite ${a.nonFinite} vs ${b.nonFinite}`
  return undefined
}

const SPECIALS = [
  0,
  -0,
  Infinity,
  -Infinity,
  NaN,
  1e308,
  -1e308,
  5e-324,
  -5e-324,
  1e-310,
  700,
  -700,
  1,
  -1,
]

/** About every third entry replaced by an IEEE special, deterministically from `seed`. */
const withSpecials = (x: Float64Array, seed: number): Float64Array => {
  const r = seededRandom(seed)
  return Float64Array.from(x, (v) =>
    r() < 0.35 ? (SPECIALS[Math.floor(r() * SPECIALS.length)] as number) : v,
  )
}

/**
 * evaluate, evaluateWatched, the evaluation as written and its watched form on one case: the
 * same entries bit for bit, the same refusal, and the two watches see the same non-finite values.
 */
const agreeAsWritten = (
  term: Term,
  sizes: Record<string, number>,
  inputs: ReadonlyArray<Float64Array>,
  params: Readonly<Record<string, Float64Array>>,
  options: Parameters<typeof evaluate>[4] = {},
): string | undefined => {
  const written = outcome(() => evaluateWatched(term, sizes, inputs, params, options, true))
  const against: Array<[string, Outcome]> = [
    ['evaluate', outcome(() => evaluate(term, sizes, inputs, params, options))],
    ['evaluateAsWritten', outcome(() => evaluateAsWritten(term, sizes, inputs, params, options))],
    ['evaluateWatched', outcome(() => evaluateWatched(term, sizes, inputs, params, options))],
  ]
  for (const [name, o] of against) {
    const d = differs(o, written)
    if (d !== undefined) return `${name}: ${d}\n${showTyped(term)}\n${JSON.stringify(sizes)}`
  }
  return undefined
}

describe('sound as it stands: evaluate against the evaluation as written on random terms (adversary4)', () => {
  // Soaked in scratch against the evaluator of 6c5f000 (before fusion and flattening: its
  // evaluateWatched runs every step): 2000 random terms (depth 3 to 5, with and without
  // generators, numericSafe or not) x (drawn inputs, a third IEEE specials) x caps (none, 8,
  // 40 entries), 2300 nests of flattened broadcasts and 4 paper models' gradients at two tiny
  // sizes: no entry, refusal or watch differed.
  it('the same entries, refusals and watches, with and without generators, IEEE specials', () => {
    let compared = 0
    let dead = 0
    let fused = 0
    for (const generators of [true, false])
      for (const numericSafe of [true, false]) {
        const cases = fc.sample(
          termWithSizesArb({ depth: 4, generators, numericSafe, maxSize: 3 }),
          { numRuns: 40, seed: 4000 + (generators ? 1 : 0) + (numericSafe ? 2 : 0) },
        )
        cases.forEach((c, k) => {
          const steps = compiledSteps(c.term)
          dead += steps.filter((s) => !s.live).length
          fused += steps.filter((s) => s.kind === 'fused').length
          const special = c.inputs.map((x, i) => withSpecials(x, 31 * k + i))
          const params = Object.fromEntries(
            Object.entries(c.params).map(([n, x], i) => [n, withSpecials(x, 97 * k + i)]),
          )
          for (const [inputs, ps] of [
            [c.inputs, c.params],
            [special, params],
          ] as const)
            for (const options of [{}, { memoryCap: 8 }, { memoryCap: 40 }]) {
              expect(agreeAsWritten(c.term, c.sizes, inputs, ps, options)).toBeUndefined()
              compared++
            }
        })
      }
    expect(compared).toBe(4 * 40 * 6)
    // The draws reach what is under test.
    expect(dead).toBeGreaterThan(10)
    expect(fused).toBeGreaterThan(10)
  })
})

describe('sound as it stands: nests of element-wise broadcasts with mixed placements (adversary4)', () => {
  const S = [['a', 'c']] as const
  /** One scalar op on [a c] in one of three nests (flat, inner c at 0, inner a with c at 1). */
  const T = einsum('a c -> c a')
  /**
   * One scalar op on [a c] in one of five nests: flat, inner c at 0, inner a with c at 1, then
   * (not flattened) every input transposed to [c a] with the output at 1, and for a binary op
   * only the first input transposed (inputs at 0 and 1, the output at 1).
   */
  const nested = (f: Term, k: number): Term => {
    if (k === 0) return broadcast(f, ['a', 'c'])
    if (k === 1) return broadcast(broadcast(f, ['c']), ['a'])
    if (k === 2) return broadcast(broadcast(f, ['a']), ['c'], { at: 1 })
    const inner = broadcast(f, ['a'])
    if (k === 4 && f.dom.length === 2)
      return seq(par(T, id(S)), broadcast(inner, ['c'], { inputs: [0, 1], outputs: [1] }))
    return seq(
      par(...f.dom.map(() => T)),
      broadcast(inner, ['c'], { inputs: f.dom.map(() => 0), outputs: [1] }),
    )
  }
  const pick = (k: 0 | 1): Term => (k === 0 ? par(id(S), drop(S)) : par(drop(S), id(S)))
  const form = fc.integer({ min: 0, max: 4 })
  const tree: fc.Memo<Term> = fc.memo((n) =>
    n <= 1
      ? fc.constantFrom(pick(0), pick(1))
      : fc.oneof(
          { weight: 1, arbitrary: fc.constantFrom(pick(0), pick(1)) },
          {
            weight: 3,
            arbitrary: fc
              .tuple(tree(n - 1), fc.constantFrom(...UNARY_OPS), form)
              .map(([t, op, k]) => seq(t, nested(unary(op, []), k))),
          },
          {
            weight: 1,
            arbitrary: fc
              .tuple(tree(n - 1), fc.constantFrom(-1, 0.5, -0), form)
              .map(([t, f, k]) => seq(t, nested(scale(f, []), k))),
          },
          {
            weight: 1,
            arbitrary: fc
              .tuple(tree(n - 1), form)
              .map(([t, k]) => seq(t, nested(offset(0.25, []), k))),
          },
          {
            weight: 1,
            arbitrary: fc
              .tuple(tree(n - 1), fc.constantFrom('a', 'b', 'c'), form)
              .map(([t, d, k]) => seq(t, nested(scaleBySize(d, -1, []), k))),
          },
          {
            weight: 4,
            arbitrary: fc
              .tuple(tree(n - 1), tree(n - 1), fc.boolean(), form)
              .map(([l, r, isAdd, k]) =>
                seq(copy([...S, ...S]), par(l, r), nested(isAdd ? add([]) : mul([]), k)),
              ),
          },
        ),
  )
  /** Two inputs to one or two outputs: two trees, a tree and an input passed on, swapped. */
  const body = fc
    .tuple(tree(4), tree(4), fc.integer({ min: 0, max: 3 }))
    .map(([l, r, k]) =>
      k === 0
        ? seq(copy([...S, ...S]), par(l, r))
        : k === 1
          ? l
          : k === 2
            ? seq(copy([...S, ...S]), par(l, r), swap(S, S))
            : seq(copy([...S, ...S]), par(l, id([...S, ...S])), par(id(S), drop(S), id(S))),
    )
  /** Broadcasts around `t`, each input shared or placed anywhere, each output anywhere. */
  const wrap = (t: Term, levels: number): fc.Arbitrary<Term> =>
    levels === 0
      ? fc.constant(t)
      : fc
          .tuple(
            fc.constantFrom(['a'], ['b'], ['c'], ['b', 'a']),
            fc.array(fc.oneof(fc.constant('shared' as const), fc.nat(3)), {
              minLength: t.dom.length,
              maxLength: t.dom.length,
            }),
            fc.array(fc.nat(3), { minLength: t.cod.length, maxLength: t.cod.length }),
          )
          .chain(([axes, ins, outs]) => {
            const inputs = ins.map((p, i) =>
              p === 'shared' ? p : Math.min(p, (t.dom[i] as Dim[]).length),
            )
            const outputs = outs.map((p, i) => Math.min(p, (t.cod[i] as Dim[]).length))
            return wrap(broadcast(t, axes, { inputs, outputs }), levels - 1)
          })
  /** Then one output dropped, or a derivative taken. */
  const caseArb = fc
    .tuple(body, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 3 }))
    .chain(([b, levels, tail]) =>
      wrap(b, levels).map((t) => {
        const keep = (j: number) => par(...t.cod.map((s, i) => (i === j ? id([s]) : drop([s]))))
        if (tail === 1) return seq(t, keep(0))
        if (tail === 2) return seq(t, keep(t.cod.length - 1))
        return tail === 3 ? derivative(t) : t
      }),
    )

  it('flattened and fused as evaluate runs them, bit for bit the broadcasts as written', () => {
    let flat = 0
    let fusedRuns = 0
    const cases = fc.sample(caseArb, { numRuns: 200, seed: 4004 })
    cases.forEach((t, k) => {
      const steps = compiledSteps(t)
      flat += steps.filter((s) => s.kind === 'elementwise').length
      fusedRuns += steps.filter((s) => s.kind === 'fused').length
      for (const sizes of [
        { a: 2, b: 3, c: 1 },
        { a: 1, b: 2, c: 2 },
        { a: 2, b: 1, c: 3 },
      ])
        for (let v = 0; v < 2; v++) {
          const inputs = randomInputs(t.dom, sizes, k + v).map((x, i) =>
            v === 0 ? x : withSpecials(x, 7 * k + i),
          )
          expect(agreeAsWritten(t, sizes, inputs, {})).toBeUndefined()
        }
    })
    expect(flat).toBeGreaterThan(200)
    expect(fusedRuns).toBeGreaterThan(100)
  })
})

describe('sound as it stands: the gradients of the paper models at tiny sizes (adversary4)', () => {
  const models: ReadonlyArray<[string, () => Term, Record<string, number>]> = [
    [
      'IdResNet',
      () => idResNet({ x: 'x', b: 'b', channels: 2, classes: 3, widths: [4, 4, 8, 4], units: 1 }),
      { x: 1, b: 2 },
    ],
    [
      'U-Net',
      () =>
        unet({
          h: dimProduct(4, 'm'),
          w: dimProduct(4, 'n'),
          channels: ['c0', 'c1', 'c2', 'c3'],
          out: 'y',
        }),
      { m: 1, n: 1, c0: 1, c1: 2, c2: 2, c3: 2, y: 2 },
    ],
    [
      'ViT',
      () =>
        visionTransformer({
          gh: 'a',
          gw: 'b',
          p: 2,
          c: 2,
          m: 'm',
          k: 'k',
          h: 'h',
          f: 'f',
          classes: 3,
          layers: 2,
        }),
      { a: 1, b: 2, m: 4, k: 2, h: 2, f: 3 },
    ],
    [
      'transformer',
      () =>
        transformer({
          x: 'x',
          y: 'y',
          vs: 'vs',
          vt: 'vt',
          m: 'm',
          k: 'k',
          h: 'h',
          f: 'f',
          layers: 1,
        }),
      { x: 2, y: 3, vs: 3, vt: 2, m: 4, k: 2, h: 2, f: 3 },
    ],
  ]
  for (const [name, build, sizes] of models)
    it(`${name}: grad bit for bit as written, drawn inputs and IEEE specials`, () => {
      const loss = weightedSumLoss(build())
      const g = grad(loss, { params: Object.keys(randomParams(loss, sizes, 1)) })
      const steps = compiledSteps(g)
      expect(steps.some((s) => s.kind === 'fused')).toBe(true)
      expect(steps.some((s) => !s.live)).toBe(true)
      const inputs = randomInputs(g.dom, sizes, 3)
      // The transformer's mask input (its third) as bench/paper-models.ts gives it.
      if (name === 'transformer') inputs[2] = causalMask(sizes['y'] as number)
      const params = randomParams(g, sizes, 4)
      expect(agreeAsWritten(g, sizes, inputs, params)).toBeUndefined()
      const special = Object.fromEntries(
        Object.entries(params).map(([n, x], i) => [n, withSpecials(x, 11 + i)]),
      )
      expect(
        agreeAsWritten(
          g,
          sizes,
          inputs.map((x, i) => withSpecials(x, 5 + i)),
          special,
        ),
      ).toBeUndefined()
    })
})

describe('refused or sound as it stands: what a dead step no longer does (adversary4)', () => {
  const A = [['a']] as const
  // x -> (G x, tanh x) -> tanh x: G's value is dropped.
  const G = generator('G', A, A)
  const dead = seq(copy(A), par(G, tanh('a')), par(drop(A), id(A)))
  const x = [0.5, -1, 2]

  it('a dropped generator is not called: what its implementation throws or returns wrongly is not seen', () => {
    // Accepted: an implementation is a function of its inputs (EvalOptions.generators), the
    // term's value is its outputs, and none reads G's; the evaluator as written and the watched
    // one (which equivalent uses) still call it and still refuse.
    const throwing = {
      generators: {
        G: (): never => {
          throw new Error('G: bad input')
        },
      },
    }
    const short = { generators: { G: () => [new Float64Array(1)] } }
    const tanhX = Float64Array.from(x, Math.tanh)
    for (const options of [throwing, short]) {
      expect(evaluate(dead, { a: 3 }, [x], {}, options)[0]).toEqual(tanhX)
      expect(outcome(() => evaluateAsWritten(dead, { a: 3 }, [x], {}, options))).not.toEqual(
        expect.objectContaining({ outputs: expect.anything() }),
      )
      expect(typeof outcome(() => evaluateWatched(dead, { a: 3 }, [x], {}, options))).toBe('string')
    }
    // A derived form without its implementation is refused before any work, dead or not.
    const dTangent = seq(
      copy([['a'], ['a']]),
      par(derivative(G), derivative(G)),
      par(drop(A), id(A), drop([['a'], ['a']])),
    )
    const noTangent = {
      generators: { G: (xs: ReadonlyArray<Float64Array>) => [xs[0] as Float64Array] },
    }
    expect(outcome(() => evaluate(dTangent, { a: 3 }, [x, x], {}, noTangent))).toBe('bad-input')
  })

  it('a parameter, an index and a size read only by a dead step are still checked', () => {
    const withParam = seq(
      copy(A),
      par(seq(par(id(A), param('W', ['a'])), add(['a'])), id(A)),
      par(drop(A), id(A)),
    )
    expect(compiledSteps(withParam).some((s) => s.kind === 'param' && !s.live)).toBe(true)
    for (const f of [evaluate, evaluateAsWritten]) {
      expect(outcome(() => f(withParam, { a: 3 }, [x]))).toBe('bad-input')
      expect(outcome(() => f(withParam, { a: 3 }, [x], { W: [1, 2] }))).toBe('bad-input')
      expect(outcome(() => f(withParam, { a: 3 }, [x], { W: [1, 2, 3] }))).toEqual({
        outputs: [Float64Array.from(x)],
      })
    }
    const deadIndex = seq(copy(A), par(index('a', 5), id(A)), par(drop([[]]), id(A)))
    const deadSize = seq(copy(A), par(scaleBySize('q', 1, ['a']), id(A)), par(drop(A), id(A)))
    for (const f of [evaluate, evaluateAsWritten]) {
      expect(outcome(() => f(deadIndex, { a: 3 }, [x]))).toBe('bad-index')
      expect(outcome(() => f(deadIndex, { a: 6 }, [[...x, ...x]]))).toEqual({
        outputs: [Float64Array.from([...x, ...x])],
      })
      expect(outcome(() => f(deadSize, { a: 3 }, [x]))).toBe('unbound-dim')
    }
  })
})

describe("hole (fixed): a generator's inputs materialised over the cap were refused only when run (adversary4)", () => {
  // A generator inside a broadcast gets every input materialised along the levels any of them
  // varies along (runGenerator): G([a] shared, [] varying) over b holds a b entries of its first
  // input. The precheck counted G's outputs only, so the copy was refused while running (after
  // the work before it), and not at all when G's value is dropped: evaluate accepted what
  // evaluateAsWritten and evaluateWatched refused.
  const G = generator('G', [['a'], []], [[]])
  const B = broadcast(G, ['b'], { inputs: ['shared', 0] })
  const dead = seq(
    par(id([['a']]), copy([['b']])),
    par(B, tanh('b')),
    par(drop([['b']]), id([['b']])),
  )
  const sizes = { a: 8, b: 8 }

  it('is refused before any work, live or dropped, by every evaluation', () => {
    const calls = { n: 0 }
    const generators = {
      G: () => {
        calls.n++
        return [new Float64Array(1)]
      },
    }
    for (const t of [B, dead]) {
      const x = randomInputs(t.dom, sizes, 1)
      for (const f of [evaluate, evaluateAsWritten]) {
        expect(outcome(() => f(t, sizes, x, {}, { memoryCap: 16, generators }))).toBe('memory-cap')
        expect(outcome(() => evaluateWatched(t, sizes, x, {}, { memoryCap: 16, generators }))).toBe(
          'memory-cap',
        )
      }
      // At a cap that holds the copy, all run.
      expect(typeof outcome(() => evaluate(t, sizes, x, {}, { memoryCap: 64, generators }))).toBe(
        'object',
      )
    }
    // Refused before G ran once (at cap 64 it ran for the live term: 8 rows).
    expect(calls.n).toBe(8)
  })
})

describe('sound as it stands: derivatives of random scalar terms, evaluated as written (adversary4)', () => {
  // The derivatives are where dead steps (the primal a branch recomputes) and long element-wise
  // runs come from. Soaked in scratch: 10800 grads, vjps and forward gradients of 2700 random
  // terms (with and without generators), 86000 evaluations: no difference.
  it('grad, grad by parameters, vjp and forwardGradient: the same entries, refusals and watches', () => {
    let derived = 0
    let dead = 0
    let fused = 0
    for (const generators of [false, true]) {
      const cases = fc.sample(
        termWithSizesArb({ depth: 4, cod: [[]], generators, smooth: false, maxSize: 3 }),
        { numRuns: 40, seed: 4100 + (generators ? 1 : 0) },
      )
      cases.forEach((c, k) => {
        const makers = [
          () => grad(c.term),
          () => grad(c.term, { params: Object.keys(c.params) }),
          () => vjp(c.term),
          () => forwardGradient(c.term),
        ]
        for (const make of makers) {
          let t: Term
          try {
            t = make()
          } catch {
            continue // a term grad refuses (a generator without a derivative, say)
          }
          derived++
          const steps = compiledSteps(t)
          dead += steps.filter((s) => !s.live).length
          fused += steps.filter((s) => s.kind === 'fused').length
          const inputs = randomInputs(t.dom, c.sizes, k)
          const params = randomParams(t, c.sizes, k + 7)
          expect(agreeAsWritten(t, c.sizes, inputs, params)).toBeUndefined()
          const special = Object.fromEntries(
            Object.entries(params).map(([n, x], i) => [n, withSpecials(x, 3 * k + i)]),
          )
          expect(
            agreeAsWritten(
              t,
              c.sizes,
              inputs.map((x, i) => withSpecials(x, 5 * k + i)),
              special,
            ),
          ).toBeUndefined()
        }
      })
    }
    expect(derived).toBeGreaterThan(200)
    expect(dead).toBeGreaterThan(50)
    expect(fused).toBeGreaterThan(50)
  })
})

// ---------------------------------------------------------------------------------------------
// adversary5: the kernel after the normal form moved to src/derive, the new derivative rules
// (layerNorm's and softmax's tangents, fuseLinear, transpose's bare), the evaluator's fusion
// and dead-step skipping, and fdlibm's erf/erfc (2^-48 in error-bound.ts).

/** v, Φ(v), v Φ(v), Φ(v/4), (v/4) Φ(v/4), gelu'(v) = Φ(v) + v φ(v): mpmath at 50 digits. */
const PHI_FIXTURE: ReadonlyArray<readonly number[]> = [
  [
    -38.25, 2.0796826933904511046e-320, -7.9547863022184754749e-319, 5.7472945424883824557e-22,
    -5.4958504062545157233e-21, -3.0427029273482908978e-317,
  ],
  [
    -37.5, 4.6053530095819548438e-308, -1.7270073785932330664e-306, 3.4587884872335800397e-21,
    -3.2426142067814812872e-20, -6.476271143055812623e-305,
  ],
  [
    -30, 4.9067139271481870595e-198, -1.4720141781444561179e-196, 3.1908916729108962278e-14,
    -2.3931687546831721708e-13, -4.4160316907084943701e-195,
  ],
  [
    -29.17, 2.3296342112387017471e-187, -6.7955429941832933937e-186, 1.5212778411350565128e-13,
    -1.1093918656477400268e-12, -1.9822544475373675218e-184,
  ],
  [
    -25.2, 2.002831519558009421e-140, -5.0471354292861835987e-139, 1.4882282217623126669e-10,
    -9.375837797102569537e-10, -1.2718718695405630944e-137,
  ],
  [
    -20, 2.7536241186062336951e-89, -5.5072482372124673902e-88, 2.8665157187919391167e-7,
    -1.4332578593959695584e-6, -1.1014360483133464042e-86,
  ],
  [
    -12.5, 3.7325642988777133772e-36, -4.6657053735971417215e-35, 0.00088902529910843205933,
    -0.0027782040597138501854, -5.8316685544801553657e-34,
  ],
  [
    -8.3, 5.2055697448902540246e-17, -4.3206228882589112103e-16, 0.018993267385738534359,
    -0.039411029825407462169, -3.5847050340238439302e-15,
  ],
  [
    -3, 0.0013498980316300945267, -0.00404969409489028358, 0.22662735237686819933,
    -0.1699705142826511495, -0.011945647204183927,
  ],
  [
    -0.75, 0.22662735237686819933, -0.1699705142826511495, 0.42563431184410280688,
    -0.07980643347076927629, 0.00077427826076489562831,
  ],
  [-1e-300, 0.5, -5.0000000000000001253e-301, 0.5, -1.2500000000000000313e-301, 0.5],
  [
    0.5, 0.69146246127401310364, 0.34573123063700655182, 0.54973822483011289298,
    0.068717278103764111622, 0.86749512465616284253,
  ],
  [
    2.5, 0.99379033467422386483, 2.4844758366855596621, 0.73401447095129946769,
    0.45875904434456216731, 1.0376110859081452082,
  ],
  [
    8.5, 0.99999999999999999052, 8.4999999999999999194, 0.98320669355155118741,
    2.0893142237970462732, 1.0000000000000006847,
  ],
  [27, 1.0, 27.0, 0.99999999999260774222, 6.74999999995010226, 1.0],
  [10000000000.0, 1.0, 10000000000.0, 1.0, 2500000000.0, 1.0],
]

describe('lost refutation (fixed): the absolute erf allowance hid every difference in the tails of normcdf (adversary5)', () => {
  // Φ(v) ~ 1e-89 at v = -20, but its rounding was bounded by 2^-49 + 4u whatever Φ was: scaled by
  // 1e100 the two sides below differ by a factor 2 (2.7e11 against 5.5e11), and both bounds were
  // 4.4e85, so equivalent answered unknown. Φ's relative error is now bounded too (twice the
  // (2κ + 8) u that test/erf.test.ts checks), the smaller of the two bounds kept.
  it('1e100 Φ(x - 20) = 2e100 Φ(x - 20) is refuted', () => {
    const side = (c: number) => seq(offset(-20, ['k']), normcdf(['k']), scale(c, ['k']))
    const r = equivalent(side(1e100), side(2e100), { limits: false })
    expect(r.kind).toBe('counterexample')
  })
  it('still bounds Φ, gelu and the tangents of D(gelu), D(normcdf) at the extremes (mpmath)', () => {
    const vs = PHI_FIXTURE.map((r) => r[0] as number)
    const sizes = { k: vs.length }
    const x = Float64Array.from(vs)
    const ones = new Float64Array(vs.length).fill(1)
    const cases: Array<[string, Term, Float64Array[], number, number]> = [
      ['normcdf', normcdf(['k']), [x], 0, 1],
      ['gelu', gelu(['k']), [x], 0, 2],
      ['normcdf of v/4', seq(scale(0.25, ['k']), normcdf(['k'])), [x], 0, 3],
      ['gelu of v/4', seq(scale(0.25, ['k']), gelu(['k'])), [x], 0, 4],
      ["D(gelu)'s tangent", derivative(gelu(['k'])), [x, ones], 1, 5],
    ]
    const over: string[] = []
    let tight = 0
    for (const [name, t, inputs, out, col] of cases) {
      const r = evaluateWithErrorBounds(t, sizes, inputs)
      vs.forEach((v, i) => {
        const y = r.outputs[out]?.[i] as number
        const b = r.bounds[out]?.[i] as number
        const want = PHI_FIXTURE[i]?.[col] as number
        // The fixture's own rounding to float64: half an ulp.
        if (!(Math.abs(y - want) <= b + Number.EPSILON * Math.abs(want) + 2 ** -1074))
          over.push(`${name} at ${v}: ${y}, exact ${want}, bound ${b}`)
        // Relative where Φ is tiny (below 1e-20), no longer the absolute 2^-49: none before.
        if (Math.abs(want) > 1e-300 && Math.abs(want) < 1e-20 && b < 1e-9 * Math.abs(want)) tight++
      })
    }
    expect(over).toEqual([])
    expect(tight).toBeGreaterThan(15)
  })
})

describe('sound as it stands: derivatives of layerNorm, softmax, gelu and normcdf nets against their normal forms (adversary5)', () => {
  const weighted = (f: Term): Term =>
    seq(f, par(id(f.cod), param('R', f.cod[0] as never)), einsum('x m, x m -> ', { dims: {} }))
  const perToken = (f: Term) => broadcast(f, ['x'])
  const S = ['x', 'm']
  const both = (f: Term, g: Term) => seq(copy([S] as never), par(f, g), mul(S))
  const nets: Array<[string, Term]> = [
    ['layerNorm ε = 0', perToken(layerNorm('m', { epsilon: 0 }))],
    ['layerNorm ε = 0.5', perToken(layerNorm('m', { epsilon: 0.5 }))],
    ['softmax', perToken(softmax('m'))],
    ['gelu ⊙ layerNorm ε = 0', both(gelu(S), perToken(layerNorm('m', { epsilon: 0 })))],
    ['normcdf ⊙ softmax', both(normcdf(S), perToken(softmax('m')))],
  ]
  // grad (vjp with fuseLinear, the seed 1 dropped, transpose's bare) and forwardGradient (jvp
  // only) are equal over the reals, and so is each with its normal form, and D(f) with its. Inputs
  // at magnitudes 1e-320 to 1e300 entry by entry, sizes 1 and 2 included: no pair may differ
  // beyond its two bounds where every value is real (2163 checks of 11 nets in scratch, none).
  it('grad = forwardGradient, each = its normal form, D(f) = its normal form, within the bounds', () => {
    const exps = [0, 0, 2, -2, 16, -16, 150, -150, 300, -300, -310, -320]
    const found: string[] = []
    let checked = 0
    for (const [name, f] of nets) {
      const w = weighted(f)
      const pairs: Array<[string, Term, Term]> = [
        ['D(f)', derivative(f), normalize(derivative(f))],
        ['grad / forwardGradient', grad(w), forwardGradient(w)],
        ['grad', grad(w), normalize(grad(w))],
      ]
      for (const [pn, a, b] of pairs)
        for (const sizes of [
          { x: 1, m: 1 },
          { x: 1, m: 2 },
          { x: 2, m: 3 },
        ])
          for (let t = 0; t < 6; t++) {
            const next = seededRandom(97 * checked + t + 7)
            const pick = () => exps[Math.floor(next() * exps.length)] as number
            const e = pick()
            const inputs = randomInputs(a.dom, sizes, t).map((v) =>
              v.map((z) => z * 10 ** (t % 2 === 1 ? pick() : e)),
            )
            const params = randomParams(par(a, b), sizes, t)
            const x = evaluateWatched(a, sizes, inputs, params)
            const y = evaluateWatched(b, sizes, inputs, params)
            if (x.nonFinite || y.nonFinite) continue
            checked++
            const bx = roundingBounds(a, sizes, inputs, params, {}, x.outputs)
            const by = roundingBounds(b, sizes, inputs, params, {}, y.outputs)
            x.outputs.forEach((xo, i) =>
              xo.forEach((p, j) => {
                const q = y.outputs[i]?.[j] as number
                const bound = ((bx[i]?.[j] as number) + (by[i]?.[j] as number)) * (1 + 2 ** -50)
                if (p !== q && !(Math.abs(p - q) <= bound))
                  found.push(`${name} ${pn} ${JSON.stringify(sizes)}: ${p} vs ${q}, bound ${bound}`)
              }),
            )
          }
    }
    expect(checked).toBeGreaterThan(150)
    expect(found.slice(0, 5)).toEqual([])
  })
  it('equivalent never refutes grad = forwardGradient or grad = normalize(grad), default sizes and 1, 2', () => {
    const kinds: string[] = []
    for (const [, f] of nets.slice(0, 4)) {
      const w = weighted(f)
      const g = grad(w)
      for (const [a, b] of [
        [g, forwardGradient(w)],
        [g, normalize(g)],
      ] as const)
        for (const sizes of [undefined, { x: 1, m: 1 }, { x: 1, m: 2 }])
          kinds.push(
            equivalent(a, b, {
              limits: false,
              trials: 6,
              ...(sizes === undefined ? {} : { sizes }),
            }).kind,
          )
    }
    expect(kinds.length).toBe(24)
    expect(kinds.filter((k) => k === 'counterexample' || k === 'different-types')).toEqual([])
  })
  it('optimize of their gradients: proofs checkProof replays, results within the bounds', () => {
    const catalogue = lawCatalogue()
    for (const [name, f] of [nets[0], nets[4]] as Array<[string, Term]>) {
      const t = grad(weighted(f))
      const r = optimize(t, {
        cost: 'flops',
        sizes: { x: 3, m: 4 },
        limits: { timeMs: 400, nodes: 3000 },
      })
      expect(E.isRight(checkProof(r.proof, catalogue)), name).toBe(true)
      expect(r.score.after).toBeLessThanOrEqual(r.score.before)
      for (const sizes of [
        { x: 1, m: 1 },
        { x: 2, m: 3 },
      ])
        for (const c of [1, 1e-150, 1e150]) {
          const inputs = randomInputs(t.dom, sizes, 3).map((v) => v.map((z) => z * c))
          const params = randomParams(par(t, r.term), sizes, 4)
          const x = evaluateWatched(t, sizes, inputs, params)
          const y = evaluateWatched(r.term, sizes, inputs, params)
          if (x.nonFinite || y.nonFinite) continue
          const bx = roundingBounds(t, sizes, inputs, params, {}, x.outputs)
          const by = roundingBounds(r.term, sizes, inputs, params, {}, y.outputs)
          x.outputs.forEach((o, i) =>
            o.forEach((p, j) => {
              const q = y.outputs[i]?.[j] as number
              const bound = ((bx[i]?.[j] as number) + (by[i]?.[j] as number)) * (1 + 2 ** -50)
              expect(p === q || Math.abs(p - q) <= bound, `${name} ${JSON.stringify(sizes)}`).toBe(
                true,
              )
            }),
          )
        }
    }
  })
})

describe('refused or sound as it stands: whole-proof mutations of every proof in proofs/json and proofs/theorems.ts (adversary5)', () => {
  // Sides swapped, steps reversed (and flipped), each step dropped, flipped, stripped of its
  // bindings, swapped with the next, its window moved by one, its path moved: checkProof must
  // refuse each, or equivalent must not refute what it accepts (they never disagree). Measured:
  // 682 mutations of the 27 documents (36 accepted) and 332 of the theorems (35 accepted).
  const flip = (s: Proof['steps'][number]) => ({
    ...s,
    direction: s.direction === 'forward' ? ('backward' as const) : ('forward' as const),
  })
  const mutations = (p: Proof): Array<[string, Proof]> => {
    const out: Array<[string, Proof]> = [
      ['sides swapped', { ...p, lhs: p.rhs, rhs: p.lhs }],
      ['steps reversed', { ...p, steps: [...p.steps].reverse() }],
      [
        'sides swapped, steps reversed and flipped',
        { ...p, lhs: p.rhs, rhs: p.lhs, steps: [...p.steps].reverse().map(flip) },
      ],
    ]
    const at = (i: number, f: (s: Proof['steps'][number]) => Proof['steps'][number]): Proof => ({
      ...p,
      steps: p.steps.map((t, j) => (j === i ? f(t) : t)),
    })
    p.steps.forEach((s, i) => {
      out.push([`step ${i} dropped`, { ...p, steps: p.steps.filter((_, j) => j !== i) }])
      out.push([`step ${i} flipped`, at(i, flip)])
      out.push([`step ${i} without bindings`, at(i, (t) => ({ ...t, bindings: new Map() }))])
      if (i + 1 < p.steps.length)
        out.push([
          `steps ${i}, ${i + 1} swapped`,
          {
            ...p,
            steps: p.steps.map(
              (t, j) => (j === i ? p.steps[i + 1] : j === i + 1 ? p.steps[i] : t) as typeof t,
            ),
          },
        ])
      const r = s.location.range
      if (r !== undefined)
        for (const [a, b] of [
          [r[0] - 1, r[1]],
          [r[0] + 1, r[1]],
          [r[0], r[1] + 1],
          [r[0], r[1] - 1],
        ] as const)
          out.push([
            `step ${i} at ${a}..${b}`,
            at(i, (t) => ({ ...t, location: { ...t.location, range: [a, b] } })),
          ])
      const path = s.location.path
      if (path.length > 0) {
        out.push([
          `step ${i} one level up`,
          at(i, (t) => ({ ...t, location: { path: path.slice(0, -1) } })),
        ])
        out.push([
          `step ${i} at the next child`,
          at(i, (t) => ({
            ...t,
            location: {
              ...t.location,
              path: [...path.slice(0, -1), (path[path.length - 1] as number) + 1],
            },
          })),
        ])
      }
    })
    return out
  }
  const proofs = (): Array<[string, Proof]> => [
    ...readdirSync('proofs/json')
      .filter((f) => f.endsWith('.proof.json'))
      .map((f): [string, Proof] => {
        const read = proofFromJson(readFileSync(`proofs/json/${f}`, 'utf8'))
        if (E.isLeft(read)) throw new Error(f)
        return [f, read.right]
      }),
    ...theorems.map((t): [string, Proof] => [t.slug, t.proof()]),
  ]
  it('no accepted mutation is refuted by equivalent', () => {
    const catalogue = lawCatalogue()
    const disagree: string[] = []
    let tried = 0
    let accepted = 0
    for (const [file, p] of proofs())
      for (const [name, m] of mutations(p)) {
        tried++
        if (E.isLeft(checkProof(m, catalogue))) continue
        accepted++
        const q = equivalent(m.lhs, m.rhs, { limits: false, trials: 6 })
        if (q.kind === 'counterexample' || q.kind === 'different-types')
          disagree.push(`${file}: ${name}`)
      }
    expect(tried).toBeGreaterThan(900)
    expect(accepted).toBeGreaterThan(30)
    expect(disagree).toEqual([])
  })
})
