/**
 * The paper's example diagrams, each with an independent reference: a plain loop over indexes
 * written from the paper's definition, sharing no code with the evaluator. `ncd examples` (and so
 * `npm start`) builds each, prints it, evaluates it on seeded random inputs and compares.
 *
 * @packageDocumentation
 */
import { type Sizes, dim } from '../core/dim.js'
import { broadcast, copy, id, par, seq } from '../core/construct.js'
import { add, mean, mul, scaleBySize, sigmoid, sqrt, tanh } from '../core/primitives.js'
import type { Term } from '../core/term.js'
import { cup, einsum, unit } from '../linear/einsum.js'
import { convTensor, index } from '../linear/structural.js'
import { attention, multiHeadAttention } from '../models/attention.js'
import { conv2d, pool2d } from '../models/conv.js'
import { mlp } from '../models/mlp.js'
import { linearLayer } from '../linear/layer.js'
import { grad } from '../derive/vjp.js'
import { normalize } from '../derive/normal.js'

/** Inputs and parameters of an example, as given to the reference. */
export interface ExampleData {
  readonly inputs: ReadonlyArray<Float64Array>
  readonly params: Readonly<Record<string, Float64Array>>
}

/** One example diagram of the paper. */
export interface Example {
  /** Where the paper shows it. */
  readonly figure: string
  readonly title: string
  readonly term: Term
  readonly sizes: Sizes
  /** The outputs computed by plain loops from the paper's definition. */
  readonly reference: (data: ExampleData) => Float64Array[]
}

/** A token axis: a width (an amount of things), overlined in the drawings as in Fig. 22-23. */
const token = (name: string) => dim(name, { mark: 'width' })

const at = (a: ReadonlyArray<number> | Float64Array, i: number): number => a[i] as number

const matVec = (
  w: Float64Array,
  v: ReadonlyArray<number> | Float64Array,
  rows: number,
  cols: number,
) =>
  Float64Array.from({ length: rows }, (_, o) => {
    let s = 0
    for (let i = 0; i < cols; i++) s += at(w, o * cols + i) * at(v, i)
    return s
  })

const softmaxRow = (row: ReadonlyArray<number>): number[] => {
  const m = Math.max(...row)
  const e = row.map((v) => Math.exp(v - m))
  const s = e.reduce((a, b) => a + b, 0)
  return e.map((v) => v / s)
}

/** Attention by loops: `q [y k], kk [x k], v [x w]` -> `[y w]`. */
const attentionLoops = (
  q: (i: number, c: number) => number,
  kk: (j: number, c: number) => number,
  v: (j: number, c: number) => number,
  y: number,
  x: number,
  k: number,
  w: number,
): number[][] => {
  const out: number[][] = []
  for (let i = 0; i < y; i++) {
    const scores: number[] = []
    for (let j = 0; j < x; j++) {
      let s = 0
      for (let c = 0; c < k; c++) s += q(i, c) * kk(j, c)
      scores.push(s / Math.sqrt(k))
    }
    const p = softmaxRow(scores)
    const row: number[] = []
    for (let c = 0; c < w; c++) {
      let s = 0
      for (let j = 0; j < x; j++) s += (p[j] as number) * v(j, c)
      row.push(s)
    }
    out.push(row)
  }
  return out
}

const input = (d: ExampleData, n: number): Float64Array => d.inputs[n] as Float64Array
const weight = (d: ExampleData, name: string): Float64Array => d.params[name] as Float64Array

/** The examples, in the paper's order. */
export const examples = (): ReadonlyArray<Example> => [
  {
    figure: 'Fig. 10',
    title: 'an index extracts a row of a table, the other axis passing through',
    term: broadcast(index('a', 2), ['b'], { at: 'last' }),
    sizes: { a: 4, b: 3 },
    reference: (d) => [Float64Array.from({ length: 3 }, (_, j) => at(input(d, 0), 2 * 3 + j))],
  },
  {
    figure: 'Fig. 12',
    title: 'the norm of each row, broadcast over the rows',
    term: broadcast(seq(copy([['c']]), mul('c'), einsum('c -> '), sqrt()), ['r']),
    sizes: { r: 5, c: 3 },
    reference: (d) => [
      Float64Array.from({ length: 5 }, (_, r) => {
        let s = 0
        for (let c = 0; c < 3; c++) s += at(input(d, 0), r * 3 + c) ** 2
        return Math.sqrt(s)
      }),
    ],
  },
  {
    figure: 'Fig. 14',
    title: 'inner broadcasting: one vector added to every row',
    term: broadcast(add('k'), ['x'], { inputs: [0, 'shared'] }),
    sizes: { x: 4, k: 3 },
    reference: (d) => [
      Float64Array.from({ length: 12 }, (_, n) => at(input(d, 0), n) + at(input(d, 1), n % 3)),
    ],
  },
  {
    figure: 'Fig. 15',
    title: 'an element-wise operation: sigmoid over a whole shape',
    term: sigmoid('y k'),
    sizes: { y: 3, k: 4 },
    reference: (d) => [input(d, 0).map((v) => 1 / (1 + Math.exp(-v)))],
  },
  {
    figure: 'Fig. 18-19',
    title:
      'multi-head attention scores, stepwise (transpose, outer product, diagonal, inner product)',
    term: seq(
      par(id([['y', 'k', 'h']]), einsum('x k h -> k x h')),
      einsum('y k1 h, k2 x h -> y k1 k2 x h', { dims: { k1: 'k', k2: 'k' } }),
      einsum('y k k x h -> y x h'),
      scaleBySize('k', -0.5, 'y x h'),
    ),
    sizes: { y: 3, x: 4, k: 5, h: 2 },
    reference: (d) => {
      const [y, x, k, h] = [3, 4, 5, 2]
      const out = new Float64Array(y * x * h)
      for (let i = 0; i < y; i++)
        for (let j = 0; j < x; j++)
          for (let g = 0; g < h; g++) {
            let s = 0
            for (let c = 0; c < k; c++)
              s += at(input(d, 0), (i * k + c) * h + g) * at(input(d, 1), (j * k + c) * h + g)
            out[(i * x + j) * h + g] = s / Math.sqrt(k)
          }
      return [out]
    },
  },
  {
    figure: 'Fig. 20',
    title: 'the snake: a unit and an inner product give the identity',
    // The unit's R^1 is the entry of a [a] vector (broadcast), the cup bends the wire back.
    term: seq(broadcast(unit('a'), ['a']), broadcast(cup('a'), ['a'], { at: 'last' })),
    sizes: { a: 5 },
    reference: (d) => [Float64Array.from(input(d, 0))],
  },
  {
    figure: 'Fig. 20',
    title: 'the trace is the cup of a square table',
    term: cup('a'),
    sizes: { a: 4 },
    reference: (d) => [Float64Array.of([0, 5, 10, 15].reduce((s, n) => s + at(input(d, 0), n), 0))],
  },
  {
    figure: 'Eq. 4-5',
    title: 'the convolution tensor with stride 2 and dilation 2 (y = 4 by eq. 5)',
    term: convTensor('x', 'k', { stride: 2, dilation: 2 }),
    sizes: { x: 11, k: 3 },
    reference: (d) => {
      const [y, k] = [Math.floor((11 - 2 * (3 - 1) - 1) / 2 + 1), 3]
      return [
        Float64Array.from({ length: y * k }, (_, n) =>
          at(input(d, 0), 2 * Math.floor(n / k) + 2 * (n % k)),
        ),
      ]
    },
  },
  {
    figure: 'Fig. 25-26',
    title: 'a 2D convolution with stride 2, padding 1 and bias on a 7x6 image, 2 -> 3 channels',
    term: conv2d('C', {
      h: 'h',
      w: 'w',
      kh: 'kh',
      kw: 'kw',
      cIn: 'c',
      cOut: 'd',
      stride: [2, 2],
      padding: [
        [1, 1],
        [1, 1],
      ],
      bias: true,
    }),
    sizes: { h: 7, w: 6, kh: 3, kw: 3, c: 2, d: 3 },
    reference: (d) => {
      const [h, w, kh, kw, c, o, s, p] = [7, 6, 3, 3, 2, 3, 2, 1]
      const [yh, yw] = [Math.floor((h + 2 * p - kh) / s) + 1, Math.floor((w + 2 * p - kw) / s) + 1]
      const x = input(d, 0)
      const wt = weight(d, 'C.weight') // [d c kh kw], as PyTorch
      const out = new Float64Array(yh * yw * o)
      for (let i = 0; i < yh; i++)
        for (let j = 0; j < yw; j++)
          for (let q = 0; q < o; q++) {
            let acc = at(weight(d, 'C.bias'), q)
            for (let a = 0; a < kh; a++)
              for (let b = 0; b < kw; b++) {
                const [r, t] = [s * i + a - p, s * j + b - p]
                if (r < 0 || r >= h || t < 0 || t >= w) continue
                for (let e = 0; e < c; e++)
                  acc += at(x, (r * w + t) * c + e) * at(wt, ((q * c + e) * kh + a) * kw + b)
              }
            out[(i * yw + j) * o + q] = acc
          }
      return [out]
    },
  },
  {
    figure: 'Fig. 25',
    title: 'max pooling 2x2 with stride 2 on a 6x4 image with 2 channels',
    term: pool2d('max', { h: 'h', w: 'w', kh: 'kh', kw: 'kw', c: 'c', stride: [2, 2] }),
    sizes: { h: 6, w: 4, kh: 2, kw: 2, c: 2 },
    reference: (d) => {
      const [w, c, yh, yw] = [4, 2, 3, 2]
      const x = input(d, 0)
      return [
        Float64Array.from({ length: yh * yw * c }, (_, n) => {
          const [i, j, e] = [Math.floor(n / (yw * c)), Math.floor(n / c) % yw, n % c]
          let m = -Infinity
          for (let a = 0; a < 2; a++)
            for (let b = 0; b < 2; b++)
              m = Math.max(m, at(x, ((2 * i + a) * w + 2 * j + b) * c + e))
          return m
        }),
      ]
    },
  },
  {
    figure: 'Fig. 21',
    title: 'the MLP: flatten, linear layers with ReLU, SoftMax',
    term: mlp({ input: 'h w', hidden: ['n', 'n'], output: 'c' }),
    sizes: { h: 4, w: 4, n: 8, c: 3 },
    reference: (d) => {
      let v: ArrayLike<number> = input(d, 0)
      const layers: Array<[string, number, number]> = [
        ['L1', 16, 8],
        ['L2', 8, 8],
        ['L3', 8, 3],
      ]
      layers.forEach(([name, n, m], l) => {
        const z = matVec(weight(d, `${name}.weight`), Array.from(v), m, n).map(
          (s, o) => s + at(weight(d, `${name}.bias`), o),
        )
        v = l < 2 ? z.map((s) => Math.max(s, 0)) : z
      })
      return [Float64Array.from(softmaxRow(Array.from(v)))]
    },
  },
  {
    figure: 'Fig. 22',
    title: 'scaled dot-product attention',
    term: attention({ y: token('y'), x: token('x'), k: 'k', v: 'v' }),
    sizes: { y: 3, x: 5, k: 4, v: 2 },
    reference: (d) => {
      const [q, kk, v] = [input(d, 0), input(d, 1), input(d, 2)]
      const rows = attentionLoops(
        (i, c) => at(q, i * 4 + c),
        (j, c) => at(kk, j * 4 + c),
        (j, c) => at(v, j * 2 + c),
        3,
        5,
        4,
        2,
      )
      return [Float64Array.from(rows.flat())]
    },
  },
  {
    figure: 'Fig. 23',
    title: 'multi-head attention',
    term: multiHeadAttention({ y: token('y'), x: token('x'), m: 'm', k: 'k', h: 'h' }),
    sizes: { y: 3, x: 4, m: 6, k: 2, h: 3 },
    reference: (d) => {
      const [y, x, m, k, h] = [3, 4, 6, 2, 3]
      // Project each token: W [k h m] applied to [m] gives [k h].
      const project = (w: Float64Array, src: Float64Array, tokens: number) =>
        Array.from({ length: tokens }, (_, t) =>
          matVec(w, src.subarray(t * m, t * m + m), k * h, m),
        )
      const q = project(weight(d, 'Q.weight'), input(d, 0), y)
      const kk = project(weight(d, 'K.weight'), input(d, 1), x)
      const v = project(weight(d, 'V.weight'), input(d, 2), x)
      const heads = Array.from({ length: h }, (_, g) =>
        attentionLoops(
          (i, c) => at(q[i] as Float64Array, c * h + g),
          (j, c) => at(kk[j] as Float64Array, c * h + g),
          (j, c) => at(v[j] as Float64Array, c * h + g),
          y,
          x,
          k,
          k,
        ),
      )
      const o = weight(d, 'O.weight')
      const out = new Float64Array(y * m)
      for (let i = 0; i < y; i++)
        for (let r = 0; r < m; r++) {
          let s = 0
          for (let c = 0; c < k; c++)
            for (let g = 0; g < h; g++)
              s += at(o, (r * k + c) * h + g) * at((heads[g] as number[][])[i] as number[], c)
          out[i * m + r] = s
        }
      return [out]
    },
  },
  {
    figure: 'Fig. 33-37',
    title: 'backpropagation derived: the gradient of L(W) ; tanh ; mean for the input and for W',
    // In normal form, where the forward values the derivation recomputes are shared.
    term: normalize(
      grad(seq(linearLayer('W', 'a', 'b'), tanh('b'), mean('b')), { params: ['W.weight'] }),
    ),
    sizes: { a: 5, b: 3 },
    reference: (d) => {
      // Hand-written backpropagation: z = W x, loss = mean(tanh z), dz = (1 - tanh² z) / b,
      // dx = Wᵀ dz, dW = dz xᵀ.
      const [a, b] = [5, 3]
      const x = input(d, 0)
      const w = weight(d, 'W.weight')
      const z = matVec(w, Array.from(x), b, a)
      const dz = z.map((v) => (1 - Math.tanh(v) ** 2) / b)
      const dx = Float64Array.from({ length: a }, (_, i) =>
        dz.reduce((s, g, j) => s + at(w, j * a + i) * g, 0),
      )
      const dw = Float64Array.from({ length: b * a }, (_, k) => {
        const j = Math.floor(k / a)
        return (dz[j] as number) * at(x, k % a)
      })
      return [dx, dw]
    },
  },
]
