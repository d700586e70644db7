/**
 * fast-check arbitraries for the objects and morphisms of the engine, public so that users can
 * property-test their own laws: sizes, shapes and tuple types over a small dim pool, tensors,
 * well-typed random terms (by type first, never filtered) and whole test cases with sizes,
 * inputs and parameters that print in text form.
 *
 * @packageDocumentation
 */
export * from './sizes.js'
export * from './tensors.js'
export * from './walk.js'
export { adapt } from './adapt.js'
export * from './terms.js'
export { shrinkTerm, type ShrinkOptions } from './shrink.js'
export * from './tags.js'
export * from './cases.js'
export * from './laws.js'
