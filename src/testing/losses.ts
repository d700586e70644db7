/**
 * The scalar loss the benchmarks and tests put on a model to take its gradient (bench/archs.ts,
 * bench/models.ts, test/grad-cost.test.ts, test/adversary.test.ts): `Σ out ⊙ R`, with `R` a
 * parameter of the output's shape, where the plain sum `sumLoss` would be constant (a softmax's
 * outputs sum to 1, so its gradient is zero). Internal, not part of the package's API.
 *
 * @packageDocumentation
 */
import { id, par, seq } from '../core/construct.js'
import { param } from '../core/primitives.js'
import type { Term } from '../core/term.js'
import type { Shape } from '../core/types.js'
import { einsum } from '../linear/einsum.js'

/** `net ; Σ out ⊙ R` for `net`'s first output, `R` a parameter named `name` of its shape. */
export const weightedSumLoss = (net: Term, name = 'R'): Term => {
  const shape = net.cod[0] as Shape
  const labels = shape.map((_, i) => `a${i}`).join(' ')
  const dims = Object.fromEntries(shape.map((d, i) => [`a${i}`, d] as const))
  return seq(
    net,
    par(id([shape]), param(name, shape)),
    einsum(`${labels}, ${labels} -> `, { dims }),
  )
}
