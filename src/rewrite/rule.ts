/**
 * Rules (laws): a name, a left and a right pattern, side conditions, and the paper's source. A
 * rule rewrites a sub-term matching one side into the other side instantiated with the same
 * bindings; both directions are available unless the rule says it is one-way. Built-in laws and
 * users' rules are made the same way, with {@link rule}.
 *
 * @packageDocumentation
 */
import { isTermNode } from '../core/term.js'
import * as E from 'fp-ts/lib/Either.js'
import { dataEquals } from '../core/equal.js'
import { TermError, fail } from '../core/errors.js'
import { show } from '../core/show.js'
import type { Term } from '../core/term.js'
import { showType, typeEquals } from '../core/types.js'
import {
  type Bindings,
  type Bound,
  instantiate,
  matchAll,
  matchFirst,
  matchWindow,
  showBindings,
} from './match.js'
import { type Location, nodeAt, replaceAt, showLocation, subtermAt } from './path.js'
import {
  type Computed,
  type Pattern,
  type Sort,
  isComputed,
  isMeta,
  isNamed,
  showPattern,
} from './pattern.js'

/** A side condition on the bindings of a rule. */
export type Condition =
  | { readonly kind: 'linear'; readonly term: string }
  | { readonly kind: 'multilinear'; readonly term: string }
  | {
      readonly kind: 'same'
      /** Two computed types (`v.dom('h')`, `v.cod('f')`) that must be equal. */
      readonly left: Computed
      readonly right: Computed
    }
  | {
      readonly kind: 'typed'
      readonly term: string
      /** Tuple-type patterns that the term's domain and codomain match. */
      readonly dom: Pattern
      readonly cod: Pattern
    }
  | {
      readonly kind: 'holds'
      /** What the condition asks, for reports: "?f is element-wise". */
      readonly description: string
      readonly test: (b: Bindings) => boolean
    }

/** `?name` is linear (paper Fig. 16): the analysis of `linearity.ts` says so. */
export const linear = (term: string): Condition => ({ kind: 'linear', term })
/** `?name` is multilinear or linear (paper section 2.4.1). */
export const multilinear = (term: string): Condition => ({ kind: 'multilinear', term })
/**
 * Two types computed from bound terms are equal, e.g. `same(v.cod('f'), v.dom('h'))`: the types
 * that make a pattern's pieces fit together (the generator of `checkLaw` draws by them).
 */
export const same = (left: Computed, right: Computed): Condition => ({ kind: 'same', left, right })

/**
 * `?name : dom -> cod`: the term's domain and codomain match tuple-type patterns, e.g.
 * `typed('f', [[a]], [[b]])` with dim metavariables `a`, `b` (f maps one axis to one axis), or
 * `typed('f', [[S]], [[T]])` with shape metavariables (one segment each). Metavariables the rule
 * binds keep their values; the others are local to the condition. The generator of `checkLaw`
 * draws the types first, then ?name at them.
 */
export const typed = (term: string, dom: Pattern, cod: Pattern): Condition => ({
  kind: 'typed',
  term,
  dom,
  cod,
})

/** A condition given by a test on the bindings. */
export const holds = (description: string, test: (b: Bindings) => boolean): Condition => ({
  kind: 'holds',
  description,
  test,
})

/** Which way a rule is used. */
export type Direction = 'forward' | 'backward'

/** A law. */
export interface Rule {
  /** `family/kebab-name`: API, cited by proofs; never renamed without an alias. */
  readonly name: string
  readonly lhs: Pattern
  readonly rhs: Pattern
  readonly when: ReadonlyArray<Condition>
  /** Where the paper states it: 'Fig. 17', 'section 2.4.1'. */
  readonly source: string
  /** Whether the rule may be used right to left. */
  readonly bidirectional: boolean
  /**
   * Metavariables a step supplies rather than the match binds (the target of a conversion);
   * they are recorded in the step's bindings like the others.
   */
  readonly given: ReadonlyArray<string>
}

/** Options of {@link rule}. */
export interface RuleOptions {
  readonly when?: ReadonlyArray<Condition>
  readonly source?: string
  /** Only left to right (the right side loses information, or the left binds more). */
  readonly oneWay?: boolean
  /** Metavariables each step supplies (see {@link Rule.given}); implies one-way. */
  readonly given?: ReadonlyArray<string>
}

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*\/[a-z0-9]+(-[a-z0-9]+)*$/

/**
 * The metavariables a pattern binds, those it only refers to (in computed values), and those it
 * uses with two sorts (such a pattern never matches: a binding has one sort).
 */
const metavariables = (
  p: Pattern,
): { binds: Map<string, Sort>; refers: Set<string>; builds: boolean; clashes: Set<string> } => {
  const binds = new Map<string, Sort>()
  const refers = new Set<string>()
  const clashes = new Set<string>()
  let builds = false
  const bindAs = (name: string, sort: Sort): void => {
    const old = binds.get(name)
    if (old !== undefined && old !== sort) clashes.add(name)
    binds.set(name, sort)
  }
  const walk = (q: Pattern): void => {
    if (q === undefined || typeof q !== 'object' || q === null) return
    if (Array.isArray(q)) return q.forEach(walk)
    if (isMeta(q)) {
      bindAs(q.name, q.sort)
      return
    }
    if (isComputed(q)) {
      if (q.op === 'concat') q.parts.forEach(walk)
      else if (q.op === 'build') builds = true
      else refers.add(q.term)
      return
    }
    if (isNamed(q)) {
      bindAs(q.name, 'term')
      walk(q.pattern)
      return
    }
    if (isTermNode(q)) return
    Object.values(q as Record<string, Pattern>).forEach(walk)
  }
  walk(p)
  return { binds, refers, builds, clashes }
}

/**
 * Declare a law. Refuses a malformed name, a side whose metavariables the other side does not
 * bind (checked in both directions unless `oneWay`), a metavariable used with two sorts, and a
 * condition on an unbound metavariable.
 *
 * @example
 * ```ts
 * import { rule, P, v, show, seq, id, relu, rewriteAt } from 'neural-circuit-diagrams'
 * const idLeft = rule('my/id-left', P.seq(P.id(v.dom('f')), v.term('f')), v.term('f'))
 * const t = seq(id([['k']]), relu('k'))
 * show(rewriteAt(idLeft, { path: [] })(t).term) // 'relu[k]'
 * ```
 */
export const rule = (name: string, lhs: Pattern, rhs: Pattern, options: RuleOptions = {}): Rule => {
  if (!NAME.test(name))
    fail('bad-argument', `rule: '${name}' is not a law name`, {
      expected: "'family/kebab-name', such as 'category/id-left'",
      got: JSON.stringify(name),
    })
  const l = metavariables(lhs)
  const r = metavariables(rhs)
  for (const [side, m] of [
    ['left', l],
    ['right', r],
  ] as const)
    for (const v of m.clashes)
      fail('bad-argument', `rule ${name}: ?${v} is used with two sorts on the ${side}`, {
        expected: 'one sort (term, dim, shape, type or value) per metavariable',
        got: `?${v} used as two sorts`,
      })
  for (const [v, sort] of r.binds)
    if (l.binds.has(v) && l.binds.get(v) !== sort)
      fail(
        'bad-argument',
        `rule ${name}: ?${v} is a ${l.binds.get(v)} on the left and a ${sort} on the right`,
        { expected: `?${v} as a ${l.binds.get(v)} on both sides`, got: `a ${sort} on the right` },
      )
  const given = new Set(options.given ?? [])
  const unbound = (
    need: ReturnType<typeof metavariables>,
    have: ReturnType<typeof metavariables>,
  ) => [...need.binds.keys(), ...need.refers].filter((v) => !have.binds.has(v) && !given.has(v))
  const missingRight = unbound(r, l)
  if (missingRight.length > 0)
    fail('bad-argument', `rule ${name}: the right side uses metavariables the left does not bind`, {
      expected: `only ${[...l.binds.keys()].map((v) => `?${v}`).join(', ')}`,
      got: missingRight.map((v) => `?${v}`).join(', '),
      hint: 'bind them on the left, or compute them (v.dom, v.cod) from bound terms',
    })
  const missingLeft = unbound(l, r).filter((v) => !l.refers.has(v) || !r.binds.has(v))
  const leftOnly = [...l.binds.keys()].filter((v) => !r.binds.has(v) && !r.refers.has(v))
  if (!options.oneWay && given.size === 0 && (l.builds || r.builds))
    fail('bad-argument', `rule ${name}: a side built by a function (v.build) cannot be matched`, {
      expected: '{ oneWay: true } for a rule whose right side is built',
      got: 'a two-way rule',
    })
  if (
    !options.oneWay &&
    given.size === 0 &&
    (leftOnly.length > 0 || missingLeft.some((v) => !l.binds.has(v)))
  )
    fail('bad-argument', `rule ${name}: the left side binds metavariables the right does not`, {
      expected: 'the same metavariables on both sides of a two-way rule',
      got: leftOnly.map((v) => `?${v}`).join(', '),
      hint: 'declare it { oneWay: true }, or mention them on the right',
    })
  for (const c of options.when ?? []) {
    const named =
      c.kind === 'linear' || c.kind === 'multilinear' || c.kind === 'typed'
        ? [c.term]
        : c.kind === 'same'
          ? [...metavariables(c.left).refers, ...metavariables(c.right).refers]
          : []
    for (const term of named)
      if (!l.binds.has(term))
        fail(
          'bad-argument',
          `rule ${name}: a condition names ?${term}, which the left does not bind`,
          {
            expected: `a metavariable of the left side: ${[...l.binds.keys()].map((v) => `?${v}`).join(', ')}`,
            got: `?${term}`,
          },
        )
  }
  return Object.freeze({
    name,
    lhs,
    rhs,
    when: Object.freeze([...(options.when ?? [])]),
    source: options.source ?? '',
    bidirectional: !options.oneWay && given.size === 0,
    given: Object.freeze([...given]),
  })
}

/** Why a rule did not apply. */
export interface Blocked {
  readonly reason: 'no-match' | 'condition' | 'type' | 'direction' | 'location'
  readonly message: string
}

/** One rewrite: the data of a proof step. */
export interface Step {
  readonly rule: string
  readonly direction: Direction
  readonly location: Location
  readonly bindings: Bindings
}

/** The result of a rewrite. */
export interface Rewritten {
  readonly term: Term
  readonly step: Step
}

const computedType = (c: Computed, b: Bindings): unknown => {
  if (c.op !== 'dom' && c.op !== 'cod') return undefined
  const t = b.get(c.term)?.value as Term | undefined
  return t === undefined ? undefined : c.op === 'dom' ? t.dom : t.cod
}

const conditionHolds = (c: Condition, b: Bindings): boolean => {
  if (c.kind === 'holds') return c.test(b)
  if (c.kind === 'typed') {
    const t = b.get(c.term)?.value as Term | undefined
    if (t === undefined) return false
    for (const d of matchAll(c.dom, t.dom, b))
      if (matchFirst(c.cod, t.cod, d) !== undefined) return true
    return false
  }
  if (c.kind === 'same') {
    const l = computedType(c.left, b)
    return l !== undefined && dataEquals(l, computedType(c.right, b))
  }
  const t = b.get(c.term)?.value as Term | undefined
  if (t === undefined) return false
  return c.kind === 'linear' ? t.linearity === 'linear' : t.linearity !== 'nonlinear'
}

const describeCondition = (c: Condition): string =>
  c.kind === 'holds'
    ? c.description
    : c.kind === 'typed'
      ? `?${c.term} : ${showPattern(c.dom)} -> ${showPattern(c.cod)}`
      : c.kind === 'same'
        ? `${showPattern(c.left)} = ${showPattern(c.right)}`
        : `?${c.term} is ${c.kind}`

const sides = (r: Rule, d: Direction): readonly [Pattern, Pattern] =>
  d === 'forward' ? [r.lhs, r.rhs] : [r.rhs, r.lhs]

/** One match's rewrite: its conditions, the other side's instance, and its type. */
const rewriteWith = (
  r: Rule,
  t: Term,
  location: Location,
  direction: Direction,
  to: Pattern,
  redex: Term,
  b: Bindings,
): E.Either<Blocked, Rewritten> => {
  const failed = r.when.find((c) => !conditionHolds(c, b))
  if (failed !== undefined)
    return E.left({
      reason: 'condition',
      // Worded when read: the search meets many failed conditions and reports one per law.
      get message() {
        return `${r.name}: ${describeCondition(failed)} fails for ${showBindings(b)}`
      },
    })
  let result: Term
  try {
    result = instantiate(to, b)
  } catch (e) {
    if (!(e instanceof TermError)) throw e
    return E.left({
      reason: 'type',
      message: `${r.name}: the other side does not type-check: ${e.summary}`,
    })
  }
  if (!typeEquals(result.dom, redex.dom) || !typeEquals(result.cod, redex.cod))
    return E.left({
      reason: 'type',
      message: `${r.name}: gives ${showType(result.dom)} -> ${showType(result.cod)} for a redex of ${showType(redex.dom)} -> ${showType(redex.cod)}`,
    })
  return E.right({
    term: replaceAt(t, location, result),
    step: { rule: r.name, direction, location, bindings: b },
  })
}

/**
 * The rewrite by one match already found: `b` must come from matching the rule's side (in
 * `direction`) at `location` of `t`, as `matchAll` or `matchWindow` give it. The conditions,
 * the instance and its type are checked as {@link applyAt} checks each candidate, without
 * matching again (the search's inner loop; its steps are replayed by `checkProof` through
 * `applyAt`). A rule whose steps supply values (`given`) is refused. @internal
 */
export const applyMatch = (
  r: Rule,
  t: Term,
  location: Location,
  direction: Direction,
  b: Bindings,
): E.Either<Blocked, Rewritten> => {
  if (direction === 'backward' && !r.bidirectional)
    return E.left({ reason: 'direction', message: `${r.name} is one-way (left to right only)` })
  if (r.given.length > 0)
    return E.left({ reason: 'no-match', message: `${r.name}: its steps supply values` })
  let redex: Term
  try {
    redex = subtermAt(t, location)
  } catch (e) {
    if (e instanceof TermError) return E.left({ reason: 'location', message: e.summary })
    throw e
  }
  return rewriteWith(r, t, location, direction, sides(r, direction)[1], redex, b)
}

/**
 * Try the matches of a rule at one location in order; the first whose conditions hold and whose
 * instance has the redex's type wins. `bindings`, when given, must be the match's bindings
 * exactly (proof replay).
 */
export const applyAt = (
  r: Rule,
  t: Term,
  location: Location,
  direction: Direction = 'forward',
  expected?: Bindings,
  supplied?: Bindings,
): E.Either<Blocked, Rewritten> => {
  if (direction === 'backward' && !r.bidirectional)
    return E.left({ reason: 'direction', message: `${r.name} is one-way (left to right only)` })
  let node: Term
  let redex: Term
  try {
    node = nodeAt(t, location.path)
    redex = subtermAt(t, location)
  } catch (e) {
    if (e instanceof TermError) return E.left({ reason: 'location', message: e.summary })
    throw e
  }
  const [from, to] = sides(r, direction)
  // The metavariables a step supplies start the match (from the recorded step on replay).
  const initial = new Map<string, Bound>()
  for (const name of r.given) {
    const b = supplied?.get(name) ?? expected?.get(name)
    if (b === undefined)
      return E.left({ reason: 'no-match', message: `${r.name}: the step does not supply ?${name}` })
    // A recorded step is data (a decoded document): its value must be of the sort the rule uses.
    const sort = metavariables(r.lhs).binds.get(name) ?? metavariables(r.rhs).binds.get(name)
    if (sort !== undefined && b.sort !== sort)
      return E.left({
        reason: 'no-match',
        message: `${r.name}: the step supplies ?${name} as a ${b.sort}, not a ${sort}`,
      })
    initial.set(name, b)
  }
  const candidates =
    location.range === undefined
      ? matchAll(from, redex, initial)
      : matchWindow(from, node, location.range[0], location.range[1], initial)
  // Printed only when nothing else blocked the step (printing a redex costs its size).
  let blocked: Blocked | undefined
  for (const b of candidates) {
    if (expected !== undefined && !sameBindings(b, expected)) {
      blocked = {
        reason: 'no-match',
        message: `${r.name}: the match binds ${showBindings(b)}, not the recorded ${showBindings(expected)}${bindingDifference(b, expected)}`,
      }
      continue
    }
    const done = rewriteWith(r, t, location, direction, to, redex, b)
    if (E.isRight(done)) return done
    blocked = done.left
  }
  return E.left(
    blocked ?? {
      reason: 'no-match',
      message: `${r.name}: ${showPattern(from)} does not match ${show(redex, { maxLength: 120 })}`,
    },
  )
}

/**
 * Where two data values first differ, as a path into them (`.body.parts[1].name`) and both
 * values, or `undefined` when they are equal. Printed terms can agree where the data does not
 * (a parameter's name inside a box, a default size), so a mismatch names the field.
 */
const firstDifference = (x: unknown, y: unknown, path = ''): string | undefined => {
  if (dataEquals(x, y)) return undefined
  const shown = (v: unknown): string => {
    const s =
      typeof v === 'object' && v !== null
        ? isTermNode(v)
          ? show(v)
          : JSON.stringify(v)
        : String(v)
    return s.length > 60 ? `${s.slice(0, 57)}...` : s
  }
  if (Array.isArray(x) && Array.isArray(y)) {
    if (x.length !== y.length) return `${path || 'the value'}: ${x.length} entries, not ${y.length}`
    for (let i = 0; i < x.length; i++) {
      const d = firstDifference(x[i], y[i], `${path}[${i}]`)
      if (d !== undefined) return d
    }
  } else if (typeof x === 'object' && x !== null && typeof y === 'object' && y !== null) {
    const xr = x as Record<string, unknown>
    const yr = y as Record<string, unknown>
    for (const k of new Set([...Object.keys(xr), ...Object.keys(yr)])) {
      if (['dom', 'cod', 'linearity', 'poly'].includes(k)) continue
      if (!(k in xr) || !(k in yr))
        return `${path}.${k}: ${k in xr ? 'present' : 'absent'}, not ${k in yr ? 'present' : 'absent'}`
      const d = firstDifference(xr[k], yr[k], `${path}.${k}`)
      if (d !== undefined) return d
    }
  }
  return `${path || 'the value'}: ${shown(x)}, not ${shown(y)}`
}

/** The first metavariable whose bound values differ, and where: for a mismatch message. */
const bindingDifference = (a: Bindings, b: Bindings): string => {
  for (const [k, x] of a) {
    const y = b.get(k)
    if (y === undefined) return ` (?${k} is not recorded)`
    if (y.sort !== x.sort) return ` (?${k} is a ${x.sort}, recorded as a ${y.sort})`
    const d = firstDifference(x.value, y.value)
    if (d !== undefined) return ` (?${k} differs at ${d})`
  }
  for (const k of b.keys()) if (!a.has(k)) return ` (?${k} is recorded but not bound)`
  return ''
}

const sameBindings = (a: Bindings, b: Bindings): boolean => {
  if (a.size !== b.size) return false
  for (const [k, x] of a) {
    const y = b.get(k)
    if (y === undefined || y.sort !== x.sort || !dataEquals(x.value, y.value)) return false
  }
  return true
}

/**
 * Print a step: `category/id-left → at /2[0..2) with ?f = relu[k]`. A step built in plain
 * JavaScript without `bindings` prints as one with none (so a failing step is reported, not thrown).
 */
export const showStep = (s: Step): string =>
  `${s.rule} ${s.direction === 'forward' ? '→' : '←'} at ${showLocation(s.location)}${(s.bindings?.size ?? 0) > 0 ? ` with ${showBindings(s.bindings)}` : ''}`
