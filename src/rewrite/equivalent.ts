/**
 * Deciding equivalence (DESIGN.md section 5): `equivalent(a, b)` returns a proof that a checker
 * accepts, or a counterexample (sizes, inputs and the first differing output), or says plainly
 * that it found neither. It never reports equal without a proof.
 *
 * The proof is a conversion by the structural normal form: the law `structural/normal-form`
 * rewrites a term into any term with the same normal form, and the checker recomputes both
 * normal forms (proof by computation, like a `decide` tactic). Its soundness is the property
 * that a normal form evaluates equal to its term, tested in `laws/normal-form.test.ts`.
 *
 * Both follow the number semantics of the README ("Number semantics"): the laws are true of real
 * numbers, `-0` is `0`, and default sizes are part of a term. So the search for a counterexample
 * leaves the defaults to apply in every other trial, and reports an entry only where both sides
 * are real numbers: a difference where one side is NaN or ±∞ (IEEE results such as ∞ · 0 or an
 * overflow, outside the reals) gives `unknown`, with that entry in the reason.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { par } from '../core/construct.js'
import type { Sizes } from '../core/dim.js'
import { dimVars } from '../core/dim.js'
import { TermError, fail } from '../core/errors.js'
import { showTyped } from '../core/show.js'
import { type Term, children } from '../core/term.js'
import { showType, typeEquals } from '../core/types.js'
import { evaluate } from '../eval/evaluate.js'
import { randomInputs, randomParams, seededRandom } from '../eval/random.js'
import { normalKey } from './normal.js'
import { v } from './pattern.js'
import type { Proof } from './proof.js'
import { type Rule, applyAt, rule } from './rule.js'

/**
 * `t = target` when their structural normal forms agree (section 5). The step supplies the
 * target; checking it recomputes both normal forms.
 */
export const normalFormConversion: Rule = rule(
  'structural/normal-form',
  v.term('t'),
  v.build('the target, when its normal form is that of ?t', (b) => {
    const t = b.get('t')?.value as Term
    const given = b.get('target')
    // The step supplies the target: a recorded step (a decoded document) may hold anything.
    if (given?.sort !== 'term')
      return fail('bad-argument', 'structural/normal-form: the target must be a term', {
        expected: 'a term binding for ?target',
        got: given === undefined ? 'no ?target' : `a ${given.sort}`,
      })
    const target = given.value as Term
    if (normalKey(t) !== normalKey(target))
      return fail('type-mismatch', 'structural/normal-form: the normal forms differ', {
        expected: `a target with the normal form of ${showTyped(t)}`,
        got: showTyped(target),
      })
    return target
  }),
  { given: ['target'], source: 'DESIGN.md section 5' },
)

/** The structural laws decided by the normal form. */
export const structuralRules: ReadonlyArray<Rule> = Object.freeze([normalFormConversion])

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
}

/** The answer of {@link equivalent}. */
export type Equivalence =
  | { readonly kind: 'proof'; readonly proof: Proof }
  | { readonly kind: 'counterexample'; readonly counterexample: Counterexample }
  | { readonly kind: 'unknown'; readonly reason: string }

/** Options of {@link equivalent}. */
export interface EquivalentOptions {
  /** Random trials when looking for a counterexample (default 20). */
  readonly trials?: number
  /** The largest size drawn for a size variable (default 4). */
  readonly maxSize?: number
  readonly seed?: number
  /** Relative tolerance of the numeric comparison (default 1e-9). */
  readonly tolerance?: number
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
      kind: 'unknown',
      reason: `the terms have different types: ${showType(a.dom)} -> ${showType(a.cod)} and ${showType(b.dom)} -> ${showType(b.cod)}`,
    }
  if (normalKey(a) === normalKey(b)) {
    const target = new Map([['target', { sort: 'term' as const, value: b }]])
    const step = applyAt(normalFormConversion, a, { path: [] }, 'forward', undefined, target)
    if (E.isRight(step))
      return {
        kind: 'proof',
        proof: { name: 'equivalent', lhs: a, rhs: b, steps: [step.right.step] },
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
  for (let trial = 0; trial < trials; trial++) {
    const sizes = Object.create(null) as Record<string, number>
    for (const n of [...names].sort()) {
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
    try {
      inputs = randomInputs(a.dom, sizes, seed)
      // One draw over both terms: parameters of different names get independent values.
      params = randomParams(par(a, b), sizes, seed + 1)
      x = evaluate(a, sizes, inputs, params, { generatorSeed: seed + 2 })
      y = evaluate(b, sizes, inputs, params, { generatorSeed: seed + 2 })
    } catch (e) {
      if (!(e instanceof TermError)) throw e
      refused++
      continue
    }
    for (let o = 0; o < x.length; o++) {
      const l = x[o] as Float64Array
      const r = y[o] as Float64Array
      for (let j = 0; j < l.length; j++) {
        const p = l[j] as number
        const q = r[j] as number
        const same =
          p === q ||
          (Number.isNaN(p) && Number.isNaN(q)) ||
          Math.abs(p - q) <= tolerance * Math.max(1, Math.abs(p), Math.abs(q))
        if (same) continue
        // The laws are true of real numbers: a difference where a side is NaN or ±∞ (an IEEE
        // result outside the reals, such as ∞ · 0) refutes nothing. It is reported as unknown.
        if (!isReal(p) || !isReal(q)) {
          outside ??= `output ${o} entry ${j} is ${p} on the left and ${q} on the right at sizes ${JSON.stringify(sizes)}`
          continue
        }
        return {
          kind: 'counterexample',
          counterexample: {
            sizes,
            inputs,
            params,
            generatorSeed: seed + 2,
            output: o,
            entry: j,
            left: p,
            right: q,
          },
        }
      }
    }
  }
  return {
    kind: 'unknown',
    reason: `the structural normal forms differ, and ${trials - refused} random trials (sizes up to ${maxSize}${refused > 0 ? `, ${refused} refused` : ''}) found no difference between real numbers${outside === undefined ? '' : ` (they differ only outside the reals: ${outside})`}`,
  }
}
