/**
 * The transformer of "Attention is all you need" (Vaswani et al. 2017) as paper Fig. 38 draws it,
 * with the Annotated Transformer's structure: token embeddings scaled by √m, positional
 * encodings, an encoder stack (self-attention and a feed-forward layer, each in a residual
 * connection with layer norm), a decoder stack (masked self-attention, cross-attention on the
 * encoder's output, a feed-forward layer), and a final linear layer with SoftMax over the
 * vocabulary. Multi-head attention is Fig. 23's (`attention.ts`); the layers are written as
 * dataflow graphs (`graph`), so the residual copies are the wiring.
 *
 * Layer norm comes in both placements: `'post'` (Vaswani et al.: `LN(v + sublayer(v))`) and
 * `'pre'` (the Annotated Transformer and most later models: `v + sublayer(LN(v))`, with a final
 * layer norm after each stack). Dropout, which only training uses, is left out.
 *
 * @packageDocumentation
 */
import { box, broadcast, copy, id, par, seq } from '../core/construct.js'
import { type Dim, type DimLike, toDim } from '../core/dim.js'
import { type Apply as GraphApply, type Wire as GraphWire, graph } from '../core/dag.js'
import { fail } from '../core/errors.js'
import { add, gelu, layerNorm, mul, param, relu, scaleBySize, softmax } from '../core/primitives.js'
import type { Term } from '../core/term.js'
import { linearLayer, linearMap } from '../linear/layer.js'
import { multiHeadAttention } from './attention.js'

/** Where layer norm stands in a residual sub-layer. */
export type NormPlacement = 'post' | 'pre'

/** The activation of the feed-forward layer. */
export type Activation = 'relu' | 'gelu'

/** Options of {@link transformerEncoderLayer}. */
export interface EncoderLayerOptions {
  /** The tokens. */
  readonly x: DimLike
  /** The model width. */
  readonly m: DimLike
  /** The width of one head. */
  readonly k: DimLike
  /** The number of heads. */
  readonly h: DimLike
  /** The hidden width of the feed-forward layer. */
  readonly f: DimLike
  /** Default `'post'`, as Vaswani et al. */
  readonly norm?: NormPlacement
  /** Default `'relu'`, as Vaswani et al. (`'gelu'` for the vision transformer). */
  readonly activation?: Activation
}

/**
 * Layer norm with a learned gain and bias, `[x m] -> [x m]` per token (the circle of Fig. 38):
 * `layerNorm(m)` (biased variance, ε = 1e-5), times `name.gain [m]`, plus `name.bias [m]`, as
 * PyTorch's `nn.LayerNorm(m)`, broadcast over the tokens `x`.
 *
 * @example
 * ```ts
 * import { layerNormAffine, showTyped } from 'neural-circuit-diagrams'
 * showTyped(layerNormAffine('ln', 'x', 'm')) // 'LayerNorm(ln) : [x m] -> [x m]'
 * ```
 */
export const layerNormAffine = (name: string, x: DimLike, m: DimLike): Term => {
  const [t, w] = [toDim(x), toDim(m)]
  const perToken = seq(
    layerNorm(w),
    par(id([[w]]), param(`${name}.gain`, [w])),
    mul([w]),
    par(id([[w]]), param(`${name}.bias`, [w])),
    add([w]),
  )
  return box(`LayerNorm(${name})`, broadcast(perToken, [t]))
}

/**
 * The position-wise feed-forward layer, `[x m] -> [x m]`: `L(name.1: m -> f, +)`, the
 * activation, `L(name.2: f -> m, +)`, broadcast over the tokens.
 *
 * @example
 * ```ts
 * import { feedForward, showTyped } from 'neural-circuit-diagrams'
 * showTyped(feedForward('ff', { x: 'x', m: 'm', f: 'f' })) // 'FeedForward(ff) : [x m] -> [x m]'
 * ```
 */
export const feedForward = (
  name: string,
  dims: { readonly x: DimLike; readonly m: DimLike; readonly f: DimLike },
  activation: Activation = 'relu',
): Term => {
  const [x, m, f] = [toDim(dims.x), toDim(dims.m), toDim(dims.f)]
  const act = activation === 'gelu' ? gelu([f]) : relu([f])
  return box(
    `FeedForward(${name})`,
    broadcast(
      seq(
        linearLayer(`${name}.1`, m, f, { bias: true }),
        act,
        linearLayer(`${name}.2`, f, m, { bias: true }),
      ),
      [x],
    ),
  )
}

const checkNorm = (norm: NormPlacement): NormPlacement => {
  if (norm !== 'post' && norm !== 'pre')
    fail('bad-argument', `transformer: unknown layer norm placement '${String(norm)}'`, {
      expected: `'post' or 'pre'`,
      got: JSON.stringify(norm),
    })
  return norm
}

/**
 * A residual sub-layer on the stream `[t m]` with side inputs (memory, a mask):
 * post-norm `LN(v + sub(v, side))`, pre-norm `v + sub(LN(v), side)`.
 */
const residual = (
  norm: NormPlacement,
  ln: Term,
  sub: Term,
): { readonly apply: (v: Wire, side: ReadonlyArray<Wire>, ap: Apply) => Wire } => ({
  apply: (v, side, ap) => {
    const inner = norm === 'pre' ? one(ap(ln, v)) : v
    const sum = one(ap(add(v.shape), v.wire, one(ap(sub, inner, ...side)).wire))
    return norm === 'post' ? one(ap(ln, sum)) : sum
  },
})

/** A wire of a graph with its shape. */
interface Wire {
  readonly wire: GraphWire
  readonly shape: ReadonlyArray<Dim>
}

/** `apply` of a graph on typed wires. */
type Apply = (op: Term, ...inputs: ReadonlyArray<Wire | GraphWire>) => Wire[]

const one = (ws: ReadonlyArray<Wire>): Wire => ws[0] as Wire

/** A typed `apply` for `graph`. */
const typed =
  (apply: GraphApply): Apply =>
  (op, ...inputs) =>
    apply(op, ...inputs.map((w) => ('wire' in w ? w.wire : w))).map((wire, i) => ({
      wire,
      shape: op.cod[i] as ReadonlyArray<Dim>,
    }))

/** Self-attention `[t m] -> [t m]` (queries, keys and values all the stream), masked or not. */
const selfAttention = (
  prefix: string,
  t: Dim,
  dims: { m: Dim; k: Dim; h: Dim },
  mask: boolean,
): Term => {
  const mha = multiHeadAttention({ y: t, x: t, m: dims.m, k: dims.k, h: dims.h }, { prefix, mask })
  const three = seq(copy([[t, dims.m]]), par(id([[t, dims.m]]), copy([[t, dims.m]])))
  return mask ? seq(par(three, id([[t, t]])), mha) : seq(three, mha)
}

/**
 * One encoder layer of Fig. 38, `[x m] -> [x m]`: self-attention, then the feed-forward layer,
 * each a residual sub-layer with layer norm (`norm`). Parameters `${name}.attn.{Q,K,V,O}.weight`,
 * `${name}.ln1`, `${name}.ff.{1,2}`, `${name}.ln2` (gains and biases).
 *
 * @example
 * ```ts
 * import { transformerEncoderLayer, showTyped } from 'neural-circuit-diagrams'
 * const layer = transformerEncoderLayer('enc1', { x: 'x', m: 'm', k: 'k', h: 'h', f: 'f' })
 * showTyped(layer) // 'EncoderLayer(enc1, post) : [x m] -> [x m]'
 * ```
 */
export const transformerEncoderLayer = (name: string, options: EncoderLayerOptions): Term => {
  const norm = checkNorm(options.norm ?? 'post')
  const [x, m, k, h, f] = [options.x, options.m, options.k, options.h, options.f].map(toDim) as [
    Dim,
    Dim,
    Dim,
    Dim,
    Dim,
  ]
  const attn = residual(
    norm,
    layerNormAffine(`${name}.ln1`, x, m),
    selfAttention(`${name}.attn.`, x, { m, k, h }, false),
  )
  const ff = residual(
    norm,
    layerNormAffine(`${name}.ln2`, x, m),
    feedForward(`${name}.ff`, { x, m, f }, options.activation ?? 'relu'),
  )
  const body = graph([[x, m]], ([input], apply) => {
    const ap = typed(apply)
    const v = { wire: input as GraphWire, shape: [x, m] }
    return [ff.apply(attn.apply(v, [], ap), [], ap).wire]
  })
  return box(`EncoderLayer(${name}, ${norm})`, body)
}

/** Options of {@link transformerDecoderLayer}. */
export interface DecoderLayerOptions {
  /** The source tokens (the encoder's output). */
  readonly x: DimLike
  /** The target tokens. */
  readonly y: DimLike
  readonly m: DimLike
  readonly k: DimLike
  readonly h: DimLike
  readonly f: DimLike
  /** Default `'post'`. */
  readonly norm?: NormPlacement
}

/**
 * One decoder layer of Fig. 38, `[x m] × [y m] × [y y] -> [y m]`: from the memory (the encoder's
 * output), the target stream and the additive causal mask ({@link causalMask}), masked
 * self-attention on the stream, cross-attention (queries from the stream, keys and values from
 * the memory), then the feed-forward layer, each a residual sub-layer with layer norm.
 *
 * @example
 * ```ts
 * import { transformerDecoderLayer, showTyped } from 'neural-circuit-diagrams'
 * const layer = transformerDecoderLayer('dec1', { x: 'x', y: 'y', m: 'm', k: 'k', h: 'h', f: 'f' })
 * showTyped(layer) // 'DecoderLayer(dec1, post) : [x m] × [y m] × [y y] -> [y m]'
 * ```
 */
export const transformerDecoderLayer = (name: string, options: DecoderLayerOptions): Term => {
  const norm = checkNorm(options.norm ?? 'post')
  const [x, y, m, k, h, f] = [options.x, options.y, options.m, options.k, options.h, options.f].map(
    toDim,
  ) as [Dim, Dim, Dim, Dim, Dim, Dim]
  const body = graph(
    [
      [x, m],
      [y, m],
      [y, y],
    ],
    ([memory, target, mask], apply) => {
      const ap = typed(apply)
      const v = decoderStep(name, { x, y, m, k, h, f }, norm, ap, {
        memory: { wire: memory as GraphWire, shape: [x, m] },
        target: { wire: target as GraphWire, shape: [y, m] },
        mask: { wire: mask as GraphWire, shape: [y, y] },
      })
      return [v.wire]
    },
  )
  return box(`DecoderLayer(${name}, ${norm})`, body)
}

const decoderStep = (
  name: string,
  d: { x: Dim; y: Dim; m: Dim; k: Dim; h: Dim; f: Dim },
  norm: NormPlacement,
  ap: Apply,
  w: { memory: Wire; target: Wire; mask: Wire },
): Wire => {
  const selfAttn = residual(
    norm,
    layerNormAffine(`${name}.ln1`, d.y, d.m),
    selfAttention(`${name}.self.`, d.y, d, true),
  )
  const cross = residual(
    norm,
    layerNormAffine(`${name}.ln2`, d.y, d.m),
    seq(
      par(id([[d.y, d.m]]), copy([[d.x, d.m]])),
      multiHeadAttention({ y: d.y, x: d.x, m: d.m, k: d.k, h: d.h }, { prefix: `${name}.cross.` }),
    ),
  )
  const ff = residual(
    norm,
    layerNormAffine(`${name}.ln3`, d.y, d.m),
    feedForward(`${name}.ff`, { x: d.y, m: d.m, f: d.f }),
  )
  const a = selfAttn.apply(w.target, [w.mask], ap)
  const b = cross.apply(a, [w.memory], ap)
  return ff.apply(b, [], ap)
}

/** Options of {@link transformer}. */
export interface TransformerOptions {
  /** Source tokens. */
  readonly x: DimLike
  /** Target tokens. */
  readonly y: DimLike
  /** Source vocabulary (tokens come one-hot, `[x vs]`). */
  readonly vs: DimLike
  /** Target vocabulary. */
  readonly vt: DimLike
  /** Model width (d_model, 512 in Vaswani et al.). */
  readonly m: DimLike
  /** Head width (d_k = 64). */
  readonly k: DimLike
  /** Heads (8). */
  readonly h: DimLike
  /** Feed-forward width (d_ff = 2048). */
  readonly f: DimLike
  /** Layers of each stack, N (6). */
  readonly layers: number
  /** Default `'post'` (Vaswani et al.); `'pre'` adds a final layer norm to each stack. */
  readonly norm?: NormPlacement
}

/** Token embedding √m · L(one-hot) plus the positional encoding, `[t v] -> [t m]`. */
const embedding = (name: string, t: Dim, v: Dim, m: Dim): Term =>
  box(
    `Embedding(${name})`,
    seq(
      broadcast(linearMap(`${name}.embed`, [v], [m]), [t]),
      scaleBySize(m, 0.5, [t, m]),
      par(id([[t, m]]), param(`${name}.position`, [t, m])),
      add([t, m]),
    ),
  )

/**
 * The transformer of Fig. 38: `[x vs] × [y vt] × [y y] -> [y vt]`, from the one-hot source
 * tokens, the one-hot (shifted) target tokens and the additive causal mask
 * ({@link causalMask}) to a distribution over the target vocabulary for every target position.
 * Embeddings `√m · L(src.embed: vs -> m)` plus `src.position [x m]` (and `tgt.*` for the target),
 * N encoder layers ({@link transformerEncoderLayer}), N decoder layers
 * ({@link transformerDecoderLayer}) each reading the encoder's output, then
 * `L(out: m -> vt, +)` and SoftMax. The positional encoding is a parameter: give it
 * {@link sinusoidalEncoding} for Vaswani et al.'s fixed one (and leave it out of `grad`'s
 * parameters), or learn it. {@link transformerParamCount} counts the parameters.
 *
 * @example
 * ```ts
 * import { transformer, transformerParamCount, paramsOf, shapeExtents, showType } from 'neural-circuit-diagrams'
 * const dims = { x: 'x', y: 'y', vs: 'vs', vt: 'vt', m: 'm', k: 'k', h: 'h', f: 'f' }
 * const net = transformer({ ...dims, layers: 2 })
 * showType(net.dom) // '[x vs] × [y vt] × [y y]'
 * showType(net.cod) // '[y vt]'
 * const sizes = { x: 5, y: 4, vs: 11, vt: 13, m: 8, k: 2, h: 4, f: 16 }
 * let n = 0
 * for (const s of paramsOf(net).values()) n += shapeExtents(s, sizes).reduce((a, e) => a * e, 1)
 * n // 3197
 * transformerParamCount({ ...sizes, layers: 2 }) // 3197
 * ```
 */
export const transformer = (options: TransformerOptions): Term => {
  const norm = checkNorm(options.norm ?? 'post')
  if (!Number.isInteger(options.layers) || options.layers < 1)
    fail('bad-argument', 'transformer: the number of layers must be an integer >= 1', {
      expected: 'layers >= 1',
      got: String(options.layers),
    })
  const [x, y, vs, vt, m, k, h, f] = [
    options.x,
    options.y,
    options.vs,
    options.vt,
    options.m,
    options.k,
    options.h,
    options.f,
  ].map(toDim) as [Dim, Dim, Dim, Dim, Dim, Dim, Dim, Dim]
  const n = options.layers
  const encoders = Array.from({ length: n }, (_, i) =>
    transformerEncoderLayer(`enc${i + 1}`, { x, m, k, h, f, norm }),
  )
  const decoders = Array.from({ length: n }, (_, i) =>
    transformerDecoderLayer(`dec${i + 1}`, { x, y, m, k, h, f, norm }),
  )
  const body = graph(
    [
      [x, vs],
      [y, vt],
      [y, y],
    ],
    ([source, target, mask], apply) => {
      const ap = typed(apply)
      let memory = one(ap(embedding('src', x, vs, m), source as GraphWire))
      const encoderStack = seq(...encoders)
      memory = one(ap(box(`Encoder(N = ${n})`, encoderStack), memory))
      if (norm === 'pre') memory = one(ap(layerNormAffine('enc.ln', x, m), memory))
      let v = one(ap(embedding('tgt', y, vt, m), target as GraphWire))
      for (const dec of decoders) v = one(ap(dec, memory, v, mask as GraphWire))
      if (norm === 'pre') v = one(ap(layerNormAffine('dec.ln', y, m), v))
      const out = seq(
        broadcast(linearLayer('out', m, vt, { bias: true }), [y]),
        broadcast(softmax(vt), [y]),
      )
      return [one(ap(box('Generator', out), v)).wire]
    },
  )
  return box(`Transformer(N = ${n}, ${norm})`, body)
}

/**
 * The number of parameters of {@link transformer}, by the formula (independent of the term): an
 * encoder layer `4 m k h` (Q, K, V, O) `+ 2 m f + f + m` (feed-forward) `+ 4 m` (two layer norms),
 * a decoder layer `8 m k h + 2 m f + f + m + 6 m`, the embeddings `(vs + vt) m`, the positional
 * encodings `(x + y) m`, the output layer `m vt + vt`, and with pre-norm two final layer norms `4 m`.
 *
 * @example
 * ```ts
 * import { transformerParamCount } from 'neural-circuit-diagrams'
 * transformerParamCount({ x: 5, y: 4, vs: 11, vt: 13, m: 8, k: 2, h: 4, f: 16, layers: 1 }) // 1789
 * ```
 */
export const transformerParamCount = (c: {
  readonly x: number
  readonly y: number
  readonly vs: number
  readonly vt: number
  readonly m: number
  readonly k: number
  readonly h: number
  readonly f: number
  readonly layers: number
  readonly norm?: NormPlacement
}): number => {
  const { x, y, vs, vt, m, k, h, f, layers } = c
  const ffn = 2 * m * f + f + m
  const encoder = 4 * m * k * h + ffn + 4 * m
  const decoder = 8 * m * k * h + ffn + 6 * m
  const finals = (c.norm ?? 'post') === 'pre' ? 4 * m : 0
  return layers * (encoder + decoder) + (vs + vt) * m + (x + y) * m + m * vt + vt + finals
}

/**
 * Vaswani et al.'s fixed positional encoding, an `[n m]` tensor row-major:
 * `PE[p, 2i] = sin(p / 10000^(2i/m))`, `PE[p, 2i+1] = cos(p / 10000^(2i/m))`.
 *
 * @example
 * ```ts
 * import { sinusoidalEncoding } from 'neural-circuit-diagrams'
 * sinusoidalEncoding(2, 2) // Float64Array [0, 1, 0.8414709848078965, 0.5403023058681398]
 * ```
 */
export const sinusoidalEncoding = (n: number, m: number): Float64Array =>
  Float64Array.from({ length: n * m }, (_, e) => {
    const [p, j] = [Math.floor(e / m), e % m]
    const angle = p / 10000 ** ((2 * Math.floor(j / 2)) / m)
    return j % 2 === 0 ? Math.sin(angle) : Math.cos(angle)
  })
