/**
 * The transformer of Fig. 38 (`src/models/transformer.ts`): types, parameter counts by hand, the
 * causal mask, and the whole encoder-decoder against TensorFlow.js written layer by layer
 * (tf.matMul, tf.moments, tf.softmax on the same weights) in both layer norm placements, forward
 * and the gradient with respect to the tokens and every parameter, and against finite
 * differences (test/models-oracle.ts states the tolerances).
 */
import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import {
  type NormPlacement,
  TermError,
  attention,
  causalMask,
  evaluate,
  paramsOf,
  randomInputs,
  randomParams,
  shapeExtents,
  showType,
  sinusoidalEncoding,
  transformer,
  transformerParamCount,
} from '../src/index.js'
import { type Get, checkModel, tfLayers } from './models-oracle.js'
import { useTensorFlowCpu } from './tf-setup.js'

useTensorFlowCpu()

const dims = { x: 'x', y: 'y', vs: 'vs', vt: 'vt', m: 'm', k: 'k', h: 'h', f: 'f' }
const sizes = { x: 4, y: 3, vs: 5, vt: 6, m: 4, k: 2, h: 2, f: 6 }

const count = (t: ReturnType<typeof transformer>, s: Record<string, number>): number =>
  [...paramsOf(t).values()].reduce((n, sh) => n + shapeExtents(sh, s).reduce((a, e) => a * e, 1), 0)

/** One-hot tokens `[n v]`, token i being (3 i + 1) mod v. */
const tokens = (n: number, v: number): Float64Array =>
  Float64Array.from({ length: n * v }, (_, e) =>
    e % v === (3 * Math.floor(e / v) + 1) % v ? 1 : 0,
  )

/** The transformer with TensorFlow ops, sizes fixed. */
const tfTransformer =
  (norm: NormPlacement, layers: number) =>
  ([source, target, mask]: ReadonlyArray<tf.Tensor>, p: Get): tf.Tensor => {
    const { m } = sizes
    const { linear, ln, mha, ff, sub: residual } = tfLayers(p, sizes)
    const sub = (v: tf.Tensor, lnName: string, f: (u: tf.Tensor) => tf.Tensor): tf.Tensor =>
      residual(norm, v, lnName, f)
    const embed = (t: tf.Tensor, name: string): tf.Tensor =>
      tf.add(tf.mul(linear(t, p(`${name}.embed.weight`)), Math.sqrt(m)), p(`${name}.position`))
    let memory = embed(source as tf.Tensor, 'src')
    for (let i = 1; i <= layers; i++) {
      memory = sub(memory, `enc${i}.ln1`, (u) => mha(u, u, `enc${i}.attn.`))
      memory = sub(memory, `enc${i}.ln2`, (u) => ff(u, `enc${i}.ff`))
    }
    if (norm === 'pre') memory = ln(memory, 'enc.ln')
    let v = embed(target as tf.Tensor, 'tgt')
    for (let i = 1; i <= layers; i++) {
      v = sub(v, `dec${i}.ln1`, (u) => mha(u, u, `dec${i}.self.`, mask))
      v = sub(v, `dec${i}.ln2`, (u) => mha(u, memory, `dec${i}.cross.`))
      v = sub(v, `dec${i}.ln3`, (u) => ff(u, `dec${i}.ff`))
    }
    if (norm === 'pre') v = ln(v, 'dec.ln')
    return tf.softmax(tf.add(linear(v, p('out.weight')), p('out.bias')))
  }

describe('the transformer (Fig. 38)', () => {
  it('is typed from tokens and mask to a distribution per target position', () => {
    const net = transformer({ ...dims, layers: 2 })
    expect(showType(net.dom)).toBe('[x vs] × [y vt] × [y y]')
    expect(showType(net.cod)).toBe('[y vt]')
    expect(() => transformer({ ...dims, layers: 0 })).toThrow(TermError)
    expect(() => transformer({ ...dims, layers: 1, norm: 'middle' as never })).toThrow(
      /'post' or 'pre'/,
    )
  })

  it('has the parameter count of the hand formula, the engine and paramsOf agreeing', () => {
    const { x, y, vs, vt, m, k, h, f } = sizes
    // By hand, Fig. 38 with Fig. 23's heads (Q, K, V: m -> k h; O: k h -> m; no biases):
    const attn = 4 * m * k * h // 64
    const ffn = m * f + f + f * m + m // 58
    const encoderLayer = attn + 2 * m + ffn + 2 * m // attention, LN, FF, LN: 138
    const decoderLayer = attn + 2 * m + attn + 2 * m + ffn + 2 * m // 210
    const embeddings = vs * m + x * m + vt * m + y * m // 72
    const generator = m * vt + vt // 30
    expect(encoderLayer).toBe(138)
    expect(decoderLayer).toBe(210)
    const post1 = encoderLayer + decoderLayer + embeddings + generator
    expect(post1).toBe(450)
    expect(count(transformer({ ...dims, layers: 1 }), sizes)).toBe(post1)
    expect(transformerParamCount({ ...sizes, layers: 1 })).toBe(post1)
    const pre2 = 2 * (encoderLayer + decoderLayer) + embeddings + generator + 2 * (2 * m)
    expect(count(transformer({ ...dims, layers: 2, norm: 'pre' }), sizes)).toBe(pre2)
    expect(transformerParamCount({ ...sizes, layers: 2, norm: 'pre' })).toBe(pre2)
  })

  it('masks the future: a target position does not depend on later target tokens', () => {
    const net = transformer({ ...dims, layers: 1 })
    const ps = randomParams(net, sizes, 3)
    const src = tokens(sizes.x, sizes.vs)
    const tgt = tokens(sizes.y, sizes.vt)
    const [a] = evaluate(net, sizes, [src, tgt, causalMask(sizes.y)], ps) as [Float64Array]
    const changed = tgt.slice()
    changed.fill(0, 2 * sizes.vt) // the last target token removed
    changed[2 * sizes.vt + 4] = 1
    const [b] = evaluate(net, sizes, [src, changed, causalMask(sizes.y)], ps) as [Float64Array]
    // Positions 0 and 1 are unchanged; position 2 sees its own token, so it changes.
    for (let e = 0; e < 2 * sizes.vt; e++) expect(b[e]).toBeCloseTo(a[e] as number, 14)
    expect(Math.abs((b[2 * sizes.vt] as number) - (a[2 * sizes.vt] as number))).toBeGreaterThan(
      1e-9,
    )
    // Without the mask (zeros), position 0 does see the later tokens.
    const zero = new Float64Array(sizes.y * sizes.y)
    const [c] = evaluate(net, sizes, [src, tgt, zero], ps) as [Float64Array]
    const [d] = evaluate(net, sizes, [src, changed, zero], ps) as [Float64Array]
    expect(Math.abs((c[0] as number) - (d[0] as number))).toBeGreaterThan(1e-9)
  })

  it('masked attention by hand: a query attends only to the keys the mask allows', () => {
    const att = attention({ y: 'y', x: 'x', k: 'k' }, { mask: true })
    const s = { y: 2, x: 2, k: 1 }
    const [q, kk] = randomInputs(att.dom, s, 4) as [Float64Array, Float64Array]
    const values = Float64Array.of(10, 20)
    const [out] = evaluate(att, s, [q, kk, values, causalMask(2)]) as [Float64Array]
    expect(out[0]).toBeCloseTo(10, 12) // query 0 sees key 0 only
    expect(out[1]).toBeGreaterThan(10) // query 1 mixes both
    expect(out[1]).toBeLessThan(20)
  })

  it('the sinusoidal encoding by its definition', () => {
    const pe = sinusoidalEncoding(3, 4)
    expect(pe[2 * 4 + 2]).toBeCloseTo(Math.sin(2 / 10000 ** (2 / 4)), 15)
    expect(pe[1 * 4 + 3]).toBeCloseTo(Math.cos(1 / 10000 ** (2 / 4)), 15)
  })

  for (const norm of ['post', 'pre'] as const)
    it(`agrees with TensorFlow and finite differences (${norm}-norm, N = 1)`, () => {
      const net = transformer({ ...dims, layers: 1, norm })
      const report = checkModel(
        {
          name: `transformer ${norm}`,
          term: net,
          tf: tfTransformer(norm, 1),
          inputs: (s) => [tokens(s.x!, s.vs!), tokens(s.y!, s.vt!), causalMask(s.y!)],
          constantInputs: [2],
        },
        sizes,
        11,
      )
      console.info(`transformer (${norm}) oracle: worst/tolerance ${JSON.stringify(report)}`)
    }, 300_000)
})
