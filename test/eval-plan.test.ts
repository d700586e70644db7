/**
 * The evaluator keeps each einsum step's planned contraction for the sizes it was planned at
 * (src/eval/evaluate.ts, `EinsumPlan`): one term evaluated at alternating sizes, and under both
 * matmul kernels, against a naive loop each time, so a plan replayed at the wrong sizes, levels
 * or kernel would be caught.
 */
import { describe, expect, it } from 'vitest'
import { broadcast, einsum, evaluate } from '../src/index.js'
import { matmulKernel, setMatmulKernel } from '../src/eval/wasm/gemm.js'

/** out[n, a, c] = Σ_b x[n, a, b] w[b, c] (w shared by the rows n). */
const naive = (x: Float64Array, w: Float64Array, n: number, a: number, b: number, c: number) => {
  const out = new Float64Array(n * a * c)
  for (let i = 0; i < n; i++)
    for (let p = 0; p < a; p++)
      for (let q = 0; q < c; q++) {
        let s = 0
        for (let r = 0; r < b; r++)
          s += (x[(i * a + p) * b + r] as number) * (w[r * c + q] as number)
        out[(i * a + p) * c + q] = s
      }
  return out
}

describe('einsum plans', () => {
  const t = broadcast(einsum('a b, b c -> a c'), ['n'], { inputs: [0, 'shared'] })
  const run = (sizes: { n: number; a: number; b: number; c: number }) => {
    const { n, a, b, c } = sizes
    const x = Float64Array.from({ length: n * a * b }, (_, i) => Math.sin(i + n))
    const w = Float64Array.from({ length: b * c }, (_, i) => Math.cos(i * 3 + c))
    const [got] = evaluate(t, sizes, [x, w])
    const want = naive(x, w, n, a, b, c)
    expect((got as Float64Array).length).toBe(want.length)
    want.forEach((v, i) =>
      expect(Math.abs(((got as Float64Array)[i] as number) - v)).toBeLessThan(1e-12),
    )
  }
  it('are replanned when the sizes change, and replayed when they come back', () => {
    const sizes = [
      { n: 3, a: 2, b: 4, c: 5 },
      { n: 1, a: 7, b: 3, c: 2 },
      { n: 3, a: 2, b: 4, c: 5 },
      { n: 5, a: 9, b: 17, c: 33 },
      { n: 1, a: 7, b: 3, c: 2 },
    ]
    for (const s of sizes) run(s)
  })
  it('follow the matmul kernel', () => {
    const old = matmulKernel()
    try {
      for (const k of ['wasm', 'typescript', 'auto'] as const) {
        setMatmulKernel(k)
        run({ n: 4, a: 16, b: 16, c: 16 })
        run({ n: 2, a: 3, b: 5, c: 4 })
      }
    } finally {
      setMatmulKernel(old)
    }
  })
})
