import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  P,
  TermError,
  applyAt,
  associatedTranspose,
  broadcast,
  evaluate,
  id,
  linearLayer,
  matchFirst,
  par,
  relu,
  rule,
  seq,
  shapeCup,
  shapeUnit,
  showTyped,
  termEquals,
  v,
} from '../src/index.js'
import type { Term } from '../src/index.js'
import { linear, typed } from '../src/rewrite/rule.js'
import {
  compactRules,
  transposeInvolution,
  transposePattern,
  transposeSeq,
} from '../src/rewrite/rules/compact.js'
import { checkLaw, refuteLaw } from '../src/testing/laws.js'
import { shapeArb, sizesFit, termSizesArb } from '../src/testing/sizes.js'
import { inputsArb, paramsArb } from '../src/testing/tensors.js'
import { termArb } from '../src/testing/terms.js'

/** Cases per law and direction: 200 in CI, more on demand (`LAW_RUNS=5000 npm run laws`). */
const numRuns = Number(process.env.LAW_RUNS ?? 200)

describe('compact laws hold (Fig. 20)', () => {
  for (const r of compactRules) it(`${r.name} (${r.source})`, () => checkLaw(r, { numRuns }))
})

const a = v.dim('a')
const b = v.dim('b')
const f = v.term('f')
const g = v.term('g')

describe('plausible false compact laws are refuted, with a readable counterexample', () => {
  it('a cup on the two legs of the unit is the trace of the identity, not the identity', () => {
    // bcast[a](η_a) ; bcast[a](cup_a): x_i Σ_j δ_jj = a x_i.
    const wrong = rule(
      'wrong/snake-trace',
      P.seq(P.broadcast(P.unit(a), [a], [0], [0]), P.broadcast(P.cup(a), [a], [0], [0])),
      P.id([[a]]),
    )
    const counterexample = refuteLaw(wrong)
    expect(counterexample).toContain('before: bcast[')
    expect(counterexample).toMatch(/output 0 differs/)
  })
  it('bending the wrong pair of axes of a square table transposes it', () => {
    // The unit between the two axes of x, the cup on its first leg and x's first axis:
    // out[s, k] = Σ_j δ_jk x[j, s] = x[k, s].
    const wrong = rule(
      'wrong/snake-transposed',
      P.seq(P.broadcast(P.unit(a), [a, a], [0], [1]), P.broadcast(P.cup(a), [a, a], [2], [0])),
      P.id([[a, a]]),
    )
    const counterexample = refuteLaw(wrong)
    expect(counterexample).toContain('before: bcast[')
    expect(counterexample).toMatch(/differs/)
  })
  it('the transpose of a composition does not keep the order: (f ; g)ᵀ ≠ fᵀ ; gᵀ', () => {
    const wrong = rule(
      'wrong/transpose-seq-order',
      transposePattern(P.seq(f, g), a, a),
      P.seq(transposePattern(f, a, a), transposePattern(g, a, a)),
      {
        oneWay: true,
        when: [linear('f'), linear('g'), typed('f', [[a]], [[a]]), typed('g', [[a]], [[a]])],
      },
    )
    expect(refuteLaw(wrong)).toMatch(/differs/)
  })
  it('(fᵀ)ᵀ is not f when f is not linear', () => {
    const wrong = rule(
      'wrong/transpose-involution-nonlinear',
      transposePattern(transposePattern(f, a, b), b, a),
      f,
      { oneWay: true, when: [typed('f', [[a]], [[b]])] },
    )
    expect(refuteLaw(wrong)).toMatch(/differs/)
    // The construction gives fᵀ(y)_i = Σ_b f(y_b e_i)_b. For the affine f(x) = V x + c (a linear
    // layer with a bias), fᵀ(y) = Vᵀ y + Σ c and (fᵀ)ᵀ(x) = V x + a Σ c, not V x + c.
    const affine = linearLayer('V', 'a', 'a', { bias: true })
    const params = { 'V.weight': Float64Array.of(1, 0, 0, 1), 'V.bias': Float64Array.of(1, 0) }
    const twice = transposePatternTerm(transposePatternTerm(affine))
    expect(Array.from(evaluate(affine, { a: 2 }, [[0, 0]], params)[0] as Float64Array)).toEqual([
      1, 0,
    ])
    expect(Array.from(evaluate(twice, { a: 2 }, [[0, 0]], params)[0] as Float64Array)).toEqual([
      2, 2,
    ])
    // Element-wise maps are an exception: (reluᵀ)ᵀ = reluᵀ = relu, since relu(y_b e_i)_b = relu(y_i) δ_ib.
    const r = relu(['a'])
    const reluTwice = transposePatternTerm(transposePatternTerm(r))
    expect(Array.from(evaluate(reluTwice, { a: 2 }, [[-1, 2]])[0] as Float64Array)).toEqual([0, 2])
  })
})

/** Fig. 20's construction for a one-axis map, linear or not (the law's pattern, instantiated). */
const transposePatternTerm = (t: Term): Term => {
  const [dom] = t.dom
  const [cod] = t.cod
  return seq(
    broadcast(shapeUnit(dom ?? []), cod ?? [], { at: 'last' }),
    broadcast(broadcast(t, cod ?? [], { at: 'last' }), dom ?? []),
    broadcast(shapeCup(cod ?? []), dom ?? []),
  )
}

/** `⟨u, w⟩`, and the scale a rounding error is measured against. */
const dot = (u: Float64Array, w: Float64Array): { value: number; scale: number } => {
  let value = 0
  let scale = 0
  for (let i = 0; i < u.length; i++) {
    value += (u[i] as number) * (w[i] as number)
    scale += Math.abs((u[i] as number) * (w[i] as number))
  }
  return { value, scale }
}

/** A random linear map from one segment (rank 0 to 2) to one segment, with sizes and data. */
const adjointCaseArb = fc
  .tuple(shapeArb({ maxRank: 2 }), shapeArb({ maxRank: 2 }))
  .chain(([dom, cod]) => termArb([dom], { linear: true, cod: [cod], depth: 2 }))
  .chain((map) => {
    const transposed = associatedTranspose(map)
    const both = par(map, transposed)
    return termSizesArb(both).chain((sizes) =>
      fc
        .tuple(inputsArb(map.dom, sizes), inputsArb(map.cod, sizes), paramsArb(both, sizes))
        .map(([[x], [y], params]) => ({ map, transposed, sizes, x, y, params })),
    )
  })

describe('associatedTranspose (Fig. 20)', () => {
  it('satisfies the adjoint identity ⟨f x, y⟩ = ⟨x, fᵀ y⟩ on random linear maps', () => {
    fc.assert(
      fc.property(adjointCaseArb, ({ map, transposed, sizes, x, y, params }) => {
        if (!sizesFit(map, sizes)) return
        const fx = evaluate(map, sizes, [x as Float64Array], params)[0] as Float64Array
        const fty = evaluate(transposed, sizes, [y as Float64Array], params)[0] as Float64Array
        const left = dot(fx, y as Float64Array)
        const right = dot(x as Float64Array, fty)
        const scale = 1 + Math.max(left.scale, right.scale)
        expect(Math.abs(left.value - right.value)).toBeLessThanOrEqual(1e-9 * scale)
      }),
      { numRuns },
    )
  })

  it('transposes the matrix of a linear layer', () => {
    // L(V: a -> b): y = V x with V of shape [b a]; its transpose is x = Vᵀ y.
    const L = linearLayer('V', 'a', 'b')
    const params = { 'V.weight': Float64Array.of(1, 2, 3, 4, 5, 6) } // V = [[1, 2, 3], [4, 5, 6]]
    const t = associatedTranspose(L)
    expect(showTyped(t)).toMatch(/: \[b\] -> \[a\]$/)
    expect(Array.from(evaluate(t, { a: 3, b: 2 }, [[1, 10]], params)[0] as Float64Array)).toEqual([
      41, 52, 63,
    ])
  })

  it('is the pattern of the laws for one-axis maps, and the laws undo and reverse it', () => {
    const L = linearLayer('V', 'a', 'b')
    const M = linearLayer('W', 'b', 'c')
    const t = associatedTranspose(L)
    const bound = matchFirst(transposePattern(f, a, b), t)
    expect(bound?.get('f')?.value).toBe(L)
    // (Lᵀ)ᵀ rewrites to L.
    const twice = applyAt(transposeInvolution, associatedTranspose(t), { path: [] })
    expect(E.isRight(twice) && termEquals(twice.right.term, L)).toBe(true)
    // (L ; M)ᵀ rewrites to Mᵀ ; Lᵀ.
    const reversed = applyAt(transposeSeq, associatedTranspose(seq(L, M)), { path: [] })
    expect(
      E.isRight(reversed) &&
        termEquals(reversed.right.term, seq(associatedTranspose(M), associatedTranspose(L))),
    ).toBe(true)
  })

  it('is an involution on multi-axis maps too, numerically', () => {
    const L = linearLayer('V', 'a', 'b')
    const map = seq(
      broadcast(L, ['c']),
      broadcast(linearLayer('W', 'c', 'd'), ['b'], { at: 'last' }),
    ) // [c a] -> [d b]
    const twice = associatedTranspose(associatedTranspose(map))
    expect(showTyped(twice)).toMatch(/: \[c a\] -> \[d b\]$/)
    const sizes = { a: 3, b: 2, c: 4, d: 3 }
    const params = {
      'V.weight': Float64Array.from({ length: 6 }, (_, i) => i - 2.5),
      'W.weight': Float64Array.from({ length: 12 }, (_, i) => (i * 7) % 5),
    }
    const x = Float64Array.from({ length: 12 }, (_, i) => Math.sin(i))
    const expected = evaluate(map, sizes, [x], params)[0] as Float64Array
    const got = evaluate(twice, sizes, [x], params)[0] as Float64Array
    got.forEach((value, i) => expect(value).toBeCloseTo(expected[i] as number, 9))
  })

  it('the unit and cup of a shape bend a multi-axis wire: their snake is the identity', () => {
    const snake = seq(
      broadcast(shapeUnit(['a', 'b']), ['a', 'b']),
      broadcast(shapeCup(['a', 'b']), ['a', 'b'], { at: 'last' }),
    )
    expect(showTyped(snake)).toMatch(/: \[a b\] -> \[a b\]$/)
    const x = Float64Array.from({ length: 6 }, (_, i) => i + 1)
    expect(Array.from(evaluate(snake, { a: 2, b: 3 }, [x])[0] as Float64Array)).toEqual(
      Array.from(x),
    )
  })

  it('refuses a nonlinear map and a map of several segments, saying why', () => {
    expect(() => associatedTranspose(relu(['a']))).toThrow(/only a linear map has a transpose/)
    expect(() => associatedTranspose(id([['a'], ['b']]))).toThrow(TermError)
    expect(() => associatedTranspose(id([['a'], ['b']]))).toThrow(/one segment to one/)
  })
})
