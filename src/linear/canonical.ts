/**
 * The canonical form of an einsum (DESIGN.md section 3: "every spec has a canonical form"). An
 * einsum is a spider diagram: what it computes depends only on which axes share a label, never on
 * the labels' names. The canonical form renames the labels by their first appearance (inputs in
 * order, then the output), so two einsums that differ only by a renaming of labels become equal
 * data, and equality of structural linear maps is decided by comparing data.
 *
 * Each label is named after its dim when no other label has that dim (so `y k h, x k h -> y x h`
 * is its own canonical form); the others are named `i`, `j`, `l`, `m`, ... in order of first
 * appearance, skipping names already taken.
 *
 * @packageDocumentation
 */
import { type Dim, dimKey } from '../core/dim.js'
import { fail } from '../core/errors.js'
import { show } from '../core/show.js'
import type { Einsum, Term } from '../core/term.js'
import { einsumOf } from './einsum.js'

/**
 * An einsum with its labels as numbers (a spider diagram): `inputs[i]` lists the label of each
 * axis of input i, `output` those of the output, `dims[l]` is the dim of label l.
 */
export interface Spider {
  readonly inputs: ReadonlyArray<ReadonlyArray<number>>
  readonly output: ReadonlyArray<number>
  readonly dims: ReadonlyArray<Dim>
}

/** The einsum of a term, or a `bad-einsum` error naming the term. @internal */
export const asEinsum = (t: Term, what: string): Einsum =>
  t.kind === 'einsum'
    ? t
    : fail('bad-einsum', `${what}: an einsum is needed`, {
        expected: 'an einsum (unit and cup are einsums)',
        got: show(t, { maxLength: 120 }),
      })

/**
 * The spider of an einsum: labels numbered by first appearance.
 *
 * @example
 * ```ts
 * import { einsum, spiderOf } from 'neural-circuit-diagrams'
 * spiderOf(einsum('y k, x k -> y x')).inputs // [[0, 1], [2, 1]]
 * ```
 */
export const spiderOf = (t: Term): Spider => {
  const e = asEinsum(t, 'spiderOf')
  const ids = new Map<string, number>()
  const dims: Dim[] = []
  const id = (label: string): number => {
    const known = ids.get(label)
    if (known !== undefined) return known
    ids.set(label, dims.length)
    dims.push(e.dims[label] as Dim)
    return dims.length - 1
  }
  const inputs = e.inputs.map((ls) => ls.map(id))
  return { inputs, output: e.output.map(id), dims }
}

const FRESH = ['i', 'j', 'l', 'm', 'n', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'z']

/** Names for labels listed in first-appearance order, given their dims. */
const canonicalNames = (dims: ReadonlyArray<Dim>): string[] => {
  const count = new Map<string, number>()
  for (const d of dims) if (d.kind === 'var') count.set(d.name, (count.get(d.name) ?? 0) + 1)
  const own = dims.map((d) => d.kind === 'var' && count.get(d.name) === 1)
  const taken = new Set(dims.flatMap((d, i) => (own[i] && d.kind === 'var' ? [d.name] : [])))
  let next = 0
  const fresh = (): string => {
    for (;;) {
      const n = next++
      const name = n < FRESH.length ? (FRESH[n] as string) : `l${n - FRESH.length}`
      if (!taken.has(name)) return name
    }
  }
  return dims.map((d, i) => (own[i] && d.kind === 'var' ? d.name : fresh()))
}

/**
 * The einsum of a spider, with canonical labels. Labels that occur nowhere are ignored.
 *
 * @example
 * ```ts
 * import { einsumOfSpider, dim, show } from 'neural-circuit-diagrams'
 * const k = dim('k')
 * show(einsumOfSpider({ inputs: [[0, 1]], output: [1, 0], dims: [k, k] })) // 'einsum(i j -> j i; i=k, j=k)'
 * ```
 */
export const einsumOfSpider = (s: Spider): Term => {
  if (s.inputs.length === 0)
    fail('bad-einsum', 'einsumOfSpider: an einsum has at least one input', {
      expected: 'one input or more (a scalar input is an empty list)',
      got: 'no inputs',
    })
  // Renumber by first appearance, then name.
  const order = new Map<number, number>()
  for (const l of [...s.inputs.flat(), ...s.output]) if (!order.has(l)) order.set(l, order.size)
  const dims = [...order.keys()].map((l) => {
    const d = s.dims[l]
    if (d === undefined)
      fail('bad-einsum', `einsumOfSpider: label ${l} has no dim`, {
        expected: `a dim for each of the ${order.size} labels`,
        got: `${s.dims.length} dims`,
      })
    return d as Dim
  })
  const names = canonicalNames(dims)
  const name = (l: number): string => names[order.get(l) as number] as string
  const side = (ls: ReadonlyArray<number>): string[] => ls.map(name)
  const binds = Object.create(null) as Record<string, Dim>
  order.forEach((n, l) => {
    binds[names[n] as string] = s.dims[l] as Dim
  })
  return einsumOf({ inputs: s.inputs.map(side), output: side(s.output) }, { dims: binds })
}

/**
 * The canonical form of an einsum: its labels renamed by first appearance (see the module
 * documentation), and the names `unit` and `cup` dropped (they are einsums like any other).
 * Returns the einsum itself when it is already canonical. Two einsums are the same structural map
 * exactly when their canonical forms are equal data.
 *
 * @example
 * ```ts
 * import { canonicalEinsum, einsum, show, termEquals, unit } from 'neural-circuit-diagrams'
 * const a = canonicalEinsum(einsum('p q, r q -> p r', { dims: { p: 'y', q: 'k', r: 'x' } }))
 * const b = canonicalEinsum(einsum('s t, u t -> s u', { dims: { s: 'y', t: 'k', u: 'x' } }))
 * show(a) // 'einsum(y k, x k -> y x)'
 * termEquals(a, b) // true
 * show(canonicalEinsum(unit('a'))) // 'einsum( -> a a)'
 * ```
 */
export const canonicalEinsum = (t: Term): Term => {
  const e = asEinsum(t, 'canonicalEinsum')
  const c = einsumOfSpider(spiderOf(e)) as Einsum
  return isSameEinsum(c, e) ? e : c
}

/** Equal labels, output and dims (by dimKey), and no name. */
const isSameEinsum = (c: Einsum, e: Einsum): boolean => {
  if (e.name !== undefined) return false
  const same = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean =>
    a.length === b.length && a.every((x, i) => x === b[i])
  if (c.inputs.length !== e.inputs.length) return false
  if (!c.inputs.every((ls, i) => same(ls, e.inputs[i] as ReadonlyArray<string>))) return false
  if (!same(c.output, e.output)) return false
  return Object.keys(c.dims).every((l) => {
    const d = e.dims[l]
    return d !== undefined && dimKey(d) === dimKey(c.dims[l] as Dim)
  })
}

/**
 * Whether an einsum is in canonical form ({@link canonicalEinsum} returns it unchanged).
 *
 * @example
 * ```ts
 * import { isCanonicalEinsum, einsum } from 'neural-circuit-diagrams'
 * isCanonicalEinsum(einsum('y k, x k -> y x')) // true
 * isCanonicalEinsum(einsum('p q -> q p', { dims: { p: 'a', q: 'b' } })) // false
 * ```
 */
export const isCanonicalEinsum = (t: Term): boolean => canonicalEinsum(t) === t
