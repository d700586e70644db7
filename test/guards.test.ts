/**
 * Sizes and memory (issue 9, "Bad input"): random tensors and evaluations too large for the
 * machine are refused before anything is allocated, cost says when its figures are rounded, an
 * option reports NaN and infinite entries with where they are, and sizes left out are a TermError.
 */
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_MEMORY_CAP,
  DEFAULT_TOTAL_MEMORY_CAP,
  TermError,
  copy,
  cost,
  costTable,
  einsum,
  evaluate,
  linearLayer,
  log,
  par,
  randomInputs,
  randomParams,
  seq,
  tanh,
} from '../src/index.js'

/** The TermError `f` throws (failing the test if it throws anything else or nothing). */
const termError = (f: () => unknown): TermError => {
  try {
    f()
  } catch (e) {
    if (e instanceof TermError) return e
    throw e
  }
  throw new Error('no error')
}

/** k -> eight copies of tanh(k): eight outputs of one tensor, each returned fresh. */
const eight = seq(
  tanh('k'),
  copy([['k']]),
  par(copy([['k']]), copy([['k']])),
  par(copy([['k']]), copy([['k']]), copy([['k']]), copy([['k']])),
)

describe('randomInputs and randomParams refuse sizes over their cap, before allocating', () => {
  it('a = 10^9 (grew to 6.6 GB before): names the tensor, its entries and the cap', () => {
    const e = termError(() => randomInputs([['a']], { a: 1e9 }, 1))
    expect(e.code).toBe('memory-cap')
    expect(e.summary).toBe(
      `randomInputs: input 0 has 1000000000 entries, over the cap of ${DEFAULT_MEMORY_CAP}`,
    )
    const p = termError(() =>
      randomParams(linearLayer('W', 'k', 'h'), { k: 2 ** 15, h: 2 ** 15 }, 1),
    )
    expect(p.summary).toMatch(
      /^randomParams: parameter 'W.weight' has 1073741824 entries, over the cap/,
    )
    expect(p.details.got).toContain('[h k]')
  })

  it('the cap is on all the tensors of one call, and maxEntries sets it', () => {
    const two = [['a'], ['a']]
    expect(randomInputs(two, { a: 3 }, 1, { maxEntries: 6 }).map((x) => x.length)).toEqual([3, 3])
    const e = termError(() => randomInputs(two, { a: 4 }, 1, { maxEntries: 6 }))
    expect(e.summary).toBe(
      'randomInputs: the tensors up to input 1 have 8 entries together, over the cap of 6',
    )
    const f = seq(linearLayer('A', 'k', 'k'), linearLayer('B', 'k', 'k'))
    expect(Object.keys(randomParams(f, { k: 3 }, 1, { maxEntries: 18 }))).toEqual([
      'A.weight',
      'B.weight',
    ])
    expect(termError(() => randomParams(f, { k: 3 }, 1, { maxEntries: 17 })).summary).toMatch(
      /up to parameter 'B.weight' have 18 entries together/,
    )
  })

  it('the same numbers as before under the cap (seeded)', () => {
    const [x] = randomInputs([['y', 'k']], { y: 2, k: 3 }, 7)
    expect(x?.length).toBe(6)
    expect(randomInputs([['y', 'k']], { y: 2, k: 3 }, 7)).toEqual([x])
  })
})

describe('evaluate: a memory cap on the whole evaluation', () => {
  it('eight outputs of 2^26 entries (4.25 GB before) are refused before any work', () => {
    const k = 2 ** 26
    // The inputs are not even looked at: the cap is checked first.
    const e = termError(() => evaluate(eight, { k }, [new Float64Array(0)]))
    expect(e.code).toBe('memory-cap')
    expect(e.summary).toMatch(
      new RegExp(
        `would hold \\d+ entries at once, over the total memory cap of ${DEFAULT_TOTAL_MEMORY_CAP}`,
      ),
    )
    expect(Number(/hold (\d+)/.exec(e.summary)?.[1])).toBeGreaterThanOrEqual(9 * k)
  })

  it('totalMemoryCap sets it; under it the evaluation runs', () => {
    const x = randomInputs([['k']], { k: 100 }, 1)
    expect(evaluate(eight, { k: 100 }, x, {}, { totalMemoryCap: 1000 })).toHaveLength(8)
    const bigger = randomInputs([['k']], { k: 200 }, 1)
    expect(
      termError(() => evaluate(eight, { k: 200 }, bigger, {}, { totalMemoryCap: 1000 })).code,
    ).toBe('memory-cap')
    expect(termError(() => evaluate(eight, { k: 2 }, x, {}, { totalMemoryCap: 0 })).code).toBe(
      'bad-argument',
    )
  })
})

describe('cost says when its figures are not exact', () => {
  it('exact below 2^53, not beyond', () => {
    expect(cost(einsum('a b, b c -> a c'), { a: 2, b: 3, c: 4 }).exact).toBe(true)
    const big = cost(einsum('a b, b c -> a c'), { a: 1e6, b: 1e6, c: 1e6 })
    expect(big.flops).toBe(2e18)
    expect(big.exact).toBe(false)
    expect(costTable(big)).toMatch(/not exact: some counts exceed 2\^53/)
    expect(costTable(cost(tanh('k'), { k: 4 }))).not.toMatch(/not exact/)
    // At the edge: 2^52 FLOPs are exact, 2^53 (where float64 starts skipping integers) are not.
    expect(cost(einsum('a b, b c -> a c'), { a: 2 ** 25, b: 2 ** 26, c: 1 }).exact).toBe(true)
    expect(cost(einsum('a b, b c -> a c'), { a: 2 ** 25, b: 2 ** 26, c: 2 }).exact).toBe(false)
  })
})

describe('evaluate with checkFinite', () => {
  const f = seq(log(['y', 'k']))
  it('reports a NaN or an infinity in an input with its position and index', () => {
    const x = [1, 2, 3, 4, Number.NaN, 6]
    expect(evaluate(f, { y: 2, k: 3 }, [x])[0]?.[4]).toBeNaN()
    const e = termError(() => evaluate(f, { y: 2, k: 3 }, [x], {}, { checkFinite: true }))
    expect(e.code).toBe('not-finite')
    expect(e.summary).toBe(
      'evaluate: input 0 has 1 entry that is not finite, the first NaN at position 4 (y=1, k=1)',
    )
  })

  it('in a parameter', () => {
    const L = linearLayer('W', 'k', 'h')
    const W = [1, 2, Number.POSITIVE_INFINITY, 4, 5, Number.NEGATIVE_INFINITY]
    const e = termError(() =>
      evaluate(L, { k: 3, h: 2 }, [[1, 1, 1]], { 'W.weight': W }, { checkFinite: true }),
    )
    expect(e.summary).toMatch(
      /^evaluate: parameter 'W.weight' has 2 entries that are not finite, the first Infinity at position 2 \(h=0, k=2\)/,
    )
  })

  it('in an output: log of a negative number', () => {
    const e = termError(() =>
      evaluate(f, { y: 2, k: 3 }, [[1, 2, 3, 4, -5, 6]], {}, { checkFinite: true }),
    )
    expect(e.summary).toMatch(
      /^evaluate: output 0 has 1 entry that is not finite, the first NaN at position 4/,
    )
    expect(evaluate(f, { y: 1, k: 2 }, [[1, 2]], {}, { checkFinite: true })[0]?.length).toBe(2)
  })
})

describe('evaluate without sizes', () => {
  it('evaluate(t, undefined, ...) is a TermError saying sizes were expected (a TypeError before)', () => {
    const e = termError(() =>
      evaluate(tanh('k'), undefined as unknown as Record<string, number>, [[1, 2]]),
    )
    expect(e.code).toBe('bad-size')
    expect(e.summary).toMatch(/the second argument must be the sizes of the dims/)
    expect(e.details.expected).toMatch(/\{ k: 4 \}/)
    expect(
      termError(() => evaluate(tanh('k'), null as unknown as Record<string, number>, [[1]])).code,
    ).toBe('bad-size')
  })
})
