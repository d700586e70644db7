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
  applyMatch,
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
  /**
   * Match attempts at locations where the pattern's head fitted. {@link rewriteRepeat} attempts a
   * location again only after a step changed its sub-term.
   */
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

/**
 * `applyAt` without its message for a pattern that does not match (which prints the redex, as
 * long as the whole term at the root): a strategy only counts such blocks. The same matches are
 * tried in the same order, each by `applyMatch`, so the outcome is the same.
 */
const attempt = (
  r: Rule,
  t: Term,
  location: Location,
  direction: Direction,
): E.Either<Blocked, Rewritten> => {
  if ((direction === 'backward' && !r.bidirectional) || r.given.length > 0)
    return applyAt(r, t, location, direction)
  const from = direction === 'forward' ? r.lhs : r.rhs
  let node: Term
  try {
    node = nodeAt(t, location.path)
  } catch {
    return applyAt(r, t, location, direction)
  }
  const found =
    location.range === undefined
      ? matchAll(from, node)
      : matchWindow(from, node, location.range[0], location.range[1])
  let blocked: Blocked | undefined
  for (const b of found) {
    const done = applyMatch(r, t, location, direction, b)
    if (E.isRight(done)) return done
    blocked = done.left
  }
  return E.left(blocked ?? { reason: 'no-match', message: `${r.name}: no match` })
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
        const result = attempt(r, t, location, direction)
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
 * A node of the term being rewritten, in a mutable mirror of its tree: the agenda names nodes by
 * these sites, not by paths, so a step that changes how many parts a seq or par has shifts the
 * later parts' indexes (kept up to date here) without touching the candidates queued on them.
 */
interface Site {
  term: Term
  parent: Site | undefined
  index: number
  kids: Site[]
  dead: boolean
  readonly id: number
  /** This site's candidates on the agenda, by `rule` (whole node) or `rule:anchorId` (window). */
  readonly queued: Map<string, Candidate>
}

/** A candidate: a rule at a site's whole node, or at the window of parts starting at `anchor`. */
interface Candidate {
  readonly site: Site
  readonly rule: number
  readonly anchor: Site | undefined
  /** Its place in the agenda's heap. */
  pos: number
}

const keyOf = (rule: number, anchor: Site | undefined): string =>
  anchor === undefined ? `${rule}` : `${rule}:${anchor.id}`

const pathOf = (s: Site): number[] => {
  const out: number[] = []
  for (let x: Site | undefined = s; x?.parent !== undefined; x = x.parent) out.push(x.index)
  return out.reverse()
}

/** Traversal order of two nodes' paths: pre-order (outermost) or post-order (innermost). */
const comparePaths = (a: ReadonlyArray<number>, b: ReadonlyArray<number>, order: Order): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number)
  return order === 'outermost' ? a.length - b.length : b.length - a.length
}

/**
 * The candidates not yet known to fail, first in the strategy's order on top: a binary heap whose
 * entries know their place, so the candidates of a removed sub-term leave it at once (the order of
 * the live ones never changes: a step shifts the later parts of a seq or par all alike).
 */
class Agenda {
  private readonly items: Candidate[] = []
  constructor(private readonly order: Order) {}
  private less(a: Candidate, b: Candidate): boolean {
    if (a.site !== b.site) {
      const c = comparePaths(pathOf(a.site), pathOf(b.site), this.order)
      if (c !== 0) return c < 0
    }
    if (a.rule !== b.rule) return a.rule < b.rule
    return (a.anchor?.index ?? -1) < (b.anchor?.index ?? -1)
  }
  private put(c: Candidate, i: number): void {
    this.items[i] = c
    c.pos = i
  }
  private up(i: number): void {
    const h = this.items
    const c = h[i] as Candidate
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = h[parent] as Candidate
      if (!this.less(c, p)) break
      this.put(p, i)
      i = parent
    }
    this.put(c, i)
  }
  private down(i: number): void {
    const h = this.items
    const c = h[i] as Candidate
    for (;;) {
      const l = 2 * i + 1
      if (l >= h.length) break
      const r = l + 1
      const m = r < h.length && this.less(h[r] as Candidate, h[l] as Candidate) ? r : l
      if (!this.less(h[m] as Candidate, c)) break
      this.put(h[m] as Candidate, i)
      i = m
    }
    this.put(c, i)
  }
  push(site: Site, rule: number, anchor: Site | undefined): void {
    const key = keyOf(rule, anchor)
    if (site.queued.has(key)) return
    const c: Candidate = { site, rule, anchor, pos: this.items.length }
    site.queued.set(key, c)
    this.items.push(c)
    this.up(c.pos)
  }
  remove(c: Candidate): void {
    c.site.queued.delete(keyOf(c.rule, c.anchor))
    const h = this.items
    const last = h.pop() as Candidate
    if (last === c) return
    this.put(last, c.pos)
    this.up(last.pos)
    this.down(last.pos)
  }
  pop(): Candidate | undefined {
    const top = this.items[0]
    if (top !== undefined) this.remove(top)
    return top
  }
}

/**
 * Apply rules until none applies (or the step bound is reached), outermost or innermost first.
 *
 * The steps are those of applying {@link rewriteOnce} again and again: each is the first
 * applicable (node, rule, location) in the order (pre-order for outermost, post-order for
 * innermost; at a node the rules in the given order, and for each its whole node, then its windows
 * of parts left to right). But the term is not scanned again from the root after each step: an
 * agenda holds the candidates not yet known to fail, and a step puts back only those whose
 * sub-term it changed: the whole nodes and the windows above the rewritten place that contain it,
 * the windows of its seq or par that overlap it, and everything inside the new sub-term. A
 * candidate elsewhere has the same redex as when it failed, so it fails again. On n snakes in a
 * row this makes the match attempts linear in n (they were quadratic). The report's `tried`
 * counts the attempts made, each location once until a step changes it.
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
    const order = options.order ?? 'outermost'
    const reports: RuleReport[] = oriented.map(({ rule: r, direction }) => ({
      rule: r.name,
      direction,
      tried: 0,
      applied: 0,
      blocked: new Map(),
    }))
    const froms = oriented.map(({ rule: r, direction }) =>
      direction === 'forward' ? r.lhs : r.rhs,
    )
    const heads = froms.map(patternHead)
    const widths = froms.map(partsOf)
    const max = options.maxSteps ?? 1000
    const steps: Step[] = []
    let term = t
    let nextId = 0
    const build = (node: Term, parent: Site | undefined, index: number): Site => {
      const site: Site = {
        term: node,
        parent,
        index,
        kids: [],
        dead: false,
        id: nextId++,
        queued: new Map(),
      }
      children(node).forEach((c, i) => site.kids.push(build(c, site, i)))
      return site
    }
    const kill = (s: Site): void => {
      s.dead = true
      for (const c of [...s.queued.values()]) agenda.remove(c)
      s.kids.forEach(kill)
    }
    /** Remove a sub-term's sites, and the windows of its seq or par that start at it. */
    const removeSite = (s: Site): void => {
      kill(s)
      const host = s.parent
      if (host !== undefined)
        for (let ri = 0; ri < oriented.length; ri++) {
          const c = host.queued.get(keyOf(ri, s))
          if (c !== undefined) agenda.remove(c)
        }
    }
    /** Whether the rule's pattern can sit at the site's whole node, and its windows' width (0: none). */
    const fit = (s: Site, ri: number): { whole: boolean; windows: number } => {
      const head = heads[ri]
      const node = s.term
      const from = froms[ri] as Pattern
      if (head !== undefined && head !== node.kind && !isTermNode(from))
        return { whole: false, windows: 0 }
      if ((head === 'seq' || head === 'par') && (node.kind === 'seq' || node.kind === 'par')) {
        const n = widths[ri] as number
        const m = node.parts.length
        if (n > m) return { whole: false, windows: 0 }
        return { whole: true, windows: n < m ? n : 0 }
      }
      return { whole: true, windows: 0 }
    }
    let root = build(t, undefined, 0)
    let agenda = new Agenda(order)
    /** Queue a site's whole node and its windows starting in [from, to], for every rule. */
    const queueAt = (s: Site, from: number, to: number): void => {
      for (let ri = 0; ri < oriented.length; ri++) {
        const f = fit(s, ri)
        if (f.whole) agenda.push(s, ri, undefined)
        if (f.windows > 0)
          for (let w = Math.max(0, from); w <= Math.min(to, s.kids.length - f.windows); w++)
            agenda.push(s, ri, s.kids[w])
      }
    }
    const queueAll = (s: Site): void => {
      queueAt(s, 0, s.kids.length)
      s.kids.forEach(queueAll)
    }
    const restart = (): void => {
      root = build(term, undefined, 0)
      agenda = new Agenda(order)
      queueAll(root)
    }
    queueAll(root)

    /** Mirror a step in the sites and queue what it changed; false when the tree is not as expected. */
    const update = (site: Site, anchor: Site | undefined, width: number, next: Term): boolean => {
      // The host whose parts changed (a seq or par), with the first changed part and how many
      // old parts went; or, under a broadcast, box or derivative (or at the root), the node itself.
      let host: Site | undefined = site
      let first = 0
      let removed = 0
      if (anchor !== undefined) {
        first = anchor.index
        removed = width
      } else if (site.parent !== undefined && ['seq', 'par'].includes(site.parent.term.kind)) {
        host = site.parent
        first = site.index
        removed = 1
      } else host = undefined
      const target = host ?? site
      // Walk down the new term along the path, checking the shape above the change.
      const path = pathOf(target)
      const chain: Site[] = []
      for (let x: Site | undefined = target; x !== undefined; x = x.parent) chain.unshift(x)
      let node = next
      for (let d = 0; d < path.length; d++) {
        const s = chain[d] as Site
        const cs = children(node)
        if (node.kind !== s.term.kind || cs.length !== s.kids.length) return false
        s.term = node
        node = cs[path[d] as number] as Term
      }
      if (host === undefined) {
        const fresh = build(node, site.parent, site.index)
        removeSite(site)
        if (site.parent === undefined) root = fresh
        else site.parent.kids[site.index] = fresh
        queueAll(fresh)
        queueAbove(fresh)
        return true
      }
      if (node.kind !== host.term.kind) return false
      const parts = children(node)
      const old = host.kids
      const added = parts.length - (old.length - removed)
      if (added < 1) return false
      // The kept parts must be the old ones, in order. A step's term comes from replaceAt, which
      // splices the new parts between the old ones (spliceParts), so on a long host only the
      // parts next to the change and at both ends are compared (every part would cost the
      // host's length per step); a short host is compared whole.
      const near = Math.max(1, ...widths)
      const kept = (i: number): boolean => {
        const j = i < first ? i : i - removed + added
        return parts[j] === (old[i] as Site).term
      }
      if (old.length <= 64) {
        for (let i = 0; i < old.length; i++)
          if ((i < first || i >= first + removed) && !kept(i)) return false
      } else {
        const edges = [0, old.length - 1]
        for (let d = 1; d <= near; d++) edges.push(first - d, first + removed - 1 + d)
        for (const i of edges)
          if (i >= 0 && i < old.length && (i < first || i >= first + removed) && !kept(i))
            return false
      }
      host.term = node
      const fresh = parts.slice(first, first + added).map((p, i) => build(p, host, first + i))
      old.slice(first, first + removed).forEach(removeSite)
      // In place: a copy of a long seq's sites per step would make a run quadratic in its length.
      old.splice(first, removed, ...fresh)
      for (let i = first; i < old.length; i++) (old[i] as Site).index = i
      const widest = Math.max(1, ...widths)
      queueAt(host, first - widest + 1, first + added - 1)
      fresh.forEach(queueAll)
      queueAbove(host)
      return true
    }
    /** Queue, at every ancestor, the whole node and the windows that contain the path below. */
    const queueAbove = (s: Site): void => {
      const widest = Math.max(1, ...widths)
      for (let x = s; x.parent !== undefined; x = x.parent)
        queueAt(x.parent, x.index - widest + 1, x.index)
    }

    /** The first applicable candidate on the agenda, applied (or only found, with `dry`). */
    const next = (report: boolean): { rewritten: Rewritten; c: Candidate } | undefined => {
      for (;;) {
        const c = agenda.pop()
        if (c === undefined) return undefined
        if (c.site.dead || c.anchor?.dead === true) continue
        const f = fit(c.site, c.rule)
        const n = widths[c.rule] as number
        if (
          c.anchor === undefined
            ? !f.whole
            : f.windows === 0 || c.anchor.index + n > c.site.kids.length
        )
          continue
        const path = pathOf(c.site)
        const location: Location =
          c.anchor === undefined ? { path } : { path, range: [c.anchor.index, c.anchor.index + n] }
        const { rule: r, direction } = oriented[c.rule] as { rule: Rule; direction: Direction }
        const rep = report ? reports[c.rule] : undefined
        if (rep !== undefined) rep.tried++
        const result = attempt(r, term, location, direction)
        // A step that changes nothing (category/assoc on a flattened term) is no progress.
        if (E.isRight(result) && !dataEquals(result.right.term, term)) {
          if (rep !== undefined) rep.applied++
          return { rewritten: result.right, c }
        }
        if (E.isLeft(result) && rep !== undefined) note(rep, result.left)
      }
    }
    while (steps.length < max) {
      const found = next(true)
      if (found === undefined) return { term, steps, fixedPoint: true, report: reports }
      const { rewritten, c } = found
      steps.push(rewritten.step)
      term = rewritten.term
      // The candidate itself may apply again (a rule whose result matches its own pattern).
      if (!update(c.site, c.anchor, widths[c.rule] as number, term)) restart()
    }
    const more = next(false) !== undefined
    return { term, steps, fixedPoint: !more, report: reports }
  }

/** Check that a location names a node of the term (for users' own drivers). */
export const assertLocation = (t: Term, l: Location): void => {
  nodeAt(t, l.path)
}
