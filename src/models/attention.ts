/**
 * Scaled dot-product attention (paper Fig. 22) and multi-head attention (Fig. 23), built from
 * einsums, broadcasting and learned linear maps.
 *
 * @packageDocumentation
 */
import { box, broadcast, id, par, seq } from '../core/construct.js'
import { type DimLike, toDim } from '../core/dim.js'
import { param, scaleBySize, softmax } from '../core/primitives.js'
import type { Term } from '../core/term.js'
import { einsum } from '../linear/einsum.js'
import { linearMap } from '../linear/layer.js'

/** The sizes of {@link attention}: queries `[y k]`, keys `[x k]`, values `[x v]`. */
export interface AttentionDims {
  readonly y: DimLike
  readonly x: DimLike
  readonly k: DimLike
  /** The value width, which may differ from the key width (section 1.2); default `k`. */
  readonly v?: DimLike
}

/**
 * Scaled dot-product attention (Fig. 22, Equation 1 of "Attention is all you need"):
 * `[y k] × [x k] × [x v] -> [y v]`, `SoftMax_x(Q Kᵀ / √k) V` with SoftMax over the keys `x`,
 * broadcast over the queries `y`.
 *
 * @example
 * ```ts
 * import { attention, showTyped } from 'neural-circuit-diagrams'
 * showTyped(attention({ y: 'y', x: 'x', k: 'k' })) // 'Attention : [y k] × [x k] × [x k] -> [y k]'
 * ```
 */
export const attention = (dims: AttentionDims): Term => {
  const [y, x, k] = [toDim(dims.y), toDim(dims.x), toDim(dims.k)]
  const v = toDim(dims.v ?? dims.k)
  const scores = einsum('y k, x k -> y x', { dims: { y, x, k } })
  const weighting = seq(scaleBySize(k, -0.5, [y, x]), broadcast(softmax(x), [y]))
  const mix = einsum('y x, x v -> y v', { dims: { y, x, v } })
  return box('Attention', seq(par(scores, id([[x, v]])), par(weighting, id([[x, v]])), mix))
}

/** The sizes of {@link multiHeadAttention}. */
export interface MultiHeadDims {
  /** Queries. */
  readonly y: DimLike
  /** Keys and values. */
  readonly x: DimLike
  /** The model width. */
  readonly m: DimLike
  /** The width of one head. */
  readonly k: DimLike
  /** The number of heads. */
  readonly h: DimLike
}

/**
 * Multi-head attention (Fig. 23; Equations 2, 3): `[y m] × [x m] × [x m] -> [y m]`. Learned maps
 * `Q`, `K`, `V: m -> k h` are broadcast over the tokens, attention is broadcast over the heads
 * `h` (the last axis), and the heads are mixed back to `m` by one einsum with `O.weight [m k h]`
 * (concatenation and the output layer at once).
 *
 * @example
 * ```ts
 * import { multiHeadAttention, showTyped } from 'neural-circuit-diagrams'
 * showTyped(multiHeadAttention({ y: 'y', x: 'x', m: 'm', k: 'k', h: 'h' }))
 * // 'MultiHeadAttention : [y m] × [x m] × [x m] -> [y m]'
 * ```
 */
export const multiHeadAttention = (
  dims: MultiHeadDims,
  options: { prefix?: string } = {},
): Term => {
  const [y, x, m, k, h] = [
    toDim(dims.y),
    toDim(dims.x),
    toDim(dims.m),
    toDim(dims.k),
    toDim(dims.h),
  ]
  const p = options.prefix ?? ''
  const project = par(
    broadcast(linearMap(`${p}Q`, [m], [k, h]), [y]),
    broadcast(linearMap(`${p}K`, [m], [k, h]), [x]),
    broadcast(linearMap(`${p}V`, [m], [k, h]), [x]),
  )
  const heads = broadcast(attention({ y, x, k }), [h], { at: 'last' })
  const output = seq(
    par(id([[y, k, h]]), param(`${p}O.weight`, [m, k, h])),
    einsum('y k h, m k h -> y m', { dims: { y, k, h, m } }),
  )
  return box('MultiHeadAttention', seq(project, heads, output))
}
