/**
 * Scaled dot-product attention (paper Fig. 22) and multi-head attention (Fig. 23), built from
 * einsums, broadcasting and learned linear maps.
 *
 * @packageDocumentation
 */
import { box, broadcast, id, par, seq, swap } from '../core/construct.js'
import { type DimLike, toDim } from '../core/dim.js'
import { add, param, scaleBySize, softmax } from '../core/primitives.js'
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

/** Options of {@link attention} and {@link multiHeadAttention}. */
export interface AttentionOptions {
  /**
   * Take a fourth input, an additive mask `[y x]` added to the scaled scores before SoftMax:
   * 0 where a query may attend, a large negative number (`-1e9`) where it may not (the masked
   * self-attention of the decoder of Fig. 38; {@link causalMask} gives the usual one).
   */
  readonly mask?: boolean
}

/**
 * Scaled dot-product attention (Fig. 22, Equation 1 of "Attention is all you need"):
 * `[y k] × [x k] × [x v] -> [y v]`, `SoftMax_x(Q Kᵀ / √k) V` with SoftMax over the keys `x`,
 * broadcast over the queries `y`. With `{ mask: true }`:
 * `[y k] × [x k] × [x v] × [y x] -> [y v]`, the mask added to the scores before SoftMax.
 *
 * @example
 * ```ts
 * import { attention, showTyped } from 'neural-circuit-diagrams'
 * showTyped(attention({ y: 'y', x: 'x', k: 'k' })) // 'Attention : [y k] × [x k] × [x k] -> [y k]'
 * showTyped(attention({ y: 'y', x: 'x', k: 'k' }, { mask: true }))
 * // 'MaskedAttention : [y k] × [x k] × [x k] × [y x] -> [y k]'
 * ```
 */
export const attention = (dims: AttentionDims, options: AttentionOptions = {}): Term => {
  const [y, x, k] = [toDim(dims.y), toDim(dims.x), toDim(dims.k)]
  const v = toDim(dims.v ?? dims.k)
  const scores = einsum('y k, x k -> y x', { dims: { y, x, k } })
  const scaled = scaleBySize(k, -0.5, [y, x])
  const normalise = broadcast(softmax(x), [y])
  const mix = einsum('y x, x v -> y v', { dims: { y, x, v } })
  const values = id([[x, v]])
  if (options.mask === true)
    return box(
      'MaskedAttention',
      seq(
        par(scores, values, id([[y, x]])),
        par(scaled, swap([[x, v]], [[y, x]])),
        par(add([y, x]), values),
        par(normalise, values),
        mix,
      ),
    )
  return box('Attention', seq(par(scores, values), par(seq(scaled, normalise), values), mix))
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
 * (concatenation and the output layer at once). With `{ mask: true }` it takes a fourth input,
 * the additive mask `[y x]` shared by every head (see {@link AttentionOptions}). Parameter names
 * start with `prefix`.
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
  options: { readonly prefix?: string } & AttentionOptions = {},
): Term => {
  const [y, x, m, k, h] = [
    toDim(dims.y),
    toDim(dims.x),
    toDim(dims.m),
    toDim(dims.k),
    toDim(dims.h),
  ]
  const p = options.prefix ?? ''
  const masked = options.mask === true
  const project = par(
    broadcast(linearMap(`${p}Q`, [m], [k, h]), [y]),
    broadcast(linearMap(`${p}K`, [m], [k, h]), [x]),
    broadcast(linearMap(`${p}V`, [m], [k, h]), [x]),
    ...(masked ? [id([[y, x]])] : []),
  )
  // The mask is shared by the heads (inner broadcasting, Fig. 14).
  const heads = masked
    ? broadcast(attention({ y, x, k }, { mask: true }), [h], {
        inputs: [2, 2, 2, 'shared'],
        outputs: [2],
      })
    : broadcast(attention({ y, x, k }), [h], { at: 'last' })
  const output = seq(
    par(id([[y, k, h]]), param(`${p}O.weight`, [m, k, h])),
    einsum('y k h, m k h -> y m', { dims: { y, k, h, m } }),
  )
  return box('MultiHeadAttention', seq(project, heads, output))
}

/**
 * The causal mask of the decoder's self-attention (Fig. 38) as an additive `[n n]` tensor,
 * row-major: 0 where key j <= query i, `-1e9` after it (the value of the Annotated Transformer's
 * `masked_fill`), so SoftMax gives the later keys weight 0.
 *
 * @example
 * ```ts
 * import { causalMask } from 'neural-circuit-diagrams'
 * causalMask(2) // Float64Array [0, -1000000000, 0, 0]
 * ```
 */
export const causalMask = (n: number): Float64Array =>
  Float64Array.from({ length: n * n }, (_, e) => (e % n <= Math.floor(e / n) ? 0 : -1e9))
