/**
 * Structural equality of terms: the same constructor arguments, all the way down. The derived
 * fields (`dom`, `cod`, `linearity`, `poly`) follow from the arguments and are not compared; dims
 * compare by {@link dimKey} (marks and default sizes do not count).
 *
 * @packageDocumentation
 */
import { DIM_KINDS as KINDS, type Dim, dimChildren, dimKey } from './dim.js'
import { type Term, isTermNode } from './term.js'

/** The fields of a term computed by its constructor. @internal */
export const DERIVED_FIELDS: ReadonlySet<string> = new Set(['dom', 'cod', 'linearity', 'poly'])

const DIM_KINDS: ReadonlySet<string> = new Set(KINDS)

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

/**
 * The default sizes a term gives its size variables, as a canonical text: for each name that
 * has a default somewhere in the term (in a type, an einsum's dims, a size power), the sorted
 * defaults of its occurrences, with `?` for an occurrence without one; `''` when no dim has a
 * default. Defaults are part of a term's meaning (they bind the names the sizes record leaves
 * out), so two terms are equal only if this text is the same for both: the normal-form key and
 * `checkProof` compare it.
 *
 * @example
 * ```ts
 * import { defaultSizesKey, scaleBySize, dim, relu, par } from 'neural-circuit-diagrams'
 * defaultSizesKey(scaleBySize(dim('k', { size: 2 }), 1)) // 'k=2'
 * defaultSizesKey(relu('k')) // ''
 * defaultSizesKey(par(relu([dim('k', { size: 2 })]), relu('k'))) // 'k=2,?'
 * ```
 */
export const defaultSizesKey = (t: Term): string => {
  const seen = new Set<object>()
  const byName = new Map<string, Set<string>>()
  const visitDim = (d: Dim): void => {
    if (seen.has(d)) return
    seen.add(d)
    if (d.kind === 'var') {
      let s = byName.get(d.name)
      if (s === undefined) byName.set(d.name, (s = new Set()))
      s.add(d.size === undefined ? '?' : String(d.size))
      return
    }
    dimChildren(d).forEach(visitDim)
  }
  const visit = (x: unknown): void => {
    if (typeof x !== 'object' || x === null || seen.has(x)) return
    if (isDim(x)) return visitDim(x)
    seen.add(x)
    if (Array.isArray(x)) return x.forEach(visit)
    for (const k of Object.keys(x)) if (k !== 'poly' && k !== 'linearity') visit((x as never)[k])
  }
  visit(t)
  return [...byName]
    .filter(([, sizes]) => [...sizes].some((s) => s !== '?'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, sizes]) => `${name}=${[...sizes].sort().join(',')}`)
    .join(';')
}

/**
 * A text that is the same for two terms exactly when all their constructor data are the same,
 * dims with their marks and default sizes, box names and all: the whole of what a term is,
 * without its derived fields. Unlike object identity it survives a JSON round trip, so that what
 * is built from it (the nodes `graph` merges, `src/core/dag.ts`) does not depend on which objects
 * a caller happened to share. Memoised per term (terms are immutable).
 *
 * @example
 * ```ts
 * import { dataKey, param } from 'neural-circuit-diagrams'
 * dataKey(param('W', 'a')) === dataKey(param('W', 'a')) // true: two objects, one term
 * dataKey(param('W', 'a')) === dataKey(param('V', 'a')) // false
 * ```
 */
export const dataKey = (t: Term): string => {
  const known = dataKeys.get(t)
  if (known !== undefined) return known
  const key = recordKey(t)
  dataKeys.set(t, key)
  return key
}

const dataKeys = new WeakMap<Term, string>()

const recordKey = (x: object): string =>
  `{${ownKeys(x)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${valueKey((x as Record<string, unknown>)[k])}`)
    .join(',')}}`

const valueKey = (x: unknown): string => {
  if (typeof x === 'number') return String(x)
  if (typeof x === 'string') return JSON.stringify(x)
  if (typeof x !== 'object' || x === null) return String(x)
  if (Array.isArray(x)) return `[${x.map(valueKey).join(',')}]`
  if (isTermNode(x)) return dataKey(x as Term)
  return recordKey(x)
}
