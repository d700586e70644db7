/**
 * The WebAssembly matrix product (src/eval/wasm, issue 12 section 3) against the plain TypeScript
 * kernels of src/eval/contract.ts, its reference. The two sum every entry in the same order with
 * the same roundings (no fused multiply-add), so the tolerance is zero: every entry must be the
 * same float64, bit for bit (NaN against NaN), on random shapes whose extents cross every edge of
 * the blocking (the 4 x 4 microkernel, KC = 256, MC = 128, NC = 2048), both operand layouts,
 * batches, and values that include zeros of both signs, infinities and NaN. Through `evaluate`,
 * random einsums with batch axes, transposes and broadcasts give the same outputs, of the same
 * lengths, with either kernel.
 *
 * The committed binary (src/eval/wasm/gemm-binary.ts) is compiled again from gemm.wat here and
 * must be identical, so it cannot drift from its source.
 */
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WASM_KERNELS, binaryModule, compileWat } from '../scripts/build-wasm.js'
import {
  type Sizes,
  type Term,
  broadcast,
  conv2d,
  cost,
  einsum,
  evaluate,
  randomInputs,
  randomParams,
  releaseBuffers,
  seededRandom,
} from '../src/index.js'
import { batchedMatmul, batchedMatmulInnerFirst } from '../src/eval/contract.js'
import { WASM_BASE64 } from '../src/eval/wasm/gemm-binary.js'
import {
  WASM_MIN_WORK,
  denseView,
  setMatmulKernel,
  setMatmulThreads,
  startMatmulThreads,
  stopMatmulThreads,
  wasmAvailable,
  wasmBatchedMatmul,
  wasmWanted,
} from '../src/eval/wasm/gemm.js'
import { countAllocations } from './support.js'

const alloc = (n: number): Float64Array => new Float64Array(n)

/** The index of the first entry where the two differ as float64 values (NaN equals NaN), or -1. */
const firstDifference = (x: Float64Array, y: Float64Array): number => {
  if (x.length !== y.length) return Math.min(x.length, y.length)
  for (let i = 0; i < x.length; i++) {
    const a = x[i] as number
    const b = y[i] as number
    if (!(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)))) return i
  }
  return -1
}

/** Entries drawn from [-1, 1), with a few exact zeros, -0, ±∞, NaN and large magnitudes. */
const data = (n: number, seed: number, special: boolean): Float64Array => {
  const next = seededRandom(seed)
  const specials = [0, -0, Infinity, -Infinity, NaN, 1e300, -1e-300]
  return Float64Array.from({ length: n }, () => {
    const u = next()
    if (special && u < 0.02) return specials[Math.floor(next() * specials.length)] as number
    return 2 * next() - 1
  })
}

afterEach(() => {
  setMatmulKernel('auto')
})

describe('the WebAssembly kernel', () => {
  it('runs here (Node has WebAssembly SIMD)', () => {
    expect(wasmAvailable()).toBe(true)
  })

  it('is the binary compiled from gemm.wat (npm run build:wasm writes it)', async () => {
    const bytes = await compileWat('gemm')
    expect(Buffer.from(bytes).toString('base64')).toBe(WASM_BASE64)
    for (const name of WASM_KERNELS) {
      const { file, text } = await binaryModule(name)
      expect(readFileSync(file, 'utf8'), name).toBe(text)
    }
  })

  /** `[t, r, c]` to `[t, c, r]`. */
  const transpose = (x: Float64Array, batch: number, rows: number, cols: number): Float64Array => {
    const out = new Float64Array(x.length)
    for (let t = 0; t < batch; t++)
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++)
          out[(t * cols + c) * rows + r] = x[(t * rows + r) * cols + c] as number
    return out
  }

  /**
   * One product in WebAssembly, A stored `[t, m, k]` (or `[t, k, m]` when aFirst), B `[t, n, k]`
   * (or `[t, k, n]`), against the TypeScript kernel of the same summed-axis position (the other
   * operand transposed to match when the layouts are mixed).
   */
  const check = (
    batch: number,
    m: number,
    k: number,
    n: number,
    aFirst: boolean,
    bFirst: boolean,
    seed: number,
    special: boolean,
  ): void => {
    const a = data(batch * m * k, seed, special)
    const b = data(batch * k * n, seed + 1, special)
    setMatmulKernel('wasm')
    const fast = wasmBatchedMatmul(
      a,
      denseView(m, k, aFirst),
      b,
      denseView(n, k, bFirst),
      batch,
      m,
      k,
      n,
      alloc,
    )
    const reference = aFirst
      ? batchedMatmulInnerFirst(a, bFirst ? b : transpose(b, batch, n, k), batch, m, k, n, alloc)
      : batchedMatmul(a, bFirst ? transpose(b, batch, k, n) : b, batch, m, k, n, alloc)
    expect(fast).toBeInstanceOf(Float64Array)
    const at = firstDifference(fast as Float64Array, reference)
    if (at >= 0)
      expect.fail(
        `batch ${batch}, m ${m}, k ${k}, n ${n}, A ${aFirst ? '[k m]' : '[m k]'}, B ${bFirst ? '[k n]' : '[n k]'}: entry ${at} is ${fast?.[at]}, the TypeScript kernel gives ${reference[at]}`,
      )
  }

  it('agrees bit for bit with the TypeScript kernels on random shapes and all four layouts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 13 }),
        fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 250, max: 600 })),
        fc.integer({ min: 1, max: 13 }),
        fc.boolean(),
        fc.boolean(),
        fc.nat(),
        fc.boolean(),
        (batch, m, k, n, aFirst, bFirst, seed, special) =>
          check(batch, m, k, n, aFirst, bFirst, seed, special),
      ),
      { numRuns: 150 },
    )
  })

  it('agrees bit for bit across the edges of every block (MC = 128, KC = 256, NC = 2048)', () => {
    const shapes: ReadonlyArray<readonly [number, number, number, number]> = [
      [1, 1, 1, 1],
      [1, 4, 256, 4],
      [1, 4, 257, 4],
      [2, 128, 3, 8],
      [1, 129, 5, 7],
      [1, 131, 513, 6],
      [1, 3, 2, 2048],
      [1, 5, 3, 2051],
      [1, 6, 260, 2053],
      [3, 33, 70, 45],
    ]
    for (const [batch, m, k, n] of shapes)
      for (const aFirst of [false, true])
        for (const bFirst of [false, true])
          for (const special of [false, true])
            check(batch, m, k, n, aFirst, bFirst, m + k + n, special)
  })

  it('reads operands whose lines and summed axes are two strided runs each, bit for bit', () => {
    // A stored [i1 p1 i0 p0] (as conv2d's unfolded image [yh kh yw (kw c)]), read as lines
    // i = (i1, i0) by steps p = (p1, p0); B stored [p1 j p0], lines j by steps (p1, p0).
    fc.assert(
      fc.property(
        fc.tuple(
          fc.integer({ min: 1, max: 7 }),
          fc.integer({ min: 1, max: 9 }),
          fc.integer({ min: 1, max: 5 }),
          fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 60, max: 130 })),
          fc.integer({ min: 1, max: 11 }),
        ),
        fc.nat(),
        ([i1, i0, p1, p0, n], seed) => {
          const m = i1 * i0
          const k = p1 * p0
          const a = data(m * k, seed, true)
          const b = data(k * n, seed + 1, true)
          setMatmulKernel('wasm')
          const fast = wasmBatchedMatmul(
            a,
            { lines: [p1 * i0 * p0, p0, i0], steps: [i0 * p0, 1, p0] },
            b,
            { lines: [0, p0, n], steps: [n * p0, 1, p0] },
            1,
            m,
            k,
            n,
            alloc,
          )
          // The same operands made dense, [m k] and [n k], for the TypeScript kernel.
          const dense = new Float64Array(m * k)
          for (let r = 0; r < i1; r++)
            for (let s = 0; s < p1; s++)
              for (let q = 0; q < i0; q++)
                for (let t = 0; t < p0; t++)
                  dense[(r * i0 + q) * k + s * p0 + t] = a[
                    ((r * p1 + s) * i0 + q) * p0 + t
                  ] as number
          const denseB = new Float64Array(n * k)
          for (let s = 0; s < p1; s++)
            for (let j = 0; j < n; j++)
              for (let t = 0; t < p0; t++)
                denseB[j * k + s * p0 + t] = b[(s * n + j) * p0 + t] as number
          const reference = batchedMatmul(dense, denseB, 1, m, k, n, alloc)
          expect(firstDifference(fast as Float64Array, reference)).toBe(-1)
        },
      ),
      { numRuns: 120 },
    )
  })

  it("leaves small and thin products to TypeScript under 'auto', and every product under 'typescript'", () => {
    expect(wasmWanted(1, 2, 4, 2, false)).toBe(false)
    // Bound by memory however large: a matrix times a vector (either side, either layout), two
    // vectors, an outer product.
    expect(wasmWanted(1, 1, 1024, 512, false)).toBe(false)
    expect(wasmWanted(1, 1024, 512, 1, true)).toBe(false)
    expect(wasmWanted(1, 512, 1024, 2, false)).toBe(false)
    expect(wasmWanted(1, 512, 1, 1024, false)).toBe(false)
    expect(wasmWanted(1, 3, 1024, 512, false)).toBe(true)
    const m = 64
    const big = data(m * m, 3, false)
    expect(m * m * m).toBeGreaterThanOrEqual(WASM_MIN_WORK)
    expect(wasmWanted(1, m, m, m, false)).toBe(true)
    const view = denseView(m, m, false)
    expect(wasmBatchedMatmul(big, view, big, view, 1, m, m, m, alloc)).toBeInstanceOf(Float64Array)
    setMatmulKernel('typescript')
    expect(wasmWanted(1, m, m, m, false)).toBe(false)
    expect(wasmBatchedMatmul(big, view, big, view, 1, m, m, m, alloc)).toBeUndefined()
  })
})

describe('evaluate with either kernel', () => {
  const POOL = ['a', 'b', 'c', 'd', 'e'] as const

  /** An einsum of two operands over random labels, with its sizes. */
  const specArb = fc.record({
    x: fc.uniqueArray(fc.constantFrom(...POOL), { minLength: 1, maxLength: 4 }),
    y: fc.uniqueArray(fc.constantFrom(...POOL), { minLength: 1, maxLength: 4 }),
    keep: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
    sizes: fc.record(
      Object.fromEntries(POOL.map((l) => [l, fc.integer({ min: 1, max: 19 })])) as Record<
        (typeof POOL)[number],
        fc.Arbitrary<number>
      >,
    ),
    broadcastOver: fc.option(fc.integer({ min: 1, max: 3 })),
    seed: fc.nat(),
  })

  const outputsBoth = (
    term: Term,
    sizes: Sizes,
    seed: number,
  ): [Float64Array[], Float64Array[]] => {
    const inputs = randomInputs(term.dom, sizes, seed)
    const params = randomParams(term, sizes, seed + 1)
    setMatmulKernel('typescript')
    const slow = evaluate(term, sizes, inputs, params)
    setMatmulKernel('wasm')
    const fast = evaluate(term, sizes, inputs, params)
    return [slow, fast]
  }

  it('random two-operand einsums, some inside a broadcast, give the same outputs', () => {
    fc.assert(
      fc.property(specArb, ({ x, y, keep, sizes, broadcastOver, seed }) => {
        const labels = [...new Set([...x, ...y])]
        // Shuffled by the keep flags: kept labels in reverse order of first appearance.
        const output = labels.filter((_, i) => keep[i]).reverse()
        const spec = `${x.join(' ')}, ${y.join(' ')} -> ${output.join(' ')}`
        let term: Term = einsum(spec)
        const all: Record<string, number> = { ...sizes }
        if (broadcastOver !== null) {
          term = broadcast(term, ['t'])
          all['t'] = broadcastOver
        }
        const [slow, fast] = outputsBoth(term, all, seed)
        expect(fast.map((o) => o.length)).toEqual(slow.map((o) => o.length))
        slow.forEach((s, i) => {
          const at = firstDifference(fast[i] as Float64Array, s)
          if (at >= 0)
            expect.fail(`${spec} at ${JSON.stringify(all)}: output ${i} differs at ${at}`)
        })
      }),
      { numRuns: 120 },
    )
  })

  it('the workloads of the benchmark give the same outputs', () => {
    const cases: ReadonlyArray<readonly [string, Sizes]> = [
      ['b h q d, b h k d -> b h q k', { b: 2, h: 3, q: 33, k: 17, d: 9 }],
      ['b h q k, b h k d -> b h q d', { b: 2, h: 3, q: 33, k: 17, d: 9 }],
      ['a b, b c, c d -> a d', { a: 41, b: 37, c: 29, d: 23 }],
      ['i j, j -> i', { i: 300, j: 70 }],
      ['j, i j -> i', { i: 300, j: 70 }],
    ]
    for (const [spec, sizes] of cases) {
      const [slow, fast] = outputsBoth(einsum(spec), sizes, 7)
      expect(firstDifference(fast[0] as Float64Array, slow[0] as Float64Array), spec).toBe(-1)
    }
  })
})

describe('the cost model with the WebAssembly kernel', () => {
  /** The entries the evaluator allocates, counted at the Float64Array constructor. */
  const allocated = (t: Term, sizes: Sizes): number => {
    const inputs = randomInputs(t.dom, sizes, 1)
    const params = randomParams(t, sizes, 2)
    // A first evaluation, as the cost model counts: none of a last one's freed buffers kept.
    releaseBuffers()
    return countAllocations(() => evaluate(t, sizes, inputs, params))
  }

  it("counts what the evaluator allocates where products keep their operands' layouts", () => {
    const cases: ReadonlyArray<readonly [Term, Sizes]> = [
      // v keeps [b h k d] (summed axis first), p keeps [b h q k]: no transpose at all.
      [einsum('b h q k, b h k d -> b h q d'), { b: 2, h: 2, q: 24, k: 20, d: 12 }],
      [einsum('b h q d, b h k d -> b h q k'), { b: 2, h: 2, q: 24, k: 20, d: 12 }],
      [einsum('a b, b c, c d -> a d'), { a: 30, b: 20, c: 25, d: 15 }],
      // Pads and cuts broadcast after their axis run in place (the block kernels).
      [
        conv2d('C', {
          h: 'h',
          w: 'w',
          kh: 'p',
          kw: 'q',
          cIn: 'c',
          cOut: 'o',
          padding: [
            [1, 1],
            [1, 1],
          ],
        }),
        { h: 12, w: 10, c: 4, o: 5, p: 3, q: 3 },
      ],
    ]
    for (const kernel of ['wasm', 'typescript'] as const) {
      setMatmulKernel(kernel)
      for (const [t, sizes] of cases) expect(cost(t, sizes).allocated).toBe(allocated(t, sizes))
    }
    // The WebAssembly layouts move less: the attention output allocates only its result.
    setMatmulKernel('wasm')
    const [t, sizes] = cases[0] as readonly [Term, Sizes]
    expect(allocated(t, sizes)).toBe(2 * 2 * 24 * 12)
    // conv2d's unfolded image [yh kh yw kw c] is read where it lies (lines yh yw, steps kh kw c):
    // the einsum allocates its result and the weight's transpose, not a copy of the image.
    const [conv, at] = cases[3] as readonly [Term, Sizes]
    const wasm = allocated(conv, at)
    setMatmulKernel('typescript')
    const image = 12 * 3 * 10 * 3 * 4
    expect(allocated(conv, at)).toBeGreaterThanOrEqual(wasm + image)
  })
})

describe('two threads (startMatmulThreads)', () => {
  beforeAll(async () => {
    expect(await startMatmulThreads()).toBe(true)
  })
  afterAll(async () => {
    await stopMatmulThreads()
  })

  it("split batches or one batch's rows between the threads, bit for bit", () => {
    const shapes: ReadonlyArray<readonly [number, number, number, number]> = [
      [1, 3, 40, 9],
      [1, 9, 300, 7],
      [1, 130, 70, 21],
      [2, 17, 33, 5],
      [3, 8, 8, 8],
      [64, 12, 20, 10],
    ]
    for (const [batch, m, k, n] of shapes) {
      const a = data(batch * m * k, m, true)
      const b = data(batch * k * n, n, true)
      const view = (lines: number) => denseView(lines, k, false)
      setMatmulKernel('wasm')
      setMatmulThreads(2)
      const two = wasmBatchedMatmul(a, view(m), b, view(n), batch, m, k, n, alloc)
      setMatmulThreads(1)
      const one = wasmBatchedMatmul(a, view(m), b, view(n), batch, m, k, n, alloc)
      const reference = batchedMatmul(a, b, batch, m, k, n, alloc)
      expect(firstDifference(two as Float64Array, reference), `${batch} ${m} ${k} ${n}`).toBe(-1)
      expect(firstDifference(one as Float64Array, reference)).toBe(-1)
    }
  })

  it('evaluate gives the same outputs with two threads', () => {
    const cases: ReadonlyArray<readonly [string, Sizes]> = [
      ['b h q d, b h k d -> b h q k', { b: 2, h: 3, q: 33, k: 17, d: 9 }],
      ['b h q k, b h k d -> b h q d', { b: 2, h: 3, q: 33, k: 17, d: 9 }],
      ['a b, b c, c d -> a d', { a: 41, b: 37, c: 29, d: 23 }],
    ]
    for (const [spec, sizes] of cases) {
      const t = einsum(spec)
      const inputs = randomInputs(t.dom, sizes, 3)
      setMatmulKernel('typescript')
      const [slow] = evaluate(t, sizes, inputs)
      setMatmulKernel('wasm')
      setMatmulThreads(2)
      const [fast] = evaluate(t, sizes, inputs)
      setMatmulThreads(1)
      expect(firstDifference(fast as Float64Array, slow as Float64Array), spec).toBe(-1)
    }
  })
})
