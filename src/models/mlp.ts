/**
 * The basic multi-layer perceptron of paper Fig. 21 (the introductory PyTorch MNIST network):
 * flatten, then fully connected layers with ReLU between them, then SoftMax.
 *
 * @packageDocumentation
 */
import { box, seq } from '../core/construct.js'
import { type Dim, type DimLike, dimProduct, toDim } from '../core/dim.js'
import { relu, softmax } from '../core/primitives.js'
import type { Term } from '../core/term.js'
import { type ShapeLike, toShape } from '../core/types.js'
import { linearLayer } from '../linear/layer.js'
import { view } from '../linear/structural.js'

/** Options of {@link mlp}. */
export interface MlpOptions {
  /** The input shape; several axes are flattened first (`nn.Flatten`). */
  readonly input: ShapeLike
  /** The widths of the hidden layers, in order. */
  readonly hidden: ReadonlyArray<DimLike>
  /** The number of classes. */
  readonly output: DimLike
  /** Biased layers, as `nn.Linear` (default true). */
  readonly bias?: boolean
  /** End with SoftMax over the classes (default true). */
  readonly softmax?: boolean
  /** Parameter name prefix: layers are `${prefix}1`, `${prefix}2`, ... (default 'L'). */
  readonly prefix?: string
}

/**
 * The MLP of Fig. 21: `[in...] -> [out]`, layer `n` having parameters `L<n>.weight` `[out in]`
 * and `L<n>.bias` `[out]`.
 *
 * @example
 * ```ts
 * import { mlp, showTyped } from 'neural-circuit-diagrams'
 * const net = mlp({ input: 'h w', hidden: ['n', 'n'], output: 'c' })
 * showTyped(net) // 'MLP : [h w] -> [c]'
 * ```
 */
export const mlp = (options: MlpOptions): Term => {
  const input = toShape(options.input)
  const bias = options.bias ?? true
  const prefix = options.prefix ?? 'L'
  const parts: Term[] = []
  let width: Dim = input.length === 1 ? (input[0] as Dim) : dimProduct(...input)
  if (input.length !== 1) parts.push(view(input, [width]))
  const widths = [...options.hidden.map(toDim), toDim(options.output)]
  widths.forEach((w, n) => {
    parts.push(linearLayer(`${prefix}${n + 1}`, width, w, { bias }))
    if (n < widths.length - 1) parts.push(relu([w]))
    width = w
  })
  if (options.softmax ?? true) parts.push(softmax(width))
  return box('MLP', seq(...parts))
}
