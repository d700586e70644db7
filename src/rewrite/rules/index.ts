/**
 * The law catalogue: every family of built-in laws, in order. Proofs cite laws by name and are
 * checked against this catalogue.
 *
 * @packageDocumentation
 */
import { type Catalogue, catalogueOf } from '../proof.js'
import type { Rule } from '../rule.js'
import { cartesianRules } from './cartesian.js'
import { categoryRules } from './category.js'
import { monoidalRules } from './monoidal.js'
import { structuralRules } from '../equivalent.js'

export { cartesianRules, categoryRules, monoidalRules }

/** The families of built-in laws, by family name. */
export const lawFamilies: ReadonlyArray<readonly [string, ReadonlyArray<Rule>]> = Object.freeze([
  ['category', categoryRules],
  ['monoidal', monoidalRules],
  ['cartesian', cartesianRules],
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
