/**
 * `grad` (reverse derivatives derived from jvp and transpose, paper section 3.6, Fig. 35-37)
 * against two independent references, on whole models made scalar by a loss:
 *
 * - TensorFlow.js autodiff (`tf.valueAndGrads`, pure-JS CPU backend, float32) applied to the same
 *   model re-implemented from the paper's definitions with TensorFlow ops (`tf.matMul`,
 *   `tf.softmax`, `tf.conv2d`, `tf.maxPool`, ...) on the same parameter layouts. Both sides get
 *   the same float32-representable inputs and parameters; our float64 gradients and TensorFlow's
 *   float32 ones must agree entrywise to `|ours - tf| <= 1e-5 + 1e-4 |tf|` (absolute 1e-5,
 *   relative 1e-4). The losses themselves are compared the same way.
 * - Central finite differences in float64, `(f(θ + h e) - f(θ - h e)) / 2h` with `h = 1e-6`, on a
 *   few seeded entries of every input and parameter: `|ours - fd| <= 1e-6 max(1, |fd|)`.
 *
 * The gradient is taken with respect to every input segment and every parameter of the loss
 * (including the loss weights `R`, whose gradient is the model's output), in one
 * `grad(loss, { params: all })` per model; the transformer block, whose joint gradient takes
 * longest to build, calls `grad` once for its input and once per parameter instead (the same
 * gradients). Gradient terms are size-generic: each model's are built once and evaluated at three
 * sizes and seeds.
 */
import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { useTensorFlowCpu } from './tf-setup.js'
import {
  type Dim,
  type Shape,
  type Sizes,
  type Term,
  TermError,
  add,
  attention,
  broadcast,
  conv2d,
  copy,
  dimProduct,
  dimSize,
  einsum,
  evaluate,
  gelu,
  grad,
  id,
  layerNorm,
  liftParams,
  linearLayer,
  log,
  mlp,
  multiHeadAttention,
  par,
  param,
  pool2d,
  randomParams,
  relu,
  seededRandom,
  seq,
  sigmoid,
  tanh,
  toShape,
  view,
} from '../src/index.js'

useTensorFlowCpu()

/** TensorFlow (float32) against ours (float64): |ours - tf| <= TF_ABS + TF_REL |tf|. */
const TF_ABS = 1e-5
const TF_REL = 1e-4
/** Central differences in float64: step FD_H, |ours - fd| <= FD_TOL max(1, |fd|). */
const FD_H = 1e-6
const FD_TOL = 1e-6
/** Entries of each input and parameter checked by finite differences. */
const FD_ENTRIES = 3

// ---------------------------------------------------------------------------------------------
// The harness

/** n float32-representable entries in [-1, 1). */
const randomF32 = (n: number, seed: number): Float64Array => {
  const next = seededRandom(seed)
  return Float64Array.from({ length: n }, () => Math.fround(2 * next() - 1))
}

const f32 = (a: Float64Array): Float32Array => Float32Array.from(a)

const extents = (s: Shape, sizes: Sizes): number[] => s.map((d) => dimSize(d, sizes))

const count = (shape: ReadonlyArray<number>): number => shape.reduce((n, v) => n * v, 1)

/** A parameter of the TensorFlow model, by our name (in our layout). */
type Get = (name: string) => tf.Tensor

/** A model made a scalar loss, and the same loss written with TensorFlow ops. */
interface Model {
  readonly name: string
  /** A scalar loss `A -> [[]]`. */
  readonly loss: Term
  /** The loss with TensorFlow ops, on inputs and parameters in our (row-major) layouts. */
  readonly tf: (inputs: ReadonlyArray<tf.Tensor>, p: Get, sizes: Sizes) => tf.Tensor
  /**
   * `true`: one `grad(loss, { params: all })`. `false`: `grad(loss)` for the inputs, then one
   * `grad(loss, { inputs: [], params: [name] })` per parameter (the same gradients).
   */
  readonly joint: boolean
}

/** One run of a model: its sizes and the seed of its inputs and parameters. */
interface Run {
  readonly sizes: Sizes
  readonly seed: number
}

/** The names of the parameters a term reads, sorted. */
const paramNames = (t: Term): string[] => {
  const found = new Set<string>()
  const visit = (u: Term): void => {
    if (u.kind === 'param') found.add(u.name)
    if (u.kind === 'seq' || u.kind === 'par') u.parts.forEach(visit)
    if (u.kind === 'broadcast' || u.kind === 'box') visit(u.body)
  }
  visit(t)
  return [...found].sort()
}

/** The gradient terms of a model, built once and shared by its runs (terms are size-generic). */
const built = new Map<Model, ReadonlyArray<Term>>()
const gradientTerms = (m: Model, wrt: ReadonlyArray<string>): ReadonlyArray<Term> => {
  let terms = built.get(m)
  if (terms === undefined) {
    terms = m.joint
      ? [grad(m.loss, { params: wrt })]
      : [grad(m.loss), ...wrt.map((n) => grad(m.loss, { inputs: [], params: [n] }))]
    built.set(m, terms)
  }
  return terms
}

/** `[s] × () -> []`: the sum of the entries weighted by the parameter `R` of shape `[s]`. */
const weightedSum = (shape: Shape, name = 'R'): Term => {
  const labels = shape.map((_, i) => `a${i}`).join(' ')
  const dims = Object.fromEntries(shape.map((d, i) => [`a${i}`, d] as const))
  return seq(par(id([shape]), param(name, shape)), einsum(`${labels}, ${labels} -> `, { dims }))
}

/** The model followed by the weighted sum of its only output. */
const lossOf = (model: Term): Term => seq(model, weightedSum(model.cod[0] as Shape))

const tfWeightedSum = (out: tf.Tensor, p: Get): tf.Tensor => tf.sum(tf.mul(out, p('R')))

const at = <A>(xs: ArrayLike<A>, i: number): A => {
  const x = xs[i]
  if (x === undefined) throw new Error(`no entry ${i}`)
  return x
}

/** Entries to check by finite differences: the first, the last and seeded ones. */
const probes = (n: number, seed: number): number[] => {
  const next = seededRandom(seed)
  const picked = new Set<number>([0, n - 1])
  while (picked.size < Math.min(n, FD_ENTRIES)) picked.add(Math.floor(next() * n))
  return [...picked]
}

interface Worst {
  readonly excess: number
  readonly what: string
}

const checkGrad = (m: Model, run: Run): void => {
  const { loss } = m
  const { sizes, seed } = run
  const what = `${m.name} ${JSON.stringify(sizes)} seed ${seed}`
  const names = paramNames(loss)
  const ps = Object.fromEntries(
    Object.entries(randomParams(loss, sizes, seed)).map(([k, v]) => [k, v.map(Math.fround)]),
  )
  expect(Object.keys(ps).sort()).toEqual(names)
  const inShapes = loss.dom.map((s) => extents(s, sizes))
  const pShapes = liftParams(loss, names).shapes.map((s) => extents(s, sizes))
  const inputs = inShapes.map((s, i) => randomF32(count(s), seed * 101 + i))
  const labels = [...inShapes.map((_, i) => `input ${i}`), ...names]

  // Ours, in float64.
  expect(loss.cod.map((s) => s.length)).toEqual([0])
  const [value] = evaluate(loss, sizes, inputs, ps) as [Float64Array]
  const ours = gradientTerms(m, names).flatMap(
    (g) => evaluate(g, sizes, inputs, ps) as Float64Array[],
  )
  expect(ours.map((g) => g.length)).toEqual([...inShapes, ...pShapes].map(count))

  // TensorFlow's autodiff of its own model, in float32.
  const n = inputs.length
  const tensors = tf.tidy(() => {
    const args = [
      ...inputs.map((v, i) => tf.tensor(f32(v), at(inShapes, i))),
      ...names.map((k, j) => tf.tensor(f32(ps[k] as Float64Array), at(pShapes, j))),
    ]
    const f = (...xs: tf.Tensor[]): tf.Scalar => {
      const get: Get = (name) => {
        const j = names.indexOf(name)
        if (j < 0) throw new Error(`no parameter ${name}`)
        return at(xs, n + j)
      }
      const out = m.tf(xs.slice(0, n), get, sizes)
      expect(out.shape, 'TensorFlow loss shape').toEqual([])
      return out as tf.Scalar
    }
    const r = tf.valueAndGrads(f)(args)
    return [r.value, ...r.grads]
  })
  const theirs = tensors.map((t) => t.dataSync() as Float32Array)
  tensors.forEach((t) => t.dispose())
  expect(theirs.length).toBe(1 + labels.length)

  const tfExcess = (a: number, b: number): number =>
    Math.abs(a - b) / (TF_ABS + TF_REL * Math.abs(b))
  let worst: Worst = {
    excess: tfExcess(at(value, 0), at(at(theirs, 0), 0)),
    what: `loss: ours ${at(value, 0)}, tf ${at(at(theirs, 0), 0)}`,
  }
  labels.forEach((label, g) => {
    const a = at(ours, g)
    const b = at(theirs, g + 1)
    expect(a.length, label).toBe(b.length)
    a.forEach((v, i) => {
      const e = tfExcess(v, at(b, i))
      if (e > worst.excess) worst = { excess: e, what: `${label}[${i}]: ours ${v}, tf ${at(b, i)}` }
    })
  })
  expect(worst.excess, `${what} vs TensorFlow, worst ${worst.what}`).toBeLessThanOrEqual(1)

  // Central differences of our own forward evaluation, in float64.
  const f = (xs: ReadonlyArray<Float64Array>, p: Record<string, Float64Array>): number =>
    at(at(evaluate(loss, sizes, xs, p), 0), 0)
  let fdWorst: Worst = { excess: 0, what: 'none' }
  const probe = (label: string, g: number, data: Float64Array, lossNow: () => number): void => {
    probes(data.length, seed + g).forEach((i) => {
      const x0 = at(data, i)
      data[i] = x0 + FD_H
      const up = lossNow()
      data[i] = x0 - FD_H
      const down = lossNow()
      data[i] = x0
      const fd = (up - down) / (2 * FD_H)
      const v = at(at(ours, g), i)
      const e = Math.abs(v - fd) / (FD_TOL * Math.max(1, Math.abs(fd)))
      if (e > fdWorst.excess) fdWorst = { excess: e, what: `${label}[${i}]: ours ${v}, fd ${fd}` }
    })
  }
  inputs.forEach((_, g) => {
    const xs = inputs.map((v) => v.slice())
    probe(at(labels, g), g, at(xs, g), () => f(xs, ps))
  })
  names.forEach((k, j) => {
    const moved = { ...ps, [k]: (ps[k] as Float64Array).slice() }
    probe(k, n + j, moved[k] as Float64Array, () => f(inputs, moved))
  })
  expect(
    fdWorst.excess,
    `${what} vs finite differences, worst ${fdWorst.what}`,
  ).toBeLessThanOrEqual(1)
}

// ---------------------------------------------------------------------------------------------
// TensorFlow building blocks, from the definitions

/** `nn.Linear` on the last axis: `a Wᵀ + b`, with W `[out in]`. */
const tfLinear = (a: tf.Tensor, p: Get, name: string, bias: boolean): tf.Tensor => {
  const flat = tf.reshape(a, [-1, at(a.shape, a.rank - 1)])
  const y = tf.matMul(flat, p(`${name}.weight`), false, true)
  const out = tf.reshape(y, [...a.shape.slice(0, -1), at(y.shape, 1)])
  return bias ? tf.add(out, p(`${name}.bias`)) : out
}

/** `(v - mean) / sqrt(var + ε)` over the last axis, biased variance. */
const tfLayerNorm = (a: tf.Tensor, epsilon = 1e-5): tf.Tensor => {
  const centred = tf.sub(a, tf.mean(a, -1, true))
  const variance = tf.mean(tf.square(centred), -1, true)
  return tf.div(centred, tf.sqrt(tf.add(variance, epsilon)))
}

/** Exact GELU, `v Φ(v) = v (1 + erf(v / √2)) / 2`. */
const tfGelu = (a: tf.Tensor): tf.Tensor =>
  tf.mul(tf.mul(a, 0.5), tf.add(1, tf.erf(tf.div(a, Math.SQRT2))))

/** `SoftMax_x(Q Kᵀ / √k) V` for `Q [.. y k]`, `K [.. x k]`, `V [.. x v]` (batched matMul). */
const tfAttention = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor => {
  const width = at(q.shape, q.rank - 1)
  const scores = tf.div(tf.matMul(q, k, false, true), Math.sqrt(width))
  return tf.matMul(tf.softmax(scores), v)
}

/**
 * Multi-head attention (Vaswani et al. eq. 2-3): per head j, `Q_j = X W_Q[:, j, :]ᵀ` and so on;
 * the heads are concatenated and mapped back by `O`. Ours stores `W_Q [k h m]` and `O [m k h]`.
 */
const tfMultiHead = (
  xq: tf.Tensor,
  xk: tf.Tensor,
  xv: tf.Tensor,
  p: Get,
  dims: { readonly k: number; readonly h: number },
  prefix = '',
): tf.Tensor => {
  const { k, h } = dims
  const m = at(xq.shape, 1)
  // [tokens m] -> [h tokens k]
  const project = (x: tf.Tensor, name: string): tf.Tensor => {
    const w = tf.reshape(p(`${prefix}${name}.weight`), [k * h, m])
    const y = tf.reshape(tf.matMul(x, w, false, true), [at(x.shape, 0), k, h])
    return tf.transpose(y, [2, 0, 1])
  }
  const heads = tfAttention(project(xq, 'Q'), project(xk, 'K'), project(xv, 'V'))
  const y = at(xq.shape, 0)
  const concat = tf.reshape(tf.transpose(heads, [1, 2, 0]), [y, k * h])
  const o = tf.reshape(p(`${prefix}O.weight`), [m, k * h])
  return tf.matMul(concat, o, false, true)
}

// ---------------------------------------------------------------------------------------------
// The models

const size = (sizes: Sizes, name: string): number => {
  const v = sizes[name]
  if (typeof v !== 'number') throw new Error(`no size ${name}`)
  return v
}

describe('grad of MLPs (Fig. 21) against tf.valueAndGrads and finite differences', () => {
  /**
   * Σ R ⊙ log SoftMax(MLP(x)) over a batch `b` (a weighted log-likelihood): flatten `[h w]`, two
   * hidden layers with relu, biased layers `L1`-`L3`.
   */
  const classifier: Model = {
    name: 'MLP',
    loss: (() => {
      const net = broadcast(mlp({ input: 'h w', hidden: ['n1', 'n2'], output: 'c' }), ['b'])
      return seq(net, log('b c'), weightedSum(net.cod[0] as Shape))
    })(),
    joint: true,
    tf: ([x], p, sizes) => {
      const flat = tf.reshape(x as tf.Tensor, [size(sizes, 'b'), -1])
      const h1 = tf.relu(tfLinear(flat, p, 'L1', true))
      const h2 = tf.relu(tfLinear(h1, p, 'L2', true))
      return tfWeightedSum(tf.log(tf.softmax(tfLinear(h2, p, 'L3', true))), p)
    },
  }
  it.each<Run>([
    { sizes: { b: 2, h: 3, w: 2, n1: 5, n2: 4, c: 4 }, seed: 1 },
    { sizes: { b: 3, h: 2, w: 2, n1: 4, n2: 6, c: 3 }, seed: 2 },
    { sizes: { b: 1, h: 4, w: 3, n1: 7, n2: 3, c: 5 }, seed: 3 },
  ])(
    'two relu hidden layers, log SoftMax: b $sizes.b h $sizes.h w $sizes.w n1 $sizes.n1 n2 $sizes.n2 c $sizes.c',
    (run) => checkGrad(classifier, run),
  )

  /** LayerNorm, GELU, tanh, sigmoid, and an unbiased layer, over a batch `b`. */
  const deep: Model = {
    name: 'MLP with LayerNorm, GELU, tanh, sigmoid',
    loss: lossOf(
      broadcast(
        seq(
          linearLayer('A', 'x', 'n', { bias: true }),
          layerNorm('n'),
          gelu('n'),
          linearLayer('B', 'n', 'm', { bias: true }),
          tanh('m'),
          linearLayer('C', 'm', 'c'),
          sigmoid('c'),
        ),
        ['b'],
      ),
    ),
    joint: true,
    tf: ([x], p) => {
      let a = tfLinear(x as tf.Tensor, p, 'A', true)
      a = tfGelu(tfLayerNorm(a))
      a = tf.tanh(tfLinear(a, p, 'B', true))
      a = tf.sigmoid(tfLinear(a, p, 'C', false))
      return tfWeightedSum(a, p)
    },
  }
  it.each<Run>([
    { sizes: { b: 2, x: 3, n: 5, m: 4, c: 2 }, seed: 7 },
    { sizes: { b: 3, x: 4, n: 3, m: 6, c: 3 }, seed: 8 },
    { sizes: { b: 1, x: 6, n: 8, m: 2, c: 4 }, seed: 9 },
  ])('LayerNorm, GELU, tanh, sigmoid: $sizes', (run) => checkGrad(deep, run))
})

describe('grad of attention (Fig. 22, 23) against tf.valueAndGrads and finite differences', () => {
  const single: Model = {
    name: 'attention',
    loss: lossOf(attention({ y: 'y', x: 'x', k: 'k', v: 'v' })),
    joint: true,
    tf: ([q, k, v], p) =>
      tfWeightedSum(tfAttention(q as tf.Tensor, k as tf.Tensor, v as tf.Tensor), p),
  }
  it.each<Run>([
    { sizes: { y: 3, x: 4, k: 2, v: 3 }, seed: 10 },
    { sizes: { y: 1, x: 5, k: 4, v: 2 }, seed: 11 },
    { sizes: { y: 4, x: 2, k: 3, v: 3 }, seed: 12 },
  ])('scaled dot-product attention, queries, keys, values and R: $sizes', (run) =>
    checkGrad(single, run),
  )

  const multiHead: Model = {
    name: 'multi-head attention',
    loss: lossOf(multiHeadAttention({ y: 'y', x: 'x', m: 'm', k: 'k', h: 'h' })),
    joint: true,
    tf: ([q, k, v], p, sizes) =>
      tfWeightedSum(
        tfMultiHead(q as tf.Tensor, k as tf.Tensor, v as tf.Tensor, p, {
          k: size(sizes, 'k'),
          h: size(sizes, 'h'),
        }),
        p,
      ),
  }
  it.each<Run>([
    { sizes: { y: 3, x: 4, m: 4, k: 2, h: 2 }, seed: 13 },
    { sizes: { y: 2, x: 3, m: 3, k: 3, h: 1 }, seed: 14 },
    { sizes: { y: 4, x: 2, m: 5, k: 2, h: 3 }, seed: 15 },
  ])('multi-head attention, Q K V O weights: $sizes', (run) => checkGrad(multiHead, run))

  /**
   * A pre-norm transformer block on tokens `t`: `x + MHA(LN x, LN x, LN x)`, then
   * `+ L_2 GELU(L_1 LN(.))`, tanh, weighted sum.
   */
  const tm = toShape('t m')
  const residual = (branch: Term): Term => seq(copy([tm]), par(id([tm]), branch), add(tm))
  const block: Model = {
    name: 'transformer block',
    loss: lossOf(
      seq(
        residual(
          seq(
            broadcast(layerNorm('m'), ['t']),
            copy([tm]),
            par(id([tm]), copy([tm])),
            multiHeadAttention({ y: 't', x: 't', m: 'm', k: 'k', h: 'h' }, { prefix: 'A.' }),
          ),
        ),
        residual(
          broadcast(
            seq(
              layerNorm('m'),
              linearLayer('F1', 'm', 'f', { bias: true }),
              gelu('f'),
              linearLayer('F2', 'f', 'm', { bias: true }),
            ),
            ['t'],
          ),
        ),
        tanh(tm),
      ),
    ),
    joint: false,
    tf: ([x], p, sizes) => {
      const x0 = x as tf.Tensor
      const n0 = tfLayerNorm(x0)
      const heads = { k: size(sizes, 'k'), h: size(sizes, 'h') }
      const x1 = tf.add(x0, tfMultiHead(n0, n0, n0, p, heads, 'A.'))
      const ff = tfLinear(tfGelu(tfLinear(tfLayerNorm(x1), p, 'F1', true)), p, 'F2', true)
      return tfWeightedSum(tf.tanh(tf.add(x1, ff)), p)
    },
  }
  it.each<Run>([
    { sizes: { t: 3, m: 4, k: 2, h: 2, f: 5 }, seed: 16 },
    { sizes: { t: 4, m: 3, k: 3, h: 1, f: 4 }, seed: 17 },
    { sizes: { t: 2, m: 6, k: 2, h: 3, f: 3 }, seed: 18 },
  ])('pre-norm transformer block, self-attention and GELU feed-forward: $sizes', (run) =>
    checkGrad(block, run),
  )
})

describe('grad of a convolutional network (Fig. 24-26) against tf.valueAndGrads and finite differences', () => {
  const stride: [number, number] = [2, 1]
  const padding: [[number, number], [number, number]] = [
    [1, 1],
    [1, 0],
  ]
  const poolStride: [number, number] = [1, 2]
  /**
   * `[h w ci]`: Conv2d (bias, stride, padding) -> relu -> max pooling -> flatten -> Linear (bias)
   * -> tanh -> weighted sum.
   */
  const conv = conv2d('C', {
    h: 'h',
    w: 'w',
    kh: 'p',
    kw: 'q',
    cIn: 'ci',
    cOut: 'co',
    stride,
    padding,
    bias: true,
  })
  const [yh, yw, co] = conv.cod[0] as [Dim, Dim, Dim]
  const pool = pool2d('max', { h: yh, w: yw, kh: 'r', kw: 's', c: co, stride: poolStride })
  const pooled = pool.cod[0] as Shape
  const flat = dimProduct(...pooled)
  const net: Model = {
    name: 'conv net',
    loss: lossOf(
      seq(
        conv,
        relu([yh, yw, co]),
        pool,
        view(pooled, [flat]),
        linearLayer('L', flat, 'o', { bias: true }),
        tanh('o'),
      ),
    ),
    joint: true,
    tf: ([x], p, sizes) => {
      const [h, w, ci] = ['h', 'w', 'ci'].map((d) => size(sizes, d)) as [number, number, number]
      const image = tf.pad(tf.reshape(x as tf.Tensor, [1, h, w, ci]), [
        [0, 0],
        padding[0],
        padding[1],
        [0, 0],
      ]) as tf.Tensor4D
      // Ours [cOut cIn kh kw] (PyTorch), TensorFlow's filter [kh kw cIn cOut].
      const filter = tf.transpose(p('C.weight'), [2, 3, 1, 0]) as tf.Tensor4D
      const features = tf.relu(tf.add(tf.conv2d(image, filter, stride, 'valid'), p('C.bias')))
      const window: [number, number] = [size(sizes, 'r'), size(sizes, 's')]
      const maxed = tf.maxPool(features as tf.Tensor4D, window, poolStride, 'valid')
      const logits = tfLinear(tf.reshape(maxed, [1, -1]), p, 'L', true)
      return tfWeightedSum(tf.reshape(tf.tanh(logits), [-1]), p)
    },
  }
  it.each<Run>([
    { sizes: { h: 6, w: 5, ci: 2, co: 3, p: 3, q: 2, r: 2, s: 2, o: 3 }, seed: 19 },
    { sizes: { h: 7, w: 6, ci: 1, co: 2, p: 2, q: 3, r: 2, s: 1, o: 2 }, seed: 20 },
    { sizes: { h: 5, w: 7, ci: 3, co: 2, p: 2, q: 2, r: 1, s: 3, o: 4 }, seed: 21 },
  ])(
    'conv2d (stride 2,1, padding), relu, max pooling, linear: h $sizes.h w $sizes.w ci $sizes.ci co $sizes.co kernel $sizes.p,$sizes.q pool $sizes.r,$sizes.s',
    (run) => checkGrad(net, run),
  )
})

describe('grad refuses what is not a scalar loss', () => {
  const refusal = (f: () => unknown): TermError => {
    try {
      f()
    } catch (e) {
      if (e instanceof TermError) return e
      throw e
    }
    throw new Error('grad did not refuse')
  }

  const net = mlp({ input: 'x', hidden: ['n'], output: 'c' })

  it('a vector-valued model, with a type-mismatch TermError', () => {
    const e = refusal(() => grad(net))
    expect(e.code).toBe('type-mismatch')
    expect(e.message).toMatch(/grad: the function must give one scalar/)
    expect(e.details.got).toBe('[c]')
    expect(refusal(() => grad(net, { params: ['L1.weight'] })).code).toBe('type-mismatch')
  })

  it('two scalar outputs', () => {
    const e = refusal(() => grad(copy([[]])))
    expect(e.code).toBe('type-mismatch')
  })

  it('but takes the same model once summed', () => {
    expect(grad(lossOf(net)).cod).toEqual(net.dom)
  })
})
