/**
 * Walking a term: every sub-term, and the named parameters it reads.
 *
 * @packageDocumentation
 */
import { children } from '../core/term.js'
import { paramsOf } from '../core/params.js'
import type { Term } from '../core/term.js'
import type { Shape } from '../core/types.js'

/**
 * Every sub-term of a term, the term first (pre-order), including the bodies of boxes.
 *
 * @example
 * ```ts
 * import { seq, relu, mean } from 'neural-circuit-diagrams'
 * import { subterms } from 'neural-circuit-diagrams/testing'
 * subterms(seq(relu(['k']), mean('k'))).map((t) => t.kind) // ['seq', 'broadcast', 'scalar', 'axisOp']
 * ```
 */
export const subterms = (t: Term): ReadonlyArray<Term> => {
  const out: Term[] = []
  const go = (s: Term): void => {
    out.push(s)
    children(s).forEach(go)
  }
  go(t)
  return out
}

/**
 * The parameters a term reads, by name, with their shapes: `paramsOf` of the main entry (a name
 * used with two shapes is refused).
 *
 * @example
 * ```ts
 * import { linearLayer, showShape } from 'neural-circuit-diagrams'
 * import { termParams } from 'neural-circuit-diagrams/testing'
 * const ps = termParams(linearLayer('W', 'k', 'h', { bias: true }))
 * Array.from(ps.keys()) // ['W.weight', 'W.bias']
 * showShape(ps.get('W.weight')!) // '[h k]'
 * ```
 */
export const termParams = (t: Term): ReadonlyMap<string, Shape> => paramsOf(t)
