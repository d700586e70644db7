/**
 * The parameters of a term, read from the term alone: no sizes, no allocation.
 *
 * @packageDocumentation
 */
import { fail } from './errors.js'
import { show } from './show.js'
import { type Term, children } from './term.js'
import { type Shape, showShape } from './types.js'

/**
 * Every parameter a term reads (`param` leaves, in boxes, broadcasts and derivative bodies too),
 * by name, with its shape, in the order of first use (pre-order). No tensor is allocated and no
 * size is needed: `ncd cost mlp --sizes n=1000000000` lists the MLP's weights in microseconds.
 * A shared sub-term is visited once, so a term built by `graph()` costs its number of nodes.
 *
 * Throws a `TermError` (`bad-argument`) when one name is used with two shapes, as
 * {@link evaluate} would.
 *
 * @example
 * ```ts
 * import { linearLayer, paramsOf, seq, relu, showShape } from 'neural-circuit-diagrams'
 * const f = seq(linearLayer('W1', 'k', 'h', { bias: true }), relu(['h']), linearLayer('W2', 'h', 'c'))
 * Array.from(paramsOf(f).keys()) // ['W1.weight', 'W1.bias', 'W2.weight']
 * showShape(paramsOf(f).get('W1.weight')!) // '[h k]'
 * paramsOf(relu(['h'])).size // 0
 * ```
 */
export const paramsOf = (term: Term): ReadonlyMap<string, Shape> => {
  const out = new Map<string, Shape>()
  const seen = new Set<Term>()
  const stack: Term[] = [term]
  while (stack.length > 0) {
    const t = stack.pop() as Term
    if (seen.has(t)) continue
    seen.add(t)
    if (t.kind === 'param') {
      const old = out.get(t.name)
      if (old === undefined) out.set(t.name, t.shape)
      else if (showShape(old) !== showShape(t.shape))
        fail('bad-argument', `paramsOf: parameter '${t.name}' is used with two shapes`, {
          expected: showShape(old),
          got: showShape(t.shape),
          where: show(term, { maxLength: 160 }),
          hint: 'give different parameters different names',
        })
    }
    const cs = children(t)
    for (let i = cs.length - 1; i >= 0; i--) stack.push(cs[i] as Term)
  }
  return out
}
