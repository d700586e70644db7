/**
 * The fully connected layer, the bold **L** of the paper (section 3.1, Fig. 21): a learned linear
 * map `[in] -> [out]`, with a `+` when biased. Its weights are named parameters, so it is built
 * from primitives and stays transparent to rewriting and differentiation.
 *
 * @packageDocumentation
 */
import { box, id, par, seq } from '../core/construct.js'
import { type DimLike, dimKey } from '../core/dim.js'
import { type Shape, type ShapeLike, toShape } from '../core/types.js'
import { add, param } from '../core/primitives.js'
import type { Term } from '../core/term.js'
import { einsum } from './einsum.js'

/** Options of {@link linearLayer}. */
export interface LinearLayerOptions {
  /** Add a learned bias `name.bias` of shape `[out]` (the "+" of Fig. 21). Default false. */
  readonly bias?: boolean
}

/**
 * A learned linear map `[in] -> [out]`: `v ↦ W v (+ b)` with `W = param(name.weight, [out in])`
 * and `b = param(name.bias, [out])`, as PyTorch's `nn.Linear(in, out)`.
 *
 * @example
 * ```ts
 * import { linearLayer, showTyped } from 'neural-circuit-diagrams'
 * const L = linearLayer('W', 'k', 'h', { bias: true })
 * showTyped(L) // 'L(W: k -> h, +) : [k] -> [h]'
 * L.linearity // 'nonlinear' (affine: the bias)
 * linearLayer('V', 'h', 'k').linearity // 'linear'
 * ```
 */
export const linearLayer = (
  name: string,
  input: DimLike,
  output: DimLike,
  options: LinearLayerOptions = {},
): Term => linearMap(name, [input], [output], options)

/**
 * A learned linear map between shapes, `[in...] -> [out...]`, with weight
 * `param(name.weight, [out... in...])` (and bias `[out...]`): the **L** of Fig. 23 that maps a
 * model width to heads and head widths at once. `linearLayer` is its one-axis case.
 *
 * @example
 * ```ts
 * import { linearMap, showTyped } from 'neural-circuit-diagrams'
 * showTyped(linearMap('Q', 'm', 'k h')) // 'L(Q: m -> k h) : [m] -> [k h]'
 * ```
 */
export const linearMap = (
  name: string,
  input: ShapeLike,
  output: ShapeLike,
  options: LinearLayerOptions = {},
): Term => {
  const ins = toShape(input)
  const outs = toShape(output)
  const inLabels = ins.map((_, n) => `i${n}`)
  const outLabels = outs.map((_, n) => `o${n}`)
  const dims = Object.fromEntries([
    ...ins.map((d, n) => [inLabels[n], d] as const),
    ...outs.map((d, n) => [outLabels[n], d] as const),
  ])
  const spec = `${inLabels.join(' ')}, ${[...outLabels, ...inLabels].join(' ')} -> ${outLabels.join(' ')}`
  const weight = seq(
    par(id([ins]), param(`${name}.weight`, [...outs, ...ins])),
    einsum(spec, { dims }),
  )
  const body = options.bias
    ? seq(weight, par(id([outs]), param(`${name}.bias`, outs)), add(outs))
    : weight
  const show = (s: Shape) => s.map(dimKey).join(' ')
  return box(`L(${name}: ${show(ins)} -> ${show(outs)}${options.bias ? ', +' : ''})`, body)
}
