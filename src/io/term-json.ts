/**
 * The JSON form of terms: one interface per term kind, holding only the constructor's arguments
 * (never `dom`, `cod` or the linearity, which decoding recomputes), the versioned document, and
 * the encoder. The decoder is in `codec.ts`.
 *
 * @packageDocumentation
 */
import { absurd } from '../core/errors.js'
import type {
  AxisOpName,
  GeneratorForm,
  Linearity,
  Placement,
  ScalarOp,
  Term,
} from '../core/term.js'
import {
  type DimJson,
  type ShapeJson,
  type TupleTypeJson,
  encodeDim,
  encodeShape,
  encodeType,
} from './dim-codec.js'

/** The JSON of an identity: `id(type)`. */
export interface IdJson {
  readonly kind: 'id'
  readonly type: TupleTypeJson
}

/** The JSON of a sequence: `seq(...parts)`. */
export interface SeqJson {
  readonly kind: 'seq'
  readonly parts: ReadonlyArray<TermJson>
}

/** The JSON of a stack: `par(...parts)`. */
export interface ParJson {
  readonly kind: 'par'
  readonly parts: ReadonlyArray<TermJson>
}

/** The JSON of a symmetry: `swap(left, right)`. */
export interface SwapJson {
  readonly kind: 'swap'
  readonly left: TupleTypeJson
  readonly right: TupleTypeJson
}

/** The JSON of a copy: `copy(type)`. */
export interface CopyJson {
  readonly kind: 'copy'
  readonly type: TupleTypeJson
}

/** The JSON of a delete: `drop(type)`. */
export interface DropJson {
  readonly kind: 'drop'
  readonly type: TupleTypeJson
}

/**
 * The JSON of a broadcast: `broadcast(body, axes, { inputs, outputs })`. When decoding,
 * `inputs` and `outputs` may be left out for the constructor's defaults (every segment at 0).
 */
export interface BroadcastJson {
  readonly kind: 'broadcast'
  readonly body: TermJson
  readonly axes: ShapeJson
  readonly inputs: ReadonlyArray<Placement>
  readonly outputs: ReadonlyArray<number>
}

/**
 * The JSON of an einsum: the labels of each input and of the output, and the dim of every label
 * (`einsum(spec, { dims, name })`). When decoding, `dims` may be left out or partial: a label
 * not listed is the size variable of its own name.
 */
export interface EinsumJson {
  readonly kind: 'einsum'
  readonly inputs: ReadonlyArray<ReadonlyArray<string>>
  readonly output: ReadonlyArray<string>
  readonly dims: Readonly<Record<string, DimJson>>
  readonly name?: 'unit' | 'cup'
}

/** The JSON of a size to a power, `size(dim)^power` (the `bySize` of a scale). */
export interface SizePowerJson {
  readonly dim: DimJson
  readonly power: number
}

/** The JSON of `scale(factor, [], { bySize })`; `bySize` only when the term has it. */
export interface ScaleJson {
  readonly kind: 'scalar'
  readonly op: 'scale'
  readonly factor: number
  readonly bySize?: SizePowerJson
}

/** The JSON of `offset(constant)`: the constant as `factor`. */
export interface OffsetJson {
  readonly kind: 'scalar'
  readonly op: 'offset'
  readonly factor: number
}

/** The JSON of the other scalar functions: `relu()`, `add()`, `mul()`, ... (no factor). */
export interface ScalarFunctionJson {
  readonly kind: 'scalar'
  readonly op: Exclude<ScalarOp, 'scale' | 'offset'>
}

/** The JSON of `layerNorm(axis, { epsilon })`; `epsilon` may be left out when decoding (1e-5). */
export interface LayerNormJson {
  readonly kind: 'axisOp'
  readonly op: 'layerNorm'
  readonly axis: DimJson
  readonly epsilon: number
}

/** The JSON of `softmax(axis)`, `max(axis)` and `mean(axis)`. */
export interface AxisFunctionJson {
  readonly kind: 'axisOp'
  readonly op: Exclude<AxisOpName, 'layerNorm'>
  readonly axis: DimJson
}

/** The JSON of a ket: `index(axis, at)`. */
export interface IndexJson {
  readonly kind: 'index'
  readonly axis: DimJson
  readonly at: number
  /** The one-hot embedding, the transpose of the index. */
  readonly adjoint?: true
}

/** The JSON of a reshape: `view(from, to)`. */
export interface ViewJson {
  readonly kind: 'view'
  readonly from: ShapeJson
  readonly to: ShapeJson
}

/** The JSON of a zero padding: `pad(axis, before, after)`. */
export interface PadJson {
  readonly kind: 'pad'
  readonly axis: DimJson
  readonly before: number
  readonly after: number
  /** The crop, the transpose of the padding. */
  readonly adjoint?: true
}

/**
 * The JSON of `convTensor(input, kernel, { stride, dilation })`; `stride` and `dilation` may be
 * left out when decoding (1).
 */
export interface ConvTensorJson {
  readonly kind: 'convTensor'
  readonly input: DimJson
  readonly kernel: DimJson
  readonly stride: number
  readonly dilation: number
  /** The transposed convolution tensor. */
  readonly adjoint?: true
}

/**
 * The JSON of a concatenation on one axis, `[a₁] × ... × [aₙ] -> [a₁ + ... + aₙ]`, by the axes of
 * its pieces (one or more).
 */
export interface ConcatJson {
  readonly kind: 'concat'
  readonly pieces: ShapeJson
  /** The split, the transpose of the concatenation. */
  readonly adjoint?: true
}

/** The JSON of a zero map: `zero(type)`. */
export interface ZeroJson {
  readonly kind: 'zero'
  readonly type: TupleTypeJson
}

/** The JSON of a parameter: `param(name, shape)`. */
export interface ParamJson {
  readonly kind: 'param'
  readonly name: string
  readonly shape: ShapeJson
}

/** The JSON of a named sub-diagram: `box(name, body)`. */
export interface BoxJson {
  readonly kind: 'box'
  readonly name: string
  readonly body: TermJson
}

/** The JSON of the forward derivative `D(body)`. */
export interface DerivativeJson {
  readonly kind: 'derivative'
  readonly body: TermJson
}

/**
 * The JSON of a generator `F : from -> to` (`generator(name, from, to, { linearity })`), or of a
 * map derived from it: `form` is left out for F itself; `slot` is the input a multilinear F is
 * transposed in.
 */
export interface GeneratorJson {
  readonly kind: 'generator'
  readonly name: string
  readonly from: TupleTypeJson
  readonly to: TupleTypeJson
  readonly linearity: Linearity
  readonly form?: Exclude<GeneratorForm, 'map'>
  readonly slot?: number
}

/** The JSON of a term: its constructor's arguments, tagged by `kind`; never `dom` or `cod`. */
export type TermJson =
  | IdJson
  | SeqJson
  | ParJson
  | SwapJson
  | CopyJson
  | DropJson
  | BroadcastJson
  | EinsumJson
  | ScaleJson
  | OffsetJson
  | ScalarFunctionJson
  | LayerNormJson
  | AxisFunctionJson
  | IndexJson
  | ViewJson
  | PadJson
  | ConvTensorJson
  | ConcatJson
  | ZeroJson
  | ParamJson
  | BoxJson
  | DerivativeJson
  | GeneratorJson

/** The `format` of a term document. */
export const TERM_FORMAT = 'ncd-term'

/** The `version` of the term documents this library writes and reads. */
export const TERM_FORMAT_VERSION = 1

/** A versioned term document, as {@link termToJson} writes it. */
export interface TermDocument {
  readonly format: typeof TERM_FORMAT
  readonly version: typeof TERM_FORMAT_VERSION
  readonly term: TermJson
}

const adjointField = (t: { readonly adjoint?: true }): { adjoint?: true } =>
  t.adjoint === true ? { adjoint: true } : {}

/**
 * The JSON of a term: a plain object holding only constructor arguments.
 *
 * @example
 * ```ts
 * import { encodeTerm, scale, layerNorm } from 'neural-circuit-diagrams'
 * encodeTerm(scale(0.5)) // { kind: 'scalar', op: 'scale', factor: 0.5 }
 * encodeTerm(layerNorm('k'))
 * // { kind: 'axisOp', op: 'layerNorm', axis: { kind: 'var', name: 'k' }, epsilon: 1e-5 }
 * ```
 */
export const encodeTerm = (term: Term): TermJson => {
  switch (term.kind) {
    case 'id':
      return { kind: 'id', type: encodeType(term.type) }
    case 'seq':
      return { kind: 'seq', parts: term.parts.map(encodeTerm) }
    case 'par':
      return { kind: 'par', parts: term.parts.map(encodeTerm) }
    case 'swap':
      return { kind: 'swap', left: encodeType(term.left), right: encodeType(term.right) }
    case 'copy':
      return { kind: 'copy', type: encodeType(term.type) }
    case 'drop':
      return { kind: 'drop', type: encodeType(term.type) }
    case 'broadcast':
      return {
        kind: 'broadcast',
        body: encodeTerm(term.body),
        axes: encodeShape(term.axes),
        inputs: [...term.inputs],
        outputs: [...term.outputs],
      }
    case 'einsum':
      return {
        kind: 'einsum',
        inputs: term.inputs.map((i) => [...i]),
        output: [...term.output],
        // fromEntries keeps every label an own key, even one spelled __proto__.
        dims: Object.fromEntries(Object.entries(term.dims).map(([l, d]) => [l, encodeDim(d)])),
        ...(term.name !== undefined ? { name: term.name } : {}),
      }
    case 'scalar':
      return term.op === 'scale'
        ? {
            kind: 'scalar',
            op: 'scale',
            factor: term.factor,
            ...(term.bySize !== undefined
              ? { bySize: { dim: encodeDim(term.bySize.dim), power: term.bySize.power } }
              : {}),
          }
        : term.op === 'offset'
          ? { kind: 'scalar', op: 'offset', factor: term.factor }
          : { kind: 'scalar', op: term.op }
    case 'axisOp':
      return term.op === 'layerNorm'
        ? { kind: 'axisOp', op: 'layerNorm', axis: encodeDim(term.axis), epsilon: term.epsilon }
        : { kind: 'axisOp', op: term.op, axis: encodeDim(term.axis) }
    case 'index':
      return { kind: 'index', axis: encodeDim(term.axis), at: term.at, ...adjointField(term) }
    case 'view':
      return { kind: 'view', from: encodeShape(term.from), to: encodeShape(term.to) }
    case 'pad':
      return {
        kind: 'pad',
        axis: encodeDim(term.axis),
        before: term.before,
        after: term.after,
        ...adjointField(term),
      }
    case 'convTensor':
      return {
        kind: 'convTensor',
        input: encodeDim(term.input),
        kernel: encodeDim(term.kernel),
        stride: term.stride,
        dilation: term.dilation,
        ...adjointField(term),
      }
    case 'concat':
      return { kind: 'concat', pieces: encodeShape(term.pieces), ...adjointField(term) }
    case 'zero':
      return { kind: 'zero', type: encodeType(term.type) }
    case 'param':
      return { kind: 'param', name: term.name, shape: encodeShape(term.shape) }
    case 'box':
      return { kind: 'box', name: term.name, body: encodeTerm(term.body) }
    case 'derivative':
      return { kind: 'derivative', body: encodeTerm(term.body) }
    case 'generator':
      return {
        kind: 'generator',
        name: term.name,
        from: encodeType(term.from),
        to: encodeType(term.to),
        linearity: term.declared,
        ...(term.form !== 'map' ? { form: term.form } : {}),
        ...(term.slot !== undefined ? { slot: term.slot } : {}),
      }
    default:
      return absurd(term)
  }
}

/**
 * The versioned document of a term: `{ format: 'ncd-term', version: 1, term }`.
 *
 * @example
 * ```ts
 * import { encodeTermDocument, relu } from 'neural-circuit-diagrams'
 * encodeTermDocument(relu())
 * // { format: 'ncd-term', version: 1, term: { kind: 'scalar', op: 'relu' } }
 * ```
 */
export const encodeTermDocument = (term: Term): TermDocument => ({
  format: TERM_FORMAT,
  version: TERM_FORMAT_VERSION,
  term: encodeTerm(term),
})
