import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  P,
  type Dim,
  type Rule,
  type Term,
  applyAt,
  associatedTranspose,
  broadcast,
  constDim,
  convTensor,
  crop,
  derivative,
  dimPadded,
  dimProduct,
  drop,
  einsum,
  einsumOf,
  evaluate,
  grad,
  id,
  index,
  oneHot,
  pad,
  par,
  rule,
  seq,
  show,
  showTyped,
  splitLinear,
  tanh,
  transpose,
  unit,
  v,
  view,
} from '../src/index.js'
import { holds, linear, typed } from '../src/rewrite/rule.js'
import {
  hasTranspose,
  ofConv,
  ofEinsum,
  ofEinsumMatrix,
  ofIndex,
  ofPad,
  ofView,
  ofViewSplit,
  snakePattern,
  transposeRules,
  unitBroadcast,
  unitBroadcastShape,
} from '../src/rewrite/rules/transpose.js'
import { DEFAULT_DIMS, DEFAULT_MAX_SIZE } from '../src/testing/sizes.js'
import { einsumArb } from '../src/testing/einsums.js'
import { type LawOptions, checkLaw, instanceArb, refuteLaw } from '../src/testing/laws.js'
import { termArb } from '../src/testing/terms.js'

/** Cases per law and direction: 200 in CI, more on demand (`LAW_RUNS=5000 npm run laws`). */
const numRuns = Number(process.env.LAW_RUNS ?? 200)
/**
 * Inputs and parameters in multiples of 1/4 from -2 to 2: the default entries are uniform over the
 * float64 values of [-2, 2], nine in ten below 1e-10 in magnitude, where the comparison (relative
 * to max(1, |a|, |b|)) cannot tell much apart.
 */
const QUARTERS = { values: 'quarters' } as const

const dimArb: fc.Arbitrary<Dim> = fc.constantFrom(...DEFAULT_DIMS)

// Instances the pattern-walking generator cannot draw: in a snake, the unit's broadcast comes
// first and fixes the codomain's dims before the map that determines them (the padded axis, the
// convolution's output axis, a product of dims, an einsum's output).

/** The snake of a random padding. */
const padSnakes = fc
  .tuple(dimArb, fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }))
  .map(([a, m, n]) => associatedTranspose(pad(a, m, n)))

/**
 * The snake of a random convolution tensor `[x] -> [y k]`, x padded as `termArb` pads it so that
 * y has at least one entry at every size up to the maximum.
 */
const convSnakes = fc
  .record({
    x: dimArb,
    kernel: fc.oneof(dimArb, fc.constantFrom(1, 2, 3).map(constDim)),
    stride: fc.integer({ min: 1, max: 2 }),
    dilation: fc.integer({ min: 1, max: 2 }),
  })
  .map(({ x, kernel, stride, dilation }) => {
    const widest = kernel.kind === 'const' ? kernel.value : DEFAULT_MAX_SIZE
    const input = dimPadded(x, 0, dilation * (widest - 1))
    return associatedTranspose(convTensor(input, kernel, { stride, dilation }))
  })

const merges = fc.tuple(dimArb, dimArb).map(([a, b]) => view([a, b], [dimProduct(a, b)]))
const splits = fc.tuple(dimArb, dimArb).map(([a, b]) => view([dimProduct(a, b)], [a, b]))

const EINSUM_BUDGET = { maxRank: 4, maxCells: 256, maxSize: DEFAULT_MAX_SIZE }

/** A random one-input einsum from a shape of `from` dims to one of `to` dims. */
const einsumsArb = (from: number, to: number): fc.Arbitrary<Term> =>
  fc
    .array(dimArb, { minLength: from, maxLength: from })
    .chain((shape) => einsumArb([shape], DEFAULT_DIMS, EINSUM_BUDGET))
    .filter((e) => (e.cod[0] ?? []).length === to)

/**
 * Linear maps `M : P × [a] -> []` in their last input, primal in the others, of two kinds: the
 * tangent part of a forward derivative, `D(f) ; drop ⊗ id` for a random smooth `f : [a] -> []`
 * (the Jacobian row of Fig. 36, P the point), and the inner product of `[a]` with a random smooth
 * `g : P -> [a]` of random primal inputs P. Placed on the rows of the unit as in Fig. 36.
 */
const onUnit = (m: Term): Term => {
  const primal = m.dom.slice(0, -1)
  const a = (m.dom[m.dom.length - 1] as ReadonlyArray<Dim>)[0] as Dim
  return seq(
    par(id(primal), unit(a)),
    broadcast(m, [a], { inputs: [...primal.map(() => 'shared' as const), 0], outputs: [0] }),
  )
}

const tangentsOfDerivatives = dimArb.chain((a) =>
  termArb([[a]], { cod: [[]], smooth: true, depth: 2 }).map((f) =>
    onUnit(seq(derivative(f), par(drop([[]]), id([[]])))),
  ),
)

const innerProducts = fc
  .tuple(dimArb, fc.array(fc.array(dimArb, { maxLength: 2 }), { minLength: 1, maxLength: 2 }))
  .chain(([a, primal]) =>
    termArb(primal, { cod: [[a]], smooth: true, depth: 2 }).map((g) =>
      onUnit(seq(par(g, id([[a]])), einsum('i, i -> ', { dims: { i: a } }))),
    ),
  )

/**
 * The same on a segment of one to three axes `[A]` (each of attention's queries, keys, values),
 * the unit the identity tensor of `[A]` as an einsum with random labels (`-> p q p q`, as
 * `forwardGradient` and `shapeUnit` write it under different names; `-> p p` for one axis, as
 * `forwardGradient` writes it for a function of several inputs).
 */
const onShapeUnit = (m: Term, names: ReadonlyArray<string>): Term => {
  const primal = m.dom.slice(0, -1)
  const A = m.dom[m.dom.length - 1] as ReadonlyArray<Dim>
  const L = A.map((_, i) => names[i] as string)
  const dims = Object.fromEntries(A.map((d, i) => [L[i] as string, d] as const))
  return seq(
    par(id(primal), einsumOf({ inputs: [[]], output: [...L, ...L] }, { dims })),
    broadcast(m, A, { inputs: [...primal.map(() => 'shared' as const), 0], outputs: [0] }),
  )
}

const shapeArb = fc.array(dimArb, { minLength: 1, maxLength: 3 })
const labelsArb = fc.constantFrom(['l0', 'l1', 'l2'], ['a0', 'a1', 'a2'], ['q', 'p', 'r'])

const shapeTangentsOfDerivatives = fc
  .tuple(shapeArb, labelsArb)
  .chain(([A, names]) =>
    termArb([A], { cod: [[]], smooth: true, depth: 2 }).map((f) =>
      onShapeUnit(seq(derivative(f), par(drop([[]]), id([[]]))), names),
    ),
  )

const shapeInnerProducts = fc
  .tuple(
    shapeArb,
    labelsArb,
    fc.array(fc.array(dimArb, { maxLength: 2 }), { minLength: 1, maxLength: 2 }),
  )
  .chain(([A, names, primal]) =>
    termArb(primal, { cod: [A], smooth: true, depth: 2 }).map((g) => {
      const L = A.map((_, i) => `i${i}`)
      const dims = Object.fromEntries(A.map((d, i) => [L[i] as string, d] as const))
      const dot = einsumOf({ inputs: [L, L], output: [] }, { dims })
      return onShapeUnit(seq(par(g, id([A])), dot), names)
    }),
  )

/** Those two kinds on segments of one to three axes. */
const shapeUnitBroadcasts = fc.oneof(shapeTangentsOfDerivatives, shapeInnerProducts)

/** Those two kinds, and the pattern's own instances (M jointly linear, or skipped). */
const unitBroadcasts = fc.oneof(
  tangentsOfDerivatives,
  innerProducts,
  instanceArb(unitBroadcast, 'forward'),
)

/** Options per law, for the contract. */
const lawOptions: Readonly<Record<string, LawOptions>> = {
  'transpose/pad': { instances: { forward: padSnakes } },
  'transpose/conv': { instances: { forward: convSnakes } },
  'transpose/view': {
    instances: { forward: merges.map(associatedTranspose), backward: splits },
  },
  'transpose/view-split': {
    instances: { forward: splits.map(associatedTranspose), backward: merges },
  },
  'transpose/einsum': { instances: { forward: einsumsArb(1, 1).map(associatedTranspose) } },
  'transpose/einsum-matrix': {
    instances: { forward: einsumsArb(2, 2).map(associatedTranspose) },
  },
  'transpose/unit-broadcast': { instances: { forward: unitBroadcasts } },
  'transpose/unit-broadcast-shape': { instances: { forward: shapeUnitBroadcasts } },
}

describe('transpose laws hold (Fig. 20, 36-37: the snake equals the direct transpose)', () => {
  for (const r of transposeRules)
    it(`${r.name} (${r.source})`, () =>
      checkLaw(r, { numRuns, tensors: QUARTERS, ...(lawOptions[r.name] ?? {}) }))

  it('the instances of the per-kind laws are the snakes associatedTranspose builds', () => {
    const cases: ReadonlyArray<readonly [Rule, Term, Term]> = [
      [ofIndex, associatedTranspose(index('a', 1)), oneHot('a', 1)],
      [ofPad, associatedTranspose(pad('x', 1, 2)), crop('x', 1, 2)],
      [
        ofView,
        associatedTranspose(view(['a', 'b'], [dimProduct('a', 'b')])),
        view([dimProduct('a', 'b')], ['a', 'b']),
      ],
      [
        ofViewSplit,
        associatedTranspose(view([dimProduct('a', 'b')], ['a', 'b'])),
        view(['a', 'b'], [dimProduct('a', 'b')]),
      ],
      [
        ofEinsum,
        associatedTranspose(einsum('i -> j', { dims: { i: 'a', j: 'b' } })),
        einsum('j -> i', { dims: { i: 'a', j: 'b' } }),
      ],
      [
        ofEinsumMatrix,
        associatedTranspose(einsum('i j -> j i', { dims: { i: 'a', j: 'b' } })),
        einsum('j i -> i j', { dims: { i: 'a', j: 'b' } }),
      ],
    ]
    for (const [r, snake, direct] of cases) {
      const out = applyAt(r, snake, { path: [] })
      expect(E.isRight(out) && show(out.right.term), r.name).toBe(show(direct))
    }
    const conv = applyAt(ofConv, associatedTranspose(convTensor('x', 'k', { stride: 2 })), {
      path: [],
    })
    expect(E.isRight(conv) && showTyped(conv.right.term)).toBe(
      'convTensorᵀ(x,k,s2,d1) : [conv(x,k,s2,d1) k] -> [x]',
    )
  })

  it('transpose/unit-broadcast applies to the Jacobian rows and inner products it is given', () => {
    // Not all: splitLinear is structural, so it refuses an M that is linear only because it is
    // zero (the tangent of a constant f, or of f = sigmoid ; drop ; zero, whose jvp is f ⊗ f).
    const ms = fc.sample(fc.oneof(tangentsOfDerivatives, innerProducts), { numRuns: 200, seed: 3 })
    const applied = ms.filter((t) => E.isRight(applyAt(unitBroadcast, t, { path: [] })))
    expect(applied.length).toBeGreaterThanOrEqual(180)
  })

  it('transpose/unit-broadcast-shape applies to Jacobian rows and inner products on shapes', () => {
    const ms = fc.sample(shapeUnitBroadcasts, { numRuns: 200, seed: 5 })
    const applied = ms.filter((t) => E.isRight(applyAt(unitBroadcastShape, t, { path: [] })))
    expect(applied.length).toBeGreaterThanOrEqual(180)
    // The named single-axis unit (`unit(a)`) is transpose/unit-broadcast's, not this law's.
    const single = fc.sample(tangentsOfDerivatives, { numRuns: 20, seed: 5 })
    expect(single.some((t) => E.isRight(applyAt(unitBroadcastShape, t, { path: [] })))).toBe(false)
  })

  it('transpose/unit-broadcast-shape refuses a unit whose second copy of the labels is permuted', () => {
    // `-> p q q p` is the identity tensor of [a a] transposed: M applied to e_βα at row (α, β).
    const f = seq(tanh(['a', 'a']), einsum('i j -> ', { dims: { i: 'a', j: 'a' } }))
    const m = seq(derivative(f), par(drop([[]]), id([[]])))
    const primal = m.dom.slice(0, -1)
    const lhs = seq(
      par(id(primal), einsum(' -> p q q p', { dims: { p: 'a', q: 'a' } })),
      broadcast(m, ['a', 'a'], {
        inputs: [...primal.map(() => 'shared' as const), 0],
        outputs: [0],
      }),
    )
    const out = applyAt(unitBroadcastShape, lhs, { path: [] })
    expect(E.isLeft(out) && out.left.reason).toBe('condition')
  })

  it('the unit broadcast of the tangent of D(f) is the gradient of f (Fig. 36-37)', () => {
    // f = tanh ; Σ : [a] -> []. Fig. 36: its forward derivative at x, fed the rows of the
    // identity, gives the Jacobian row 1 - tanh²(x); the law rewrites it to the reverse form.
    const sum = einsum('i -> ', { dims: { i: 'a' } })
    const f = seq(tanh(['a']), sum)
    const tangent = seq(derivative(f), par(drop([[]]), id([[]])))
    const lhs = seq(
      par(id([['a']]), unit('a')),
      broadcast(tangent, ['a'], { inputs: ['shared', 0], outputs: [0] }),
    )
    const out = applyAt(unitBroadcast, lhs, { path: [] })
    if (E.isLeft(out)) throw new Error(out.left.message)
    const x = Float64Array.of(0.5, -1, 2)
    const viaUnit = evaluate(lhs, { a: 3 }, [x, [1]])[0] as Float64Array
    const viaTranspose = evaluate(out.right.term, { a: 3 }, [x, [1]])[0] as Float64Array
    const gradient = evaluate(grad(f), { a: 3 }, [x])[0] as Float64Array
    const expected = Array.from(x, (t) => 1 - Math.tanh(t) ** 2)
    for (const got of [viaUnit, viaTranspose, gradient])
      got.forEach((value, i) => expect(value).toBeCloseTo(expected[i] as number, 12))
  })
})

const f = v.term('f')
const g = v.term('g')
const a = v.dim('a')

/** A refutation must be a numeric difference, not a rule that fails to apply. */
const refutedNumerically = (counterexample: string): void => {
  expect(counterexample).toContain('before:')
  expect(counterexample).toContain('after:')
  expect(counterexample).toMatch(/problem: output \d+ differs at entry \d+/)
}

describe('plausible wrong transpose laws are refuted, with a readable counterexample', () => {
  it('(f ; g)ᵀ is not fᵀ ; gᵀ (the order must reverse)', () => {
    const wrong = rule(
      'wrong/transpose-seq-order',
      snakePattern(P.seq(f, g), [a], [a]),
      v.build('transpose(?f) ; transpose(?g)', (bs) =>
        seq(transpose(bs.get('f')?.value as Term), transpose(bs.get('g')?.value as Term)),
      ),
      {
        oneWay: true,
        when: [
          linear('f'),
          linear('g'),
          typed('f', [[a]], [[a]]),
          typed('g', [[a]], [[a]]),
          holds('transpose(?f) and transpose(?g) exist', (bs) =>
            ['f', 'g'].every((n) => hasTranspose(bs.get(n)?.value as Term)),
          ),
        ],
      },
    )
    const counterexample = refuteLaw(wrong, 'forward', { tolerance: 0.1, tensors: QUARTERS })
    refutedNumerically(counterexample)
  })

  it('the transpose of |i⟩ is the one-hot at i, not at another position', () => {
    const i = v.value('i')
    const wrong = rule(
      'wrong/index-transpose-shifted',
      snakePattern(P.index(a, i), [a], []),
      v.build('⟨?i + 1|_?a', (bs) =>
        oneHot(bs.get('a')?.value as Dim, (bs.get('i')?.value as number) + 1),
      ),
      { oneWay: true },
    )
    const counterexample = refuteLaw(wrong, 'forward', { tolerance: 0.1, tensors: QUARTERS })
    refutedNumerically(counterexample)
    expect(counterexample).toMatch(/before: unit\[\w\] ; bcast\[\w\]\(\|\d⟩_\w\)/)
  })

  it('the Jacobian by a transposed unit (-> p q q p) is not the transpose of M', () => {
    // transpose/unit-broadcast-shape with its unit condition loosened to any repetition of the
    // labels: on [a a] the rows of `-> p q q p` are the directions e_βα, so the left side is the
    // gradient with its two axes exchanged.
    const m = v.term('m')
    const u = v.as(
      'u',
      P.node({ kind: 'einsum', inputs: [[]], output: v.value('O'), dims: v.value('D') }),
    )
    const wrong = rule(
      'wrong/unit-broadcast-shape-any-repetition',
      P.seq(P.par(P.id(v.type('P')), u), P.broadcast(m, [v.shape('A')], v.value('I'), [0])),
      v.build('the transpose of ?m in its last input', (bs) => {
        const t = bs.get('m')?.value as Term
        return splitLinear(
          t,
          t.dom.map((_, i) => i === t.dom.length - 1),
        ).backward
      }),
      { oneWay: true },
    )
    const squares = fc
      .tuple(dimArb, fc.constantFrom(' -> p q q p', ' -> p q p q'))
      .chain(([d, spec]) =>
        termArb([[d, d]], { cod: [[]], smooth: true, depth: 2 }).map((h) => {
          const mm = seq(derivative(h), par(drop([[]]), id([[]])))
          return seq(
            par(id([[d, d]]), einsum(spec, { dims: { p: d, q: d } })),
            broadcast(mm, [d, d], { inputs: ['shared', 0], outputs: [0] }),
          )
        }),
      )
    const counterexample = refuteLaw(wrong, 'forward', {
      tolerance: 0.1,
      tensors: QUARTERS,
      instances: { forward: squares },
    })
    refutedNumerically(counterexample)
    expect(counterexample).toMatch(/before: .*-> p q q p/)
    // The contract the catalogue's laws pass (checkLaw, as above) fails on it too.
    expect(() =>
      checkLaw(wrong, { numRuns: 100, tensors: QUARTERS, instances: { forward: squares } }),
    ).toThrow(/-> p q q p/)
  })

  it('the transpose of a square linear map is not the map itself', () => {
    const wrong = rule('wrong/transpose-is-self', snakePattern(f, [a], [a]), f, {
      when: [linear('f'), typed('f', [[a]], [[a]])],
      oneWay: true,
    })
    const counterexample = refuteLaw(wrong, 'forward', { tolerance: 0.1, tensors: QUARTERS })
    refutedNumerically(counterexample)
  })
})
