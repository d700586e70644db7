/**
 * Proofs as JSON documents, so that `ncd check` can replay them:
 *
 * ```json
 * { "format": "ncd-proof", "version": 1, "name": "...", "lhs": term, "rhs": term,
 *   "steps": [{ "rule": "category/id-left", "direction": "forward",
 *               "location": { "path": [0], "range": [1, 3] },
 *               "bindings": { "f": { "sort": "term", "value": term } } }] }
 * ```
 *
 * Decoding never throws: every problem is reported with its path in the document.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { DIM_KINDS as ALL_DIM_KINDS, type Dim } from '../core/dim.js'
import { absurd } from '../core/errors.js'
import type { Term } from '../core/term.js'
import type { Shape, TupleType } from '../core/types.js'
import type { Bindings, Bound } from '../rewrite/match.js'
import type { Sort } from '../rewrite/pattern.js'
import type { Proof } from '../rewrite/proof.js'
import type { Step } from '../rewrite/rule.js'
import { TermCodec } from './codec.js'
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
  list,
  literal,
  oneOf,
  record,
  rootProblem,
  runDecoder,
  string,
  struct,
  textDepthProblem,
} from './decode.js'
import {
  DimCodec,
  ShapeCodec,
  TupleTypeCodec,
  encodeDim,
  encodeShape,
  encodeType,
} from './dim-codec.js'
import { encodeTerm } from './term-json.js'

/** The `format` field of a proof document. */
export const PROOF_FORMAT = 'ncd-proof'
/** The version of the proof document format this code reads and writes. */
export const PROOF_FORMAT_VERSION = 1

const SORTS = ['term', 'dim', 'shape', 'type', 'value'] as const satisfies ReadonlyArray<Sort>

const natural = integer(0)

// Metavariable names, as the pattern constructors write them.
const NAME = { what: "a name (letters, digits, _, . and ')", pattern: /^[A-Za-z_][A-Za-z0-9_'.]*$/ }

/** A window `[start, end)` of a `seq` or `par`'s parts. */
const range: t.Decoder<unknown, readonly [number, number]> = decoder('a range', (u, c) => {
  if (!Array.isArray(u) || u.length !== 2)
    return t.failure(u, c, `expected a range [start, end] of two integers, got ${describe(u)}`)
  const errors: t.ValidationError[] = []
  const ends: number[] = []
  u.forEach((x: unknown, i) => {
    const r = natural.validate(x, t.appendContext(c, String(i), natural, x))
    if (E.isLeft(r)) errors.push(...r.left)
    else ends.push(r.right)
  })
  if (errors.length > 0) return t.failures(errors)
  const [start, end] = ends as [number, number]
  return start < end
    ? t.success([start, end] as const)
    : t.failure(u, c, `expected a range [start, end] with start < end, got [${start}, ${end}]`)
})

const location = struct('a location', { path: list('a path', natural) }, { range })

// Plain values: what `v.value` metavariables bind (numbers, strings, placements, einsum labels
// and dims). An object with a dim's `kind` is rebuilt as a dim, so a malformed one is refused
// here rather than crashing the checker.
const DIM_KINDS: ReadonlyArray<unknown> = ALL_DIM_KINDS
const plainValue: t.Decoder<unknown, unknown> = decoder('a plain value', (u, c) => {
  if (typeof u === 'string' || typeof u === 'boolean') return t.success(u)
  if (typeof u === 'number') return finite.validate(u, c)
  if (Array.isArray(u)) return list('a list of values', plainValue).validate(u, c)
  if (isRecord(u))
    return hasOwn(u, 'kind') && DIM_KINDS.includes(u.kind)
      ? DimCodec.validate(u, c)
      : record('a record of values', NAME, plainValue).validate(u, c)
  return t.failure(
    u,
    c,
    `expected a plain value (a number, string, boolean, dim, list or record), got ${describe(u)}`,
  )
})

const valueOfSort: Readonly<Record<Sort, t.Decoder<unknown, unknown>>> = {
  term: TermCodec,
  dim: DimCodec,
  shape: ShapeCodec,
  type: TupleTypeCodec,
  value: plainValue,
}

// The sort first, then the value by its sort: a value of another sort is one problem at it.
const binding: t.Decoder<unknown, Bound> = decoder('a binding', (u, c) => {
  const head = struct('a binding', { sort: oneOf('a sort', SORTS), value: anything }, {}).validate(
    u,
    c,
  )
  if (E.isLeft(head)) return head
  const { sort, value } = head.right
  const d = valueOfSort[sort]
  const r = d.validate(value, t.appendContext(c, 'value', d, value))
  return E.isLeft(r) ? r : t.success({ sort, value: r.right })
})

const step: t.Decoder<unknown, Step> = construct(
  struct(
    'a step',
    {
      rule: string,
      direction: oneOf('a direction', ['forward', 'backward'] as const),
      location,
      bindings: record('the bindings', NAME, binding),
    },
    {},
  ),
  (s): Step => ({
    rule: s.rule,
    direction: s.direction,
    location:
      s.location.range === undefined
        ? { path: s.location.path }
        : { path: s.location.path, range: s.location.range },
    bindings: new Map(Object.entries(s.bindings)) as Bindings,
  }),
)

const version = decoder('a version', (u, c) =>
  u === PROOF_FORMAT_VERSION
    ? t.success(PROOF_FORMAT_VERSION)
    : t.failure(
        u,
        c,
        typeof u === 'number'
          ? `unsupported version ${u}: this library reads version ${PROOF_FORMAT_VERSION} of ${PROOF_FORMAT} documents`
          : `expected the version number ${PROOF_FORMAT_VERSION}, got ${describe(u)}`,
      ),
)

const proofDocument: t.Decoder<unknown, Proof> = construct(
  struct(
    'a proof document',
    {
      format: literal(PROOF_FORMAT),
      version,
      name: string,
      lhs: TermCodec,
      rhs: TermCodec,
      steps: list('the steps', step),
    },
    {},
  ),
  (d): Proof => ({ name: d.name, lhs: d.lhs, rhs: d.rhs, steps: d.steps }),
)

/**
 * The io-ts decoder of a proof document (the parsed JSON, not its text): every field checked,
 * unknown fields refused, terms and bindings rebuilt through their codecs; never throws.
 *
 * @example
 * ```ts
 * import { ProofDocumentCodec } from 'neural-circuit-diagrams'
 * import * as E from 'fp-ts/lib/Either.js'
 * E.isLeft(ProofDocumentCodec.decode({ format: 'ncd-proof', version: 1 })) // true
 * ```
 */
export const ProofDocumentCodec: t.Decoder<unknown, Proof> = guarded(proofDocument)

const encodeBound = (b: Bound): unknown => {
  switch (b.sort) {
    case 'term':
      return encodeTerm(b.value as Term)
    case 'dim':
      return encodeDim(b.value as Dim)
    case 'shape':
      return encodeShape(b.value as Shape)
    case 'type':
      return encodeType(b.value as TupleType)
    case 'value':
      return b.value
    default:
      return absurd(b.sort)
  }
}

/**
 * The JSON document of a proof.
 *
 * @example
 * ```ts
 * import { prove, proofToJson, rule, P, v, seq, id, relu } from 'neural-circuit-diagrams'
 * const idLeft = rule('my/id-left', P.seq(P.id(v.dom('f')), v.term('f')), v.term('f'))
 * const p = prove('id', seq(id([['k']]), relu('k')), [[idLeft, { path: [] }]])
 * JSON.parse(proofToJson(p)).steps[0].rule // 'my/id-left'
 * ```
 */
export const proofToJson = (p: Proof, options: { indent?: number } = {}): string =>
  JSON.stringify(
    {
      format: PROOF_FORMAT,
      version: PROOF_FORMAT_VERSION,
      name: p.name,
      lhs: encodeTerm(p.lhs),
      rhs: encodeTerm(p.rhs),
      steps: p.steps.map((s) => ({
        rule: s.rule,
        direction: s.direction,
        location:
          s.location.range === undefined
            ? { path: s.location.path }
            : { path: s.location.path, range: s.location.range },
        bindings: Object.fromEntries(
          [...s.bindings.entries()].map(([k, b]) => [k, { sort: b.sort, value: encodeBound(b) }]),
        ),
      })),
    },
    null,
    options.indent,
  )

/**
 * Read a proof document; every problem comes back with its path, and nothing throws.
 *
 * @example
 * ```ts
 * import { proofFromJson } from 'neural-circuit-diagrams'
 * import * as E from 'fp-ts/lib/Either.js'
 * const r = proofFromJson('{"format":"ncd-proof","version":1,"name":"x","lhs":{},"rhs":{},"steps":[]}')
 * E.isLeft(r) && r.left[0]!.path // '$.lhs.kind'
 * ```
 */
export const proofFromJson = (text: string): E.Either<ReadonlyArray<DecodeProblem>, Proof> => {
  const deep = typeof text === 'string' ? textDepthProblem(text) : undefined
  if (deep !== undefined) return E.left(rootProblem(deep))
  let json: unknown
  try {
    json = JSON.parse(text) as unknown
  } catch (e) {
    return E.left(rootProblem(`not JSON: ${e instanceof Error ? e.message : describe(e)}`))
  }
  return runDecoder(proofDocument, json)
}
