/**
 * Fusion, broadcast absorption, the outer-product split and canonical forms of einsums
 * (`src/linear/fuse.ts`, `src/linear/canonical.ts`): hand examples from the paper (Fig. 17-20)
 * and properties against the evaluator on random einsums.
 */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  type Sizes,
  type Term,
  broadcast,
  canonicalEinsum,
  cup,
  einsum,
  einsumOfBroadcast,
  evaluate,
  fuseEinsums,
  fuseEinsumsE,
  id,
  isCanonicalEinsum,
  isOuterProduct,
  outerThenLinear,
  par,
  randomInputs,
  relu,
  rewriteAt,
  rewriteRepeat,
  seq,
  show,
  spiderOf,
  termEquals,
  unit,
} from '../src/index.js'
import { examples } from '../src/cli/examples.js'
import { einsumRules } from '../src/rewrite/rules/einsum.js'
import { broadcastCommute } from '../src/rewrite/rules/linear.js'
import { einsumArb } from '../src/testing/einsums.js'
import { DEFAULT_DIMS, termSizesArb, tupleTypeArb } from '../src/testing/sizes.js'
import { inputsArb } from '../src/testing/tensors.js'

const BUDGET = { maxRank: 4, maxCells: 256, maxSize: 4 }

/** Whether two terms evaluate equal (relative 1e-9) on the given sizes and seeded inputs. */
const sameValues = (a: Term, b: Term, sizes: Sizes, seed = 1): boolean => {
  const inputs = randomInputs(a.dom, sizes, seed)
  const x = evaluate(a, sizes, inputs)
  const y = evaluate(b, sizes, inputs)
  return x.every((t, i) =>
    Array.from(t).every((v, j) => {
      const w = (y[i] as Float64Array)[j] as number
      return Math.abs(v - w) <= 1e-9 * Math.max(1, Math.abs(v), Math.abs(w))
    }),
  )
}

describe('fusion (Fig. 18-19)', () => {
  const chain = examples().find((e) => e.figure === 'Fig. 18-19')
  if (chain === undefined) throw new Error('the Fig. 18-19 example is missing')

  it('the stepwise attention scores fuse into the single y k h, x k h -> y x h einsum', () => {
    const run = rewriteRepeat(einsumRules)(chain.term)
    expect(run.fixedPoint).toBe(true)
    expect(show(run.term)).toBe('einsum(y k h, x k h -> y x h) ; scale(k^-0.5)[y x h]')
    const fused = run.term.kind === 'seq' ? run.term.parts[0] : undefined
    expect(termEquals(fused as Term, einsum('y k h, x k h -> y x h'))).toBe(true)
    expect(run.steps.map((s) => s.rule).sort()).toEqual(['einsum/fusion', 'einsum/fusion-last'])
    expect(sameValues(chain.term, run.term, chain.sizes)).toBe(true)
  })

  it('fuses step by step with fuseEinsums', () => {
    const transposeK = par(id([['y', 'k', 'h']]), einsum('x k h -> k x h'))
    const outer = einsum('y k1 h, k2 x h -> y k1 k2 x h', { dims: { k1: 'k', k2: 'k' } })
    const both = fuseEinsums(transposeK, outer)
    expect(show(both)).toBe('einsum(y i h, x j h -> y i j x h; i=k, j=k)')
    expect(show(fuseEinsums(both, einsum('y k k x h -> y x h')))).toBe(
      'einsum(y k h, x k h -> y x h)',
    )
  })

  it('joins wires through stacks of einsums and identities', () => {
    const chainAB = fuseEinsums(
      par(einsum('i j, j k -> i k', { dims: { i: 'a', j: 'b', k: 'c' } }), id([['c', 'd']])),
      einsum('a c, c d -> a d'),
    )
    expect(show(chainAB)).toBe('einsum(a b, b c, c d -> a d)')
    // A transpose beside a diagonal embedding, then a sum over the diagonal: Σ_b M ⊗ Σ_c v.
    const pair = fuseEinsums(par(einsum('a b -> b a'), einsum('c -> c c')), einsum('b a, c c -> a'))
    expect(show(pair)).toBe('einsum(a b, c -> a)')
  })

  it('a transpose twice is the identity einsum, and a closed loop is the size of its axis', () => {
    expect(show(fuseEinsums(einsum('a b -> b a'), einsum('b a -> a b')))).toBe('einsum(a b -> a b)')
    const loop = fuseEinsums(unit('a'), cup('a'))
    expect(show(loop)).toBe('einsum( -> ) ; scale(a^1)')
    expect(Array.from(evaluate(loop, { a: 3 }, [[2]])[0] as Float64Array)).toEqual([6])
  })

  it('refuses what is not an einsum, with an Either in the inner API', () => {
    expect(() => fuseEinsums(relu('a'), einsum('a -> '))).toThrow(/relu\[a\] is not an einsum/)
    expect(E.isLeft(fuseEinsumsE(einsum('a -> a'), relu('a')))).toBe(true)
  })

  it('fusing then evaluating equals evaluating stepwise, on random einsums', () => {
    const stack = tupleTypeArb({ minLength: 1, maxLength: 2, maxRank: 2 }).chain((dom) =>
      einsumArb(dom, DEFAULT_DIMS, BUDGET).chain((e1) =>
        tupleTypeArb({ maxLength: 1, maxRank: 2 }).chain((beside) =>
          einsumArb([...(e1.cod as ReadonlyArray<never>), ...beside], DEFAULT_DIMS, BUDGET).map(
            (e2) => ({ first: beside.length === 0 ? e1 : par(e1, id(beside)), e2 }),
          ),
        ),
      ),
    )
    const cases = stack.chain(({ first, e2 }) => {
      const stepwise = seq(first, e2)
      return termSizesArb(stepwise).chain((sizes) =>
        inputsArb(stepwise.dom, sizes).map((inputs) => ({ stepwise, first, e2, sizes, inputs })),
      )
    })
    fc.assert(
      fc.property(cases, ({ stepwise, first, e2, sizes, inputs }) => {
        const fused = fuseEinsums(first, e2)
        const x = evaluate(stepwise, sizes, inputs)[0] as Float64Array
        const y = evaluate(fused, sizes, inputs)[0] as Float64Array
        x.forEach((v, j) => {
          const w = y[j] as number
          expect(Math.abs(v - w)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(v), Math.abs(w)))
        })
      }),
      { numRuns: 300 },
    )
  })
})

describe('broadcasting and multilinearity (Fig. 17, section 2.4.1)', () => {
  it('a broadcast einsum is an einsum: a label per axis, absent from shared inputs', () => {
    const t = broadcast(einsum('y k, k x -> y x'), ['b'], { inputs: [0, 'shared'], outputs: [2] })
    const e = einsumOfBroadcast(t)
    expect(show(e)).toBe('einsum(b y k, k x -> y x b)')
    expect(sameValues(t, e, { b: 2, y: 3, k: 4, x: 2 })).toBe(true)
  })

  it('Fig. 17 for einsums: both orders of two broadcast linear maps are one einsum', () => {
    const F = einsum('a -> b')
    const G = einsum('c d -> d c')
    const lhs = seq(
      broadcast(F, ['c', 'd'], { inputs: [1], outputs: [1] }),
      broadcast(G, ['b'], { inputs: [0], outputs: [0] }),
    )
    const rhs = rewriteAt(broadcastCommute, { path: [] })(lhs).term
    expect(show(rhs)).toBe(
      'bcast[a](einsum(c d -> d c)) ; bcast[d c @in(1) @out(1)](einsum(a -> b))',
    )
    const simultaneous = einsum('a c d -> b d c')
    expect(termEquals(rewriteRepeat(einsumRules)(lhs).term, simultaneous)).toBe(true)
    expect(termEquals(rewriteRepeat(einsumRules)(rhs).term, simultaneous)).toBe(true)
  })

  it('a multilinear einsum is an outer product, then a linear einsum', () => {
    const scores = einsum('y k h, x k h -> y x h')
    const split = outerThenLinear(scores)
    expect(show(split)).toBe(
      'einsum(y i j, x l m -> y i j x l m; i=k, j=h, l=k, m=h) ; einsum(y k h x k h -> y x h)',
    )
    const outer = split.kind === 'seq' ? (split.parts[0] as Term) : split
    expect(isOuterProduct(outer)).toBe(true)
    expect(isOuterProduct(scores)).toBe(false)
    expect(sameValues(scores, split, { y: 2, x: 3, k: 2, h: 2 })).toBe(true)
    // Fusion undoes the split.
    const linear = split.kind === 'seq' ? (split.parts[1] as Term) : split
    expect(termEquals(fuseEinsums(outer, linear), scores)).toBe(true)
  })
})

describe('canonical forms', () => {
  it('two relabelled specs have equal canonical forms', () => {
    const a = einsum('p q, r q -> p r', { dims: { p: 'y', q: 'k', r: 'x' } })
    const b = einsum('s t, u t -> s u', { dims: { s: 'y', t: 'k', u: 'x' } })
    expect(termEquals(a, b)).toBe(false)
    expect(termEquals(canonicalEinsum(a), canonicalEinsum(b))).toBe(true)
    expect(show(canonicalEinsum(a))).toBe('einsum(y k, x k -> y x)')
    // Labels of one dim are named in order of first appearance.
    const t1 = einsum('q p -> p q', { dims: { p: 'a', q: 'a' } })
    const t2 = einsum('u v -> v u', { dims: { u: 'a', v: 'a' } })
    expect(show(canonicalEinsum(t1))).toBe('einsum(i j -> j i; i=a, j=a)')
    expect(termEquals(canonicalEinsum(t1), canonicalEinsum(t2))).toBe(true)
  })

  it('different maps keep different canonical forms; the unit and cup lose their names', () => {
    const sumFirst = canonicalEinsum(einsum('i j -> j', { dims: { i: 'a', j: 'a' } }))
    const sumSecond = canonicalEinsum(einsum('i j -> i', { dims: { i: 'a', j: 'a' } }))
    expect(termEquals(sumFirst, sumSecond)).toBe(false)
    expect(show(canonicalEinsum(unit('a')))).toBe('einsum( -> a a)')
    expect(show(canonicalEinsum(cup('a')))).toBe('einsum(a a -> )')
  })

  it('is identity-preserving on canonical einsums', () => {
    const e = einsum('y k h, x k h -> y x h')
    expect(canonicalEinsum(e)).toBe(e)
    expect(isCanonicalEinsum(e)).toBe(true)
  })

  it('is invariant under renaming labels, and idempotent, on random einsums', () => {
    const LABELS = ['p', 'q', 'r', 's', 't', 'u', 'w', 'x', 'y', 'z', 'a', 'b']
    const cases = tupleTypeArb({ minLength: 1, maxLength: 3, maxRank: 2 })
      .chain((dom) => einsumArb(dom, DEFAULT_DIMS, BUDGET))
      .chain((e) => {
        const labels = Object.keys((e as Extract<Term, { kind: 'einsum' }>).dims)
        return fc
          .shuffledSubarray(LABELS, { minLength: labels.length, maxLength: labels.length })
          .map((names) => ({ e, labels, names }))
      })
    fc.assert(
      fc.property(cases, ({ e, labels, names }) => {
        const x = e as Extract<Term, { kind: 'einsum' }>
        const to = new Map(labels.map((l, i) => [l, names[i] as string]))
        const side = (ls: ReadonlyArray<string>) => ls.map((l) => to.get(l)).join(' ')
        const spec = `${x.inputs.map(side).join(', ')} -> ${side(x.output)}`
        const dims = Object.fromEntries(labels.map((l) => [to.get(l) as string, x.dims[l]!]))
        const renamed = einsum(spec, { dims })
        const c = canonicalEinsum(renamed)
        expect(termEquals(c, canonicalEinsum(e))).toBe(true)
        expect(canonicalEinsum(c)).toBe(c)
        expect(spiderOf(c)).toEqual(spiderOf(canonicalEinsum(e)))
      }),
      { numRuns: 300 },
    )
  })
})
