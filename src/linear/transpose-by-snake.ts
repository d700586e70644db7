/**
 * The associated transpose of a linear map, built with the unit and the cup (paper section
 * 2.4.3, Fig. 20). A linear `f : R^A -> R^B` has an associated `R^{A x B}` tensor; transposing it
 * gives `fᵀ : R^B -> R^A`. The unit `η_A` makes the identity matrix of `R^A` (every basis vector
 * of `R^A`, scaled by the input's entries), f acts on one leg of it, and the cup pairs f's output
 * with the input:
 *
 *     fᵀ = bcast[B](η_A) ; bcast[A](bcast[B](f)) ; bcast[A](cup_B)
 *     [B] -> [A A B] -> [A B B] -> [A],      fᵀ(y)[i] = Σ_b f(e_i)[b] y[b]
 *
 * No new term kind: the result is made of the primitives, so it evaluates, rewrites and prints
 * like any other term. The laws it satisfies (involution, transpose of a composition) are in
 * `src/rewrite/rules/compact.ts`.
 *
 * @packageDocumentation
 */
import { broadcast, seq } from '../core/construct.js'
import type { Dim } from '../core/dim.js'
import { fail } from '../core/errors.js'
import { show } from '../core/show.js'
import type { Term } from '../core/term.js'
import { type Shape, type ShapeLike, showType, toShape } from '../core/types.js'
import { cup, einsum, unit } from './einsum.js'

const labels = (shape: Shape): string[] => shape.map((_, i) => `l${i}`)

const dimsOf = (shape: Shape): Record<string, Dim> =>
  Object.fromEntries(shape.map((d, i) => [`l${i}`, d]))

/**
 * The unit of a shape, `η_A : [] -> [A A]`: r times the identity matrix of `R^A` (paper section
 * 2.4.3). For one axis it is {@link unit}; for several, the einsum `' -> l0 l1 l0 l1'`; for the
 * scalar shape `[]`, the identity `einsum(' -> ')`.
 *
 * @example
 * ```ts
 * import { shapeUnit, showTyped, evaluate } from 'neural-circuit-diagrams'
 * showTyped(shapeUnit(['a'])) // 'unit[a] : [] -> [a a]'
 * showTyped(shapeUnit(['a', 'b'])) // 'einsum( -> l0 l1 l0 l1; l0=a, l1=b) : [] -> [a b a b]'
 * evaluate(shapeUnit(['a']), { a: 2 }, [[3]])[0] // Float64Array [3, 0, 0, 3]
 * ```
 */
export const shapeUnit = (shape: ShapeLike): Term => {
  const s = toShape(shape)
  if (s.length === 1) return unit(s[0] as Dim)
  const ls = labels(s).join(' ')
  return einsum(` -> ${ls} ${ls}`, { dims: dimsOf(s) })
}

/**
 * The cup of a shape, `[A A] -> []`: the inner product of the two copies of A (paper Fig. 20).
 * For one axis it is {@link cup}; for several, the einsum `'l0 l1 l0 l1 -> '`.
 *
 * @example
 * ```ts
 * import { shapeCup, showTyped } from 'neural-circuit-diagrams'
 * showTyped(shapeCup(['a'])) // 'cup[a] : [a a] -> []'
 * showTyped(shapeCup(['a', 'b'])) // 'einsum(l0 l1 l0 l1 -> ; l0=a, l1=b) : [a b a b] -> []'
 * ```
 */
export const shapeCup = (shape: ShapeLike): Term => {
  const s = toShape(shape)
  if (s.length === 1) return cup(s[0] as Dim)
  const ls = labels(s).join(' ')
  return einsum(`${ls} ${ls} -> `, { dims: dimsOf(s) })
}

/** `t` broadcast over `axes` at `at`, or `t` itself when there are no axes. */
const over = (t: Term, axes: Shape, at: 0 | 'last'): Term =>
  axes.length === 0 ? t : broadcast(t, axes, { at })

/**
 * The associated transpose `fᵀ : [B] -> [A]` of a linear `f : [A] -> [B]` (one segment in, one
 * out), built as in Fig. 20 from the unit of A, f broadcast over a leg of it, and the cup of B:
 *
 *     fᵀ = bcast[B @last](η_A) ; bcast[A](bcast[B @last](f)) ; bcast[A](cup_B)
 *
 * so `⟨f x, y⟩ = ⟨x, fᵀ y⟩`. Broadcasts over no axes are left out (A or B the scalar shape).
 * Refuses a map that is not linear (the construction gives `y ↦ Σ_b f(y_b e_i)_b`, which is no
 * transpose: for an affine f its double transpose is not f, see laws/compact.test.ts) or not from
 * one segment to one.
 *
 * @example
 * ```ts
 * import { associatedTranspose, linearLayer, showTyped, evaluate, einsum } from 'neural-circuit-diagrams'
 * const m = einsum('i -> i', { dims: { i: 'a' } })
 * showTyped(associatedTranspose(m))
 * // 'bcast[a @in(0) @out(2)](unit[a]) ; bcast[a](bcast[a @in(1) @out(1)](einsum(i -> i; i=a))) ; bcast[a](cup[a]) : [a] -> [a]'
 * // The transpose of 'sum the entries' spreads a scalar: R -> R^a.
 * evaluate(associatedTranspose(einsum('a -> ')), { a: 3 }, [[2]])[0] // Float64Array [2, 2, 2]
 * ```
 */
export const associatedTranspose = (f: Term): Term => {
  if (f.dom.length !== 1 || f.cod.length !== 1)
    return fail('bad-argument', 'associatedTranspose: the map must take one segment to one', {
      expected: 'a linear map [A] -> [B]',
      got: `${show(f, { maxLength: 80 })} : ${showType(f.dom)} -> ${showType(f.cod)}`,
      hint: 'transpose each segment of a tuple map separately',
    })
  if (f.linearity !== 'linear')
    return fail('bad-argument', 'associatedTranspose: only a linear map has a transpose', {
      expected: 'a linear map (paper section 2.4.3)',
      got: `${show(f, { maxLength: 80 })}, which is ${f.linearity}`,
    })
  const a = f.dom[0] as Shape
  const b = f.cod[0] as Shape
  return seq(
    ...[
      a.length === 0 ? undefined : over(shapeUnit(a), b, 'last'),
      over(over(f, b, 'last'), a, 0),
      b.length === 0 ? undefined : over(shapeCup(b), a, 0),
    ].filter((t): t is Term => t !== undefined),
  )
}
