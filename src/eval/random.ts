/**
 * Seeded random tensors, for examples, the CLI and users' experiments. Deterministic: the same
 * seed gives the same numbers on every machine (mulberry32).
 *
 * @packageDocumentation
 */
import type { Sizes } from '../core/dim.js'
import { fail } from '../core/errors.js'
import { paramsOf } from '../core/params.js'
import type { Term } from '../core/term.js'
import { type Shape, type ShapeLike, shapeSize, showShape, toShape } from '../core/types.js'
import { DEFAULT_MEMORY_CAP } from './evaluate.js'

/** Options of {@link randomInputs} and {@link randomParams}. */
export interface RandomOptions {
  /**
   * The most entries one call may draw, all its tensors together (default
   * {@link DEFAULT_MEMORY_CAP}, 2^27 entries, 1 GiB of float64). Sizes that need more are refused
   * with a `TermError` (`memory-cap`) naming the tensor, before anything is allocated.
   */
  readonly maxEntries?: number
}

/**
 * The entries of each tensor, checked against the cap before any is allocated: a tensor over the
 * cap is named, and so is the one that takes the running total over it.
 */
const entriesWithin = (
  fn: string,
  tensors: ReadonlyArray<readonly [string, Shape]>,
  sizes: Sizes,
  options: RandomOptions,
): number[] => {
  const cap = options.maxEntries ?? DEFAULT_MEMORY_CAP
  if (!(typeof cap === 'number' && cap >= 0))
    fail('bad-argument', `${fn}: maxEntries must be a non-negative number`, { got: String(cap) })
  if (sizes === null || typeof sizes !== 'object')
    fail('bad-size', `${fn}: sizes must be a record of dim sizes`, {
      expected: 'an object such as { k: 4 }',
      got: String(sizes),
    })
  let total = 0
  return tensors.map(([label, shape]) => {
    const n = shapeSize(shape, sizes)
    const at = `${showShape(shape)} at ${JSON.stringify(sizes)}`
    if (!(Number.isSafeInteger(n) && n >= 0) || n > cap)
      fail('memory-cap', `${fn}: ${label} has ${n} entries, over the cap of ${cap}`, {
        expected: `at most ${cap} entries (maxEntries)`,
        got: `${at} = ${n} entries`,
        hint: 'use smaller sizes, or raise maxEntries if the machine has the memory',
      })
    total += n
    if (total > cap)
      fail(
        'memory-cap',
        `${fn}: the tensors up to ${label} have ${total} entries together, over the cap of ${cap}`,
        {
          expected: `at most ${cap} entries in all (maxEntries)`,
          got: `${label} ${at} = ${n} entries brings the total to ${total}`,
          hint: 'use smaller sizes, or raise maxEntries if the machine has the memory',
        },
      )
    return n
  })
}

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
 * Random entries in [-1, 1) for every segment of a type. Refused before allocating when the
 * tensors would have more than {@link RandomOptions.maxEntries} entries (default 2^27).
 *
 * @example
 * ```ts
 * import { randomInputs, TermError } from 'neural-circuit-diagrams'
 * const [x] = randomInputs([['y', 'k']], { y: 2, k: 3 }, 7)
 * x!.length // 6
 * try {
 *   randomInputs([['a']], { a: 1e9 }, 1)
 * } catch (e) {
 *   if (!(e instanceof TermError)) throw e
 *   e.summary // 'randomInputs: input 0 has 1000000000 entries, over the cap of 134217728'
 * }
 * ```
 */
export const randomInputs = (
  type: ReadonlyArray<ShapeLike>,
  sizes: Sizes,
  seed: number,
  options: RandomOptions = {},
): Float64Array[] => {
  const shapes = type.map((s, i) => [`input ${i}`, toShape(s)] as const)
  const lengths = entriesWithin('randomInputs', shapes, sizes, options)
  const next = seededRandom(seed)
  return lengths.map((length) => Float64Array.from({ length }, () => 2 * next() - 1))
}

/**
 * Random values in [-1, 1) for every parameter of a term ({@link paramsOf}), scaled by
 * 1/√(fan-in) of the last axis. To list the parameters without allocating them, use `paramsOf`.
 * Refused before allocating when they would have more than {@link RandomOptions.maxEntries}
 * entries in all (default 2^27), naming the parameter that crosses the cap.
 */
export const randomParams = (
  term: Term,
  sizes: Sizes,
  seed: number,
  options: RandomOptions = {},
): Record<string, Float64Array> => {
  const params = [...paramsOf(term)]
  const lengths = entriesWithin(
    'randomParams',
    params.map(([name, shape]) => [`parameter '${name}'`, shape] as const),
    sizes,
    options,
  )
  const next = seededRandom(seed)
  const out = Object.create(null) as Record<string, Float64Array>
  for (const [i, [name, shape]] of params.entries()) {
    const n = lengths[i] as number
    const last = shape.length > 0 ? n / shapeSize(shape.slice(0, -1), sizes) : 1
    const s = 1 / Math.sqrt(last)
    out[name] = Float64Array.from({ length: n }, () => s * (2 * next() - 1))
  }
  return out
}
