import { describe, expect, it } from 'vitest'
import {
  P,
  type Pattern,
  type Sizes,
  type Term,
  broadcast,
  einsum,
  exp,
  gelu,
  index,
  mlp,
  relu,
  rewriteAt,
  rewriteRepeat,
  rule,
  seq,
  show,
  sigmoid,
  tanh,
  typed,
  v,
} from '../src/index.js'
import { broadcastMerge, broadcastSeq } from '../src/rewrite/rules/broadcast.js'
import {
  elementwiseFusion,
  elementwiseIndex,
  elementwisePad,
  elementwiseRules,
} from '../src/rewrite/rules/elementwise.js'
import fc from 'fast-check'
import { type LawOptions, checkLaw, refuteLaw } from '../src/testing/laws.js'
import { elementwisePermuteArb, elementwiseViewArb } from './moves.js'
import { agree as agreeAt } from '../test/support.js'

/** Cases per law and direction: 200 in CI, more on demand (`LAW_RUNS=5000 npm run laws`). */
const numRuns = Number(process.env.LAW_RUNS ?? 200)

/** σ(0) = 0 holds for 3 of the 5 scalar primitives drawn: twice the runs keep 200 real cases. */
const runsOf = (name: string): number => (name === elementwisePad.name ? 2 * numRuns : numRuns)

/** Instances the pattern walk cannot draw: views between shapes of one size, permutations. */
const drawn: Record<string, LawOptions> = {
  'elementwise/view': {
    instances: { forward: elementwiseViewArb('forward'), backward: elementwiseViewArb('backward') },
  },
  'elementwise/permute': {
    instances: {
      forward: elementwisePermuteArb('forward'),
      backward: elementwisePermuteArb('backward'),
    },
  },
}

describe('element-wise laws hold', () => {
  for (const r of elementwiseRules)
    it(`${r.name} (${r.source})`, () => checkLaw(r, { numRuns: runsOf(r.name), ...drawn[r.name] }))
})

describe('an element-wise map does not commute with an einsum that sums', () => {
  it('exp then a sum is not a sum then exp (elementwise/permute without its condition)', () => {
    const e = v.as(
      'e',
      P.node({ kind: 'einsum', inputs: v.value('I'), output: v.value('O'), dims: v.value('D') }),
    )
    const wrong = rule(
      'wrong/elementwise-any-einsum',
      P.seq(over(f, [v.segment('dom', 'e', 0)]), e),
      P.seq(e, over(f, [v.segment('cod', 'e', 0)])),
      { when: [typed('f', [[]], [[]])] },
    )
    const sums = fc
      .constantFrom('a b -> a', 'a b -> b', 'a b -> b a')
      .chain((spec) => fc.constantFrom(exp, tanh).map((op) => seq(op(['a', 'b']), einsum(spec))))
    refutedNumerically(refuteLaw(wrong, 'forward', { ...coarse, instances: { forward: sums } }))
  })
})

const f = v.term('f')
const S = v.shape('S')
const a = v.dim('a')
const over = (s: Pattern, shape: Parameters<typeof P.broadcast>[1]): Pattern =>
  P.broadcast(s, shape, [0], [0])

/** Refute at a coarse tolerance: the counterexample shrinks to a difference no rounding explains. */
const coarse = { tolerance: 0.01 }

/** A refutation must be a numeric difference, not a rule that fails to apply. */
const refutedNumerically = (counterexample: string): void => {
  expect(counterexample).toContain('before:')
  expect(counterexample).toContain('after:')
  expect(counterexample).toMatch(/problem: output \d+ differs at entry \d+/)
}

describe('plausible false element-wise laws are refuted, with a readable counterexample', () => {
  it('fusion in the wrong order: relu then exp is not exp then relu', () => {
    const wrong = rule(
      'wrong/fusion-order',
      P.seq(over(P.scalar('relu'), S), over(P.scalar('exp'), S)),
      over(P.seq(P.scalar('exp'), P.scalar('relu')), S),
    )
    const counterexample = refuteLaw(wrong, 'forward', coarse)
    refutedNumerically(counterexample)
    expect(counterexample).toMatch(/before: relu\[.*\] ; exp\[/)
    expect(counterexample).toMatch(/after: {2}bcast\[.*\]\(exp ; relu\)/)
  })

  it('padding commutes only with maps that keep 0: exp pads with ones', () => {
    const sigma = P.scalar(v.value('op'), v.value('k'))
    const padding = v.as(
      'pad',
      P.node({ kind: 'pad', axis: a, before: v.value('before'), after: v.value('after') }),
    )
    const wrong = rule(
      'wrong/elementwise-pad-any',
      P.seq(over(sigma, [a]), padding),
      P.seq(padding, over(sigma, [v.segment('cod', 'pad', 0)])),
    )
    const counterexample = refuteLaw(wrong, 'forward', coarse)
    refutedNumerically(counterexample)
    expect(counterexample).toMatch(/before: (exp|sigmoid|normcdf)\[/)
  })

  it('an element-wise map does not commute with a reduction', () => {
    const mean = P.node({ kind: 'axisOp', op: 'mean', axis: a, epsilon: 0 })
    const wrong = rule('wrong/elementwise-mean', P.seq(over(f, [a]), mean), P.seq(mean, f), {
      when: [typed('f', [[]], [[]])],
    })
    refutedNumerically(refuteLaw(wrong, 'forward', coarse))
  })
})

const sizes: Sizes = { y: 3, k: 4, a: 3, b: 2, c: 2 }

/** Two terms agree on random inputs and parameters (at the sizes of this file). */
const agree = (s: Term, t: Term, at: Sizes = sizes): void => agreeAt(s, t, at)

describe('rewriting real terms', () => {
  it('relu then tanh on a table fuse into one element-wise map, and split back', () => {
    const t = seq(relu('y k'), tanh('y k'))
    const fused = rewriteAt(elementwiseFusion, { path: [] })(t)
    expect(show(fused.term)).toBe('bcast[y k](relu ; tanh)')
    agree(t, fused.term)
    expect(show(rewriteAt(elementwiseFusion, { path: [] }, 'backward')(fused.term).term)).toBe(
      show(t),
    )
  })

  it('a chain of element-wise maps fuses to one, a step per map', () => {
    const t = seq(relu('y k'), tanh('y k'), exp('y k'), sigmoid('y k'))
    const run = rewriteRepeat([elementwiseFusion])(t)
    expect(show(run.term)).toBe('bcast[y k](relu ; tanh ; exp ; sigmoid)')
    expect(run.steps).toHaveLength(3)
    expect(run.fixedPoint).toBe(true)
    agree(t, run.term)
  })

  it('maps over different shapes do not fuse', () => {
    const t = seq(relu('y k'), broadcast(gelu('k'), ['y']))
    expect(rewriteRepeat([elementwiseFusion])(t).steps).toHaveLength(0)
  })

  it('inside an MLP the activations sit between layers: nothing fuses', () => {
    // Inside an MLP the relus sit between layers: nothing to fuse, and the rule says why.
    const m = mlp({ input: 'k', hidden: ['a'], output: 'b' })
    const run = rewriteRepeat([elementwiseFusion])(m)
    expect(run.steps).toHaveLength(0)
    expect(run.report[0]?.tried).toBeGreaterThan(0)
  })

  it('an element-wise map commutes with taking a row (Fig. 11, 15)', () => {
    const t = seq(gelu('a c'), broadcast(index('a', 2), ['c'], { at: 'last' }))
    const r = rewriteAt(elementwiseIndex, { path: [] })(t)
    expect(show(r.term)).toBe('bcast[c @in(1) @out(0)](|2⟩_a) ; gelu[c]')
    agree(t, r.term)
  })

  it('an element-wise map inside a broadcast fuses with one over the whole shape', () => {
    // relu over [y k] is a broadcast over y of relu over [k] (broadcast/merge right to left).
    const t = seq(broadcast(tanh('k'), ['y']), relu('y k'))
    const split = rewriteAt(broadcastMerge, { path: [1] }, 'backward')(t).term
    const run = rewriteRepeat([broadcastSeq, elementwiseFusion])(split)
    expect(show(run.term)).toBe('bcast[y](bcast[k](tanh ; relu))')
    agree(t, run.term)
  })
})
