/**
 * The laws of a category (paper section 2.2, Fig. 6-7: composition of vertical sections):
 *
 *     (f ; g) ; h = f ; (g ; h)        id(A) ; f = f = f ; id(B)
 *
 * Terms are kept flattened, so associativity holds by construction and matching is modulo it;
 * `category/assoc` is stated for completeness and proofs that cite it.
 *
 * @packageDocumentation
 */
import { P, v } from '../pattern.js'
import { type Rule, rule } from '../rule.js'

const f = v.term('f')
const g = v.term('g')
const h = v.term('h')

/** `(f ; g) ; h = f ; (g ; h)`: both sides are the same flattened sequence. */
export const assoc = rule('category/assoc', P.seq(P.seq(f, g), h), P.seq(f, P.seq(g, h)), {
  source: 'section 2.2',
})

/** `id(A) ; f = f`. Normalisation uses it left to right. */
export const idLeft = rule('category/id-left', P.seq(P.id(v.dom('f')), f), f, {
  source: 'section 2.2',
})

/** `f ; id(B) = f`. Normalisation uses it left to right. */
export const idRight = rule('category/id-right', P.seq(f, P.id(v.cod('f'))), f, {
  source: 'section 2.2',
})

/** The category laws, in catalogue order. */
export const categoryRules: ReadonlyArray<Rule> = Object.freeze([assoc, idLeft, idRight])
