/**
 * Structural equality of terms: the same constructor arguments, all the way down. The derived
 * fields (`dom`, `cod`, `linearity`, `poly`) follow from the arguments and are not compared; dims
 * compare by {@link dimKey} (marks and default sizes do not count).
 *
 * @packageDocumentation
 */
import { type Dim, dimKey } from './dim.js'
import { type Term, isTermNode } from './term.js'

/** The fields of a term computed by its constructor. @internal */
export const DERIVED_FIELDS: ReadonlySet<string> = new Set(['dom', 'cod', 'linearity', 'poly'])

const DIM_KINDS: ReadonlySet<string> = new Set(['var', 'const', 'product', 'padded', 'conv'])

/** Whether a value is a dim (as opposed to a term or another record). @internal */
export const isDim = (x: unknown): x is Dim =>
  typeof x === 'object' &&
  x !== null &&
  !Array.isArray(x) &&
  DIM_KINDS.has((x as { kind?: unknown }).kind as string) &&
  !isTermNode(x)

/** The constructor fields: a term's own keys less the derived ones; all keys of other records. */
const ownKeys = (x: object): string[] =>
  isTermNode(x) ? Object.keys(x).filter((k) => !DERIVED_FIELDS.has(k)) : Object.keys(x)

/** Deep structural equality of constructor data. @internal */
export const dataEquals = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false
    return a.every((x, i) => dataEquals(x, b[i]))
  }
  if (isDim(a) || isDim(b)) return isDim(a) && isDim(b) && dimKey(a) === dimKey(b)
  const ka = ownKeys(a)
  const kb = ownKeys(b)
  if (ka.length !== kb.length) return false
  const rb = b as Record<string, unknown>
  const ra = a as Record<string, unknown>
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && dataEquals(ra[k], rb[k]))
}

/**
 * Whether two terms are structurally equal.
 *
 * @example
 * ```ts
 * import { termEquals, relu, dim } from 'neural-circuit-diagrams'
 * termEquals(relu('k'), relu([dim('k', { mark: 'depth' })])) // true
 * termEquals(relu('k'), relu('h')) // false
 * ```
 */
export const termEquals = (a: Term, b: Term): boolean => dataEquals(a, b)
