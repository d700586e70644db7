import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  P,
  type Rule,
  type Sizes,
  type Term,
  type Wire,
  add,
  applyAt,
  derivative,
  evaluate,
  generator,
  graph,
  mul,
  par,
  productRule,
  rule,
  scale,
  seq,
  show,
  showTyped,
  tanh,
  typed,
  unary,
  v,
} from '../src/index.js'
import { derivativeRules, overBroadcast } from '../src/rewrite/rules/derivative.js'
import { type LawOptions, checkLaw, instanceArb, refuteLaw } from '../src/testing/laws.js'
import { shapeExtents } from '../src/core/types.js'
import { sizesFit, termSizesArb } from '../src/testing/sizes.js'
import { paramsArb } from '../src/testing/tensors.js'

/** Cases per law and direction: 200 in CI, more on demand (`LAW_RUNS=5000 npm run laws`). */
const numRuns = Number(process.env.LAW_RUNS ?? 200)
/**
 * Inputs and parameters in multiples of 1/4 from -2 to 2: the default entries are uniform over the
 * float64 values of [-2, 2], nine in ten below 1e-10 in magnitude, where the comparison (relative
 * to max(1, |a|, |b|)) cannot tell much apart.
 */
const QUARTERS = { values: 'quarters' } as const
/** Cases per law against finite differences. */
const fdRuns = Math.max(50, Math.floor(numRuns / 2))

/** The backward instances of a two-way rule whose right side the generator cannot draw. */
const images = (r: Rule, options: LawOptions = {}): fc.Arbitrary<Term> =>
  instanceArb(r, 'forward', options).map((t) => {
    const out = applyAt(r, t, { path: [] })
    if (E.isLeft(out)) throw new Error(`${r.name}: ${out.left.message}`)
    return out.right.term
  })

/**
 * Sub-terms the product rule applies to: einsums (multilinear with several inputs, linear with
 * one) and scalar maps (mul; the others are skipped by the condition).
 */
const productTerms: LawOptions = { terms: { kinds: ['einsum', 'scalar'] } }

/** Options per law, for the contract. */
/** D(F) of nonlinear generators of random types (the term generator keeps them out of D). */
const generatorDerivatives: fc.Arbitrary<Term> = fc
  .record({
    dom: fc.constantFrom([['a']], [['a'], ['b']], [['a', 'b']], [[]]),
    cod: fc.constantFrom([['a']], [['c']], [['c'], []], [['b', 'a']]),
    name: fc.constantFrom('F', 'G', 'H'),
  })
  .map(({ dom, cod, name }) => derivative(generator(name, dom, cod)))

const contractOptions: Readonly<Record<string, LawOptions>> = {
  'derivative/product': productTerms,
  'derivative/generator': { instances: { forward: generatorDerivatives } },
  'derivative/broadcast': { instances: { backward: images(overBroadcast) } },
}

/**
 * The contract of derivative/layer-norm takes about 50 s on a shared machine (40 runs: 10.6 s at
 * load 19 on 2 cores), near vitest's 60 s default: this is a budget, not a timed assertion.
 */
const CONTRACT_TIMEOUT = 240_000

describe('derivative laws hold (the law contract: both sides evaluate equal)', () => {
  for (const r of derivativeRules)
    it(
      `${r.name} (${r.source})`,
      () => {
        checkLaw(r, { numRuns, tensors: QUARTERS, ...(contractOptions[r.name] ?? {}) })
      },
      CONTRACT_TIMEOUT,
    )
})

// ---------------------------------------------------------------------------------------------
// The independent oracle: central finite differences of the body.
//
// The evaluator evaluates D(f) by jvp(f), which is built by the same rules as the right sides,
// so the contract alone is partly a tautology. Here the right side of each law, evaluated at
// (x, dx), must give f(x) in its value outputs and (f(x + h dx) - f(x - h dx)) / 2h in its
// tangent outputs, f evaluated directly (no derivative involved).

/** The step of the central differences. */
const H = 1e-5
/** The tolerance: |tangent - fd| <= FD_TOLERANCE · (1 + |fd|). */
const FD_TOLERANCE = 1e-5
/** Value outputs are compared with f(x) at this relative tolerance. */
const VALUE_TOLERANCE = 1e-9

/**
 * Where the inputs are drawn. `signed`: distinct values in ±[0.025, 1.975] on a grid of 0.05, so at
 * least 0.025 from the kinks of relu and step and 0.05 between any two entries (no ties for max
 * and argmax; the finite differences move an entry by at most 2·10⁻⁵). `positive`: [0.25, 3],
 * the domain of log, sqrt and reciprocal.
 */
type Domain = 'signed' | 'positive'

const segmentArb = (n: number, domain: Domain): fc.Arbitrary<Float64Array> =>
  domain === 'positive'
    ? fc
        .array(fc.integer({ min: 5, max: 60 }), { minLength: n, maxLength: n })
        .map((ks) => Float64Array.from(ks, (k) => k / 20))
    : fc
        .uniqueArray(fc.integer({ min: -40, max: 39 }), { minLength: n, maxLength: n })
        .map((ks) => Float64Array.from(ks, (k) => k / 20 + 0.025))

interface FdCase {
  readonly rule: string
  readonly body: Term
  readonly after: Term
  readonly sizes: Sizes
  readonly x: ReadonlyArray<Float64Array>
  readonly dx: ReadonlyArray<Float64Array>
  readonly params: Readonly<Record<string, Float64Array>>
}

const showArray = (a: Float64Array): string =>
  `[${Array.from(a, (x) => +x.toPrecision(6)).join(', ')}]`

const showFdCase = (c: FdCase): string =>
  [
    `${c.rule} at sizes ${JSON.stringify(c.sizes)}`,
    `  body:   ${showTyped(c.body)}`,
    `  D(body) rewritten: ${show(c.after, { maxLength: 240 })}`,
    `  x:      ${c.x.map(showArray).join(' × ')}`,
    `  dx:     ${c.dx.map(showArray).join(' × ')}`,
  ].join('\n')

interface FdOptions {
  readonly domain?: Domain
  /** Options of the random sub-terms (smooth by default: no relu, step or max inside). */
  readonly law?: LawOptions
}

const fdCaseArb = (r: Rule, options: FdOptions): fc.Arbitrary<FdCase | 'skip'> => {
  const domain = options.domain ?? 'signed'
  const law = options.law ?? {}
  const instances =
    law.instances?.forward ??
    instanceArb(r, 'forward', {
      ...law,
      terms: { smooth: true, ...law.terms },
    })
  return instances.chain((before): fc.Arbitrary<FdCase | 'skip'> => {
    if (before.kind !== 'derivative') throw new Error(`${r.name}: ${show(before)} is not D(…)`)
    const applied = applyAt(r, before, { path: [] })
    if (E.isLeft(applied)) {
      if (applied.left.reason === 'condition') return fc.constant('skip')
      throw new Error(`${r.name}: ${applied.left.message}`)
    }
    const body = before.body
    const after = applied.right.term
    const both = par(before, after)
    return termSizesArb(both).chain((sizes) => {
      const segments = () =>
        fc.tuple(
          ...body.dom.map((s) =>
            segmentArb(
              shapeExtents(s, sizes).reduce((n, k) => n * k, 1),
              domain,
            ),
          ),
        )
      return fc
        .tuple(segments(), segments(), paramsArb(both, sizes, QUARTERS))
        .map(([x, dx, params]) => {
          const c: FdCase = { rule: r.name, body, after, sizes, x, dx, params }
          return Object.assign(c, {
            [fc.toStringMethod]: () => showFdCase(c),
            toString: () => showFdCase(c),
          })
        })
    })
  })
}

const shifted = (xs: ReadonlyArray<Float64Array>, ds: ReadonlyArray<Float64Array>, h: number) =>
  xs.map((x, i) => Float64Array.from(x, (v, j) => v + h * ((ds[i] as Float64Array)[j] as number)))

/** What is wrong with one case, or undefined when the rewritten D(body) matches the oracle. */
const fdProblem = (c: FdCase | 'skip'): string | undefined => {
  if (c === 'skip') return undefined
  if (!sizesFit(c.body, c.sizes) || !sizesFit(c.after, c.sizes)) return undefined
  const n = c.body.cod.length
  const got = evaluate(c.after, c.sizes, [...c.x, ...c.dx], c.params)
  const value = evaluate(c.body, c.sizes, c.x, c.params)
  const plus = evaluate(c.body, c.sizes, shifted(c.x, c.dx, H), c.params)
  const minus = evaluate(c.body, c.sizes, shifted(c.x, c.dx, -H), c.params)
  for (let i = 0; i < n; i++) {
    const y = got[i] as Float64Array
    const fx = value[i] as Float64Array
    for (let j = 0; j < fx.length; j++) {
      const [p, q] = [y[j] as number, fx[j] as number]
      if (!(Math.abs(p - q) <= VALUE_TOLERANCE * Math.max(1, Math.abs(q))))
        return `value output ${i} entry ${j}: ${p}, but f(x) = ${q}`
    }
    const t = got[n + i] as Float64Array
    const up = plus[i] as Float64Array
    const down = minus[i] as Float64Array
    for (let j = 0; j < t.length; j++) {
      const fd = ((up[j] as number) - (down[j] as number)) / (2 * H)
      const p = t[j] as number
      if (!(Math.abs(p - fd) <= FD_TOLERANCE * (1 + Math.abs(fd))))
        return `tangent output ${i} entry ${j}: ${p}, but finite differences give ${fd}`
    }
  }
  return undefined
}

const fdProperty = (r: Rule, options: FdOptions) =>
  fc.property(fdCaseArb(r, options), (c) => {
    const problem = fdProblem(c)
    if (problem !== undefined) throw new Error(problem)
  })

/** Check a derivative law against finite differences; throws with a printed counterexample. */
const checkFd = (r: Rule, options: FdOptions = {}): void =>
  fc.assert(fdProperty(r, options), { numRuns: fdRuns })

/** The printed counterexample of a wrong derivative law against finite differences. */
const refuteFd = (r: Rule, options: FdOptions = {}): string => {
  const result = fc.check(fdProperty(r, options), { numRuns: 300 })
  if (!result.failed) throw new Error(`${r.name} was not refuted by finite differences`)
  const error =
    result.errorInstance instanceof Error
      ? result.errorInstance.message
      : String(result.errorInstance)
  return `${String(result.counterexample?.[0])}\n  problem: ${error}`
}

/** The domain of each law's body, when not the signed default. */
const fdOptions: Readonly<Record<string, FdOptions>> = {
  'derivative/log': { domain: 'positive' },
  'derivative/sqrt': { domain: 'positive' },
  'derivative/reciprocal': { domain: 'positive' },
  'derivative/product': { law: productTerms },
  'derivative/generator': { law: { instances: { forward: generatorDerivatives } } },
}

describe('derivative laws agree with central finite differences (an oracle independent of jvp)', () => {
  for (const r of derivativeRules)
    it(`${r.name}: values f(x), tangents (f(x + h dx) - f(x - h dx)) / 2h`, () =>
      checkFd(r, fdOptions[r.name] ?? {}))

  it('the oracle tests real derivatives: its cases are not all skipped or trivial', () => {
    // The product rule is conditional: count the cases that apply to a multilinear term.
    const product = derivativeRules.find((r) => r.name === 'derivative/product') as Rule
    const cases = fc.sample(fdCaseArb(product, { law: productTerms }), { numRuns: 200, seed: 7 })
    const applied = cases.filter((c): c is FdCase => c !== 'skip')
    expect(applied.filter((c) => c.body.dom.length >= 2).length).toBeGreaterThan(20)
  })
})

// ---------------------------------------------------------------------------------------------
// Wrong laws are refuted with a readable counterexample.

const f = v.term('f')
const g = v.term('g')
const a = v.dim('a')

/** `(x, dx) ↦ (tanh x, dx + tanh²(x) dx)`: the sign of tanh' = 1 - tanh² flipped. */
const wrongTanh = graph([[], []], ([x, dx], apply) => {
  const one = (t: Term, ...ins: Wire[]): Wire => apply(t, ...ins)[0] as Wire
  const y = one(tanh(), x as Wire)
  const yy = one(mul(), y, y)
  return [y, one(add(), dx as Wire, one(mul(), yy, dx as Wire))]
})

/** `(x, y, dx, dy) ↦ (x y, dx · y)`: the product rule missing its second term. */
const halfProduct = graph([[], [], [], []], ([x, y, dx], apply) => {
  const one = (t: Term, ...ins: Wire[]): Wire => apply(t, ...ins)[0] as Wire
  return [one(mul(), x as Wire, y as Wire), one(mul(), dx as Wire, y as Wire)]
})

describe('wrong derivative laws are refuted, with a readable counterexample', () => {
  it("D(tanh) with tanh' = 1 + tanh² (by the contract and by finite differences)", () => {
    const wrong = rule('wrong/derivative-tanh-sign', P.derivative(P.scalar('tanh')), wrongTanh)
    const byContract = refuteLaw(wrong, 'forward', { tolerance: 0.01, tensors: QUARTERS })
    expect(byContract).toContain('before: D(tanh)')
    expect(byContract).toMatch(/problem: output 1 differs at entry 0/)
    const byFd = refuteFd(wrong)
    expect(byFd).toContain('body:   tanh : [] -> []')
    expect(byFd).toMatch(/problem: tangent output 0 entry 0: .* but finite differences give/)
  })

  it('the chain rule in the wrong order: D(f ; g) ≠ D(g) ; D(f)', () => {
    const wrong = rule(
      'wrong/chain-reversed',
      P.derivative(P.seq(f, g)),
      P.seq(P.derivative(g), P.derivative(f)),
      { when: [typed('f', [[a]], [[a]]), typed('g', [[a]], [[a]])] },
    )
    const counterexample = refuteLaw(wrong, 'forward', { tolerance: 0.1, tensors: QUARTERS })
    expect(counterexample).toContain('before: D(')
    expect(counterexample).toMatch(/problem: output \d+ differs at entry \d+/)
  })

  it('the product rule missing a term: D(x y) ≠ (x y, dx · y)', () => {
    const wrong = rule('wrong/product-half', P.derivative(P.scalar('mul')), halfProduct)
    const counterexample = refuteFd(wrong)
    expect(counterexample).toMatch(/problem: tangent output 0 entry 0/)
  })

  it('a nonlinear generator is not its own derivative: D(F) ≠ F ⊗ F', () => {
    const wrong = rule(
      'wrong/generator-own-derivative',
      P.derivative(v.term('f')),
      P.par(v.term('f'), v.term('f')),
      {
        when: [typed('f', v.type('A'), v.type('B'))],
      },
    )
    expect(refuteFd(wrong, { law: { instances: { forward: generatorDerivatives } } })).toMatch(
      /tangent output \d+/,
    )
  })

  it('the product rule does not apply to a map linear in two inputs jointly (add)', () => {
    // Why derivative/product asks for multilinearity proper: Σ_i add(x with dx_i) = dx + y + x + dy.
    const wrong = rule('wrong/product-rule-add', P.derivative(P.scalar('add')), productRule(add()))
    const counterexample = refuteLaw(wrong, 'forward', { tolerance: 0.1, tensors: QUARTERS })
    expect(counterexample).toMatch(/problem: output 1 differs at entry 0/)
    expect(refuteFd(wrong)).toMatch(/tangent output 0/)
  })

  it('D(f) = f ⊗ f is false for a nonlinear f', () => {
    const wrong = rule('wrong/derivative-nonlinear-self', P.derivative(f), P.par(f, f), {
      when: [typed('f', [[a]], [[a]])],
    })
    const counterexample = refuteLaw(wrong, 'forward', { tolerance: 0.1, tensors: QUARTERS })
    expect(counterexample).toMatch(/problem: output \d+ differs/)
  })
})

describe('the derivative laws rewrite terms as jvp expands them', () => {
  it('D(tanh ; scale) splits by the chain rule, and its parts expand by their own laws', () => {
    const t = derivative(seq(tanh(), scale(2)))
    const chainRule = derivativeRules[0] as Rule
    const split = applyAt(chainRule, t, { path: [] })
    expect(E.isRight(split) && show(split.right.term)).toBe('D(tanh) ; D(scale(2))')
    const back = E.isRight(split)
      ? applyAt(chainRule, split.right.term, { path: [] }, 'backward')
      : undefined
    expect(back !== undefined && E.isRight(back) && show(back.right.term)).toBe(show(t))
  })

  it('D(tanh[k]) pushes D into the broadcast, doubling the placements', () => {
    const t = derivative(unary('tanh', ['k']))
    const out = applyAt(overBroadcast, t, { path: [] })
    expect(E.isRight(out) && showTyped(out.right.term)).toBe(
      'bcast[k](D(tanh)) : [k] × [k] -> [k] × [k]',
    )
  })
})
