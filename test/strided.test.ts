/**
 * The strided copies under einsum and broadcasting (src/eval/strided.ts) against a naive loop
 * that computes every output entry's source offset on its own: transposes of random shapes whose
 * extents cross the 16 x 16 tiles of the transpose path, axes of extent 1, mergeable runs, and
 * arbitrary strides (repeats with stride 0, diagonals with summed strides).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { gather, permute, stridesOf } from '../src/eval/strided.js'

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
