/**
 * The laws of a category (paper section 2.2, Fig. 6-7: composition of vertical sections):
 *
 *     (f ; g) ; h = f ; (g ; h)        id(A) ; f = f = f ; id(B)        box(name, f) = f
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

/**
 * A named sub-diagram is its body (section 3.4: architectures are drawn as blocks, "analogous to
 * classes or functions"; the labelled boxes of Fig. 21-29): `box(name, f) = f`. Opening a box
 * lets the other laws reach inside it, such as the attention broadcast over the heads of Fig. 23.
 * One-way: the right side forgets the name.
 */
export const unbox = rule('category/unbox', P.box(v.value('name'), f), f, {
  source: 'section 3.4, Fig. 21-29',
  oneWay: true,
})

/** The category laws, in catalogue order. */
export const categoryRules: ReadonlyArray<Rule> = Object.freeze([assoc, idLeft, idRight, unbox])
