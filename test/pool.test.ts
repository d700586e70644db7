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
  add,
  copy,
  grad,
  id,
  modelZoo,
  mul,
  par,
  randomInputs,
  randomParams,
  scale,
  seq,
  tanh,
} from '../src/index.js'
import { evaluateAsWritten } from '../src/eval/evaluate.js'
import {
  BufferPool,
  buffersMade,
  buffersReused,
  releaseBuffers,
  setPoolSmallest,
} from '../src/eval/pool.js'
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

  it('keeps at most four times the entries that slots held at once', () => {
    const pool = new BufferPool()
    const xs = [pool.take(5000), pool.take(5000)]
    for (const x of xs) pool.hold(x)
    for (const x of xs) pool.release(x)
    // Held together: 10000 entries, so both may be kept.
    const again = [pool.take(5000), pool.take(5000)]
    expect(again.map((x) => x.buffer).sort()).toEqual(xs.map((x) => x.buffer).sort())
    // Nine never held, handed back: only 40000 entries are kept, the rest is the collector's.
    const nine = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    const loose = nine.map(() => pool.take(5000))
    for (const x of loose) pool.discard(x)
    const reused = nine.map(() => pool.take(5000))
    const known = new Set(loose.map((x) => x.buffer))
    expect(reused.filter((x) => known.has(x.buffer))).toHaveLength(8)
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

/** In the enclosing describe, every buffer goes through the pools (the threshold restored after). */
const poolEveryBuffer = (): void => {
  let old = 0
  beforeAll(() => {
    old = setPoolSmallest(1)
  })
  afterAll(() => {
    setPoolSmallest(old)
  })
}

describe('evaluations through the pool (every buffer pooled)', () => {
  poolEveryBuffer()

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

  it('nor the copies the evaluator made for it: a shared input spread over a broadcast', () => {
    // G inside a broadcast over b reads y, shared by every b: y is spread into a scratch tensor
    // of b n entries for the call, which no slot holds. Recycled after the step (pool.sweep),
    // the later b n steps wrote into what G's implementation kept.
    const seen: Float64Array[] = []
    const generators = {
      G: (xs: ReadonlyArray<Float64Array>) => {
        seen.push(xs[1] as Float64Array)
        return [Float64Array.from(xs[0] as Float64Array, (v, i) => v + (xs[1]?.[i] as number))]
      },
    }
    const n = 2500
    const t = seq(
      par(broadcast(tanh(), ['b', 'n']), broadcast(tanh(), ['n'])),
      broadcast(generator('G', [['n'], ['n']], [['n']]), ['b'], { inputs: [0, 'shared'] }),
      broadcast(tanh(), ['b', 'n']),
      broadcast(scale(3), ['b', 'n']),
      broadcast(tanh(), ['b', 'n']),
    )
    const x = Float64Array.from({ length: 2 * n }, (_, i) => Math.cos(i))
    const y = Float64Array.from({ length: n }, (_, i) => Math.sin(i))
    const want = Float64Array.from(y, Math.tanh)
    for (let k = 0; k < 2; k++) evaluate(t, { b: 2, n }, [x, y], {}, { generators })
    expect(seen).toHaveLength(4)
    for (const s of seen) expect(sameBits([Float64Array.from(s)], [want])).toBe('same')
  })
})

describe('from one evaluation to the next, at the default threshold', () => {
  it("the U-Net's loss and gradient on a 64 x 64 image, alternated, make only their outputs anew", () => {
    const unet = modelZoo().find((m) => m.names[0] === 'unet')
    if (unet === undefined) throw new Error('the zoo has no unet')
    // bench:derive's sizes (bench/archs.ts): tensors of 4096 entries and more go through pools.
    const sizes = { ...unet.sizes, m: 16, n: 16, c1: 8, c2: 16, c3: 32 }
    const loss = weightedSumLoss(unet.build())
    const g = grad(loss, { params: Object.keys(randomParams(loss, sizes, 1)) })
    const inputs = randomInputs(g.dom, sizes, 3)
    const params = randomParams(g, sizes, 4)
    const want = [loss, g].map((t) => evaluateAsWritten(t, sizes, inputs, params))
    const big = want.flat().filter((o) => o.length >= 4096).length
    const made: number[] = []
    const outs: Float64Array[][] = []
    for (let round = 0; round < 4; round++) {
      const before = buffersMade()
      for (const t of [loss, g]) outs.push(evaluate(t, sizes, inputs, params))
      made.push(buffersMade() - before)
    }
    expect(big).toBeGreaterThan(0)
    expect(made[0]).toBeGreaterThan(big + 50)
    // Each later round makes its large outputs anew (the caller's to keep), and nothing else.
    expect(made.slice(1)).toEqual([big, big, big])
    // Every output of every round is the caller's: none was written into by a later round.
    outs.forEach((o, i) => expect(sameBits(o, want[i % 2] as Float64Array[])).toBe('same'))
  })
})

describe('from one evaluation to the next (the pools of the terms evaluated last)', () => {
  poolEveryBuffer()

  it('outputs fed back as inputs, and kept: each as written, none overwritten', () => {
    // x <- tanh(3 x) ; x + y, five times, every output kept by the caller (a training loop's
    // parameters, each step's copy).
    const each = (f: Term) => broadcast(f, ['n'])
    const step = seq(par(each(scale(3)), id([['n']])), each(add()), each(tanh()), copy([['n']]))
    const sizes = { n: 64 }
    let xs = randomInputs(step.dom, sizes, 9)
    const kept: Float64Array[][] = []
    const copies: Float64Array[][] = []
    for (let k = 0; k < 5; k++) {
      const want = evaluateAsWritten(step, sizes, xs)
      const got = evaluate(step, sizes, xs)
      expect(sameBits(got, want)).toBe('same')
      kept.push(got)
      copies.push(got.map((x) => Float64Array.from(x)))
      xs = got
    }
    kept.forEach((k, i) => expect(sameBits(k, copies[i] as Float64Array[])).toBe('same'))
  })

  it('an evaluation inside an evaluation of the same term (a generator evaluating it) has its own pool', () => {
    // G(x) evaluates the whole term on x once more (inside, G doubles): both evaluations of the
    // term run at once, and must not hand each other's buffers out.
    const each = (f: Term) => broadcast(f, ['n'])
    let depth = 0
    const sizes = { n: 300 }
    const t: Term = seq(
      each(tanh()),
      each(scale(2)),
      generator('G', [['n']], [['n']]),
      each(tanh()),
      each(scale(-1)),
    )
    const generators = {
      G: (xs: ReadonlyArray<Float64Array>) => {
        const x = xs[0] as Float64Array
        if (depth > 0) return [Float64Array.from(x, (v) => 2 * v)]
        depth++
        const inner = evaluate(t, sizes, [x], {}, { generators })[0] as Float64Array
        depth--
        return [Float64Array.from(x, (v, i) => v + (inner[i] as number))]
      },
    }
    const x = Float64Array.from({ length: 300 }, (_, i) => Math.sin(i / 7))
    const f = (v: number) => -Math.tanh(v)
    const inner = (v: number) => f(2 * 2 * Math.tanh(v))
    const want = Float64Array.from(x, (v) => {
      const a = 2 * Math.tanh(v)
      return f(a + inner(a))
    })
    for (let k = 0; k < 3; k++) {
      const got = evaluate(t, sizes, [x], {}, { generators })[0] as Float64Array
      got.forEach((v, i) => expect(Math.abs(v - (want[i] as number))).toBeLessThan(1e-12))
    }
  })

  it('releaseBuffers lets go of what was kept: the next evaluation makes its buffers anew', () => {
    const t = seq(broadcast(tanh(), ['n']), copy([['n']]), broadcast(add(), ['n']))
    const x = randomInputs(t.dom, { n: 50 }, 1)
    evaluate(t, { n: 50 }, x)
    let before = buffersMade()
    evaluate(t, { n: 50 }, x)
    // The output only: the tanh's entries come from the last evaluation.
    expect(buffersMade() - before).toBe(1)
    expect(releaseBuffers()).toBeGreaterThanOrEqual(50)
    expect(releaseBuffers()).toBe(0)
    before = buffersMade()
    evaluate(t, { n: 50 }, x)
    expect(buffersMade() - before).toBe(2)
  })
})

describe('hole (fixed): a pool kept across a change of the threshold (second reading of 02f3442)', () => {
  it('buffers kept under one threshold are not given out, uncounted, under another', () => {
    // Kept while every buffer was pooled, the 4-entry buffers were handed out again after the
    // threshold went back to 4096, where hold() no longer counted them: the sweep recycled the
    // tanh's output while the product still had to read it, and the output read zeros.
    const t = seq(broadcast(tanh(), ['n']), copy([['n']]), broadcast(mul(), ['n']))
    const sizes = { n: 4 }
    const x = [Float64Array.from([0.1, 0.2, 0.3, 0.4])]
    const want = evaluateAsWritten(t, sizes, x)
    const old = setPoolSmallest(1)
    try {
      expect(sameBits(evaluate(t, sizes, x), want)).toBe('same')
    } finally {
      setPoolSmallest(old)
    }
    const a = evaluate(t, sizes, x)
    expect(sameBits(a, want)).toBe('same')
    const y = [Float64Array.from([1, 2, 3, 4])]
    expect(sameBits(evaluate(t, sizes, y), evaluateAsWritten(t, sizes, y))).toBe('same')
    expect(sameBits(a, want)).toBe('same')
  })
})
