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
 * How entries are drawn.
 *
 * `'real'` (the default) mixes three draws over [-2, 2]: eight times in ten a uniform value on
 * the grid of multiples of 2^-19, once in ten a float64 drawn uniformly among the bit patterns of
 * [-2, 2] (fast-check's `double`: tiny values, subnormals, -0 and the bounds), once in ten one of
 * 0, 1, -1 and 1/2. The bit-pattern draw alone was the default once, but about nine entries in
 * ten it gives have |x| < 1e-10 and only about one in ten |x| > 0.1 (measured over 4000 entries),
 * at which a comparison at relative tolerance 1e-9 against max(1, |a|, |b|) passes almost any
 * law; with the mix about 85% of entries have |x| > 0.1. Entries shrink towards 0.
 *
 * `'quarters'` draws the multiples of 1/4 in [-2, 2], easier to read in a counterexample (but
 * with ties and zeros, which a finite-difference test of relu or max must avoid).
 */
export type Values = 'real' | 'quarters'

/** Options of the tensor arbitraries. */
export interface TensorArbOptions {
  readonly values?: Values
}

/** Uniform over the multiples of 2^-19 in [-2, 2] (no bias to small values); shrinks to 0. */
const gridArb = fc.noBias(fc.integer({ min: -(2 ** 20), max: 2 ** 20 })).map((n) => n / 2 ** 19)

/** The edge values: uniform over the float64 bit patterns of [-2, 2], so mostly tiny. */
const bitsArb = fc.double({ min: -2, max: 2, noNaN: true })

const realArb: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: gridArb, weight: 8 },
  { arbitrary: bitsArb, weight: 1 },
  { arbitrary: fc.constantFrom(0, 1, -1, 0.5), weight: 1 },
)

const quartersArb = fc.integer({ min: -8, max: 8 }).map((n) => n / 4)

const entryArb = (values: Values | undefined): fc.Arbitrary<number> =>
  values === 'quarters' ? quartersArb : realArb

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
