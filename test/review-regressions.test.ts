import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  TermError,
  broadcast,
  checkProof,
  copy,
  dim,
  drop,
  einsum,
  equivalent,
  evaluate,
  lawCatalogue,
  mul,
  normalKey,
  normalize,
  par,
  param,
  randomInputs,
  rewriteRepeat,
  relu,
  scale,
  seq,
  tanh,
  termEquals,
  zero,
  box,
  id,
  linearLayer,
  proofFromJson,
  proofToJson,
  prove,
} from '../src/index.js'
import { categoryRules, idLeft } from '../src/rewrite/rules/category.js'

// Bugs found by a second reading of the engine (each test failed before its fix).
describe('soundness regressions', () => {
  it('einsum labels named like derived fields (dom, cod, poly) still count in equality', () => {
    const times = (d: string) =>
      seq(einsum(' -> dom', { dims: { dom: d } }), einsum('dom -> ', { dims: { dom: d } }))
    expect(termEquals(times('b'), times('c'))).toBe(false)
    expect(
      E.isLeft(
        checkProof({ name: 'b=c', lhs: times('b'), rhs: times('c'), steps: [] }, lawCatalogue()),
      ),
    ).toBe(true)
  })

  it('a label named __proto__ survives absorption into an einsum', () => {
    const timesSize = (d: string) =>
      broadcast(
        seq(
          einsum(' -> __proto__', {
            dims: JSON.parse(`{"__proto__":"${d}"}`) as Record<string, string>,
          }),
          einsum('__proto__ -> ', {
            dims: JSON.parse(`{"__proto__":"${d}"}`) as Record<string, string>,
          }),
        ),
        ['x'],
      )
    expect(equivalent(timesSize('k'), timesSize('h')).kind).toBe('counterexample')
  })

  it('wires of a node with more than 4096 outputs have keys of their own', () => {
    const T = Array.from({ length: 4097 }, () => [] as string[])
    const t = seq(par(zero(T), param('W', [])), par(drop(T.slice(0, 4096)), tanh([]), tanh([])))
    const w = { W: Float64Array.of(0.7) }
    expect(evaluate(normalize(t), {}, [], w)).toEqual(evaluate(t, {}, [], w))
  })

  it('two default sizes for one dim name are refused, not read out of bounds', () => {
    const t = seq(
      einsum(' -> k', { dims: { k: dim('k', { size: 2 }) } }),
      einsum('k -> ', { dims: { k: dim('k', { size: 3 }) } }),
    )
    expect(() => evaluate(t, {}, [[1]])).toThrow(TermError)
    expect(evaluate(t, { k: 4 }, [[1]])[0]).toEqual(Float64Array.of(4))
  })

  it('the normal form is idempotent when canonicalising merges two readers', () => {
    const t = seq(
      einsum('a b -> a'),
      copy([['a']]),
      par(einsum('i -> i i', { dims: { i: 'a' } }), einsum('a -> a a')),
      mul(['a', 'a']),
    )
    const n = normalize(t)
    expect(termEquals(normalize(n), n)).toBe(true)
    expect(normalKey(n)).toBe(normalKey(t))
    const sizes = { a: 2, b: 3 }
    const inputs = randomInputs(t.dom, sizes, 1)
    expect(evaluate(n, sizes, inputs)).toEqual(evaluate(t, sizes, inputs))
  })

  it('equal infinities are not a counterexample', () => {
    const a = seq(relu(['k']), einsum('k -> k'))
    expect(equivalent(a, seq(a, einsum('k -> k'))).kind).toBe('proof')
    const inf = seq(relu(['k']), einsum('k -> k'))
    expect(equivalent(inf, inf).kind).toBe('proof')
  })

  it('a parameter named like an Object.prototype member gets random values', () => {
    const t = param('constructor', ['k'])
    const r = equivalent(t, seq(t, scale(2, ['k'])))
    expect(r.kind).toBe('counterexample')
  })

  it('a rewrite that changes nothing is not progress (category/assoc reaches a fixed point)', () => {
    const run = rewriteRepeat(categoryRules)(seq(relu('k'), tanh('k'), relu('k')))
    expect(run.fixedPoint).toBe(true)
    expect(run.steps).toHaveLength(0)
  })
})

describe('a replayed step whose bindings differ says where', () => {
  it('names the metavariable and the field, where the printed terms agree', () => {
    // show(box) prints the box's name only, so both bindings used to print alike.
    const B = box('Layer', linearLayer('W', 'a', 'b'))
    const p = prove('t', seq(id([['a']]), B), [[idLeft, { path: [] }]])
    const json = JSON.parse(proofToJson(p)) as { steps: Array<{ bindings: unknown }> }
    json.steps[0]!.bindings = JSON.parse(
      JSON.stringify(json.steps[0]!.bindings).replace('"W.weight"', '"V.weight"'),
    ) as unknown
    const tampered = proofFromJson(JSON.stringify(json))
    expect(E.isRight(tampered)).toBe(true)
    if (E.isLeft(tampered)) return
    const r = checkProof(tampered.right, lawCatalogue())
    expect(E.isLeft(r)).toBe(true)
    const message = E.isLeft(r) ? r.left.reason : ''
    expect(message).toMatch(
      /\?f differs at \.body\.body\.parts\[0\]\.parts\[1\]\.name: W\.weight, not V\.weight/,
    )
  })
})
