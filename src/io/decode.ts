/**
 * The decoding machinery shared by the codecs: small io-ts decoders for JSON objects, lists,
 * tagged unions and numbers that report every problem with its place, the step that rebuilds a
 * value through a smart constructor (turning its {@link TermError} into one problem at that
 * node), and the translation of io-ts errors into {@link DecodeProblem}s whose paths read like
 * `$.term.parts[1].axis.name`.
 *
 * Decoding never throws: {@link runDecoder} turns anything unexpected (a throwing getter of a
 * non-JSON object, a stack overflow on absurdly deep nesting) into a problem at `$`.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { type ErrorCode, TermError } from '../core/errors.js'

/**
 * One reason a document was refused: where (a path from the document's root `$`, such as
 * `$.term.parts[1].axis.name`), what, and the engine's error code (`'decode'` for a structural
 * problem; the smart constructor's code, such as `'type-mismatch'`, when a node is well-formed
 * but ill-typed).
 *
 * @example
 * ```ts
 * import { decodeTerm } from 'neural-circuit-diagrams'
 * import * as E from 'fp-ts/lib/Either.js'
 * const r = decodeTerm({ kind: 'pad', axis: { kind: 'var', name: 'x' }, before: 1 })
 * E.isLeft(r) && r.left[0]?.path // '$.after'
 * ```
 */
export interface DecodeProblem {
  readonly path: string
  readonly message: string
  readonly code: ErrorCode
}

/** An io-ts error raised by a smart constructor: it keeps the engine's error code. */
interface ConstructionError extends t.ValidationError {
  readonly code: ErrorCode
}

const isConstructionError = (e: t.ValidationError): e is ConstructionError => 'code' in e

/** A plain object (not null, not an array). @internal */
export const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === 'object' && u !== null && !Array.isArray(u)

/** Whether `o` has `key` as its own property (never a prototype's). @internal */
export const hasOwn = (o: object, key: string): boolean =>
  Object.prototype.hasOwnProperty.call(o, key)

/** A short description of any value, for messages; never throws. @internal */
export const describe = (u: unknown): string => {
  switch (typeof u) {
    case 'undefined':
      return 'nothing'
    case 'number':
    case 'boolean':
      return String(u)
    case 'bigint':
      return `the bigint ${u}n`
    case 'string':
      return JSON.stringify(u.length > 40 ? `${u.slice(0, 37)}...` : u)
    case 'symbol':
      return 'a symbol'
    case 'function':
      return 'a function'
    case 'object':
      return u === null ? 'null' : Array.isArray(u) ? 'an array' : 'an object'
    default:
      return 'an unknown value'
  }
}

/** A decoder from its name and validation. @internal */
export const decoder = <A>(
  name: string,
  validate: t.Validate<unknown, A>,
): t.Decoder<unknown, A> => {
  const self: t.Decoder<unknown, A> = {
    name,
    validate,
    decode: (u) => validate(u, [{ key: '', type: self, actual: u }]),
  }
  return self
}

/** A decoder defined later (for recursive codecs), with an optional fast path for the common valid case. @internal */
export const lazy = <A>(
  name: string,
  get: () => t.Decoder<unknown, A>,
  fast?: (u: unknown) => A | undefined,
): t.Decoder<unknown, A> =>
  decoder(name, (u, c) => {
    const quick = fast?.(u)
    return quick !== undefined ? t.success(quick) : get().validate(u, c)
  })

/** Any value, as it is. @internal */
export const anything: t.Decoder<unknown, unknown> = decoder('anything', (u) => t.success(u))

/** A string. @internal */
export const string: t.Decoder<unknown, string> = decoder('a string', (u, c) =>
  typeof u === 'string' ? t.success(u) : t.failure(u, c, `expected a string, got ${describe(u)}`),
)

/** A string matching `pattern`, described by `what`. @internal */
export const matching = (what: string, pattern: RegExp): t.Decoder<unknown, string> =>
  decoder(what, (u, c) =>
    typeof u === 'string' && pattern.test(u)
      ? t.success(u)
      : t.failure(u, c, `expected ${what}, got ${describe(u)}`),
  )

/** A finite number (JSON has no NaN or Infinity; a JavaScript value might). @internal */
export const finite: t.Decoder<unknown, number> = decoder('a finite number', (u, c) =>
  typeof u === 'number' && Number.isFinite(u)
    ? t.success(u)
    : t.failure(u, c, `expected a finite number, got ${describe(u)}`),
)

/**
 * An integer at least `min` that a double stores exactly (at most 2^53 - 1,
 * `Number.MAX_SAFE_INTEGER`): a size, position or padding beyond it would silently be another
 * number (2^53 + 1 reads as 2^53). @internal
 */
export const integer = (min: number): t.Decoder<unknown, number> =>
  decoder(`an integer >= ${min}`, (u, c) =>
    typeof u === 'number' && Number.isSafeInteger(u) && u >= min
      ? t.success(u)
      : t.failure(
          u,
          c,
          typeof u === 'number' && Number.isInteger(u) && u >= min
            ? `expected an integer >= ${min} that is stored exactly (at most 2^53 - 1), got ${describe(u)}`
            : `expected an integer >= ${min}, got ${describe(u)}`,
        ),
  )

/** Exactly the string or number `value`. @internal */
export const literal = <L extends string | number | boolean>(value: L): t.Decoder<unknown, L> =>
  decoder(JSON.stringify(value), (u, c) =>
    u === value
      ? t.success(value)
      : t.failure(u, c, `expected ${JSON.stringify(value)}, got ${describe(u)}`),
  )

/** One of the strings `values`. @internal */
export const oneOf = <L extends string>(
  what: string,
  values: ReadonlyArray<L>,
): t.Decoder<unknown, L> =>
  decoder(what, (u, c) => {
    const found = values.find((v) => v === u)
    return found !== undefined
      ? t.success(found)
      : t.failure(
          u,
          c,
          `expected ${what} (${values.map((v) => JSON.stringify(v)).join(' or ')}), got ${describe(u)}`,
        )
  })

/** A list of `item`s with at least `minLength` entries; reports every bad entry. @internal */
export const list = <A>(
  what: string,
  item: t.Decoder<unknown, A>,
  minLength = 0,
): t.Decoder<unknown, ReadonlyArray<A>> =>
  decoder(what, (u, c) => {
    if (!Array.isArray(u)) return t.failure(u, c, `expected ${what} (an array), got ${describe(u)}`)
    if (u.length < minLength)
      return t.failure(
        u,
        c,
        `expected ${what} with at least ${minLength} entr${minLength === 1 ? 'y' : 'ies'}, got ${u.length}`,
      )
    const errors: t.ValidationError[] = []
    const out: A[] = []
    for (let i = 0; i < u.length; i++) {
      const v: unknown = u[i]
      const r = item.validate(v, t.appendContext(c, String(i), item, v))
      if (E.isLeft(r)) errors.push(...r.left)
      else out.push(r.right)
    }
    return errors.length > 0 ? t.failures(errors) : t.success(Object.freeze(out))
  })

/**
 * A record whose keys match `key` and whose values are `value`s; reports every bad key and
 * value. Built with `Object.fromEntries`, so a key such as `__proto__` stays an own key.
 * @internal
 */
export const record = <A>(
  what: string,
  key: { readonly what: string; readonly pattern: RegExp },
  value: t.Decoder<unknown, A>,
): t.Decoder<unknown, Readonly<Record<string, A>>> =>
  decoder(what, (u, c) => {
    if (!isRecord(u)) return t.failure(u, c, `expected ${what} (an object), got ${describe(u)}`)
    const errors: t.ValidationError[] = []
    const out: Array<[string, A]> = []
    for (const [k, v] of Object.entries(u)) {
      const at = t.appendContext(c, k, value, v)
      if (!key.pattern.test(k)) {
        errors.push({ value: k, context: at, message: `expected ${key.what}, got ${describe(k)}` })
        continue
      }
      const r = value.validate(v, at)
      if (E.isLeft(r)) errors.push(...r.left)
      else out.push([k, r.right])
    }
    return errors.length > 0
      ? t.failures(errors)
      : t.success(Object.freeze(Object.fromEntries(out)))
  })

/** Decoders of the fields of an object. @internal */
export type Fields = Readonly<Record<string, t.Decoder<unknown, unknown>>>

type Decoded<D> = D extends t.Decoder<unknown, infer A> ? A : never

/** The object a {@link struct} decodes to. @internal */
export type StructOf<R extends Fields, O extends Fields> = {
  readonly [K in keyof R]: Decoded<R[K]>
} & { readonly [K in keyof O]?: Decoded<O[K]> }

/**
 * An object with `required` and `optional` fields and no others. Reports every missing field,
 * every bad field and every unknown field; an optional field that is absent stays absent.
 * @internal
 */
export const struct = <R extends Fields, O extends Fields>(
  what: string,
  required: R,
  optional: O,
): t.Decoder<unknown, StructOf<R, O>> =>
  decoder(what, (u, c) => {
    if (!isRecord(u)) return t.failure(u, c, `expected ${what} (an object), got ${describe(u)}`)
    const errors: t.ValidationError[] = []
    const out: Record<string, unknown> = {}
    const field = (key: string, d: t.Decoder<unknown, unknown>, isRequired: boolean): void => {
      const v = hasOwn(u, key) ? u[key] : undefined
      if (v === undefined) {
        if (isRequired)
          errors.push({
            value: undefined,
            context: t.appendContext(c, key, d, undefined),
            message: `missing field '${key}' of ${what} (${d.name})`,
          })
        return
      }
      const r = d.validate(v, t.appendContext(c, key, d, v))
      if (E.isLeft(r)) errors.push(...r.left)
      else out[key] = r.right
    }
    for (const [key, d] of Object.entries(required)) field(key, d, true)
    for (const [key, d] of Object.entries(optional)) field(key, d, false)
    for (const key of Object.keys(u))
      if (!hasOwn(required, key) && !hasOwn(optional, key)) {
        const known = [...Object.keys(required), ...Object.keys(optional)].join(', ')
        errors.push({
          value: u[key],
          context: t.appendContext(c, key, anything, u[key]),
          message: `unknown field '${key}' of ${what}: its fields are ${known}`,
        })
      }
    // The fields were checked one by one against the decoders that make up StructOf<R, O>.
    return errors.length > 0 ? t.failures(errors) : t.success(out as StructOf<R, O>)
  })

/**
 * A tagged union: reads the string field `tag` and decodes the whole object with the member of
 * that name. An unknown or missing tag is one problem at the tag's path.
 * @internal
 */
export const tagged = <A>(
  what: string,
  tag: string,
  members: Readonly<Record<string, t.Decoder<unknown, A>>>,
): t.Decoder<unknown, A> => {
  const names = Object.keys(members).join(', ')
  const article = /^[aeiou]/.test(what) ? 'an' : 'a'
  const self: t.Decoder<unknown, A> = decoder(what, (u, c) => {
    if (!isRecord(u))
      return t.failure(
        u,
        c,
        `expected ${article} ${what} (an object with a '${tag}'), got ${describe(u)}`,
      )
    const value = hasOwn(u, tag) ? u[tag] : undefined
    const at = t.appendContext(c, tag, self, value)
    if (value === undefined)
      return t.failure(value, at, `missing field '${tag}' of ${what}: one of ${names}`)
    const member = typeof value === 'string' && hasOwn(members, value) ? members[value] : undefined
    if (member === undefined)
      return t.failure(value, at, `unknown ${what} ${tag} ${describe(value)}: one of ${names}`)
    return member.validate(u, c)
  })
  return self
}

const errorText = (e: unknown): string =>
  e instanceof RangeError
    ? `${e.message} (is the document nested too deeply?)`
    : e instanceof Error
      ? e.message
      : 'an unknown error'

/**
 * Decode with `d`, then build the value with a smart constructor: a {@link TermError} it raises
 * becomes one problem at this node, with the error's message and code.
 * @internal
 */
export const construct = <A, B>(
  d: t.Decoder<unknown, A>,
  build: (a: A) => B,
): t.Decoder<unknown, B> =>
  decoder(d.name, (u, c) => {
    const r = d.validate(u, c)
    if (E.isLeft(r)) return t.failures(r.left)
    try {
      return t.success(build(r.right))
    } catch (e) {
      const error: ConstructionError =
        e instanceof TermError
          ? { value: u, context: c, message: e.message, code: e.code }
          : {
              value: u,
              context: c,
              message: `could not build ${d.name}: ${errorText(e)}`,
              code: 'decode',
            }
      return t.failures([error])
    }
  })

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** The path of an io-ts context from the document's root `$`: `$.term.parts[1].axis`. @internal */
export const pathOf = (c: t.Context): string => {
  let path = '$'
  for (let i = 1; i < c.length; i++) {
    const key = c[i]?.key ?? ''
    if (Array.isArray(c[i - 1]?.actual) && /^\d+$/.test(key)) path += `[${key}]`
    else if (IDENTIFIER.test(key)) path += `.${key}`
    else path += `[${JSON.stringify(key)}]`
  }
  return path
}

/** Read io-ts errors as problems. @internal */
export const toProblems = (errors: t.Errors): ReadonlyArray<DecodeProblem> =>
  Object.freeze(
    errors.map((e) =>
      Object.freeze({
        path: pathOf(e.context),
        message:
          e.message ??
          `invalid value ${describe(e.value)} for ${e.context[e.context.length - 1]?.type.name ?? 'the document'}`,
        code: isConstructionError(e) ? e.code : ('decode' as const),
      }),
    ),
  )

/** One problem at the root. @internal */
export const rootProblem = (message: string): ReadonlyArray<DecodeProblem> =>
  Object.freeze([Object.freeze({ path: '$', message, code: 'decode' as const })])

/**
 * How deeply a document may nest objects and arrays. The proofs of `proofs/json` nest at most
 * 19 deep; a term is two levels per `seq` or `par` it stands in and one per `box`,
 * `broadcast` or `derivative`. The decoders and every pass over a term recurse, so a deeper
 * document is refused up front, with this limit in the message, instead of overflowing the
 * stack somewhere (the same answer from every decoder). Width is not limited: a `par` of 10^5
 * parts is one level.
 */
export const MAX_DOCUMENT_DEPTH = 1000

/**
 * The most values (objects, arrays, numbers, strings, ...) a document may hold, counting an
 * object as often as it is reached: JSON text never shares, but a JavaScript value can hold one
 * array 10^5 times, each holding the same 10^5 parts, a term of 10^10 leaves that every pass
 * would walk in full. 2^24 is about 100 MB of JSON text. Refused up front, in time linear in the
 * distinct objects.
 */
export const MAX_DOCUMENT_VALUES = 2 ** 24

/**
 * The nesting depth of objects and arrays in `u` (0 for a number or string) and the number of
 * values it holds counting repeats, or `undefined` once the depth passes `limit`, the count
 * passes `maxValues`, or it meets a cycle. Iterative, so it cannot overflow the stack itself; a
 * sub-object reached twice (not possible in JSON text) is walked once. @internal
 */
export const documentShape = (
  u: unknown,
  limit: number,
  maxValues = MAX_DOCUMENT_VALUES,
): { readonly depth: number; readonly values: number } | undefined => {
  const height = new Map<object, number>()
  const count = new Map<object, number>()
  const onPath = new Set<object>()
  const stack: Array<{
    readonly node: object
    readonly kids: ReadonlyArray<unknown>
    next: number
  }> = []
  const push = (node: object): boolean => {
    if (onPath.has(node) || stack.length >= limit) return false
    onPath.add(node)
    stack.push({ node, kids: Array.isArray(node) ? node : Object.values(node), next: 0 })
    return true
  }
  const isNode = (x: unknown): x is object => typeof x === 'object' && x !== null
  if (!isNode(u)) return { depth: 0, values: 1 }
  if (!push(u)) return undefined
  let result = 0
  let values = 1
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as (typeof stack)[number]
    if (top.next < top.kids.length) {
      const kid = top.kids[top.next++]
      if (isNode(kid) && !height.has(kid) && !push(kid)) return undefined
      continue
    }
    let h = 1
    let n = 1
    for (const kid of top.kids)
      if (isNode(kid)) {
        h = Math.max(h, 1 + (height.get(kid) ?? 0))
        n += count.get(kid) ?? 0
      } else n += 1
    if (n > maxValues) return undefined
    height.set(top.node, h)
    count.set(top.node, n)
    onPath.delete(top.node)
    stack.pop()
    result = h
    values = n
  }
  return result <= limit ? { depth: result, values } : undefined
}

/** The nesting depth of `u`, as {@link documentShape} (any number of values). @internal */
export const nestingDepth = (u: unknown, limit: number): number | undefined =>
  documentShape(u, limit, Infinity)?.depth

/**
 * The problem of JSON text nested deeper than `limit`, or holding more objects and arrays than
 * {@link MAX_DOCUMENT_VALUES}, read without parsing it (brackets outside strings), or
 * `undefined`: V8's `JSON.parse` takes seconds on tens of megabytes of `[[[...]]]`, which the
 * decoders then refuse at once, so text decoders refuse such text before parsing it. Linear in
 * the text. @internal
 */
export const textDepthProblem = (text: string, limit = MAX_DOCUMENT_DEPTH): string | undefined => {
  let depth = 0
  let containers = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92)
        i++ // a backslash escapes the next character
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      if (++depth > limit)
        return `the document nests objects and arrays more than ${limit} deep: refused before parsing`
      // Every object and array is a value: more of them than a document may hold is refused
      // before parsing too.
      if (++containers > MAX_DOCUMENT_VALUES)
        return `the document holds more than ${MAX_DOCUMENT_VALUES} values (2^24, about 100 MB of JSON): refused before parsing`
    } else if (c === 93 || c === 125) depth--
  }
  return undefined
}

/**
 * The problem of a document nested deeper than {@link MAX_DOCUMENT_DEPTH}, or holding more than
 * {@link MAX_DOCUMENT_VALUES} values counting repeats, or `undefined`.
 * @internal
 */
export const depthProblem = (u: unknown): string | undefined => {
  let shape: ReturnType<typeof documentShape>
  try {
    shape = documentShape(u, MAX_DOCUMENT_DEPTH)
  } catch (e) {
    return `could not read the document: ${errorText(e)}`
  }
  if (shape !== undefined) return undefined
  // Which limit: the depth alone decides.
  let deep: number | undefined
  try {
    deep = nestingDepth(u, MAX_DOCUMENT_DEPTH)
  } catch (e) {
    return `could not read the document: ${errorText(e)}`
  }
  return deep === undefined
    ? `the document nests objects and arrays more than ${MAX_DOCUMENT_DEPTH} deep (or in a cycle): refused before decoding`
    : `the document holds more than ${MAX_DOCUMENT_VALUES} values, counting an object as often as it is reached (2^24, about 100 MB of JSON): refused before decoding`
}

/**
 * A decoder for untrusted input that never throws: it refuses a document nested deeper than
 * {@link MAX_DOCUMENT_DEPTH} up front, and turns anything unexpected (a throwing getter of a
 * non-JSON object) into one problem at the place it was decoding. Every public codec's
 * `validate` is guarded, so `Codec.decode` and the `decodeX` functions give the same answers.
 * @internal
 */
export const guarded = <A>(d: t.Decoder<unknown, A>): t.Decoder<unknown, A> =>
  decoder(d.name, (u, c) => {
    const deep = depthProblem(u)
    if (deep !== undefined) return t.failure(u, c, deep)
    try {
      return d.validate(u, c)
    } catch (e) {
      return t.failure(u, c, `could not decode the document: ${errorText(e)}`)
    }
  })

/**
 * Run a decoder on untrusted input: never throws (see {@link guarded}).
 * @internal
 */
export const runDecoder = <A>(
  d: t.Decoder<unknown, A>,
  u: unknown,
): E.Either<ReadonlyArray<DecodeProblem>, A> => {
  try {
    return E.mapLeft(toProblems)(guarded(d).decode(u))
  } catch (e) {
    return E.left(rootProblem(`could not decode the document: ${errorText(e)}`))
  }
}

/**
 * Print problems one a line, each as `path: message`.
 *
 * @example
 * ```ts
 * import { decodeTerm, showProblems } from 'neural-circuit-diagrams'
 * import * as E from 'fp-ts/lib/Either.js'
 * const r = decodeTerm({ kind: 'relu' })
 * E.isLeft(r) && showProblems(r.left).startsWith('$.kind: unknown term kind "relu"') // true
 * ```
 */
export const showProblems = (problems: ReadonlyArray<DecodeProblem>): string =>
  problems.map((p) => `${p.path}: ${p.message}`).join('\n')
