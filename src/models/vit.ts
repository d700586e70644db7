/**
 * The vision transformer (Dosovitskiy et al. 2021; paper section 3.5 and Fig. 29): the image is
 * cut into patches by a view (tandem axes, Fig. 11), each patch is embedded by a learned linear
 * map, a learned class token is prepended (`concat`), learned position embeddings are added, and
 * pre-norm transformer encoder layers (Fig. 23's multi-head attention, GELU feed-forward layers,
 * Fig. 38's residual sub-layers) are followed by layer norm, the class token's row (an index,
 * Fig. 10) and a linear head with SoftMax.
 *
 * Patches by a view are the convolution tensor with stride equal to the kernel (section 3.3): the
 * patch embedding equals `conv2d` with kernel p and stride p, and the test says so numerically.
 *
 * @packageDocumentation
 */
import { box, broadcast, id, par, seq } from '../core/construct.js'
import { type Dim, type DimLike, constDim, dimProduct, dimKey, toDim } from '../core/dim.js'
import { fail } from '../core/errors.js'
import { add, param, softmax } from '../core/primitives.js'
import type { Term } from '../core/term.js'
import { einsum } from '../linear/einsum.js'
import { linearLayer } from '../linear/layer.js'
import { concat, index, view } from '../linear/structural.js'
import { type SizeLike, sizeDim } from './resnet.js'
import { layerNormAffine, transformerEncoderLayer } from './transformer.js'

/** Options of {@link patchEmbedding}. */
export interface PatchOptions {
  /** Patches down the image (the image height is `gh * p`). */
  readonly gh: DimLike
  /** Patches across the image (the width is `gw * q`). */
  readonly gw: DimLike
  /** Patch height. */
  readonly p: SizeLike
  /** Patch width (default `p`). */
  readonly q?: SizeLike
  /** Image channels. */
  readonly c: SizeLike
  /** The model width each patch is embedded in. */
  readonly m: DimLike
}

/**
 * Patching and the linear patch embedding, `[(gh*p) (gw*q) c] -> [(gh*gw) m]`: a view cuts the
 * image into `[gh p gw q c]`, one einsum applies the learned `name.weight [m c p q]` (the layout
 * of PyTorch's `Conv2d(c, m, p, stride=p)`) to every patch, `name.bias [m]` is added, and a view
 * lines the patches up as tokens, row by row.
 *
 * @example
 * ```ts
 * import { patchEmbedding, showTyped } from 'neural-circuit-diagrams'
 * showTyped(patchEmbedding('embed', { gh: 'a', gw: 'b', p: 4, c: 3, m: 'm' }))
 * // 'PatchEmbedding(embed: 4x4) : [(4*a) (4*b) 3] -> [(a*b) m]'
 * ```
 */
export const patchEmbedding = (name: string, options: PatchOptions): Term => {
  const [gh, gw, m] = [toDim(options.gh), toDim(options.gw), toDim(options.m)]
  const p = sizeDim(options.p)
  const q = sizeDim(options.q ?? options.p)
  const c = sizeDim(options.c)
  const image = [dimProduct(gh, p), dimProduct(gw, q), c]
  const tokens = dimProduct(gh, gw)
  const body = seq(
    view(image, [gh, p, gw, q, c]),
    par(id([[gh, p, gw, q, c]]), param(`${name}.weight`, [m, c, p, q])),
    einsum('a p b q c, m c p q -> a b m', { dims: { a: gh, b: gw, p, q, c, m } }),
    view([gh, gw, m], [tokens, m]),
    par(id([[tokens, m]]), param(`${name}.bias`, [m])),
    broadcast(add([m]), [tokens], { inputs: [0, 'shared'] }),
  )
  return box(`PatchEmbedding(${name}: ${dimKey(p)}x${dimKey(q)})`, body)
}

/** Options of {@link visionTransformer}. */
export interface VitOptions extends PatchOptions {
  /** The width of one head. */
  readonly k: DimLike
  /** The number of heads. */
  readonly h: DimLike
  /** The hidden width of the feed-forward layers. */
  readonly f: DimLike
  /** Classes. */
  readonly classes: SizeLike
  /** Encoder layers. */
  readonly layers: number
  /** End with SoftMax over the classes (default true). */
  readonly softmax?: boolean
}

/**
 * The vision transformer: `[(gh*p) (gw*q) c] -> [classes]`. {@link patchEmbedding}, the class
 * token `cls [1 m]` joined in front of the patches (`concat`, giving the token axis
 * `pad((gh*gw),1,0)`: one more than the patches), `position [t m]` added, `layers` pre-norm
 * encoder layers with GELU ({@link transformerEncoderLayer}), `ln`, the class token's row, and
 * `L(head: m -> classes, +)` with SoftMax. {@link vitParamCount} counts the parameters.
 *
 * @example
 * ```ts
 * import { visionTransformer, vitParamCount, paramsOf, shapeExtents, showType } from 'neural-circuit-diagrams'
 * const vit = visionTransformer({ gh: 'a', gw: 'a', p: 4, c: 3, m: 'm', k: 'k', h: 'h', f: 'f', classes: 10, layers: 2 })
 * showType(vit.dom) // '[(4*a) (4*a) 3]'
 * showType(vit.cod) // '[10]'
 * const sizes = { a: 2, m: 8, k: 4, h: 2, f: 16 }
 * let n = 0
 * for (const s of paramsOf(vit).values()) n += shapeExtents(s, sizes).reduce((x, e) => x * e, 1)
 * n // 1682
 * vitParamCount({ gh: 2, gw: 2, p: 4, q: 4, c: 3, m: 8, k: 4, h: 2, f: 16, classes: 10, layers: 2 }) // 1682
 * ```
 */
export const visionTransformer = (options: VitOptions): Term => {
  if (!Number.isInteger(options.layers) || options.layers < 1)
    fail('bad-argument', 'visionTransformer: the number of layers must be an integer >= 1', {
      expected: 'layers >= 1',
      got: String(options.layers),
    })
  const [m, k, h, f] = [options.m, options.k, options.h, options.f].map(toDim) as [
    Dim,
    Dim,
    Dim,
    Dim,
  ]
  const classes = sizeDim(options.classes)
  const embed = patchEmbedding('embed', options)
  const patches = embed.cod[0]?.[0] as Dim
  const one = constDim(1)
  const join = concat(0, [
    [one, m],
    [patches, m],
  ])
  const t = join.cod[0]?.[0] as Dim
  const layers = Array.from({ length: options.layers }, (_, i) =>
    transformerEncoderLayer(`layer${i + 1}`, { x: t, m, k, h, f, norm: 'pre', activation: 'gelu' }),
  )
  const parts: Term[] = [
    embed,
    par(param('cls', [one, m]), id([[patches, m]])),
    join,
    par(id([[t, m]]), param('position', [t, m])),
    add([t, m]),
    box(`Encoder(N = ${options.layers})`, seq(...layers)),
    layerNormAffine('ln', t, m),
    broadcast(index(t, 0), [m], { at: 'last' }),
    linearLayer('head', m, classes, { bias: true }),
  ]
  if (options.softmax ?? true) parts.push(softmax(classes))
  return box(`VisionTransformer(N = ${options.layers})`, seq(...parts))
}

/**
 * The number of parameters of {@link visionTransformer}, by the formula (independent of the
 * term): the patch embedding `m c p q + m`, the class token `m`, the position embeddings
 * `(gh gw + 1) m`, per encoder layer `4 m k h + 2 m f + f + m + 4 m`, the final layer norm `2 m`
 * and the head `m classes + classes`.
 *
 * @example
 * ```ts
 * import { vitParamCount } from 'neural-circuit-diagrams'
 * vitParamCount({ gh: 1, gw: 1, p: 1, q: 1, c: 1, m: 1, k: 1, h: 1, f: 1, classes: 1, layers: 1 }) // 21
 * ```
 */
export const vitParamCount = (c: {
  readonly gh: number
  readonly gw: number
  readonly p: number
  readonly q: number
  readonly c: number
  readonly m: number
  readonly k: number
  readonly h: number
  readonly f: number
  readonly classes: number
  readonly layers: number
}): number => {
  const { m } = c
  const layer = 4 * m * c.k * c.h + 2 * m * c.f + c.f + m + 4 * m
  return (
    m * c.c * c.p * c.q +
    m +
    m +
    (c.gh * c.gw + 1) * m +
    c.layers * layer +
    2 * m +
    m * c.classes +
    c.classes
  )
}
