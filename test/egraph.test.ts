import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  EGraph,
  categoryRules,
  checkProof,
  elementwiseRules,
  type Term,
  id,
  lawCatalogue,
  linearLayer,
  lawFamilies,
  mean,
  par,
  relu,
  saturate,
  seq,
  softmax,
  tanh,
  termSize,
} from '../src/index.js'

const catalogue = lawCatalogue()
const allRules = lawFamilies.flatMap(([, rules]) => rules)

describe('EGraph core', () => {
  it('hash-conses terms: a term added twice has one node', () => {
    const g = new EGraph()
    const a = g.add(seq(relu('k'), tanh('k')))
    const b = g.add(seq(relu('k'), tanh('k')))
    expect(a).toBe(b)
    // seq, and relu[k] and tanh[k] (each a broadcast of a scalar): 5 distinct sub-terms.
    expect(g.size).toBe(5)
    expect(g.classes).toBe(5)
  })

  it('union-find: merges, finds and counts classes', () => {
    const g = new EGraph()
    const r = g.add(relu('k'))
    const t = g.add(tanh('k'))
    const m = g.add(mean('k'))
    expect(g.equal(r, t)).toBe(false)
    const before = g.classes
    expect(g.union(r, t, { kind: 'normal-form' })).toBe(true)
    expect(g.union(t, r, { kind: 'normal-form' })).toBe(false)
    expect(g.equal(r, t)).toBe(true)
    expect(g.equal(r, m)).toBe(false)
    expect(g.classes).toBe(before - 1)
  })

  it('refuses to merge classes of different types (an unsound rule is contained)', () => {
    const g = new EGraph()
    const r = g.add(relu('k'))
    const h = g.add(relu('h'))
    expect(g.union(r, h, { kind: 'normal-form' })).toBe(false)
    expect(g.refused).toBe(1)
    expect(g.equal(r, h)).toBe(false)
  })

  it('congruence closure by rebuilding: equal children make equal parents', () => {
    const g = new EGraph()
    const a = g.add(seq(relu('k'), tanh('k'), mean('k')))
    const b = g.add(seq(tanh('k'), tanh('k'), mean('k')))
    expect(g.equal(a, b)).toBe(false)
    g.union(g.add(relu('k')), g.add(tanh('k')), { kind: 'normal-form' })
    expect(g.equal(a, b)).toBe(false) // not before rebuilding
    g.rebuild()
    expect(g.equal(a, b)).toBe(true)
  })

  it('congruence propagates upwards through several levels', () => {
    const g = new EGraph()
    const a = g.add(par(seq(relu('k'), mean('k')), relu('h')))
    const b = g.add(par(seq(tanh('k'), mean('k')), relu('h')))
    g.union(g.add(relu('k')), g.add(tanh('k')), { kind: 'normal-form' })
    g.rebuild()
    expect(g.equal(a, b)).toBe(true)
  })

  it('analysis: a class carries its type, dims and best linearity', () => {
    const g = new EGraph()
    const s = g.add(seq(id([['k']]), relu('k')))
    const i = g.add(id([['k']]))
    const c = g.classOf(s)
    expect(c.dims.has('k')).toBe(true)
    expect(c.linearity).toBe('nonlinear')
    expect(g.classOf(i).linearity).toBe('linear')
    g.union(g.add(relu('k')), s, { kind: 'normal-form' })
    expect(g.classOf(s).members.length).toBe(2)
  })

  it('saturation reaches a goal with category laws, and the explanation replays', () => {
    const g = new EGraph()
    const lhs = seq(id([['k']]), relu('k'), id([['k']]), tanh('k'))
    const rhs = seq(relu('k'), tanh('k'))
    const a = g.add(lhs)
    const b = g.add(rhs)
    const report = saturate(g, categoryRules, {}, () => g.equal(a, b))
    expect(report.stop).toBe('goal')
    expect(report.fired.get('category/id-left')).toBeGreaterThan(0)
    const steps = g.explain(a, b, catalogue).map((x) => x.step)
    expect(steps.length).toBeGreaterThanOrEqual(2)
    const checked = checkProof({ name: 'ids', lhs, rhs, steps }, catalogue)
    expect(E.isRight(checked)).toBe(true)
  })

  it('explanations read a law backwards and through flattened sequences', () => {
    const g = new EGraph()
    const lhs = seq(relu('k'), tanh('k'), mean('k'))
    const rhs = seq(relu('k'), id([['k']]), tanh('k'), mean('k'))
    const a = g.add(lhs)
    const b = g.add(rhs)
    saturate(g, categoryRules, {}, () => g.equal(a, b))
    expect(g.equal(a, b)).toBe(true)
    // From the short side to the long one: id-left or id-right read right to left.
    const steps = g.explain(a, b, catalogue).map((x) => x.step)
    expect(steps.some((s) => s.direction === 'backward')).toBe(true)
    expect(E.isRight(checkProof({ name: 'back', lhs, rhs, steps }, catalogue))).toBe(true)
  })

  it('reports every iteration and a reason to stop at the node limit', () => {
    const g = new EGraph()
    g.add(seq(relu('k'), relu('k'), relu('k'), relu('k'), softmax('k'), relu('k')))
    const report = saturate(g, allRules, { nodes: 15, iterations: 50, timeMs: 60000 })
    expect(report.stop).toBe('nodes')
    expect(report.nodes).toBeGreaterThanOrEqual(15)
    expect(report.iterations.length).toBeGreaterThanOrEqual(1)
  })

  it('stops at a fixed point when no law applies any more', () => {
    const g = new EGraph()
    g.add(seq(relu('k'), tanh('k')))
    const report = saturate(g, elementwiseRules, { iterations: 30 })
    expect(report.stop).toBe('saturated')
    expect(report.iterations.at(-1)?.fired).toBe(0)
  })

  it('a term of 10^3 nodes stops within its limits and says why (no timed assertion)', () => {
    // 600 parts of relu, tanh, id and a linear layer: every window of every width would be
    // O(n²) matches each building an O(n) term; windows sized by the pattern and the limits
    // checked inside each loop stop it at a limit, with the phase it was in.
    const parts = Array.from(
      { length: 600 },
      (_, i) => [relu('k'), tanh('k'), id([['k']]), linearLayer('A', 'k', 'k')][i % 4] as Term,
    )
    const t = seq(...parts)
    expect(termSize(t)).toBeGreaterThan(1000)
    const g = new EGraph()
    g.add(t)
    const report = saturate(g, allRules, { timeMs: 1500, nodes: 20000 })
    expect(['time', 'nodes', 'iterations', 'saturated']).toContain(report.stop)
    expect(report.reason).toMatch(/time limit|node limit|iteration limit|saturated/)
    if (report.stop === 'time' || report.stop === 'nodes')
      expect(report.reason).toContain(report.phase === 'between iterations' ? 'between' : 'while')
  })

  it('window matching finds a law deep inside a long sequence', () => {
    const long = (withId: boolean) =>
      seq(
        ...Array.from({ length: 40 }, (_, i) =>
          i === 20 && withId ? seq(relu('k'), id([['k']])) : i % 2 === 0 ? relu('k') : tanh('k'),
        ),
      )
    const g = new EGraph()
    const lhs = long(true)
    const rhs = long(false)
    const a = g.add(lhs)
    const b = g.add(rhs)
    const report = saturate(g, categoryRules, { timeMs: 60000 }, () => g.equal(a, b))
    expect(report.stop).toBe('goal')
    expect(report.reason).toContain('goal')
    const steps = g.explain(a, b, catalogue).map((x) => x.step)
    expect(E.isRight(checkProof({ name: 'deep', lhs, rhs, steps }, catalogue))).toBe(true)
  })
})
