/**
 * Strategies: where and how often rules are applied. Every run returns the trace of its steps;
 * a run to a fixed point also reports, for every rule, how often it was tried and applied and why
 * it was blocked where its pattern's head fitted.
 *
 * @packageDocumentation
 */
import { isTermNode } from '../core/term.js'
import * as E from 'fp-ts/lib/Either.js'
import { dataEquals } from '../core/equal.js'
import { fail } from '../core/errors.js'
import { type Term, children } from '../core/term.js'
import { type Bindings, matchAll, matchWindow } from './match.js'
import { type Location, type Path, nodeAt } from './path.js'
import { type Pattern, isNamed } from './pattern.js'
import {
  type Blocked,
  type Direction,
  type Rewritten,
  type Rule,
  type Step,
  applyAt,
} from './rule.js'

/** A rule and the direction to use it in. */
export type Oriented = Rule | { readonly rule: Rule; readonly direction: Direction }

const orient = (o: Oriented): { rule: Rule; direction: Direction } =>
  'rule' in o ? o : { rule: o, direction: 'forward' }

/**
 * Apply a rule once at a location; throws a `TermError` saying why when it does not apply.
 *
 * @example
 * ```ts
 * import { rewriteAt, rule, P, v, seq, relu, tanh, show } from 'neural-circuit-diagrams'
 * const swapFG = rule('my/swap', P.seq(v.term('f'), v.term('g')), P.seq(v.term('g'), v.term('f')))
 * show(rewriteAt(swapFG, { path: [] })(seq(relu('k'), tanh('k'))).term) // 'tanh[k] ; relu[k]'
 * ```
 */
export const rewriteAt =
  (r: Rule, location: Location, direction: Direction = 'forward') =>
  (t: Term): Rewritten => {
    const result = applyAt(r, t, location, direction)
    if (E.isLeft(result))
      return fail('bad-argument', `rewrite: ${result.left.message}`, {
        expected: `a sub-term matching ${r.name} (${direction})`,
        got: `${result.left.reason} at /${location.path.join('/')}`,
      })
    return result.right
  }

const patternHead = (p: Pattern): string | undefined =>
  isNamed(p)
    ? patternHead(p.pattern)
    : typeof p === 'object' &&
        p !== null &&
        !Array.isArray(p) &&
        typeof (p as { kind?: unknown }).kind === 'string'
      ? (p as { kind: string }).kind === 'meta' || (p as { kind: string }).kind === 'computed'
        ? undefined
        : (p as { kind: string }).kind
      : undefined

const partsOf = (p: Pattern): number =>
  isNamed(p) ? partsOf(p.pattern) : ((p as { parts?: ReadonlyArray<Pattern> }).parts ?? []).length

/** The candidate locations at one node: the node, or windows of a seq or par. */
const locationsAt = (node: Term, path: Path, from: Pattern): Location[] => {
  const head = patternHead(from)
  if (head !== undefined && head !== node.kind && !isTermNode(from)) return []
  if ((head === 'seq' || head === 'par') && (node.kind === 'seq' || node.kind === 'par')) {
    const n = partsOf(from)
    const m = node.parts.length
    if (n > m) return []
    const out: Location[] = [{ path }]
    if (n < m) for (let s = 0; s + n <= m; s++) out.push({ path, range: [s, s + n] })
    return out
  }
  return [{ path }]
}

/** A place where a rule matches (its conditions and typing are checked when applied). */
export interface Match {
  readonly location: Location
  readonly bindings: Bindings
}

/**
 * Every match of a rule in a term: at every node, and at every window of consecutive parts of a
 * seq or par as long as the pattern (term metavariables then take one part each).
 *
 * @example
 * ```ts
 * import { findMatches, rule, P, v, seq, relu, tanh, mean } from 'neural-circuit-diagrams'
 * const pair = rule('my/pair', P.seq(v.term('f'), v.term('g')), P.seq(v.term('f'), v.term('g')))
 * findMatches(pair, seq(relu('k'), tanh('k'), mean('k'))).length // 4
 * ```
 */
export const findMatches = (r: Rule, t: Term, direction: Direction = 'forward'): Match[] => {
  const from = direction === 'forward' ? r.lhs : r.rhs
  const out: Match[] = []
  const walk = (node: Term, path: number[]) => {
    for (const location of locationsAt(node, path, from)) {
      const found =
        location.range === undefined
          ? matchAll(from, node)
          : matchWindow(from, node, location.range[0], location.range[1])
      for (const bindings of found) out.push({ location, bindings })
    }
    children(node).forEach((c, i) => walk(c, [...path, i]))
  }
  walk(t, [])
  return out
}

/** Order of a traversal: outermost (pre-order, root first) or innermost (post-order). */
export type Order = 'outermost' | 'innermost'

const visit = (t: Term, order: Order, f: (node: Term, path: Path) => boolean): boolean => {
  const walk = (node: Term, path: number[]): boolean => {
    if (order === 'outermost' && f(node, path)) return true
    const cs = children(node)
    for (let i = 0; i < cs.length; i++) if (walk(cs[i] as Term, [...path, i])) return true
    return order === 'innermost' && f(node, path)
  }
  return walk(t, [])
}

/** What a fixed-point run did with one rule. */
export interface RuleReport {
  readonly rule: string
  readonly direction: Direction
  /** Locations where the pattern's head fitted and a match was attempted. */
  tried: number
  applied: number
  /** Why it was blocked where it was tried, with counts. */
  readonly blocked: Map<string, number>
}

/** The result of a strategy run. */
export interface Run {
  readonly term: Term
  readonly steps: ReadonlyArray<Step>
  /** Whether no rule applies anywhere any more. */
  readonly fixedPoint: boolean
  readonly report: ReadonlyArray<RuleReport>
}

const tryOnce = (
  rules: ReadonlyArray<{ rule: Rule; direction: Direction }>,
  t: Term,
  order: Order,
  reports: RuleReport[] | undefined,
): Rewritten | undefined => {
  let found: Rewritten | undefined
  visit(t, order, (node, path) => {
    for (let i = 0; i < rules.length; i++) {
      const { rule: r, direction } = rules[i] as { rule: Rule; direction: Direction }
      const from = direction === 'forward' ? r.lhs : r.rhs
      for (const location of locationsAt(node, path, from)) {
        const report = reports?.[i]
        if (report !== undefined) report.tried++
        const result = applyAt(r, t, location, direction)
        // A step that changes nothing (category/assoc on a flattened term) is no progress.
        if (E.isRight(result) && !dataEquals(result.right.term, t)) {
          if (report !== undefined) report.applied++
          found = result.right
          return true
        }
        if (E.isLeft(result) && report !== undefined) note(report, result.left)
      }
    }
    return false
  })
  return found
}

const note = (report: RuleReport, b: Blocked): void => {
  const key = b.reason === 'no-match' ? 'no match' : `${b.reason}: ${b.message}`
  report.blocked.set(key, (report.blocked.get(key) ?? 0) + 1)
}

/**
 * Apply the first applicable rule at the first location in the given order, once.
 *
 * @example
 * ```ts
 * import { rewriteOnce, rule, P, v, seq, id, relu, show } from 'neural-circuit-diagrams'
 * const idLeft = rule('my/id-left', P.seq(P.id(v.dom('f')), v.term('f')), v.term('f'))
 * show(rewriteOnce([idLeft])(seq(relu('k'), id([['k']]), relu('k')))?.term ?? relu('k')) // 'relu[k] ; relu[k]'
 * ```
 */
export const rewriteOnce =
  (rules: ReadonlyArray<Oriented>, options: { order?: Order } = {}) =>
  (t: Term): Rewritten | undefined =>
    tryOnce(rules.map(orient), t, options.order ?? 'outermost', undefined)

/** Options of {@link rewriteRepeat}. */
export interface RepeatOptions {
  readonly order?: Order
  /** Stop after this many steps (default 1000); the run then says it is not at a fixed point. */
  readonly maxSteps?: number
}

/**
 * Apply rules until none applies (or the step bound is reached), outermost or innermost first.
 *
 * @example
 * ```ts
 * import { rewriteRepeat, rule, P, v, seq, id, relu, show } from 'neural-circuit-diagrams'
 * const idLeft = rule('my/id-left', P.seq(P.id(v.dom('f')), v.term('f')), v.term('f'))
 * const run = rewriteRepeat([idLeft])(seq(id([['k']]), relu('k'), id([['k']]), relu('k')))
 * show(run.term) // 'relu[k] ; relu[k]'
 * run.steps.length // 2
 * run.fixedPoint // true
 * ```
 */
export const rewriteRepeat =
  (rules: ReadonlyArray<Oriented>, options: RepeatOptions = {}) =>
  (t: Term): Run => {
    const oriented = rules.map(orient)
    const reports: RuleReport[] = oriented.map(({ rule: r, direction }) => ({
      rule: r.name,
      direction,
      tried: 0,
      applied: 0,
      blocked: new Map(),
    }))
    const max = options.maxSteps ?? 1000
    const steps: Step[] = []
    let term = t
    while (steps.length < max) {
      const next = tryOnce(oriented, term, options.order ?? 'outermost', reports)
      if (next === undefined) return { term, steps, fixedPoint: true, report: reports }
      steps.push(next.step)
      term = next.term
    }
    const more = tryOnce(oriented, term, options.order ?? 'outermost', undefined) !== undefined
    return { term, steps, fixedPoint: !more, report: reports }
  }

/** Check that a location names a node of the term (for users' own drivers). */
export const assertLocation = (t: Term, l: Location): void => {
  nodeAt(t, l.path)
}
