import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  TermError,
  constDim,
  convTensor,
  convTensorTransposeFrom,
  cropAxis,
  dim,
  dimProduct,
  dimSize,
  evaluate,
  pad,
  seq,
} from '../src/index.js'

// Issue 14, section 2: the crop of any axis, and the transposed convolution built from its input.

describe('cropAxis', () => {
  it('keeps the entries from before to a - after, on random sizes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        (n, b, a) => {
          const x = Array.from({ length: n + b + a }, (_, i) => i + 1)
          const out = evaluate(cropAxis('x', b, a), { x: n + b + a }, [x])[0]!
          expect(Array.from(out)).toEqual(x.slice(b, b + n))
        },
      ),
    )
  })
  it('undoes a padding, and is refused at evaluation when it leaves nothing', () => {
    const t = seq(pad('x', 1, 2), cropAxis(pad('x', 1, 2).cod[0]![0]!, 1, 2))
    expect(Array.from(evaluate(t, { x: 3 }, [[1, 2, 3]])[0]!)).toEqual([1, 2, 3])
    expect(() => evaluate(cropAxis('x', 2, 1), { x: 3 }, [[1, 2, 3]])).toThrow(TermError)
    // A false neighbour: cropping 1, 2 is not cropping 2, 1.
    const a = evaluate(cropAxis('x', 1, 2), { x: 5 }, [[1, 2, 3, 4, 5]])[0]!
    const b = evaluate(cropAxis('x', 2, 1), { x: 5 }, [[1, 2, 3, 4, 5]])[0]!
    expect(Array.from(a)).not.toEqual(Array.from(b))
  })
})

/** PyTorch's ConvTranspose1d by its definition, one channel: out[s i + d j - p] += in[i, j]. */
const byLoops = (
  input: number[][],
  k: number,
  s: number,
  d: number,
  p: number,
  op: number,
): number[] => {
  const y = input.length
  const n = (y - 1) * s - 2 * p + d * (k - 1) + op + 1
  const out = new Array<number>(n).fill(0)
  for (let i = 0; i < y; i++)
    for (let j = 0; j < k; j++) {
      const at = s * i + d * j - p
      if (at >= 0 && at < n) out[at]! += input[i]![j]!
    }
  return out
}

describe('convTensorTransposeFrom', () => {
  it('equals the definition by indexes, with the output size of PyTorch, on random sizes', () => {
    let checked = 0
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 2 }),
        (y, k, s, d, p, op0) => {
          const op = op0 % s
          const n = (y - 1) * s - 2 * p + d * (k - 1) + op + 1
          if (n < 1) return
          const t = convTensorTransposeFrom('y', 'k', {
            stride: s,
            dilation: d,
            padding: p,
            outputPadding: op,
          })
          expect(dimSize(t.cod[0]![0]!, { y, k })).toBe(n)
          const input = Array.from({ length: y }, (_, i) =>
            Array.from({ length: k }, (_, j) => Math.sin(1 + 3 * i + j)),
          )
          const out = evaluate(t, { y, k }, [input.flat()])[0]!
          const want = byLoops(input, k, s, d, p, op)
          out.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12))
          checked++
        },
      ),
      { numRuns: 200 },
    )
    expect(checked).toBeGreaterThan(50)
  })
  it('follows a down-sampling: kernel 2 stride 2 gives back (2*h), which a plain h does not', () => {
    const h2 = dimProduct(2, 'h')
    const down = convTensor(h2, constDim(2), { stride: 2 })
    const up = convTensorTransposeFrom(down.cod[0]![0]!, constDim(2), { stride: 2 })
    expect(up.cod[0]![0]).toEqual(h2)
    const plain = convTensor(dim('h'), constDim(2), { stride: 2 })
    const back = convTensorTransposeFrom(plain.cod[0]![0]!, constDim(2), { stride: 2 })
    expect(dimSize(back.cod[0]![0]!, { h: 7 })).toBe(6)
    expect(back.cod[0]![0]).not.toEqual(dim('h'))
  })
  it('refuses an output padding not below the stride', () => {
    expect(() => convTensorTransposeFrom('y', 'k', { stride: 2, outputPadding: 2 })).toThrow(
      /output padding must be below the stride/,
    )
  })
})
