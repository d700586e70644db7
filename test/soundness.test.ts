import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  type Dim,
  type Location,
  type Rule,
  type Sizes,
  type Term,
  broadcast,
  dimPadded,
  id,
  par,
  param,
  proofFromJson,
  proofToJson,
  termEquals,
  transpose,
  derivative,
  jvp,
  mul,
  sqrt,
  unary,
  zero,
  TermError,
  checkProof,
  dim,
  einsum,
  equivalent,
  evaluate,
  grad,
  lawCatalogue,
  linearLayer,
  normalKey,
  offset,
  pad,
  prove,
  reciprocal,
  scale,
  scaleBySize,
  seq,
  show,
  termFromJson,
  termToJson,
} from '../src/index.js'

// The reproductions of issue 9, "Soundness: checkProof and equivalent must never disagree": each
// test failed on main before its fix.
const laws = lawCatalogue()
const law = (name: string): Rule => laws.get(name) as Rule

const padded = dimPadded(dim('x'), 1, 0)
const padded2 = dimPadded(dim('x'), 1, 1)

describe('item 2: signed zero', () => {
  it('scale(-0) is scale(0): the evaluator gives reciprocal of either the same +∞', () => {
    const a = seq(scale(-0), reciprocal())
    const b = seq(scale(0), reciprocal())
    const [x] = evaluate(a, {}, [[3]])
    const [y] = evaluate(b, {}, [[3]])
    expect(x?.[0]).toBe(Infinity)
    expect(y?.[0]).toBe(Infinity)
    // And a negative input: 0 · (-3) is -0 in IEEE, which the semantics reads as 0.
    expect(evaluate(a, {}, [[-3]])[0]?.[0]).toBe(Infinity)
    expect(evaluate(b, {}, [[-3]])[0]?.[0]).toBe(Infinity)
    expect(equivalent(a, b).kind).toBe('proof')
  })

  it('offset(-0) is offset(0), and both give reciprocal(±0) the same value', () => {
    expect(normalKey(offset(-0))).toBe(normalKey(offset(0)))
    const a = seq(scale(-1), offset(-0), reciprocal())
    expect(evaluate(a, {}, [[0]])[0]?.[0]).toBe(Infinity)
  })

  it('the reciprocal of -0 is +∞: the sign of a zero is never observable', () => {
    expect(evaluate(reciprocal(), {}, [[-0]])[0]?.[0]).toBe(Infinity)
  })

  it('linear/zero, elementwise/pad and linear/homogeneity, with a reciprocal after them', () => {
    const cases: ReadonlyArray<readonly [string, Term, Location, Sizes, number[][]]> = [
      // zero ; scale(-1) = zero: IEEE gives -0 on the left, +0 on the right.
      [
        'linear/zero',
        seq(zero([[]]), scale(-1), reciprocal()),
        { path: [], range: [0, 2] },
        {},
        [],
      ],
      // scale(-1) ; pad = pad ; scale(-1): the padded entry is -0 on the right.
      [
        'elementwise/pad',
        seq(scale(-1, 'x'), pad('x', 1, 0), broadcast(reciprocal(), [padded])),
        { path: [], range: [0, 2] },
        { x: 2 },
        [[1, 2]],
      ],
      // scale(0) ; sum = sum ; scale(0): -0 + 0 = 0 on the left, (-2 + 1) · 0 = -0 on the right.
      [
        'linear/homogeneity',
        seq(scale(0, 'a'), einsum('a ->'), reciprocal()),
        { path: [], range: [0, 2] },
        { a: 2 },
        [[-2, 1]],
      ],
    ]
    for (const [name, lhs, location, sizes, inputs] of cases) {
      const p = prove(name, lhs, [[law(name), location]])
      expect(E.isRight(checkProof(p, laws))).toBe(true)
      const [x] = evaluate(p.lhs, sizes, inputs)
      const [y] = evaluate(p.rhs, sizes, inputs)
      expect([name, Array.from(x ?? [])]).toEqual([name, Array.from(y ?? [])])
      expect(equivalent(p.lhs, p.rhs).kind).not.toBe('counterexample')
    }
  })

  it('a term with scale(-0) survives its JSON round trip with the same meaning', () => {
    const t = seq(scale(-0), reciprocal())
    const back = termFromJson(termToJson(t))
    expect(E.isRight(back)).toBe(true)
    if (E.isRight(back)) {
      expect(normalKey(back.right)).toBe(normalKey(t))
      expect(evaluate(back.right, {}, [[-2]])[0]?.[0]).toBe(evaluate(t, {}, [[-2]])[0]?.[0])
    }
  })
})

describe('item 3: default sizes are part of a term', () => {
  it('scaleBySize over k = 2 is not scaleBySize over k = 3', () => {
    const a = scaleBySize(dim('k', { size: 2 }), 1)
    const b = scaleBySize(dim('k', { size: 3 }), 1)
    expect(evaluate(a, {}, [[1]])[0]?.[0]).toBe(2)
    expect(evaluate(b, {}, [[1]])[0]?.[0]).toBe(3)
    expect(equivalent(a, b).kind).toBe('counterexample')
    expect(E.isLeft(checkProof({ name: 'k', lhs: a, rhs: b, steps: [] }, laws))).toBe(true)
  })
})

describe('item 4: terms are deeply immutable', () => {
  it('a dim passed in by the caller is copied: mutating it changes nothing', () => {
    const d = { kind: 'var', name: 'k' } as { kind: 'var'; name: string }
    const t = scale(1, [], { bySize: { dim: d as Dim, power: 1 } })
    const key = normalKey(t)
    d.name = 'j'
    expect(show(t)).toBe('scale(k^1)')
    expect(normalKey(t)).toBe(key)
    expect(Object.isFrozen(t.kind === 'scalar' ? t.bySize?.dim : undefined)).toBe(true)
  })
})

describe('item 7: grad with a parameter named twice', () => {
  it('is refused with a TermError that names the parameter', () => {
    const f = seq(linearLayer('W', 'a', 'a'), einsum('a -> '))
    expect(() => grad(f, { params: ['W.weight', 'W.weight'] })).toThrow(TermError)
    expect(() => grad(f, { params: ['W.weight', 'W.weight'] })).toThrow(/twice/)
  })
})

describe('show prints numbers that read back exactly', () => {
  it('scale(1 + 1e-12) is not printed as scale(1)', () => {
    expect(show(scale(1 + 1e-12))).toBe('scale(1.000000000001)')
    for (const c of [1 / 3, 1e-300, 123456789.123, -2.5e-7])
      expect(Number(/scale\((.*)\)/.exec(show(scale(c)))?.[1])).toBe(c)
  })
})

describe('item 1: a zero tangent stays zero, even where the slope is infinite', () => {
  // D(sqrt[x] ; pad) → D(pad ; sqrt[pad(x)]) by elementwise/pad inside D: the right side's
  // tangent at a padded entry is sqrt'(0) · 0, which IEEE makes ∞ · 0 = NaN. A tangent map is
  // linear, so it sends a zero tangent to zero: `mul` is strict in zero (0 · v = 0 for every v).
  const padLaw = (op: 'sqrt' | 'relu' | 'tanh' | 'gelu', before: number, after: number) =>
    prove(`D(${op}) and pad`, derivative(seq(unary(op, 'x'), pad('x', before, after))), [
      [law('elementwise/pad'), { path: [0] }],
    ])

  it('the repro of issue 9: checkProof accepts, and the two sides evaluate equal', () => {
    const p = padLaw('sqrt', 1, 0)
    expect(E.isRight(checkProof(p, laws))).toBe(true)
    // A zero point among the inputs too (its tangent 0 as well, and 2 where it is not).
    for (const [x, dx] of [
      [
        [1, 4],
        [1, 1],
      ],
      [
        [0, 4],
        [0, 3],
      ],
      [
        [0, 0],
        [2, 0],
      ],
    ] as const) {
      const left = evaluate(p.lhs, { x: 2 }, [[...x], [...dx]]).map((v) => Array.from(v))
      const right = evaluate(p.rhs, { x: 2 }, [[...x], [...dx]]).map((v) => Array.from(v))
      expect(right).toEqual(left)
      expect(left[1]?.[0]).toBe(0) // the padded entry's tangent
    }
    const r = equivalent(p.lhs, p.rhs)
    expect(r.kind).not.toBe('counterexample')
    if (r.kind === 'unknown') expect(r.reason).not.toMatch(/outside the reals/)
  })

  it('every map elementwise/pad accepts, padded on either side, agrees inside D', () => {
    for (const op of ['sqrt', 'relu', 'tanh', 'gelu'] as const)
      for (const [before, after] of [
        [1, 0],
        [0, 2],
        [2, 1],
      ] as const) {
        const p = padLaw(op, before, after)
        expect(E.isRight(checkProof(p, laws))).toBe(true)
        const r = equivalent(p.lhs, p.rhs, { trials: 10 })
        expect([op, r.kind]).not.toEqual([op, 'counterexample'])
        if (r.kind === 'unknown') expect(`${op}: ${r.reason}`).not.toMatch(/outside the reals/)
      }
  })

  it('log, reciprocal and sqrt at 0: the tangent of a padded entry is 0, not NaN', () => {
    // pad ; f[pad(x)]: f'(0) is infinite for all three (f(0) itself is -∞, +∞ and 0).
    for (const op of ['log', 'reciprocal', 'sqrt'] as const) {
      const t = derivative(seq(pad('x', 1, 1), unary(op, [padded2])))
      const [, dy] = evaluate(t, { x: 2 }, [
        [1, 4],
        [3, 5],
      ])
      // -0 is 0 (item 2): `+ 0` reads both as 0.
      expect([op, (dy?.[0] ?? NaN) + 0, (dy?.[3] ?? NaN) + 0]).toEqual([op, 0, 0])
      expect(Number.isFinite(dy?.[1])).toBe(true)
      // jvp builds the same term the evaluator runs.
      expect(
        Array.from(
          evaluate(jvp(t.kind === 'derivative' ? t.body : t), { x: 2 }, [
            [1, 4],
            [3, 5],
          ])[1] ?? [],
        ),
      ).toEqual(Array.from(dy ?? []))
    }
  })

  it('mul is strict in zero: 0 · ∞ and 0 · NaN are 0, and ∞ · 2 is still ∞', () => {
    const [z] = evaluate(mul('a'), { a: 4 }, [
      [0, Infinity, 0, Infinity],
      [Infinity, 0, NaN, 2],
    ])
    expect(Array.from(z ?? [])).toEqual([0, 0, 0, Infinity])
  })

  it('the derivative of sqrt at 0 in a nonzero direction is still ∞ (no value is hidden)', () => {
    const [, dy] = evaluate(jvp(sqrt()), {}, [[0], [1]])
    expect(dy?.[0]).toBe(Infinity)
  })
})

describe('item 6: checking does not depend on object identity', () => {
  // x·W·W with one W object used twice: transpose/involution builds its right side through
  // graph(), which merged the two W nodes because they were one object. The JSON round trip
  // makes them two objects, and the replayed step then ended elsewhere than the stored side.
  const xWW = (w1: Term, w2: Term): Term =>
    seq(par(id([['a']]), w1, w2), einsum('i, i j, j k -> k', { dims: { i: 'a', j: 'a', k: 'a' } }))

  it('a proof by transpose/involution checks before and after its JSON round trip', () => {
    const W = param('W', 'a a')
    const p = prove('involution', xWW(W, W), [[law('transpose/involution'), { path: [] }]])
    expect(E.isRight(checkProof(p, laws))).toBe(true)
    const back = proofFromJson(proofToJson(p))
    expect(E.isRight(back)).toBe(true)
    if (E.isRight(back)) {
      const r = checkProof(back.right, laws)
      expect(E.isLeft(r) ? r.left.reason : 'accepted').toBe('accepted')
    }
  })

  it('one W object used twice and two equal W objects transpose to the same term', () => {
    const W = param('W', 'a a')
    const shared = transpose(transpose(xWW(W, W)))
    const apart = transpose(transpose(xWW(param('W', 'a a'), param('W', 'a a'))))
    expect(termEquals(shared, apart)).toBe(true)
    expect(normalKey(shared)).toBe(normalKey(apart))
  })
})
