/**
 * Generators (issue 13, section 1): opaque named maps with a declared linearity, the paper's
 * generic F, G, H. Typing, printing, codecs, the normal form, evaluation (supplied and seeded
 * random interpretations), laws with side conditions, equivalence, derivatives, transposes, cost
 * and code generation.
 */
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  TermError,
  type Term,
  add,
  broadcast,
  copy,
  cost,
  cup,
  decodeTerm,
  decodeTermJson,
  derivative,
  encodeTerm,
  equivalent,
  evaluate,
  generator,
  generatorTranspose,
  grad,
  jvp,
  linearRules,
  mean,
  normalKey,
  normalize,
  par,
  randomInputs,
  seq,
  show,
  showTyped,
  termEquals,
  termToJson,
  toPyTorch,
  transpose,
  transposeRules,
  unit,
  vjp,
  applyAt,
  linearityIn,
} from '../src/index.js'

const G = generator('G', [['x']], [['y']])
const H = generator('H', [['y']], [['z']], { linearity: 'linear' })
const sizes = { x: 3, y: 4, z: 2 }

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number)
  return s
}

const refusal = (f: () => unknown): TermError => {
  try {
    f()
  } catch (e) {
    if (e instanceof TermError) return e
    throw e
  }
  throw new Error('expected a TermError')
}

/** The snake of Fig. 20 for f : [a] -> [b] on single axes: [b] -> [a]. */
const snakeOf = (f: Term, a: string, b: string): Term =>
  seq(
    broadcast(unit(a), [b], { inputs: [0], outputs: [2] }),
    broadcast(broadcast(f, [b], { inputs: [1], outputs: [1] }), [a]),
    broadcast(cup(b), [a]),
  )

describe('generators: construction, typing, printing', () => {
  it('type-check like any term, with the declared linearity', () => {
    expect(showTyped(seq(G, H))).toBe('G ; H : [x] -> [z]')
    expect(G.linearity).toBe('nonlinear')
    expect(H.linearity).toBe('linear')
    expect(seq(G, H).linearity).toBe('nonlinear')
    expect(seq(H, generator('K', [['z']], [['x']], { linearity: 'linear' })).linearity).toBe(
      'linear',
    )
    const B = generator('B', [['x'], ['y']], [[]], { linearity: 'multilinear' })
    expect(B.linearity).toBe('multilinear')
    // One segment: a multilinear map is linear.
    expect(generator('M', [['x']], [['y']], { linearity: 'multilinear' }).linearity).toBe('linear')
    const e = refusal(() => seq(H, G))
    expect(e.code).toBe('type-mismatch')
    expect(e.message).toContain('[x]')
  })

  it('refuse bad names, linearities and arities with what was expected', () => {
    expect(refusal(() => generator('2F', [], [['x']])).code).toBe('bad-argument')
    expect(
      refusal(() => generator('F', [['x']], [['x']], { linearity: 'affine' as never })).message,
    ).toContain('linear, multilinear, nonlinear')
    expect(refusal(() => generator('F', [], [[]], { linearity: 'multilinear' })).code).toBe(
      'bad-argument',
    )
    expect(
      refusal(() => generator('F', [['x'], ['x']], [[], []], { linearity: 'multilinear' })).code,
    ).toBe('bad-argument')
    expect(refusal(() => generatorTranspose(G)).code).toBe('not-linear')
  })

  it('print by name, transposes and derived maps marked', () => {
    expect(show(generatorTranspose(H))).toBe('Hᵀ')
    expect(show(generatorTranspose(generatorTranspose(H)))).toBe('H')
    expect(show(jvp(G))).toBe('copy([x]) ⊗ id([x]) ; G ⊗ dG')
    expect(show(vjp(G))).toBe('copy([x]) ⊗ id([y]) ; G ⊗ dGᵀ')
    const B = generator('B', [['x'], ['y']], [[]], { linearity: 'multilinear' })
    expect(showTyped(generatorTranspose(B, 1))).toBe('Bᵀ@1 : [x] × [] -> [y]')
  })
})

describe('generators: codecs and the normal form', () => {
  const B = generator('B', [['x'], ['y']], [['z']], { linearity: 'multilinear' })
  const forms: Array<[string, Term]> = [
    ['nonlinear', G],
    ['linear', H],
    ['transpose', generatorTranspose(H)],
    ['multilinear', B],
    ['multilinear transpose', generatorTranspose(B, 0)],
    ['vjp (tangent and cotangent forms)', vjp(seq(G, H))],
    ['derivative node', derivative(seq(G, H))],
    ['constant', generator('C', [], [['x'], []])],
  ]
  it.each(forms)('round-trip through JSON: %s', (_, t) => {
    const back = decodeTerm(encodeTerm(t))
    expect(E.isRight(back) && termEquals(back.right, t)).toBe(true)
    const text = decodeTermJson(termToJson(t))
    expect(E.isRight(text) && termEquals(text.right, t)).toBe(true)
  })

  it('refuses ill-formed generator documents with the node that refused', () => {
    const bad = decodeTerm({ ...encodeTerm(G), form: 'transpose' })
    expect(E.isLeft(bad) && bad.left[0]?.code).toBe('not-linear')
    const slot = decodeTerm({ ...encodeTerm(H), slot: 0 })
    expect(E.isLeft(slot)).toBe(true)
    const noName = decodeTerm({ ...encodeTerm(H), name: '' })
    expect(E.isLeft(noName)).toBe(true)
  })

  it('treats distinct generators as distinct, and equal ones as equal', () => {
    const key = normalKey(G)
    expect(normalKey(generator('G', [['x']], [['y']]))).toBe(key)
    expect(normalKey(generator('G2', [['x']], [['y']]))).not.toBe(key)
    expect(normalKey(generator('G', [['x']], [['z']]))).not.toBe(key)
    expect(normalKey(generator('G', [['x']], [['y']], { linearity: 'linear' }))).not.toBe(key)
    expect(normalKey(seq(G, H))).not.toBe(normalKey(seq(G, generator('H2', [['y']], [['z']]))))
    // A generator is a function: copying its result is applying it to copies (copy is natural).
    expect(normalKey(seq(copy([['x']]), par(G, G)))).toBe(normalKey(seq(G, copy([['y']]))))
    expect(show(normalize(seq(copy([['x']]), par(G, G))))).toBe('G ; copy([y])')
    const proof = equivalent(seq(copy([['x']]), par(G, G)), seq(G, copy([['y']])))
    expect(proof.kind).toBe('proof')
  })
})

describe('generators: evaluation', () => {
  it('random interpretations are deterministic given name, sizes and seed', () => {
    const x = [[0.5, -1, 2]]
    const a = evaluate(G, sizes, x)[0] as Float64Array
    expect(evaluate(generator('G', [['x']], [['y']]), sizes, x)[0]).toEqual(a)
    expect(evaluate(G, sizes, x, {}, { generatorSeed: 1 })[0]).not.toEqual(a)
    expect(evaluate(generator('G2', [['x']], [['y']]), sizes, x)[0]).not.toEqual(a)
    expect(a.length).toBe(4)
  })

  it('linear interpretations are linear, nonlinear ones are not', () => {
    const [x, y] = randomInputs([['y'], ['y']], sizes, 3) as [Float64Array, Float64Array]
    const sum = x.map((v, i) => v + (y[i] as number))
    const hx = evaluate(H, sizes, [x])[0] as Float64Array
    const hy = evaluate(H, sizes, [y])[0] as Float64Array
    const hs = evaluate(H, sizes, [sum])[0] as Float64Array
    hs.forEach((v, i) => expect(v).toBeCloseTo((hx[i] as number) + (hy[i] as number), 12))
    const K = generator('K', [['y']], [['z']])
    const kx = evaluate(K, sizes, [x])[0] as Float64Array
    const ky = evaluate(K, sizes, [y])[0] as Float64Array
    const ks = evaluate(K, sizes, [sum])[0] as Float64Array
    expect(
      Math.max(...ks.map((v, i) => Math.abs(v - (kx[i] as number) - (ky[i] as number)))),
    ).toBeGreaterThan(1e-3)
    // Multilinear: linear in each input, not jointly.
    const B = generator('B', [['y'], ['y']], [[]], { linearity: 'multilinear' })
    const b = (u: ArrayLike<number>, w: ArrayLike<number>) =>
      (
        evaluate(B, sizes, [Float64Array.from(u), Float64Array.from(w)])[0] as Float64Array
      )[0] as number
    expect(b(sum, y)).toBeCloseTo(b(x, y) + b(y, y), 12)
    expect(b(x, sum)).toBeCloseTo(b(x, x) + b(x, y), 12)
    expect(
      b(
        x.map((v) => 3 * v),
        y,
      ),
    ).toBeCloseTo(3 * b(x, y), 12)
  })

  it('runs a supplied implementation, per slice inside a broadcast', () => {
    const seen: number[] = []
    const generators = {
      G: (ins: ReadonlyArray<Float64Array>) => {
        const v = ins[0] as Float64Array
        seen.push(v.length)
        return [[v[0]! + v[1]! + v[2]!, 0, 1, v[2]!]]
      },
    }
    const out = evaluate(G, sizes, [[1, 2, 3]], {}, { generators })
    expect([...(out[0] as Float64Array)]).toEqual([6, 0, 1, 3])
    const b = broadcast(G, ['b'])
    const rows = evaluate(b, { ...sizes, b: 2 }, [[1, 2, 3, 10, 20, 30]], {}, { generators })
    expect([...(rows[0] as Float64Array)]).toEqual([6, 0, 1, 3, 60, 0, 1, 30])
    // The random interpretation is one map applied to every slice too.
    const r = evaluate(b, { ...sizes, b: 2 }, [[1, 2, 3, 0.1, 0.2, 0.3]])[0] as Float64Array
    const second = evaluate(G, sizes, [[0.1, 0.2, 0.3]])[0] as Float64Array
    expect([...r.slice(4)]).toEqual([...second])
  })

  it('refuses an implementation giving the wrong shape, with what was expected', () => {
    const e = refusal(() =>
      evaluate(G, sizes, [[1, 2, 3]], {}, { generators: { G: () => [[1, 2]] } }),
    )
    expect(e.code).toBe('bad-input')
    expect(e.message).toContain('4 entries')
  })

  it("Fig. 20: H's transpose is the true transpose (<H x, y> = <x, Hᵀ y>)", () => {
    for (let seed = 0; seed < 5; seed++) {
      const [x] = randomInputs([['y']], sizes, 10 + seed)
      const [y] = randomInputs([['z']], sizes, 20 + seed)
      const hx = evaluate(H, sizes, [x!], {}, { generatorSeed: seed })[0]!
      const hty = evaluate(generatorTranspose(H), sizes, [y!], {}, { generatorSeed: seed })[0]!
      expect(dot(hx, y!)).toBeCloseTo(dot(x!, hty), 12)
      // transpose() of a term holding H, and the snake of Fig. 20, agree with it.
      const t = evaluate(transpose(H), sizes, [y!], {}, { generatorSeed: seed })[0]!
      expect([...t]).toEqual([...hty])
      const s = evaluate(snakeOf(H, 'y', 'z'), sizes, [y!], {}, { generatorSeed: seed })[0]!
      s.forEach((v, i) => expect(v).toBeCloseTo(hty[i]!, 12))
    }
    // G ; H and its transpose relation: <(G;H) x, y> = <G x, Hᵀ y>.
    const [x] = randomInputs([['x']], sizes, 5)
    const [y] = randomInputs([['z']], sizes, 6)
    const ghx = evaluate(seq(G, H), sizes, [x!])[0]!
    const gx = evaluate(G, sizes, [x!])[0]!
    const hty = evaluate(generatorTranspose(H), sizes, [y!])[0]!
    expect(dot(ghx, y!)).toBeCloseTo(dot(gx, hty), 12)
  })

  it('transposes a supplied linear implementation exactly (by basis, or as given)', () => {
    // H x = [x0 + 2 x1, 3 x2 - x3]: Hᵀ y = [y0, 2 y0, 3 y1, -y1].
    const apply = (ins: ReadonlyArray<Float64Array>) => {
      const v = ins[0] as Float64Array
      return [[v[0]! + 2 * v[1]!, 3 * v[2]! - v[3]!]]
    }
    const byBasis = evaluate(
      generatorTranspose(H),
      sizes,
      [[1, 10]],
      {},
      { generators: { H: apply } },
    )
    expect([...byBasis[0]!]).toEqual([1, 2, 30, -10])
    const given = evaluate(
      generatorTranspose(H),
      sizes,
      [[1, 10]],
      {},
      {
        generators: { H: { apply, transpose: () => [[7, 7, 7, 7]] } },
      },
    )
    expect([...given[0]!]).toEqual([7, 7, 7, 7])
  })
})

describe('generators: laws with side conditions', () => {
  const additivity = linearRules.find((r) => r.name === 'linear/additivity')!
  const snake = transposeRules.find((r) => r.name === 'transpose/snake')!
  const K = generator('K', [['y']], [['z']])

  it('a linear(f) law applies to a linear generator, and is refused for a nonlinear one', () => {
    const ok = applyAt(additivity, seq(add('y'), H), { path: [] })
    expect(E.isRight(ok)).toBe(true)
    if (E.isRight(ok)) expect(show(ok.right.term)).toBe('H ⊗ H ; add[z]')
    const no = applyAt(additivity, seq(add('y'), K), { path: [] })
    expect(E.isLeft(no) && no.left.reason).toBe('condition')
    expect(E.isLeft(no) && no.left.message).toContain('?f is linear')
    // Multilinear is not linear either.
    const B = generator('B', [['y'], ['y']], [['z']], { linearity: 'multilinear' })
    expect(linearityIn(B).map((l) => l.linear)).toEqual([true, true])
    expect(linearityIn(seq(copy([['y']]), B))[0]?.linear).toBe(false)
  })

  it('Fig. 20: the snake of a linear H rewrites to Hᵀ; of a nonlinear one it is refused', () => {
    const ok = applyAt(snake, snakeOf(H, 'y', 'z'), { path: [] })
    expect(E.isRight(ok) && show(ok.right.term)).toBe('Hᵀ')
    const no = applyAt(snake, snakeOf(K, 'y', 'z'), { path: [] })
    expect(E.isLeft(no) && no.left.reason).toBe('condition')
    expect(E.isLeft(no) && no.left.message).toContain('?f is linear')
  })
})

describe('generators: equivalence refutes false equations about generic maps', () => {
  it('G ; H against H ; G (types matching) has a counterexample', () => {
    const F1 = generator('G', [['x']], [['x']])
    const F2 = generator('H', [['x']], [['x']], { linearity: 'linear' })
    const r = equivalent(seq(F1, F2), seq(F2, F1))
    expect(r.kind).toBe('counterexample')
    if (r.kind === 'counterexample') {
      const c = r.counterexample
      const gs = { generatorSeed: c.generatorSeed }
      const left = evaluate(seq(F1, F2), c.sizes, c.inputs, c.params, gs)[c.output]!
      const right = evaluate(seq(F2, F1), c.sizes, c.inputs, c.params, gs)[c.output]!
      expect(left[c.entry]).toBe(c.left)
      expect(right[c.entry]).toBe(c.right)
      expect(c.left).not.toBeCloseTo(c.right, 6)
    }
  })

  it('naturality holds for a linear generator and fails for a nonlinear one', () => {
    const s = ['y'] as const
    const L = generator('L', [s], [s], { linearity: 'linear' })
    const N = generator('N', [s], [s])
    const lhs = (f: Term) => seq(add(s), f)
    const rhs = (f: Term) => seq(par(f, f), add(s))
    expect(equivalent(lhs(L), rhs(L)).kind).not.toBe('counterexample')
    expect(equivalent(lhs(N), rhs(N)).kind).toBe('counterexample')
    // A nonlinear map does not commute with a mean (the broadcast of it does not pass).
    const meanB = broadcast(mean('b'), s, { at: 'last' })
    const over = (f: Term) => seq(broadcast(f, ['b']), meanB)
    const under = (f: Term) => seq(meanB, f)
    expect(equivalent(over(N), under(N), { maxSize: 3 }).kind).toBe('counterexample')
    expect(equivalent(over(L), under(L), { maxSize: 3 }).kind).not.toBe('counterexample')
  })
})

describe('generators: derivatives', () => {
  const F = generator('F', [['x'], []], [['y'], ['x']])
  const at = { x: 3, y: 2 }

  it('D(F) of the random nonlinear map is its true derivative (central differences)', () => {
    for (let seed = 0; seed < 4; seed++) {
      const xs = randomInputs(F.dom, at, 30 + seed)
      const dxs = randomInputs(F.dom, at, 40 + seed)
      const o = { generatorSeed: seed }
      const [, , dy0, dy1] = evaluate(derivative(F), at, [...xs, ...dxs], {}, o)
      const h = 1e-5
      const shifted = (sign: number) =>
        evaluate(
          F,
          at,
          xs.map((x, i) => x.map((v, j) => v + sign * h * dxs[i]![j]!)),
          {},
          o,
        )
      const [p0, p1] = shifted(1)
      const [m0, m1] = shifted(-1)
      dy0!.forEach((v, j) => expect(v).toBeCloseTo((p0![j]! - m0![j]!) / (2 * h), 7))
      dy1!.forEach((v, j) => expect(v).toBeCloseTo((p1![j]! - m1![j]!) / (2 * h), 7))
    }
  })

  it('the cotangent map is the transpose of the tangent map (vjp, grad)', () => {
    const xs = randomInputs(F.dom, at, 1)
    const dxs = randomInputs(F.dom, at, 2)
    const ybars = randomInputs(F.cod, at, 3)
    const tangents = evaluate(jvp(F), at, [...xs, ...dxs]).slice(2)
    const cotangents = evaluate(vjp(F), at, [...xs, ...ybars]).slice(2)
    const lhs = tangents.reduce((s, t, j) => s + dot(t, ybars[j]!), 0)
    const rhs = cotangents.reduce((s, t, i) => s + dot(t, dxs[i]!), 0)
    expect(lhs).toBeCloseTo(rhs, 12)
    // grad of G ; H ; mean against central differences.
    const f = seq(G, H, mean('z'))
    const [x] = randomInputs([['x']], sizes, 4)
    const g = evaluate(grad(f), sizes, [x!])[0]!
    const h = 1e-5
    g.forEach((v, i) => {
      const up = x!.map((u, j) => (j === i ? u + h : u))
      const down = x!.map((u, j) => (j === i ? u - h : u))
      const fd = (evaluate(f, sizes, [up])[0]![0]! - evaluate(f, sizes, [down])[0]![0]!) / (2 * h)
      expect(v).toBeCloseTo(fd, 7)
    })
  })

  it('a linear generator is its own derivative; a multilinear one follows the product rule', () => {
    expect(show(jvp(H))).toBe('H ⊗ H')
    const B = generator('B', [['x'], ['y']], [['z']], { linearity: 'multilinear' })
    const xs = randomInputs(B.dom, sizes, 7)
    const dxs = randomInputs(B.dom, sizes, 8)
    const [, dz] = evaluate(derivative(B), sizes, [...xs, ...dxs])
    const b = (u: Float64Array, w: Float64Array) => evaluate(B, sizes, [u, w])[0]!
    const want = b(dxs[0]!, xs[1]!).map((v, j) => v + b(xs[0]!, dxs[1]!)[j]!)
    dz!.forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 12))
    // Its vjp: the transposes in each slot.
    const zbar = randomInputs(B.cod, sizes, 9)
    const cot = evaluate(vjp(B), sizes, [...xs, ...zbar]).slice(1)
    expect(dot(dz!, zbar[0]!)).toBeCloseTo(dot(cot[0]!, dxs[0]!) + dot(cot[1]!, dxs[1]!), 12)
  })

  it('an implementation without a tangent is refused before any work; with one, it is used', () => {
    const apply = (ins: ReadonlyArray<Float64Array>) => [ins[0]!.map((v) => v * v)]
    const Q = generator('Q', [['x']], [['x']])
    const e = refusal(() =>
      evaluate(
        derivative(Q),
        sizes,
        [
          [1, 2, 3],
          [1, 1, 1],
        ],
        {},
        { generators: { Q: apply } },
      ),
    )
    expect(e.code).toBe('bad-input')
    expect(e.message).toContain('tangent')
    const tangent = (x: ReadonlyArray<Float64Array>, dx: ReadonlyArray<Float64Array>) => [
      x[0]!.map((v, i) => 2 * v * dx[0]![i]!),
    ]
    const generators = { Q: { apply, tangent } }
    const [y, dy] = evaluate(
      derivative(Q),
      sizes,
      [
        [1, 2, 3],
        [1, 0, 2],
      ],
      {},
      { generators },
    )
    expect([...y!]).toEqual([1, 4, 9])
    expect([...dy!]).toEqual([2, 0, 12])
    // The cotangent from the tangent on the basis vectors: 2 x ⊙ ȳ.
    const [, xbar] = evaluate(
      vjp(Q),
      sizes,
      [
        [1, 2, 3],
        [1, 1, 1],
      ],
      {},
      { generators },
    )
    expect([...xbar!]).toEqual([2, 4, 6])
  })

  it('second derivatives of a generator are refused with a reason', () => {
    expect(refusal(() => jvp(derivative(G))).message).toContain('second derivative')
  })
})

describe('generators: cost and code generation', () => {
  it('cost: declared FLOPs per application (times the batch), zero when not declared', () => {
    expect(cost(seq(G, H), sizes).flops).toBe(0)
    const declared = cost(broadcast(G, ['b']), { ...sizes, b: 5 }, { generators: { G: 7 } })
    expect(declared.flops).toBe(35)
    const row = declared.byPrimitive.find((r) => r.primitive === 'generator:G')
    expect(row?.memory).toBe(5 * 4)
    const bySize = cost(G, sizes, { generators: { G: (s) => 2 * s.x! * s.y! } })
    expect(bySize.flops).toBe(24)
  })

  it('codegen refuses a generator with a TermError', () => {
    const e = refusal(() => toPyTorch(seq(G, H)))
    expect(e.code).toBe('bad-argument')
    expect(e.message).toContain('generator')
    expect(refusal(() => toPyTorch(derivative(G))).message).toContain('generator')
  })
})
