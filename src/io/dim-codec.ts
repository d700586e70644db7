/**
 * JSON codecs of dims, shapes and tuple types. A dim's JSON is its constructor's arguments:
 *
 * - `{ "kind": "var", "name": "y", "size"?: 7, "mark"?: "width" }`
 * - `{ "kind": "const", "value": 1 }`
 * - `{ "kind": "product", "factors": [dim, ...] }`
 * - `{ "kind": "padded", "base": dim, "before": 1, "after": 1 }`
 * - `{ "kind": "conv", "input": dim, "kernel": dim, "stride": 2, "dilation": 1 }`
 * - `{ "kind": "cropped", "base": dim, "before": 1, "after": 1 }`
 * - `{ "kind": "sum", "parts": [dim, ...] }`
 * - `{ "kind": "convT", "input": dim, "kernel": dim, "stride": 2, "dilation": 1, "outputPadding": 0 }`
 * - `{ "kind": "named", "name": "ybar", "of": dim }`
 *
 * A shape is a list of dims, a tuple type a list of shapes. Decoding rebuilds every dim through
 * its smart constructor, so a bad name or size is refused as the constructor would refuse it.
 *
 * @packageDocumentation
 */
import type * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import {
  DIM_KINDS as ALL_DIM_KINDS,
  type Dim,
  type Mark,
  constDim,
  dim,
  dimConv,
  dimConvT,
  dimCropped,
  dimPadded,
  dimProduct,
  dimSum,
  namedDim,
} from '../core/dim.js'
import { absurd } from '../core/errors.js'
import type { Shape, TupleType } from '../core/types.js'
import {
  type DecodeProblem,
  construct,
  guarded,
  hasOwn,
  integer,
  isRecord,
  lazy,
  list,
  literal,
  oneOf,
  runDecoder,
  string,
  struct,
  tagged,
} from './decode.js'

/** The JSON of a size variable. */
export interface DimVarJson {
  readonly kind: 'var'
  readonly name: string
  readonly size?: number
  readonly mark?: Mark
}

/** The JSON of a fixed size. */
export interface DimConstJson {
  readonly kind: 'const'
  readonly value: number
}

/** The JSON of tandem axes. */
export interface DimProductJson {
  readonly kind: 'product'
  readonly factors: ReadonlyArray<DimJson>
}

/** The JSON of a padded axis. */
export interface DimPaddedJson {
  readonly kind: 'padded'
  readonly base: DimJson
  readonly before: number
  readonly after: number
}

/** The JSON of the output axis of a convolution. */
export interface DimConvJson {
  readonly kind: 'conv'
  readonly input: DimJson
  readonly kernel: DimJson
  readonly stride: number
  readonly dilation: number
}

/** The JSON of a cropped axis. */
export interface DimCroppedJson {
  readonly kind: 'cropped'
  readonly base: DimJson
  readonly before: number
  readonly after: number
}

/** The JSON of axes joined end to end. */
export interface DimSumJson {
  readonly kind: 'sum'
  readonly parts: ReadonlyArray<DimJson>
}

/** The JSON of the output axis of a transposed convolution. */
export interface DimConvTJson {
  readonly kind: 'convT'
  readonly input: DimJson
  readonly kernel: DimJson
  readonly stride: number
  readonly dilation: number
  readonly outputPadding: number
}

/** The JSON of a named derived dim. */
export interface DimNamedJson {
  readonly kind: 'named'
  readonly name: string
  readonly of: DimJson
}

/** The JSON of a dim: its constructor's arguments, tagged by `kind`. */
export type DimJson =
  | DimVarJson
  | DimConstJson
  | DimProductJson
  | DimPaddedJson
  | DimConvJson
  | DimCroppedJson
  | DimSumJson
  | DimConvTJson
  | DimNamedJson

/** The JSON of a shape: its dims, in order. */
export type ShapeJson = ReadonlyArray<DimJson>

/** The JSON of a tuple type: its shapes, in order. */
export type TupleTypeJson = ReadonlyArray<ShapeJson>

/**
 * The JSON of a dim.
 *
 * @example
 * ```ts
 * import { dim, dimProduct, encodeDim } from 'neural-circuit-diagrams'
 * encodeDim(dim('y', { size: 7 })) // { kind: 'var', name: 'y', size: 7 }
 * encodeDim(dimProduct('h', 'w')).kind // 'product'
 * ```
 */
export const encodeDim = (d: Dim): DimJson => {
  switch (d.kind) {
    case 'var':
      return {
        kind: 'var',
        name: d.name,
        ...(d.size !== undefined ? { size: d.size } : {}),
        ...(d.mark !== undefined ? { mark: d.mark } : {}),
      }
    case 'const':
      return { kind: 'const', value: d.value }
    case 'product':
      return { kind: 'product', factors: d.factors.map(encodeDim) }
    case 'padded':
      return { kind: 'padded', base: encodeDim(d.base), before: d.before, after: d.after }
    case 'conv':
      return {
        kind: 'conv',
        input: encodeDim(d.input),
        kernel: encodeDim(d.kernel),
        stride: d.stride,
        dilation: d.dilation,
      }
    case 'cropped':
      return { kind: 'cropped', base: encodeDim(d.base), before: d.before, after: d.after }
    case 'sum':
      return { kind: 'sum', parts: d.parts.map(encodeDim) }
    case 'convT':
      return {
        kind: 'convT',
        input: encodeDim(d.input),
        kernel: encodeDim(d.kernel),
        stride: d.stride,
        dilation: d.dilation,
        outputPadding: d.outputPadding,
      }
    case 'named':
      return { kind: 'named', name: d.name, of: encodeDim(d.of) }
    default:
      return absurd(d)
  }
}

/**
 * The JSON of a shape.
 *
 * @example
 * ```ts
 * import { encodeShape, toShape } from 'neural-circuit-diagrams'
 * encodeShape(toShape('y k')) // [{ kind: 'var', name: 'y' }, { kind: 'var', name: 'k' }]
 * ```
 */
export const encodeShape = (s: Shape): ShapeJson => s.map(encodeDim)

/**
 * The JSON of a tuple type.
 *
 * @example
 * ```ts
 * import { encodeType, toType } from 'neural-circuit-diagrams'
 * encodeType(toType([['x'], []])) // [[{ kind: 'var', name: 'x' }], []]
 * ```
 */
export const encodeType = (t: TupleType): TupleTypeJson => t.map(encodeShape)

/**
 * A variable dim `{ kind: 'var', name }` with nothing else, the most common piece of a document,
 * read without the general decoder (a type of 10^5 segments holds 2·10^5 of them); anything
 * else, and a name `dim` refuses, goes through the general decoder for its problems.
 */
const plainVar = (u: unknown): Dim | undefined => {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return undefined
  const keys = Object.keys(u)
  const r = u as Record<string, unknown>
  if (keys.length !== 2 || !hasOwn(r, 'kind') || !hasOwn(r, 'name')) return undefined
  if (r.kind !== 'var' || typeof r.name !== 'string') return undefined
  try {
    return dim(r.name)
  } catch {
    return undefined
  }
}

const dimDecoder: t.Decoder<unknown, Dim> = lazy('a dim', () => dimMembers, plainVar)

const natural = integer(0)
const positive = integer(1)

const dimMembers: t.Decoder<unknown, Dim> = tagged('dim', 'kind', {
  var: construct(
    struct(
      'a var dim',
      { kind: literal('var'), name: string },
      { size: positive, mark: oneOf('a mark', ['width', 'depth'] as const) },
    ),
    // The decoded record holds exactly the present options, as dim() takes them.
    (v) => dim(v.name, v),
  ),
  const: construct(struct('a const dim', { kind: literal('const'), value: positive }, {}), (v) =>
    constDim(v.value),
  ),
  product: construct(
    struct(
      'a product dim',
      { kind: literal('product'), factors: list('the factors', dimDecoder) },
      {},
    ),
    (v) => dimProduct(...v.factors),
  ),
  padded: construct(
    struct(
      'a padded dim',
      { kind: literal('padded'), base: dimDecoder, before: natural, after: natural },
      {},
    ),
    (v) => dimPadded(v.base, v.before, v.after),
  ),
  conv: construct(
    struct(
      'a conv dim',
      {
        kind: literal('conv'),
        input: dimDecoder,
        kernel: dimDecoder,
        stride: positive,
        dilation: positive,
      },
      {},
    ),
    (v) => dimConv(v.input, v.kernel, v.stride, v.dilation),
  ),
  cropped: construct(
    struct(
      'a cropped dim',
      { kind: literal('cropped'), base: dimDecoder, before: natural, after: natural },
      {},
    ),
    (v) => dimCropped(v.base, v.before, v.after),
  ),
  sum: construct(
    struct('a sum dim', { kind: literal('sum'), parts: list('the parts', dimDecoder) }, {}),
    (v) => dimSum(...v.parts),
  ),
  convT: construct(
    struct(
      'a convT dim',
      {
        kind: literal('convT'),
        input: dimDecoder,
        kernel: dimDecoder,
        stride: positive,
        dilation: positive,
        outputPadding: natural,
      },
      {},
    ),
    (v) => dimConvT(v.input, v.kernel, v.stride, v.dilation, v.outputPadding),
  ),
  named: construct(
    struct('a named dim', { kind: literal('named'), name: string, of: dimDecoder }, {}),
    (v) => namedDim(v.name, v.of),
  ),
})

const shapeDecoder = list('a shape', dimDecoder)
const typeDecoder = list('a tuple type', shapeDecoder)

const DIM_KINDS: ReadonlyArray<string> = ALL_DIM_KINDS

const isDim = (u: unknown): u is Dim =>
  isRecord(u) && typeof u.kind === 'string' && DIM_KINDS.includes(u.kind)

/**
 * The io-ts codec of dims: `decode` validates and rebuilds, `encode` is {@link encodeDim}.
 * Its `is` is a shallow guard (an object with a dim's `kind`).
 *
 * @example
 * ```ts
 * import { DimCodec, dim } from 'neural-circuit-diagrams'
 * DimCodec.encode(dim('k')) // { kind: 'var', name: 'k' }
 * ```
 */
export const DimCodec: t.Type<Dim, DimJson, unknown> = new t.Type(
  'Dim',
  isDim,
  guarded(dimDecoder).validate,
  encodeDim,
)

/**
 * The io-ts codec of shapes.
 *
 * @example
 * ```ts
 * import { ShapeCodec, toShape } from 'neural-circuit-diagrams'
 * ShapeCodec.encode(toShape('k')) // [{ kind: 'var', name: 'k' }]
 * ```
 */
export const ShapeCodec: t.Type<Shape, ShapeJson, unknown> = new t.Type(
  'Shape',
  (u): u is Shape => Array.isArray(u) && u.every(isDim),
  guarded(shapeDecoder).validate,
  encodeShape,
)

/**
 * The io-ts codec of tuple types.
 *
 * @example
 * ```ts
 * import { TupleTypeCodec, toType } from 'neural-circuit-diagrams'
 * TupleTypeCodec.encode(toType([[]])) // [[]]
 * ```
 */
export const TupleTypeCodec: t.Type<TupleType, TupleTypeJson, unknown> = new t.Type(
  'TupleType',
  (u): u is TupleType => Array.isArray(u) && u.every((s) => ShapeCodec.is(s)),
  guarded(typeDecoder).validate,
  encodeType,
)

/**
 * Read a dim from JSON, rebuilding it through its constructor. Never throws: a bad document
 * gives every problem with its path.
 *
 * @example
 * ```ts
 * import { decodeDim } from 'neural-circuit-diagrams'
 * import * as E from 'fp-ts/lib/Either.js'
 * decodeDim({ kind: 'const', value: 4 }) // E.right({ kind: 'const', value: 4 })
 * const bad = decodeDim({ kind: 'var', name: 'y', size: 0 })
 * E.isLeft(bad) && bad.left[0]?.path // '$.size'
 * ```
 */
export const decodeDim = (json: unknown): E.Either<ReadonlyArray<DecodeProblem>, Dim> =>
  runDecoder(dimDecoder, json)

/**
 * Read a shape from JSON.
 *
 * @example
 * ```ts
 * import { decodeShape, showShape } from 'neural-circuit-diagrams'
 * import * as E from 'fp-ts/lib/Either.js'
 * const r = decodeShape([{ kind: 'var', name: 'y' }])
 * E.isRight(r) && showShape(r.right) // '[y]'
 * ```
 */
export const decodeShape = (json: unknown): E.Either<ReadonlyArray<DecodeProblem>, Shape> =>
  runDecoder(shapeDecoder, json)

/**
 * Read a tuple type from JSON.
 *
 * @example
 * ```ts
 * import { decodeType, showType } from 'neural-circuit-diagrams'
 * import * as E from 'fp-ts/lib/Either.js'
 * const r = decodeType([[{ kind: 'var', name: 'y' }], []])
 * E.isRight(r) && showType(r.right) // '[y] × []'
 * ```
 */
export const decodeType = (json: unknown): E.Either<ReadonlyArray<DecodeProblem>, TupleType> =>
  runDecoder(typeDecoder, json)

/** The decoders of dims, shapes and tuple types, for the term codec. @internal */
export const dimDecoders = { dim: dimDecoder, shape: shapeDecoder, type: typeDecoder } as const
