/**
 * paramsOf lists a term's parameters with their shapes from the term alone (issue 9, "Export a
 * function that lists a term's parameters"): the same names and shapes as the tensors
 * randomParams allocates, without sizes, in the order of first use.
 */
import { describe, expect, it } from 'vitest'
import { examples } from '../src/cli/examples.js'
import {
  TermError,
  box,
  derivative,
  linearLayer,
  multiHeadAttention,
  par,
  param,
  paramsOf,
  randomParams,
  relu,
  seq,
  shapeSize,
  showShape,
  tanh,
} from '../src/index.js'

const shown = (t: Parameters<typeof paramsOf>[0]) =>
  Object.fromEntries([...paramsOf(t)].map(([k, s]) => [k, showShape(s)]))

describe('paramsOf', () => {
  it('names and shapes of an MLP, in order of first use', () => {
    const f = seq(
      linearLayer('W1', 'k', 'h', { bias: true }),
      relu(['h']),
      linearLayer('W2', 'h', 'c'),
    )
    expect([...paramsOf(f).keys()]).toEqual(['W1.weight', 'W1.bias', 'W2.weight'])
    expect(shown(f)).toEqual({ 'W1.weight': '[h k]', 'W1.bias': '[h]', 'W2.weight': '[c h]' })
  })

  it('the parameters of every example are those randomParams allocates, with their sizes', () => {
    for (const e of examples()) {
      const listed = paramsOf(e.term)
      const drawn = randomParams(e.term, e.sizes, 1)
      expect([...listed.keys()], e.figure).toEqual(Object.keys(drawn))
      for (const [name, shape] of listed)
        expect(shapeSize(shape, e.sizes), `${e.figure} ${name}`).toBe(drawn[name]?.length)
    }
  })

  it('needs no sizes: a multi-head attention of unbound dims', () => {
    const mha = multiHeadAttention({ y: 'y', x: 'x', m: 'm', k: 'k', h: 'h' })
    expect(paramsOf(mha).size).toBeGreaterThan(0)
    for (const s of paramsOf(mha).values()) expect(s.length).toBeGreaterThan(0)
  })

  it('looks inside boxes and derivative bodies; a term without parameters has none', () => {
    expect([...paramsOf(box('B', linearLayer('V', 'a', 'b'))).keys()]).toEqual(['V.weight'])
    expect([...paramsOf(derivative(seq(linearLayer('U', 'a', 'a'), tanh('a')))).keys()]).toEqual([
      'U.weight',
    ])
    expect(paramsOf(relu(['k'])).size).toBe(0)
  })

  it('visits a shared sub-term once (2^60 paths, 61 nodes)', () => {
    let t = seq(linearLayer('W', 'k', 'k'), tanh('k'))
    for (let i = 0; i < 60; i++) t = box(`b${i}`, seq(t, t))
    expect([...paramsOf(t).keys()]).toEqual(['W.weight'])
  })

  it('refuses one name with two shapes', () => {
    const bad = par(param('W', ['a']), param('W', ['b']))
    expect(() => paramsOf(bad)).toThrow(TermError)
    expect(() => paramsOf(bad)).toThrow(/parameter 'W' is used with two shapes/)
  })
})
