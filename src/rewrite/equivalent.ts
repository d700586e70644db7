/**
 * Deciding equivalence (DESIGN.md section 5): `equivalent(a, b)` returns a proof that a checker
 * accepts, or a counterexample (sizes, inputs and the first differing output), or says plainly
 * that it found neither. It never reports equal without a proof.
 *
 * It tries, in order (issue 13):
 *
 * 1. the types: terms of different types are refuted at once, both types named;
 * 2. the structural normal form: one step of the law `structural/normal-form`, which rewrites a
 *    term into any term with the same normal form (the checker recomputes both normal forms,
 *    proof by computation, like a `decide` tactic; its soundness is the property of
 *    `laws/normal-form.test.ts`);
 * 3. equality saturation from both sides (`egraph/`) with the law catalogue and the caller's
 *    rules, until the two classes merge, or a member of one and a member of the other have one
 *    normal form; the merge is explained as named-law steps (a normal-form conversion appears as
 *    a step of its own where it is the honest step), and the proof is replayed by `checkProof`
 *    before it is returned, so a proof the checker would reject is never returned;
 * 4. the search for a counterexample, at the caller's sizes first, then at random sizes.
 *
 * (The first few trials of the counterexample search run before the saturation, because they are
 * cheap and a found difference settles the question: a search whose every proof `checkProof`
 * replays cannot prove terms that evaluate differently. The other trials run after a saturation
 * that found no proof: on a true equation they would only evaluate both sides again (on Fig. 29
 * they were an eighth of the time). The answers are those of the order above.)
 *
 * Otherwise the answer is `unknown`, with the limits the search reached and the side conditions
 * that blocked laws.
 *
 * Both follow the number semantics of the README ("Number semantics"): the laws are true of real
 * numbers, `-0` is `0`, and default sizes are part of a term. So the search for a counterexample
 * leaves the defaults to apply in every other trial, and reports an entry only where both sides
 * are real numbers, from a trial in which every value either side computed is real: a difference
 * where one side is NaN or ±∞ (IEEE results such as ∞ · 0 or an overflow, outside the reals), or
 * one after an intermediate NaN or ±∞ (an overflow then `1/∞ = 0` gives finite outputs that the
 * laws say nothing about), gives `unknown`, with that entry in the reason. So does a difference
 * within float64 rounding: each side's rounding-error bound at the entry is computed along its
 * data flow (`src/eval/error-bound.ts`), and only a difference larger than the two bounds
 * together refutes (the counterexample carries that sum as `bound`).
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { par } from '../core/construct.js'
import type { Sizes } from '../core/dim.js'
import { dimVars } from '../core/dim.js'
import { TermError } from '../core/errors.js'
import { type Term, children } from '../core/term.js'
import { showType, typeEquals } from '../core/types.js'
import { evaluateWatched } from '../eval/evaluate.js'
import { roundingBounds } from '../eval/error-bound.js'
import { randomInputs, randomParams, seededRandom } from '../eval/random.js'
import { EGraph, ExplainError } from './egraph/egraph.js'
import { type SaturationLimits, type SaturationReport, saturate } from './egraph/saturate.js'
import { normalKey } from '../derive/normal.js'
import { type Catalogue, type Proof, catalogueOf, checkProof } from './proof.js'
import { type Rule, type Step, applyAt } from './rule.js'
import { lawFamilies } from './rules/index.js'
import { normalFormConversion } from './rules/structural.js'

export { normalFormConversion, structuralRules } from './rules/structural.js'

/** Inputs on which two terms differ. */
export interface Counterexample {
  readonly sizes: Sizes
  readonly inputs: ReadonlyArray<Float64Array>
  readonly params: Readonly<Record<string, Float64Array>>
  /**
   * The seed of the random interpretations of generators (`EvalOptions.generatorSeed`): each
   * trial draws the generic maps afresh, so an equation about arbitrary generators is refuted
   * by one interpretation of them.
   */
  readonly generatorSeed: number
  /** The first differing output segment and entry, and the two values there. */
  readonly output: number
  readonly entry: number
  readonly left: number
  readonly right: number
  /**
   * The two sides' float64 rounding-error bounds at that entry added up
   * (`evaluateWithErrorBounds`): `|left - right|` is larger, so the exact real values differ.
   */
  readonly bound?: number
}

/** The answer of {@link equivalent}. */
export type Equivalence =
  | {
      readonly kind: 'proof'
      readonly proof: Proof
      readonly search?: SaturationReport
      /**
       * The proof rewrites the right side into the left (`proof.lhs` is the second term): the
       * laws it needs are one-way and apply to the right side only. Equality is symmetric, and
       * `checkProof` replays it as it stands.
       */
      readonly reversed?: true
    }
  | {
      readonly kind: 'counterexample'
      readonly counterexample: Counterexample
      readonly search?: SaturationReport
    }
  /** The two terms have different types (both named in the reason): refuted without a trial. */
  | { readonly kind: 'different-types'; readonly reason: string }
  | { readonly kind: 'unknown'; readonly reason: string; readonly search?: SaturationReport }

/** Options of {@link equivalent}. */
export interface EquivalentOptions {
  /** Random trials when looking for a counterexample (default 20). */
  readonly trials?: number
  /** The largest size drawn for a size variable (default 4). */
  readonly maxSize?: number
  readonly seed?: number
  /**
   * Relative tolerance of the numeric comparison (default 1e-9): a difference below it times the
   * larger magnitude is no counterexample, whatever the rounding-error bounds say.
   */
  readonly tolerance?: number
  /**
   * Sizes of the first trial (size variables left out are drawn), so that a difference planted
   * at one index is found there.
   */
  readonly sizes?: Sizes
  /** The limits of the saturation (see `saturate`); `false` to skip the search. */
  readonly limits?: SaturationLimits | false
  /** Laws of the caller's, searched and cited like the catalogue's (their names must be new). */
  readonly rules?: ReadonlyArray<Rule>
  /** A name for the proof (default 'equivalent'). */
  readonly name?: string
  /**
   * Intermediate terms (a hint, like the lemma of a proof by hand): each is added to the e-graph
   * and merged, by a `structural/normal-form` step, with the side whose normal form it shares;
   * the laws then work on it like on the sides. A term that shares neither normal form is not
   * used. Soundness does not depend on it: every proof is replayed by `checkProof`.
   */
  readonly via?: ReadonlyArray<Term>
}

/** The laws the search uses and the catalogue its proofs are checked against. */
const lawsOf = (extra: ReadonlyArray<Rule>): { rules: Rule[]; catalogue: Catalogue } => {
  const rules = [...lawFamilies.flatMap(([, rs]) => rs), ...extra]
  return { rules, catalogue: catalogueOf(rules) }
}

const nfKey = (t: Term, cache: Map<Term, string | undefined>): string | undefined => {
  if (cache.has(t)) return cache.get(t)
  let k: string | undefined
  try {
    k = normalKey(t)
  } catch (e) {
    if (!(e instanceof TermError)) throw e
  }
  cache.set(t, k)
  return k
}

/** The outcome of the search: a checked proof, or why there is none. */
type Searched =
  | { readonly proof: Proof; readonly report: SaturationReport; readonly reversed?: true }
  | { readonly reason: string; readonly report: SaturationReport }

/** The limits of the saturation that reports the blocked laws of a refuted equation. */
const NEAR_MISS: SaturationLimits = { iterations: 2, nodes: 400, timeMs: 300 }
const nearMissTime = (l: SaturationLimits | undefined): SaturationLimits =>
  l?.timeMs === undefined ? {} : { timeMs: Math.min(l.timeMs, 300) }

/** Trials of the counterexample search made before the saturation (the others after it). */
const EARLY_TRIALS = 4

/** Members of each class compared by normal form at every goal test. */
const MEET_MEMBERS = 64

const search = (
  a: Term,
  b: Term,
  name: string,
  rules: ReadonlyArray<Rule>,
  catalogue: Catalogue,
  limits: SaturationLimits,
  via: ReadonlyArray<Term> = [],
): Searched => {
  const g = new EGraph()
  const xa = g.add(a)
  const xb = g.add(b)
  const keys = new Map<Term, string | undefined>()
  for (const t of via) {
    const k = nfKey(t, keys)
    if (k === undefined) continue
    const side = k === nfKey(a, keys) ? xa : k === nfKey(b, keys) ? xb : undefined
    if (side !== undefined) g.union(side, g.add(t), { kind: 'normal-form' })
  }
  g.rebuild()
  // The goal: one class, or a member of each with one normal form (merged as a conversion).
  const goal = (): boolean => {
    if (g.equal(xa, xb)) return true
    const seen = new Map<string, number>()
    for (const m of g.classOf(xa).members.slice(-MEET_MEMBERS)) {
      const k = nfKey(g.term(m), keys)
      if (k !== undefined) seen.set(k, m)
    }
    for (const m of g.classOf(xb).members.slice(-MEET_MEMBERS)) {
      const k = nfKey(g.term(m), keys)
      const other = k === undefined ? undefined : seen.get(k)
      if (other !== undefined) {
        g.union(other, m, { kind: 'normal-form' })
        g.rebuild()
        return true
      }
    }
    return false
  }
  const report = saturate(g, rules, limits, goal)
  if (!g.equal(xa, xb)) return { reason: stopped(report), report }
  // The explanation from a to b; when it would read a one-way law backwards (every one-way law
  // applied to b's side), the explanation from b to a: a proof of b = a, marked reversed.
  const attempt = (x: number, y: number, lhs: Term, rhs: Term): Proof | string => {
    let steps: Step[]
    try {
      steps = g.explain(x, y, catalogue).map((e) => e.step)
    } catch (e) {
      if (!(e instanceof ExplainError)) throw e
      return `the classes merged, but the proof cannot be written: ${e.message}`
    }
    const proof: Proof = { name, lhs, rhs, steps }
    const checked = checkProof(proof, catalogue)
    return E.isLeft(checked)
      ? `the classes merged, but checkProof rejects the explanation at step ${checked.left.step}: ${checked.left.reason}`
      : proof
  }
  const forward = attempt(xa, xb, a, b)
  if (typeof forward !== 'string') return { proof: forward, report }
  const backward = attempt(xb, xa, b, a)
  if (typeof backward !== 'string') return { proof: backward, report, reversed: true }
  return { reason: forward, report }
}

const proofOf = (s: Extract<Searched, { readonly proof: Proof }>): Equivalence =>
  s.reversed === true
    ? { kind: 'proof', proof: s.proof, search: s.report, reversed: true }
    : { kind: 'proof', proof: s.proof, search: s.report }

const stopped = (r: SaturationReport): string => {
  const why = r.reason
  const blocked = [...r.blocked.values()].slice(0, 4)
  return `the search ${why} without merging the two sides (${r.nodes} nodes, ${r.classes} classes, ${r.iterations.length} iterations, ${r.ms} ms)${blocked.length > 0 ? `; side conditions that blocked laws: ${blocked.join('; ')}` : ''}`
}

const termDims = (
  t: Term,
  names = new Set<string>(),
  least = new Map<string, number>(),
  defaulted = new Set<string>(),
) => {
  for (const s of [...t.dom, ...t.cod])
    for (const d of s)
      for (const [n, x] of dimVars(d)) {
        names.add(n)
        if (x.size !== undefined) defaulted.add(n)
      }
  if (t.kind === 'scalar' && t.bySize !== undefined)
    for (const [n, x] of dimVars(t.bySize.dim)) {
      names.add(n)
      if (x.size !== undefined) defaulted.add(n)
    }
  if (t.kind === 'index' && t.axis.kind === 'var')
    least.set(t.axis.name, Math.max(least.get(t.axis.name) ?? 1, t.at + 1))
  children(t).forEach((c) => termDims(c, names, least, defaulted))
  return { names, least, defaulted }
}

/**
 * Both sides' rounding-error bounds at a trial; infinite (nothing refuted) where the bound
 * evaluation itself is refused (its stacked evaluations over a memory cap).
 */
const boundsOf = (
  a: Term,
  b: Term,
  sizes: Sizes,
  inputs: ReadonlyArray<Float64Array>,
  params: Readonly<Record<string, Float64Array>>,
  generatorSeed: number,
  x: ReadonlyArray<Float64Array>,
  y: ReadonlyArray<Float64Array>,
): { left: Float64Array[]; right: Float64Array[] } => {
  try {
    return {
      left: roundingBounds(a, sizes, inputs, params, { generatorSeed }, x),
      right: roundingBounds(b, sizes, inputs, params, { generatorSeed }, y),
    }
  } catch (e) {
    if (!(e instanceof TermError)) throw e
    const infinite = (zs: ReadonlyArray<Float64Array>) =>
      zs.map((z) => new Float64Array(z.length).fill(Infinity))
    return { left: infinite(x), right: infinite(y) }
  }
}

/** Whether a number is a real number (not NaN or ±∞): the values the laws speak of. */
const isReal = (x: number): boolean => Number.isFinite(x)

/**
 * Decide whether two terms are equal: a proof, a counterexample, or an explicit "unknown".
 *
 * @example
 * ```ts
 * import { equivalent, seq, copy, par, drop, relu, tanh } from 'neural-circuit-diagrams'
 * equivalent(seq(copy([['k']]), par(relu('k'), drop([['k']]))), relu('k')).kind // 'proof'
 * equivalent(relu('k'), tanh('k')).kind // 'counterexample'
 * ```
 */
export const equivalent = (a: Term, b: Term, options: EquivalentOptions = {}): Equivalence => {
  if (!typeEquals(a.dom, b.dom) || !typeEquals(a.cod, b.cod))
    return {
      kind: 'different-types',
      reason: `the terms have different types: ${showType(a.dom)} -> ${showType(a.cod)} and ${showType(b.dom)} -> ${showType(b.cod)}`,
    }
  const name = options.name ?? 'equivalent'
  if (normalKey(a) === normalKey(b)) {
    const target = new Map([['target', { sort: 'term' as const, value: b }]])
    const step = applyAt(normalFormConversion, a, { path: [] }, 'forward', undefined, target)
    if (E.isRight(step))
      return {
        kind: 'proof',
        proof: { name, lhs: a, rhs: b, steps: [step.right.step] },
      }
  }
  const trials = options.trials ?? 20
  const tolerance = options.tolerance ?? 1e-9
  const maxSize = options.maxSize ?? 4
  const next = seededRandom(options.seed ?? 1)
  const first = termDims(a)
  const { names, least, defaulted } = termDims(b, first.names, first.least, first.defaulted)
  let refused = 0
  let outside: string | undefined
  // The trials [from, to): a counterexample, or undefined (refusals and differences outside the
  // reals counted). The sizes and seeds are drawn in trial order whatever the ranges.
  const runTrials = (from: number, to: number): Equivalence | undefined => {
    for (let trial = from; trial < to; trial++) {
      const sizes = Object.create(null) as Record<string, number>
      for (const n of [...names].sort()) {
        const given = trial === 0 ? options.sizes?.[n] : undefined
        if (given !== undefined) {
          sizes[n] = given
          continue
        }
        // Default sizes are part of the terms' meaning: every other trial leaves them to apply.
        if (trial % 2 === 0 && defaulted.has(n)) continue
        const lo = least.get(n) ?? 1
        sizes[n] = lo + Math.floor(next() * Math.max(1, maxSize - lo + 1))
      }
      const seed = Math.floor(next() * 2 ** 31)
      let inputs: Float64Array[]
      let params: Record<string, Float64Array>
      let x: Float64Array[]
      let y: Float64Array[]
      // Whether a side computed a NaN or ±∞ on the way (an overflow, 1/0), even if its outputs
      // are finite again: the laws speak of real numbers only, so such a trial refutes nothing.
      let unreal: boolean
      let generatorSeed: number
      try {
        inputs = randomInputs(a.dom, sizes, seed)
        // One draw over both terms: parameters of different names get independent values.
        params = randomParams(par(a, b), sizes, seed + 1)
        generatorSeed = seed + 2
        const wx = evaluateWatched(a, sizes, inputs, params, { generatorSeed })
        const wy = evaluateWatched(b, sizes, inputs, params, { generatorSeed })
        x = wx.outputs
        y = wy.outputs
        unreal = wx.nonFinite || wy.nonFinite
      } catch (e) {
        if (!(e instanceof TermError)) throw e
        refused++
        continue
      }
      // The rounding-error bounds of both sides, computed at the first difference of the trial.
      let bounds: { left: Float64Array[]; right: Float64Array[] } | undefined
      for (let o = 0; o < x.length; o++) {
        const l = x[o] as Float64Array
        const r = y[o] as Float64Array
        for (let j = 0; j < l.length; j++) {
          const p = l[j] as number
          const q = r[j] as number
          const same =
            p === q ||
            (Number.isNaN(p) && Number.isNaN(q)) ||
            // Relative only: an absolute floor (max(1, ...)) hid every difference below 1e-9
            // (x · 1e-10 = x · 2e-10); what rounding can explain, the bounds below decide.
            Math.abs(p - q) <= tolerance * Math.max(Math.abs(p), Math.abs(q))
          if (same) continue
          // The laws are true of real numbers: a difference where a side is NaN or ±∞ (an IEEE
          // result outside the reals, such as ∞ · 0) refutes nothing. It is reported as unknown.
          if (!isReal(p) || !isReal(q)) {
            outside ??= `output ${o} entry ${j} is ${p} on the left and ${q} on the right at sizes ${JSON.stringify(sizes)}`
            continue
          }
          if (unreal) {
            outside ??= `output ${o} entry ${j} is ${p} on the left and ${q} on the right at sizes ${JSON.stringify(sizes)}, where a value computed on the way is NaN or infinite`
            continue
          }
          // The laws are true of real numbers, and float64 rounds: a difference within the two
          // sides' rounding-error bounds may be rounding, not a refutation ((1e16 x + x) - 1e16 x
          // is x over the reals and 2 at x = 1.5). The bounds follow the data flow
          // (src/eval/error-bound.ts): a dropped branch or a large value that never reaches the
          // output widens nothing.
          bounds ??= boundsOf(a, b, sizes, inputs, params, generatorSeed, x, y)
          const bound =
            ((bounds.left[o]?.[j] as number) + (bounds.right[o]?.[j] as number)) * (1 + 2 ** -50)
          if (!(Math.abs(p - q) > bound)) {
            outside ??= `output ${o} entry ${j} is ${p} on the left and ${q} on the right at sizes ${JSON.stringify(sizes)}, within float64 rounding: the two sides' error bounds there add up to ${bound}`
            continue
          }
          const counterexample: Counterexample = {
            sizes,
            inputs,
            params,
            generatorSeed,
            output: o,
            entry: j,
            left: p,
            right: q,
            bound,
          }
          if (options.limits === false) return { kind: 'counterexample', counterexample }
          // A short saturation tells which laws' side conditions kept the sides apart (the near
          // misses: a snake of a nonlinear map is blocked at `?f is linear`).
          const { rules } = lawsOf(options.rules ?? [])
          const g = new EGraph()
          g.add(a)
          g.add(b)
          const search = saturate(g, rules, { ...NEAR_MISS, ...nearMissTime(options.limits) })
          return { kind: 'counterexample', counterexample, search }
        }
      }
    }
    return undefined
  }
  // A few trials first (the caller's sizes, defaults and random sizes): they settle a false
  // equation at once (every refutation of the test suites came at trial 0 or 1), where the
  // saturation would run to its limits. The rest only when the search finds no proof: a proof
  // that checkProof replays settles a true one, and the trials would only evaluate it again.
  const early = runTrials(0, Math.min(trials, EARLY_TRIALS))
  if (early !== undefined) return early
  let searched: Searched | undefined
  if (options.limits !== false) {
    const { rules, catalogue } = lawsOf(options.rules ?? [])
    searched = search(a, b, name, rules, catalogue, options.limits ?? {}, options.via)
    if ('proof' in searched) return proofOf(searched)
    // A one-way law read backwards: without it (and then without any one-way law) the search
    // may still find a proof.
    const excluded = new Set<string>()
    for (let retry = 0; retry < 3 && !('proof' in searched); retry++) {
      const m = /cannot be written: (\S+) is one-way/.exec(searched.reason)
      if (m === null || excluded.has(m[1] as string)) break
      excluded.add(m[1] as string)
      const again = search(
        a,
        b,
        name,
        rules.filter((r) => !excluded.has(r.name)),
        catalogue,
        options.limits ?? {},
        options.via,
      )
      if ('proof' in again) return proofOf(again)
      if (!/cannot be written/.test(again.reason)) break
      searched = again
    }
    if (/cannot be written/.test(searched.reason)) {
      const again = search(
        a,
        b,
        name,
        rules.filter((r) => r.bidirectional),
        catalogue,
        options.limits ?? {},
        options.via,
      )
      if ('proof' in again) return proofOf(again)
    }
  }
  const late = runTrials(Math.min(trials, EARLY_TRIALS), trials)
  if (late !== undefined) return late
  const report = searched?.report
  const searchedWhy = searched === undefined || 'proof' in searched ? '' : `; ${searched.reason}`
  const reason = `the structural normal forms differ${searchedWhy}, and ${trials - refused} random trials (sizes up to ${maxSize}${refused > 0 ? `, ${refused} refused` : ''}) found no difference between real numbers${outside === undefined ? '' : ` (they differ only outside the reals or within float64 rounding: ${outside})`}`
  return report === undefined
    ? { kind: 'unknown', reason }
    : { kind: 'unknown', reason, search: report }
}
