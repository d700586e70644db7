/**
 * Seeded random tensors, for examples, the CLI and users' experiments. Deterministic: the same
 * seed gives the same numbers on every machine (mulberry32).
 *
 * @packageDocumentation
 */
import type { Sizes } from '../core/dim.js'
import { paramsOf } from '../core/params.js'
import type { Term } from '../core/term.js'
import { type ShapeLike, shapeSize, toShape } from '../core/types.js'

/** A deterministic generator of uniform numbers in [0, 1). */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Random entries in [-1, 1) for every segment of a type.
 *
 * @example
 * ```ts
 * import { randomInputs } from 'neural-circuit-diagrams'
 * const [x] = randomInputs([['y', 'k']], { y: 2, k: 3 }, 7)
 * x!.length // 6
 * ```
 */
export const randomInputs = (
  type: ReadonlyArray<ShapeLike>,
  sizes: Sizes,
  seed: number,
): Float64Array[] => {
  const next = seededRandom(seed)
  return type.map((s) => {
    const shape = toShape(s)
    return Float64Array.from({ length: shapeSize(shape, sizes) }, () => 2 * next() - 1)
  })
}

/**
 * Random values in [-1, 1) for every parameter of a term ({@link paramsOf}), scaled by
 * 1/√(fan-in) of the last axis. To list the parameters without allocating them, use `paramsOf`.
 */
export const randomParams = (
  term: Term,
  sizes: Sizes,
  seed: number,
): Record<string, Float64Array> => {
  const next = seededRandom(seed)
  const out = Object.create(null) as Record<string, Float64Array>
  for (const [name, shape] of paramsOf(term)) {
    const n = shapeSize(shape, sizes)
    const last = shape.length > 0 ? n / shapeSize(shape.slice(0, -1), sizes) : 1
    const s = 1 / Math.sqrt(last)
    out[name] = Float64Array.from({ length: n }, () => s * (2 * next() - 1))
  }
  return out
}
