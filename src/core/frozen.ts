/**
 * Deep immutability of constructor data (DESIGN.md section 3: terms are deeply frozen plain
 * data). Every term and dim is built through {@link sealData}, which copies whatever the caller
 * passed in (a dim record, a shape array, a dims table) into frozen data that no one else holds,
 * so that mutating the caller's object afterwards changes neither the term nor the memoised keys
 * computed from it (`normalKey`, `leafKey`).
 *
 * It is also where the number semantics (README, "Number semantics") starts: the data of a term
 * holds real numbers, so `-0` is read as `0` (`scale(-0)` is `scale(0)`, `offset(-0)` is
 * `offset(0)`), and a JSON round trip, which writes both as `0`, keeps a term's meaning.
 *
 * @packageDocumentation
 */
import { isTermNode } from './term.js'

/**
 * The mark of data known to be deeply frozen (built by {@link sealData}, never held by a
 * caller): a non-enumerable own property under a symbol no other module sees, set just before
 * freezing. A property, not a WeakSet: marking costs a third, and a WeakSet of millions of
 * entries (one per shape, dim and array of a large term) dominated building and its garbage
 * collection.
 */
const SEALED: unique symbol = Symbol('neural-circuit-diagrams/sealed')

/** Mark `x` sealed, then freeze it. */
const seal = (x: object): void => {
  Object.defineProperty(x, SEALED, { value: true })
  Object.freeze(x)
}

/** Whether `x` is data {@link sealData} returned (so built by a constructor). @internal */
export const isSealed = (x: object): boolean => Object.prototype.hasOwnProperty.call(x, SEALED)

/**
 * A deeply frozen copy of constructor data, shared as it is when it is already sealed (a term,
 * or data this function returned before): each piece of data is copied once. Numbers are read
 * as reals: `-0` becomes `0`. Prototypes are kept (an einsum's dims table has none, so that a
 * label named `__proto__` is an ordinary key).
 *
 * @internal
 */
export const sealData = <A>(x: A): A => sealWith(x, new Map())

/**
 * Seal an array just built by the caller, in place: sound only when no one else holds it and its
 * elements are terms or sealed data (a shape of dims `toShape` read, a `par`'s parts and
 * types), so that {@link sealData} need not copy it again.
 *
 * @internal
 */
export const sealFresh = <A>(a: A[]): ReadonlyArray<A> => {
  seal(a)
  return a
}

/**
 * {@link sealData} with the copies made so far in this call, so that data reached twice (a
 * term's `type`, `dom` and `cod`, which `id` shares) is copied once and stays shared.
 */
const sealWith = <A>(x: A, copies: Map<object, object>): A => {
  if (typeof x === 'number') return (x === 0 ? 0 : x) as A
  if (typeof x !== 'object' || x === null) return x
  if (isSealed(x) || isTermNode(x)) return x
  const done = copies.get(x)
  if (done !== undefined) return done as A
  let out: object
  if (Array.isArray(x)) out = x.map((e: unknown) => sealWith(e, copies))
  else {
    const proto = Object.getPrototypeOf(x) as object | null
    const o = Object.create(proto) as Record<string, unknown>
    // A plain assignment is the fast path on plain and prototype-less records; `__proto__` (an
    // accessor of Object.prototype), and any key of another prototype, is defined instead, so
    // that it stays an ordinary own key.
    const plain = proto === null || proto === Object.prototype
    for (const k of Object.keys(x)) {
      const value = sealWith((x as Record<string, unknown>)[k], copies)
      if (plain && k !== '__proto__') o[k] = value
      else Object.defineProperty(o, k, { value, enumerable: true })
    }
    out = o
  }
  seal(out)
  copies.set(x, out)
  return out as A
}
