import { describe, expect, it } from 'vitest'
import { broadcast, evaluate, id, normalize, par, randomInputs, swap } from '../src/index.js'

// Counterexamples found by the property of laws/normal-form.test.ts, pinned (STYLE.md).
describe('pinned counterexamples of the normal form', () => {
  it('nested broadcasts merge only where both share or both lead a segment', () => {
    const inner = broadcast(par(swap([['a', 'a']], [[]]), id([['c', 'b']])), ['b'], {
      inputs: ['shared', 'shared', 1],
      outputs: [0, 0, 0],
    })
    const t = broadcast(inner, ['d'], { inputs: [0, 'shared', 'shared'], outputs: [0, 0, 3] })
    const sizes = { a: 2, b: 2, c: 1, d: 2 }
    const inputs = randomInputs(t.dom, sizes, 3)
    expect(evaluate(normalize(t), sizes, inputs)).toEqual(evaluate(t, sizes, inputs))
  })
})
