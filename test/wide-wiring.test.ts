/**
 * Wide wiring and wide stacks (issue 12, linear time where the input is linear): `wiring` past
 * the block-swap size (permutations by stable partition, fans of many copies by trees) against
 * its definition, and the normal form of wide stacks, read back piece by piece, against the
 * evaluator: same values, idempotent, same normal key.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Term,
  copy,
  drop,
  evaluate,
  linearLayer,
  mul,
  normalKey,
  normalize,
  par,
  randomInputs,
  randomParams,
  relu,
  seq,
  show,
  swap,
  tanh,
  termEquals,
  toType,
  wiring,
} from '../src/index.js'

const numRuns = Number(process.env.LAW_RUNS ?? 100)

const close = (a: Float64Array[], b: Float64Array[]): boolean =>
  a.length === b.length &&
  a.every(
    (x, i) =>
      x.length === (b[i] as Float64Array).length &&
      Array.from(x).every((p, j) => {
        const q = (b[i] as Float64Array)[j] as number
        return Math.abs(p - q) <= 1e-9 * Math.max(1, Math.abs(p), Math.abs(q))
      }),
  )

describe('wiring on many wires', () => {
  it('output j is input sources[j], for up to 60 inputs read up to 80 times in all', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }).chain((n) =>
          fc.record({
            shapes: fc.array(fc.constantFrom([], ['a'], ['b'], ['a', 'b']), {
              minLength: n,
              maxLength: n,
            }),
            sources: fc.oneof(
              fc.array(fc.integer({ min: 0, max: n - 1 }), { maxLength: 80 }),
              // A permutation, and an input read 20 times (a fan past the chain of copies).
              fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
              fc.constant([...Array(20).fill(n - 1), ...Array(n).keys()]),
            ),
          }),
        ),
        ({ shapes, sources }) => {
          const w = wiring(toType(shapes), sources)
          const sizes = { a: 2, b: 3 }
          const inputs = randomInputs(w.dom, sizes, shapes.length)
          const out = evaluate(w, sizes, inputs)
          expect(out.length).toBe(sources.length)
          sources.forEach((s, j) =>
            expect(Array.from(out[j] as Float64Array)).toEqual(
              Array.from(inputs[s] as Float64Array),
            ),
          )
        },
      ),
      { numRuns },
    )
  })

  it('a false neighbour is told apart: two different permutations give different outputs', () => {
    const shapes = toType(Array.from({ length: 20 }, () => []))
    const order = [...Array(20).keys()]
    const other = [1, 0, ...order.slice(2)]
    const inputs = order.map((i) => [i])
    const a = evaluate(wiring(shapes, order.reverse()), {}, inputs)
    const b = evaluate(wiring(shapes, other.reverse()), {}, inputs)
    expect(a.map((x) => x[0])).not.toEqual(b.map((x) => x[0]))
  })
})

/** Small maps of various arities, some with parameters, for wide stacks. */
const pieces: ReadonlyArray<(i: number) => Term> = [
  (i) => linearLayer(`W${i}`, 'k', 'k'),
  () => relu('k'),
  () => tanh('k'),
  () => seq(copy([['k']]), mul('k')),
  () => swap([['k']], [['k']]),
  () => drop([['k']]),
  () => copy([['k']]),
  (i) => seq(par(linearLayer(`V${i}`, 'k', 'k'), relu('k')), mul('k')),
]

describe('the normal form of wide stacks', () => {
  it('evaluates equal to the stack, is idempotent and keeps the normal key', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: pieces.length - 1 }), { minLength: 2, maxLength: 40 }),
        fc.integer({ min: 1, max: 3 }),
        (picks, k) => {
          const stack = par(...picks.map((p, i) => (pieces[p] as (i: number) => Term)(i)))
          // Also inside wiring, so that the stack is not the whole term.
          const t = seq(wiring(stack.dom, [...stack.dom.keys()].reverse()), stack)
          const n = normalize(t)
          const sizes = { k }
          const inputs = randomInputs(t.dom, sizes, picks.length)
          const params = randomParams(t, sizes, 1)
          expect(
            close(evaluate(n, sizes, inputs, params), evaluate(t, sizes, inputs, params)),
            show(n, { maxLength: 400 }),
          ).toBe(true)
          expect(termEquals(normalize(n), n)).toBe(true)
          expect(normalKey(n)).toBe(normalKey(t))
        },
      ),
      { numRuns },
    )
  })

  it('a wide stack of linear layers reads back as a stack of its layers', () => {
    const t = par(...Array.from({ length: 50 }, (_, i) => linearLayer(`W${i}`, 'k', 'k')))
    const n = normalize(t)
    expect(n.kind).toBe('par')
    expect(n.kind === 'par' ? n.parts.length : 0).toBe(50)
    // Two layers exchanged are a different map (a false neighbour), and a different key.
    const parts = Array.from({ length: 50 }, (_, i) => linearLayer(`W${i}`, 'k', 'k'))
    ;[parts[0], parts[1]] = [parts[1] as Term, parts[0] as Term]
    expect(normalKey(par(...parts))).not.toBe(normalKey(t))
  })
})
