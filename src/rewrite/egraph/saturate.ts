/**
 * Equality saturation over an {@link EGraph} with the catalogue's own rules: each iteration
 * matches every law (both directions of a two-way law) at every node, and every `seq` or `par`
 * law at the windows that start at each cons node of a spine, adds the instances, merges them
 * with the matched node (in batches while matching goes on, the goal tested every few merges, so
 * that a search stops at the merge that proves it rather than after matching every node),
 * substitutes the members of child classes into their parents that are not cons nodes (so a new
 * form of a child reaches the parent's matches), and rebuilds. It stops at a fixed point, at a
 * goal, or at a limit (nodes, iterations, wall time), and reports why and in which phase.
 *
 * Windows are sized by the pattern: a pattern of m parts is tried at windows of m to m + `window`
 * parts. A window at cons node `c` is read over classes, not over `c`'s own term: its first part
 * is a member of `c`'s head class, the next a head of a member of `c`'s tail class, and so on (a
 * bounded number of members per position), so a form found at one position combines with forms
 * found at the next without a new n-part sequence for every combination. Rewriting the window
 * adds the result's parts in front of the class of the suffix after it (O(w) nodes, see the
 * design notes in `egraph.ts`), and a cons node is matched again in a later iteration only when a
 * class within the widest window from it changed: one iteration is linear in the parts. The
 * limits are checked inside every loop that grows with the term (each window, each candidate
 * match, each found rewrite, each substitution).
 *
 * A parent that reads a spine as one concrete part (a broadcast or a box around a sequence, a
 * stack as a part of a sequence, a sequence as a part of a stack) matches its patterns on the
 * concrete terms of its child's members, and a spine's class holds only the forms rewritten from
 * its first part on: a form found at a later window (the second part of a stack rewritten)
 * would reach such a parent only as an equality by congruence, never as a concrete part for its
 * patterns (`concat/broadcast` on `relu[a h] ⊗ relu[b h]`) or its cost. So the cons nodes such a
 * parent reads, and their spines down to the last part, get the substitution of the members of
 * their head and tail classes, as any other parent does (one cons node each, merged by
 * congruence; one new member per child each iteration, and the copies are not matched, their
 * windows being the original's); spines read only through windows (top-level sequences, the
 * tails of spines of their own kind) do not.
 *
 * E-matching is by member enumeration: a pattern is matched against the concrete term of each
 * node, whose children are concrete terms too, with the same matcher (`match.ts`) that rewriting
 * uses, where the pattern's fixed kinds fit (`prefilter`: the kinds at its root, in its bodies
 * and in the parts of its sequences, tested before a window's term is built; egg indexes e-nodes
 * by operator for a pattern's head, this tests the whole shape of kinds at once), and at each
 * window once (a window of the same part nodes before the same rest gives the same merges); the
 * substitution pass adds the combinations that the patterns need, a bounded number of members per
 * child class each iteration. It is incomplete where a pattern needs a combination
 * deeper than the iterations have built, and says so by stopping at its limits, never by a wrong
 * answer: every merge is a law step that `checkProof` replays.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { TermError, absurd } from '../../core/errors.js'
import type { Term } from '../../core/term.js'
import {
  type Bindings,
  type Prefilter,
  matchAll,
  matchWindow,
  prefilter,
  windowPrefilter,
} from '../match.js'
import type { Location } from '../path.js'
import { par, seq } from '../../core/construct.js'
import { type Pattern, isMeta, isNamed } from '../pattern.js'
import { type Direction, type Rule, type Step, applyMatch } from '../rule.js'
import { EGraph, type Spine, sidesOf } from './egraph.js'

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
  /** Whether a top-level part is a term metavariable (which may take several parts). */
  readonly stretches: boolean
  /** A necessary condition for a match at a node (the kinds the matched side fixes). */
  readonly fits: Prefilter<Term>
  /** The same on the parts of a window (`matchWindow`). */
  readonly fitsWindow: Prefilter<ReadonlyArray<Term>>
}

/** The top-level part patterns of a `seq` or `par` pattern. */
const partPatterns = (p: Pattern): ReadonlyArray<Pattern> => {
  if (isNamed(p)) return partPatterns(p.pattern)
  const parts = (p as { parts?: unknown }).parts
  return Array.isArray(parts) ? (parts as Pattern[]) : []
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
    if (rule.given.length > 0 || flatteningIdentity(rule)) continue
    for (const direction of rule.bidirectional
      ? (['forward', 'backward'] as const)
      : (['forward'] as const)) {
      const [from] = sidesOf(rule, direction)
      const kind = rootKind(from)
      if (kind === null) continue
      const parts = partPatterns(from)
      out.push({
        rule,
        direction,
        kind,
        width: partsOf(from),
        stretches: parts.some((q) => isMeta(q) && q.sort === 'term'),
        fits: prefilter(from),
        fitsWindow: windowPrefilter(from),
      })
    }
  }
  return out
}

/** A pattern with nested `seq`/`par` patterns spliced into their parents of the same kind. */
const flatPattern = (p: Pattern): unknown => {
  if (Array.isArray(p)) return p.map(flatPattern)
  if (typeof p !== 'object' || p === null) return p
  const r = p as Record<string, unknown>
  const kind = r.kind
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(r)) out[k] = flatPattern(v as Pattern)
  if ((kind === 'seq' || kind === 'par') && Array.isArray(out.parts))
    out.parts = (out.parts as unknown[]).flatMap((q) =>
      typeof q === 'object' && q !== null && (q as { kind?: unknown }).kind === kind
        ? ((q as { parts: unknown[] }).parts ?? [q])
        : [q],
    )
  return out
}

const sameData = (x: unknown, y: unknown): boolean => {
  if (x === y) return true
  if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false
  if (Array.isArray(x) !== Array.isArray(y)) return false
  const kx = Object.keys(x)
  const ky = Object.keys(y)
  if (kx.length !== ky.length) return false
  return kx.every((k) =>
    sameData((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]),
  )
}

/**
 * Whether both sides of a law are one pattern once nested sequences and stacks are flattened
 * (`category/assoc`): terms are flat, so such a law rewrites every match to itself, and matching
 * it (its metavariables take any split of a window) was most of an iteration's time.
 */
const flatteningIdentity = (r: Rule): boolean =>
  sameData(flatPattern(r.lhs as Pattern), flatPattern(r.rhs as Pattern))

/** The number of top-level parts of a `seq` or `par` pattern (1 for any other pattern). */
const partsOf = (p: Pattern): number => {
  if (isNamed(p)) return partsOf(p.pattern)
  const parts = (p as { parts?: unknown }).parts
  return Array.isArray(parts) ? Math.max(2, parts.length) : 1
}

/** Merges between two tests of the goal while rewrites are applied. */
const GOAL_EVERY = 32

/**
 * Rewrites found, while matching, before they are applied (and the goal tested), when there is a
 * goal: without one, all are applied after matching, as in egg.
 */
const APPLY_EVERY = 64

/** The goal of a saturation that has none. */
const noGoal = (): boolean => false

/** What matching reads of a window's term (`matchWindow`), and the term itself, built on demand. */
interface WindowView {
  readonly kind: Spine
  readonly parts: ReadonlyArray<Term>
  readonly term: () => Term | undefined
}

/** A window of a spine: its parts (node ids) and the class after it (none at the end). */
interface Window {
  readonly kind: Spine
  readonly parts: ReadonlyArray<number>
  readonly rest: number | undefined
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
  goal: () => boolean = noGoal,
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
  // A node's term size (`termSize(g.term(id))`) from its kids' sizes, without building the terms
  // of cons nodes: a cons is its head before its tail's parts (one sequence node for both). A
  // spine is walked down iteratively to the first node of known size, then summed back up.
  const sizeOf = (id: number): number => {
    const known = sizes.get(id)
    if (known !== undefined) return known
    const down: number[] = []
    for (let x: number | undefined = id; x !== undefined && !sizes.has(x);) {
      down.push(x)
      const kind = g.spine(x)
      x = kind === undefined ? undefined : (g.kids(x)[1] as number)
    }
    for (let i = down.length - 1; i >= 0; i--) {
      const x = down[i] as number
      const kind = g.spine(x)
      const kids = g.kids(x)
      let n = 1
      if (kind === undefined) for (const k of kids) n += sizeOf(k)
      else {
        const [h, r] = kids as [number, number]
        const tail = sizes.get(r) as number
        n += sizeOf(h) + (g.spine(r) === kind ? tail - 1 : tail)
      }
      sizes.set(x, n)
    }
    return sizes.get(id) as number
  }
  let stop: StopReason = 'iterations'
  let phase: StopPhase = 'between iterations'
  const found: Array<{ node: number; step: Step; term: Term; window?: Window }> = []
  // The oriented rules of each spine kind, and the widest window any of them reads.
  const spineRules = new Map<Spine, Oriented[]>([
    ['seq', oriented.filter((o) => o.kind === 'seq')],
    ['par', oriented.filter((o) => o.kind === 'par')],
  ])
  const widest = Math.max(2, ...oriented.map((o) => o.width)) + L.window
  // The windows matched so far (kind, part node ids and the node after them): a window's matches
  // depend on its parts' terms only, and the merges they gave hold for good.
  const tried = new Set<string>()
  // When each cons node was last matched (a stamp of the e-graph's clock).
  const lastMatched = new Map<number, number>()
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
  // Merges since the goal was last tested.
  let untested = 0
  // `batch`: applied while matching goes on, congruence left to the goal tests and the end of the
  // iteration (egg's deferred rebuilding: a rebuild per batch rescanned the parents of the same
  // busy classes again and again, 2.4x the CPU of one iteration on a generated 3000-node term).
  const apply = (batch = false): number => {
    let n = 0
    for (const f of found) {
      let x = f.node
      let y: number
      try {
        if (f.window === undefined) y = g.add(f.term)
        else {
          const { kind, parts, rest } = f.window
          const r = f.term
          const ids = r.kind === kind ? r.parts.map((p) => g.add(p)) : [g.add(r)]
          // Already in the class (found before, or by congruence): no nodes to add.
          const known = g.lookupChain(kind, ids, rest)
          if (known !== undefined && g.equal(known, f.node)) continue
          x = g.chain(kind, parts, rest)
          y = g.chain(kind, ids, rest)
        }
      } catch (e) {
        if (!(e instanceof TermError)) throw e
        continue
      }
      if (g.union(x, y, { kind: 'rule', step: f.step })) {
        n++
        fired.set(f.step.rule, (fired.get(f.step.rule) ?? 0) + 1)
        // Goal-directed: every GOAL_EVERY merges, congruence restored and the goal tested, so
        // a search stops at the merge that proves it rather than after the whole iteration.
        if (++untested >= GOAL_EVERY && stop === 'iterations') {
          untested = 0
          g.rebuild()
          if (goal()) halt('goal', 'applying')
        }
      }
      if (stop === 'iterations') {
        const why = over()
        if (why !== undefined) halt(why, 'applying')
      }
      if (stop !== 'iterations') break
    }
    found.length = 0
    if (!batch) settle()
    return n
  }
  // `t` is the term matched, or for a window its kind and parts (all `matchWindow` reads) with
  // the window's term built on the first match (most windows have none).
  const tryRule = (
    o: Oriented,
    t: Term | WindowView,
    location: Location,
    push: (step: Step, term: Term) => void,
  ): void => {
    const [from] = sidesOf(o.rule, o.direction)
    let tried = 0
    const candidates: Iterable<Bindings> =
      'term' in t ? matchWindow(from, t as unknown as Term, 0, t.parts.length) : matchAll(from, t)
    try {
      for (const b of candidates) {
        if (++tried > L.matches || over() !== undefined) break
        const whole = 'term' in t ? t.term() : t
        if (whole === undefined) break
        const r = applyMatch(o.rule, whole, location, o.direction, b)
        if (E.isRight(r)) push(r.right.step, r.right.term)
        else if (r.left.reason === 'condition' && !blocked.has(o.rule.name))
          blocked.set(o.rule.name, r.left.message)
      }
    } catch (e) {
      if (!(e instanceof TermError)) throw e
    }
  }
  // The cons nodes made by substituting into a spine that a parent of another kind reads (see
  // `concretelyRead`): windows read over classes, so a window at a copy, or through one, is one
  // the original's class already gives; copies are neither matched nor walked as tails.
  const copies = new Set<number>()
  // Members of a class to read at one position of a window: `own` first, then up to `members`
  // others; heads never a cons of the spine's kind (those are spliced in by substitution), tails
  // never a copy (its head and tail classes are the original's: the same windows).
  const choices = (own: number, kind: Spine, head: boolean): number[] => {
    const out = [own]
    for (const m of g.classOf(own).members) {
      if (out.length > L.members) break
      if (m === own || (head && g.spine(m) === kind) || (!head && copies.has(m))) continue
      out.push(m)
    }
    return out
  }
  // The windows of `w` parts that start at cons node `node`, read over the classes of its spine:
  // the first `cap` in depth-first order (head members, then each tail member's windows). The
  // continuations from a tail node are the same whatever came before them, so each is listed
  // once per `memo` (one call of `matchSpine`: the graph does not change while it runs), capped
  // like the whole: a walk over every combination of members visited (members + 1)^(2w) of them
  // on a wide window, most of them dead ends (a tail that ends too early).
  type Continuation = { readonly parts: ReadonlyArray<number>; readonly rest: number | undefined }
  const windowsAt = (
    node: number,
    kind: Spine,
    w: number,
    memo: Map<number, Continuation[]>,
  ): Window[] => {
    const cap = 2 * L.members
    // The continuations of `remaining` parts (at least 1) read from tail node `next`.
    const continuations = (next: number, remaining: number): Continuation[] => {
      const key = next * (widest + 1) + remaining
      const known = memo.get(key)
      if (known !== undefined) return known
      const out: Continuation[] = []
      // Members with the same head and tail classes give the same windows: one is walked.
      const seen = new Set<string>()
      for (const x of choices(next, kind, false)) {
        if (out.length >= cap) break
        if (g.spine(x) === kind) {
          const [h, r] = g.kids(x) as [number, number]
          const key = `${g.find(h)},${g.find(r)}`
          if (seen.has(key)) continue
          seen.add(key)
          const after = remaining === 1 ? [{ parts: [], rest: r }] : continuations(r, remaining - 1)
          if (after.length === 0) continue
          for (const p of choices(h, kind, true))
            for (const c of after) {
              if (out.length >= cap) break
              out.push({ parts: [p, ...c.parts], rest: c.rest })
            }
        } else if (remaining === 1) out.push({ parts: [x], rest: undefined })
      }
      memo.set(key, out)
      return out
    }
    const out: Window[] = []
    const [h, r] = g.kids(node) as [number, number]
    const after = continuations(r, w - 1)
    if (after.length === 0) return out
    for (const p of choices(h, kind, true))
      for (const c of after) {
        if (out.length >= cap) return out
        out.push({ kind, parts: [p, ...c.parts], rest: c.rest })
      }
    return out
  }
  // Whether a class within the widest window from `node` changed since it was last matched.
  const stale = (node: number, kind: Spine): boolean => {
    const last = lastMatched.get(node)
    if (last === undefined) return true
    let x = node
    for (let d = 0; d < widest; d++) {
      const [h, r] = g.kids(x) as [number, number]
      if (g.stamp(h) > last || g.stamp(r) > last) return true
      if (g.spine(r) !== kind) return false
      x = r
    }
    return false
  }
  const matchSpine = (node: number, kind: Spine): void => {
    lastMatched.set(node, g.now)
    const rules = spineRules.get(kind) as Oriented[]
    if (rules.length === 0) return
    const build = kind === 'seq' ? seq : par
    const memo = new Map<number, Continuation[]>()
    for (let w = 2; w <= widest; w++) {
      // A pattern of m parts none of which is a term metavariable takes exactly m parts.
      const here = rules.filter(
        (o) => w >= Math.max(2, o.width) && w <= (o.stretches ? o.width + L.window : o.width),
      )
      if (here.length === 0) continue
      for (const window of windowsAt(node, kind, w, memo)) {
        // A window of the same parts before the same rest was matched before (its node stale
        // again, or another node's walk reaching it): its rewrites are merged already.
        const key = `${kind}|${window.parts.join(',')}|${window.rest ?? ''}`
        if (tried.has(key)) continue
        tried.add(key)
        // The kinds each pattern fixes, tested on the parts before the window is built.
        const parts = window.parts.map((p) => g.term(p))
        const live = here.filter((o) => o.fitsWindow(parts))
        if (live.length === 0) continue
        // Heads are never of the spine's kind, nor is a last part (a cons if it were), so the
        // window's term has exactly these parts: patterns are matched on them, and the term is
        // built (type-checked) only for a match; a window whose parts do not compose has none.
        let built: Term | null | undefined
        const view: WindowView = {
          kind,
          parts,
          term: () => {
            if (built === undefined)
              try {
                const t = build(...parts)
                built = (t.kind === 'seq' || t.kind === 'par') && t.parts.length === w ? t : null
              } catch (e) {
                if (!(e instanceof TermError)) throw e
                built = null
              }
            return built ?? undefined
          },
        }
        const location: Location = { path: [], range: [0, w] }
        for (const o of live) {
          tryRule(o, view, location, (step, term) => found.push({ node, step, term, window }))
          const why = over()
          if (why !== undefined) return halt(why, 'matching')
        }
      }
    }
  }
  const match = (node: number): void => {
    const spine = g.spine(node)
    if (spine !== undefined) return matchSpine(node, spine)
    const t = g.term(node)
    for (const o of oriented) {
      if (o.kind !== t.kind || !o.fits(t)) continue
      tryRule(o, t, { path: [] }, (step, term) => found.push({ node, step, term }))
      const why = over()
      if (why !== undefined) return halt(why, 'matching')
    }
  }
  // The cons nodes whose concrete terms some parent reads as one part: a member of a class with a
  // parent that is not a cons of the member's own kind (a broadcast around a sequence, a stack as
  // a part of a sequence, a sequence as a part of a stack), and, down the spine, the members of
  // such a cons's tail class of its kind. That parent's patterns see only concrete terms
  // (`g.term`), which the windows of the spine do not build: without substitution into the spine,
  // forms found in it after its first part (the second part of a stack rewritten) never reach
  // them. A parent of the member's own kind reads it through its windows (a head's chain is
  // spliced into the parent), and top-level spines are read by no parent: both keep the O(w)
  // window rewrites.
  const concretelyRead = (): Set<number> => {
    const out = new Set<number>()
    const done = new Set<string>()
    const todo: Array<readonly [number, Spine]> = []
    const mark = (c: number, kind: Spine): void => {
      const key = `${c}:${kind}`
      if (done.has(key)) return
      done.add(key)
      todo.push([c, kind])
    }
    for (const c of g.classIds()) {
      const d = g.classOf(c)
      if (!d.members.some((m) => g.spine(m) !== undefined)) continue
      for (const p of d.parents) {
        const s = g.spine(p)
        if (s !== 'seq') mark(c, 'seq')
        if (s !== 'par') mark(c, 'par')
      }
    }
    for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
      const [c, kind] = next
      for (const m of g.classOf(c).members) {
        if (g.spine(m) !== kind || out.has(m)) continue
        out.add(m)
        mark(g.find(g.kids(m)[1] as number), kind)
      }
    }
    return out
  }
  outer: for (let it = 0; it < L.iterations; it++) {
    if (goal()) {
      stop = 'goal'
      break
    }
    const t0 = Date.now()
    const count = g.size
    let merged = 0
    for (let node = 0; node < count; node++) {
      const spine = g.spine(node)
      if (spine !== undefined) {
        if (copies.has(node) || !stale(node, spine)) continue
      } else if (matched.has(node)) continue
      matched.add(node)
      match(node)
      if (stop !== 'iterations') {
        apply()
        break outer
      }
      // The rewrites found so far are applied in batches while matching goes on, so that a
      // search reaches its goal at the merge that proves it, not after matching every node.
      if (goal !== noGoal && found.length >= APPLY_EVERY) {
        merged += apply(true)
        if (stop !== 'iterations') break outer
      }
    }
    merged += apply()
    if (stop !== 'iterations') break
    // The goal may hold already: the substitutions would only grow the graph.
    if (merged > 0 && goal()) {
      iterations.push({ nodes: g.size, classes: g.classes, fired: merged, ms: Date.now() - t0 })
      stop = 'goal'
      break
    }
    // Substitute members of child classes into parents (new child forms reach parent matches).
    const n2 = g.size
    const read = concretelyRead()
    // The members of each child class, smallest first, sorted once per iteration (a class is the
    // child of many parents; merges during the pass only leave a member for the next iteration).
    const sorted = new Map<number, number[]>()
    const bySize = (k: number): number[] => {
      const c = g.find(k)
      let out = sorted.get(c)
      if (out === undefined) {
        out = [...g.classOf(c).members].sort((x, y) => sizeOf(x) - sizeOf(y))
        sorted.set(c, out)
      }
      return out
    }
    substitution: for (let node = 0; node < n2; node++) {
      const kids = g.kids(node)
      const spine = g.spine(node)
      // A cons node reads its tail's forms and its head's single parts through the windows; only
      // a head's chain of the same kind is spliced in here (the flattening substitution). A cons
      // whose concrete term a parent of another kind reads (a stack in a sequence, a sequence in a
      // broadcast) gets the members of its head and tail classes, as any other parent does, one
      // new member per child each iteration (their combinations multiply along the spine).
      const concrete = spine !== undefined && read.has(node)
      for (let i = 0; i < kids.length; i++) {
        if (spine !== undefined && i === 1 && !concrete) continue
        const late = over()
        if (late !== undefined) {
          halt(late, 'substituting')
          break substitution
        }
        const k = kids[i] as number
        const members: number[] = []
        for (const m of bySize(k)) {
          if (members.length >= (concrete ? 1 : L.members)) break
          if (m === k || (spine !== undefined && !concrete && g.spine(m) !== spine)) continue
          if (concrete && substituted.has(`${node}/${i}/${m}`)) continue
          members.push(m)
        }
        for (const m of members) {
          const key = `${node}/${i}/${m}`
          if (substituted.has(key)) continue
          substituted.add(key)
          const before = g.size
          const y = g.substitute(node, i, m)
          // A copy in a class the windows already read (not a splice, whose parts are new
          // positions) gives no window the original does not: it is not matched.
          if (concrete && y !== undefined && y >= before && (i === 1 || g.spine(m) !== spine))
            copies.add(y)
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
