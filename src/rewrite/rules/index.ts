/**
 * The law catalogue: every family of built-in laws, in order. Proofs cite laws by name and are
 * checked against this catalogue.
 *
 * @packageDocumentation
 */
import { type Catalogue, catalogueOf } from '../proof.js'
import type { Rule } from '../rule.js'
import { bendLawRules } from './bend.js'
import { broadcastRules } from './broadcast.js'
import { cartesianRules } from './cartesian.js'
import { categoryRules } from './category.js'
import { compactRules } from './compact.js'
import { concatRules } from './concat.js'
import { convolutionRules } from './convolution.js'
import { derivativeRules } from './derivative.js'
import { einsumRules } from './einsum.js'
import { elementwiseRules } from './elementwise.js'
import { linearRules } from './linear.js'
import { monoidalRules } from './monoidal.js'
import { transposeRules } from './transpose.js'
import { structuralRules } from './structural.js'

export {
  bendLawRules,
  broadcastRules,
  cartesianRules,
  categoryRules,
  compactRules,
  concatRules,
  convolutionRules,
  derivativeRules,
  einsumRules,
  elementwiseRules,
  linearRules,
  monoidalRules,
  transposeRules,
}
export { transposePattern } from './compact.js'
export { type StandIns, bendRules, fig20Bend, patternOfTerm } from './bend.js'
export { snakePattern } from './transpose.js'

/** The families of built-in laws, by family name. */
export const lawFamilies: ReadonlyArray<readonly [string, ReadonlyArray<Rule>]> = Object.freeze([
  ['category', categoryRules],
  ['monoidal', monoidalRules],
  ['cartesian', cartesianRules],
  ['broadcast', broadcastRules],
  ['elementwise', elementwiseRules],
  ['linear', linearRules],
  ['einsum', einsumRules],
  ['compact', compactRules],
  ['bend', bendLawRules],
  ['convolution', convolutionRules],
  ['concat', concatRules],
  ['derivative', derivativeRules],
  ['transpose', transposeRules],
  ['structural', structuralRules],
])

/**
 * Every built-in law, by name.
 *
 * @example
 * ```ts
 * import { lawCatalogue } from 'neural-circuit-diagrams'
 * lawCatalogue().has('category/id-left') // true
 * ```
 */
export const lawCatalogue = (): Catalogue => catalogueOf(...lawFamilies.map(([, rules]) => rules))
