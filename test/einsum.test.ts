/**
 * Einsum (paper section 2.4.2, Fig. 18-20) against a naive reference that walks the full index
 * space of all labels: out[o] += Π inputs, where o and each input position are read off one
 * assignment of every label. Repeated input labels take diagonals, labels missing from the output
 * are summed, repeated output labels embed on a diagonal, labels only in the output spread.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Sizes,
  type Term,
  broadcast,
  cup,
  dimKey,
  einsum,
  evaluate,
  id,
  par,
  scale,
  seq,
  shapeSize,
  unit,
  seededRandom,
} from '../src/index.js'
import { contractionSchedule, runSchedule, setDirectEinsum } from '../src/eval/contract.js'
import { directLoop, runDirect } from '../src/eval/direct.js'

// ---------------------------------------------------------------------------------------------
// The reference

/** Seeded uniform numbers in [0, 1): the engine's mulberry32, for test data only. */
const prng = seededRandom

const randomArray = (n: number, next: () => number): Float64Array =>
  Float64Array.from({ length: n }, () => 2 * next() - 1)

/** Row-major offset of the labels' positions under an assignment. */
const offset = (
  labels: ReadonlyArray<string>,
  at: ReadonlyMap<string, number>,
  size: (l: string) => number,
): number => labels.reduce((o, l) => o * size(l) + (at.get(l) as number), 0)

/**
 * The naive einsum: iterate over every assignment of every label, multiply the input entries it
 * addresses, add the product into the output entry it addresses.
 */
const naiveEinsum = (
  inputs: ReadonlyArray<ReadonlyArray<string>>,
  output: ReadonlyArray<string>,
  size: (label: string) => number,
  data: ReadonlyArray<Float64Array>,
): Float64Array => {
  const labels = [...new Set([...inputs.flat(), ...output])]
  const out = new Float64Array(output.reduce((n, l) => n * size(l), 1))
  const at = new Map(labels.map((l) => [l, 0]))
  for (;;) {
    let p = 1
    inputs.forEach((ls, s) => {
      p *= (data[s] as Float64Array)[offset(ls, at, size)] as number
    })
    const o = offset(output, at, size)
    out[o] = (out[o] as number) + p
    // Odometer over the labels.
    let a = labels.length - 1
    for (; a >= 0; a--) {
      const l = labels[a] as string
      const next = (at.get(l) as number) + 1
      if (next < size(l)) {
        at.set(l, next)
        break
      }
      at.set(l, 0)
    }
    if (a < 0) return out
  }
}

/** Relative closeness against the scale of the expected values. */
const expectClose = (got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-9): void => {
  if (got.length !== want.length) throw new Error(`length ${got.length}, want ${want.length}`)
  let scaleOf = 1
  for (let i = 0; i < want.length; i++) scaleOf = Math.max(scaleOf, Math.abs(want[i] as number))
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as number
    const w = want[i] as number
    if (!(Math.abs(g - w) <= tol * scaleOf))
      throw new Error(
        `entry ${i}: got ${g}, want ${w}\n got:  [${Array.from(got).join(', ')}]\n want: [${Array.from(want).join(', ')}]`,
      )
  }
}

// ---------------------------------------------------------------------------------------------
// Random specs

const POOL = ['a', 'b', 'c', 'd'] as const
const DIM_POOL = ['m', 'n'] as const

interface RandomSpec {
  readonly inputs: ReadonlyArray<ReadonlyArray<string>>
  readonly output: ReadonlyArray<string>
  /** Some labels bound to shared dims, so that two labels may have one size. */
  readonly rename: Readonly<Record<string, string>>
}

const labelsArb = fc.array(fc.constantFrom(...POOL), { maxLength: 3 })
const specArb: fc.Arbitrary<RandomSpec> = fc
  .record({
    inputs: fc.array(labelsArb, { minLength: 1, maxLength: 3 }),
    output: labelsArb,
    rename: fc.record(
      Object.fromEntries(POOL.map((l) => [l, fc.option(fc.constantFrom(...DIM_POOL))])),
    ),
  })
  .map(({ inputs, output, rename }) => {
    const used = new Set<string>([...inputs.flat(), ...output])
    const r: Record<string, string> = {}
    for (const [l, d] of Object.entries(rename)) if (d !== null && used.has(l)) r[l] = d
    return { inputs, output, rename: r }
  })

const specText = (s: RandomSpec): string =>
  `${s.inputs.map((i) => i.join(' ')).join(', ')} -> ${s.output.join(' ')}`

const sizesArb: fc.Arbitrary<Record<string, number>> = fc.record(
  Object.fromEntries([...POOL, ...DIM_POOL].map((n) => [n, fc.integer({ min: 1, max: 4 })])),
)

/** The size of a label: that of its dim. */
const labelSize =
  (rename: Readonly<Record<string, string>>, sizes: Sizes) =>
  (l: string): number =>
    sizes[rename[l] ?? l] as number

// ---------------------------------------------------------------------------------------------

describe('einsum against the naive loop', () => {
  it('hand-written specs of every feature', () => {
    const cases: ReadonlyArray<[string, Record<string, number>]> = [
      ['a a -> a', { a: 3 }], // diagonal
      ['a a -> ', { a: 4 }], // trace
      ['a b -> a', { a: 2, b: 3 }], // sum
      ['a b -> ', { a: 2, b: 3 }], // total
      ['a -> a a', { a: 3 }], // diagonal embedding
      ['a -> a b', { a: 2, b: 3 }], // spread
      [' -> a b', { a: 2, b: 2 }], // spread a scalar
      ['a b c -> c a b', { a: 2, b: 3, c: 4 }], // transpose
      ['a, b -> a b', { a: 3, b: 2 }], // outer product
      ['a, b, c -> c b a', { a: 2, b: 3, c: 2 }], // triple outer product
      ['a b, b c -> a c', { a: 2, b: 3, c: 4 }], // matrix product
      ['a, a -> ', { a: 5 }], // inner product
      ['a, a -> a', { a: 5 }], // element-wise product
      ['a b a, b -> b a a', { a: 2, b: 3 }], // diagonal in, diagonal out
      ['a a b, c -> c b b', { a: 3, b: 2, c: 2 }],
      ['a, -> a', { a: 3 }], // times a scalar
      [' -> ', {}],
    ]
    for (const [spec, sizes] of cases) {
      const t = einsum(spec)
      const e = t as Extract<Term, { kind: 'einsum' }>
      const next = prng(spec.length)
      const data = t.dom.map((s) => randomArray(shapeSize(s, sizes), next))
      const [got] = evaluate(t, sizes, data)
      const want = naiveEinsum(e.inputs, e.output, (l) => sizes[l] as number, data)
      try {
        expectClose(got as Float64Array, want)
      } catch (err) {
        throw new Error(`${spec}: ${(err as Error).message}`)
      }
    }
  })

  it('labels named like members of Object.prototype are ordinary labels', () => {
    // The spec grammar accepts them; they must not pick up inherited properties of `dims`.
    for (const l of ['constructor', 'toString', 'valueOf', '__proto__']) {
      const t = einsum(`${l} a -> a ${l}`)
      expect(t.dom[0]?.map(dimKey)).toEqual([l, 'a'])
      // JSON.parse makes an own property even of '__proto__'.
      const sizes = JSON.parse(`{"${l}": 2, "a": 3}`) as Record<string, number>
      const [out] = evaluate(t, sizes, [[0, 1, 2, 3, 4, 5]])
      expect(out).toEqual(Float64Array.from([0, 3, 1, 4, 2, 5]))
    }
  })

  it('a hand-computed matrix product and trace', () => {
    const [c] = evaluate(einsum('a b, b c -> a c'), { a: 2, b: 2, c: 2 }, [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ])
    expect(c).toEqual(Float64Array.from([19, 22, 43, 50]))
    const [d] = evaluate(einsum('a -> a a'), { a: 2 }, [[3, 4]])
    expect(d).toEqual(Float64Array.from([3, 0, 0, 4]))
    const [s] = evaluate(einsum('a -> a b'), { a: 2, b: 3 }, [[3, 4]])
    expect(s).toEqual(Float64Array.from([3, 3, 3, 4, 4, 4]))
  })

  it('random specs: diagonals, sums, embeddings, spreads, transposes, outer products', () => {
    const seen = { diagonal: 0, sum: 0, embed: 0, spread: 0, multi: 0 }
    fc.assert(
      fc.property(specArb, sizesArb, fc.nat(), (spec, sizes, seed) => {
        const t = einsum(specText(spec), { dims: spec.rename })
        const size = labelSize(spec.rename, sizes)
        // The type: every segment's axes are the dims of its labels.
        t.dom.forEach((s, i) =>
          expect(s.map(dimKey)).toEqual(spec.inputs[i]?.map((l) => spec.rename[l] ?? l)),
        )
        expect(t.cod[0]?.map(dimKey)).toEqual(spec.output.map((l) => spec.rename[l] ?? l))
        const next = prng(seed)
        const data = spec.inputs.map((ls) =>
          randomArray(
            ls.reduce((n, l) => n * size(l), 1),
            next,
          ),
        )
        const [got] = evaluate(t, sizes, data)
        expectClose(got as Float64Array, naiveEinsum(spec.inputs, spec.output, size, data))
        const inAll = new Set(spec.inputs.flat())
        if (spec.inputs.some((ls) => new Set(ls).size < ls.length)) seen.diagonal++
        if ([...inAll].some((l) => !spec.output.includes(l))) seen.sum++
        if (new Set(spec.output).size < spec.output.length) seen.embed++
        if (spec.output.some((l) => !inAll.has(l))) seen.spread++
        if (spec.inputs.length > 1) seen.multi++
      }),
      { numRuns: 300 },
    )
    // The generator reaches every feature.
    for (const n of Object.values(seen)) expect(n).toBeGreaterThan(10)
  })

  it('random specs inside a broadcast (batched labels), some inputs shared', () => {
    fc.assert(
      fc.property(
        specArb,
        sizesArb,
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        fc.nat(),
        (spec, sizes, z, shared, seed) => {
          const body = einsum(specText(spec), { dims: spec.rename })
          const inputs = spec.inputs.map((_, i) => (shared[i] ? ('shared' as const) : 0))
          const t = broadcast(body, ['z'], { inputs })
          const all = { ...sizes, z }
          const size = (l: string) => (l === 'z' ? z : labelSize(spec.rename, sizes)(l))
          // The same einsum with z prepended to every broadcast input and to the output.
          const wide = spec.inputs.map((ls, i) => (shared[i] ? ls : ['z', ...ls]))
          const next = prng(seed)
          const data = wide.map((ls) =>
            randomArray(
              ls.reduce((n, l) => n * size(l), 1),
              next,
            ),
          )
          const [got] = evaluate(t, all, data)
          expectClose(got as Float64Array, naiveEinsum(wide, ['z', ...spec.output], size, data))
        },
      ),
      { numRuns: 150 },
    )
  })

  it("a larger contraction 'a b, b c, c d -> a d' at sizes ~30", () => {
    const sizes = { a: 28, b: 30, c: 31, d: 29 }
    const t = einsum('a b, b c, c d -> a d')
    const next = prng(11)
    const data = t.dom.map((s) => randomArray(shapeSize(s, sizes), next))
    const [got] = evaluate(t, sizes, data)
    const want = naiveEinsum(
      [
        ['a', 'b'],
        ['b', 'c'],
        ['c', 'd'],
      ],
      ['a', 'd'],
      (l) => sizes[l as keyof typeof sizes],
      data,
    )
    expectClose(got as Float64Array, want)
  })

  it("the attention contraction 'b h q d, b h k d -> b h q k'", () => {
    const sizes = { b: 2, h: 3, q: 4, k: 5, d: 3 }
    const t = einsum('b h q d, b h k d -> b h q k')
    const next = prng(12)
    const [Q, K] = t.dom.map((s) => randomArray(shapeSize(s, sizes), next)) as [
      Float64Array,
      Float64Array,
    ]
    const [got] = evaluate(t, sizes, [Q, K])
    const want = new Float64Array(2 * 3 * 4 * 5)
    for (let b = 0; b < 2; b++)
      for (let h = 0; h < 3; h++)
        for (let q = 0; q < 4; q++)
          for (let k = 0; k < 5; k++) {
            let acc = 0
            for (let d = 0; d < 3; d++)
              acc +=
                (Q[((b * 3 + h) * 4 + q) * 3 + d] as number) *
                (K[((b * 3 + h) * 5 + k) * 3 + d] as number)
            want[((b * 3 + h) * 4 + q) * 5 + k] = acc
          }
    expectClose(got as Float64Array, want)
  })
})

// ---------------------------------------------------------------------------------------------

describe('unit, cup and the snake (Fig. 20)', () => {
  it('unit(a) is r times the identity', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.double({ min: -5, max: 5, noNaN: true }),
        (a, r) => {
          const u = unit('a')
          expect(u.dom).toEqual([[]])
          const [out] = evaluate(u, { a }, [[r]])
          const want = Float64Array.from({ length: a * a }, (_, n) =>
            Math.floor(n / a) === n % a ? r : 0,
          )
          expect(out).toEqual(want)
        },
      ),
      { numRuns: 30 },
    )
  })

  it('cup(a) is the trace', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.nat(), (a, seed) => {
        const m = randomArray(a * a, prng(seed))
        let trace = 0
        for (let i = 0; i < a; i++) trace += m[i * a + i] as number
        const [out] = evaluate(cup('a'), { a }, [m])
        expect(out).toHaveLength(1)
        expectClose(out as Float64Array, [trace], 1e-12)
      }),
      { numRuns: 30 },
    )
    expect(evaluate(cup('a'), { a: 2 }, [[1, 2, 3, 4]])[0]).toEqual(Float64Array.from([5]))
  })

  // v ⊗ η(r) : [a] × [] -> [a a a], then the cup on two of the three wires.
  const outer = seq(
    par(id([['a']]), unit('a')),
    einsum('i, j k -> i j k', { dims: { i: 'a', j: 'a', k: 'a' } }),
  )
  /** The cup joins v's wire to the unit's first wire: out_k = Σ_i v_i r δ_ik. */
  const snakeDown = seq(outer, broadcast(cup('a'), ['a'], { at: 'last' }))
  /** The cup joins the unit's second wire to v's wire, read the other way round. */
  const snakeUp = seq(
    outer,
    einsum('i j k -> j k i', { dims: { i: 'a', j: 'a', k: 'a' } }),
    broadcast(cup('a'), ['a']),
  )

  it('the snake identities: unit then cup is the identity on [a] (r = 1)', () => {
    for (const snake of [snakeDown, snakeUp]) {
      expect(snake.dom.map((s) => s.map(dimKey))).toEqual([['a'], []])
      expect(snake.cod.map((s) => s.map(dimKey))).toEqual([['a']])
      expect(snake.linearity).toBe('multilinear')
    }
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.nat(), (a, seed) => {
        const v = randomArray(a, prng(seed))
        for (const snake of [snakeDown, snakeUp]) {
          expect(evaluate(snake, { a }, [v, [1]])[0]).toEqual(v)
          const [idOut] = evaluate(id([['a']]), { a }, [v])
          expect(evaluate(snake, { a }, [v, [1]])[0]).toEqual(idOut)
          // With r, the unit is r times the identity: the snake gives r v.
          expectClose(
            evaluate(snake, { a }, [v, [-2.5]])[0] as Float64Array,
            Array.from(v, (x) => -2.5 * x),
            1e-15,
          )
        }
      }),
      { numRuns: 30 },
    )
  })

  it('a wrong snake (cup on the unit alone) is not the identity', () => {
    // Contracting the unit with itself gives the trace of the identity times v: a v, not v.
    const wrong = seq(outer, einsum('i j j -> i', { dims: { i: 'a', j: 'a' } }))
    const v = Float64Array.from([1, 2, 3])
    expect(evaluate(wrong, { a: 3 }, [v, [1]])[0]).toEqual(Float64Array.from([3, 6, 9]))
  })
})

// ---------------------------------------------------------------------------------------------

describe('multi-head attention scores (Fig. 18, 19)', () => {
  const stepwise = (k: number): Term =>
    seq(
      // Transpose K.
      par(id([['y', 'k', 'h']]), einsum('x k h -> k x h')),
      // Implicit outer product and diagonalise (h shared, k1 = k2 = k).
      einsum('y k1 h, k2 x h -> y k1 k2 x h', { dims: { k1: 'k', k2: 'k' } }),
      // Inner product.
      einsum('y k k x h -> y x h'),
      scale(1 / Math.sqrt(k), 'y x h'),
    )
  const fused = (k: number): Term =>
    seq(einsum('y k h, x k h -> y x h'), scale(1 / Math.sqrt(k), 'y x h'))

  it('stepwise and fused have the type [y k h] × [x k h] -> [y x h]', () => {
    for (const t of [stepwise(4), fused(4)]) {
      expect(t.dom.map((s) => s.map(dimKey))).toEqual([
        ['y', 'k', 'h'],
        ['x', 'k', 'h'],
      ])
      expect(t.cod.map((s) => s.map(dimKey))).toEqual([['y', 'x', 'h']])
      expect(t.linearity).toBe('multilinear')
    }
  })

  it('the stepwise einsums equal the single einsum, and both the hand loop', () => {
    const dimsArb = fc.record({
      y: fc.integer({ min: 1, max: 4 }),
      x: fc.integer({ min: 1, max: 4 }),
      k: fc.integer({ min: 1, max: 4 }),
      h: fc.integer({ min: 1, max: 4 }),
    })
    fc.assert(
      fc.property(dimsArb, fc.nat(), (sizes, seed) => {
        const { y, x, k, h } = sizes
        const next = prng(seed)
        const Q = randomArray(y * k * h, next)
        const K = randomArray(x * k * h, next)
        const want = new Float64Array(y * x * h)
        for (let i = 0; i < y; i++)
          for (let j = 0; j < x; j++)
            for (let g = 0; g < h; g++) {
              let acc = 0
              for (let p = 0; p < k; p++)
                acc += (Q[(i * k + p) * h + g] as number) * (K[(j * k + p) * h + g] as number)
              want[(i * x + j) * h + g] = acc / Math.sqrt(k)
            }
        const [a] = evaluate(stepwise(k), sizes, [Q, K])
        const [b] = evaluate(fused(k), sizes, [Q, K])
        expectClose(a as Float64Array, want)
        expectClose(b as Float64Array, want)
        expectClose(a as Float64Array, b as Float64Array)
      }),
      { numRuns: 60 },
    )
  })

  it('the outer-product step keeps every (k1, k2) pair; the inner product takes the diagonal', () => {
    // 'y k1 h, k2 x h -> y k1 k2 x h' is an outer product in k1, k2 (diagonal in h); the next
    // einsum 'y k k x h -> y x h' sums only its k1 = k2 entries.
    const sizes = { y: 1, x: 1, k: 2, h: 1 }
    const outerStep = einsum('y k1 h, k2 x h -> y k1 k2 x h', { dims: { k1: 'k', k2: 'k' } })
    const [o] = evaluate(outerStep, sizes, [
      [2, 3],
      [5, 7],
    ])
    expect(o).toEqual(Float64Array.from([10, 14, 15, 21]))
    const [s] = evaluate(einsum('y k k x h -> y x h'), sizes, [o as Float64Array])
    expect(s).toEqual(Float64Array.from([2 * 5 + 3 * 7]))
  })
})

// ---------------------------------------------------------------------------------------------
// The direct loop nest (src/eval/direct.ts)

describe('the direct einsum kernel', () => {
  const sizeMap = (spec: RandomSpec, sizes: Sizes): Map<string, number> => {
    const size = labelSize(spec.rename, sizes)
    return new Map([...new Set([...spec.inputs.flat(), ...spec.output])].map((l) => [l, size(l)]))
  }
  const alloc = (n: number) => new Float64Array(n)

  it('random specs run directly equal the naive loop (diagonals, sums, embeddings, spreads)', () => {
    fc.assert(
      fc.property(specArb, sizesArb, fc.nat(), (spec, sizes, seed) => {
        const size = sizeMap(spec, sizes)
        const next = prng(seed)
        const data = spec.inputs.map((ls) =>
          randomArray(
            ls.reduce((n, l) => n * (size.get(l) as number), 1),
            next,
          ),
        )
        const got = runDirect(directLoop(spec.inputs, spec.output, size), data, alloc)
        const want = naiveEinsum(spec.inputs, spec.output, (l) => size.get(l) as number, data)
        expectClose(got, want)
      }),
      { numRuns: 300 },
    )
  })

  it('the evaluator takes it for element-wise products and dot products, on random specs too', () => {
    // Both plans of every random spec agree, and the direct one was taken for some of them.
    let direct = 0
    fc.assert(
      fc.property(specArb, sizesArb, fc.nat(), (spec, sizes, seed) => {
        const size = sizeMap(spec, sizes)
        if (contractionSchedule(spec.inputs, spec.output, size).direct === undefined) return
        direct++
        const next = prng(seed)
        const data = spec.inputs.map((ls) =>
          randomArray(
            ls.reduce((n, l) => n * (size.get(l) as number), 1),
            next,
          ),
        )
        const t = einsum(specText(spec), { dims: spec.rename })
        const [on] = evaluate(t, sizes, data)
        const old = setDirectEinsum(false)
        try {
          const [off] = evaluate(t, sizes, data)
          expectClose(on as Float64Array, off as Float64Array)
        } finally {
          setDirectEinsum(old)
        }
      }),
      { numRuns: 300 },
    )
    expect(direct).toBeGreaterThan(10)
    // Which plan: the layerNorm backward's products (paper Fig. 37), not a matrix product, not
    // a 'sum first' chain, not a dot product summed innermost.
    const plan = (spec: string, sz: Record<string, number>) => {
      const [ins, out] = spec.split('->') as [string, string]
      return contractionSchedule(
        ins.split(',').map((s) => [...s]),
        [...out],
        new Map(Object.entries(sz)),
      ).direct
    }
    expect(plan('m,im,i->im', { m: 64, i: 17 })).toBeDefined()
    expect(plan('im,im->m', { m: 64, i: 17 })).toBeDefined()
    expect(plan('yk,xk->yx', { y: 3, x: 3, k: 3 })).toBeUndefined()
    expect(plan('ij,ij,il->il', { i: 17, j: 64, l: 64 })).toBeUndefined()
    expect(plan('ab,b->a', { a: 64, b: 1024 })).toBeUndefined()
    expect(plan('a->a', { a: 5 })).toBeUndefined()
  })

  it('IEEE values as the pairwise kernels give them: -0 products add to +0, 0 · ∞ is NaN', () => {
    const size = new Map([['a', 3]])
    const x = Float64Array.from([-0, 0, Infinity])
    const y = Float64Array.from([1, -1, 0])
    const direct = runDirect(directLoop([['a'], ['a']], ['a'], size), [x, y], alloc)
    const old = setDirectEinsum(false)
    try {
      const pairwise = runSchedule(contractionSchedule([['a'], ['a']], ['a'], size), [x, y], alloc)
      expect(Array.from(direct)).toEqual([0, 0, NaN])
      expect(Object.is(direct[0], 0) && Object.is(direct[1], 0)).toBe(true)
      expect(Array.from(pairwise)).toEqual(Array.from(direct))
      expect(Object.is(pairwise[0], 0)).toBe(true)
    } finally {
      setDirectEinsum(old)
    }
  })

  it('an extent 0 gives zeros (an empty sum) or an empty output', () => {
    const empty = new Float64Array(0)
    const sum = runDirect(
      directLoop(
        [['a', 'b'], ['b']],
        ['a'],
        new Map([
          ['a', 2],
          ['b', 0],
        ]),
      ),
      [empty, empty],
      alloc,
    )
    expect(Array.from(sum)).toEqual([0, 0])
    const none = runDirect(
      directLoop([['a'], ['a']], ['a'], new Map([['a', 0]])),
      [empty, empty],
      alloc,
    )
    expect(none.length).toBe(0)
  })
})
