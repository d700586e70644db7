/**
 * Identity-preserving updates: rebuilding a term from new children returns the term itself when
 * every child is the same object (`===`), so a pass detects a fixed point with `===` and unchanged
 * sub-terms stay shared (STYLE.md, after the TypeScript compiler's `update` functions).
 *
 * @packageDocumentation
 */
import { box, broadcast, derivative, par, seq, spliceParts } from './construct.js'
import { TermError, fail } from './errors.js'
import { type Term, children } from './term.js'

/**
 * The term with its direct sub-terms replaced (re-type-checked), or the term itself when nothing
 * changed.
 *
 * @example
 * ```ts
 * import { withChildren, seq, relu, mean } from 'neural-circuit-diagrams'
 * const t = seq(relu('k'), mean('k'))
 * withChildren(t, [relu('k'), mean('k')]) === t // false (new parts)
 * withChildren(t, (t as { parts: never[] }).parts) === t // true
 * ```
 */
export const withChildren = (t: Term, next: ReadonlyArray<Term>): Term => {
  const old = children(t)
  if (next.length !== old.length)
    return fail('bad-arity', `withChildren: a ${t.kind} has ${old.length} sub-term(s)`, {
      expected: `${old.length} sub-term(s)`,
      got: `${next.length}`,
    })
  if (next.every((c, i) => c === old[i])) return t
  // Only composites have children, and a leaf's (empty) children are always unchanged.
  if (t.kind === 'seq' || t.kind === 'par') {
    // Only the changed run of parts is rebuilt; the rest is spliced around it (spliceParts).
    let first = 0
    while (next[first] === old[first]) first++
    let last = next.length - 1
    while (next[last] === old[last]) last--
    const changed = next.slice(first, last + 1)
    const build = t.kind === 'seq' ? seq : par
    try {
      return spliceParts(t, first, last + 1, build(...changed))
    } catch (e) {
      // Ill-typed: the error of the whole constructor, which numbers the parts of the whole.
      if (e instanceof TermError) return build(...next)
      throw e
    }
  }
  if (t.kind === 'broadcast')
    return broadcast(next[0] as Term, t.axes, { inputs: t.inputs, outputs: t.outputs })
  if (t.kind === 'box') return box(t.name, next[0] as Term)
  if (t.kind === 'derivative') return derivative(next[0] as Term)
  return t
}

/**
 * Rebuild a term bottom-up with `f` applied to every sub-term after its children, keeping every
 * unchanged sub-term (and the whole term, when nothing changes) the same object.
 *
 * @example
 * ```ts
 * import { mapTerm, seq, relu, tanh, show } from 'neural-circuit-diagrams'
 * const t = seq(relu('k'), relu('k'))
 * show(mapTerm(t, (s) => (show(s) === 'relu[k]' ? tanh('k') : s))) // 'tanh[k] ; tanh[k]'
 * mapTerm(t, (s) => s) === t // true
 * ```
 */
export const mapTerm = (t: Term, f: (t: Term) => Term): Term =>
  f(
    withChildren(
      t,
      children(t).map((c) => mapTerm(c, f)),
    ),
  )
