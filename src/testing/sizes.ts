/**
 * Arbitraries of the objects: dim sizes, shapes and tuple types over a small pool of dim names,
 * and the size bindings under which a generated term is valid.
 *
 * Sizes stay small (1 to 4 by default) so that evaluating a random term is cheap. A term drawn by
 * `termArb` is valid for every binding of its size variables between the lower bounds of
 * {@link sizeBounds} (index positions) and the `maxSize` it was drawn for; {@link termSizesArb}
 * draws exactly such bindings.
 *
 * @packageDocumentation
 */
import fc from 'fast-check'
import {
  type Dim,
  type DimLike,
  type DimVar,
  type Sizes,
  dim,
  dimSize,
  toDim,
} from '../core/dim.js'
import { TermError, absurd } from '../core/errors.js'
import type { Term } from '../core/term.js'
import { type Shape, type TupleType, typeVars } from '../core/types.js'
import { subterms } from './walk.js'

/**
 * The names of the default dim pool.
 *
 * @example
 * ```ts
 * import { DEFAULT_DIM_NAMES } from 'neural-circuit-diagrams/testing'
 * DEFAULT_DIM_NAMES // ['a', 'b', 'c', 'd']
 * ```
 */
export const DEFAULT_DIM_NAMES: ReadonlyArray<string> = Object.freeze(['a', 'b', 'c', 'd'])

/** The default dim pool: size variables `a`, `b`, `c`, `d` without default sizes. */
export const DEFAULT_DIMS: ReadonlyArray<DimVar> = Object.freeze(
  DEFAULT_DIM_NAMES.map((n) => dim(n)),
)

/** The default largest size of a size variable. */
export const DEFAULT_MAX_SIZE = 4

/** Options of {@link sizesArb}. */
export interface SizesArbOptions {
  /** The largest size (default 4). */
  readonly max?: number
  /** A smallest size per name (default 1). */
  readonly min?: Readonly<Record<string, number>>
}

/**
 * A binding of each name to a size from its minimum (default 1) to `max` (default 4); shrinks
 * towards the minimum.
 *
 * @example
 * ```ts
 * import fc from 'fast-check'
 * import { sizesArb } from 'neural-circuit-diagrams/testing'
 * const [s] = fc.sample(sizesArb(['a', 'b'], { max: 3 }), { numRuns: 1, seed: 1 })
 * Object.keys(s!).sort() // ['a', 'b']
 * ```
 */
export const sizesArb = (
  names: ReadonlyArray<string> = DEFAULT_DIM_NAMES,
  options: SizesArbOptions = {},
): fc.Arbitrary<Sizes> => {
  const max = options.max ?? DEFAULT_MAX_SIZE
  const model: Record<string, fc.Arbitrary<number>> = {}
  for (const n of names) {
    const min = Math.max(1, options.min?.[n] ?? 1)
    if (min > max)
      throw new RangeError(`sizesArb: '${n}' needs a size >= ${min}, above the maximum ${max}`)
    model[n] = fc.integer({ min, max })
  }
  return fc.record(model).map((r) => Object.freeze({ ...r }))
}

/** Options of {@link shapeArb}. */
export interface ShapeArbOptions {
  /** The dims to draw axes from (default {@link DEFAULT_DIMS}); repeats are allowed. */
  readonly dims?: ReadonlyArray<DimLike>
  /** Default 0. */
  readonly minRank?: number
  /** Default 3. */
  readonly maxRank?: number
}

const pool = (dims: ReadonlyArray<DimLike> | undefined): ReadonlyArray<Dim> => {
  const ds = (dims ?? DEFAULT_DIMS).map(toDim)
  if (ds.length === 0) throw new RangeError('testing: the dim pool is empty')
  return ds
}

/**
 * A shape over a dim pool, rank 0 to 3 by default; shrinks towards the scalar `[]`.
 *
 * @example
 * ```ts
 * import fc from 'fast-check'
 * import { shapeArb } from 'neural-circuit-diagrams/testing'
 * fc.sample(shapeArb({ maxRank: 2 }), { numRuns: 20, seed: 1 }).every((s) => s.length <= 2) // true
 * ```
 */
export const shapeArb = (options: ShapeArbOptions = {}): fc.Arbitrary<Shape> => {
  const ds = pool(options.dims)
  return fc
    .array(fc.constantFrom(...ds), {
      minLength: options.minRank ?? 0,
      maxLength: options.maxRank ?? 3,
    })
    .map((s) => Object.freeze(s))
}

/** Options of {@link tupleTypeArb}. */
export interface TupleTypeArbOptions extends ShapeArbOptions {
  /** Default 0. */
  readonly minLength?: number
  /** Default 3. */
  readonly maxLength?: number
}

/**
 * A tuple type over a dim pool: 0 to 3 segments of rank 0 to 3 by default; shrinks towards `()`.
 *
 * @example
 * ```ts
 * import fc from 'fast-check'
 * import { showType } from 'neural-circuit-diagrams'
 * import { tupleTypeArb } from 'neural-circuit-diagrams/testing'
 * const [t] = fc.sample(tupleTypeArb({ minLength: 1 }), { numRuns: 1, seed: 3 })
 * showType(t!).length > 0 // true
 * ```
 */
export const tupleTypeArb = (options: TupleTypeArbOptions = {}): fc.Arbitrary<TupleType> =>
  fc
    .array(shapeArb(options), {
      minLength: options.minLength ?? 0,
      maxLength: options.maxLength ?? 3,
    })
    .map((t) => Object.freeze(t))

/**
 * The least size a dim can have when every size variable is at least 1 (and every convolution
 * is valid). @internal
 */
export const minDimSize = (d: Dim): number => {
  switch (d.kind) {
    case 'var':
      return 1
    case 'const':
      return d.value
    case 'product':
      return d.factors.reduce((n, f) => n * minDimSize(f), 1)
    case 'padded':
      return minDimSize(d.base) + d.before + d.after
    case 'sum':
      return d.parts.reduce((n, f) => n + minDimSize(f), 0)
    case 'convT':
      return d.dilation * (minDimSize(d.kernel) - 1) + 1 + d.outputPadding
    case 'named':
      return minDimSize(d.of)
    case 'conv':
    case 'cropped':
      return 1
    default:
      return absurd(d)
  }
}

/** The largest size a dim can have when every size variable is at most `maxSize`. @internal */
export const maxDimSize = (d: Dim, maxSize: number): number => {
  switch (d.kind) {
    case 'var':
      return maxSize
    case 'const':
      return d.value
    case 'product':
      return d.factors.reduce((n, f) => n * maxDimSize(f, maxSize), 1)
    case 'padded':
      return maxDimSize(d.base, maxSize) + d.before + d.after
    case 'cropped':
      return Math.max(1, maxDimSize(d.base, maxSize) - d.before - d.after)
    case 'sum':
      return d.parts.reduce((n, f) => n + maxDimSize(f, maxSize), 0)
    case 'convT':
      return (
        (maxDimSize(d.input, maxSize) - 1) * d.stride +
        d.dilation * (maxDimSize(d.kernel, maxSize) - 1) +
        1 +
        d.outputPadding
      )
    case 'named':
      return maxDimSize(d.of, maxSize)
    case 'conv': {
      const x = maxDimSize(d.input, maxSize)
      const k = minDimSize(d.kernel)
      return Math.max(1, Math.floor((x - d.dilation * (k - 1) - 1) / d.stride + 1))
    }
    default:
      return absurd(d)
  }
}

/** The largest number of entries of a shape when every size is at most `maxSize`. @internal */
export const maxCells = (s: Shape, maxSize: number): number =>
  s.reduce((n, d) => n * maxDimSize(d, maxSize), 1)

/**
 * Every size variable a term mentions, in any of its sub-terms' types, sorted.
 *
 * @example
 * ```ts
 * import { convTensor } from 'neural-circuit-diagrams'
 * import { termVars } from 'neural-circuit-diagrams/testing'
 * termVars(convTensor('x', 'k')) // ['k', 'x']
 * ```
 */
export const termVars = (t: Term): ReadonlyArray<string> => {
  const vars = new Map<string, DimVar>()
  for (const s of subterms(t)) {
    typeVars(s.dom, vars)
    typeVars(s.cod, vars)
    // A broadcast runs its body once per index even when its axes reach no type (`bcast(drop)`).
    if (s.kind === 'broadcast') typeVars([s.axes], vars)
  }
  return [...vars.keys()].sort()
}

/**
 * The least size of each size variable of a term: 1, or one past the largest position an index
 * takes on it. Every other constraint (convolution outputs of at least one entry) holds by
 * construction for all sizes up to the `maxSize` the term was drawn for.
 *
 * @example
 * ```ts
 * import { index } from 'neural-circuit-diagrams'
 * import { sizeBounds } from 'neural-circuit-diagrams/testing'
 * sizeBounds(index('a', 2)) // { a: 3 }
 * ```
 */
export const sizeBounds = (t: Term): Readonly<Record<string, number>> => {
  const bounds: Record<string, number> = {}
  for (const v of termVars(t)) bounds[v] = 1
  for (const s of subterms(t))
    if (s.kind === 'index' && s.axis.kind === 'var')
      bounds[s.axis.name] = Math.max(bounds[s.axis.name] ?? 1, s.at + 1)
  return Object.freeze(bounds)
}

/**
 * Sizes for every size variable of a term under which the term is valid (see
 * {@link sizeBounds}); `max` must be at most the `maxSize` the term was drawn for.
 *
 * @example
 * ```ts
 * import fc from 'fast-check'
 * import { index } from 'neural-circuit-diagrams'
 * import { termSizesArb } from 'neural-circuit-diagrams/testing'
 * fc.sample(termSizesArb(index('a', 2)), { numRuns: 10, seed: 1 }).every((s) => s.a! >= 3) // true
 * ```
 */
export const termSizesArb = (t: Term, options: { max?: number } = {}): fc.Arbitrary<Sizes> =>
  sizesArb(termVars(t), { max: options.max ?? DEFAULT_MAX_SIZE, min: sizeBounds(t) })

/**
 * Whether a term is valid under a binding: every dim of every sub-term has a size (convolutions
 * are not empty) and every index position is inside its axis.
 *
 * @example
 * ```ts
 * import { index } from 'neural-circuit-diagrams'
 * import { sizesFit } from 'neural-circuit-diagrams/testing'
 * sizesFit(index('a', 2), { a: 3 }) // true
 * sizesFit(index('a', 2), { a: 2 }) // false
 * ```
 */
export const sizesFit = (t: Term, sizes: Sizes): boolean => {
  try {
    for (const s of subterms(t)) {
      for (const shape of [...s.dom, ...s.cod]) for (const d of shape) dimSize(d, sizes)
      if (s.kind === 'index' && s.at >= dimSize(s.axis, sizes)) return false
    }
    return true
  } catch (e) {
    if (e instanceof TermError) return false
    throw e
  }
}
