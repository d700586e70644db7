/**
 * `optimize(term, { cost })` (DESIGN.md section 5, issue 13 section 4; paper section 3.6): the
 * cheapest term found equal to `term` under the cost model of `src/eval/cost.ts` (FLOPs, peak memory, or
 * a weighted sum of both), with a proof that `checkProof` accepts.
 *
 * It saturates an e-graph from `term` with the law catalogue (and the caller's rules), then
 * extracts. Before saturating, a second presentation of `term` joins its class by one
 * `structural/normal-form` step: the same dataflow with each unit that feeds the rows of a
 * broadcast written right before it (`unitsBesideBroadcasts`), the window the laws of Fig. 36-37
 * (`transpose/unit-broadcast`, `transpose/unit-broadcast-shape`) match. The forward gradient of
 * a function of several inputs (attention's queries, keys and values) wires its units to their
 * broadcasts through copies and swaps, where no window holds both; the laws of wiring would need
 * dozens of steps per unit to bring them together.
 *
 * The cost model is not a sum over nodes (memory is a peak over a schedule, and an einsum's
 * FLOPs depend on the contraction order of the whole spec), so extraction does not pick
 * one node per class bottom-up as Tensat's does: it scores whole members of the root class,
 * each a concrete term (the substitution pass of the saturation builds the combinations of child
 * forms), and the structural normal form of the cheapest ones (einsums fused, broadcasts pushed
 * to primitives, wiring shared), which is equal by one `structural/normal-form` step. The cheapest
 * candidate whose explanation replays in `checkProof` is returned; the input itself is always a
 * candidate, so the result is never costlier than the input.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { type Sizes, dimVars } from '../core/dim.js'
import { TermError } from '../core/errors.js'
import { type Term, children } from '../core/term.js'
import { type Cost, type CostOptions, cost as costOf } from '../eval/cost.js'
import { EGraph, ExplainError } from './egraph/egraph.js'
import { type SaturationLimits, type SaturationReport, saturate } from './egraph/saturate.js'
import { normalKey, normalize } from '../derive/normal.js'
import { type Proof, catalogueOf, checkProof } from './proof.js'
import { type Rule, type Step, applyAt } from './rule.js'
import { lawFamilies } from './rules/index.js'
import { normalFormConversion } from './rules/structural.js'
import { unitsBesideBroadcasts } from './rules/transpose.js'

/** What `optimize` minimises: FLOPs, peak memory (entries), or a weighted sum of the two. */
export type CostModel = 'flops' | 'memory' | { readonly flops: number; readonly memory: number }

/** Options of {@link optimize}. */
export interface OptimizeOptions {
  /** The cost to minimise (default 'flops'). */
  readonly cost?: CostModel
  /** The sizes the cost is measured at (default 16 for every size variable without a default). */
  readonly sizes?: Sizes
  /** Options of the cost model (transcendental FLOPs, generators' FLOPs). */
  readonly costOptions?: CostOptions
  /** The limits of the saturation (default: 6 iterations, 3000 nodes, 3000 ms). */
  readonly limits?: SaturationLimits
  /** Laws of the caller's, used and cited like the catalogue's. */
  readonly rules?: ReadonlyArray<Rule>
  /** Members of the root class whose normal forms are also scored (default 8). */
  readonly normalized?: number
  /** A name for the proof (default 'optimize'). */
  readonly name?: string
}

/** The answer of {@link optimize}. */
export interface Optimized {
  /** The cheapest term found. */
  readonly term: Term
  /** `input = term`, replayed by `checkProof` before it is returned. */
  readonly proof: Proof
  readonly before: Cost
  readonly after: Cost
  /** The minimised quantity before and after. */
  readonly score: { readonly before: number; readonly after: number }
  /** Candidates scored (members of the root class and normal forms). */
  readonly candidates: number
  readonly search: SaturationReport
}

const DEFAULT_SIZE = 16

/**
 * Every size variable of a term (and its sub-terms) without a default, at `size`: the sizes
 * `optimize` measures costs at when none are given.
 *
 * @example
 * ```ts
 * import { defaultSizes, linearLayer } from 'neural-circuit-diagrams'
 * defaultSizes(linearLayer('W', 'x', 'y')) // { x: 16, y: 16 }
 * ```
 */
export const defaultSizes = (t: Term, size = DEFAULT_SIZE, out: Record<string, number> = {}) => {
  for (const s of [...t.dom, ...t.cod])
    for (const d of s)
      for (const [n, x] of dimVars(d)) if (x.size === undefined && !(n in out)) out[n] = size
  children(t).forEach((c) => defaultSizes(c, size, out))
  return out
}

/** Whether two terms have one structural normal form (false when either has none). */
const sameNormalForm = (a: Term, b: Term): boolean => {
  try {
    return normalKey(a) === normalKey(b)
  } catch (e) {
    if (e instanceof TermError) return false
    throw e
  }
}

const scoreOf = (model: CostModel, c: Cost): number =>
  model === 'flops'
    ? c.flops
    : model === 'memory'
      ? c.peakMemory
      : model.flops * c.flops + model.memory * c.peakMemory

interface Candidate {
  readonly term: Term
  /** The member of the root class it is, or whose normal form it is. */
  readonly member: number
  readonly normalized: boolean
  readonly cost: Cost
  readonly score: number
}

/**
 * The cheapest term equal to `term` under a cost model, with its proof.
 *
 * @example
 * ```ts
 * import { optimize, seq, einsum, checkProof, lawCatalogue } from 'neural-circuit-diagrams'
 * import * as E from 'fp-ts/lib/Either.js'
 * // Two matrix products in a row, fused and contracted in the cheaper order.
 * const t = seq(einsum('a b, b c -> a c'), einsum('a c -> c a'))
 * const r = optimize(t, { cost: 'flops', sizes: { a: 8, b: 8, c: 8 } })
 * r.score.after <= r.score.before // true
 * E.isRight(checkProof(r.proof, lawCatalogue())) // true
 * ```
 */
export const optimize = (term: Term, options: OptimizeOptions = {}): Optimized => {
  const model = options.cost ?? 'flops'
  const sizes = { ...defaultSizes(term), ...options.sizes }
  const rules = [...lawFamilies.flatMap(([, rs]) => rs), ...(options.rules ?? [])]
  const catalogue = catalogueOf(rules)
  const name = options.name ?? 'optimize'
  const g = new EGraph()
  const root = g.add(term)
  // The units of a Jacobian by the unit (Fig. 33) written beside their broadcasts, where the
  // transpose laws see them: the same dataflow, so one structural normal-form step.
  let beside: Term | undefined
  try {
    beside = unitsBesideBroadcasts(term)
  } catch (e) {
    if (!(e instanceof TermError)) throw e
  }
  if (beside !== undefined && sameNormalForm(beside, term)) {
    g.union(root, g.add(beside), { kind: 'normal-form' })
    g.rebuild()
  }
  const search = saturate(g, rules, { iterations: 6, nodes: 3000, timeMs: 3000, ...options.limits })
  const measure = (t: Term): Cost | undefined => {
    try {
      return costOf(t, sizes, options.costOptions)
    } catch (e) {
      if (e instanceof TermError) return undefined
      throw e
    }
  }
  const before = measure(term)
  if (before === undefined) costOf(term, sizes, options.costOptions) // throws the TermError
  const candidates: Candidate[] = []
  // The greedy extraction over the spines (a sequence's parts chosen class by class), then every
  // member of the root class as a whole term.
  const extracted = g.extract(root, (n) => {
    const c = measure(g.term(n))
    return c === undefined ? undefined : scoreOf(model, c)
  })
  for (const member of extracted !== undefined && g.equal(extracted, root)
    ? [extracted, ...g.classOf(root).members.filter((m) => m !== extracted)]
    : g.classOf(root).members) {
    const t = g.term(member)
    const c = measure(t)
    if (c !== undefined)
      candidates.push({ term: t, member, normalized: false, cost: c, score: scoreOf(model, c) })
  }
  candidates.sort((x, y) => x.score - y.score)
  const tops = candidates.slice(0, options.normalized ?? 8)
  for (const top of tops.some((x) => x.member === root)
    ? tops
    : [...tops, candidates.find((x) => x.member === root) as Candidate]) {
    let t: Term
    try {
      t = normalize(top.term)
    } catch (e) {
      if (e instanceof TermError) continue
      throw e
    }
    const c = measure(t)
    if (c !== undefined)
      candidates.push({
        term: t,
        member: top.member,
        normalized: true,
        cost: c,
        score: scoreOf(model, c),
      })
  }
  candidates.sort((x, y) => x.score - y.score || (x.normalized ? 1 : 0) - (y.normalized ? 1 : 0))
  for (const cand of candidates) {
    let steps: Step[]
    try {
      steps = g.explain(root, cand.member, catalogue).map((x) => x.step)
    } catch (e) {
      if (e instanceof ExplainError) continue
      throw e
    }
    if (cand.normalized) {
      const target = new Map([['target', { sort: 'term' as const, value: cand.term }]])
      const from = g.term(cand.member)
      const step = applyAt(normalFormConversion, from, { path: [] }, 'forward', undefined, target)
      if (E.isLeft(step)) continue
      steps = [...steps, step.right.step]
    }
    const proof: Proof = { name, lhs: term, rhs: cand.term, steps }
    if (E.isLeft(checkProof(proof, catalogue))) continue
    return {
      term: cand.term,
      proof,
      before: before as Cost,
      after: cand.cost,
      score: { before: scoreOf(model, before as Cost), after: cand.score },
      candidates: candidates.length,
      search,
    }
  }
  // The input itself: an empty proof.
  return {
    term,
    proof: { name, lhs: term, rhs: term, steps: [] },
    before: before as Cost,
    after: before as Cost,
    score: { before: scoreOf(model, before as Cost), after: scoreOf(model, before as Cost) },
    candidates: candidates.length,
    search,
  }
}
