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
import type { Dim } from '../core/dim.js'
import { absurd } from '../core/errors.js'
import type { Term } from '../core/term.js'
import type { Shape, TupleType } from '../core/types.js'
import type { Bindings, Bound } from '../rewrite/match.js'
import type { Sort } from '../rewrite/pattern.js'
import type { Proof } from '../rewrite/proof.js'
import type { Step } from '../rewrite/rule.js'
import { decodeTerm } from './codec.js'
import type { DecodeProblem } from './decode.js'
import {
  decodeDim,
  decodeShape,
  decodeType,
  encodeDim,
  encodeShape,
  encodeType,
} from './dim-codec.js'
import { encodeTerm } from './term-json.js'

/** The `format` field of a proof document. */
export const PROOF_FORMAT = 'ncd-proof'
/** The version of the proof document format this code reads and writes. */
export const PROOF_FORMAT_VERSION = 1

const SORTS: ReadonlyArray<Sort> = ['term', 'dim', 'shape', 'type', 'value']

const StepJson = t.type({
  rule: t.string,
  direction: t.union([t.literal('forward'), t.literal('backward')]),
  location: t.intersection([
    t.type({ path: t.array(t.number) }),
    t.partial({ range: t.tuple([t.number, t.number]) }),
  ]),
  bindings: t.record(
    t.string,
    t.type({
      sort: t.keyof({ term: null, dim: null, shape: null, type: null, value: null }),
      value: t.unknown,
    }),
  ),
})

/** The io-ts codec of a proof document's envelope (terms inside are decoded by the term codec). */
export const ProofDocumentCodec = t.type({
  format: t.literal(PROOF_FORMAT),
  version: t.literal(PROOF_FORMAT_VERSION),
  name: t.string,
  lhs: t.unknown,
  rhs: t.unknown,
  steps: t.array(StepJson),
})

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

const at = (prefix: string, problems: ReadonlyArray<DecodeProblem>): DecodeProblem[] =>
  problems.map((p) => ({ ...p, path: prefix + p.path.slice(1) }))

const decodeBound = (
  sort: Sort,
  value: unknown,
  path: string,
): E.Either<ReadonlyArray<DecodeProblem>, unknown> => {
  const r =
    sort === 'term'
      ? decodeTerm(value)
      : sort === 'dim'
        ? decodeDim(value)
        : sort === 'shape'
          ? decodeShape(value)
          : sort === 'type'
            ? decodeType(value)
            : E.right(value)
  return E.isLeft(r) ? E.left(at(path, r.left)) : r
}

const ioProblems = (errors: t.Errors): DecodeProblem[] => {
  const out = new Map<string, DecodeProblem>()
  for (const e of errors) {
    // The alternatives of a union and the members of an intersection are not places in the
    // document: a union fails once, at its own place; an intersection's member is skipped.
    const kept: t.ContextEntry[] = []
    for (let i = 0; i < e.context.length; i++) {
      const parent = e.context[i - 1]?.type
      if (parent instanceof t.UnionType) break
      if (parent instanceof t.IntersectionType) continue
      kept.push(e.context[i] as t.ContextEntry)
    }
    const path = `$${kept
      .slice(1)
      .map((c) => (/^\d+$/.test(c.key) ? `[${c.key}]` : `.${c.key}`))
      .join('')}`
    const message =
      e.message ??
      `expected ${kept[kept.length - 1]?.type.name ?? 'a value'}, got ${JSON.stringify(e.value) ?? String(e.value)}`
    out.set(`${path} ${message}`, { path, message, code: 'decode' })
  }
  return [...out.values()]
}

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
  let json: unknown
  try {
    json = JSON.parse(text) as unknown
  } catch (e) {
    return E.left([
      {
        path: '$',
        message: `not JSON: ${e instanceof Error ? e.message : String(e)}`,
        code: 'decode',
      },
    ])
  }
  try {
    const envelope = ProofDocumentCodec.decode(json)
    if (E.isLeft(envelope)) return E.left(ioProblems(envelope.left))
    const doc = envelope.right
    const problems: DecodeProblem[] = []
    const lhs = decodeTerm(doc.lhs)
    const rhs = decodeTerm(doc.rhs)
    if (E.isLeft(lhs)) problems.push(...at('$.lhs', lhs.left))
    if (E.isLeft(rhs)) problems.push(...at('$.rhs', rhs.left))
    const steps: Step[] = []
    doc.steps.forEach((s, i) => {
      const bindings = new Map<string, Bound>()
      for (const [name, b] of Object.entries(s.bindings)) {
        if (!SORTS.includes(b.sort)) continue
        const value = decodeBound(b.sort, b.value, `$.steps[${i}].bindings.${name}.value`)
        if (E.isLeft(value)) problems.push(...value.left)
        else bindings.set(name, { sort: b.sort, value: value.right })
      }
      const location =
        s.location.range === undefined
          ? { path: s.location.path }
          : { path: s.location.path, range: s.location.range }
      steps.push({ rule: s.rule, direction: s.direction, location, bindings: bindings as Bindings })
    })
    if (problems.length > 0 || E.isLeft(lhs) || E.isLeft(rhs)) return E.left(problems)
    return E.right({ name: doc.name, lhs: lhs.right, rhs: rhs.right, steps })
  } catch (e) {
    return E.left([
      {
        path: '$',
        message: `could not read the proof: ${e instanceof Error ? e.message : String(e)}`,
        code: 'decode',
      },
    ])
  }
}
