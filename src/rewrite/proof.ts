/**
 * Proofs as data (DESIGN.md section 5): the two sides of an equation and the steps (law,
 * direction, location, bindings) that rewrite the left side into the right. {@link checkProof}
 * replays a proof with nothing but a law catalogue, and rejects a wrong step with its number and
 * the reason.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { dataEquals, defaultSizesKey } from '../core/equal.js'
import { fail } from '../core/errors.js'
import { show } from '../core/show.js'
import { type Term, children } from '../core/term.js'
import { type Location, nodeAt } from './path.js'
import { showLocation } from './path.js'
import { type Rule, type Step, applyAt, showStep } from './rule.js'

/** An equation `lhs = rhs` with the steps that rewrite `lhs` into `rhs`. */
export interface Proof {
  /** A name for reports: 'Fig. 20: the snake identity'. */
  readonly name: string
  readonly lhs: Term
  readonly rhs: Term
  readonly steps: ReadonlyArray<Step>
}

/** Why a proof was rejected. */
export interface ProofFailure {
  /** The 1-based number of the failing step, or `steps + 1` when the end is not the right side. */
  readonly step: number
  readonly reason: string
}

/** The laws by name, as a proof checker needs them. */
export type Catalogue = ReadonlyMap<string, Rule>

/**
 * A catalogue from rule lists; refuses two rules of one name.
 *
 * @example
 * ```ts
 * import { catalogueOf, rule, P, v } from 'neural-circuit-diagrams'
 * const r = rule('my/id-left', P.seq(P.id(v.dom('f')), v.term('f')), v.term('f'))
 * catalogueOf([r]).has('my/id-left') // true
 * ```
 */
export const catalogueOf = (...families: ReadonlyArray<ReadonlyArray<Rule>>): Catalogue => {
  const out = new Map<string, Rule>()
  for (const r of families.flat()) {
    if (out.has(r.name))
      fail('bad-argument', `catalogue: two laws are named ${r.name}`, {
        expected: 'one law per name (names are API: proofs cite them)',
        got: `${r.name} twice`,
      })
    out.set(r.name, r)
  }
  return out
}

/**
 * Replay a proof: every step must apply its law, in its direction, at its location, with exactly
 * its bindings, and the last term must be the right side, with the same default sizes as the
 * left side and the right side ({@link defaultSizesKey}: laws hold for every binding of the size
 * variables, defaults are part of what a term means).
 *
 * @example
 * ```ts
 * import { checkProof, catalogueOf, rule, rewriteAt, P, v, seq, id, relu } from 'neural-circuit-diagrams'
 * import * as E from 'fp-ts/lib/Either.js'
 * const idLeft = rule('my/id-left', P.seq(P.id(v.dom('f')), v.term('f')), v.term('f'))
 * const lhs = seq(id([['k']]), relu('k'))
 * const { term, step } = rewriteAt(idLeft, { path: [] })(lhs)
 * E.isRight(checkProof({ name: 'id', lhs, rhs: term, steps: [step] }, catalogueOf([idLeft]))) // true
 * ```
 */
export const checkProof = (proof: Proof, laws: Catalogue): E.Either<ProofFailure, Term> => {
  let term = proof.lhs
  for (let i = 0; i < proof.steps.length; i++) {
    const s = proof.steps[i] as Step
    const r = laws.get(s.rule)
    if (r === undefined) return E.left({ step: i + 1, reason: `no law is named ${s.rule}` })
    const result = applyAt(r, term, s.location, s.direction, s.bindings)
    if (E.isLeft(result))
      return E.left({ step: i + 1, reason: `${showStep(s)}: ${result.left.message}` })
    term = result.right.term
  }
  if (!dataEquals(term, proof.rhs))
    return E.left({
      step: proof.steps.length + 1,
      reason: `the steps end at ${show(term, { maxLength: 200 })}, not at the right side ${show(proof.rhs, { maxLength: 200 })}`,
    })
  // Structural equality compares dims by name; their default sizes are meaning too. Laws hold for
  // every binding of the size variables, so the two ends must agree on the defaults they give.
  const [from, to, end] = [proof.lhs, proof.rhs, term].map(defaultSizesKey)
  if (from !== to || end !== to)
    return E.left({
      step: proof.steps.length + 1,
      reason: `the sides give their dims other default sizes: ${from || 'none'} on the left, ${to || 'none'} on the right${end === to ? '' : `, ${end || 'none'} where the steps end`}`,
    })
  return E.right(term)
}

/**
 * Build a proof by applying steps in order from the left side (each step given as the law, its
 * location and direction; the bindings are those the match finds). Throws when a step does not
 * apply.
 *
 * @example
 * ```ts
 * import { prove, rule, P, v, seq, id, relu, show } from 'neural-circuit-diagrams'
 * const idLeft = rule('my/id-left', P.seq(P.id(v.dom('f')), v.term('f')), v.term('f'))
 * const p = prove('id', seq(id([['k']]), relu('k')), [[idLeft, { path: [] }]])
 * show(p.rhs) // 'relu[k]'
 * ```
 */
export const prove = (
  name: string,
  lhs: Term,
  steps: ReadonlyArray<
    readonly [Rule, Step['location']] | readonly [Rule, Step['location'], Step['direction']]
  >,
): Proof => {
  let term = lhs
  const out: Step[] = []
  steps.forEach(([r, location, direction], i) => {
    const result = applyAt(r, term, location, direction ?? 'forward')
    if (E.isLeft(result))
      return fail('bad-argument', `prove ${name}: step ${i + 1} (${r.name}) does not apply`, {
        expected: `a sub-term at ${showLocation(location)} that ${r.name} rewrites (${direction ?? 'forward'})`,
        got: `${result.left.reason}: ${result.left.message}`,
      })
    out.push(result.right.step)
    term = result.right.term
  })
  return { name, lhs, rhs: term, steps: out }
}

/**
 * The proof read backwards: a proof of `rhs = lhs` (only for proofs whose laws are two-way).
 */
export const reverseProof = (p: Proof, laws: Catalogue): E.Either<ProofFailure, Proof> => {
  // Replaying gives the intermediate terms; each step is then undone from the next term.
  const terms: Term[] = [p.lhs]
  for (let i = 0; i < p.steps.length; i++) {
    const s = p.steps[i] as Step
    const r = laws.get(s.rule)
    if (r === undefined) return E.left({ step: i + 1, reason: `no law is named ${s.rule}` })
    const result = applyAt(r, terms[i] as Term, s.location, s.direction, s.bindings)
    if (E.isLeft(result)) return E.left({ step: i + 1, reason: result.left.message })
    terms.push(result.right.term)
  }
  const steps: Step[] = []
  for (let i = p.steps.length - 1; i >= 0; i--) {
    const s = p.steps[i] as Step
    const r = laws.get(s.rule) as Rule
    if (!r.bidirectional)
      return E.left({ step: i + 1, reason: `step ${i + 1} (${s.rule}) is one-way: it has no undo` })
    const back = s.direction === 'forward' ? 'backward' : 'forward'
    const before = terms[i] as Term
    const after = terms[i + 1] as Term
    // The rewritten sub-term in the later term (where the step's result stands), else the
    // step's own location; with the step's bindings first, so that the same instance is undone.
    let undone: Step | undefined
    for (const l of [resultLocation(before, after, s.location), s.location])
      for (const expected of [s.bindings, undefined]) {
        if (undone !== undefined) break
        const x = applyAt(r, after, l, back, expected)
        if (E.isRight(x) && dataEquals(x.right.term, before)) undone = x.right.step
      }
    if (undone === undefined)
      return E.left({ step: i + 1, reason: `step ${i + 1} (${s.rule}) cannot be undone in place` })
    steps.push(undone)
  }
  return E.right({ name: `${p.name} (reversed)`, lhs: p.rhs, rhs: p.lhs, steps })
}

/**
 * Where the result of a rewrite at `l` stands in the term after it: a sequence (stack) put into
 * a sequence (stack) is flattened into it, so the result is then a range of parts there.
 */
const resultLocation = (before: Term, after: Term, l: Location): Location => {
  const node = nodeAt(before, l.path)
  const count = (t: Term): number => children(t).length
  if (
    l.range !== undefined &&
    (node.kind === 'seq' || node.kind === 'par') &&
    (l.range[0] > 0 || l.range[1] < node.parts.length)
  ) {
    const [start, end] = l.range
    const k = count(nodeAt(after, l.path)) - (node.parts.length - (end - start))
    // One part is that part itself (a window holds a seq or par pattern's parts only).
    return k === 1 ? { path: [...l.path, start] } : { path: l.path, range: [start, start + k] }
  }
  if (l.path.length === 0) return { path: [] }
  const parent = l.path.slice(0, -1)
  const i = l.path[l.path.length - 1] as number
  const k = count(nodeAt(after, parent)) - count(nodeAt(before, parent)) + 1
  return k === 1 ? { path: l.path } : { path: parent, range: [i, i + k] }
}
