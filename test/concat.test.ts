/**
 * Concatenation and split (`concat(axis, parts)`, `split(axis, parts)`; paper Fig. 28) against
 * independent references: the definition by indexes (a loop over every entry), TensorFlow.js's
 * `tf.concat` and `tf.split`, and, for derivatives, central finite differences and the
 * dot-product test of `vjp` and `transpose`.
 */
import * as tf from '@tensorflow/tfjs'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  type Shape,
  type Sizes,
  TermError,
  broadcast,
  concat,
  cost,
  dimSize,
  dimSum,
  evaluate,
  jvp,
  linearLayer,
  par,
  seq,
  show,
  showDim,
  showTyped,
  split,
  tanh,
  termEquals,
  termFromJson,
  termToJson,
  transpose,
  vjp,
} from '../src/index.js'
import { DEFAULT_DIMS } from '../src/testing/sizes.js'
import { inputsArb } from '../src/testing/tensors.js'
import { useTensorFlowCpu } from './tf-setup.js'

useTensorFlowCpu()

const extents = (s: Shape, sizes: Sizes): number[] => s.map((d) => dimSize(d, sizes))
const count = (xs: ReadonlyArray<number>): number => xs.reduce((n, x) => n * x, 1)

/** A case: the parts' shapes (equal off `axis`), the axis, sizes of a, b, c, d up to 4. */
const caseArb = fc
  .record({
    rank: fc.integer({ min: 1, max: 3 }),
    parts: fc.integer({ min: 1, max: 4 }),
    sizes: fc.record({
      a: fc.integer({ min: 1, max: 4 }),
      b: fc.integer({ min: 1, max: 4 }),
      c: fc.integer({ min: 1, max: 4 }),
      d: fc.integer({ min: 1, max: 4 }),
    }),
  })
  .chain(({ rank, parts, sizes }) =>
    fc
      .record({
        axis: fc.integer({ min: 0, max: rank - 1 }),
        others: fc.array(fc.constantFrom(...DEFAULT_DIMS), { minLength: rank, maxLength: rank }),
        pieces: fc.array(fc.constantFrom(...DEFAULT_DIMS), { minLength: parts, maxLength: parts }),
      })
      .map(({ axis, others, pieces }) => ({
        axis,
        sizes: sizes as Sizes,
        shapes: pieces.map((p) => others.map((d, i) => (i === axis ? p : d))) as Shape[],
      })),
  )

/** `concat` by its definition: out[..., o_i + t, ...] = x_i[..., t, ...], looping over entries. */
const byIndexes = (
  shapes: ReadonlyArray<Shape>,
  axis: number,
  sizes: Sizes,
  xs: ReadonlyArray<Float64Array>,
): Float64Array => {
  const ext = shapes.map((s) => extents(s, sizes))
  const joined = (ext[0] as number[]).map((n, i) =>
    i === axis ? ext.reduce((m, e) => m + (e[i] as number), 0) : n,
  )
  const out = new Float64Array(count(joined))
  let offset = 0
  ext.forEach((e, p) => {
    const x = xs[p] as Float64Array
    for (let flat = 0; flat < x.length; flat++) {
      // The index of entry `flat` of part p, then its place in the joined tensor.
      let rest = flat
      const idx: number[] = []
      for (let k = e.length - 1; k >= 0; k--) {
        idx[k] = rest % (e[k] as number)
        rest = Math.floor(rest / (e[k] as number))
      }
      idx[axis] = (idx[axis] as number) + offset
      let at = 0
      for (let k = 0; k < joined.length; k++) at = at * (joined[k] as number) + (idx[k] as number)
      out[at] = x[flat] as number
    }
    offset += e[axis] as number
  })
  return out
}

describe('concat and split by their definitions', () => {
  it('concat(axis, parts) is the joined tensor entry by entry (300 random cases)', () => {
    fc.assert(
      fc.property(
        caseArb.chain((c) =>
          inputsArb(
            c.shapes.map((s) => s),
            c.sizes,
          ).map((xs) => ({ ...c, xs })),
        ),
        ({ axis, sizes, shapes, xs }) => {
          const t = concat(axis, shapes)
          const joined = dimSum(...shapes.map((s) => s[axis]!))
          expect(showDim(t.cod[0]![axis]!)).toBe(showDim(joined))
          const [out] = evaluate(t, sizes, xs)
          expect(Array.from(out!)).toEqual(Array.from(byIndexes(shapes, axis, sizes, xs)))
          // The split gives the parts back, exactly.
          const back = evaluate(split(axis, shapes), sizes, [out!])
          back.forEach((p, i) => expect(Array.from(p)).toEqual(Array.from(xs[i]!)))
        },
      ),
      { numRuns: 300 },
    )
  })

  it('short and long rows alike: pieces of 3, 8, 64 and 100 entries a row (loop and set copies)', () => {
    // The kernels copy a row piece under 64 entries by a loop, a longer one by `set`; the random
    // cases above have short rows only. Rows of the U-Net's channel concatenation (Fig. 28) are 8.
    const sizes = { r: 5, a: 3, b: 8, c: 64, d: 100 }
    for (const pieces of [
      ['a', 'c'],
      ['b', 'd', 'a'],
      ['c', 'd'],
      ['b', 'b'],
    ]) {
      const shapes = concat(
        1,
        pieces.map((p) => `r ${p}`),
      ).dom as Shape[]
      const xs = shapes.map((s) =>
        Float64Array.from({ length: count(extents(s, sizes)) }, (_, i) => i + 0.5),
      )
      const [out] = evaluate(concat(1, shapes), sizes, xs)
      expect(Array.from(out!)).toEqual(Array.from(byIndexes(shapes, 1, sizes, xs)))
      const back = evaluate(split(1, shapes), sizes, [out!])
      back.forEach((p, i) => expect(Array.from(p)).toEqual(Array.from(xs[i]!)))
    }
  })

  it('a negative axis counts from the end, as in PyTorch', () => {
    const parts = [
      ['a', 'b'],
      ['a', 'c'],
    ]
    expect(showTyped(concat(-1, parts))).toBe(showTyped(concat(1, parts)))
  })

  it('joined axes are sums in canonical form: c + c is 2c (the U-Net skip of Fig. 28)', () => {
    expect(showTyped(concat(0, ['c h w', 'c h w']))).toBe(
      'bcast[h w @in(1,1) @out(1)](concat(c,c)) : [c h w] × [c h w] -> [(2*c) h w]',
    )
    expect(showTyped(split(0, [['c'], ['c']]))).toBe('split(c,c) : [(2*c)] -> [c] × [c]')
  })

  it('refuses parts that differ off the joined axis, a bad axis, and no parts, naming them', () => {
    const expectError = (f: () => unknown, code: string, text: RegExp): void => {
      try {
        f()
      } catch (e) {
        expect(e).toBeInstanceOf(TermError)
        expect((e as TermError).code).toBe(code)
        expect((e as TermError).message).toMatch(text)
        return
      }
      throw new Error('no error')
    }
    expectError(() => concat(0, ['a h', 'b w']), 'type-mismatch', /part 1 .*\[b w\]/s)
    expectError(() => concat(0, ['a h', 'b']), 'type-mismatch', /part 1/)
    expectError(() => concat(2, ['a h', 'b h']), 'bad-argument', /from -2 to 1.*got: +2/s)
    expectError(() => concat(0.5, ['a', 'b']), 'bad-argument', /got: +0.5/)
    expectError(() => concat(0, []), 'bad-argument', /one part or more/)
    expectError(() => split(0, [[]]), 'bad-argument', /at least one axis/)
    expectError(() => concat(0, [['a'], [undefined as unknown as string]]), 'bad-dim', /part 1/)
  })

  it('round-trips through JSON', () => {
    for (const t of [concat(1, ['h a', 'h b', 'h a']), split(0, ['a h', 'b h'])]) {
      const back = termFromJson(termToJson(t))
      if (E.isLeft(back)) throw new Error('did not decode')
      expect(termEquals(back.right, t)).toBe(true)
    }
  })
})

describe('concat and split against TensorFlow.js', () => {
  it('tf.concat and tf.split give the same entries (100 random cases, float32 data)', () => {
    fc.assert(
      fc.property(
        caseArb.chain((c) =>
          inputsArb(c.shapes, c.sizes, { values: 'quarters' }).map((xs) => ({ ...c, xs })),
        ),
        ({ axis, sizes, shapes, xs }) => {
          const [ours] = evaluate(concat(axis, shapes), sizes, xs)
          const theirs = tf.tidy(() =>
            tf.concat(
              xs.map((x, i) => tf.tensor(Array.from(x), extents(shapes[i]!, sizes))),
              axis,
            ),
          )
          expect(Array.from(ours!)).toEqual(Array.from(theirs.dataSync()))
          const lengths = shapes.map((s) => dimSize(s[axis]!, sizes))
          const cut = tf.split(theirs, lengths, axis)
          const back = evaluate(split(axis, shapes), sizes, [ours!])
          back.forEach((p, i) => expect(Array.from(p)).toEqual(Array.from(cut[i]!.dataSync())))
          theirs.dispose()
          cut.forEach((c) => c.dispose())
        },
      ),
      { numRuns: 100 },
    )
  })
})

const dot = (x: ArrayLike<number>, y: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < x.length; i++) s += (x[i] as number) * (y[i] as number)
  return s
}

describe('derivatives and transposes of concat', () => {
  const sizes: Sizes = { a: 2, b: 3, h: 2, k: 3 }
  // A skip connection: two feature maps joined on their channels, then a layer and tanh.
  const f = seq(
    par(tanh('a h'), tanh('b h')),
    concat(0, ['a h', 'b h']),
    broadcast(linearLayer('W', dimSum('a', 'b'), 'k', { bias: true }), ['h'], { at: 'last' }),
    tanh('k h'),
  )

  it('the transpose of concat is split and back: <concat x, y> = <x, split y>', () => {
    const c = concat(1, ['h a', 'h b'])
    expect(show(transpose(c))).toBe(show(split(1, ['h a', 'h b'])))
    const [xs] = fc.sample(inputsArb(c.dom, sizes), { numRuns: 1, seed: 3 })
    const [ys] = fc.sample(inputsArb(c.cod, sizes), { numRuns: 1, seed: 4 })
    const left = dot(evaluate(c, sizes, xs!)[0]!, ys![0]!)
    const back = evaluate(transpose(c), sizes, ys!)
    const right = back.reduce((s, p, i) => s + dot(p, xs![i]!), 0)
    expect(Math.abs(left - right)).toBeLessThan(1e-12 * Math.max(1, Math.abs(left)))
  })

  it('jvp by central finite differences (h = 1e-6, abs. 1e-7)', () => {
    const [xs] = fc.sample(inputsArb(f.dom, sizes), { numRuns: 1, seed: 5 })
    const [dxs] = fc.sample(inputsArb(f.dom, sizes), { numRuns: 1, seed: 6 })
    const params = { 'W.weight': Float64Array.from({ length: 15 }, (_, i) => Math.sin(i + 1)) }
    const withBias = { ...params, 'W.bias': Float64Array.from([0.1, -0.2, 0.3]) }
    const out = evaluate(jvp(f), sizes, [...xs!, ...dxs!], withBias)
    const tangent = out[out.length - 1]!
    const h = 1e-6
    const shifted = (sign: number) =>
      evaluate(
        f,
        sizes,
        xs!.map((x, i) => x.map((v, j) => v + sign * h * dxs![i]![j]!)),
        withBias,
      )[0]!
    const up = shifted(1)
    const down = shifted(-1)
    let worst = 0
    tangent.forEach(
      (t, i) => (worst = Math.max(worst, Math.abs(t - (up[i]! - down[i]!) / (2 * h)))),
    )
    expect(worst).toBeLessThan(1e-7)
  })

  it('vjp by the dot-product test: <ȳ, J dx> = <vjp(x, ȳ), dx>', () => {
    const params = {
      'W.weight': Float64Array.from({ length: 15 }, (_, i) => Math.cos(i + 2)),
      'W.bias': Float64Array.from([0.2, 0.1, -0.3]),
    }
    const [xs] = fc.sample(inputsArb(f.dom, sizes), { numRuns: 1, seed: 7 })
    const [dxs] = fc.sample(inputsArb(f.dom, sizes), { numRuns: 1, seed: 8 })
    const [ys] = fc.sample(inputsArb(f.cod, sizes), { numRuns: 1, seed: 9 })
    const tangent = evaluate(jvp(f), sizes, [...xs!, ...dxs!], params).at(-1)!
    const left = dot(ys![0]!, tangent)
    const back = evaluate(vjp(f), sizes, [...xs!, ...ys!], params)
    const cotangents = back.slice(1)
    const right = cotangents.reduce((s, c, i) => s + dot(c, dxs![i]!), 0)
    expect(Math.abs(left - right)).toBeLessThan(1e-12 * Math.max(1, Math.abs(left)))
  })
})

describe('the cost of concat', () => {
  it('moves data: 0 FLOPs, the joined output written (and the split parts)', () => {
    const sizes: Sizes = { a: 2, b: 3, h: 4 }
    const c = cost(concat(0, ['a h', 'b h']), sizes)
    expect(c.flops).toBe(0)
    const row = c.byPrimitive.find((r) => r.primitive === 'concat')
    expect(row?.memory).toBe(20)
    const s = cost(split(0, ['a h', 'b h']), sizes)
    expect(s.byPrimitive.find((r) => r.primitive === 'concat:adjoint')?.memory).toBe(20)
  })
})
