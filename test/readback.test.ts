/**
 * The read-back of `graph` for long-lived values (issue 12, section 1: derivatives linear in the
 * term's size). A reverse derivative reads its forward values in reverse order, so each lives
 * across the whole graph; read back layer by layer, every layer carried every live wire (size
 * quadratic in the depth). `graph` now cuts long runs of nodes in halves, a wire passing a half
 * it does not touch in one identity beside it.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Term,
  type Wire,
  add,
  children,
  evaluate,
  graph,
  mul,
  par,
  tanh,
  unary,
  vjp,
} from '../src/index.js'

/** Segments in the distinct nodes of a term: what building and evaluating it walk. */
const segments = (t: Term): number => {
  const seen = new Set<Term>()
  let n = 0
  const visit = (x: Term): void => {
    if (seen.has(x)) return
    seen.add(x)
    n += x.dom.length + x.cod.length
    children(x).forEach(visit)
  }
  visit(t)
  return n
}

/** x_0 = x, x_{i+1} = tanh(x_i) forward; then y = Σ_i x_i ⊙ x_{n-i} read back from the end. */
const mirrored = (n: number): Term =>
  graph([[]], ([x], apply) => {
    const xs: Wire[] = [x as Wire]
    for (let i = 0; i < n; i++) xs.push(apply(tanh(), xs[i] as Wire)[0] as Wire)
    let acc = apply(mul(), xs[n] as Wire, x as Wire)[0] as Wire
    for (let i = 1; i <= n; i++)
      acc = apply(add(), acc, apply(mul(), xs[n - i] as Wire, xs[i] as Wire)[0] as Wire)[0] as Wire
    return [acc, xs[n >> 1] as Wire]
  })

const direct = (n: number, x: number): [number, number] => {
  const xs = [x]
  for (let i = 0; i < n; i++) xs.push(Math.tanh(xs[i] as number))
  let acc = (xs[n] as number) * x
  for (let i = 1; i <= n; i++) acc += (xs[n - i] as number) * (xs[i] as number)
  return [acc, xs[n >> 1] as number]
}

describe('graph reads long-lived values back in halves', () => {
  it('evaluates as the graph says, at sizes around the cut-over', () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 90 }),
        fc.double({ min: -2, max: 2, noNaN: true }),
        (n, x) => {
          const [s, m] = evaluate(mirrored(n), {}, [[x]]).map((v) => v[0] as number)
          const [s0, m0] = direct(n, x)
          expect(Math.abs((s as number) - s0)).toBeLessThanOrEqual(
            1e-12 * Math.max(1, Math.abs(s0)),
          )
          expect(m).toBe(m0)
        },
      ),
      { numRuns: 40 },
    ))

  it('is about linear in size: doubling the depth at most 2.5x the segments', () => {
    // Layer by layer it was quadratic: 4x per doubling (n = 512: 7.6 M segments, now about 0.36 M).
    const [a, b] = [segments(mirrored(256)), segments(mirrored(512))]
    expect(b / a).toBeLessThan(2.5)
    expect(b).toBeLessThan(500_000)
  })

  it('keeps small graphs layer by layer (side by side where they can be)', () => {
    const t = graph([[], []], ([x, y], apply) => [
      ...apply(unary('relu'), x as Wire),
      ...apply(tanh(), y as Wire),
    ])
    expect(t.kind).toBe('par')
  })

  it('reads independent parts side by side, whatever the order of their inputs', () => {
    // x_1 … x_n, y_1 … y_n -> x_1 y_1, …, x_n y_n: one component per product, the inputs by
    // kind rather than by part (as the points and tangents of a wide stack come).
    const products = (n: number): Term =>
      graph(
        Array.from({ length: 2 * n }, () => []),
        (ins, apply) =>
          Array.from(
            { length: n },
            (_, i) => apply(mul(), ins[i] as Wire, ins[n + i] as Wire)[0] as Wire,
          ),
      )
    const t = products(300)
    const xs = Array.from({ length: 600 }, (_, i) => [i / 7 - 20])
    const out = evaluate(t, {}, xs)
    out.forEach((v, i) => expect(v[0]).toBe((xs[i]![0] as number) * (xs[300 + i]![0] as number)))
    expect(segments(products(600)) / segments(t)).toBeLessThan(2.5)
    // Cut in halves instead, the permutations at every level made 328 k segments at n = 600.
    expect(segments(products(600))).toBeLessThan(150_000)
  })

  it('keeps the reverse derivative of a wide stack about linear in its width', () => {
    const stack = (n: number) => par(...Array.from({ length: n }, () => tanh('k')))
    const [a, b] = [segments(vjp(stack(200))), segments(vjp(stack(400)))]
    expect(b / a).toBeLessThan(2.5)
    // 471 k segments at n = 400 before the stack's backward was built directly.
    expect(b).toBeLessThan(200_000)
    const sizes = { k: 2 }
    const x = Array.from({ length: 3 }, (_, i) => [i - 1, 0.5 * i])
    const ybar = Array.from({ length: 3 }, (_, i) => [1, i + 2])
    const outs = evaluate(vjp(stack(3)), sizes, [...x, ...ybar])
    outs.slice(3).forEach((g, i) =>
      g.forEach((v, j) => {
        const t0 = Math.tanh(x[i]![j] as number)
        expect(v).toBeCloseTo((1 - t0 * t0) * (ybar[i]![j] as number), 12)
      }),
    )
  })
})
