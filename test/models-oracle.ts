/**
 * The oracle harness of the model zoo (issue 14, section 4), shared by test/models-*.test.ts (not
 * a test file itself). A model is checked against two independent references:
 *
 * - TensorFlow.js (pure-JS CPU backend, float32): the same network written layer by layer with
 *   TensorFlow ops on the same float32-representable inputs and parameters. Outputs, the loss
 *   `Σ out ⊙ R` (R a seeded weight of the output's shape) and its gradient with respect to every
 *   input and every parameter (`tf.valueAndGrads`) must agree with ours (float64) entrywise to
 *   `|ours - tf| <= TF_ABS + TF_REL |tf|`.
 * - Central finite differences in float64 of our own forward evaluation, on a few seeded entries
 *   of every input and parameter: `|ours - fd| <= FD_TOL max(1, |fd|)`.
 */
import * as tf from '@tensorflow/tfjs'
import { expect } from 'vitest'
import {
  type Shape,
  type Sizes,
  type Term,
  dimSize,
  einsum,
  evaluate,
  grad,
  id,
  par,
  param,
  paramsOf,
  randomParams,
  seededRandom,
  seq,
} from '../src/index.js'

/** TensorFlow (float32) against ours (float64): |ours - tf| <= TF_ABS + TF_REL |tf|. */
export const TF_ABS = 1e-5
export const TF_REL = 1e-4
/** Central differences in float64: step FD_H, |ours - fd| <= FD_TOL max(1, |fd|). */
const FD_H = 1e-6
const FD_TOL = 1e-6
/** Entries of each input and parameter checked by finite differences. */
const FD_ENTRIES = 2

/** A parameter of the TensorFlow model by our name, in our (row-major) layout. */
export type Get = (name: string) => tf.Tensor

/** A model and the same model written with TensorFlow ops (inputs and output in our layouts). */
export interface OracleModel {
  readonly name: string
  readonly term: Term
  readonly tf: (inputs: ReadonlyArray<tf.Tensor>, p: Get) => tf.Tensor
  /** Fixed inputs (a mask, one-hot tokens) instead of random ones, by position. */
  readonly inputs?: (sizes: Sizes) => ReadonlyArray<Float64Array | undefined>
  /** Inputs not differentiated (a mask given as data), by position. */
  readonly constantInputs?: ReadonlyArray<number>
}

/** n float32-representable entries in [-1, 1). */
export const randomF32 = (n: number, seed: number): Float64Array => {
  const next = seededRandom(seed)
  return Float64Array.from({ length: n }, () => Math.fround(2 * next() - 1))
}

export const extents = (s: Shape, sizes: Sizes): number[] => s.map((d) => dimSize(d, sizes))

const count = (shape: ReadonlyArray<number>): number => shape.reduce((n, v) => n * v, 1)

const at = <A>(xs: ArrayLike<A>, i: number): A => {
  const x = xs[i]
  if (x === undefined) throw new Error(`no entry ${i}`)
  return x
}

/** `[s] × () -> []`: the sum of the entries weighted by the parameter `R` of shape `[s]`. */
export const weightedSum = (shape: Shape, name = 'R'): Term => {
  const labels = shape.map((_, i) => `a${i}`).join(' ')
  const dims = Object.fromEntries(shape.map((d, i) => [`a${i}`, d] as const))
  return seq(par(id([shape]), param(name, shape)), einsum(`${labels}, ${labels} -> `, { dims }))
}

/** The model followed by the weighted sum of its only output. */
export const lossOf = (model: Term): Term => seq(model, weightedSum(model.cod[0] as Shape))

/** Entries to check by finite differences: the first and seeded ones. */
const probes = (n: number, seed: number): number[] => {
  const next = seededRandom(seed)
  const picked = new Set<number>([0])
  while (picked.size < Math.min(n, FD_ENTRIES)) picked.add(Math.floor(next() * n))
  return [...picked]
}

interface Worst {
  readonly excess: number
  readonly what: string
}

/** What {@link checkModel} measured: the worst errors, as fractions of the tolerances. */
export interface OracleReport {
  readonly forward: number
  readonly gradient: number
  readonly finiteDifferences: number
  readonly entries: number
}

/**
 * Check a model against TensorFlow and finite differences at `sizes` (see the file's comment);
 * returns the worst relative errors found (each must be within its tolerance).
 */
export const checkModel = (
  m: OracleModel,
  sizes: Sizes,
  seed: number,
  options: { readonly gradient?: Term } = {},
): OracleReport => {
  const loss = lossOf(m.term)
  const what = `${m.name} ${JSON.stringify(sizes)} seed ${seed}`
  const names = [...paramsOf(loss).keys()]
  const ps = Object.fromEntries(
    Object.entries(randomParams(loss, sizes, seed)).map(([k, v]) => [k, v.map(Math.fround)]),
  )
  const inShapes = loss.dom.map((s) => extents(s, sizes))
  const pShapes = names.map((k) => extents(paramsOf(loss).get(k) as Shape, sizes))
  const fixed = m.inputs?.(sizes) ?? []
  const inputs = inShapes.map((s, i) => fixed[i] ?? randomF32(count(s), seed * 101 + i))
  const constant = new Set(m.constantInputs ?? [])
  const wrtInputs = inputs.map((_, i) => i).filter((i) => !constant.has(i))
  const labels = [...wrtInputs.map((i) => `input ${i}`), ...names]

  // Ours, in float64: the output, the loss and the gradient.
  const [out] = evaluate(m.term, sizes, inputs, ps) as [Float64Array]
  const [value] = evaluate(loss, sizes, inputs, ps) as [Float64Array]
  const g = options.gradient ?? grad(loss, { inputs: wrtInputs, params: names })
  const ours = evaluate(g, sizes, inputs, ps) as Float64Array[]
  expect(ours.map((v) => v.length)).toEqual(
    [...wrtInputs.map((i) => at(inShapes, i)), ...pShapes].map(count),
  )

  // TensorFlow's model and its autodiff, in float32.
  const n = inputs.length
  const tensors = tf.tidy(() => {
    const args = [
      ...inputs.map((v, i) => tf.tensor(Float32Array.from(v), at(inShapes, i))),
      ...names.map((k, j) => tf.tensor(Float32Array.from(ps[k] as Float64Array), at(pShapes, j))),
    ]
    const model = (xs: ReadonlyArray<tf.Tensor>): tf.Tensor => {
      const get: Get = (name) => {
        const j = names.indexOf(name)
        if (j < 0) throw new Error(`no parameter ${name}`)
        return at(xs, n + j)
      }
      return m.tf(xs.slice(0, n), get)
    }
    const f = (...xs: tf.Tensor[]): tf.Scalar => {
      const o = model(xs)
      return tf.sum(tf.mul(o, at(xs, n + names.indexOf('R')))) as tf.Scalar
    }
    const wrt = [...wrtInputs.map((i) => at(args, i)), ...args.slice(n)]
    const r = tf.valueAndGrads((...ws: tf.Tensor[]) => {
      let w = 0
      const all = args.map((a, i) => (i >= n || !constant.has(i) ? at(ws, w++) : a))
      return f(...all)
    })(wrt)
    return [model(args), r.value, ...r.grads]
  })
  const theirs = tensors.map((t) => t.dataSync() as Float32Array)
  expect(tensors[0]?.shape, `${what}: TensorFlow's output shape`).toEqual(
    extents(m.term.cod[0] as Shape, sizes),
  )
  tensors.forEach((t) => t.dispose())

  const compare = (
    pairs: ReadonlyArray<readonly [string, ArrayLike<number>, ArrayLike<number>]>,
  ): Worst => {
    let worst: Worst = { excess: 0, what: 'none' }
    for (const [label, a, b] of pairs) {
      expect(a.length, label).toBe(b.length)
      for (let i = 0; i < b.length; i++) {
        const bound = TF_ABS + TF_REL * Math.abs(at(b, i))
        const e = Math.abs(at(a, i) - at(b, i)) / bound
        if (e > worst.excess)
          worst = { excess: e, what: `${label}[${i}]: ours ${at(a, i)}, tf ${at(b, i)}` }
      }
    }
    return worst
  }
  const forward = compare([
    ['output', out, at(theirs, 0)],
    ['loss', value, at(theirs, 1)],
  ])
  expect(forward.excess, `${what}: forward vs TensorFlow, worst ${forward.what}`).toBeLessThan(1)
  const gradient = compare(labels.map((l, i) => [l, at(ours, i), at(theirs, i + 2)] as const))
  expect(gradient.excess, `${what}: gradient vs TensorFlow, worst ${gradient.what}`).toBeLessThan(1)

  // Central differences of our own forward evaluation, in float64.
  const lossAt = (xs: ReadonlyArray<Float64Array>, p: Record<string, Float64Array>): number =>
    at(at(evaluate(loss, sizes, xs, p), 0), 0)
  let fd: Worst = { excess: 0, what: 'none' }
  const probe = (label: string, gi: number, data: Float64Array, now: () => number): void =>
    probes(data.length, seed + gi).forEach((i) => {
      const x0 = at(data, i)
      data[i] = x0 + FD_H
      const up = now()
      data[i] = x0 - FD_H
      const down = now()
      data[i] = x0
      const d = (up - down) / (2 * FD_H)
      const v = at(at(ours, gi), i)
      const e = Math.abs(v - d) / (FD_TOL * Math.max(1, Math.abs(d)))
      if (e > fd.excess) fd = { excess: e, what: `${label}[${i}]: ours ${v}, fd ${d}` }
    })
  wrtInputs.forEach((inp, gi) => {
    const xs = inputs.map((v) => v.slice())
    probe(at(labels, gi), gi, at(xs, inp), () => lossAt(xs, ps))
  })
  names.forEach((k, j) => {
    const moved = { ...ps, [k]: (ps[k] as Float64Array).slice() }
    probe(k, wrtInputs.length + j, moved[k] as Float64Array, () => lossAt(inputs, moved))
  })
  expect(fd.excess, `${what}: vs finite differences, worst ${fd.what}`).toBeLessThan(1)
  return {
    forward: forward.excess,
    gradient: gradient.excess,
    finiteDifferences: fd.excess,
    entries: ours.reduce((s, v) => s + v.length, 0),
  }
}

/** The transformer's layers with TensorFlow ops, on `[t m]` tensors, for sizes m, k, h. */
export const tfLayers = (
  p: Get,
  sizes: { readonly m: number; readonly k: number; readonly h: number },
) => {
  const { m, k, h } = sizes
  const linear = (v: tf.Tensor, w: tf.Tensor): tf.Tensor =>
    tf.matMul(v as tf.Tensor2D, w as tf.Tensor2D, false, true)
  /** Layer norm over the last axis with `name.gain` and `name.bias`, ε = 1e-5. */
  const ln = (v: tf.Tensor, name: string): tf.Tensor => {
    const { mean, variance } = tf.moments(v, [1], true)
    const z = tf.div(tf.sub(v, mean), tf.sqrt(tf.add(variance, 1e-5)))
    return tf.add(tf.mul(z, p(`${name}.gain`)), p(`${name}.bias`))
  }
  // Ours: Q.weight [k h m], O.weight [m k h]; head g is the column c h + g of (k h).
  const heads = (v: tf.Tensor, w: tf.Tensor): tf.Tensor =>
    tf.transpose(tf.reshape(linear(v, tf.reshape(w, [k * h, m])), [-1, k, h]), [2, 0, 1])
  /** Multi-head attention (Fig. 23) with an optional additive mask. */
  const mha = (q: tf.Tensor, kv: tf.Tensor, prefix: string, additive?: tf.Tensor): tf.Tensor => {
    const [Q, K, V] = ['Q', 'K', 'V'].map((n) =>
      heads(n === 'Q' ? q : kv, p(`${prefix}${n}.weight`)),
    ) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D]
    let scores = tf.div(tf.matMul(Q, K, false, true), Math.sqrt(k))
    if (additive !== undefined) scores = tf.add(scores, additive)
    const mixed = tf.matMul(tf.softmax(scores) as tf.Tensor3D, V) // [h y k]
    const joined = tf.reshape(tf.transpose(mixed, [1, 2, 0]), [-1, k * h])
    return linear(joined, tf.reshape(p(`${prefix}O.weight`), [m, k * h]))
  }
  /** The feed-forward layer, ReLU or the exact (erf) GELU. */
  const ff = (v: tf.Tensor, name: string, activation: 'relu' | 'gelu' = 'relu'): tf.Tensor => {
    const z = tf.add(linear(v, p(`${name}.1.weight`)), p(`${name}.1.bias`))
    const a =
      activation === 'relu'
        ? tf.relu(z)
        : tf.mul(tf.mul(z, 0.5), tf.add(1, tf.erf(tf.div(z, Math.SQRT2))))
    return tf.add(linear(a, p(`${name}.2.weight`)), p(`${name}.2.bias`))
  }
  /** A residual sub-layer, post-norm `LN(v + f(v))` or pre-norm `v + f(LN(v))`. */
  const sub = (
    norm: 'post' | 'pre',
    v: tf.Tensor,
    lnName: string,
    f: (u: tf.Tensor) => tf.Tensor,
  ): tf.Tensor => (norm === 'post' ? ln(tf.add(v, f(v)), lnName) : tf.add(v, f(ln(v, lnName))))
  return { linear, ln, mha, ff, sub }
}
