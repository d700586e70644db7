/**
 * The fully connected layer, the bold **L** of the paper (section 3.1, Fig. 21): a learned linear
 * map `[in] -> [out]`, with a `+` when biased. Its weights are named parameters, so it is built
 * from primitives and stays transparent to rewriting and differentiation.
 *
 * @packageDocumentation
 */
import { box, id, par, seq } from '../core/construct.js'
import { type DimLike, dimKey, toDim } from '../core/dim.js'
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
): Term => {
  const i = toDim(input)
  const o = toDim(output)
  const weight = seq(
    par(id([[i]]), param(`${name}.weight`, [o, i])),
    einsum('i, o i -> o', { dims: { i, o } }),
  )
  const body = options.bias
    ? seq(weight, par(id([[o]]), param(`${name}.bias`, [o])), add([o]))
    : weight
  return box(`L(${name}: ${dimKey(i)} -> ${dimKey(o)}${options.bias ? ', +' : ''})`, body)
}
