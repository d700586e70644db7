/**
 * Arbitraries of tensor values: dense row-major `Float64Array`s with finite entries in [-2, 2],
 * for the inputs of a term and for the parameters it reads.
 *
 * @packageDocumentation
 */
import fc from 'fast-check'
import type { Sizes } from '../core/dim.js'
import type { Term } from '../core/term.js'
import { type TupleType, shapeExtents } from '../core/types.js'
import { termParams } from './walk.js'

/**
 * How entries are drawn: `'real'` doubles in [-2, 2] (the default), or `'quarters'`, the
 * multiples of 1/4 in [-2, 2], easier to read in a counterexample (but with ties and zeros, which
 * a finite-difference test of relu or max must avoid).
 */
export type Values = 'real' | 'quarters'

/** Options of the tensor arbitraries. */
export interface TensorArbOptions {
  readonly values?: Values
}

const entryArb = (values: Values | undefined): fc.Arbitrary<number> =>
  values === 'quarters'
    ? fc.integer({ min: -8, max: 8 }).map((n) => n / 4)
    : fc.double({ min: -2, max: 2, noNaN: true })

/**
 * A dense tensor of the given extents (row-major; `[]` is a scalar of one entry); shrinks
 * towards zeros.
 *
 * @example
 * ```ts
 * import fc from 'fast-check'
 * import { tensorArb } from 'neural-circuit-diagrams/testing'
 * const [x] = fc.sample(tensorArb([2, 3]), { numRuns: 1, seed: 1 })
 * x!.length // 6
 * ```
 */
export const tensorArb = (
  extents: ReadonlyArray<number>,
  options: TensorArbOptions = {},
): fc.Arbitrary<Float64Array> => {
  const n = extents.reduce((a, b) => a * b, 1)
  return fc
    .array(entryArb(options.values), { minLength: n, maxLength: n })
    .map((xs) => Float64Array.from(xs))
}

/**
 * One tensor per segment of a tuple type, shaped by the type under the sizes.
 *
 * @example
 * ```ts
 * import fc from 'fast-check'
 * import { toType } from 'neural-circuit-diagrams'
 * import { inputsArb } from 'neural-circuit-diagrams/testing'
 * const [xs] = fc.sample(inputsArb(toType(['a b', '']), { a: 2, b: 3 }), { numRuns: 1, seed: 1 })
 * xs!.map((x) => x.length) // [6, 1]
 * ```
 */
export const inputsArb = (
  type: TupleType,
  sizes: Sizes,
  options: TensorArbOptions = {},
): fc.Arbitrary<ReadonlyArray<Float64Array>> =>
  fc.tuple(...type.map((s) => tensorArb(shapeExtents(s, sizes), options)))

/**
 * A value for every parameter a term reads (see {@link termParams}), shaped under the sizes.
 *
 * @example
 * ```ts
 * import fc from 'fast-check'
 * import { linearLayer } from 'neural-circuit-diagrams'
 * import { paramsArb } from 'neural-circuit-diagrams/testing'
 * const [ps] = fc.sample(paramsArb(linearLayer('W', 'k', 'h'), { k: 2, h: 3 }), { numRuns: 1, seed: 1 })
 * ps!['W.weight']!.length // 6
 * ```
 */
export const paramsArb = (
  term: Term,
  sizes: Sizes,
  options: TensorArbOptions = {},
): fc.Arbitrary<Readonly<Record<string, Float64Array>>> => {
  const model: Record<string, fc.Arbitrary<Float64Array>> = {}
  for (const [name, shape] of termParams(term))
    model[name] = tensorArb(shapeExtents(shape, sizes), options)
  return fc.record(model).map((r) => Object.freeze({ ...r }))
}
