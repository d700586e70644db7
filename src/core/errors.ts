/**
 * Typed errors of the engine. Every message says what was expected, what came, where, and (when
 * we can tell) what would fit. The inner API returns `Either<TermError, _>`; the public facade
 * throws the same `TermError`.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'

/** The catalogue of error codes: one per kind of mistake a user can make. */
export type ErrorCode =
  | 'type-mismatch'
  | 'bad-arity'
  | 'bad-dim'
  | 'bad-shape'
  | 'bad-einsum'
  | 'bad-broadcast'
  | 'bad-view'
  | 'bad-index'
  | 'bad-argument'
  | 'bad-input'
  | 'unbound-dim'
  | 'bad-size'
  | 'memory-cap'
  | 'not-finite'
  | 'decode'
  | 'not-linear'
  | 'internal'

/** Details attached to a {@link TermError}; all optional but `message`. */
export interface ErrorDetails {
  readonly expected?: string
  readonly got?: string
  readonly where?: string
  readonly hint?: string
}

/**
 * The one error type of the engine.
 *
 * @example
 * ```ts
 * import { seq, relu, mean, TermError } from 'neural-circuit-diagrams'
 * try {
 *   seq(mean('k'), relu(['k']))
 * } catch (e) {
 *   if (!(e instanceof TermError)) throw e
 *   e.code // 'type-mismatch'
 * }
 * ```
 */
export class TermError extends Error {
  override readonly name = 'TermError'
  readonly code: ErrorCode
  readonly summary: string
  readonly details: ErrorDetails

  constructor(code: ErrorCode, summary: string, details: ErrorDetails = {}) {
    super(formatMessage(summary, details))
    this.code = code
    this.summary = summary
    this.details = details
  }
}

const formatMessage = (summary: string, d: ErrorDetails): string => {
  const lines = [summary]
  if (d.expected !== undefined) lines.push(`  expected: ${d.expected}`)
  if (d.got !== undefined) lines.push(`  got:      ${d.got}`)
  if (d.where !== undefined) lines.push(`  at ${d.where}`)
  if (d.hint !== undefined) lines.push(`  hint: ${d.hint}`)
  return lines.join('\n')
}

/** Throw a {@link TermError}. @internal */
export const fail = (code: ErrorCode, summary: string, details: ErrorDetails = {}): never => {
  throw new TermError(code, summary, details)
}

/**
 * Run a throwing builder and return its result as an `Either`: the inner-API form of every
 * smart constructor.
 *
 * @example
 * ```ts
 * import { attempt, seq, mean, relu } from 'neural-circuit-diagrams'
 * import * as E from 'fp-ts/lib/Either.js'
 * E.isLeft(attempt(() => seq(mean('k'), relu(['k'])))) // true
 * ```
 */
export const attempt = <A>(build: () => A): E.Either<TermError, A> => {
  try {
    return E.right(build())
  } catch (e) {
    if (e instanceof TermError) return E.left(e)
    throw e
  }
}

/** Unwrap an `Either`, throwing its `TermError`. @internal */
export const orThrow = <A>(e: E.Either<TermError, A>): A => {
  if (E.isLeft(e)) throw e.left
  return e.right
}

/** The exhaustive-switch guard: unreachable when the union is covered. @internal */
export const absurd = (x: never): never => {
  throw new Error(`unreachable: ${JSON.stringify(x)}`)
}
