/**
 * Native PyTorch operations for the convolution and pooling boxes of `src/models/conv.ts` (paper
 * Fig. 25, 26): a box built by `conv1d`, `conv2d`, `pool1d` or `pool2d` lowers to one
 * `F.conv1d/conv2d`, `F.max_pool1d/2d` or `F.avg_pool1d/2d` call instead of the convolution
 * tensor's gather and an einsum.
 *
 * Recognition is by reconstruction, never by the box's name alone: the layer's configuration is
 * read off the body (its convolution tensors, pads, parameters and reduction), the layer is built
 * again by the model constructor from that configuration, and the native call is used only when
 * the rebuilt term equals the box as data (`termEquals`). A user's box that merely carries the
 * name `Conv2d(...)` over another body is lowered through its body as before.
 *
 * @packageDocumentation
 * @internal
 */
import { type Dim } from '../core/dim.js'
import { termEquals } from '../core/equal.js'
import type { Term } from '../core/term.js'
import type { Shape } from '../core/types.js'
import { conv1d, conv2d, type Padding1d, pool1d, pool2d } from '../models/conv.js'

type Box = Extract<Term, { kind: 'box' }>

/** A box lowered to one native PyTorch call. */
export type NativeOp =
  | {
      readonly kind: 'conv'
      readonly weight: { readonly name: string; readonly shape: Shape }
      readonly bias?: { readonly name: string; readonly shape: Shape }
      readonly stride: ReadonlyArray<number>
      readonly dilation: ReadonlyArray<number>
      readonly padding: ReadonlyArray<Padding1d>
    }
  | {
      readonly kind: 'pool'
      readonly reduce: 'max' | 'mean'
      readonly kernel: ReadonlyArray<Dim>
      readonly stride: ReadonlyArray<number>
      readonly dilation: ReadonlyArray<number>
      readonly padding: ReadonlyArray<Padding1d>
    }

interface Parts {
  readonly cuts: Array<Extract<Term, { kind: 'convTensor' }>>
  readonly pads: Array<Extract<Term, { kind: 'pad' }>>
  readonly params: Array<Extract<Term, { kind: 'param' }>>
  readonly reductions: Array<Extract<Term, { kind: 'axisOp' }>>
}

const partsOf = (body: Term): Parts => {
  const parts: Parts = { cuts: [], pads: [], params: [], reductions: [] }
  const visit = (t: Term): void => {
    if (t.kind === 'convTensor') parts.cuts.push(t)
    if (t.kind === 'pad') parts.pads.push(t)
    if (t.kind === 'param') parts.params.push(t)
    if (t.kind === 'axisOp') parts.reductions.push(t)
    if ('body' in t) visit(t.body)
    if ('parts' in t) t.parts.forEach(visit)
  }
  visit(body)
  return parts
}

/**
 * The paddings a body's pad nodes may stand for, per spatial axis: pads appear in axis order, and
 * when fewer pads than axes appear, each assignment is a candidate (the rebuild decides).
 */
const paddingCandidates = (pads: Parts['pads'], rank: number): Padding1d[][] => {
  const pairs = pads.map((p): Padding1d => [p.before, p.after])
  const zero: Padding1d = [0, 0]
  if (pairs.length === 0) return [Array.from({ length: rank }, () => zero)]
  if (pairs.length === rank) return [pairs]
  if (rank === 2 && pairs.length === 1) {
    const only = pairs[0] as Padding1d
    return [
      [only, zero],
      [zero, only],
    ]
  }
  return []
}

const attempt = (build: () => Term, box: Box): boolean => {
  try {
    return termEquals(build(), box)
  } catch {
    return false
  }
}

const pair = (xs: ReadonlyArray<number>): readonly [number, number] => [
  xs[0] as number,
  xs[1] as number,
]

/**
 * The native PyTorch call a box stands for, or `undefined` when it is not exactly a convolution
 * or pooling layer of `src/models/conv.ts` (then its body is lowered).
 */
export const nativeOpOf = (box: Box): NativeOp | undefined => {
  const layer = /^(Conv|MaxPool|AvgPool)([12])d\(/.exec(box.name)
  if (layer === null || box.dom.length !== 1 || box.cod.length !== 1) return undefined
  const rank = Number(layer[2])
  const { cuts, pads, params, reductions } = partsOf(box.body)
  if (cuts.length !== rank || cuts.some((c) => c.adjoint === true)) return undefined
  if (pads.some((p) => p.adjoint === true)) return undefined
  const input = box.dom[0] as Shape
  if (input.length !== rank + 1) return undefined
  const [x0, x1] = input
  const channels = input[rank] as Dim
  const stride = cuts.map((c) => c.stride)
  const dilation = cuts.map((c) => c.dilation)
  const kernel = cuts.map((c) => c.kernel)
  for (const padding of paddingCandidates(pads, rank)) {
    if (layer[1] === 'Conv') {
      const weight = params.find((p) => p.name.endsWith('.weight'))
      if (weight === undefined || weight.shape.length !== rank + 2) return undefined
      const name = weight.name.slice(0, -'.weight'.length)
      const bias = params.find((p) => p.name === `${name}.bias`)
      const cOut = weight.shape[0] as Dim
      const common = { cIn: channels, cOut, bias: bias !== undefined }
      const ok = attempt(
        () =>
          rank === 1
            ? conv1d(name, {
                ...common,
                x: x0 as Dim,
                k: kernel[0] as Dim,
                stride: stride[0] as number,
                dilation: dilation[0] as number,
                padding: padding[0] as Padding1d,
              })
            : conv2d(name, {
                ...common,
                h: x0 as Dim,
                w: x1 as Dim,
                kh: kernel[0] as Dim,
                kw: kernel[1] as Dim,
                stride: pair(stride),
                dilation: pair(dilation),
                padding: [padding[0] as Padding1d, padding[1] as Padding1d],
              }),
        box,
      )
      if (ok)
        return {
          kind: 'conv',
          weight: { name: weight.name, shape: weight.shape },
          ...(bias === undefined ? {} : { bias: { name: bias.name, shape: bias.shape } }),
          stride,
          dilation,
          padding,
        }
    } else {
      const reduce = layer[1] === 'MaxPool' ? 'max' : 'mean'
      // PyTorch's average pooling takes no dilation: such a layer is lowered through its body.
      if (reduce === 'mean' && dilation.some((d) => d !== 1)) return undefined
      if (reductions.some((r) => r.op !== reduce)) return undefined
      const ok = attempt(
        () =>
          rank === 1
            ? pool1d(reduce, {
                x: x0 as Dim,
                k: kernel[0] as Dim,
                c: channels,
                stride: stride[0] as number,
                dilation: dilation[0] as number,
                padding: padding[0] as Padding1d,
              })
            : pool2d(reduce, {
                h: x0 as Dim,
                w: x1 as Dim,
                kh: kernel[0] as Dim,
                kw: kernel[1] as Dim,
                c: channels,
                stride: pair(stride),
                dilation: pair(dilation),
                padding: [padding[0] as Padding1d, padding[1] as Padding1d],
              }),
        box,
      )
      if (ok) return { kind: 'pool', reduce, kernel, stride, dilation, padding }
    }
  }
  return undefined
}

/** The Python helpers the native calls use (channels last with leading batch axes ↔ NC...). */
export const NATIVE_HELPERS: ReadonlyArray<string> = [
  'def _channels_first(x, lead):',
  '    return x.reshape((-1,) + tuple(x.shape[lead:])).movedim(-1, 1)',
  '',
  '',
  'def _channels_last(y, batch):',
  '    return y.movedim(1, -1).reshape(tuple(batch) + tuple(y.shape[2:]) + (y.shape[1],))',
  '',
  '',
  'def _pad_spatial(x, padding):',
  '    flat = [p for pair in reversed(padding) for p in pair]',
  '    return F.pad(x, flat) if any(flat) else x',
  '',
  '',
  'def _native_conv(x, lead, weight, bias, stride, padding, dilation):',
  '    y = _pad_spatial(_channels_first(x, lead), padding)',
  '    conv = F.conv1d if len(stride) == 1 else F.conv2d',
  '    return _channels_last(conv(y, weight, bias, stride=stride, dilation=dilation), x.shape[:lead])',
  '',
  '',
  'def _native_pool(kind, x, lead, kernel, stride, padding, dilation):',
  '    y = _pad_spatial(_channels_first(x, lead), padding)',
  "    if kind == 'max':",
  '        pool = F.max_pool1d if len(stride) == 1 else F.max_pool2d',
  '        out = pool(y, kernel, stride=stride, dilation=dilation)',
  '    else:',
  '        pool = F.avg_pool1d if len(stride) == 1 else F.avg_pool2d',
  '        out = pool(y, kernel, stride=stride)',
  '    return _channels_last(out, x.shape[:lead])',
]
