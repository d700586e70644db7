/**
 * The strided copies under einsum and broadcasting (src/eval/strided.ts) against a naive loop
 * that computes every output entry's source offset on its own: transposes of random shapes whose
 * extents cross the 16 x 16 tiles of the transpose path, axes of extent 1, mergeable runs, and
 * arbitrary strides (repeats with stride 0, diagonals with summed strides).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type EmbedLoop, embed, gather, permute, stridesOf, sumAxes } from '../src/eval/strided.js'

const alloc = (n: number): Float64Array => new Float64Array(n)

const naiveGather = (
  src: Float64Array,
  shape: ReadonlyArray<number>,
  strides: ReadonlyArray<number>,
): Float64Array => {
  const n = shape.reduce((a, b) => a * b, 1)
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    let rest = i
    let offset = 0
    for (let a = shape.length - 1; a >= 0; a--) {
      const e = shape[a] as number
      offset += (rest % e) * (strides[a] as number)
      rest = Math.floor(rest / e)
    }
    out[i] = src[offset] as number
  }
  return out
}

const extentArb = fc.oneof(
  fc.constant(1),
  fc.integer({ min: 2, max: 5 }),
  fc.integer({ min: 15, max: 40 }),
)

describe('gather and permute', () => {
  it('permute equals the naive transpose on random shapes and permutations', () => {
    fc.assert(
      fc.property(fc.array(extentArb, { minLength: 1, maxLength: 4 }), fc.nat(), (shape, seed) => {
        // A permutation from the seed.
        const perm = shape.map((_, a) => a)
        let s = seed
        for (let i = perm.length - 1; i > 0; i--) {
          const j = s % (i + 1)
          s = Math.floor(s / (i + 1)) + 7 * i
          ;[perm[i], perm[j]] = [perm[j] as number, perm[i] as number]
        }
        const n = shape.reduce((a, b) => a * b, 1)
        const src = Float64Array.from({ length: n }, (_, i) => i + 0.5)
        const strides = stridesOf(shape)
        const want = naiveGather(
          src,
          perm.map((p) => shape[p] as number),
          perm.map((p) => strides[p] as number),
        )
        expect(Array.from(permute(src, shape, perm, alloc))).toEqual(Array.from(want))
      }),
      { numRuns: 200 },
    )
  })

  it('gather equals the naive loop on arbitrary strides (repeats, diagonals)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(extentArb, fc.integer({ min: 0, max: 50 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (axes) => {
          const shape = axes.map(([e]) => e)
          const strides = axes.map(([, s]) => s)
          const span = axes.reduce((acc, [e, s]) => acc + (e - 1) * s, 0) + 1
          const src = Float64Array.from({ length: span }, (_, i) => i - 0.25)
          expect(Array.from(gather(src, shape, strides, alloc))).toEqual(
            Array.from(naiveGather(src, shape, strides)),
          )
        },
      ),
      { numRuns: 200 },
    )
  })

  it('a transpose with both extents past a tile, and a rank-0 copy', () => {
    const shape = [3, 37, 2, 45]
    const src = Float64Array.from({ length: 3 * 37 * 2 * 45 }, (_, i) => i)
    const perm = [2, 3, 0, 1]
    const strides = stridesOf(shape)
    expect(Array.from(permute(src, shape, perm, alloc))).toEqual(
      Array.from(
        naiveGather(
          src,
          perm.map((p) => shape[p] as number),
          perm.map((p) => strides[p] as number),
        ),
      ),
    )
    expect(Array.from(gather(Float64Array.from([4, 5]), [], [], alloc))).toEqual([4])
  })
})

describe('sumAxes', () => {
  /** Each kept index's entries added one by one from 0, the summed indexes in row-major order. */
  const naiveSum = (
    src: Float64Array,
    shape: ReadonlyArray<number>,
    summed: ReadonlyArray<boolean>,
  ): Float64Array => {
    const strides = stridesOf(shape)
    const kept = shape.flatMap((e, a) => (summed[a] ? [] : [a]))
    const dropped = shape.flatMap((e, a) => (summed[a] ? [a] : []))
    const index = (axes: ReadonlyArray<number>, i: number): number => {
      let rest = i
      let offset = 0
      for (let t = axes.length - 1; t >= 0; t--) {
        const a = axes[t] as number
        const e = shape[a] as number
        offset += (rest % e) * (strides[a] as number)
        rest = Math.floor(rest / e)
      }
      return offset
    }
    const size = (axes: ReadonlyArray<number>) => axes.reduce((n, a) => n * (shape[a] as number), 1)
    const out = new Float64Array(size(kept))
    for (let i = 0; i < out.length; i++) {
      let acc = 0
      for (let j = 0; j < size(dropped); j++)
        acc += src[index(kept, i) + index(dropped, j)] as number
      out[i] = acc
    }
    return out
  }

  it('equals the naive sum bit for bit, summed axes leading or anywhere (-0, NaN, infinities)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 1, max: 4 }),
        (shape, mask, lead) => {
          // Half the cases sum exactly the leading axes (the row-by-row path).
          const summed = shape.map((_, a) => (lead % 2 === 0 ? a < lead / 2 : (mask[a] as boolean)))
          const n = shape.reduce((a, b) => a * b, 1)
          const specials = [-0, 0, Infinity, -Infinity, NaN, 1e308, -1e308]
          const src = Float64Array.from({ length: n }, (_, i) =>
            i % 7 === 3 ? (specials[i % specials.length] as number) : Math.sin(i * 12.9898) * 1e3,
          )
          const got = sumAxes(src, shape, summed, alloc)
          const want = summed.includes(true) ? naiveSum(src, shape, summed) : src
          expect(got.length).toBe(want.length)
          got.forEach((v, i) =>
            expect(Object.is(v, want[i]) || (Number.isNaN(v) && Number.isNaN(want[i]))).toBe(true),
          )
        },
      ),
      { numRuns: 300 },
    )
  })
})

/** embed by its definition: every point of the loops' index space, in row-major order. */
const naiveEmbed = (
  src: Float64Array,
  entries: number,
  loops: ReadonlyArray<EmbedLoop>,
): Float64Array => {
  const out = new Float64Array(entries)
  const points = loops.reduce((a, l) => a * l.size, 1)
  for (let i = 0; i < points; i++) {
    let rest = i
    let s = 0
    let d = 0
    for (let a = loops.length - 1; a >= 0; a--) {
      const l = loops[a] as EmbedLoop
      const k = rest % l.size
      rest = Math.floor(rest / l.size)
      s += k * l.src
      d += k * l.dst
    }
    out[d] = src[s] as number
  }
  return out
}

describe('embed', () => {
  it('equals the definition on random loops: spreads (source stride 0), diagonals, overlaps', () => {
    let spreads = 0
    let overlaps = 0
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            size: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 6 }), fc.constant(17)),
            src: fc.integer({ min: 0, max: 3 }),
            dst: fc.integer({ min: 0, max: 4 }),
          }),
          { maxLength: 4 },
        ),
        (loops) => {
          const srcLen = 1 + loops.reduce((a, l) => a + (l.size - 1) * l.src, 0)
          const entries = 1 + loops.reduce((a, l) => a + (l.size - 1) * l.dst, 0)
          // Distinct source values, so a wrong order of writes onto one entry shows.
          const src = Float64Array.from({ length: srcLen }, (_, i) => i + 0.5)
          const last = loops.filter((l) => l.size !== 1).at(-1)
          if (last?.src === 0) spreads++
          const points = loops.reduce((a, l) => a * l.size, 1)
          if (points > entries) overlaps++
          expect(embed(src, entries, loops, alloc)).toEqual(naiveEmbed(src, entries, loops))
        },
      ),
      { numRuns: 500, seed: 7 },
    )
    expect(spreads).toBeGreaterThan(50)
    expect(overlaps).toBeGreaterThan(50)
  })

  it('no loops copies one entry; a loop of extent 0 writes nothing', () => {
    expect(embed(Float64Array.from([3]), 1, [], alloc)).toEqual(Float64Array.from([3]))
    expect(embed(Float64Array.from([3]), 0, [{ size: 0, src: 1, dst: 1 }], alloc)).toEqual(
      new Float64Array(0),
    )
  })
})
