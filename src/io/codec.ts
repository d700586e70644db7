/**
 * JSON codecs of terms (DESIGN.md section 5: JSON for interchange). A term's JSON holds only its
 * constructor's arguments, tagged by `kind`; `dom`, `cod` and the linearity are never written,
 * they are recomputed:
 *
 * ```json
 * { "kind": "seq", "parts": [{ "kind": "scalar", "op": "relu" }, { "kind": "scalar", "op": "scale", "factor": 0.5 }] }
 * { "kind": "einsum", "inputs": [["y", "k"], ["x", "k"]], "output": ["y", "x"], "dims": { "k": dim, "x": dim, "y": dim } }
 * { "kind": "broadcast", "body": term, "axes": [dim], "inputs": [0, "shared"], "outputs": [0] }
 * ```
 *
 * Decoding rebuilds every node through its smart constructor, so a document of an ill-typed term
 * is refused exactly as building it would be, and the round trip `decodeTerm(encodeTerm(t))`
 * gives a term structurally equal to `t`. Decoding never throws: every structural problem is
 * reported with its path, and a constructor's refusal is one problem at the node it refused.
 *
 * The versioned document `{ "format": "ncd-term", "version": 1, "term": ... }` is what
 * {@link termToJson} writes; {@link decodeTerm} reads it or a bare term.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { box, broadcast, copy, derivative, drop, id, par, seq, swap } from '../core/construct.js'
import type { Dim } from '../core/dim.js'
import { fail } from '../core/errors.js'
import {
  add,
  argmax,
  layerNorm,
  max,
  mean,
  mul,
  offset,
  param,
  scale,
  softmax,
  unary,
} from '../core/primitives.js'
import type { AxisOpName, Placement, ScalarOp, Term, TermKind } from '../core/term.js'
import { generator, generatorNode } from '../core/generator.js'
import { einsum } from '../linear/einsum.js'
import {
  concatPieces,
  convTensor,
  flipAdjoint,
  index,
  pad,
  splitPieces,
  view,
  zero,
} from '../linear/structural.js'
import {
  type DecodeProblem,
  anything,
  construct,
  decoder,
  describe,
  finite,
  guarded,
  hasOwn,
  integer,
  isRecord,
  lazy,
  list,
  literal,
  matching,
  oneOf,
  record,
  rootProblem,
  runDecoder,
  string,
  struct,
  tagged,
  textDepthProblem,
} from './decode.js'
import { dimDecoders } from './dim-codec.js'
import {
  TERM_FORMAT,
  TERM_FORMAT_VERSION,
  type TermJson,
  encodeTerm,
  encodeTermDocument,
} from './term-json.js'

export {
  type DecodeProblem,
  MAX_DOCUMENT_DEPTH,
  MAX_DOCUMENT_VALUES,
  showProblems,
} from './decode.js'
export {
  type DimConstJson,
  type DimConvJson,
  type DimJson,
  type DimPaddedJson,
  type DimProductJson,
  type DimVarJson,
  type ShapeJson,
  type TupleTypeJson,
  DimCodec,
  ShapeCodec,
  TupleTypeCodec,
  decodeDim,
  decodeShape,
  decodeType,
  encodeDim,
  encodeShape,
  encodeType,
} from './dim-codec.js'
export * from './term-json.js'

const { dim, shape, type } = dimDecoders
const natural = integer(0)
const positive = integer(1)

// The einsum parser's labels: a label of JSON is spliced into a spec, so nothing else may pass.
const LABEL = {
  what: "an axis label (letters, digits, _ and ', not starting with a digit)",
  pattern: /^[A-Za-z_][A-Za-z0-9_']*$/,
}
const label = matching(LABEL.what, LABEL.pattern)

const placement: t.Decoder<unknown, Placement> = decoder('a placement', (u, c) =>
  u === 'shared' || (typeof u === 'number' && Number.isInteger(u) && u >= 0)
    ? t.success(u)
    : t.failure(u, c, `expected a position (an integer >= 0) or "shared", got ${describe(u)}`),
)

const term: t.Decoder<unknown, Term> = lazy('a term', () => termMembers)

const fields = <K extends string>(kind: K) => ({ kind: literal(kind) })

const scalarFunction = (op: Exclude<ScalarOp, 'scale' | 'offset'>): t.Decoder<unknown, Term> =>
  construct(struct(`the scalar ${op}`, { ...fields('scalar'), op: literal(op) }, {}), () =>
    op === 'add' ? add() : op === 'mul' ? mul() : unary(op),
  )

const scalarMembers: Readonly<Record<ScalarOp, t.Decoder<unknown, Term>>> = {
  relu: scalarFunction('relu'),
  gelu: scalarFunction('gelu'),
  exp: scalarFunction('exp'),
  log: scalarFunction('log'),
  tanh: scalarFunction('tanh'),
  sigmoid: scalarFunction('sigmoid'),
  sqrt: scalarFunction('sqrt'),
  reciprocal: scalarFunction('reciprocal'),
  step: scalarFunction('step'),
  normcdf: scalarFunction('normcdf'),
  offset: construct(
    struct('the scalar offset', { ...fields('scalar'), op: literal('offset'), factor: finite }, {}),
    (v) => offset(v.factor),
  ),
  scale: construct(
    struct(
      'the scalar scale',
      { ...fields('scalar'), op: literal('scale'), factor: finite },
      { bySize: struct('a size to a power', { dim, power: finite }, {}) },
    ),
    // The decoded record holds exactly the present options, as scale() takes them.
    (v) => scale(v.factor, [], v),
  ),
  add: scalarFunction('add'),
  mul: scalarFunction('mul'),
}

const axisFunction = (
  op: Exclude<AxisOpName, 'layerNorm'>,
  build: (axis: Dim) => Term,
): t.Decoder<unknown, Term> =>
  construct(
    struct(`the axis op ${op}`, { ...fields('axisOp'), op: literal(op), axis: dim }, {}),
    (v) => build(v.axis),
  )

const axisOpMembers: Readonly<Record<AxisOpName, t.Decoder<unknown, Term>>> = {
  softmax: axisFunction('softmax', softmax),
  layerNorm: construct(
    struct(
      'the axis op layerNorm',
      { ...fields('axisOp'), op: literal('layerNorm'), axis: dim },
      { epsilon: finite },
    ),
    // The decoded record holds exactly the present options, as layerNorm() takes them.
    (v) => layerNorm(v.axis, v),
  ),
  max: axisFunction('max', max),
  mean: axisFunction('mean', mean),
  argmax: axisFunction('argmax', argmax),
}

const parts = list('the parts', term)

// A constructor called with 10^5 spread arguments overflows the stack: build in chunks (seq and
// par flatten nested seqs and pars, so the term is the same).
const CHUNK = 4096
const ofMany = (build: (...ps: ReadonlyArray<Term>) => Term, ps: ReadonlyArray<Term>): Term => {
  if (ps.length <= CHUNK) return build(...ps)
  const chunks: Term[] = []
  for (let i = 0; i < ps.length; i += CHUNK) chunks.push(build(...ps.slice(i, i + CHUNK)))
  return ofMany(build, chunks)
}

const adjoint = literal(true)

const adjointIf = (v: { readonly adjoint?: true }, t: Term): Term =>
  v.adjoint === true ? flipAdjoint(t as Parameters<typeof flipAdjoint>[0]) : t

const termMembersByKind: Readonly<Record<TermKind, t.Decoder<unknown, Term>>> = {
  id: construct(struct('an id', { ...fields('id'), type }, {}), (v) => id(v.type)),
  seq: construct(struct('a seq', { ...fields('seq'), parts }, {}), (v) => ofMany(seq, v.parts)),
  par: construct(struct('a par', { ...fields('par'), parts }, {}), (v) => ofMany(par, v.parts)),
  swap: construct(struct('a swap', { ...fields('swap'), left: type, right: type }, {}), (v) =>
    swap(v.left, v.right),
  ),
  copy: construct(struct('a copy', { ...fields('copy'), type }, {}), (v) => copy(v.type)),
  drop: construct(struct('a drop', { ...fields('drop'), type }, {}), (v) => drop(v.type)),
  broadcast: construct(
    struct(
      'a broadcast',
      { ...fields('broadcast'), body: term, axes: shape },
      {
        inputs: list('the input placements', placement),
        outputs: list('the output placements', natural),
      },
    ),
    // The decoded record holds exactly the present options, as broadcast() takes them.
    (v) => broadcast(v.body, v.axes, v),
  ),
  einsum: construct(
    struct(
      'an einsum',
      {
        ...fields('einsum'),
        inputs: list('the inputs', list('an input', label), 1),
        output: list('the output', label),
      },
      {
        dims: record('the dims of the labels', LABEL, dim),
        name: oneOf('an einsum name', ['unit', 'cup'] as const),
      },
    ),
    (v) => einsum(`${v.inputs.map((i) => i.join(' ')).join(', ')} -> ${v.output.join(' ')}`, v),
  ),
  scalar: tagged('scalar', 'op', scalarMembers),
  axisOp: tagged('axis op', 'op', axisOpMembers),
  index: construct(
    struct('an index', { ...fields('index'), axis: dim, at: natural }, { adjoint }),
    (v) => adjointIf(v, index(v.axis, v.at)),
  ),
  view: construct(struct('a view', { ...fields('view'), from: shape, to: shape }, {}), (v) =>
    view(v.from, v.to),
  ),
  pad: construct(
    struct('a pad', { ...fields('pad'), axis: dim, before: natural, after: natural }, { adjoint }),
    (v) => adjointIf(v, pad(v.axis, v.before, v.after)),
  ),
  convTensor: construct(
    struct(
      'a convTensor',
      { ...fields('convTensor'), input: dim, kernel: dim },
      { stride: positive, dilation: positive, adjoint },
    ),
    // The decoded record holds exactly the present options, as convTensor() takes them.
    (v) => adjointIf(v, convTensor(v.input, v.kernel, v)),
  ),
  concat: construct(
    struct('a concat', { ...fields('concat'), pieces: list('the pieces', dim, 1) }, { adjoint }),
    (v) => (v.adjoint === true ? splitPieces(v.pieces) : concatPieces(v.pieces)),
  ),
  zero: construct(struct('a zero', { ...fields('zero'), type }, {}), (v) => zero(v.type)),
  param: construct(struct('a param', { ...fields('param'), name: string, shape }, {}), (v) =>
    param(v.name, v.shape),
  ),
  box: construct(struct('a box', { ...fields('box'), name: string, body: term }, {}), (v) =>
    box(v.name, v.body),
  ),
  derivative: construct(struct('a derivative', { ...fields('derivative'), body: term }, {}), (v) =>
    derivativeWithin(v.body),
  ),
  generator: construct(
    struct(
      'a generator',
      {
        ...fields('generator'),
        name: string,
        from: type,
        to: type,
        linearity: oneOf('a linearity', ['linear', 'multilinear', 'nonlinear'] as const),
      },
      {
        form: oneOf('a generator form', ['transpose', 'tangent', 'cotangent'] as const),
        slot: natural,
      },
    ),
    (v) => {
      const g = generator(v.name, v.from, v.to, { linearity: v.linearity })
      if (g.kind !== 'generator') return g
      if (v.form === undefined) {
        if (v.slot !== undefined) generatorNode(g.name, g.declared, g.from, g.to, 'map', v.slot)
        return g
      }
      return generatorNode(g.name, g.declared, g.from, g.to, v.form, v.slot)
    },
  ),
}

/**
 * The most tuple segments (inputs and outputs together) a decoded `derivative` may have. `D(f)`
 * doubles the segments of `f`, so a document of `n` nested derivatives a few hundred bytes long
 * describes a term of 2^n segments (depth 30: out of memory); every real use (`D(f)`,
 * `D(D(f))`) is far below. Terms built in code are not limited.
 */
export const MAX_DERIVATIVE_SEGMENTS = 4096

const derivativeWithin = (body: Term): Term => {
  const segments = 2 * (body.dom.length + body.cod.length)
  if (segments > MAX_DERIVATIVE_SEGMENTS)
    return fail(
      'bad-argument',
      `derivative: D(f) would have ${segments} tuple segments, over the ${MAX_DERIVATIVE_SEGMENTS} a document may build`,
      {
        expected: `a derivative of at most ${MAX_DERIVATIVE_SEGMENTS} segments (inputs and outputs)`,
        got: `D of a term with ${body.dom.length} input and ${body.cod.length} output segments`,
        hint: 'each nested derivative doubles the segments: build deeply nested derivatives in code',
      },
    )
  return derivative(body)
}

const termMembers = tagged('term', 'kind', termMembersByKind)

const TERM_KINDS: ReadonlyArray<string> = Object.keys(termMembersByKind)

const isTerm = (u: unknown): u is Term =>
  isRecord(u) &&
  typeof u.kind === 'string' &&
  TERM_KINDS.includes(u.kind) &&
  Array.isArray(u.dom) &&
  Array.isArray(u.cod)

/**
 * The io-ts codec of terms: `decode` validates and rebuilds through the smart constructors,
 * `encode` is {@link encodeTerm}. Its `is` is a shallow guard (a term's `kind`, `dom` and `cod`).
 *
 * @example
 * ```ts
 * import { TermCodec, relu } from 'neural-circuit-diagrams'
 * import * as E from 'fp-ts/lib/Either.js'
 * E.isRight(TermCodec.decode(TermCodec.encode(relu('k')))) // true
 * ```
 */
export const TermCodec: t.Type<Term, TermJson, unknown> = new t.Type(
  'Term',
  isTerm,
  guarded(term).validate,
  encodeTerm,
)

const version: t.Decoder<unknown, typeof TERM_FORMAT_VERSION> = decoder('a version', (u, c) =>
  u === TERM_FORMAT_VERSION
    ? t.success(TERM_FORMAT_VERSION)
    : t.failure(
        u,
        c,
        typeof u === 'number'
          ? `unsupported version ${u}: this library reads version ${TERM_FORMAT_VERSION} of ${TERM_FORMAT} documents`
          : `expected the version number ${TERM_FORMAT_VERSION}, got ${describe(u)}`,
      ),
)

const documentHeader = struct(
  'a term document',
  { format: literal(TERM_FORMAT), version, term: anything },
  {},
)

// The header first: the term of another format or version is not read at all.
const documentDecoder: t.Decoder<unknown, Term> = decoder('a term document', (u, c) => {
  const header = documentHeader.validate(u, c)
  if (E.isLeft(header)) return t.failures(header.left)
  const body = header.right.term
  return term.validate(body, t.appendContext(c, 'term', term, body))
})

const termOrDocument: t.Decoder<unknown, Term> = decoder('a term or term document', (u, c) =>
  isRecord(u) && hasOwn(u, 'format') ? documentDecoder.validate(u, c) : term.validate(u, c),
)

/**
 * Read a term from JSON: a versioned document (`{ format: 'ncd-term', version: 1, term }`) or a
 * bare term, rebuilt through the smart constructors. Never throws: a bad document gives every
 * structural problem with its path, or the constructor's refusal at the node it refused.
 *
 * @example
 * ```ts
 * import { decodeTerm, encodeTerm, seq, relu, mean } from 'neural-circuit-diagrams'
 * import * as E from 'fp-ts/lib/Either.js'
 * const f = seq(relu(['k']), mean('k'))
 * decodeTerm(encodeTerm(f)) // E.right(f), structurally
 * const bad = decodeTerm({ kind: 'seq', parts: [encodeTerm(mean('k')), encodeTerm(relu(['k']))] })
 * E.isLeft(bad) && bad.left[0]?.code // 'type-mismatch'
 * ```
 */
export const decodeTerm = (json: unknown): E.Either<ReadonlyArray<DecodeProblem>, Term> =>
  runDecoder(termOrDocument, json)

/**
 * The JSON text of a term's versioned document.
 *
 * @example
 * ```ts
 * import { termToJson, relu } from 'neural-circuit-diagrams'
 * termToJson(relu()) // '{"format":"ncd-term","version":1,"term":{"kind":"scalar","op":"relu"}}'
 * ```
 */
export const termToJson = (term: Term, options: { readonly indent?: number } = {}): string =>
  JSON.stringify(encodeTermDocument(term), undefined, options.indent)

/**
 * Read a term from JSON text (a versioned document or a bare term). Never throws: text that is
 * not JSON is one problem at `$`.
 *
 * @example
 * ```ts
 * import { decodeTermJson, termToJson, linearLayer } from 'neural-circuit-diagrams'
 * import * as E from 'fp-ts/lib/Either.js'
 * const L = linearLayer('W', 'k', 'h', { bias: true })
 * decodeTermJson(termToJson(L)) // E.right(L), structurally
 * E.isLeft(decodeTermJson('{ "kind": ')) // true
 * ```
 */
export const decodeTermJson = (text: string): E.Either<ReadonlyArray<DecodeProblem>, Term> => {
  const deep = typeof text === 'string' ? textDepthProblem(text) : undefined
  if (deep !== undefined) return E.left(rootProblem(deep))
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return E.left(rootProblem(`not JSON: ${e instanceof Error ? e.message : describe(e)}`))
  }
  return decodeTerm(json)
}

/**
 * The inverse of {@link termToJson}: the same as {@link decodeTermJson}.
 *
 * @example
 * ```ts
 * import { termFromJson, termToJson, unit } from 'neural-circuit-diagrams'
 * import * as E from 'fp-ts/lib/Either.js'
 * const back = termFromJson(termToJson(unit('a')))
 * E.isRight(back) && back.right.kind // 'einsum'
 * E.isRight(back) && back.right.name // 'unit'
 * ```
 */
export const termFromJson = decodeTermJson
