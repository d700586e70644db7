/**
 * A linear term between any two tuple types, used to bring a random term to a requested
 * codomain: each target segment is fed by a source segment (the one sharing most axes with it),
 * the sources are copied, dropped and swapped into place, and each pair is joined by an einsum
 * that keeps the shared axes, sums the others and spreads the missing ones.
 *
 * @packageDocumentation
 */
import { type TypeLike, copy, drop, id, par, seq, swap } from '../core/construct.js'
import { dimKey } from '../core/dim.js'
import type { Term } from '../core/term.js'
import { type Shape, type TupleType, shapeEquals, toType } from '../core/types.js'
import { zero } from '../linear/structural.js'
import { shapeAdapter } from './einsums.js'

/** `seq` of the parts that are not identities. */
const chain = (dom: TupleType, parts: ReadonlyArray<Term>): Term => {
  const kept = parts.filter((p) => p.kind !== 'id')
  return kept.length === 0 ? id(dom) : seq(...kept)
}

/** `m` copies of one segment: `[s] -> [s] × ... × [s]`. */
const copies = (s: Shape, m: number): Term => {
  if (m === 0) return drop([s])
  if (m === 1) return id([s])
  return m === 2 ? copy([s]) : seq(copy([s]), par(id([s]), copies(s, m - 1)))
}

const overlap = (a: Shape, b: Shape): number => {
  const rest = a.map(dimKey)
  let n = 0
  for (const d of b) {
    const i = rest.indexOf(dimKey(d))
    if (i >= 0) {
      rest.splice(i, 1)
      n++
    }
  }
  return n
}

/** `t` between identities on the segments before and after it. */
const between = (before: TupleType, t: Term, after: TupleType): Term =>
  par(...(before.length > 0 ? [id(before)] : []), t, ...(after.length > 0 ? [id(after)] : []))

/** A `par` of the parts, or the identity when every part is one. */
const side = (dom: TupleType, parts: ReadonlyArray<Term>): Term =>
  parts.every((p) => p.kind === 'id') ? id(dom) : par(...parts)

/**
 * The wiring `from -> [from[sel[0]], from[sel[1]], ...]`: copies and drops grouped by source,
 * then adjacent swaps into the target order.
 */
const wiring = (from: TupleType, sel: ReadonlyArray<number>): Term => {
  const counts = from.map((_, i) => sel.filter((s) => s === i).length)
  const fan = side(
    from,
    from.map((s, i) => copies(s, counts[i] as number)),
  )
  // After the fan-out the segments come grouped by source; slot[k] is where the k-th goes.
  const slot: number[] = []
  from.forEach((_, i) => sel.forEach((s, j) => s === i && slot.push(j)))
  const types = slot.map((j) => from[sel[j] as number] as Shape)
  const steps: Term[] = [fan]
  for (let pass = 0; pass < slot.length; pass++)
    for (let k = 0; k + 1 < slot.length; k++)
      if ((slot[k] as number) > (slot[k + 1] as number)) {
        const a = types[k] as Shape
        const b = types[k + 1] as Shape
        steps.push(between(types.slice(0, k), swap([a], [b]), types.slice(k + 2)))
        ;[slot[k], slot[k + 1]] = [slot[k + 1] as number, slot[k] as number]
        ;[types[k], types[k + 1]] = [b, a]
      }
  return chain(from, steps)
}

/**
 * A linear term `from -> to`, non-trivial where possible: `drop` to the empty tuple, `zero` from
 * it, otherwise copies, drops and swaps of the segments followed by one einsum per target segment
 * (keep the shared axes, sum the rest, spread the missing ones). The identity when the types are
 * equal.
 *
 * @example
 * ```ts
 * import { show, showTyped, toType } from 'neural-circuit-diagrams'
 * import { adapt } from 'neural-circuit-diagrams/testing'
 * show(adapt(toType(['a b']), toType(['b a']))) // 'einsum(a b -> b a)'
 * showTyped(adapt(toType(['a', 'b']), toType(['b'])))
 * // 'drop([a]) ⊗ id([b]) : [a] × [b] -> [b]'
 * ```
 */
export const adapt = (from: TypeLike, to: TypeLike): Term => {
  const f = toType(from)
  const t = toType(to)
  if (t.length === 0) return f.length === 0 ? id([]) : drop(f)
  if (f.length === 0) return zero(t)
  const sel = t.map((target, j) => {
    let best = j % f.length
    let score = overlap(f[best] as Shape, target)
    f.forEach((s, i) => {
      const o = overlap(s, target)
      if (o > score) {
        best = i
        score = o
      }
    })
    return best
  })
  const selected = sel.map((i) => f[i] as Shape)
  const reshape = side(
    selected,
    t.map((target, j) => {
      const source = selected[j] as Shape
      return shapeEquals(source, target) ? id([target]) : shapeAdapter(source, target)
    }),
  )
  return chain(f, [wiring(f, sel), reshape])
}
