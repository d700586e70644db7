/**
 * Taking every s-th entry of an axis, from the primitives: the convolution tensor of a one-wide
 * kernel with stride s (paper eq. 4 with `k = 1`), then a view dropping the kernel's 1-length
 * axis. It states stride and dilation in terms of stride-1, undilated convolution tensors (see
 * `src/rewrite/rules/convolution.ts`).
 *
 * @packageDocumentation
 */
import { seq } from '../core/construct.js'
import { type Dim, type DimLike, constDim, toDim } from '../core/dim.js'
import type { Term } from '../core/term.js'
import { convTensor, view } from './structural.js'

/**
 * Every s-th entry of axis a: `[a] -> [conv(a, 1, s, 1)]`, `out[i] = in[s i]`, as
 * `convTensor(a, 1, { stride: s }) ; view([y 1] -> [y])`. Its output axis has `⌊(a - 1) / s⌋ + 1`
 * entries; of a convolution's blocks `conv(x, k, 1, d)` it is `conv(x, k, s, d)` (the dims
 * simplify, see `dimConv`).
 *
 * @example
 * ```ts
 * import { subsample, showTyped, evaluate } from 'neural-circuit-diagrams'
 * showTyped(subsample('a', 2)) // 'convTensor(a,1,s2,d1) ; view([conv(a,1,s2,d1) 1] -> [conv(a,1,s2,d1)]) : [a] -> [conv(a,1,s2,d1)]'
 * evaluate(subsample('a', 2), { a: 5 }, [[0, 1, 2, 3, 4]])[0] // Float64Array [0, 2, 4]
 * ```
 */
export const subsample = (axis: DimLike, stride: number): Term => {
  const a = toDim(axis)
  const one = constDim(1)
  const cut = convTensor(a, one, { stride })
  const y = cut.cod[0]?.[0] as Dim
  return seq(cut, view([y, one], [y]))
}
