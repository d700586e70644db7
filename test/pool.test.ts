/**
 * The evaluator's buffer pool (src/eval/pool.ts): a buffer is given out again only when no slot
 * holds a value on it, and evaluations through the pool are those without it, bit for bit. The
 * pool takes only buffers of 4096 entries or more; the evaluations here lower that to 1, so that
 * every buffer of these small terms goes through it, and count that buffers were reused.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Term,
  broadcast,
  causalMask,
  evaluate,
  generator,
  grad,
  modelZoo,
  randomInputs,
  randomParams,
  scale,
  seq,
  tanh,
} from '../src/index.js'
import { evaluateAsWritten } from '../src/eval/evaluate.js'
import { BufferPool, buffersReused, setPoolSmallest } from '../src/eval/pool.js'
import { termWithSizesArb } from '../src/testing/cases.js'
import { weightedSumLoss } from '../src/testing/losses.js'

describe('BufferPool', () => {
  it('gives a buffer out again only when no slot holds it, zeroed', () => {
    const pool = new BufferPool()
    const a = pool.take(5000)
    a.fill(7)
    pool.hold(a)
    // A second value on the same buffer (a view): both slots must let go.
    pool.hold(a.subarray(1000, 2000))
    pool.release(a)
    const b = pool.take(5000)
    expect(b.buffer).not.toBe(a.buffer)
    pool.release(a.subarray(0, 10))
    const c = pool.take(5000)
    expect(c.buffer).toBe(a.buffer)
    expect(c.every((v) => v === 0)).toBe(true)
    // Another length is another buffer.
    pool.hold(c)
    pool.release(c)
    expect(pool.take(4999).buffer).not.toBe(c.buffer)
  })

  it('never reuses a buffer it did not make, one kept for the caller, or a small one', () => {
    const pool = new BufferPool()
    const own = pool.take(8192)
    pool.hold(own)
    const input = new Float64Array(8192)
    pool.hold(input)
    pool.release(input)
    const kept = pool.take(8192)
    expect(kept.buffer).not.toBe(input.buffer)
    pool.hold(kept)
    pool.release(kept, true)
    expect(pool.take(8192).buffer).not.toBe(kept.buffer)
    const small = pool.take(16)
    pool.hold(small)
    pool.release(small)
    expect(pool.take(16).buffer).not.toBe(small.buffer)
    // discard: only what no slot holds.
    pool.discard(own)
    expect(pool.take(8192).buffer).not.toBe(own.buffer)
    pool.release(own)
    expect(pool.take(8192).buffer).toBe(own.buffer)
  })

  it('keeps at most twice the entries that slots held at once', () => {
    const pool = new BufferPool()
    const xs = [pool.take(5000), pool.take(5000)]
    for (const x of xs) pool.hold(x)
    for (const x of xs) pool.release(x)
    // Held together: 10000 entries, so both may be kept.
    const again = [pool.take(5000), pool.take(5000)]
    expect(again.map((x) => x.buffer).sort()).toEqual(xs.map((x) => x.buffer).sort())
    // Five never held, handed back: only 20000 entries are kept, the rest is the collector's.
    const loose = [1, 2, 3, 4, 5].map(() => pool.take(5000))
    for (const x of loose) pool.discard(x)
    const reused = [1, 2, 3, 4, 5].map(() => pool.take(5000))
    const known = new Set(loose.map((x) => x.buffer))
    expect(reused.filter((x) => known.has(x.buffer))).toHaveLength(4)
  })
})

/** Bit for bit (Object.is on every entry), or the first difference. */
const sameBits = (a: ReadonlyArray<Float64Array>, b: ReadonlyArray<Float64Array>): string => {
  if (a.length !== b.length) return `${a.length} outputs against ${b.length}`
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Float64Array
    const y = b[i] as Float64Array
    if (x.length !== y.length) return `output ${i}: ${x.length} entries against ${y.length}`
    for (let j = 0; j < x.length; j++)
      if (!Object.is(x[j], y[j])) return `output ${i} entry ${j}: ${x[j]} against ${y[j]}`
  }
  return 'same'
}

describe('evaluations through the pool (every buffer pooled)', () => {
  let old = 0
  beforeAll(() => {
    old = setPoolSmallest(1)
  })
  afterAll(() => {
    setPoolSmallest(old)
  })

  it('random terms: the entries of the evaluation as written, and twice in a row', () => {
    const before = buffersReused()
    let compared = 0
    for (const generators of [true, false]) {
      const cases = fc.sample(
        termWithSizesArb({ depth: 5, generators, numericSafe: false, maxSize: 4 }),
        { numRuns: 60, seed: 7100 + (generators ? 1 : 0) },
      )
      for (const c of cases) {
        const want = evaluateAsWritten(c.term, c.sizes, c.inputs, c.params)
        const got = evaluate(c.term, c.sizes, c.inputs, c.params)
        expect(sameBits(got, want)).toBe('same')
        // The outputs are the caller's: a second evaluation does not write into them.
        const copy = got.map((x) => Float64Array.from(x))
        evaluate(c.term, c.sizes, c.inputs, c.params)
        expect(sameBits(got, copy)).toBe('same')
        compared++
      }
    }
    expect(compared).toBe(120)
    expect(buffersReused() - before).toBeGreaterThan(50)
  })

  // The paper's larger models (Fig. 27-29, 38) at the zoo's small sizes.
  const larger = ['idresnet', 'unet', 'vit', 'transformer']
  for (const { names, build, sizes } of modelZoo().filter((m) => larger.includes(m.names[0]!)))
    it(`${names[0]}: the gradient as written, bit for bit`, () => {
      const name = names[0]
      const before = buffersReused()
      const loss = weightedSumLoss(build())
      const g = grad(loss, { params: Object.keys(randomParams(loss, sizes, 1)) })
      const inputs = randomInputs(g.dom, sizes, 3)
      if (name === 'transformer') inputs[2] = causalMask(sizes['y'] as number)
      const params = randomParams(g, sizes, 4)
      expect(
        sameBits(evaluate(g, sizes, inputs, params), evaluateAsWritten(g, sizes, inputs, params)),
      ).toBe('same')
      expect(buffersReused() - before).toBeGreaterThan(20)
    })
})

describe('hole (fixed): a generator that kept its input saw it overwritten (second reading of 140f9b7)', () => {
  it('the arrays an implementation was given still hold their values after the evaluation', () => {
    // tanh ; G ; tanh ; scale ; tanh: G's input (the first tanh's output) is read by no later
    // step, so the pool handed its buffer to a later step while G's implementation kept it.
    const seen: Float64Array[] = []
    const generators = {
      G: (xs: ReadonlyArray<Float64Array>) => {
        seen.push(xs[0] as Float64Array)
        return [Float64Array.from(xs[0] as Float64Array, (v) => 2 * v)]
      },
    }
    const each = (f: Term) => broadcast(f, ['n'])
    const t = seq(
      each(tanh()),
      generator('G', [['n']], [['n']]),
      each(tanh()),
      each(scale(3)),
      each(tanh()),
    )
    const sizes = { n: 5000 }
    const x = Float64Array.from({ length: 5000 }, (_, i) => Math.sin(i))
    const want = Float64Array.from(x, Math.tanh)
    const before = buffersReused()
    evaluate(t, sizes, [x], {}, { generators })
    // The one buffer this evaluation freed for reuse was G's input (reused once before the fix).
    expect(buffersReused() - before).toBe(0)
    expect(sameBits([seen[0] as Float64Array], [want])).toBe('same')
  })
})
