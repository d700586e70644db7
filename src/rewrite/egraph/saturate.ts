/**
 * Equality saturation over an {@link EGraph} with the catalogue's own rules: each iteration
 * matches every law (both directions of a two-way law) at every node, at the root and at every
 * window of consecutive parts of a sequence or stack, adds the instances, merges them with the
 * matched node, substitutes the members of child classes into their parents (so a new form of a
 * child reaches the parent's matches), and rebuilds. It stops at a fixed point, at a goal, or at
 * a limit (nodes, iterations, wall time), and reports why and in which phase.
 *
 * Windows are sized by the pattern: a pattern of m parts is tried at windows of m to m + `window`
 * parts, not at every window, and the limits are checked inside every loop that grows with the
 * term (each window, each candidate match, each found rewrite, each substitution), so a term of
 * 10^3 or 10^4 nodes stops at its time limit instead of finishing an O(n⁴) iteration first
 * (bench/search.md).
 *
 * E-matching is by member enumeration: a pattern is matched against the concrete term of each
 * node, whose children are concrete terms too, with the same matcher (`match.ts`) that rewriting
 * uses; the substitution pass adds the combinations that the patterns need, a bounded number of
 * members per child class each iteration. It is incomplete where a pattern needs a combination
 * deeper than the iterations have built, and says so by stopping at its limits, never by a wrong
 * answer: every merge is a law step that `checkProof` replays.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { TermError, absurd } from '../../core/errors.js'
import { type Term, termSize } from '../../core/term.js'
import { type Bindings, matchAll, matchWindow } from '../match.js'
import type { Location } from '../path.js'
import { type Pattern, isMeta, isNamed } from '../pattern.js'
import { type Direction, type Rule, type Step, applyAt } from '../rule.js'
import { EGraph, sidesOf } from './egraph.js'

/** The limits of a saturation. */
export interface SaturationLimits {
  /** Stop when the e-graph holds this many nodes (default 3000). */
  readonly nodes?: number
  /** Stop after this many iterations (default 8). */
  readonly iterations?: number
  /** Stop after this many milliseconds of wall time (default 1000). */
  readonly timeMs?: number
  /** Members of a child class substituted into each parent per iteration (default 4). */
  readonly members?: number
  /** Matches tried per rule, direction and location (default 8). */
  readonly matches?: number
  /**
   * Parts a window of a sequence or stack may hold beyond the parts of the pattern matched there
   * (default 1): a pattern of m parts is tried at the windows of m to m + window parts. A
   * metavariable that takes several parts only repeats what the narrower windows give, one part
   * at a time, while every window of every width would cost O(n²) matches, each building an
   * O(n) term, on a sequence of n parts (a 10^3-part sequence would not finish an iteration).
   */
  readonly window?: number
}

/** Why a saturation stopped. */
export type StopReason = 'saturated' | 'goal' | 'nodes' | 'iterations' | 'time'

/** Where in an iteration a limit was found reached. */
export type StopPhase = 'matching' | 'applying' | 'substituting' | 'between iterations'

/** What one iteration did. */
export interface IterationReport {
  readonly nodes: number
  readonly classes: number
  /** Merges made by rule steps in this iteration. */
  readonly fired: number
  readonly ms: number
}

/** The report of a saturation. */
export interface SaturationReport {
  readonly stop: StopReason
  /** Where the limit was reached (for 'time' and 'nodes'), or 'between iterations'. */
  readonly phase: StopPhase
  /** Why it stopped, in words: the limit, its value, and where. */
  readonly reason: string
  readonly iterations: ReadonlyArray<IterationReport>
  /** Merges made per law name. */
  readonly fired: ReadonlyMap<string, number>
  /** The first side condition that blocked each law, as `applyAt` words it. */
  readonly blocked: ReadonlyMap<string, string>
  readonly nodes: number
  readonly classes: number
  readonly ms: number
  /** The limits in force. */
  readonly limits: Required<SaturationLimits>
}

/** The default limits. */
export const defaultLimits: Required<SaturationLimits> = Object.freeze({
  nodes: 3000,
  iterations: 8,
  timeMs: 1000,
  members: 4,
  matches: 8,
  window: 1,
})

interface Oriented {
  readonly rule: Rule
  readonly direction: Direction
  /** The root kind the matched side needs, or undefined for any. */
  readonly kind: string | undefined
  /** The top-level parts of the matched side (windows are sized by it). */
  readonly width: number
}

const rootKind = (p: Pattern): string | undefined | null => {
  if (isNamed(p)) return rootKind(p.pattern)
  if (isMeta(p)) return null
  if (typeof p === 'object' && p !== null && !Array.isArray(p)) {
    const k = (p as { kind?: unknown }).kind
    return typeof k === 'string' && k !== 'computed' ? k : null
  }
  return null
}

/**
 * The oriented rules a search tries: both directions of two-way laws, except a direction whose
 * matched side is a bare metavariable (it matches every node and only grows the graph, such as
 * `f = id ; f` read right to left), and no law whose step must supply a value (`given`).
 */
export const orientRules = (rules: ReadonlyArray<Rule>): Oriented[] => {
  const out: Oriented[] = []
  for (const rule of rules) {
    if (rule.given.length > 0) continue
    for (const direction of rule.bidirectional
      ? (['forward', 'backward'] as const)
      : (['forward'] as const)) {
      const [from] = sidesOf(rule, direction)
      const kind = rootKind(from)
      if (kind === null) continue
      out.push({ rule, direction, kind, width: partsOf(from) })
    }
  }
  return out
}

/** The number of top-level parts of a `seq` or `par` pattern (1 for any other pattern). */
const partsOf = (p: Pattern): number => {
  if (isNamed(p)) return partsOf(p.pattern)
  const parts = (p as { parts?: unknown }).parts
  return Array.isArray(parts) ? Math.max(2, parts.length) : 1
}

/**
 * Where a pattern of `m` parts is tried in `t`: the root, and for a sequence or stack of n parts
 * the windows of m to m + extra consecutive parts (fewer than n), at every start; the root of a
 * sequence or stack only when n is at most m + extra (a wider root is a window too wide).
 */
function* locations(t: Term, m: number, extra: number): Generator<Location> {
  if (t.kind !== 'seq' && t.kind !== 'par') {
    yield { path: [] }
    return
  }
  const n = t.parts.length
  // The root is a window of all n parts: tried only when it is no wider than the others.
  if (n <= Math.max(2, m) + extra) yield { path: [] }
  for (let w = Math.max(2, m); w <= Math.min(n - 1, m + extra); w++)
    for (let i = 0; i + w <= n; i++) yield { path: [], range: [i, i + w] }
}

/**
 * Saturate `g` with `rules`, until `goal()` holds, a fixed point, or a limit.
 *
 * @example
 * ```ts
 * import { EGraph, saturate, categoryRules, seq, id, relu } from 'neural-circuit-diagrams'
 * const g = new EGraph()
 * const a = g.add(seq(id([['k']]), relu('k')))
 * const b = g.add(relu('k'))
 * saturate(g, categoryRules, {}, () => g.equal(a, b)).stop // 'goal'
 * ```
 */
export const saturate = (
  g: EGraph,
  rules: ReadonlyArray<Rule>,
  limits: SaturationLimits = {},
  goal: () => boolean = () => false,
): SaturationReport => {
  const L: Required<SaturationLimits> = { ...defaultLimits, ...limits }
  const start = Date.now()
  const oriented = orientRules(rules)
  const fired = new Map<string, number>()
  const blocked = new Map<string, string>()
  const iterations: IterationReport[] = []
  const matched = new Set<number>()
  const substituted = new Set<string>()
  const sizes = new Map<number, number>()
  const sizeOf = (id: number): number => {
    let n = sizes.get(id)
    if (n === undefined) sizes.set(id, (n = termSize(g.term(id))))
    return n
  }
  let stop: StopReason = 'iterations'
  let phase: StopPhase = 'between iterations'
  const found: Array<{ node: number; step: Step; term: Term }> = []
  // The limits are checked inside every loop whose length grows with the term (each window, each
  // found rewrite, each substitution), so that no phase of an iteration runs long past them.
  const over = (): StopReason | undefined =>
    Date.now() - start > L.timeMs ? 'time' : g.size >= L.nodes ? 'nodes' : undefined
  const halt = (why: StopReason, where: StopPhase): void => {
    stop = why
    phase = where
  }
  // Rebuilding restores congruence; past the time limit it is skipped. That is sound: the union-find
  // holds only merges made by laws, and rebuilding would only add the congruences they imply, so
  // the e-graph knows fewer equalities, never a false one.
  const settle = (): void => {
    if (stop !== 'time') g.rebuild()
  }
  const apply = (): number => {
    let n = 0
    for (const f of found) {
      const y = g.add(f.term)
      if (g.union(f.node, y, { kind: 'rule', step: f.step })) {
        n++
        fired.set(f.step.rule, (fired.get(f.step.rule) ?? 0) + 1)
      }
      if (stop === 'iterations') {
        const why = over()
        if (why !== undefined) halt(why, 'applying')
      }
      if (stop !== 'iterations') break
    }
    found.length = 0
    settle()
    return n
  }
  const match = (node: number): void => {
    const t = g.term(node)
    for (const o of oriented) {
      if (o.kind !== t.kind) continue
      const [from] = sidesOf(o.rule, o.direction)
      for (const location of locations(t, o.width, L.window)) {
        let tried = 0
        const candidates: Iterable<Bindings> =
          location.range === undefined
            ? matchAll(from, t)
            : matchWindow(from, t, location.range[0], location.range[1])
        try {
          for (const b of candidates) {
            if (++tried > L.matches || over() !== undefined) break
            const r = applyAt(o.rule, t, location, o.direction, b)
            if (E.isRight(r)) found.push({ node, step: r.right.step, term: r.right.term })
            else if (r.left.reason === 'condition' && !blocked.has(o.rule.name))
              blocked.set(o.rule.name, r.left.message)
          }
        } catch (e) {
          if (!(e instanceof TermError)) throw e
        }
        const why = over()
        if (why !== undefined) return halt(why, 'matching')
      }
    }
  }
  outer: for (let it = 0; it < L.iterations; it++) {
    if (goal()) {
      stop = 'goal'
      break
    }
    const t0 = Date.now()
    const count = g.size
    for (let node = 0; node < count; node++) {
      if (matched.has(node)) continue
      matched.add(node)
      match(node)
      if (stop !== 'iterations') {
        apply()
        break outer
      }
    }
    const merged = apply()
    if (stop !== 'iterations') break
    // Substitute members of child classes into parents (new child forms reach parent matches).
    const n2 = g.size
    substitution: for (let node = 0; node < n2; node++) {
      const kids = g.kids(node)
      for (let i = 0; i < kids.length; i++) {
        const late = over()
        if (late !== undefined) {
          halt(late, 'substituting')
          break substitution
        }
        const k = kids[i] as number
        const members = g
          .classOf(k)
          .members.filter((m) => m !== k)
          .sort((x, y) => sizeOf(x) - sizeOf(y))
          .slice(0, L.members)
        for (const m of members) {
          const key = `${node}/${i}/${m}`
          if (substituted.has(key)) continue
          substituted.add(key)
          g.substitute(node, i, m)
          const why = over()
          if (why !== undefined) {
            halt(why, 'substituting')
            break substitution
          }
        }
      }
    }
    settle()
    iterations.push({ nodes: g.size, classes: g.classes, fired: merged, ms: Date.now() - t0 })
    if (stop !== 'iterations') break
    const why = over()
    if (why !== undefined) {
      halt(why, 'between iterations')
      break
    }
    if (merged === 0 && g.size === count) {
      stop = 'saturated'
      break
    }
  }
  if (stop !== 'goal' && goal()) stop = 'goal'
  const ms = Date.now() - start
  return {
    stop,
    phase,
    reason: reasonOf(stop, phase, L, g, iterations.length, ms),
    iterations,
    fired,
    blocked,
    nodes: g.size,
    classes: g.classes,
    ms,
    limits: L,
  }
}

const reasonOf = (
  stop: StopReason,
  phase: StopPhase,
  L: Required<SaturationLimits>,
  g: EGraph,
  iterations: number,
  ms: number,
): string => {
  const where = phase === 'between iterations' ? 'between iterations' : `while ${phase}`
  switch (stop) {
    case 'goal':
      return `reached its goal after ${iterations} iterations`
    case 'saturated':
      return 'saturated (no law adds anything)'
    case 'nodes':
      return `stopped at its node limit (${g.size} of ${L.nodes} nodes, ${where})`
    case 'time':
      return `stopped at its time limit (${ms} ms of ${L.timeMs} ms, ${where})`
    case 'iterations':
      return `stopped at its iteration limit (${iterations} of ${L.iterations})`
    default:
      return absurd(stop)
  }
}
