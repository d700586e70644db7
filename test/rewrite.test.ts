/**
 * Direct tests of the rewriting machinery (`src/rewrite`): matching modulo associativity and
 * every kind of metavariable, windows, strategies and their reports, the refusals of `rule`, the
 * reasons `applyAt` gives, paths, the wiring terms of the normal form, the normal form itself
 * (what it must and must not equate, its key, renamed dims) and `equivalent`.
 */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  type Bindings,
  type Bound,
  type Dim,
  type Location,
  type Rule,
  type Step,
  type Term,
  type TermNode,
  TermError,
  P,
  allPaths,
  applyAt,
  box,
  broadcast,
  catalogueOf,
  categoryRules,
  compactRules,
  checkProof,
  copy,
  cup,
  dim,
  drop,
  einsum,
  equivalent,
  evaluate,
  exp,
  findMatches,
  holds,
  id,
  instantiate,
  lawCatalogue,
  linear,
  linearLayer,
  log,
  matchAll,
  matchFirst,
  matchWindow,
  mean,
  monoidalRules,
  nodeAt,
  normalFormConversion,
  normalKey,
  normalize,
  par,
  param,
  randomInputs,
  rebuild,
  relu,
  replaceAt,
  rewriteAt,
  rewriteOnce,
  rewriteRepeat,
  rule,
  same,
  scale,
  seq,
  show,
  showBindings,
  showLocation,
  showStep,
  sigmoid,
  softmax,
  subtermAt,
  swap,
  tanh,
  termEquals,
  typeEquals,
  unit,
  v,
  wiring,
  mapDimChildren,
  DIM_KINDS as ALL_DIM_KINDS,
} from '../src/index.js'
import { sizesArb, termWithSizesArb, tupleTypeArb } from '../src/testing/arbitraries.js'

const f = v.term('f')
const g = v.term('g')

/** Every match, printed. */
const shown = (ms: Iterable<Bindings>): string[] => Array.from(ms, showBindings)

/** The term bound to a metavariable. */
const termOf = (b: Bindings | undefined, name: string): Term => {
  const x = b?.get(name)
  if (x === undefined || x.sort !== 'term') throw new Error(`?${name} is not bound to a term`)
  return x.value as Term
}

const bindings = (entries: Record<string, Bound>): Bindings => new Map(Object.entries(entries))

const k = [['k']]
const t3 = seq(relu('k'), tanh('k'), mean('k'))

describe('matching modulo associativity', () => {
  it('a two-part seq pattern splits a three-part sequence both ways, the first group shortest first', () => {
    const ms = Array.from(matchAll(P.seq(f, g), t3))
    expect(ms.map(showBindings)).toEqual([
      '?f = relu[k], ?g = tanh[k] ; mean(k)',
      '?f = relu[k] ; tanh[k], ?g = mean(k)',
    ])
    // The groups are bound to the sequences of their parts.
    expect(termEquals(termOf(ms[0], 'g'), seq(tanh('k'), mean('k')))).toBe(true)
    expect(termEquals(termOf(ms[1], 'f'), seq(relu('k'), tanh('k')))).toBe(true)
  })

  it('every group takes at least one part', () => {
    expect(shown(matchAll(P.seq(f, g, v.term('h')), t3))).toEqual([
      '?f = relu[k], ?g = tanh[k], ?h = mean(k)',
    ])
    expect(shown(matchAll(P.seq(f, g, v.term('h')), seq(relu('k'), mean('k'))))).toEqual([])
    // A seq pattern never matches a par, nor a single primitive.
    expect(shown(matchAll(P.seq(f, g), par(relu('k'), mean('k'))))).toEqual([])
    expect(shown(matchAll(P.seq(f, g), relu('k')))).toEqual([])
  })

  it('a par pattern splits a stack the same way', () => {
    const t = par(relu('k'), tanh('x'), mean('y'))
    expect(shown(matchAll(P.par(f, g), t))).toEqual([
      '?f = relu[k], ?g = tanh[x] ⊗ mean(y)',
      '?f = relu[k] ⊗ tanh[x], ?g = mean(y)',
    ])
  })

  it('a term metavariable used twice binds equal terms', () => {
    expect(shown(matchAll(P.seq(f, f), seq(relu('k'), relu('k'))))).toEqual(['?f = relu[k]'])
    expect(shown(matchAll(P.seq(f, f), seq(relu('k'), tanh('k'))))).toEqual([])
    // Four parts: only the even split binds two equal halves.
    const four = seq(relu('k'), tanh('k'), relu('k'), tanh('k'))
    expect(shown(matchAll(P.seq(f, f), four))).toEqual(['?f = relu[k] ; tanh[k]'])
  })

  it('a dim metavariable binds a dim, the same at every occurrence', () => {
    const a = v.dim('a')
    expect(shown(matchAll(P.swap([[a]], [[a]]), swap([['x']], [['x']])))).toEqual(['?a = x'])
    expect(shown(matchAll(P.swap([[a]], [[a]]), swap([['x']], [['y']])))).toEqual([])
    const softmaxOf = P.node({ kind: 'axisOp', op: 'softmax', axis: a, epsilon: 0 })
    expect(shown(matchAll(softmaxOf, softmax('x')))).toEqual(['?a = x'])
    expect(shown(matchAll(softmaxOf, mean('x')))).toEqual([])
    // A dim metavariable takes one axis, never several.
    expect(shown(matchAll(P.id([[a]]), id([['x', 'y']])))).toEqual([])
  })

  it('a shape metavariable splices any number of dims, shortest first', () => {
    const S = v.shape('S')
    const T = v.shape('T')
    expect(shown(matchAll(P.id([[S, v.dim('a'), T]]), id([['x', 'y', 'z']])))).toEqual([
      '?S = [], ?a = x, ?T = [y z]',
      '?S = [x], ?a = y, ?T = [z]',
      '?S = [x y], ?a = z, ?T = []',
    ])
    expect(shown(matchAll(P.id([[S, T]]), id([['x', 'y']])))).toEqual([
      '?S = [], ?T = [x y]',
      '?S = [x], ?T = [y]',
      '?S = [x y], ?T = []',
    ])
    // Used twice: the same dims.
    expect(shown(matchAll(P.swap([[S]], [[S]]), swap([['x', 'y']], [['x', 'y']])))).toEqual([
      '?S = [x y]',
    ])
    expect(shown(matchAll(P.swap([[S]], [[S]]), swap([['x', 'y']], [['y', 'x']])))).toEqual([])
  })

  it('v.dom and v.cod are checked when the term is bound, before or after', () => {
    // The identity comes first: its type is checked once ?f is bound (deferred).
    const before = P.par(P.id(v.dom('f')), f)
    expect(shown(matchAll(before, par(id(k), relu('k'))))).toEqual(['?f = relu[k]'])
    expect(shown(matchAll(before, par(id([['x']]), relu('k'))))).toEqual([])
    // The identity comes after ?f: checked at once.
    const after = P.par(f, P.id(v.cod('f')))
    expect(shown(matchAll(after, par(mean('k'), id([[]]))))).toEqual(['?f = mean(k)'])
    expect(shown(matchAll(after, par(mean('k'), id(k))))).toEqual([])
    // A computed value of a metavariable the pattern never binds never matches.
    expect(shown(matchAll(P.id(v.dom('nobody')), id(k)))).toEqual([])
  })

  it('v.concat splits a list every way, the first part shortest first', () => {
    const cat = P.id(v.concat(v.type('A'), v.type('B')))
    expect(shown(matchAll(cat, id([['x'], ['y']])))).toEqual([
      '?A = (), ?B = [x] × [y]',
      '?A = [x], ?B = [y]',
      '?A = [x] × [y], ?B = ()',
    ])
    // A fixed first part: one split.
    const fixed = P.id(v.concat([[v.dim('a')]], v.type('B')))
    expect(shown(matchAll(fixed, id([['x'], ['y', 'z']])))).toEqual(['?a = x, ?B = [y z]'])
    expect(shown(matchAll(fixed, id([['x', 'w'], ['y']])))).toEqual([])
  })

  it('v.segment splices a segment of a bound term, checked when that term is bound', () => {
    const seg = P.id([[v.dim('a'), v.segment('dom', 'f', 0)]])
    expect(shown(matchAll(P.par(f, seg), par(relu('k'), id([['y', 'k']]))))).toEqual([
      '?f = relu[k], ?a = y',
    ])
    // Before ?f is bound, every length is tried and all but the right one dropped.
    expect(shown(matchAll(P.par(seg, f), par(id([['y', 'k']]), relu('k'))))).toEqual([
      '?a = y, ?f = relu[k]',
    ])
    expect(shown(matchAll(P.par(seg, f), par(id([['y', 'k']]), relu('x'))))).toEqual([])
    expect(shown(matchAll(P.par(f, seg), par(relu('k'), id([['y', 'x']]))))).toEqual([])
  })

  it('v.as binds the whole matched term as well', () => {
    const p = P.seq(v.as('h', P.id(v.type('A'))), f)
    const b = matchFirst(p, seq(id(k), relu('k')))
    expect(b === undefined ? undefined : showBindings(b)).toBe(
      '?h = id([k]), ?A = [k], ?f = relu[k]',
    )
    expect(termEquals(termOf(b, 'h'), id(k))).toBe(true)
    expect(matchFirst(p, seq(relu('k'), relu('k')))).toBeUndefined()
    // The name is a term metavariable: used again, it must be the same term.
    const twice = P.seq(v.as('f', P.id(v.type('A'))), f)
    expect(shown(matchAll(twice, seq(id(k), id(k))))).toEqual(['?f = id([k]), ?A = [k]'])
    expect(shown(matchAll(twice, seq(id(k), relu('k'))))).toEqual([])
  })

  it('a literal term in a pattern matches equal data only (dims by key)', () => {
    const p = P.seq(relu('k'), f)
    expect(shown(matchAll(p, seq(relu('k'), mean('k'))))).toEqual(['?f = mean(k)'])
    expect(shown(matchAll(p, seq(relu([dim('k', { mark: 'depth' })]), mean('k'))))).toEqual([
      '?f = mean(k)',
    ])
    expect(shown(matchAll(p, seq(tanh('k'), mean('k'))))).toEqual([])
  })

  it('the unit and cup patterns match the named einsums only', () => {
    const a = v.dim('a')
    expect(shown(matchAll(P.cup(a), cup('x')))).toEqual(['?a = x'])
    expect(shown(matchAll(P.unit(a), unit('y')))).toEqual(['?a = y'])
    expect(shown(matchAll(P.unit(a), cup('y')))).toEqual([])
    // The same spec without the name is not the cup.
    expect(shown(matchAll(P.cup(a), einsum('a a -> ', { dims: { a: 'x' } })))).toEqual([])
    expect(shown(matchAll(P.cup(a), einsum('i i -> ', { dims: { i: 'x' } })))).toEqual([])
  })

  it('initial bindings constrain the match', () => {
    const b = bindings({ f: { sort: 'term', value: seq(relu('k'), tanh('k')) } })
    expect(shown(matchAll(P.seq(f, g), t3, b))).toEqual(['?f = relu[k] ; tanh[k], ?g = mean(k)'])
  })

  it('instantiate builds through the smart constructors, and refuses what is ill-typed', () => {
    const b = bindings({
      f: { sort: 'term', value: relu('k') },
      g: { sort: 'term', value: mean('k') },
    })
    expect(show(instantiate(P.seq(f, g), b))).toBe('relu[k] ; mean(k)')
    expect(() => instantiate(P.seq(g, f), b)).toThrow(TermError)
    expect(() => instantiate(P.seq(f, v.term('h')), b)).toThrow(/\?h is not bound/)
  })
})

describe('matchWindow', () => {
  const t4 = seq(relu('k'), tanh('k'), sigmoid('k'), mean('k'))

  it('matches the parts [start, end) of a sequence', () => {
    expect(shown(matchWindow(P.seq(f, g), t4, 1, 3))).toEqual(['?f = tanh[k], ?g = sigmoid[k]'])
    expect(shown(matchWindow(P.seq(f, g), t4, 1, 4))).toEqual([
      '?f = tanh[k], ?g = sigmoid[k] ; mean(k)',
      '?f = tanh[k] ; sigmoid[k], ?g = mean(k)',
    ])
    expect(shown(matchWindow(P.seq(f, g), t4, 1, 2))).toEqual([])
  })

  it('matches a window of a stack, and nothing of another kind', () => {
    const t = par(relu('k'), id([['x']]), tanh('y'))
    expect(shown(matchWindow(P.par(f, P.id(v.type('A'))), t, 0, 2))).toEqual([
      '?f = relu[k], ?A = [x]',
    ])
    expect(shown(matchWindow(P.par(f, P.id(v.type('A'))), t, 1, 3))).toEqual([])
    expect(shown(matchWindow(P.par(f, g), t4, 0, 2))).toEqual([])
    expect(shown(matchWindow(P.seq(f, g), t, 0, 2))).toEqual([])
  })
})

/** A rule that rewrites a pattern into itself: its matches are what `findMatches` counts. */
const pairSeq = rule('test/pair-seq', P.seq(f, g), P.seq(f, g))
const pairPar = rule('test/pair-par', P.par(f, g), P.par(f, g))
const idLeft = rule('test/id-left', P.seq(P.id(v.dom('f')), f), f)
const swapParts = rule('test/swap-parts', P.seq(f, g), P.seq(g, f))
const dropLinear = rule('test/drop-linear', P.seq(f, g), g, { oneWay: true, when: [linear('f')] })
const keepFirst = rule('test/keep-first', P.seq(f, g), f, { oneWay: true })

describe('findMatches', () => {
  it('counts the node and every window of a sequence', () => {
    const ms = findMatches(pairSeq, t3)
    expect(ms.map((m) => showLocation(m.location))).toEqual(['/', '/', '/[0..2)', '/[1..3)'])
    expect(findMatches(pairSeq, seq(relu('k'), tanh('k'), sigmoid('k'), mean('k')))).toHaveLength(
      3 + 3,
    )
  })

  it('looks inside broadcasts', () => {
    const t = seq(broadcast(seq(tanh('x'), mean('x')), ['k']), relu('k'), mean('k'))
    const ms = findMatches(pairSeq, t)
    expect(ms.map((m) => showLocation(m.location))).toEqual([
      '/',
      '/',
      '/[0..2)',
      '/[1..3)',
      '/0/0',
    ])
  })

  it('counts windows of stacks', () => {
    expect(findMatches(pairPar, par(relu('k'), tanh('x'), mean('y')))).toHaveLength(4)
    expect(findMatches(pairPar, t3)).toHaveLength(0)
  })

  it('counts matches of a pattern with a fixed head', () => {
    const t = seq(id(k), relu('k'), id(k), relu('k'))
    const ms = findMatches(idLeft, t)
    expect(ms.map((m) => `${showLocation(m.location)} ${showBindings(m.bindings)}`)).toEqual([
      '/ ?f = relu[k] ; id([k]) ; relu[k]',
      '/[0..2) ?f = relu[k]',
      '/[2..4) ?f = relu[k]',
    ])
  })

  it('matches the other side for a backward direction', () => {
    // The right side of id-left is ?f: every node matches (relu[k] is a broadcast scalar).
    const ms = findMatches(idLeft, relu('k'), 'backward')
    expect(ms.map((m) => showLocation(m.location))).toEqual(['/', '/0'])
    expect(findMatches(idLeft, seq(relu('k'), relu('k')), 'forward')).toHaveLength(0)
  })
})

describe('strategies', () => {
  // An identity before a broadcast whose body starts with an identity too.
  const nested = seq(id([['y', 'k']]), broadcast(seq(id(k), relu('k')), ['y']))

  it('rewriteOnce rewrites the outermost match first, or the innermost', () => {
    const outer = rewriteOnce([idLeft])(nested)
    expect(outer === undefined ? undefined : showLocation(outer.step.location)).toBe('/')
    expect(outer === undefined ? '' : show(outer.term)).toBe('bcast[y](id([k]) ; relu[k])')
    const inner = rewriteOnce([idLeft], { order: 'innermost' })(nested)
    expect(inner === undefined ? undefined : showLocation(inner.step.location)).toBe('/1/0')
    expect(inner === undefined ? '' : show(inner.term)).toBe('id([y k]) ; bcast[y](relu[k])')
    expect(rewriteOnce([idLeft])(relu('k'))).toBeUndefined()
  })

  it('rewriteOnce tries the rules in order at each location', () => {
    const t = seq(id(k), relu('k'))
    expect(rewriteOnce([swapParts, idLeft])(t)?.step.rule).toBe('test/swap-parts')
    expect(rewriteOnce([idLeft, swapParts])(t)?.step.rule).toBe('test/id-left')
    expect(rewriteOnce([{ rule: idLeft, direction: 'backward' }])(relu('k'))?.step.direction).toBe(
      'backward',
    )
  })

  it('rewriteRepeat reaches a fixed point, with the same result in either order', () => {
    const t = seq(id(k), relu('k'), id(k), broadcast(seq(id([[]]), tanh()), ['k']))
    for (const order of ['outermost', 'innermost'] as const) {
      const run = rewriteRepeat([idLeft], { order })(t)
      expect(run.fixedPoint).toBe(true)
      expect(run.steps).toHaveLength(3)
      expect(show(run.term)).toBe('relu[k] ; tanh[k]')
      expect(run.report[0]?.applied).toBe(3)
    }
  })

  it('rewriteRepeat stops at the step bound and says it is not at a fixed point', () => {
    const t = seq(relu('k'), tanh('k'))
    const run = rewriteRepeat([swapParts], { maxSteps: 3 })(t)
    expect(run.steps).toHaveLength(3)
    expect(run.fixedPoint).toBe(false)
    expect(show(run.term)).toBe('tanh[k] ; relu[k]')
    // A bound reached exactly at the fixed point is a fixed point.
    const done = rewriteRepeat([idLeft], { maxSteps: 2 })(seq(id(k), relu('k'), id(k), relu('k')))
    expect(done.steps).toHaveLength(2)
    expect(done.fixedPoint).toBe(true)
    expect(rewriteRepeat([swapParts], { maxSteps: 0 })(t).fixedPoint).toBe(false)
  })

  it('rewriteRepeat reports what each rule tried, applied, and why it was blocked', () => {
    const run = rewriteRepeat([idLeft, dropLinear, keepFirst])(seq(id(k), relu('k'), mean('k')))
    expect(run.fixedPoint).toBe(true)
    expect(show(run.term)).toBe('relu[k] ; mean(k)')
    const [r0, r1, r2] = run.report
    expect(r0).toMatchObject({ rule: 'test/id-left', direction: 'forward', tried: 2, applied: 1 })
    expect([...(r0?.blocked ?? [])]).toEqual([['no match', 1]])
    expect(r1).toMatchObject({ rule: 'test/drop-linear', tried: 1, applied: 0 })
    expect([...(r1?.blocked.keys() ?? [])]).toEqual([
      'condition: test/drop-linear: ?f is linear fails for ?f = relu[k], ?g = mean(k)',
    ])
    expect(r2).toMatchObject({ rule: 'test/keep-first', tried: 1, applied: 0 })
    expect([...(r2?.blocked.keys() ?? [])]).toEqual([
      'type: test/keep-first: gives [k] -> [k] for a redex of [k] -> []',
    ])
    expect([...(r2?.blocked.values() ?? [])]).toEqual([1])
  })

  it('rewriteRepeat reports an instance that does not type-check as a type block', () => {
    const run = rewriteRepeat([swapParts])(seq(relu('k'), mean('k')))
    expect(run.steps).toHaveLength(0)
    const keys = [...(run.report[0]?.blocked.keys() ?? [])]
    expect(keys).toHaveLength(1)
    expect(keys[0]).toMatch(/^type: test\/swap-parts: the other side does not type-check: seq:/)
  })

  // The rescan that rewriteRepeat's agenda replaces: rewriteOnce from the root after each step.
  const rescan = (
    rules: ReadonlyArray<Rule>,
    t: Term,
    order: 'outermost' | 'innermost',
    max: number,
  ): { term: Term; steps: Step[] } => {
    const steps: Step[] = []
    let term = t
    while (steps.length < max) {
      const next = rewriteOnce(rules, { order })(term)
      if (next === undefined) break
      steps.push(next.step)
      term = next.term
    }
    return { term, steps }
  }
  const snakes = (n: number): Term =>
    seq(
      ...Array.from({ length: n }, () =>
        seq(broadcast(unit('a'), ['a']), broadcast(cup('a'), ['a'], { at: 'last' })),
      ),
    )

  it('rewriteRepeat takes the steps of the rescan, in its order, and they replay', () => {
    const families: ReadonlyArray<ReadonlyArray<Rule>> = [
      compactRules,
      categoryRules,
      [...categoryRules, ...monoidalRules],
      [idLeft, swapParts],
      [dropLinear, idLeft],
    ]
    const snakeMix = seq(snakes(3), box('B', seq(snakes(2), id([['a']]))), snakes(1))
    const under = broadcast(seq(id([['a']]), snakes(2)), ['y'])
    const terms: Term[] = [
      snakes(5),
      snakeMix,
      par(snakeMix, seq(id(k), relu('k'), id(k))),
      seq(under, id([['y', 'a']]), under),
      seq(id(k), relu('k'), id(k), broadcast(seq(id([[]]), tanh()), ['k'])),
      seq(relu('k'), tanh('k'), relu('k'), mean('k')),
      ...fc
        .sample(termWithSizesArb({ depth: 3 }), { numRuns: 30, seed: 20261203 })
        .flatMap((c) => [c.term, seq(id(c.term.dom), c.term, id(c.term.cod))]),
    ]
    let compared = 0
    for (const rules of families)
      for (const t of terms)
        for (const order of ['outermost', 'innermost'] as const) {
          const run = rewriteRepeat(rules, { order, maxSteps: 12 })(t)
          const want = rescan(rules, t, order, 12)
          expect(run.steps.map(showStep)).toEqual(want.steps.map(showStep))
          expect(termEquals(run.term, want.term)).toBe(true)
          expect(run.fixedPoint).toBe(rewriteOnce(rules, { order })(run.term) === undefined)
          const replay = checkProof(
            { name: 'agenda', lhs: t, rhs: run.term, steps: run.steps },
            catalogueOf(rules),
          )
          expect(E.isRight(replay)).toBe(true)
          compared += run.steps.length
        }
    // Enough steps were compared for the agreement to mean something.
    expect(compared).toBeGreaterThan(100)
  })

  it('rewriteRepeat makes match attempts linear in the number of snakes (an agenda, not a rescan)', () => {
    const attempts = (n: number): number => {
      const run = rewriteRepeat(compactRules, { maxSteps: n + 10 })(snakes(n))
      expect(run.fixedPoint).toBe(true)
      expect(run.steps).toHaveLength(n)
      return run.report.reduce((sum, r) => sum + r.tried, 0)
    }
    const [a, b, c] = [attempts(50), attempts(100), attempts(200)]
    // The rescan from the root made 1623, 5748, 21498 attempts (quadratic).
    expect(b).toBeLessThanOrEqual(2.2 * a)
    expect(c).toBeLessThanOrEqual(2.2 * b)
  })

  it('rewriteAt throws a TermError saying why', () => {
    expect(() => rewriteAt(idLeft, { path: [] })(t3)).toThrow(/no-match at \//)
    expect(show(rewriteAt(idLeft, { path: [] })(seq(id(k), relu('k'))).term)).toBe('relu[k]')
  })
})

describe('rule refuses malformed laws', () => {
  const refuses = (build: () => unknown, message: RegExp): void => {
    expect(build).toThrow(TermError)
    expect(build).toThrow(message)
  }

  it('a name that is not family/kebab-name', () => {
    for (const name of ['Category/id-left', 'noslash', 'a/b c', 'a/', '/b', 'a/B', 'a/b/c', 'a/-b'])
      refuses(() => rule(name, f, f), /is not a law name/)
    for (const name of ['my/ok', 'a1/b-2', 'x/y0-z']) expect(rule(name, f, f).name).toBe(name)
  })

  it('a right side with metavariables the left does not bind', () => {
    refuses(() => rule('my/x', f, g), /right side uses metavariables the left does not bind/)
    refuses(
      () => rule('my/x', f, P.seq(f, P.id(v.dom('g'))), { oneWay: true }),
      /right side uses metavariables/,
    )
  })

  it('a two-way rule whose left binds more', () => {
    refuses(() => rule('my/x', P.seq(f, g), f), /left side binds metavariables the right does not/)
    expect(rule('my/x', P.seq(f, g), f, { oneWay: true }).bidirectional).toBe(false)
    expect(rule('my/x', P.seq(f, g), P.seq(f, g)).bidirectional).toBe(true)
  })

  it('a metavariable used with two sorts, across sides or within one', () => {
    refuses(() => rule('my/x', v.term('f'), P.id(v.type('f'))), /a term on the left and a type/)
    refuses(
      () => rule('my/x', P.seq(P.id(v.type('f')), v.term('f')), v.term('f')),
      /\?f is used with two sorts on the left/,
    )
    refuses(
      () => rule('my/x', f, P.seq(P.id(v.type('f')), v.term('f')), { oneWay: true }),
      /two sorts/,
    )
  })

  it('a condition on a metavariable the left does not bind', () => {
    refuses(() => rule('my/x', f, f, { when: [linear('g')] }), /condition names \?g/)
    refuses(
      () => rule('my/x', f, f, { when: [same(v.cod('g'), v.dom('f'))] }),
      /condition names \?g/,
    )
    expect(rule('my/x', f, f, { when: [same(v.cod('f'), v.dom('f'))] }).when).toHaveLength(1)
  })

  it('a two-way rule with a side built by a function', () => {
    const built = v.build('f itself', (b) => b.get('f')?.value)
    refuses(() => rule('my/x', f, built), /built by a function/)
    expect(rule('my/x', f, built, { oneWay: true }).bidirectional).toBe(false)
  })
})

const reason = (r: E.Either<{ reason: string; message: string }, unknown>): string =>
  E.isLeft(r) ? r.left.reason : 'applied'
const message = (r: E.Either<{ reason: string; message: string }, unknown>): string =>
  E.isLeft(r) ? r.left.message : 'applied'

describe('applyAt says why a rule does not apply', () => {
  const t = seq(id(k), relu('k'), mean('k'))

  it("'location' for a path or range outside the term", () => {
    expect(reason(applyAt(idLeft, t, { path: [5] }))).toBe('location')
    expect(reason(applyAt(idLeft, t, { path: [1, 0, 0] }))).toBe('location')
    expect(reason(applyAt(idLeft, t, { path: [], range: [0, 7] }))).toBe('location')
    expect(reason(applyAt(idLeft, t, { path: [], range: [2, 1] }))).toBe('location')
    expect(reason(applyAt(idLeft, t, { path: [], range: [1, 1] }))).toBe('location')
    expect(reason(applyAt(idLeft, t, { path: [1], range: [0, 1] }))).toBe('location')
    expect(reason(applyAt(idLeft, t, { path: [], range: [0, 2] }))).toBe('applied')
  })

  it("'direction' for a one-way rule used backward", () => {
    const r = applyAt(keepFirst, relu('k'), { path: [] }, 'backward')
    expect(reason(r)).toBe('direction')
    expect(message(r)).toMatch(/one-way/)
  })

  it("'no-match', 'condition' and 'type'", () => {
    expect(reason(applyAt(idLeft, t3, { path: [] }))).toBe('no-match')
    const c = applyAt(dropLinear, seq(relu('k'), mean('k')), { path: [] })
    expect(reason(c)).toBe('condition')
    expect(message(c)).toMatch(/\?f is linear fails for \?f = relu\[k\]/)
    // A linear first part passes the same condition.
    expect(reason(applyAt(dropLinear, seq(scale(2, 'k'), relu('k')), { path: [] }))).toBe('applied')
    // The other side instantiates to another type.
    const ty = applyAt(keepFirst, seq(relu('k'), mean('k')), { path: [] })
    expect(reason(ty)).toBe('type')
    expect(message(ty)).toMatch(/gives \[k\] -> \[k\] for a redex of \[k\] -> \[\]/)
    // The other side does not type-check at all.
    expect(reason(applyAt(swapParts, seq(relu('k'), mean('k')), { path: [] }))).toBe('type')
  })

  it('a failing condition on the first match lets a later match apply', () => {
    const lastOne = rule('test/last-one', P.seq(f, g), P.seq(f, g), {
      when: [holds('?g is one part', (b) => termOf(b, 'g').kind !== 'seq')],
    })
    const r = applyAt(lastOne, t3, { path: [] })
    expect(E.isRight(r) ? showBindings(r.right.step.bindings) : message(r)).toBe(
      '?f = relu[k] ; tanh[k], ?g = mean(k)',
    )
    // In a window of two parts, ?g is one part at once.
    const window = applyAt(lastOne, t3, { path: [], range: [1, 3] })
    expect(E.isRight(window) ? showBindings(window.right.step.bindings) : message(window)).toBe(
      '?f = tanh[k], ?g = mean(k)',
    )
    // When no match passes, the reason of the last one tried is reported.
    const blocked = applyAt(
      rule('test/never', P.seq(f, g), P.seq(f, g), {
        when: [holds('never', () => false)],
      }),
      t3,
      { path: [] },
    )
    expect(message(blocked)).toBe(
      'test/never: never fails for ?f = relu[k] ; tanh[k], ?g = mean(k)',
    )
  })

  it('the expected bindings select one match and reject the others', () => {
    const second = bindings({
      f: { sort: 'term', value: seq(relu('k'), tanh('k')) },
      g: { sort: 'term', value: mean('k') },
    })
    const r = applyAt(pairSeq, t3, { path: [] }, 'forward', second)
    expect(E.isRight(r) ? showBindings(r.right.step.bindings) : message(r)).toBe(
      showBindings(second),
    )
    expect(E.isRight(r) && termEquals(r.right.term, t3)).toBe(true)
    const other = bindings({
      f: { sort: 'term', value: tanh('k') },
      g: { sort: 'term', value: mean('k') },
    })
    const bad = applyAt(pairSeq, t3, { path: [] }, 'forward', other)
    expect(reason(bad)).toBe('no-match')
    expect(message(bad)).toMatch(/not the recorded \?f = tanh\[k\], \?g = mean\(k\)/)
    // One binding more than the match makes is a different match too.
    const extra = new Map(second)
    extra.set('h', { sort: 'term', value: relu('k') })
    expect(reason(applyAt(pairSeq, t3, { path: [] }, 'forward', extra))).toBe('no-match')
  })

  it('given metavariables are supplied by the step, and recorded in it', () => {
    const t = seq(copy(k), par(relu('k'), drop(k)))
    expect(normalFormConversion.given).toEqual(['target'])
    expect(normalFormConversion.bidirectional).toBe(false)
    const none = applyAt(normalFormConversion, t, { path: [] })
    expect(reason(none)).toBe('no-match')
    expect(message(none)).toMatch(/does not supply \?target/)
    const target = bindings({ target: { sort: 'term', value: relu('k') } })
    const ok = applyAt(normalFormConversion, t, { path: [] }, 'forward', undefined, target)
    if (E.isLeft(ok)) throw new Error(ok.left.message)
    expect(termEquals(ok.right.term, relu('k'))).toBe(true)
    expect([...ok.right.step.bindings.keys()].sort()).toEqual(['t', 'target'])
    // Replayed from the step's bindings alone.
    const proof = { name: 'n', lhs: t, rhs: relu('k'), steps: [ok.right.step] }
    expect(E.isRight(checkProof(proof, catalogueOf([normalFormConversion])))).toBe(true)
    // A target of another normal form is refused by the built side.
    const wrong = bindings({ target: { sort: 'term', value: tanh('k') } })
    const bad = applyAt(normalFormConversion, t, { path: [] }, 'forward', undefined, wrong)
    expect(reason(bad)).toBe('type')
    expect(message(bad)).toMatch(/normal forms differ/)
  })

  it('a given dim of a user rule', () => {
    const relabel = rule('test/relabel', P.id([[v.dim('a')]]), P.id([[v.dim('b')]]), {
      given: ['b'],
    })
    expect(relabel.bidirectional).toBe(false)
    const same_ = bindings({ b: { sort: 'dim', value: dim('x') } })
    const other = bindings({ b: { sort: 'dim', value: dim('y') } })
    const t = id([['x']])
    const ok = applyAt(relabel, t, { path: [] }, 'forward', undefined, same_)
    expect(E.isRight(ok) ? showStep(ok.right.step) : message(ok)).toBe(
      'test/relabel → at / with ?b = x, ?a = x',
    )
    expect(reason(applyAt(relabel, t, { path: [] }, 'forward', undefined, other))).toBe('type')
    // A supplied value of another sort than the rule's is refused, not built.
    const wrongSort = bindings({ b: { sort: 'term', value: relu('x') } })
    const bad = applyAt(relabel, t, { path: [] }, 'forward', undefined, wrongSort)
    expect(reason(bad)).toBe('no-match')
    expect(message(bad)).toBe('test/relabel: the step supplies ?b as a term, not a dim')
    const target = bindings({ target: { sort: 'dim', value: dim('k') } })
    const nf = applyAt(normalFormConversion, relu('k'), { path: [] }, 'forward', undefined, target)
    expect(reason(nf)).toBe('type')
    expect(message(nf)).toMatch(/the target must be a term/)
  })
})

describe('paths and locations', () => {
  const t4 = seq(relu('k'), tanh('k'), sigmoid('k'), mean('k'))
  const nested = seq(broadcast(seq(tanh('x'), sigmoid('x'), mean('x')), ['k']), relu('k'))

  it('subtermAt reads a node or a range of parts', () => {
    expect(
      termEquals(subtermAt(t4, { path: [], range: [1, 3] }), seq(tanh('k'), sigmoid('k'))),
    ).toBe(true)
    expect(termEquals(subtermAt(t4, { path: [], range: [2, 3] }), sigmoid('k'))).toBe(true)
    expect(subtermAt(t4, { path: [], range: [0, 4] })).toBe(t4)
    expect(subtermAt(t4, { path: [1] })).toBe(nodeAt(t4, [1]))
    expect(show(subtermAt(nested, { path: [0, 0], range: [1, 3] }))).toBe('sigmoid[x] ; mean(x)')
  })

  it('replaceAt replaces a range, flattening a sequence put in a sequence', () => {
    const one = replaceAt(t4, { path: [], range: [1, 3] }, relu('k'))
    expect(show(one)).toBe('relu[k] ; relu[k] ; mean(k)')
    const more = replaceAt(t4, { path: [], range: [1, 2] }, seq(exp('k'), log('k')))
    expect(more.kind === 'seq' ? more.parts.length : 0).toBe(5)
    expect(more.kind === 'seq' && more.parts.every((p) => p.kind !== 'seq')).toBe(true)
    expect(show(more)).toBe('relu[k] ; exp[k] ; log[k] ; sigmoid[k] ; mean(k)')
    const inner = replaceAt(nested, { path: [0, 0], range: [0, 2] }, relu('x'))
    expect(show(inner)).toBe('bcast[k](relu[x] ; mean(x)) ; relu[k]')
    // What is not on the path is shared.
    expect(
      inner.kind === 'seq' && nested.kind === 'seq' && inner.parts[1] === nested.parts[1],
    ).toBe(true)
  })

  it('replacing a sub-term by itself keeps the identity of the whole term', () => {
    for (const t of [t4, nested, seq(id([['k'], ['x']]), par(relu('k'), tanh('x')))])
      for (const path of allPaths(t)) {
        const l: Location = { path }
        expect(replaceAt(t, l, subtermAt(t, l))).toBe(t)
      }
    // A range is rebuilt, equal as data.
    const l: Location = { path: [], range: [1, 3] }
    expect(termEquals(replaceAt(t4, l, subtermAt(t4, l)), t4)).toBe(true)
  })

  it('refuses paths and ranges outside the term, and replacements of another type', () => {
    expect(() => nodeAt(t4, [9])).toThrow(/step 0 asks for child 9 of a seq/)
    expect(() => nodeAt(t4, [0, 0, 0])).toThrow(/step 2 asks for child 0 of a scalar/)
    expect(() => subtermAt(t4, { path: [], range: [3, 5] })).toThrow(TermError)
    expect(() => subtermAt(t4, { path: [0], range: [0, 1] })).toThrow(/a range needs a seq or par/)
    expect(() => replaceAt(t4, { path: [7] }, relu('k'))).toThrow(TermError)
    expect(() => replaceAt(t4, { path: [], range: [-1, 2] }, relu('k'))).toThrow(TermError)
    expect(() => replaceAt(t4, { path: [1] }, mean('k'))).toThrow(TermError)
  })

  it('allPaths lists every node in pre-order, and locations print', () => {
    expect(allPaths(seq(relu('k'), mean('k')))).toEqual([[], [0], [0, 0], [1]])
    expect(showLocation({ path: [] })).toBe('/')
    expect(showLocation({ path: [2, 0], range: [1, 3] })).toBe('/2/0[1..3)')
  })
})

describe('wiring', () => {
  it('gives input sources[j] at output j, copying and dropping', () => {
    const typeAndSources = tupleTypeArb({ minLength: 0, maxLength: 3, maxRank: 2 }).chain((type) =>
      fc.tuple(
        fc.constant(type),
        type.length === 0
          ? fc.constant<number[]>([])
          : fc.array(fc.integer({ min: 0, max: type.length - 1 }), { maxLength: 5 }),
        sizesArb(['a', 'b', 'c', 'd'], { max: 3 }),
        fc.integer({ min: 0, max: 1 << 30 }),
      ),
    )
    fc.assert(
      fc.property(typeAndSources, ([type, sources, sizes, seed]) => {
        const w = wiring(type, sources)
        expect(typeEquals(w.dom, type)).toBe(true)
        expect(
          typeEquals(
            w.cod,
            sources.map((s) => type[s] ?? []),
          ),
        ).toBe(true)
        expect(w.linearity).toBe('linear')
        const xs = randomInputs(type, sizes, seed)
        const ys = evaluate(w, sizes, xs)
        expect(ys).toHaveLength(sources.length)
        sources.forEach((s, j) => expect(Array.from(ys[j] ?? [])).toEqual(Array.from(xs[s] ?? [0])))
      }),
      { numRuns: 150 },
    )
  })

  it('is the identity for the identity wiring, and copies, drops and swaps otherwise', () => {
    const T = [['x'], ['y', 'z']]
    expect(wiring(id(T).dom, [0, 1]).kind).toBe('id')
    expect(show(wiring(id([['x']]).dom, []))).toBe('drop([x])')
    const xy = id([['x'], ['y']]).dom
    const swapped = evaluate(wiring(xy, [1, 0]), { x: 1, y: 1 }, [[1], [2]])
    expect(swapped.map((a) => Array.from(a))).toEqual([[2], [1]])
    const copies = evaluate(wiring(xy, [1, 1, 0, 1]), { x: 1, y: 1 }, [[1], [2]])
    expect(copies.map((a) => Array.from(a))).toEqual([[2], [2], [1], [2]])
  })
})

/** Rename every size variable (in every dim, however nested) by a map; rebuilt and re-checked. */
const renameDim = (d: Dim, names: Readonly<Record<string, string>>): Dim => {
  if (d.kind === 'var')
    return dim(names[d.name] ?? d.name, d.size === undefined ? {} : { size: d.size })
  return mapDimChildren(d, (x) => renameDim(x, names))
}

const DIM_KINDS = new Set<string>(ALL_DIM_KINDS)
const DERIVED = new Set(['dom', 'cod', 'linearity', 'poly'])

const renameData = (x: unknown, names: Readonly<Record<string, string>>): unknown => {
  if (Array.isArray(x)) return x.map((y) => renameData(y, names))
  if (typeof x !== 'object' || x === null) return x
  if ('linearity' in x) return renameTerm(x as Term, names)
  if (DIM_KINDS.has((x as { kind?: string }).kind ?? '')) return renameDim(x as Dim, names)
  return Object.fromEntries(Object.entries(x).map(([key, y]) => [key, renameData(y, names)]))
}

const renameTerm = (t: Term, names: Readonly<Record<string, string>>): Term =>
  rebuild(
    Object.fromEntries(
      Object.entries(t)
        .filter(([key]) => !DERIVED.has(key))
        .map(([key, y]) => [key, renameData(y, names)]),
    ) as TermNode,
  )

/** Both must have the same normal form (and key); neither is its own normal form trivially. */
const sameNormal = (a: Term, b: Term): void => {
  expect(show(normalize(a))).toBe(show(normalize(b)))
  expect(termEquals(normalize(a), normalize(b))).toBe(true)
  expect(normalKey(a)).toBe(normalKey(b))
}

const differentNormal = (a: Term, b: Term): void => {
  expect(termEquals(normalize(a), normalize(b))).toBe(false)
  expect(normalKey(a)).not.toBe(normalKey(b))
}

describe('normalize equates what the structural laws equate', () => {
  const L = linearLayer('A', 'x', 'h', { bias: true })

  it('copy and drop naturality', () => {
    sameNormal(seq(L, copy([['h']])), seq(copy([['x']]), par(L, L)))
    sameNormal(seq(L, drop([['h']])), drop([['x']]))
    sameNormal(seq(copy(k), par(relu('k'), drop(k))), relu('k'))
  })

  it('swap involution and swap naturality', () => {
    sameNormal(
      seq(swap([['x']], [['y', 'z']]), swap([['y', 'z']], [['x']])),
      id([['x'], ['y', 'z']]),
    )
    sameNormal(
      seq(par(relu('x'), mean('y')), swap([['x']], [[]])),
      seq(swap([['x']], [['y']]), par(mean('y'), relu('x'))),
    )
  })

  it('broadcast functoriality over seq and par', () => {
    sameNormal(
      broadcast(seq(relu('k'), mean('k')), ['a']),
      seq(broadcast(relu('k'), ['a']), broadcast(mean('k'), ['a'])),
    )
    sameNormal(
      broadcast(par(relu('k'), mean('x')), ['a']),
      par(broadcast(relu('k'), ['a']), broadcast(mean('x'), ['a'])),
    )
  })

  it('nested broadcasts with their axes first merge', () => {
    sameNormal(broadcast(broadcast(mean('x'), ['b']), ['a']), broadcast(mean('x'), ['a', 'b']))
    sameNormal(broadcast(broadcast(relu('x'), ['b']), ['a']), relu('a b x'))
  })

  it('einsum chains fuse, relabelled canonically; the snake is the identity', () => {
    sameNormal(seq(einsum('i j -> j i'), einsum('j i -> j')), einsum('i j -> j'))
    sameNormal(
      seq(einsum('a b -> b a'), einsum('b a -> a b'), einsum('a b -> a')),
      einsum('p q -> p', { dims: { p: 'a', q: 'b' } }),
    )
    sameNormal(
      seq(broadcast(unit('a'), ['a'], { at: 'last' }), broadcast(cup('a'), ['a'])),
      id([['a']]),
    )
    expect(
      show(normalize(seq(broadcast(unit('a'), ['a'], { at: 'last' }), broadcast(cup('a'), ['a'])))),
    ).toBe('id([a])')
  })

  it('a broadcast parameter is the parameter spread along the axes', () => {
    sameNormal(broadcast(param('W', 'k'), ['a']), seq(param('W', 'k'), einsum('k -> a k')))
    sameNormal(
      seq(broadcast(param('W', 'k'), ['a']), einsum('a k -> a')),
      seq(param('W', 'k'), einsum('k -> a')),
    )
  })

  it('Fig. 17: a channel map commutes with token maps, which then broadcast as one', () => {
    const tokenMap = (name: string, from: string, to: string): Term =>
      broadcast(linearLayer(name, from, to), ['c'], { at: 'last' })
    sameNormal(
      seq(
        tokenMap('F1', 'x', 'y'),
        tokenMap('F2', 'y', 'z'),
        broadcast(linearLayer('G', 'c', 'd'), ['z']),
      ),
      seq(
        broadcast(linearLayer('G', 'c', 'd'), ['x']),
        broadcast(seq(linearLayer('F1', 'x', 'y'), linearLayer('F2', 'y', 'z')), ['d'], {
          at: 'last',
        }),
      ),
    )
  })
})

describe('normalize keeps apart what differs', () => {
  it('different primitives, axes and permutations', () => {
    differentNormal(relu('k'), tanh('k'))
    differentNormal(broadcast(softmax('x'), ['y']), broadcast(softmax('y'), ['x'], { at: 'last' }))
    differentNormal(einsum('i j -> j i', { dims: { i: 'a', j: 'a' } }), id([['a', 'a']]))
    differentNormal(
      seq(copy(k), par(relu('k'), tanh('k'))),
      seq(copy(k), par(tanh('k'), relu('k'))),
    )
    differentNormal(linearLayer('A', 'x', 'h'), linearLayer('B', 'x', 'h'))
  })
})

describe('normalKey and renamed dims', () => {
  // Terms drawn once (a fixed seed), each with presentations of the same normal form.
  const cases = fc.sample(termWithSizesArb({ depth: 2 }), { numRuns: 40, seed: 20240611 })
  const terms = cases.flatMap((c) => [c.term, seq(id(c.term.dom), c.term), box('B', c.term)])

  it('keys tell apart terms of different types (pinned)', () => {
    // The wiring alone is the same; the types are not.
    expect(normalKey(id([['k']]))).not.toBe(normalKey(id([['x']])))
    expect(normalKey(drop([[]]))).not.toBe(normalKey(id([])))
    expect(normalKey(drop([['k']]))).not.toBe(normalKey(drop([['x']])))
    expect(normalKey(seq(copy(k), par(relu('k'), drop(k))))).toBe(normalKey(relu('k')))
  })

  it('keys are equal exactly when the normal forms are equal data', () => {
    const normal = terms.map(normalize)
    const keys = terms.map(normalKey)
    let equal = 0
    let different = 0
    for (let i = 0; i < terms.length; i++)
      for (let j = i + 1; j < terms.length; j++) {
        const sameKey = keys[i] === keys[j]
        expect(sameKey, `${show(terms[i] as Term)}\n${show(terms[j] as Term)}`).toBe(
          termEquals(normal[i] as Term, normal[j] as Term),
        )
        if (sameKey) equal++
        else different++
      }
    // Both answers occur: the property is not vacuous.
    expect(equal).toBeGreaterThanOrEqual(cases.length)
    expect(different).toBeGreaterThan(0)
  })

  // A permutation of the pool (changes sort orders) and a renaming to fresh names.
  const renamings: ReadonlyArray<readonly [Record<string, string>, Record<string, string>]> = [
    [
      { a: 'b', b: 'c', c: 'd', d: 'a' },
      { b: 'a', c: 'b', d: 'c', a: 'd' },
    ],
    [
      { a: 'p', b: 'q', c: 'r', d: 's' },
      { p: 'a', q: 'b', r: 'c', s: 'd' },
    ],
  ]

  it('renaming dims commutes with normalisation (up to the renamed einsum labels)', () => {
    for (const [to, back] of renamings)
      for (const c of cases) {
        const t = c.term
        const renamed = renameTerm(t, to)
        expect(termEquals(renameTerm(renamed, back), t)).toBe(true)
        const normalOfRenamed = normalize(renamed)
        const renamedNormal = renameTerm(normalize(t), to)
        // The renamed normal form is a presentation of the renamed term's normal form (einsum
        // labels are named after their dims, so they are renamed too by normalising again).
        expect(termEquals(normalize(renamedNormal), normalOfRenamed), show(t)).toBe(true)
        expect(normalKey(renamedNormal)).toBe(normalKey(renamed))
        // Renaming back gives the normal form of the original term.
        expect(termEquals(normalize(renameTerm(normalOfRenamed, back)), normalize(t))).toBe(true)
      }
  })

  it('renaming preserves which keys are equal', () => {
    const [to] = renamings[0] ?? []
    if (to === undefined) throw new Error('no renaming')
    const keys = terms.map(normalKey)
    const renamedKeys = terms.map((t) => normalKey(renameTerm(t, to)))
    for (let i = 0; i < terms.length; i++)
      for (let j = i + 1; j < terms.length; j++)
        expect(renamedKeys[i] === renamedKeys[j]).toBe(keys[i] === keys[j])
  })
})

describe('equivalent', () => {
  const laws = lawCatalogue()

  it('proves structural equalities with a proof the checker accepts', () => {
    const a = seq(copy(k), par(relu('k'), drop(k)))
    const r = equivalent(a, relu('k'))
    if (r.kind !== 'proof') throw new Error(r.kind)
    expect(r.proof.steps.map((s) => s.rule)).toEqual(['structural/normal-form'])
    expect(E.isRight(checkProof(r.proof, laws))).toBe(true)
    expect(termEquals(r.proof.lhs, a) && termEquals(r.proof.rhs, relu('k'))).toBe(true)
  })

  const counterexample = (a: Term, b: Term): void => {
    const r = equivalent(a, b)
    if (r.kind !== 'counterexample') throw new Error(`${r.kind}: ${show(a)} vs ${show(b)}`)
    const c = r.counterexample
    const x = evaluate(a, c.sizes, c.inputs, c.params)
    const y = evaluate(b, c.sizes, c.inputs, c.params)
    const l = x[c.output]?.[c.entry]
    const rr = y[c.output]?.[c.entry]
    expect(l).toBe(c.left)
    expect(rr).toBe(c.right)
    expect(Math.abs((l ?? 0) - (rr ?? 0))).toBeGreaterThan(1e-9)
    // It is the first differing entry of that output.
    const first = Array.from(x[c.output] ?? []).findIndex(
      (p, j) => Math.abs(p - ((y[c.output] ?? [])[j] ?? 0)) > 1e-9 * Math.max(1, Math.abs(p)),
    )
    expect(first).toBe(c.entry)
  }

  it('refutes with a counterexample whose entry really differs', () => {
    counterexample(relu('k'), tanh('k'))
    counterexample(broadcast(softmax('x'), ['y']), broadcast(softmax('y'), ['x'], { at: 'last' }))
    counterexample(einsum('i j -> j i', { dims: { i: 'a', j: 'a' } }), id([['a', 'a']]))
    counterexample(linearLayer('A', 'x', 'h'), linearLayer('B', 'x', 'h'))
    counterexample(par(relu('k'), relu('x')), par(relu('k'), tanh('x')))
  })

  it('refutes terms of different types at once, naming both; unknown where nothing decides', () => {
    const types = equivalent(relu('k'), mean('k'))
    expect(types.kind).toBe('different-types')
    expect(types.kind === 'different-types' ? types.reason : '').toMatch(
      /different types: \[k\] -> \[k\] and \[k\] -> \[\]/,
    )
    const idem = equivalent(seq(relu('k'), relu('k')), relu('k'))
    expect(idem.kind).toBe('unknown')
    expect(idem.kind === 'unknown' ? idem.reason : '').toMatch(/20 random trials .* no difference/)
    expect(equivalent(relu('k'), tanh('k'), { trials: 0 }).kind).toBe('unknown')
  })
})

describe('rules as values', () => {
  it('a rule is frozen data with its conditions and source', () => {
    const r: Rule = rule('test/x', P.seq(f, g), P.seq(f, g), {
      when: [holds('anything', () => true)],
      source: 'Fig. 0',
    })
    expect(Object.isFrozen(r)).toBe(true)
    expect(r.source).toBe('Fig. 0')
    expect(r.given).toEqual([])
  })
})
