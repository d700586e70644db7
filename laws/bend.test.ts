/**
 * Partial bends (paper Fig. 20, 36): the two constructions of `bend` agree with each other and
 * with the definition by indexes (the associated tensor read off by evaluating f on basis
 * vectors); the full bend is `transpose`; bending back is the identity; bending commutes with
 * broadcasting. Plausible false neighbours are refuted. The Jacobian of Fig. 36 is checked against
 * central finite differences and against `vjp` by the dot-product test.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type AxisRef,
  type BendOptions,
  type Sizes,
  type Shape,
  type Term,
  TermError,
  attention,
  bend,
  bendByEinsum,
  broadcast,
  conv2d,
  convTensor,
  einsum,
  evaluate,
  id,
  jacobian,
  linearLayer,
  mlp,
  par,
  param,
  paramsOf,
  relu,
  seq,
  shapeExtents,
  tanh,
  transpose,
  unbend,
  vjp,
  bendLawRules,
  bendRules,
  broadcast as bcast,
  fig20Bend,
  generator,
  patternOfTerm,
  rule,
  v,
  applyAt,
  termEquals,
} from '../src/index.js'
import * as E from 'fp-ts/lib/Either.js'
import { linear, typed } from '../src/rewrite/rule.js'
import { checkLaw, refuteLaw } from '../src/testing/laws.js'
import { sizesFit, shapeArb, termSizesArb } from '../src/testing/sizes.js'
import { inputsArb, paramsArb, tensorArb } from '../src/testing/tensors.js'
import { termArb } from '../src/testing/terms.js'

const numRuns = Number(process.env.LAW_RUNS ?? 150)

const size = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a * b, 1)

/** Relative closeness at 1e-9 of two arrays (scaled by the larger magnitude, at least 1). */
const close = (x: Float64Array, y: Float64Array, tol = 1e-9): boolean =>
  x.length === y.length &&
  x.every(
    (v, i) =>
      Math.abs(v - (y[i] as number)) <= tol * Math.max(1, Math.abs(v), Math.abs(y[i] as number)),
  )

/** A random placement of every axis of `[A] -> [B]` into a new input and output. */
const placementArb = (a: number, b: number): fc.Arbitrary<BendOptions> => {
  const refs: AxisRef[] = [
    ...Array.from({ length: a }, (_, i): AxisRef => ['in', i]),
    ...Array.from({ length: b }, (_, j): AxisRef => ['out', j]),
  ]
  return fc
    .tuple(fc.shuffledSubarray(refs, { minLength: refs.length }), fc.nat(refs.length))
    .map(([order, cut]) => ({ dom: order.slice(0, cut), cod: order.slice(cut) }))
}

interface Case {
  readonly f: Term
  readonly o: BendOptions
  readonly sizes: Sizes
  readonly params: Readonly<Record<string, Float64Array>>
}

/** A linear f : [A] -> [B], a placement of its axes, sizes and parameter values. */
const caseArb: fc.Arbitrary<Case> = fc
  .tuple(shapeArb({ maxRank: 2 }), shapeArb({ maxRank: 2 }))
  .chain(([a, b]) =>
    fc.tuple(termArb([a], { cod: [b], linear: true, depth: 2 }), placementArb(a.length, b.length)),
  )
  .chain(([f, o]) =>
    termSizesArb(f).chain((sizes) =>
      paramsArb(f, sizes).map((params) => ({ f, o, sizes, params })),
    ),
  )
  .filter((c) => sizesFit(c.f, c.sizes))

/** The definition by indexes: T[a, b] = f(e_a)[b], then out[cod] = Σ_dom T[a, b] y[dom]. */
const byIndexes = (c: Case, y: Float64Array): Float64Array => {
  const a = shapeExtents(c.f.dom[0]!, c.sizes)
  const b = shapeExtents(c.f.cod[0]!, c.sizes)
  const na = size(a)
  const nb = size(b)
  const T = new Float64Array(na * nb)
  for (let i = 0; i < na; i++) {
    const e = new Float64Array(na)
    e[i] = 1
    const col = evaluate(c.f, c.sizes, [e], c.params)[0]!
    for (let j = 0; j < nb; j++) T[i * nb + j] = col[j]!
  }
  const extent = (r: AxisRef): number => (r[0] === 'in' ? a[r[1]]! : b[r[1]]!)
  const domExt = c.o.dom.map(extent)
  const codExt = c.o.cod.map(extent)
  const out = new Float64Array(size(codExt))
  const strides = (ext: ReadonlyArray<number>): number[] =>
    ext.map((_, k) => size(ext.slice(k + 1)))
  const [sa, sb, sd, sc] = [strides(a), strides(b), strides(domExt), strides(codExt)]
  const all = [...c.o.dom, ...c.o.cod]
  const ext = [...domExt, ...codExt]
  const idx = new Array<number>(all.length).fill(0)
  for (let n = 0; n < size(ext); n++) {
    let rem = n
    for (let k = all.length - 1; k >= 0; k--) {
      idx[k] = rem % ext[k]!
      rem = Math.floor(rem / ext[k]!)
    }
    let ti = 0
    let tj = 0
    let yi = 0
    let oi = 0
    all.forEach((r, k) => {
      const v = idx[k]!
      if (r[0] === 'in') ti += v * sa[r[1]]!
      else tj += v * sb[r[1]]!
      if (k < c.o.dom.length) yi += v * sd[k]!
      else oi += v * sc[k - c.o.dom.length]!
    })
    out[oi] = out[oi]! + T[ti * nb + tj]! * y[yi]!
  }
  return out
}

describe('bend laws (Fig. 20)', () => {
  it('bend/units-einsum: both constructions equal the definition by indexes', () => {
    let exercised = 0
    let partial = 0
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 0, max: 1e6 }), (c, seed) => {
        const g = bend(c.f, c.o)
        const h = bendByEinsum(c.f, c.o)
        expect(g.dom).toEqual(h.dom)
        expect(g.cod).toEqual(h.cod)
        const [y] = fc.sample(inputsArb(g.dom, c.sizes), { numRuns: 1, seed })[0]!
        const want = byIndexes(c, y!)
        expect(close(evaluate(g, c.sizes, [y!], c.params)[0]!, want)).toBe(true)
        expect(close(evaluate(h, c.sizes, [y!], c.params)[0]!, want)).toBe(true)
        exercised++
        const bentBack = c.o.dom.some((r) => r[0] === 'out')
        const bentForward = c.o.cod.some((r) => r[0] === 'in')
        if (bentBack && bentForward) partial++
      }),
      { numRuns, seed: 20 },
    )
    expect(exercised).toBe(numRuns)
    expect(partial).toBeGreaterThan(numRuns / 10)
  })

  it('bend/full: bending every wire is transpose', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 0, max: 1e6 }), (c, seed) => {
        const full: BendOptions = {
          dom: c.f.cod[0]!.map((_, j): AxisRef => ['out', j]),
          cod: c.f.dom[0]!.map((_, i): AxisRef => ['in', i]),
        }
        const g = bend(c.f, full)
        const t = transpose(c.f)
        expect(g.dom).toEqual(t.dom)
        const [y] = fc.sample(inputsArb(g.dom, c.sizes), { numRuns: 1, seed })[0]!
        expect(
          close(evaluate(g, c.sizes, [y!], c.params)[0]!, evaluate(t, c.sizes, [y!], c.params)[0]!),
        ).toBe(true)
      }),
      { numRuns, seed: 21 },
    )
  })

  it('bend/involution: bending back by unbend is the identity', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 0, max: 1e6 }), (c, seed) => {
        const back = bend(bend(c.f, c.o), unbend(c.o))
        expect(back.dom).toEqual(c.f.dom)
        expect(back.cod).toEqual(c.f.cod)
        const [x] = fc.sample(inputsArb(c.f.dom, c.sizes), { numRuns: 1, seed })[0]!
        const want = evaluate(c.f, c.sizes, [x!], c.params)[0]!
        expect(close(evaluate(back, c.sizes, [x!], c.params)[0]!, want)).toBe(true)
      }),
      { numRuns, seed: 22 },
    )
  })

  it('bend/broadcast: bending commutes with broadcasting (the broadcast axes kept first)', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 0, max: 1e6 }), (c, seed) => {
        const sizes = { ...c.sizes, s: 2 }
        const shift = (r: AxisRef): AxisRef => [r[0], r[1] + 1]
        const lifted: BendOptions = {
          dom: [['in', 0], ...c.o.dom.map(shift)],
          cod: [['out', 0], ...c.o.cod.map(shift)],
        }
        const left = bend(broadcast(c.f, ['s']), lifted)
        const right = broadcast(bend(c.f, c.o), ['s'])
        expect(left.dom).toEqual(right.dom)
        expect(left.cod).toEqual(right.cod)
        const [y] = fc.sample(inputsArb(left.dom, sizes), { numRuns: 1, seed })[0]!
        expect(
          close(
            evaluate(left, sizes, [y!], c.params)[0]!,
            evaluate(right, sizes, [y!], c.params)[0]!,
          ),
        ).toBe(true)
      }),
      { numRuns: Math.ceil(numRuns / 2), seed: 23 },
    )
  })

  it("Fig. 20's first row: F : [a] -> [b c] bent at b is Fᵀ : [b a] -> [c]", () => {
    const F = seq(par(id([['a']]), param('W', ['b', 'c', 'a'])), einsum('a, b c a -> b c'))
    const Ft = bend(F, {
      dom: [
        ['out', 0],
        ['in', 0],
      ],
      cod: [['out', 1]],
    })
    expect(Ft.dom).toEqual([[F.cod[0]![0], F.dom[0]![0]]])
    // Hand-computed: F(x)[b, c] = Σ_a W[b, c, a] x[a]; Fᵀ(y)[c] = Σ_{b, a} W[b, c, a] y[b, a].
    const sizes = { a: 2, b: 2, c: 1 }
    const W = Float64Array.from([1, 2, 3, 4])
    const got = evaluate(Ft, sizes, [Float64Array.from([10, 20, 30, 40])], { W })[0]!
    expect(Array.from(got)).toEqual([1 * 10 + 2 * 20 + 3 * 30 + 4 * 40])
  })
})

describe('the bend laws of the catalogue hold (Fig. 20), each case exercised', () => {
  for (const r of bendLawRules)
    it(`${r.name} (${r.source})`, () => {
      const report = checkLaw(r, { numRuns })
      for (const d of report.directions) expect(d.exercised).toBeGreaterThan(numRuns / 4)
    })
  // The same laws made for other placements: the weight as a state, Fig. 24's bend of the
  // convolution tensor's kernel wire, and a two-input bend with an input bent forward.
  const placements: ReadonlyArray<readonly [string, BendOptions, number, number]> = [
    [
      '-state',
      {
        dom: [],
        cod: [
          ['out', 0],
          ['in', 0],
        ],
      },
      1,
      1,
    ],
    [
      '-fig24',
      {
        dom: [
          ['in', 0],
          ['out', 1],
        ],
        cod: [['out', 0]],
      },
      1,
      2,
    ],
    [
      '-mixed',
      {
        dom: [
          ['out', 0],
          ['in', 1],
        ],
        cod: [['in', 0]],
      },
      2,
      1,
    ],
    [
      '-outputs',
      {
        dom: [
          ['out', 1],
          ['in', 0],
        ],
        cod: [['out', 0]],
      },
      1,
      2,
    ],
  ]
  for (const [suffix, o, ins, outs] of placements)
    for (const r of bendRules(o, ins, outs, suffix))
      it(`${r.name}: ${JSON.stringify(o)}`, () => {
        const report = checkLaw(r, { numRuns: Math.ceil(numRuns / 2) })
        for (const d of report.directions) expect(d.exercised).toBeGreaterThan(numRuns / 8)
      })
  it('bendRules makes seq-outputs only for placements that bend outputs only', () => {
    expect(bendRules(fig20Bend, 1, 2, '').map((r) => r.name)).toEqual([
      'bend/involution',
      'bend/broadcast',
      'bend/seq-outputs',
    ])
    expect(bendRules(placements[2]![1], 2, 1, '-x').map((r) => r.name)).toEqual([
      'bend/involution-x',
      'bend/broadcast-x',
    ])
    expect(() => bendRules(fig20Bend, -1, 2, '')).toThrow(/integers >= 0/)
  })
  it('the left side of bend/involution matches what bend builds from a concrete layer', () => {
    const F = seq(par(id([['a']]), param('W', ['b', 'c', 'a'])), einsum('a, b c a -> b c'))
    const back = bend(bend(F, fig20Bend), unbend(fig20Bend))
    const r = bendLawRules.find((x) => x.name === 'bend/involution')!
    const out = applyAt(r, back, { path: [] })
    expect(E.isRight(out) && termEquals(out.right.term, F)).toBe(true)
  })
})

describe('false bend laws are refuted by the law checker', () => {
  // Stand-ins for the maps and dims, as bendRules uses them.
  const A = 'sA'
  const E = 'sE'
  const dims = { [A]: v.dim('a'), [E]: v.dim('e') }
  const pat = (t: Term) => patternOfTerm(t, { terms: { f: v.term('f'), g: v.term('g') }, dims })
  const f = generator('f', [[A]], [[E]], { linearity: 'linear' })
  it('seq-outputs bending the other output of g on the right side is false', () => {
    // g : [e] -> [a a]; bend(f ; g, fig20Bend) bends g's first output back. The right side that
    // bends g's second output instead has the same type and differs unless g is symmetric.
    const g2 = generator('g', [[E]], [[A, A]], { linearity: 'linear' })
    const wrong = rule(
      'wrong/seq-outputs-other-output',
      pat(bend(seq(f, g2), fig20Bend)),
      pat(
        seq(
          bcast(f, [A], { at: 0 }),
          bend(g2, {
            dom: [
              ['out', 1],
              ['in', 0],
            ],
            cod: [['out', 0]],
          }),
        ),
      ),
      {
        oneWay: true,
        when: [
          linear('f'),
          linear('g'),
          typed('f', [[v.dim('a')]], [[v.dim('e')]]),
          typed('g', [[v.dim('e')]], [[v.dim('a'), v.dim('a')]]),
        ],
      },
    )
    expect(refuteLaw(wrong)).toMatch(/differs/)
  })
  it('a bend of a composition that bends an input forward does not pass the first map under', () => {
    // The full bend of f ; g is gᵀ ; fᵀ (compact/transpose-seq), not f broadcast before gᵀ.
    const h = generator('f', [[A]], [[A]], { linearity: 'linear' })
    const k = generator('g', [[A]], [[A]], { linearity: 'linear' })
    const fullBend: BendOptions = { dom: [['out', 0]], cod: [['in', 0]] }
    const wrong = rule(
      'wrong/seq-full-bend-splits',
      pat(bend(seq(h, k), fullBend)),
      pat(seq(h, bend(k, fullBend))),
      {
        oneWay: true,
        when: [
          linear('f'),
          linear('g'),
          typed('f', [[v.dim('a')]], [[v.dim('a')]]),
          typed('g', [[v.dim('a')]], [[v.dim('a')]]),
        ],
      },
    )
    expect(refuteLaw(wrong)).toMatch(/differs/)
  })
})

describe('bends of the convolution tensor and of a weight wire', () => {
  it('Fig. 24: bending the kernel wire of the convolution tensor gives the standard form', () => {
    // convTensor : [x] -> [y k] bent at k is [x k] -> [y]; on x ⊗ w it is the convolution
    // out[i] = Σ_j x[s i + d j] w[j] (by loops), for random sizes, strides and dilations.
    let cases = 0
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 1e6 }),
        (k, stride, dilation, extra, seed) => {
          const x = dilation * (k - 1) + 1 + extra
          const t = convTensor('x', 'k', { stride, dilation })
          const standard = bend(t, {
            dom: [
              ['in', 0],
              ['out', 1],
            ],
            cod: [['out', 0]],
          })
          const sizes = { x, k }
          const [xv, wv] = fc.sample(fc.tuple(tensorArb([x]), tensorArb([k])), {
            numRuns: 1,
            seed,
          })[0]!
          const outer = new Float64Array(x * k)
          for (let a = 0; a < x; a++) for (let j = 0; j < k; j++) outer[a * k + j] = xv[a]! * wv[j]!
          const y = Math.floor((x - dilation * (k - 1) - 1) / stride) + 1
          const want = new Float64Array(y)
          for (let i = 0; i < y; i++)
            for (let j = 0; j < k; j++) want[i] = want[i]! + xv[stride * i + dilation * j]! * wv[j]!
          expect(close(evaluate(standard, sizes, [outer])[0]!, want)).toBe(true)
          cases++
        },
      ),
      { numRuns, seed: 24 },
    )
    expect(cases).toBe(numRuns)
  })

  it("bending a layer's input wire to the output side is its weight as a state (times r)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), (a, b) => {
        const L = linearLayer('W', 'a', 'b')
        const state = bend(L, {
          dom: [],
          cod: [
            ['out', 0],
            ['in', 0],
          ],
        })
        expect(state.dom).toEqual([[]])
        const sizes = { a, b }
        const [params] = fc.sample(paramsArb(L, sizes), { numRuns: 1, seed: a * 10 + b })
        const [w] = Object.values(params!)
        const got = evaluate(state, sizes, [Float64Array.from([2])], params)[0]!
        expect(
          close(
            got,
            w!.map((v) => 2 * v),
          ),
        ).toBe(true)
      }),
      { numRuns: 16, seed: 25 },
    )
  })
})

describe('false bends are refuted', () => {
  it('pairing a bent output with the wrong input axis (the other orientation) differs', () => {
    // M : [a] -> [a] a non-symmetric matrix; bending the output and the input to one side gives
    // the state [a a] -> [] of the trace-like pairing Σ M[i, j] y[j, i] (the order matters).
    const M = linearLayer('M', 'a', 'a')
    const sizes = { a: 2 }
    const name = [...paramsOf(M).keys()][0]!
    const params = { [name]: Float64Array.from([1, 2, 3, 4]) }
    const y = Float64Array.from([1, 7, 0, 0.5])
    const right = bend(M, {
      dom: [
        ['out', 0],
        ['in', 0],
      ],
      cod: [],
    })
    const wrong = bend(M, {
      dom: [
        ['in', 0],
        ['out', 0],
      ],
      cod: [],
    })
    const r = evaluate(right, sizes, [y], params)[0]![0]!
    const w = evaluate(wrong, sizes, [y], params)[0]![0]!
    expect(r).not.toBeCloseTo(w, 6)
  })
  it('a nonlinear or affine map cannot be bent, with the reason', () => {
    expect(() =>
      bend(seq(linearLayer('W', 'a', 'b'), relu('b')), { dom: [['out', 0]], cod: [['in', 0]] }),
    ).toThrow(/only a linear map can be bent/)
    expect(() =>
      bend(linearLayer('W', 'a', 'b', { bias: true }), { dom: [['out', 0]], cod: [['in', 0]] }),
    ).toThrow(TermError)
  })
  it('placements that lose, repeat or invent an axis are refused', () => {
    const M = einsum('a -> b', { dims: { a: 'a', b: 'b' } })
    expect(() => bend(M, { dom: [['out', 0]], cod: [] })).toThrow(/every axis of f must be placed/)
    expect(() =>
      bend(M, {
        dom: [
          ['out', 0],
          ['out', 0],
        ],
        cod: [['in', 0]],
      }),
    ).toThrow(/named twice/)
    expect(() => bend(M, { dom: [['out', 1]], cod: [['in', 0]] })).toThrow(/out of range/)
  })
})

/** Attention in its queries, the keys and values fixed as parameters: `[y k] -> [y k]`. */
const attentionInQueries = ((): Term => {
  const att = attention({ y: 'y', x: 'x', k: 'k' })
  const [q, k, v] = att.dom as [Shape, Shape, Shape]
  return seq(par(id([q]), param('K', k), param('V', v)), att)
})()

const conv = conv2d('C', { h: 'h', w: 'w', kh: 'p', kw: 'p', cIn: 'c', cOut: 'd', bias: true })

describe('the Jacobian of Fig. 36', () => {
  const models: ReadonlyArray<{ name: string; f: Term; sizes: Sizes }> = [
    {
      name: 'MLP',
      f: mlp({ input: 'x', hidden: ['n'], output: 'c' }),
      sizes: { x: 3, n: 4, c: 2 },
    },
    { name: 'attention (queries)', f: attentionInQueries, sizes: { y: 2, x: 3, k: 2 } },
    {
      name: 'conv net',
      f: seq(conv, tanh(conv.cod[0])),
      sizes: { h: 3, w: 3, p: 2, c: 1, d: 2 },
    },
  ]

  for (const m of models)
    it(`${m.name}: central finite differences (h = 1e-6, abs. 1e-6) and the dot-product test with vjp`, () => {
      const f = m.f
      const J = jacobian(f)
      const [x] = fc.sample(inputsArb(f.dom, m.sizes), { numRuns: 1, seed: 5 })[0]!
      const [params] = fc.sample(paramsArb(f, m.sizes), { numRuns: 1, seed: 6 })
      const j = evaluate(J, m.sizes, [x!], params)[0]!
      const nx = x!.length
      const ny = size(shapeExtents(f.cod[0]!, m.sizes))
      expect(j.length).toBe(nx * ny)
      const h = 1e-6
      let worst = 0
      for (let i = 0; i < nx; i++) {
        const up = Float64Array.from(x!)
        const down = Float64Array.from(x!)
        up[i] = up[i]! + h
        down[i] = down[i]! - h
        const fu = evaluate(f, m.sizes, [up], params)[0]!
        const fd = evaluate(f, m.sizes, [down], params)[0]!
        for (let k = 0; k < ny; k++) {
          const fdk = (fu[k]! - fd[k]!) / (2 * h)
          worst = Math.max(worst, Math.abs(fdk - j[k * nx + i]!))
        }
      }
      expect(worst).toBeLessThan(1e-6)
      // ⟨w, J v⟩ = ⟨vjp(x, w), v⟩ for random v, w.
      const [v] = fc.sample(inputsArb(f.dom, m.sizes), { numRuns: 1, seed: 7 })[0]!
      const [w] = fc.sample(inputsArb(f.cod, m.sizes), { numRuns: 1, seed: 8 })[0]!
      let left = 0
      for (let k = 0; k < ny; k++)
        for (let i = 0; i < nx; i++) left += w![k]! * j[k * nx + i]! * v![i]!
      const back = evaluate(vjp(f), m.sizes, [x!, w!], params)
      const cot = back[back.length - 1]!
      const right = cot.reduce((s, c, i) => s + c * v![i]!, 0)
      expect(Math.abs(left - right)).toBeLessThan(1e-9 * Math.max(1, Math.abs(left)))
    })

  it('refuses a tuple map with the reason', () => {
    expect(() => jacobian(attention({ y: 'y', x: 'x', k: 'k' }))).toThrow(/one segment to one/)
  })
})
