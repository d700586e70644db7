/**
 * Convolution, pooling, transposed convolution and softmax (paper section 3.3, Fig. 24-26)
 * against TensorFlow.js on its pure-JS CPU backend, an implementation written independently of
 * ours. TensorFlow computes in float32: both sides get the same float32-representable inputs and
 * parameters, and agree to 1e-4 (relative, with an absolute floor). Output sizes are checked
 * against TensorFlow's output shapes (eq. 5).
 *
 * TensorFlow refuses stride > 1 together with dilation > 1; those combinations are compared with
 * the dilated stride-1 result subsampled by `tf.stridedSlice`, and once with a hand-written loop.
 */
import * as tf from '@tensorflow/tfjs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { useTensorFlowCpu } from './tf-setup.js'
import {
  type Sizes,
  type Term,
  TermError,
  broadcast,
  conv1d,
  conv2d,
  convTensor,
  convTensorTranspose,
  convTensorTransposeBySnake,
  convTranspose1d,
  convTranspose2d,
  dimSize,
  evaluate,
  pool1d,
  pool2d,
  randomParams,
  seededRandom,
  softmax,
} from '../src/index.js'

useTensorFlowCpu()

const RUNS = { numRuns: 20 }
const TOLERANCE = 1e-4

/** n float32-representable entries in [-1, 1). */
const randomF32 = (n: number, seed: number): Float64Array => {
  const next = seededRandom(seed)
  return Float64Array.from({ length: n }, () => Math.fround(2 * next() - 1))
}

/** The term's parameters, rounded to float32 so that TensorFlow sees the same numbers. */
const paramsF32 = (t: Term, sizes: Sizes, seed: number): Record<string, Float64Array> =>
  Object.fromEntries(
    Object.entries(randomParams(t, sizes, seed)).map(([k, v]) => [k, v.map(Math.fround)]),
  )

const param = (ps: Record<string, Float64Array>, name: string): Float64Array => {
  const p = ps[name]
  if (p === undefined) throw new Error(`no parameter ${name}`)
  return p
}

const f32 = (a: Float64Array): Float32Array => Float32Array.from(a)

/** Run a TensorFlow computation, read its result and free its memory. */
const fromTf = (f: () => tf.Tensor): { readonly data: Float32Array; readonly shape: number[] } => {
  const t = tf.tidy(f)
  const out = { data: t.dataSync() as Float32Array, shape: t.shape }
  t.dispose()
  return out
}

const worstError = (ours: ArrayLike<number>, theirs: ArrayLike<number>): number => {
  let worst = 0
  for (let i = 0; i < theirs.length; i++) {
    const a = ours[i] as number
    const b = theirs[i] as number
    worst = Math.max(worst, Math.abs(a - b) / (1 + Math.abs(b)))
  }
  return worst
}

const expectClose = (ours: ArrayLike<number>, theirs: ArrayLike<number>, what: string): void => {
  expect(ours.length, `${what}: length`).toBe(theirs.length)
  expect(worstError(ours, theirs), what).toBeLessThan(TOLERANCE)
}

/** The concrete extents of the first codomain (or domain) segment of a term. */
const extents = (t: Term, sizes: Sizes, side: 'cod' | 'dom' = 'cod'): number[] =>
  (t[side][0] ?? []).map((d) => dimSize(d, sizes))

const eq5 = (x: number, k: number, s: number, d: number): number =>
  Math.floor((x - d * (k - 1) - 1) / s + 1)

/** `f` at stride `s` when TensorFlow only allows stride 1 with dilation: subsample its output. */
const subsample = (full: tf.Tensor, strides: ReadonlyArray<number>): tf.Tensor =>
  tf.stridedSlice(
    full,
    full.shape.map(() => 0),
    full.shape,
    [...strides],
  )

const nonUnit = (xs: ReadonlyArray<number>): boolean => xs.some((v) => v !== 1)

// ---------------------------------------------------------------------------------------------
// 1D convolution

interface Conv1dCase {
  readonly x: number
  readonly k: number
  readonly s: number
  readonly d: number
  readonly before: number
  readonly after: number
  readonly cIn: number
  readonly cOut: number
  readonly bias: boolean
  readonly seed: number
}

/** Sizes where the kernel fits the padded input: x + before + after >= d (k - 1) + 1. */
const conv1dCase: fc.Arbitrary<Conv1dCase> = fc
  .record({
    k: fc.integer({ min: 1, max: 4 }),
    s: fc.integer({ min: 1, max: 3 }),
    d: fc.integer({ min: 1, max: 3 }),
    before: fc.integer({ min: 0, max: 2 }),
    after: fc.integer({ min: 0, max: 2 }),
    cIn: fc.integer({ min: 1, max: 3 }),
    cOut: fc.integer({ min: 1, max: 3 }),
    extra: fc.integer({ min: 0, max: 6 }),
    bias: fc.boolean(),
    seed: fc.integer({ min: 0, max: 2 ** 30 }),
  })
  .map(({ extra, ...c }) => ({
    ...c,
    x: Math.max(1, c.d * (c.k - 1) + 1 - c.before - c.after + extra),
  }))

const checkConv1d = (c: Conv1dCase): void => {
  const term = conv1d('C', {
    x: 'x',
    k: 'k',
    cIn: 'ci',
    cOut: 'co',
    stride: c.s,
    dilation: c.d,
    padding: [c.before, c.after],
    bias: c.bias,
  })
  const sizes = { x: c.x, k: c.k, ci: c.cIn, co: c.cOut }
  const input = randomF32(c.x * c.cIn, c.seed)
  const ps = paramsF32(term, sizes, c.seed + 1)
  const [ours] = evaluate(term, sizes, [input], ps)
  const theirs = fromTf(() => {
    const x = tf.pad(tf.tensor3d(f32(input), [1, c.x, c.cIn]), [
      [0, 0],
      [c.before, c.after],
      [0, 0],
    ])
    // Ours [cOut cIn k] (PyTorch), TensorFlow's [k cIn cOut].
    const filter = tf.transpose(
      tf.tensor3d(f32(param(ps, 'C.weight')), [c.cOut, c.cIn, c.k]),
      [2, 1, 0],
    ) as tf.Tensor3D
    const y =
      c.s > 1 && c.d > 1
        ? subsample(tf.conv1d(x, filter, 1, 'valid', 'NWC', c.d), [1, c.s, 1])
        : tf.conv1d(x, filter, c.s, 'valid', 'NWC', c.d)
    return c.bias ? tf.add(y, tf.tensor1d(f32(param(ps, 'C.bias')))) : y
  })
  const y = eq5(c.x + c.before + c.after, c.k, c.s, c.d)
  expect(theirs.shape).toEqual([1, y, c.cOut])
  expect(extents(term, sizes)).toEqual([y, c.cOut])
  expectClose(ours as Float64Array, theirs.data, JSON.stringify(c))
}

describe('conv1d against tf.conv1d', () => {
  const base = { before: 0, after: 0, cIn: 2, cOut: 3, bias: false, seed: 5 }
  it.each([
    { ...base, x: 10, k: 3, s: 1, d: 1 },
    { ...base, x: 10, k: 3, s: 2, d: 1 },
    { ...base, x: 11, k: 3, s: 3, d: 1, bias: true },
    { ...base, x: 12, k: 3, s: 1, d: 2 },
    { ...base, x: 9, k: 4, s: 1, d: 1, before: 1, after: 2, bias: true },
    { ...base, x: 8, k: 3, s: 2, d: 2, before: 2, after: 1 },
    { ...base, x: 5, k: 1, s: 1, d: 1, cIn: 1, cOut: 1 },
    { ...base, x: 1, k: 3, s: 1, d: 1, before: 1, after: 1 },
  ])('x $x k $k stride $s dilation $d padding $before,$after bias $bias', (c) => checkConv1d(c))

  it('on random sizes, strides, dilations, paddings, channels and biases', () => {
    fc.assert(fc.property(conv1dCase, checkConv1d), RUNS)
  })
})

// ---------------------------------------------------------------------------------------------
// 2D convolution

interface Conv2dCase {
  readonly h: number
  readonly w: number
  readonly kh: number
  readonly kw: number
  readonly stride: [number, number]
  readonly dilation: [number, number]
  readonly padding: [[number, number], [number, number]]
  readonly cIn: number
  readonly cOut: number
  readonly bias: boolean
  readonly seed: number
}

const axisCase = fc
  .record({
    k: fc.integer({ min: 1, max: 3 }),
    s: fc.integer({ min: 1, max: 3 }),
    d: fc.integer({ min: 1, max: 2 }),
    before: fc.integer({ min: 0, max: 1 }),
    after: fc.integer({ min: 0, max: 2 }),
    extra: fc.integer({ min: 0, max: 4 }),
  })
  .map((a) => ({ ...a, n: Math.max(1, a.d * (a.k - 1) + 1 - a.before - a.after + a.extra) }))

const conv2dCase: fc.Arbitrary<Conv2dCase> = fc
  .record({
    hAxis: axisCase,
    wAxis: axisCase,
    cIn: fc.integer({ min: 1, max: 3 }),
    cOut: fc.integer({ min: 1, max: 3 }),
    bias: fc.boolean(),
    seed: fc.integer({ min: 0, max: 2 ** 30 }),
  })
  .map(({ hAxis: a, wAxis: b, ...rest }) => ({
    ...rest,
    h: a.n,
    w: b.n,
    kh: a.k,
    kw: b.k,
    stride: [a.s, b.s],
    dilation: [a.d, b.d],
    padding: [
      [a.before, a.after],
      [b.before, b.after],
    ],
  }))

const conv2dTerm = (c: Conv2dCase): Term =>
  conv2d('C', {
    h: 'h',
    w: 'w',
    kh: 'p',
    kw: 'q',
    cIn: 'ci',
    cOut: 'co',
    stride: c.stride,
    dilation: c.dilation,
    padding: c.padding,
    bias: c.bias,
  })

const conv2dSizes = (c: Conv2dCase): Sizes => ({
  h: c.h,
  w: c.w,
  p: c.kh,
  q: c.kw,
  ci: c.cIn,
  co: c.cOut,
})

/** TensorFlow's conv2d with explicit padding; ours weight [cOut cIn kh kw] to [kh kw cIn cOut]. */
const tfConv2d = (
  c: Conv2dCase,
  input: Float64Array,
  ps: Record<string, Float64Array>,
): ReturnType<typeof fromTf> =>
  fromTf(() => {
    const x = tf.tensor4d(f32(input), [1, c.h, c.w, c.cIn])
    const filter = tf.transpose(
      tf.tensor4d(f32(param(ps, 'C.weight')), [c.cOut, c.cIn, c.kh, c.kw]),
      [2, 3, 1, 0],
    ) as tf.Tensor4D
    const pad: [[0, 0], [number, number], [number, number], [0, 0]] = [
      [0, 0],
      c.padding[0],
      c.padding[1],
      [0, 0],
    ]
    const y =
      nonUnit(c.stride) && nonUnit(c.dilation)
        ? subsample(tf.conv2d(x, filter, 1, pad, 'NHWC', c.dilation), [1, ...c.stride, 1])
        : tf.conv2d(x, filter, c.stride, pad, 'NHWC', c.dilation)
    return c.bias ? tf.add(y, tf.tensor1d(f32(param(ps, 'C.bias')))) : y
  })

const checkConv2d = (c: Conv2dCase): void => {
  const term = conv2dTerm(c)
  const sizes = conv2dSizes(c)
  const input = randomF32(c.h * c.w * c.cIn, c.seed)
  const ps = paramsF32(term, sizes, c.seed + 1)
  const [ours] = evaluate(term, sizes, [input], ps)
  const theirs = tfConv2d(c, input, ps)
  const yh = eq5(c.h + c.padding[0][0] + c.padding[0][1], c.kh, c.stride[0], c.dilation[0])
  const yw = eq5(c.w + c.padding[1][0] + c.padding[1][1], c.kw, c.stride[1], c.dilation[1])
  expect(theirs.shape).toEqual([1, yh, yw, c.cOut])
  expect(extents(term, sizes)).toEqual([yh, yw, c.cOut])
  expectClose(ours as Float64Array, theirs.data, JSON.stringify(c))
}

/** The definition, written out: out[a, b, o] = Σ in′[sh a + dh p, sw b + dw q, c] W[o, c, p, q]. */
const conv2dLoop = (
  c: Conv2dCase,
  input: Float64Array,
  weight: Float64Array,
): { data: number[]; yh: number; yw: number } => {
  const [[top, bottom], [left, right]] = c.padding
  const H = c.h + top + bottom
  const W = c.w + left + right
  const at = (i: number, j: number, ch: number): number => {
    const r = i - top
    const col = j - left
    return r < 0 || r >= c.h || col < 0 || col >= c.w
      ? 0
      : (input[(r * c.w + col) * c.cIn + ch] as number)
  }
  const yh = eq5(H, c.kh, c.stride[0], c.dilation[0])
  const yw = eq5(W, c.kw, c.stride[1], c.dilation[1])
  const data: number[] = []
  for (let a = 0; a < yh; a++)
    for (let b = 0; b < yw; b++)
      for (let o = 0; o < c.cOut; o++) {
        let sum = 0
        for (let ch = 0; ch < c.cIn; ch++)
          for (let p = 0; p < c.kh; p++)
            for (let q = 0; q < c.kw; q++)
              sum +=
                at(c.stride[0] * a + c.dilation[0] * p, c.stride[1] * b + c.dilation[1] * q, ch) *
                (weight[((o * c.cIn + ch) * c.kh + p) * c.kw + q] as number)
        data.push(sum)
      }
  return { data, yh, yw }
}

describe('conv2d against tf.conv2d', () => {
  const base: Conv2dCase = {
    h: 7,
    w: 6,
    kh: 3,
    kw: 2,
    stride: [1, 1],
    dilation: [1, 1],
    padding: [
      [0, 0],
      [0, 0],
    ],
    cIn: 2,
    cOut: 3,
    bias: false,
    seed: 11,
  }
  it.each<Conv2dCase>([
    base,
    { ...base, stride: [2, 1], bias: true },
    { ...base, stride: [2, 3] },
    { ...base, h: 9, w: 9, dilation: [2, 2] },
    { ...base, dilation: [1, 2] },
    {
      ...base,
      stride: [2, 2],
      padding: [
        [1, 1],
        [0, 2],
      ],
      bias: true,
    },
  ])('stride $stride dilation $dilation padding $padding bias $bias', (c) => checkConv2d(c))

  it('stride and dilation together (refused by TensorFlow) agree with the loop of the definition', () => {
    const c: Conv2dCase = {
      ...base,
      h: 11,
      w: 10,
      stride: [2, 3],
      dilation: [2, 2],
      padding: [
        [1, 0],
        [0, 1],
      ],
    }
    const term = conv2dTerm(c)
    const sizes = conv2dSizes(c)
    const input = randomF32(c.h * c.w * c.cIn, 3)
    const ps = paramsF32(term, sizes, 4)
    const [ours] = evaluate(term, sizes, [input], ps)
    const loop = conv2dLoop(c, input, param(ps, 'C.weight'))
    expect(extents(term, sizes)).toEqual([loop.yh, loop.yw, c.cOut])
    expect(worstError(ours as Float64Array, loop.data)).toBeLessThan(1e-12)
    // And TensorFlow's dilated convolution, subsampled, agrees with both.
    checkConv2d(c)
  })

  it('on random sizes, strides, dilations, paddings, channels and biases', () => {
    fc.assert(fc.property(conv2dCase, checkConv2d), RUNS)
  })
})

// ---------------------------------------------------------------------------------------------
// Pooling

interface Pool2dCase {
  readonly kind: 'max' | 'mean'
  readonly h: number
  readonly w: number
  readonly kh: number
  readonly kw: number
  readonly stride: [number, number]
  readonly dilation: [number, number]
  readonly padding: [[number, number], [number, number]]
  readonly c: number
  readonly seed: number
}

/** TensorFlow's pooling: 'valid' after explicit zero padding (which then counts in the mean). */
const tfPool = (
  c: Pool2dCase,
  input: Float64Array,
  shape: [number, number, number, number],
): ReturnType<typeof fromTf> =>
  fromTf(() => {
    const x = tf.pad(tf.tensor4d(f32(input), shape), [
      [0, 0],
      c.padding[0],
      c.padding[1],
      [0, 0],
    ]) as tf.Tensor4D
    const window: [number, number] = [c.kh, c.kw]
    if (nonUnit(c.dilation)) {
      const full = tf.pool(x, window, c.kind === 'max' ? 'max' : 'avg', 'valid', c.dilation, 1)
      return subsample(full, [1, ...c.stride, 1])
    }
    return c.kind === 'max'
      ? tf.maxPool(x, window, c.stride, 'valid')
      : tf.avgPool(x, window, c.stride, 'valid')
  })

const checkPool2d = (c: Pool2dCase): void => {
  const term = pool2d(c.kind, {
    h: 'h',
    w: 'w',
    kh: 'p',
    kw: 'q',
    c: 'c',
    stride: c.stride,
    dilation: c.dilation,
    padding: c.padding,
  })
  const sizes = { h: c.h, w: c.w, p: c.kh, q: c.kw, c: c.c }
  const input = randomF32(c.h * c.w * c.c, c.seed)
  const [ours] = evaluate(term, sizes, [input])
  const theirs = tfPool(c, input, [1, c.h, c.w, c.c])
  const yh = eq5(c.h + c.padding[0][0] + c.padding[0][1], c.kh, c.stride[0], c.dilation[0])
  const yw = eq5(c.w + c.padding[1][0] + c.padding[1][1], c.kw, c.stride[1], c.dilation[1])
  expect(theirs.shape).toEqual([1, yh, yw, c.c])
  expect(extents(term, sizes)).toEqual([yh, yw, c.c])
  expectClose(ours as Float64Array, theirs.data, JSON.stringify(c))
}

const pool2dCase: fc.Arbitrary<Pool2dCase> = fc
  .record({
    kind: fc.constantFrom('max' as const, 'mean' as const),
    hAxis: axisCase,
    wAxis: axisCase,
    c: fc.integer({ min: 1, max: 3 }),
    seed: fc.integer({ min: 0, max: 2 ** 30 }),
  })
  .map(({ hAxis: a, wAxis: b, ...rest }) => {
    const pads = rest.kind === 'mean'
    return {
      ...rest,
      h: Math.max(a.n, pads ? 1 : a.d * (a.k - 1) + 1),
      w: Math.max(b.n, pads ? 1 : b.d * (b.k - 1) + 1),
      kh: a.k,
      kw: b.k,
      stride: [a.s, b.s],
      dilation: [a.d, b.d],
      padding: pads
        ? [
            [a.before, a.after],
            [b.before, b.after],
          ]
        : [
            [0, 0],
            [0, 0],
          ],
    }
  })

describe('pool2d against tf.maxPool, tf.avgPool and tf.pool', () => {
  const none: [[number, number], [number, number]] = [
    [0, 0],
    [0, 0],
  ]
  const base: Pool2dCase = {
    kind: 'max',
    h: 8,
    w: 7,
    kh: 2,
    kw: 3,
    stride: [2, 2],
    dilation: [1, 1],
    padding: none,
    c: 3,
    seed: 2,
  }
  it.each<Pool2dCase>([
    base,
    { ...base, kind: 'mean' },
    { ...base, stride: [1, 1] },
    { ...base, kind: 'mean', stride: [3, 1] },
    { ...base, stride: [1, 1], dilation: [2, 2] },
    { ...base, kind: 'mean', stride: [1, 1], dilation: [2, 1] },
    { ...base, kind: 'max', stride: [2, 1], dilation: [2, 2] },
    {
      ...base,
      kind: 'mean',
      padding: [
        [1, 1],
        [0, 1],
      ],
    },
  ])('$kind pooling, stride $stride dilation $dilation padding $padding', (c) => checkPool2d(c))

  it('on random sizes, strides, dilations, (mean) paddings and channels', () => {
    fc.assert(fc.property(pool2dCase, checkPool2d), RUNS)
  })

  it('max pooling refuses zero padding, which would let 0 beat negative entries', () => {
    const refuse = () =>
      pool2d('max', {
        h: 'h',
        w: 'w',
        kh: 'p',
        kw: 'q',
        c: 'c',
        padding: [
          [1, 1],
          [0, 0],
        ],
      })
    expect(refuse).toThrow(TermError)
    expect(refuse).toThrow(/max pooling does not take padding/)
    expect(() => pool1d('max', { x: 'x', k: 'k', c: 'c', padding: [0, 1] })).toThrow(TermError)
  })
})

describe('pool1d against TensorFlow pooling of a 1-row image', () => {
  const check = (
    kind: 'max' | 'mean',
    x: number,
    k: number,
    s: number,
    d: number,
    padding: [number, number],
    c: number,
    seed: number,
  ): void => {
    const term = pool1d(kind, { x: 'x', k: 'k', c: 'c', stride: s, dilation: d, padding })
    const sizes = { x, k, c }
    const input = randomF32(x * c, seed)
    const [ours] = evaluate(term, sizes, [input])
    const theirs = tfPool(
      {
        kind,
        h: 1,
        w: x,
        kh: 1,
        kw: k,
        stride: [1, s],
        dilation: [1, d],
        padding: [[0, 0], padding],
        c,
        seed,
      },
      input,
      [1, 1, x, c],
    )
    const y = eq5(x + padding[0] + padding[1], k, s, d)
    expect(theirs.shape).toEqual([1, 1, y, c])
    expect(extents(term, sizes)).toEqual([y, c])
    expectClose(ours as Float64Array, theirs.data, JSON.stringify({ kind, x, k, s, d, padding }))
  }

  it.each([
    ['max', 9, 3, 1, 1, [0, 0]],
    ['max', 9, 3, 3, 1, [0, 0]],
    ['mean', 10, 2, 2, 1, [0, 0]],
    ['max', 10, 3, 1, 2, [0, 0]],
    ['mean', 10, 3, 2, 2, [0, 0]],
    ['mean', 7, 3, 2, 1, [1, 2]],
  ] as const)('%s pooling x %i k %i stride %i dilation %i padding %j', (kind, x, k, s, d, p) =>
    check(kind, x, k, s, d, [...p], 2, 9),
  )

  it('on random sizes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('max' as const, 'mean' as const),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        (kind, k, s, d, extra, c, seed) =>
          check(kind, d * (k - 1) + 1 + extra, k, s, d, [0, 0], c, seed),
      ),
      RUNS,
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Transposed convolution

interface ConvT1dCase {
  /** The output length; the input has conv(x, k, s, d) positions. */
  readonly x: number
  readonly k: number
  readonly s: number
  readonly d: number
  readonly cIn: number
  readonly cOut: number
  readonly bias: boolean
  readonly seed: number
}

const convT1dCase: fc.Arbitrary<ConvT1dCase> = fc
  .record({
    k: fc.integer({ min: 1, max: 4 }),
    s: fc.integer({ min: 1, max: 3 }),
    d: fc.integer({ min: 1, max: 2 }),
    extra: fc.integer({ min: 0, max: 6 }),
    cIn: fc.integer({ min: 1, max: 3 }),
    cOut: fc.integer({ min: 1, max: 3 }),
    bias: fc.boolean(),
    seed: fc.integer({ min: 0, max: 2 ** 30 }),
  })
  .map(({ extra, ...c }) => ({ ...c, x: c.d * (c.k - 1) + 1 + extra }))

/**
 * Our transposed-convolution weight `[cIn cOut kh kw]` (PyTorch) as TensorFlow's
 * `conv2dTranspose` filter `[kh′ kw′ cOut cIn]`, dilated by hand: a dilated kernel is the
 * undilated kernel of size `d (k - 1) + 1` with zeros between its taps (TensorFlow's
 * conv2dTranspose has no dilation, and its conv2d gradient refuses dilation).
 */
const dilatedFilter = (
  weight: Float64Array,
  [cIn, cOut, kh, kw]: readonly [number, number, number, number],
  [dh, dw]: readonly [number, number],
): tf.Tensor4D => {
  const KH = dh * (kh - 1) + 1
  const KW = dw * (kw - 1) + 1
  const out = new Float32Array(KH * KW * cOut * cIn)
  for (let c = 0; c < cIn; c++)
    for (let o = 0; o < cOut; o++)
      for (let p = 0; p < kh; p++)
        for (let q = 0; q < kw; q++)
          out[((dh * p * KW + dw * q) * cOut + o) * cIn + c] = weight[
            ((c * cOut + o) * kh + p) * kw + q
          ] as number
  return tf.tensor4d(out, [KH, KW, cOut, cIn])
}

/**
 * The transposed convolution as the gradient of the convolution with respect to its input,
 * `∂/∂z Σ g · conv(z, F)`: a second TensorFlow route (undilated: its conv2d gradient refuses
 * dilation).
 */
const convVjp = (
  z: [number, number, number, number],
  g: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: [number, number],
): tf.Tensor =>
  tf.grad((v: tf.Tensor) =>
    tf.sum(tf.mul(tf.conv2d(v as tf.Tensor4D, filter, strides, 'valid'), g)),
  )(tf.zeros(z))

const checkConvT1d = (c: ConvT1dCase): void => {
  const term = convTranspose1d('T', {
    x: 'x',
    k: 'k',
    cIn: 'ci',
    cOut: 'co',
    stride: c.s,
    dilation: c.d,
    bias: c.bias,
  })
  const sizes = { x: c.x, k: c.k, ci: c.cIn, co: c.cOut }
  const y = eq5(c.x, c.k, c.s, c.d)
  expect(extents(term, sizes, 'dom')).toEqual([y, c.cIn])
  expect(extents(term, sizes)).toEqual([c.x, c.cOut])
  const input = randomF32(y * c.cIn, c.seed)
  const ps = paramsF32(term, sizes, c.seed + 1)
  const [ours] = evaluate(term, sizes, [input], ps)
  const what = JSON.stringify(c)
  // Ours [cIn cOut k] (PyTorch) as TensorFlow's conv2dTranspose filter [1 k′ cOut cIn].
  const filter = () => dilatedFilter(param(ps, 'T.weight'), [c.cIn, c.cOut, 1, c.k], [1, c.d])
  const g = () => tf.tensor4d(f32(input), [1, 1, y, c.cIn])
  const withBias = (t: tf.Tensor) => (c.bias ? tf.add(t, tf.tensor1d(f32(param(ps, 'T.bias')))) : t)
  const theirs = fromTf(() =>
    withBias(tf.conv2dTranspose(g(), filter(), [1, 1, c.x, c.cOut], [1, c.s], 'valid')),
  )
  expect(theirs.shape).toEqual([1, 1, c.x, c.cOut])
  expectClose(ours as Float64Array, theirs.data, `conv2dTranspose ${what}`)
  if (c.d === 1) {
    const viaGrad = fromTf(() => withBias(convVjp([1, 1, c.x, c.cOut], g(), filter(), [1, c.s])))
    expectClose(ours as Float64Array, viaGrad.data, `grad of conv2d ${what}`)
  }
}

describe('convTranspose1d against tf.conv2dTranspose and the gradient of tf.conv2d', () => {
  const base = { cIn: 2, cOut: 3, bias: false, seed: 21 }
  it.each<ConvT1dCase>([
    // x = (y - 1) s + d (k - 1) + 1: the size TensorFlow and PyTorch produce by default.
    { ...base, x: 6, k: 3, s: 1, d: 1 },
    { ...base, x: 9, k: 3, s: 2, d: 1, bias: true },
    { ...base, x: 10, k: 4, s: 3, d: 1 },
    { ...base, x: 7, k: 2, s: 2, d: 1 },
    // Up to s - 1 more: trailing positions no block reaches (TensorFlow's outputShape).
    { ...base, x: 10, k: 3, s: 2, d: 1 },
    { ...base, x: 9, k: 3, s: 1, d: 2 },
    { ...base, x: 11, k: 3, s: 2, d: 2, bias: true },
  ])('x $x k $k stride $s dilation $d bias $bias', (c) => checkConvT1d(c))

  it('the default output size is (y - 1) s + d (k - 1) + 1', () => {
    for (const [yIn, k, s, d] of [
      [4, 3, 2, 1],
      [5, 2, 3, 1],
      [3, 3, 1, 2],
      [4, 2, 2, 3],
    ] as const) {
      const x = (yIn - 1) * s + d * (k - 1) + 1
      const term = convTranspose1d('T', {
        x: 'x',
        k: 'k',
        cIn: 'c',
        cOut: 'c',
        stride: s,
        dilation: d,
      })
      expect(extents(term, { x, k, c: 1 }, 'dom')).toEqual([yIn, 1])
    }
  })

  it('on random sizes, strides, dilations, channels and biases', () => {
    fc.assert(fc.property(convT1dCase, checkConvT1d), RUNS)
  })

  it('convTensorTranspose is the adjoint of convTensor: <C v, u> = <v, Cᵀ u>', () => {
    fc.assert(
      fc.property(convT1dCase, (c) => {
        const sizes = { x: c.x, k: c.k }
        const C = convTensor('x', 'k', { stride: c.s, dilation: c.d })
        const T = convTensorTranspose('x', 'k', { stride: c.s, dilation: c.d })
        const y = eq5(c.x, c.k, c.s, c.d)
        const v = randomF32(c.x, c.seed)
        const u = randomF32(y * c.k, c.seed + 1)
        const [cv] = evaluate(C, sizes, [v]) as [Float64Array]
        const [tu] = evaluate(T, sizes, [u]) as [Float64Array]
        const left = cv.reduce((s, a, i) => s + a * (u[i] as number), 0)
        const right = tu.reduce((s, a, i) => s + a * (v[i] as number), 0)
        expect(Math.abs(left - right)).toBeLessThan(1e-12)
        expect(T.linearity).toBe('linear')
        // The unit-and-cup construction of Fig. 20 gives the same map as the direct kernel.
        const S = convTensorTransposeBySnake('x', 'k', { stride: c.s, dilation: c.d })
        const [su] = evaluate(S, sizes, [u]) as [Float64Array]
        su.forEach((a, i) => expect(Math.abs(a - (tu[i] as number))).toBeLessThan(1e-12))
      }),
      RUNS,
    )
  })
})

interface ConvT2dCase {
  readonly h: number
  readonly w: number
  readonly kh: number
  readonly kw: number
  readonly stride: [number, number]
  readonly dilation: [number, number]
  readonly cIn: number
  readonly cOut: number
  readonly bias: boolean
  readonly seed: number
}

const checkConvT2d = (c: ConvT2dCase): void => {
  const term = convTranspose2d('T', {
    h: 'h',
    w: 'w',
    kh: 'p',
    kw: 'q',
    cIn: 'ci',
    cOut: 'co',
    stride: c.stride,
    dilation: c.dilation,
    bias: c.bias,
  })
  const sizes = { h: c.h, w: c.w, p: c.kh, q: c.kw, ci: c.cIn, co: c.cOut }
  const yh = eq5(c.h, c.kh, c.stride[0], c.dilation[0])
  const yw = eq5(c.w, c.kw, c.stride[1], c.dilation[1])
  expect(extents(term, sizes, 'dom')).toEqual([yh, yw, c.cIn])
  expect(extents(term, sizes)).toEqual([c.h, c.w, c.cOut])
  const input = randomF32(yh * yw * c.cIn, c.seed)
  const ps = paramsF32(term, sizes, c.seed + 1)
  const [ours] = evaluate(term, sizes, [input], ps)
  const what = JSON.stringify(c)
  // Ours [cIn cOut kh kw] (PyTorch) as TensorFlow's [kh′ kw′ cOut cIn].
  const filter = () => dilatedFilter(param(ps, 'T.weight'), [c.cIn, c.cOut, c.kh, c.kw], c.dilation)
  const g = () => tf.tensor4d(f32(input), [1, yh, yw, c.cIn])
  const withBias = (t: tf.Tensor) => (c.bias ? tf.add(t, tf.tensor1d(f32(param(ps, 'T.bias')))) : t)
  const theirs = fromTf(() =>
    withBias(tf.conv2dTranspose(g(), filter(), [1, c.h, c.w, c.cOut], c.stride, 'valid')),
  )
  expect(theirs.shape).toEqual([1, c.h, c.w, c.cOut])
  expectClose(ours as Float64Array, theirs.data, `conv2dTranspose ${what}`)
  if (!nonUnit(c.dilation)) {
    const viaGrad = fromTf(() => withBias(convVjp([1, c.h, c.w, c.cOut], g(), filter(), c.stride)))
    expectClose(ours as Float64Array, viaGrad.data, `grad of conv2d ${what}`)
  }
}

const convT2dCase: fc.Arbitrary<ConvT2dCase> = fc
  .record({
    hAxis: axisCase,
    wAxis: axisCase,
    cIn: fc.integer({ min: 1, max: 3 }),
    cOut: fc.integer({ min: 1, max: 3 }),
    bias: fc.boolean(),
    seed: fc.integer({ min: 0, max: 2 ** 30 }),
  })
  .map(({ hAxis: a, wAxis: b, ...rest }) => ({
    ...rest,
    h: a.d * (a.k - 1) + 1 + a.extra,
    w: b.d * (b.k - 1) + 1 + b.extra,
    kh: a.k,
    kw: b.k,
    stride: [a.s, b.s],
    dilation: [a.d, b.d],
  }))

describe('convTranspose2d against tf.conv2dTranspose and the gradient of tf.conv2d', () => {
  const base: ConvT2dCase = {
    h: 7,
    w: 6,
    kh: 3,
    kw: 2,
    stride: [1, 1],
    dilation: [1, 1],
    cIn: 2,
    cOut: 3,
    bias: false,
    seed: 31,
  }
  it.each<ConvT2dCase>([
    base,
    { ...base, stride: [2, 2], bias: true },
    { ...base, h: 9, w: 8, stride: [2, 3] },
    { ...base, h: 9, w: 7, dilation: [2, 2] },
    { ...base, h: 10, w: 9, stride: [2, 1], dilation: [2, 2] },
  ])('h $h w $w stride $stride dilation $dilation bias $bias', (c) => checkConvT2d(c))

  it('on random sizes, strides, dilations, channels and biases', () => {
    fc.assert(fc.property(convT2dCase, checkConvT2d), { numRuns: 15 })
  })
})

// ---------------------------------------------------------------------------------------------
// SoftMax

describe('softmax against tf.softmax', () => {
  it('over the last axis, broadcast over the first (Fig. 21)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom(1, 10, 60),
        fc.integer({ min: 0, max: 2 ** 30 }),
        (y, x, spread, seed) => {
          const term = broadcast(softmax('x'), ['y'])
          const input = randomF32(y * x, seed).map((v) => Math.fround(spread * v))
          const [ours] = evaluate(term, { x, y }, [input])
          const theirs = fromTf(() => tf.softmax(tf.tensor2d(f32(input), [y, x])))
          expect(theirs.shape).toEqual([y, x])
          expectClose(ours as Float64Array, theirs.data, JSON.stringify({ y, x, spread }))
        },
      ),
      RUNS,
    )
  })

  it('over a middle axis, broadcast over the axes on both sides', () => {
    const [y, x, z] = [3, 5, 4]
    const term = broadcast(broadcast(softmax('x'), ['z'], { at: 'last' }), ['y'])
    const input = randomF32(y * x * z, 8).map((v) => Math.fround(20 * v))
    const [ours] = evaluate(term, { x, y, z }, [input])
    const theirs = fromTf(() =>
      tf.transpose(
        tf.softmax(tf.transpose(tf.tensor3d(f32(input), [y, x, z]), [0, 2, 1])),
        [0, 2, 1],
      ),
    )
    expectClose(ours as Float64Array, theirs.data, 'softmax over the middle axis')
  })
})
