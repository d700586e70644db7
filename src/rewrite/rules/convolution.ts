/**
 * The laws of the convolution tensor (paper section 3.3, eq. 4-5): `convTensor(x, k, s, d)` is
 * the linear map `[x] -> [y k]` cutting the input into overlapping blocks,
 * `out[i, j] = in[s i + d j]` with `y = ⌊(x - d (k - 1) - 1) / s + 1⌋`:
 *
 *     convTensor(x, 1, 1, 1) = view([x] -> [x 1])                          kernel-one
 *     convTensor(x, 1, s, d) = convTensor(x, 1, s, 1)                      kernel-one-dilation
 *     bcast[S @last](convTensor(x, 1, 1, 1)) ; bcast[x](f)
 *       = bcast[x](view([S] -> [1 S]) ; f)                                 kernel-one-broadcast
 *     convTensor(x, k, s, d) = convTensor(x, k, 1, d) ; bcast[k @last](subsample(y1, s))   stride
 *
 * "1x1 convolution tensors give a linear operation R^x -> R^{x x 1}, which we recognize to be the
 * identity. Therefore, 1x1 kernels are the same as broadcasting over the input" (section 3.3): the
 * output dim of a one-wide kernel simplifies to its input (`dimConv`), so both sides have one type.
 * Stride scales the block index of eq. 4: a strided convolution tensor is the stride-1 one followed
 * by every s-th block. Dilation scales the kernel index; its form through an undilated kernel of
 * span `d (k - 1) + 1` changes the kernel's dim, so it is a test (laws/convolution.test.ts), not a
 * law.
 *
 * @packageDocumentation
 */
import { broadcast, seq } from '../../core/construct.js'
import { type Dim, constDim } from '../../core/dim.js'
import type { Term } from '../../core/term.js'
import { convTensor } from '../../linear/structural.js'
import { subsample } from '../../linear/subsample.js'
import { P, v } from '../pattern.js'
import { type Rule, holds, rule } from '../rule.js'

const x = v.dim('x')
const k = v.dim('k')
const s = v.value('s')
const d = v.value('d')
const S = v.shape('S')
const O = v.value('O')
const f = v.term('f')
const ONE = constDim(1)

/**
 * The 1x1 convolution tensor is the identity (section 3.3): `convTensor(x, 1, 1, 1) : [x] ->
 * [x 1]` only adds the kernel's 1-length axis, `view([x] -> [x 1])`.
 */
export const kernelOne = rule(
  'convolution/kernel-one',
  P.convTensor(x, ONE, 1, 1),
  P.node({ kind: 'view', from: [x], to: [x, ONE] }),
  { source: 'section 3.3' },
)

/**
 * Dilation does not move a one-wide kernel (eq. 4 with `k = 1`: `s i + d · 0`):
 * `convTensor(x, 1, s, d) = convTensor(x, 1, s, 1)`. One-way: the right side forgets d.
 */
export const kernelOneDilation = rule(
  'convolution/kernel-one-dilation',
  P.convTensor(x, ONE, s, d),
  P.convTensor(x, ONE, s, 1),
  { source: 'eq. 4', oneWay: true },
)

/**
 * "1x1 kernels are the same as broadcasting over the input" (section 3.3, Fig. 25): cutting
 * `[x S]` into blocks of one position and broadcasting f over the blocks is broadcasting f over
 * the positions, `bcast[S @last](convTensor(x, 1, 1, 1)) ; bcast[x](f) = bcast[x](view([S] ->
 * [1 S]) ; f)`, for any f (linear or not: max and mean pooling too).
 */
export const kernelOneBroadcast = rule(
  'convolution/kernel-one-broadcast',
  P.seq(P.broadcast(P.convTensor(x, ONE, 1, 1), [S], [1], [2]), P.broadcast(f, [x], [0], O)),
  P.broadcast(P.seq(P.node({ kind: 'view', from: [S], to: [ONE, S] }), f), [x], [0], O),
  { source: 'section 3.3, Fig. 25' },
)

const dimOf = (b: ReadonlyMap<string, { readonly value: unknown }>, name: string): Dim =>
  b.get(name)?.value as Dim

const numberOf = (b: ReadonlyMap<string, { readonly value: unknown }>, name: string): number =>
  b.get(name)?.value as number

/** The stride-1 convolution tensor followed by every s-th block. */
const strideOne = (input: Dim, kernel: Dim, stride: number, dilation: number): Term => {
  const cut = convTensor(input, kernel, { dilation })
  return seq(cut, broadcast(subsample(cut.cod[0]?.[0] as Dim, stride), [kernel], { at: 'last' }))
}

/**
 * Stride in eq. 4 scales the block index: `(⋆ s, d)[i, j, l] = 1 iff l = s i + d j`, so the
 * strided convolution tensor is the stride-1 one followed by every s-th block,
 * `convTensor(x, k, s, d) = convTensor(x, k, 1, d) ; bcast[k @last](subsample(conv(x, k, 1, d), s))`
 * (both give `[conv(x, k, s, d) k]`, eq. 5). One-way, for a stride above 1 and a kernel other than
 * the constant 1 (so that it does not apply to its own right side).
 */
export const stride = rule(
  'convolution/stride',
  P.convTensor(x, k, s, d),
  v.build('convTensor(?x, ?k, 1, ?d) ; bcast[?k](every ?s-th block)', (b) =>
    strideOne(dimOf(b, 'x'), dimOf(b, 'k'), numberOf(b, 's'), numberOf(b, 'd')),
  ),
  {
    source: 'eq. 4-5',
    oneWay: true,
    when: [
      holds('?s > 1 and ?k is not the constant 1', (b) => {
        const kk = dimOf(b, 'k')
        return numberOf(b, 's') > 1 && !(kk.kind === 'const' && kk.value === 1)
      }),
    ],
  },
)

/** The convolution laws, in catalogue order. */
export const convolutionRules: ReadonlyArray<Rule> = Object.freeze([
  kernelOne,
  kernelOneDilation,
  kernelOneBroadcast,
  stride,
])
