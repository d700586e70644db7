/**
 * The raw gradient's fusions (src/derive/vjp.ts, `fuseLinear`; issue 12, section 2): an
 * element-wise product read by one einsum is fused into it when no pairwise step grows, and the
 * seed's constant 1 is dropped from the einsums it multiplies. Each changes the steps the
 * evaluator runs, never the values: the gradients are checked against the forward-derivative
 * gradient of Fig. 33 (`forwardGradient`: jvp only, no transpose, no fusion).
 */
import { describe, expect, it } from 'vitest'
import {
  type Term,
  attention,
  broadcast,
  cost,
  evaluate,
  forwardGradient,
  gelu,
  grad,
  id,
  layerNormAffine,
  liftParams,
  linearLayer,
  mul,
  par,
  param,
  randomInputs,
  randomParams,
  seq,
  sumLoss,
} from '../src/index.js'
import { weightedSumLoss } from '../src/testing/losses.js'
import { subterms } from '../src/testing/walk.js'

/** grad(f) with respect to every input (f's parameters named in `lift` made inputs first). */
const agreesWithForwardGradient = (
  f: Term,
  lift: ReadonlyArray<string>,
  sizes: Record<string, number>,
) => {
  const g = lift.length === 0 ? f : liftParams(f, lift).term
  const inputs = randomInputs(g.dom, sizes, 3)
  const params = randomParams(g, sizes, 4)
  const a = evaluate(grad(g), sizes, inputs, params)
  const b = evaluate(forwardGradient(g), sizes, inputs, params)
  expect(a.length).toBe(b.length)
  a.forEach((v, i) => {
    const w = b[i] as Float64Array
    const scale = Math.max(1, ...Array.from(w, Math.abs))
    v.forEach((x, j) => expect(Math.abs(x - (w[j] as number)) / scale).toBeLessThan(1e-12))
  })
  return grad(g)
}

const sumsNone = (t: Extract<Term, { kind: 'einsum' }>): boolean =>
  t.inputs.every((ls) => ls.every((l) => t.output.includes(l)))

describe('grad: element-wise products fused into the einsum that reads them', () => {
  it('layerNorm with gain and bias: (ḡ ⊙ gain) · 1/σ is one einsum of three inputs, the gain gradient one of two', () => {
    const f = weightedSumLoss(layerNormAffine('ln', 'x', 'm'))
    const g = agreesWithForwardGradient(f, ['ln.gain', 'ln.bias'], { x: 3, m: 5 })
    const einsums = subterms(g).filter((t) => t.kind === 'einsum')
    // m, x m, x -> x m: the gain (shared over the tokens), the cotangent, 1/σ per token.
    const scaled = einsums.filter(
      (t) => t.inputs.length === 3 && sumsNone(t) && t.output.length === 2,
    )
    expect(scaled.length).toBe(1)
    // Σ_x y ⊙ ḡ: the product and the sum over the tokens in one einsum.
    const gainGrad = einsums.filter(
      (t) =>
        t.inputs.length === 2 && t.output.length === 1 && t.inputs.every((ls) => ls.length === 2),
    )
    expect(gainGrad.length).toBeGreaterThanOrEqual(1)
  })

  it('a product read by a contraction is not fused into it: (ḡ ⊙ g) Aᵀ stays two steps', () => {
    // L(A) ; ⊙ g ; L(B) over tokens, the gradient in the inputs and g: the cotangent times g is
    // read by the one matmul with A (fused, it would be the three-input f, x f, f m -> x m).
    const ff = broadcast(
      seq(
        linearLayer('A', 'm', 'f'),
        par(id([['f']]), param('g', ['f'])),
        mul('f'),
        linearLayer('B', 'f', 'm'),
      ),
      ['x'],
    )
    const g = agreesWithForwardGradient(weightedSumLoss(ff), ['g'], { x: 3, m: 4, f: 5 })
    const risky = subterms(g).filter(
      (t) => t.kind === 'einsum' && t.inputs.length > 2 && !sumsNone(t),
    )
    expect(risky).toEqual([])
    // The product g ⊙ ḡ, spread g fused in: f, x f -> x f.
    expect(
      subterms(g).some(
        (t) => t.kind === 'einsum' && t.inputs.length === 2 && sumsNone(t) && t.output.length === 2,
      ),
    ).toBe(true)
  })

  it('the feed-forward block (GELU slope times the cotangent, read by two matmuls): FLOPs within 3.1x', () => {
    const ff = broadcast(seq(linearLayer('A', 'm', 'f'), gelu('f'), linearLayer('B', 'f', 'm')), [
      'x',
    ])
    const f = weightedSumLoss(ff)
    const params = Object.keys(randomParams(f, { x: 1, m: 1, f: 1 }, 1))
    agreesWithForwardGradient(f, params, { x: 3, m: 4, f: 5 })
    const sizes = { x: 16, m: 64, f: 128 }
    const lifted = liftParams(f, params).term
    expect(cost(grad(lifted), sizes).flops / cost(lifted, sizes).flops).toBeLessThan(3.1)
  })
})

describe('grad: the seed 1 is not multiplied in', () => {
  it('attention summed: no offset(1) left, the same gradient', () => {
    const f = sumLoss(attention({ y: 'y', x: 'x', k: 'k', v: 'v' }))
    const g = agreesWithForwardGradient(f, [], { y: 3, x: 4, k: 2, v: 3 })
    expect(subterms(g).filter((t) => t.kind === 'scalar' && t.op === 'offset')).toEqual([])
  })

  it('Σ x ⊙ R: the gradient is R itself, read without a product', () => {
    const f = weightedSumLoss(id([['x', 'm']]))
    const g = grad(f)
    const sizes = { x: 2, m: 3 }
    const R = Float64Array.from([1, -0, 2.5, Number.NaN, -Infinity, 1e-310])
    const [dx] = evaluate(g, sizes, [new Float64Array(6)], { R })
    // Bit for bit R, the sign of -0 included (0 + x · 1 would make it +0).
    expect(
      Array.from(dx as Float64Array).map((v) => (Object.is(v, -0) ? '-0' : String(v))),
    ).toEqual(Array.from(R).map((v) => (Object.is(v, -0) ? '-0' : String(v))))
    expect(subterms(g).filter((t) => t.kind === 'einsum')).toEqual([])
  })
})
