import { describe, expect, it } from 'vitest'
import {
  type Term,
  broadcast,
  copy,
  einsum,
  evaluate,
  id,
  normalize,
  par,
  randomInputs,
  seq,
  softmax,
  swap,
} from '../src/index.js'

// Counterexamples found by the property of laws/normal-form.test.ts, pinned (STYLE.md).
const same = (t: Term, sizes: Record<string, number>) => {
  const inputs = randomInputs(t.dom, sizes, 3)
  expect(evaluate(normalize(t), sizes, inputs)).toEqual(evaluate(t, sizes, inputs))
}

describe('pinned counterexamples of the normal form', () => {
  it('nested broadcasts merge only where both share or both lead a segment', () => {
    const inner = broadcast(par(swap([['a', 'a']], [[]]), id([['c', 'b']])), ['b'], {
      inputs: ['shared', 'shared', 1],
      outputs: [0, 0, 0],
    })
    same(broadcast(inner, ['d'], { inputs: [0, 'shared', 'shared'], outputs: [0, 0, 3] }), {
      a: 2,
      b: 2,
      c: 1,
      d: 2,
    })
  })

  it('einsum fusion follows the wires read once, not node numbers', () => {
    const spread = broadcast(id([[], ['d']]), ['d', 'b'], {
      inputs: [0, 'shared'],
      outputs: [0, 1],
    })
    const twice = seq(
      broadcast(broadcast(softmax('b'), ['d'], { at: 'last' }), ['c']),
      copy([['c', 'b', 'd']]),
      par(id([['c', 'b', 'd']]), seq(einsum('c b d -> d b c'), einsum('d b c -> c b d'))),
    )
    same(par(spread, twice), { d: 2, b: 2, c: 1 })
  })
})
