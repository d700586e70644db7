import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  P,
  type Sizes,
  type Term,
  applyAt,
  broadcast,
  children,
  conv1d,
  einsum,
  findMatches,
  index,
  linearLayer,
  multiHeadAttention,
  relu,
  rewriteAt,
  rewriteRepeat,
  rule,
  seq,
  show,
  softmax,
  subtermAt,
  typed,
  v,
} from '../src/index.js'
import {
  broadcastIndexAfter,
  broadcastIndexCommute,
  broadcastInnerOuterSecond,
  broadcastMerge,
  broadcastPar,
  broadcastRules,
  broadcastSeq,
  broadcastSeqSplit,
} from '../src/rewrite/rules/broadcast.js'
import fc from 'fast-check'
import { checkLaw, refuteLaw } from '../src/testing/laws.js'
import { conjugatedBroadcastArb } from './moves.js'
import { agree as agreeAt } from '../test/support.js'

/** Cases per law and direction: 200 in CI, more on demand (`LAW_RUNS=5000 npm run laws`). */
const numRuns = Number(process.env.LAW_RUNS ?? 200)

describe('broadcast laws hold', () => {
  for (const r of broadcastRules)
    it(`${r.name} (${r.source})`, () =>
      checkLaw(
        r,
        r.name === 'broadcast/move-axes'
          ? { numRuns, instances: { forward: conjugatedBroadcastArb() } }
          : { numRuns },
      ))
})

describe('the broadcast axes moved to the wrong position are refuted', () => {
  it('transpose ; softmax over rows is not softmax over columns (no transpose back)', () => {
    const wrong = rule(
      'wrong/softmax-columns-without-transpose',
      P.seq(
        P.node({
          kind: 'einsum',
          inputs: [['i', 'j']],
          output: ['j', 'i'],
          dims: { i: v.dim('a'), j: v.dim('a') },
        }),
        P.broadcast(P.axisOp('softmax', v.dim('a')), [v.dim('a')], [0], [0]),
      ),
      P.broadcast(P.axisOp('softmax', v.dim('a')), [v.dim('a')], [1], [1]),
    )
    const square = fc
      .constantFrom('a', 'b')
      .map((x) => seq(einsum('i j -> j i', { dims: { i: x, j: x } }), broadcast(softmax(x), [x])))
    const c = refuteLaw(wrong, 'forward', { tolerance: 0.01, instances: { forward: square } })
    expect(c).toMatch(/problem: output \d+ differs at entry \d+/)
  })
})

const f = v.term('f')
const g = v.term('g')
const A = v.shape('A')

/** Refute at a coarse tolerance: the counterexample shrinks to a difference no rounding explains. */
const coarse = { tolerance: 0.01 }

/** A refutation must be a numeric difference, not a rule that fails to apply. */
const refutedNumerically = (counterexample: string): void => {
  expect(counterexample).toContain('before: bcast[')
  expect(counterexample).toContain('after:')
  expect(counterexample).toMatch(/problem: output \d+ differs at entry \d+/)
}

describe('plausible false broadcast laws are refuted, with a readable counterexample', () => {
  it('a broadcast axis on the wrong side: rows are not columns', () => {
    // f : [A] -> [A] broadcast over A itself, so both sides have the type [A A] -> [A A].
    const last = (which: 'dom' | 'cod') =>
      v.build(`the end of the ${which} of ?f`, (b) => [
        ((b.get('f')?.value as Term)[which][0] ?? []).length,
      ])
    const wrong = rule(
      'wrong/broadcast-side',
      P.broadcast(f, A, [0], [0]),
      P.broadcast(f, A, last('dom'), last('cod')),
      { oneWay: true, when: [typed('f', [[A]], [[A]])] },
    )
    refutedNumerically(refuteLaw(wrong, 'forward', coarse))
  })

  it('the same, for the softmax of Fig. 12: over rows is not over columns', () => {
    const a = v.dim('a')
    const sm = P.node({ kind: 'axisOp', op: 'softmax', axis: a, epsilon: 0 })
    const wrong = rule(
      'wrong/softmax-side',
      P.broadcast(sm, [a], [0], [0]),
      P.broadcast(sm, [a], [1], [1]),
    )
    const counterexample = refuteLaw(wrong, 'forward', coarse)
    refutedNumerically(counterexample)
    expect(counterexample).toContain('softmax(')
  })

  it('nested broadcasts do not merge when the outer one reads its axes elsewhere', () => {
    // Sound with equal placements (broadcast/merge); here the outer broadcast takes its axes
    // after the inner's, but writes them before: a transpose, not a merge.
    const wrong = rule(
      'wrong/broadcast-merge-misplaced',
      P.broadcast(P.broadcast(f, A, [0], [0]), A, [1], [0]),
      P.broadcast(f, [A, A], [0], [0]),
      { when: [typed('f', [[v.shape('S')]], [[v.shape('T')]])] },
    )
    refutedNumerically(refuteLaw(wrong, 'forward', coarse))
  })

  it('functoriality needs the second broadcast to take the axes where the first put them', () => {
    // f : [S] -> [A]: after bcast(f, A, [0], [0]) the segment is [A A], which g may read either way.
    const wrong = rule(
      'wrong/broadcast-seq-misplaced',
      P.seq(P.broadcast(f, A, [0], [0]), P.broadcast(g, A, [1], [0])),
      P.broadcast(P.seq(f, g), A, [0], [0]),
      {
        when: [typed('f', [[v.shape('S')]], [[A]]), typed('g', [[A]], [[v.shape('T')]])],
      },
    )
    refutedNumerically(refuteLaw(wrong, 'forward', coarse))
  })
})

const sizes: Sizes = { y: 3, x: 4, k: 2, h: 3, m: 4, a: 3, b: 2 }

/** Two terms agree on random inputs and parameters (at the sizes of this file). */
const agree = (s: Term, t: Term, at: Sizes = sizes): void => agreeAt(s, t, at)

describe('rewriting real terms', () => {
  const layer = linearLayer('W', 'k', 'h', { bias: true })

  it('an MLP applied token by token is one broadcast (merge backward, then functoriality)', () => {
    const second = linearLayer('V', 'h', 'k')
    const t = seq(broadcast(layer, ['y']), relu('y h'), broadcast(second, ['y']))
    // relu[y h] is bcast(relu, [y h]): split it into a broadcast over y of relu[h] first.
    const split = rewriteAt(broadcastMerge, { path: [1] }, 'backward')(t).term
    expect(show(split)).toBe(
      'bcast[y](L(W: k -> h, +)) ; bcast[y](relu[h]) ; bcast[y](L(V: h -> k))',
    )
    const run = rewriteRepeat([broadcastSeq])(split)
    expect(show(run.term)).toBe('bcast[y](L(W: k -> h, +) ; relu[h] ; L(V: h -> k))')
    expect(run.steps).toHaveLength(2)
    agree(t, run.term)
    // And back: the split puts the axes first between the parts.
    const back = rewriteAt(broadcastSeqSplit, { path: [] })(run.term).term
    expect(show(back)).toBe('bcast[y](L(W: k -> h, +)) ; bcast[y](relu[h] ; L(V: h -> k))')
  })

  it('the key and value projections of multi-head attention stack into one broadcast', () => {
    const mha = multiHeadAttention({ y: 'y', x: 'x', m: 'm', k: 'k', h: 'h' })
    // The box's body is project ; heads ; output; project is Q ⊗ K ⊗ V, K and V over x.
    const at = { path: [0, 0], range: [1, 3] as const }
    const r = rewriteAt(broadcastPar, at)(mha)
    expect(show((r.term as Extract<Term, { kind: 'box' }>).body).split(' ; ')[0]).toBe(
      'bcast[y](L(Q: m -> k h)) ⊗ bcast[x](L(K: m -> k h) ⊗ L(V: m -> k h))',
    )
    agree(mha, r.term)
    // Q is broadcast over y, not x: it does not join.
    expect(E.isLeft(applyAt(broadcastPar, mha, { path: [0, 0], range: [0, 2] }))).toBe(true)
  })

  it('row n of a broadcast layer is the layer on row n of the input (Fig. 11, 13)', () => {
    const t = seq(broadcast(layer, ['y']), broadcast(index('y', 2), ['h'], { at: 'last' }))
    const r = rewriteAt(broadcastIndexAfter, { path: [] })(t)
    expect(show(r.term)).toBe('bcast[k @in(1) @out(0)](|2⟩_y) ; L(W: k -> h, +)')
    agree(t, r.term)
    expect(show(rewriteAt(broadcastIndexAfter, { path: [] }, 'backward')(r.term).term)).toBe(
      show(t),
    )
  })

  it('indexes of a table commute (Fig. 11)', () => {
    const t = seq(broadcast(index('a', 1), ['b'], { at: 'last' }), index('b', 1))
    const r = rewriteAt(broadcastIndexCommute, { path: [] })(t)
    expect(show(r.term)).toBe('bcast[a](|1⟩_b) ; |1⟩_a')
    agree(t, r.term)
  })

  it('the shared bias of a convolution is a bias spread over the positions (Fig. 14)', () => {
    const c = conv1d('C', { x: 'x', k: 'k', cIn: 'a', cOut: 'b', bias: true })
    const [match, ...others] = findMatches(broadcastInnerOuterSecond, c)
    if (match === undefined) throw new Error('the bias step of conv1d does not match')
    expect(others).toHaveLength(0)
    expect(show(subtermAt(c, match.location))).toBe(
      'bcast[conv(x,k,s1,d1) @in(0,=) @out(0)](add[b])',
    )
    const r = rewriteAt(broadcastInnerOuterSecond, match.location)(c)
    // The two parts join the layer's sequence (terms stay flattened).
    expect(show(children(r.term)[0] as Term)).toContain(
      'bcast[conv(x,k,s1,d1) @in(0,=) @out(0,0)](id([b] × [b])) ; bcast[conv(x,k,s1,d1)](add[b])',
    )
    agree(c, r.term, { x: 5, k: 2, a: 2, b: 3 })
  })

  it('the softmax of attention, broadcast over queries, is not a merge candidate', () => {
    const t = broadcast(softmax('x'), ['y'])
    // One broadcast over one axis: nothing to split into two non-empty blocks.
    expect(E.isLeft(applyAt(broadcastMerge, t, { path: [] }, 'backward'))).toBe(true)
  })
})
