import { describe, expect, it } from 'vitest'
import {
  P,
  type Pattern,
  add,
  broadcast,
  dim,
  einsum,
  id,
  linearLayer,
  mean,
  par,
  relu,
  rule,
  seq,
  swap,
  typed,
  v,
  view,
} from '../src/index.js'
import { linearRules } from '../src/rewrite/rules/linear.js'
import fc from 'fast-check'
import { type LawOptions, checkLaw, refuteLaw } from '../src/testing/laws.js'
import { selfViewArb, viewPairArb } from './moves.js'

/** Cases per law and direction: 200 in CI, more on demand (`LAW_RUNS=5000 npm run laws`). */
const numRuns = Number(process.env.LAW_RUNS ?? 200)

/** Instances the pattern walk cannot draw: views between shapes of one size. */
const drawn: Record<string, LawOptions> = {
  'linear/view-fusion': { instances: { forward: viewPairArb } },
  'linear/view-identity': { instances: { forward: selfViewArb } },
}

describe('linear laws hold', () => {
  for (const r of linearRules)
    it(`${r.name} (${r.source})`, () => checkLaw(r, { numRuns, ...drawn[r.name] }))
})

describe('views: false neighbours are refuted', () => {
  it('a view then a different view back is not the identity when it moves entries', () => {
    // [a b] -> [b a] by a view is a reshape, not a transpose: view then transpose-as-view back
    // differs from the identity. Stated as "view(S -> T) ; view(T -> U) = view(U -> S) reversed":
    // here, merging then splitting in the other order is not a permutation of the entries.
    const wrong = rule(
      'wrong/view-is-transpose',
      P.view([v.dim('a'), v.dim('b')], [v.dim('b'), v.dim('a')]),
      P.node({
        kind: 'einsum',
        inputs: [['i', 'j']],
        output: ['j', 'i'],
        dims: { i: v.dim('a'), j: v.dim('b') },
      }),
    )
    const swapped = fc
      .constantFrom(['a', 'b'], ['b', 'c'], ['a', 'c'])
      .map(([x, y]) => view([x as string, y as string], [y as string, x as string]))
    refutedNumerically(
      refuteLaw(wrong, 'forward', { tolerance: 0.1, instances: { forward: swapped } }),
    )
  })
})

const f = v.term('f')
const g = v.term('g')
const bcast = (body: Pattern, axes: ReadonlyArray<Pattern>, at: number): Pattern =>
  P.node({ kind: 'broadcast', body, axes, inputs: [at], outputs: [at] })
const scaleBy = (axes: ReadonlyArray<Pattern>): Pattern =>
  P.node({
    kind: 'broadcast',
    body: P.scalar('scale', v.value('c')),
    axes,
    inputs: [0],
    outputs: [0],
  })
const addOver = (axes: ReadonlyArray<Pattern>): Pattern =>
  P.node({ kind: 'broadcast', body: P.scalar('add'), axes, inputs: [0, 0], outputs: [0] })

/** A refutation must be a numeric difference, not a rule that fails to apply. */
const refutedNumerically = (counterexample: string): void => {
  expect(counterexample).toContain('before:')
  expect(counterexample).toContain('after:')
  expect(counterexample).toMatch(/problem: output \d+ differs at entry \d+/)
}

describe('the same laws without linearity are false, with a readable counterexample', () => {
  it('naturality with broadcasting (Fig. 17) fails for nonlinear maps', () => {
    // linear/broadcast-commute without linear(f), linear(g).
    const wrong = rule(
      'wrong/broadcast-commute-nonlinear',
      P.seq(bcast(f, [v.segment('dom', 'g', 0)], 1), bcast(g, [v.segment('cod', 'f', 0)], 0)),
      P.seq(bcast(g, [v.segment('dom', 'f', 0)], 0), bcast(f, [v.segment('cod', 'g', 0)], 1)),
      {
        when: [
          typed('f', [[v.dim('a')]], [[v.dim('b')]]),
          typed('g', [[v.shape('C')]], [[v.shape('D')]]),
        ],
      },
    )
    const counterexample = refuteLaw(wrong, 'forward', { seed: 17, tolerance: 0.1 })
    refutedNumerically(counterexample)
    expect(counterexample).toContain('before: bcast[')
    expect(counterexample).toMatch(
      /relu|gelu|exp|tanh|sigmoid|step|normcdf|softmax|layerNorm|max|argmax|L\(/,
    )
  })

  it('naturality fails for relu with a mean on the other axis (hand example)', () => {
    // relu on each entry, then the mean of each row, versus the mean first.
    const rowMean = broadcast(mean('c'), ['a'])
    const wrong = rule(
      'wrong/relu-mean-commute',
      seq(relu(['a', 'c']), rowMean),
      seq(rowMean, relu(['a'])),
    )
    refutedNumerically(refuteLaw(wrong, 'forward', { tolerance: 0.1 }))
  })

  it('additivity (Fig. 16) fails for a nonlinear map', () => {
    const S = v.shape('S')
    const T = v.shape('T')
    const wrong = rule(
      'wrong/additivity-nonlinear',
      P.seq(addOver([v.segment('dom', 'f', 0)]), f),
      P.seq(P.par(f, f), addOver([v.segment('cod', 'f', 0)])),
      { when: [typed('f', [[S]], [[T]])] },
    )
    refutedNumerically(refuteLaw(wrong, 'forward', { seed: 16, tolerance: 0.1 }))
  })

  it('homogeneity (Fig. 16) fails for a biased linear layer (affine, not linear)', () => {
    const layer = linearLayer('W', 'a', 'b', { bias: true })
    const wrong = rule(
      'wrong/homogeneity-affine',
      P.seq(scaleBy([dim('a')]), layer),
      P.seq(layer, scaleBy([dim('b')])),
    )
    const counterexample = refuteLaw(wrong, 'forward', { seed: 1, tolerance: 0.1 })
    refutedNumerically(counterexample)
    expect(counterexample).toContain('L(W: a -> b, +)')
  })

  it('homogeneity fails for relu (λ < 0)', () => {
    const wrong = rule(
      'wrong/homogeneity-relu',
      P.seq(scaleBy([dim('a')]), relu(['a'])),
      P.seq(relu(['a']), scaleBy([dim('a')])),
    )
    const counterexample = refuteLaw(wrong, 'forward', { seed: 2, tolerance: 0.1 })
    refutedNumerically(counterexample)
    expect(counterexample).toMatch(/scale\(-/)
  })

  it('an inner product is multilinear, not linear (section 2.4.1)', () => {
    // u(x1 + x2, y1 + y2) = u(x1, y1) + u(x2, y2) is false.
    const inner = einsum('a, a -> ')
    const wrong = rule(
      'wrong/inner-product-additive',
      seq(par(add('a'), add('a')), inner),
      seq(par(id([['a']]), swap([['a']], [['a']]), id([['a']])), par(inner, inner), add()),
    )
    refutedNumerically(refuteLaw(wrong, 'forward', { tolerance: 0.1 }))
  })
})

describe('views regroup entries; they do not move axes (linear/view-one-cancel)', () => {
  it('a view from [a b] to [b a] is not the transpose', () => {
    const [a, b] = [v.shape('a'), v.shape('b')]
    const wrong = rule(
      'wrong/view-is-transpose',
      P.node({ kind: 'view', from: [a, b], to: [b, a] }),
      P.broadcast(P.id([[b]]), a, [0], [1]),
    )
    refutedNumerically(refuteLaw(wrong, 'forward', { seed: 3 }))
  })
})
