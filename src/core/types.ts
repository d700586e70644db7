/**
 * Shapes and tuple types: the objects of the category. A shape is the ordered list of axes of one
 * tensor (its wires, top to bottom); `[]` is a scalar. A tuple type is one memory state: a list of
 * shapes, the segments separated by dashed lines in the diagrams (paper Fig. 6-9). `[]` is the
 * empty tuple, the unit object.
 *
 * @packageDocumentation
 */
import {
  type Dim,
  type DimLike,
  type Sizes,
  dimEquals,
  dimSize,
  describeValue,
  dimVars,
  readDim,
  showDim,
} from './dim.js'
import { fail } from './errors.js'
import { isSealed, sealFresh } from './frozen.js'
import type { DimVar } from './dim.js'

/** The axes of one tensor. */
export type Shape = ReadonlyArray<Dim>

/** A tuple of tensors: one memory state. */
export type TupleType = ReadonlyArray<Shape>

/** What the API accepts for a shape: dims or dim names, or one string of space-separated names. */
export type ShapeLike = ReadonlyArray<DimLike> | string

/**
 * Read a {@link ShapeLike}.
 *
 * @example
 * ```ts
 * import { toShape, showShape } from 'neural-circuit-diagrams'
 * showShape(toShape('y k')) // '[y k]'
 * ```
 */
export const toShape = (s: ShapeLike): Shape => {
  // Sealed data is deeply frozen and made of constructor-built dims: nothing to read again.
  if (Array.isArray(s) && isSealed(s)) return s as Shape
  if (typeof s !== 'string' && !Array.isArray(s))
    fail('bad-shape', 'a shape must be a list of dims or a string of dim names', {
      expected: "a shape such as 'y k' or ['y', 'k']",
      got: describeValue(s),
    })
  // A fresh array of dims readDim built or checked (sealed): sealed in place, not copied again.
  return sealFresh(
    typeof s === 'string'
      ? s
          .trim()
          .split(/\s+/)
          .filter((t) => t !== '')
          .map((d, i) => readDim(d, `a shape (axis ${i})`))
      : s.map((d, i) => readDim(d, `a shape (axis ${i})`)),
  )
}

/**
 * Read a tuple type given as a list of shapes. A shape given several times (one object, as in
 * `Array(k).fill(['x'])`) is read once and shared by its segments: a type costs its number of
 * segments, not that many copies of its shapes.
 */
export const toType = (t: ReadonlyArray<ShapeLike>): TupleType => {
  if (Array.isArray(t) && isSealed(t)) return t as TupleType
  if (!Array.isArray(t))
    fail('bad-shape', 'a tuple type must be a list of shapes', {
      expected: "a list of shapes such as [['y', 'k'], ['x']]",
      got: describeValue(t),
    })
  const read = new Map<ShapeLike, Shape>()
  return sealFresh(
    t.map((s) => {
      let shape = read.get(s)
      if (shape === undefined) read.set(s, (shape = toShape(s)))
      return shape
    }),
  )
}

/** Structural equality of shapes. */
export const shapeEquals = (a: Shape, b: Shape): boolean =>
  a === b || (a.length === b.length && a.every((d, i) => dimEquals(d, b[i] as Dim)))

/** Structural equality of tuple types. */
export const typeEquals = (a: TupleType, b: TupleType): boolean =>
  a === b || (a.length === b.length && a.every((s, i) => shapeEquals(s, b[i] as Shape)))

/** Print a shape: `[y k]`, the scalar `[]`. */
export const showShape = (s: Shape): string => `[${s.map(showDim).join(' ')}]`

/** Print a tuple type: `[y k] × [x]`; the empty tuple is `()`. */
export const showType = (t: TupleType): string =>
  t.length === 0 ? '()' : t.map(showShape).join(' × ')

/** The number of entries of a tensor of this shape under a binding. */
export const shapeSize = (s: Shape, sizes: Sizes): number =>
  s.reduce((n, d) => n * dimSize(d, sizes), 1)

/** The concrete extents of a shape under a binding. */
export const shapeExtents = (s: Shape, sizes: Sizes): number[] => s.map((d) => dimSize(d, sizes))

/** Every size variable of a type. */
export const typeVars = (
  t: TupleType,
  into: Map<string, DimVar> = new Map(),
): Map<string, DimVar> => {
  for (const s of t) for (const d of s) dimVars(d, into)
  return into
}

/** Concatenate tuple types (the monoidal product on objects). */
export const concatTypes = (...ts: ReadonlyArray<TupleType>): TupleType =>
  Object.freeze(ts.flatMap((t) => t))

/** Insert `axes` into `shape` at position `at`. @internal */
export const insertAxes = (shape: Shape, at: number, axes: Shape): Shape =>
  Object.freeze([...shape.slice(0, at), ...axes, ...shape.slice(at)])
