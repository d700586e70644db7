/**
 * Equality saturation over an {@link EGraph} with the catalogue's own rules: each iteration
 * matches every law (both directions of a two-way law) at every node, at the root and at every
 * window of consecutive parts of a sequence or stack, adds the instances, merges them with the
 * matched node, substitutes the members of child classes into their parents (so a new form of a
 * child reaches the parent's matches), and rebuilds. It stops at a fixed point, at a goal, or at
 * a limit (nodes, iterations, wall time), and reports why.
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
import { TermError } from '../../core/errors.js'
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
}

/** Why a saturation stopped. */
export type StopReason = 'saturated' | 'goal' | 'nodes' | 'iterations' | 'time'

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
})

interface Oriented {
  readonly rule: Rule
  readonly direction: Direction
  /** The root kind the matched side needs, or undefined for any. */
  readonly kind: string | undefined
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
      out.push({ rule, direction, kind })
    }
  }
  return out
}

const locations = (t: Term): Location[] => {
  const out: Location[] = [{ path: [] }]
  if (t.kind === 'seq' || t.kind === 'par') {
    const n = t.parts.length
    for (let i = 0; i < n; i++)
      for (let j = i + 2; j <= n; j++) if (j - i < n) out.push({ path: [], range: [i, j] })
  }
  return out
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
  const matched = new Set<string>()
  const substituted = new Set<string>()
  let stop: StopReason = 'iterations'
  const found: Array<{ node: number; step: Step; term: Term }> = []
  const apply = (): number => {
    let n = 0
    for (const f of found) {
      const y = g.add(f.term)
      if (g.union(f.node, y, { kind: 'rule', step: f.step })) {
        n++
        fired.set(f.step.rule, (fired.get(f.step.rule) ?? 0) + 1)
      }
    }
    found.length = 0
    g.rebuild()
    return n
  }
  const over = (): StopReason | undefined =>
    Date.now() - start > L.timeMs ? 'time' : g.size >= L.nodes ? 'nodes' : undefined
  outer: for (let it = 0; it < L.iterations; it++) {
    if (goal()) {
      stop = 'goal'
      break
    }
    const t0 = Date.now()
    const count = g.size
    for (let node = 0; node < count; node++) {
      if (matched.has(String(node))) continue
      matched.add(String(node))
      const t = g.term(node)
      const locs = locations(t)
      for (const o of oriented) {
        if (o.kind !== t.kind) continue
        const [from] = sidesOf(o.rule, o.direction)
        for (const location of locs) {
          let tried = 0
          const candidates: Iterable<Bindings> =
            location.range === undefined
              ? matchAll(from, t)
              : matchWindow(from, t, location.range[0], location.range[1])
          try {
            for (const b of candidates) {
              if (++tried > L.matches) break
              const r = applyAt(o.rule, t, location, o.direction, b)
              if (E.isRight(r)) found.push({ node, step: r.right.step, term: r.right.term })
              else if (r.left.reason === 'condition' && !blocked.has(o.rule.name))
                blocked.set(o.rule.name, r.left.message)
            }
          } catch (e) {
            if (!(e instanceof TermError)) throw e
          }
        }
        const why = over()
        if (why !== undefined) {
          stop = why
          apply()
          break outer
        }
      }
    }
    const merged = apply()
    // Substitute members of child classes into parents (new child forms reach parent matches).
    const n2 = g.size
    for (let node = 0; node < n2; node++) {
      const kids = g.kids(node)
      kids.forEach((k, i) => {
        const members = g
          .classOf(k)
          .members.filter((m) => m !== k)
          .sort((x, y) => termSize(g.term(x)) - termSize(g.term(y)))
          .slice(0, L.members)
        for (const m of members) {
          const key = `${node}/${i}/${m}`
          if (substituted.has(key)) continue
          substituted.add(key)
          g.substitute(node, i, m)
        }
      })
      if (over() !== undefined) break
    }
    g.rebuild()
    iterations.push({ nodes: g.size, classes: g.classes, fired: merged, ms: Date.now() - t0 })
    const why = over()
    if (why !== undefined) {
      stop = why
      break
    }
    if (merged === 0 && g.size === count) {
      stop = 'saturated'
      break
    }
  }
  if (stop !== 'goal' && goal()) stop = 'goal'
  return {
    stop,
    iterations,
    fired,
    blocked,
    nodes: g.size,
    classes: g.classes,
    ms: Date.now() - start,
    limits: L,
  }
}
