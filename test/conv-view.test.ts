/**
 * A convolution's input gradient handed to the transposed convolution tensor where its matrix
 * product leaves it (src/eval/evaluate.ts markViews, src/eval/kernels.ts
 * convAdjointStridedKernel): the strided kernel against the dense one on every source layout,
 * and the gradient of conv2d against its definition by indexes and against the evaluation as
 * written, bit for bit.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  broadcast,
  conv2d,
  convTensorAdjoint,
  dimSize,
  einsum,
  evaluate,
  randomParams,
  seededRandom,
  seq,
  vjp,
} from '../src/index.js'
import { contractionSchedule } from '../src/eval/contract.js'
import { compiledSteps, evaluateAsWritten } from '../src/eval/evaluate.js'
import { convAdjointBlockKernel, convAdjointStridedKernel } from '../src/eval/kernels.js'
import { type SourceLoop, gather, mergeRuns, stridesOf } from '../src/eval/strided.js'

const alloc = (n: number) => new Float64Array(n)

/** Row-major strides of `shape` laid out in the axis order `order` (a permutation). */
const permutedStrides = (shape: ReadonlyArray<number>, order: ReadonlyArray<number>): number[] => {
  const inOrder = stridesOf(order.map((a) => shape[a] as number))
  const strides = new Array<number>(shape.length)
  order.forEach((a, i) => (strides[a] = inOrder[i] as number))
  return strides
}

/** Entries with signed zeros, NaN and infinities among them. */
const entry = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -4, max: 4, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, NaN, Infinity, -Infinity) },
)

describe('convAdjointStridedKernel', () => {
  it('is the dense kernel on the gathered source, bit for bit, for every source layout', () => {
    let gathered = 0
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 2 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 2 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 2 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.array(entry, { minLength: 1, maxLength: 8 }),
        (rows, y, k, stride, dilation, block, seed, pool) => {
          const x = stride * (y - 1) + dilation * (k - 1) + 1
          const shape = [...rows, y, k, ...block]
          const n = shape.reduce((a, b) => a * b, 1)
          const random = seededRandom(seed)
          const order = shape.map((_, a) => a).sort(() => random() - 0.5)
          const strides = permutedStrides(shape, order)
          const src = Float64Array.from(
            { length: n },
            () => pool[Math.floor(random() * pool.length)] as number,
          )
          const loops = (from: number, to: number): SourceLoop[] =>
            shape.slice(from, to).map((e, a) => ({ n: e, s: strides[from + a] as number }))
          const r = rows.length
          const got = convAdjointStridedKernel(
            src,
            loops(0, r),
            { x, y, k, si: strides[r] as number, sj: strides[r + 1] as number },
            loops(r + 2, shape.length),
            stride,
            dilation,
            alloc,
          )
          const dense = gather(src, shape, strides, alloc)
          const b = block.reduce((a, e) => a * e, 1)
          const want = convAdjointBlockKernel(dense, x, y, k, stride, dilation, b, alloc)
          expect(got.length).toBe(want.length)
          want.forEach((v, i) => expect(Object.is(got[i], v)).toBe(true))
          const runs = mergeRuns(loops(r + 2, shape.length))
          if (runs.length > 1) gathered++
        },
      ),
      { numRuns: 300 },
    )
    // Both of its paths ran: the block as one strided run, and a block gathered first.
    expect(gathered).toBeGreaterThan(0)
  })
})

/** conv2d's input gradient by its definition: x̄[h, w, c] = Σ ȳ[i, j, o] W[o, c, p, q]. */
const inputGradient = (
  g: Float64Array,
  weight: Float64Array,
  s: { h: number; w: number; c: number; o: number; kh: number; kw: number },
  conv: { stride: [number, number]; dilation: [number, number]; pad: [number, number] },
  out: { yh: number; yw: number },
): Float64Array => {
  const x = new Float64Array(s.h * s.w * s.c)
  for (let i = 0; i < out.yh; i++)
    for (let j = 0; j < out.yw; j++)
      for (let o = 0; o < s.o; o++)
        for (let c = 0; c < s.c; c++)
          for (let p = 0; p < s.kh; p++)
            for (let q = 0; q < s.kw; q++) {
              const h = conv.stride[0] * i + conv.dilation[0] * p - conv.pad[0]
              const w = conv.stride[1] * j + conv.dilation[1] * q - conv.pad[1]
              if (h < 0 || h >= s.h || w < 0 || w >= s.w) continue
              const gy = g[(i * out.yw + j) * s.o + o] as number
              const wt = weight[((o * s.c + c) * s.kh + p) * s.kw + q] as number
              x[(h * s.w + w) * s.c + c] = (x[(h * s.w + w) * s.c + c] as number) + gy * wt
            }
  return x
}

describe('the input gradient of conv2d, read strided', () => {
  it('is its definition by indexes, and the evaluation as written bit for bit', () => {
    let viewed = 0
    fc.assert(
      fc.property(
        fc.record({
          h: fc.integer({ min: 2, max: 9 }),
          w: fc.integer({ min: 2, max: 9 }),
          c: fc.integer({ min: 1, max: 4 }),
          o: fc.integer({ min: 1, max: 4 }),
          kh: fc.integer({ min: 1, max: 3 }),
          kw: fc.integer({ min: 1, max: 3 }),
        }),
        fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
        fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
        fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
        fc.integer({ min: 0, max: 1000 }),
        (s, stride, dilation, pad, seed) => {
          const net = conv2d('k', {
            h: 'h',
            w: 'w',
            kh: 'kh',
            kw: 'kw',
            cIn: 'c',
            cOut: 'o',
            stride,
            dilation,
            padding: [
              [pad[0], pad[0]],
              [pad[1], pad[1]],
            ],
          })
          // An input shorter than its dilated kernel is refused (test/oracle-conv.test.ts).
          if (s.h + 2 * pad[0] < dilation[0] * (s.kh - 1) + 1) return
          if (s.w + 2 * pad[1] < dilation[1] * (s.kw - 1) + 1) return
          const sizes = { h: s.h, w: s.w, c: s.c, o: s.o, kh: s.kh, kw: s.kw }
          const [yh, yw] = (net.cod[0] ?? []).slice(0, 2).map((d) => dimSize(d, sizes))
          if (yh === undefined || yw === undefined || yh < 1 || yw < 1) return
          const back = vjp(net)
          const random = seededRandom(seed)
          const x = Float64Array.from({ length: s.h * s.w * s.c }, () => random() - 0.5)
          const g = Float64Array.from({ length: yh * yw * s.o }, () => random() - 0.5)
          const params = randomParams(back, sizes, seed)
          const got = evaluate(back, sizes, [x, g], params)[1] as Float64Array
          const want = inputGradient(
            g,
            params['k.weight'] as Float64Array,
            s,
            {
              stride,
              dilation,
              pad,
            },
            { yh, yw },
          )
          want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 12))
          const written = evaluateAsWritten(back, sizes, [x, g], params)[1] as Float64Array
          written.forEach((v, i) => expect(Object.is(got[i], v)).toBe(true))
          if (compiledSteps(back).some((r) => r.view)) viewed++
        },
      ),
      { numRuns: 60 },
    )
    expect(viewed).toBeGreaterThan(30)
  })

  it('multiplies into [a b][p q c]: the weights move, the 590k-entry result does not', () => {
    const size = new Map(Object.entries({ o: 8, c: 16, p: 3, q: 3, a: 64, b: 64 }))
    const dx = contractionSchedule([[...'ocpq'], [...'abo']], [...'abpqc'], size)
    expect(dx.final).toMatchObject({ kind: 'permute', perm: [0, 1, 2, 3, 4] })
    // The weight gradient, whose result is smaller than its operands, keeps its plan: the
    // result of 1152 entries is transposed, not the image.
    const dw = contractionSchedule([[...'apbqc'], [...'abo']], [...'ocpq'], size)
    expect(dw.final).toMatchObject({ kind: 'permute', shape: [3, 3, 16, 8] })
  })
})

describe('a view keeps the order of every sum (hole found by a second reading of cf5088f)', () => {
  it('two summed labels: the evaluation as written, bit for bit', () => {
    // Planned in the reader's order, this einsum ran the direct loop nest instead of one
    // product over (c1, c0), summed each entry in another order, and 10 of 12 entries differed
    // from the evaluation as written in the last bit.
    const adjoint = convTensorAdjoint('x', 'k')
    const y = adjoint.dom[0]![0]!
    const term = seq(
      einsum('Y c1 K c0, K b0 c0 Y r00 c1 -> r00 Y K b0', {
        dims: { Y: y, K: 'k', b0: 'b0', r00: 'r00', c0: 'c0', c1: 'c1' },
      }),
      broadcast(broadcast(adjoint, ['b0'], { at: 'last' }), ['r00']),
    )
    const sizes = { x: 6, k: 3, b0: 1, r00: 2, c0: 3, c1: 3 }
    const random = seededRandom(7)
    const a = Float64Array.from({ length: 108 }, () => random() - 0.5)
    const b = Float64Array.from({ length: 216 }, () => random() - 0.5)
    expect(compiledSteps(term).filter((r) => r.view)).toHaveLength(1)
    const got = evaluate(term, sizes, [a, b])[0]!
    const written = evaluateAsWritten(term, sizes, [a, b])[0]!
    expect(got.length).toBe(12)
    written.forEach((v, i) => expect(Object.is(got[i], v)).toBe(true))
  })
})
