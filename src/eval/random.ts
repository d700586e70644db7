/**
 * Seeded random tensors, for examples, the CLI and users' experiments. Deterministic: the same
 * seed gives the same numbers on every machine (mulberry32).
 *
 * @packageDocumentation
 */
import type { Sizes } from '../core/dim.js'
import { type Term, children } from '../core/term.js'
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

/** Random values in [-1, 1) for every parameter of a term, scaled by 1/√(fan-in) of the last axis. */
export const randomParams = (
  term: Term,
  sizes: Sizes,
  seed: number,
): Record<string, Float64Array> => {
  const next = seededRandom(seed)
  const out = Object.create(null) as Record<string, Float64Array>
  const visit = (t: Term): void => {
    if (t.kind === 'param' && !Object.prototype.hasOwnProperty.call(out, t.name)) {
      const n = shapeSize(t.shape, sizes)
      const last = t.shape.length > 0 ? n / shapeSize(t.shape.slice(0, -1), sizes) : 1
      const s = 1 / Math.sqrt(last)
      out[t.name] = Float64Array.from({ length: n }, () => s * (2 * next() - 1))
    }
    children(t).forEach(visit)
  }
  visit(term)
  return out
}
