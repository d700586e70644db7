/**
 * The Jacobian from the unit and the forward derivative (paper Fig. 36, section 3.6): for a
 * differentiable `f : [X] -> [Y]`, `J f : [X] -> [Y X]`, `J f(x)[y, i] = ∂f(x)_y / ∂x_i`. The
 * unit `η_X` gives the identity tensor, whose rows are the directions `e_i`; the forward
 * derivative `D(f)(x, ·)` is broadcast over them with the point shared, which is the tangent wire
 * of `D(f)` bent to the output side (Fig. 36), the value dropped.
 *
 * @packageDocumentation
 */
import { broadcast, derivative, seq } from '../core/construct.js'
import { graph, type Wire } from '../core/dag.js'
import { fail } from '../core/errors.js'
import { offset } from '../core/primitives.js'
import { show } from '../core/show.js'
import type { Term } from '../core/term.js'
import { type Shape, showType } from '../core/types.js'
import { zero } from '../linear/structural.js'
import { shapeUnit } from '../linear/transpose-by-snake.js'

/**
 * The Jacobian `J f : [X] -> [Y X]` of `f : [X] -> [Y]` (paper Fig. 36): the forward derivative
 * applied to every row of the unit of X, the point shared.
 *
 * @example
 * ```ts
 * import { jacobian, seq, copy, mul, evaluate, showTyped } from 'neural-circuit-diagrams'
 * const square = seq(copy([['k']]), mul('k')) // x ↦ x ⊙ x
 * showTyped(jacobian(square)).endsWith(': [k] -> [k k]') // true
 * evaluate(jacobian(square), { k: 2 }, [[1, 3]])[0] // Float64Array [2, 0, 0, 6]
 * ```
 */
export const jacobian = (f: Term): Term => {
  if (f.dom.length !== 1 || f.cod.length !== 1)
    fail('bad-argument', 'jacobian: the map must take one segment to one', {
      expected: 'a map [X] -> [Y]',
      got: `${showType(f.dom)} -> ${showType(f.cod)}`,
      where: show(f, { maxLength: 120 }),
      hint: 'the Jacobian of a tuple map has one block per pair of segments: take each',
    })
  const x = f.dom[0] as Shape
  const y = f.cod[0] as Shape
  const d = derivative(f)
  const tangent = graph([x, x], (ins, apply) => [apply(d, ...ins)[1] as Wire])
  // [X] × [X X] -> [Y X]: the point shared, the unit's first leg the direction's index.
  const rows = broadcast(tangent, x, { inputs: ['shared', 0], outputs: [y.length] })
  return graph(f.dom, (xs, apply) => {
    const [one] = apply(seq(zero([[]]), offset(1))) as [Wire]
    const [basis] = apply(shapeUnit(x), one) as [Wire]
    return [apply(rows, xs[0] as Wire, basis)[0] as Wire]
  })
}
