import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  type Term,
  box,
  broadcast,
  checkProof,
  copy,
  drop,
  equivalent,
  evaluate,
  id,
  lawCatalogue,
  linearLayer,
  multiHeadAttention,
  normalKey,
  normalize,
  par,
  relu,
  seq,
  show,
  showTyped,
  softmax,
  swap,
  tanh,
  termEquals,
  typeEquals,
} from '../src/index.js'
import { termWithSizesArb } from '../src/testing/arbitraries.js'

const numRuns = Number(process.env.LAW_RUNS ?? 200)
const laws = lawCatalogue()

const close = (a: Float64Array[], b: Float64Array[]): boolean =>
  a.length === b.length &&
  a.every((x, i) =>
    Array.from(x).every((p, j) => {
      const q = (b[i] as Float64Array)[j] as number
      return (
        (Number.isNaN(p) && Number.isNaN(q)) ||
        Math.abs(p - q) <= 1e-9 * Math.max(1, Math.abs(p), Math.abs(q))
      )
    }),
  )

describe('the structural normal form (soundness of structural/normal-form)', () => {
  it('has the type of its term, evaluates equal to it, and is idempotent', () => {
    fc.assert(
      fc.property(termWithSizesArb({ depth: 3 }), (c) => {
        const n = normalize(c.term)
        expect(typeEquals(n.dom, c.term.dom) && typeEquals(n.cod, c.term.cod)).toBe(true)
        expect(
          close(
            evaluate(n, c.sizes, c.inputs, c.params),
            evaluate(c.term, c.sizes, c.inputs, c.params),
          ),
          `${showTyped(c.term)}\n normal form ${show(n)}`,
        ).toBe(true)
        expect(termEquals(normalize(n), n)).toBe(true)
        expect(normalKey(n)).toBe(normalKey(c.term))
      }),
      { numRuns },
    )
  })

  it('does not change under structural rewritings of the presentation', () => {
    // Identities, unit stacks, boxes, copy-then-drop and double swaps around any term.
    const presentations = (t: Term): Term[] => [
      seq(id(t.dom), t, id(t.cod)),
      par(t, id([])),
      box('B', t),
      seq(copy(t.dom), par(t, drop(t.dom))),
      seq(swap(t.dom, []), t),
      seq(t, copy(t.cod), par(drop(t.cod), id(t.cod))),
    ]
    fc.assert(
      fc.property(termWithSizesArb({ depth: 2 }), (c) => {
        const key = normalKey(c.term)
        for (const p of presentations(c.term)) expect(normalKey(p), show(p)).toBe(key)
      }),
      { numRuns: Math.min(numRuns, 100) },
    )
  })

  it('a broadcast split by functoriality has the normal form of the whole', () => {
    const L = linearLayer('W', 'k', 'h')
    expect(normalKey(broadcast(seq(L, relu('h')), ['x']))).toBe(
      normalKey(seq(broadcast(L, ['x']), broadcast(relu('h'), ['x']))),
    )
  })
})

/** One theorem a line: a proof the checker accepts. */
const proves = (lhs: Term, rhs: Term) => {
  const r = equivalent(lhs, rhs)
  expect(r.kind, `${show(lhs)} = ${show(rhs)}`).toBe('proof')
  if (r.kind === 'proof') expect(E.isRight(checkProof(r.proof, laws))).toBe(true)
}

/** A false equation: a counterexample whose outputs really differ. */
const refutes = (lhs: Term, rhs: Term) => {
  const r = equivalent(lhs, rhs)
  expect(r.kind, `${show(lhs)} ≠ ${show(rhs)}`).toBe('counterexample')
  if (r.kind === 'counterexample') {
    const { sizes, inputs, params, output, entry } = r.counterexample
    const a = evaluate(lhs, sizes, inputs, params)[output] as Float64Array
    const b = evaluate(rhs, sizes, inputs, params)[output] as Float64Array
    expect(a[entry]).not.toBe(b[entry])
  }
}

describe('equivalent: proofs or counterexamples', () => {
  const L = linearLayer('W', 'k', 'h')
  const mha = multiHeadAttention({ y: 'y', x: 'x', m: 'm', k: 'k', h: 'h' })
  it('proves equations of structure', () => {
    proves(seq(copy([['k']]), par(relu('k'), drop([['k']]))), relu('k'))
    proves(seq(L, copy([['h']])), seq(copy([['k']]), par(L, L)))
    proves(seq(swap([['x']], [['y']]), swap([['y']], [['x']])), id([['x'], ['y']]))
    proves(
      broadcast(seq(L, relu('h')), ['x']),
      seq(broadcast(L, ['x']), broadcast(relu('h'), ['x'])),
    )
    proves(mha, box('unfolded', seq(mha)))
  })
  it('refutes false equations with a counterexample', () => {
    refutes(relu('k'), tanh('k'))
    refutes(swap([['k']], [['k']]), id([['k'], ['k']]))
    // SoftMax over the wrong axis (Fig. 21: how SoftMax is broadcast matters).
    refutes(broadcast(softmax('x'), ['y']), broadcast(softmax('y'), ['x'], { at: 'last' }))
  })
  it('says so when it finds neither', () => {
    // Equal by a law the normal form does not know (relu is idempotent), and never different.
    const r = equivalent(seq(relu('k'), relu('k')), relu('k'))
    expect(r.kind).toBe('unknown')
  })
  it('never reports equal without a proof the checker accepts', () => {
    fc.assert(
      fc.property(termWithSizesArb({ depth: 2 }), termWithSizesArb({ depth: 2 }), (a, b) => {
        const r = equivalent(a.term, b.term, { trials: 3 })
        if (r.kind === 'proof') expect(E.isRight(checkProof(r.proof, laws))).toBe(true)
      }),
      { numRuns: 50 },
    )
  })
})
