/**
 * Theorems proved by the search (issue 13): equations stated by their two sides only, with no
 * step list; `npm run proofs` runs `equivalent` (or `optimize`) on each and writes the proof it
 * finds to `proofs/json/search-<slug>.proof.json`, which `ncd check` replays with the law
 * catalogue alone and `proofs/proofs.test.ts` checks states this equation.
 *
 * @packageDocumentation
 */
import {
  type SaturationLimits,
  type Term,
  attention,
  broadcast,
  constDim,
  convTensor,
  cup,
  derivative,
  dimProduct,
  drop,
  einsum,
  forwardGradient,
  generator,
  grad,
  id,
  index,
  linearLayer,
  linearMap,
  mean,
  offset,
  par,
  relu,
  seq,
  sigmoid,
  softmax,
  tanh,
  unit,
  view,
  zero,
} from '../src/index.js'

/** A theorem for the search: its two sides, and the limits it needs. */
export interface SearchTheorem {
  readonly slug: string
  readonly name: string
  readonly sides: () => readonly [Term, Term]
  readonly limits?: SaturationLimits
  /** Intermediate terms given to the search (`EquivalentOptions.via`). */
  readonly via?: () => ReadonlyArray<Term>
}

/**
 * Fig. 33 for `f : [a] -> []`, the seed r = 1 fed in: `(id ⊗ 1) ; (id ⊗ η_a) ;
 * bcast[a @in(=, 0)](D(f) ; drop ⊗ id)`, the tangent part of D(f) once per row of the unit. It
 * has the normal form of `forwardGradient(f)`, and the laws of the derivative and
 * `transpose/unit-broadcast` take it to backpropagation (proofs/theorems.ts, backprop-*).
 */
export const fig33Form = (f: Term): Term =>
  seq(
    par(id(f.dom), seq(zero([[]]), offset(1))),
    par(id(f.dom), unit('a')),
    broadcast(seq(derivative(f), par(drop([[]]), id([[]]))), ['a'], {
      inputs: ['shared', 0],
      outputs: [0],
    }),
  )

const ONE = constDim(1)
const ab = () => dimProduct('a', 'b')

/** The snake of f : [a] -> [b] (the unit, f on one leg, the cup): fᵀ : [b] -> [a] (Fig. 20). */
export const snakeOf = (f: Term, a: string, b: string): Term =>
  seq(
    broadcast(unit(a), [b], { inputs: [0], outputs: [2] }),
    broadcast(broadcast(f, [b], { inputs: [1], outputs: [1] }), [a]),
    broadcast(cup(b), [a]),
  )

/** The snake in the wrong orientation: the input meets the unit's leg, not f's output. */
export const mirroredSnakeOf = (f: Term, a: string): Term =>
  seq(
    broadcast(unit(a), [a], { inputs: [0], outputs: [2] }),
    broadcast(f, [a, a], { inputs: [1], outputs: [1] }),
    broadcast(cup(a), [a]),
  )

const oneByOneLayer = (dilation: number) =>
  seq(
    broadcast(convTensor('x', ONE, { dilation }), ['c'], { at: 'last' }),
    broadcast(seq(view([ONE, 'c'], ['c']), linearMap('W', ['c'], ['d'])), ['x']),
  )

/** The limits `optimize` saturates the layers' forward gradients with: one iteration. */
export const OPTIMIZE_LIMITS: SaturationLimits = { iterations: 1, nodes: 800, timeMs: 60000 }

/**
 * The networks of section 3.6 whose forward gradients `optimize` rewrites, with the sizes their
 * FLOPs are counted at and the saturation limits. Attention's forward gradient has three inputs:
 * 250 e-nodes, 303 with its units beside their broadcasts, and its one iteration adds about
 * 2200 (the broadcasts' bodies are rewritten too), so it gets the 3000 nodes of `optimize`'s
 * default; the layers fit in 800.
 */
export const backpropShowcase: ReadonlyArray<
  readonly [
    string,
    string,
    () => Term,
    Readonly<Record<string, number>>,
    Readonly<SaturationLimits>,
  ]
> = [
  [
    'layer',
    'L(W) ; tanh ; mean',
    () => seq(linearLayer('W', 'a', 'b'), tanh('b'), mean('b')),
    { a: 64, b: 32 },
    OPTIMIZE_LIMITS,
  ],
  [
    'mlp',
    'a two-layer MLP (L ; tanh ; L ; sigmoid ; mean)',
    () =>
      seq(
        linearLayer('W1', 'a', 'h'),
        tanh('h'),
        linearLayer('W2', 'h', 'c'),
        sigmoid('c'),
        mean('c'),
      ),
    { a: 32, h: 16, c: 8 },
    OPTIMIZE_LIMITS,
  ],
  [
    'attention',
    'scaled dot-product attention ; mean',
    () => seq(attention({ y: 'y', x: 'x', k: 'k' }), broadcast(mean('k'), ['y']), mean('y')),
    { y: 8, x: 8, k: 4 },
    { ...OPTIMIZE_LIMITS, nodes: 3000 },
  ],
]

export const searchTheorems: ReadonlyArray<SearchTheorem> = [
  {
    slug: 'view-inverse-fig11',
    name: 'Fig. 11: a view then its inverse (tandem axes merged and split) is the identity',
    sides: () => [seq(view(['a', 'b'], [ab()]), view([ab()], ['a', 'b'])), id([['a', 'b']])],
  },
  {
    slug: 'view-one-section35',
    name: 'section 3.5: R^{5x1} = R^5, a 1-length axis added and removed by views',
    sides: () => [seq(view(['x'], ['x', ONE]), view(['x', ONE], ['x'])), id([['x']])],
  },
  {
    slug: 'elementwise-permute-fig15',
    name: 'Fig. 15: an element-wise map moves across a permutation',
    sides: () => [
      seq(broadcast(tanh('b'), ['a']), einsum('a b -> b a')),
      seq(einsum('a b -> b a'), broadcast(tanh('a'), ['b'])),
    ],
  },
  {
    slug: 'elementwise-view-fig15',
    name: 'Fig. 11, 15: an element-wise map moves across a view',
    sides: () => [
      seq(broadcast(tanh('b'), ['a']), view(['a', 'b'], [ab()])),
      seq(view(['a', 'b'], [ab()]), tanh([ab()])),
    ],
  },
  {
    slug: 'elementwise-index-fig11',
    name: 'Fig. 11, 15: an element-wise map moves across an index',
    sides: () => [
      seq(broadcast(relu('b'), ['a']), broadcast(index('a', 1), ['b'], { at: 'last' })),
      seq(broadcast(index('a', 1), ['b'], { at: 'last' }), relu('b')),
    ],
  },
  {
    slug: 'softmax-columns-fig13',
    name: 'Fig. 13: transpose ; softmax over rows ; transpose is softmax over columns',
    sides: () => [
      seq(einsum('a b -> b a'), broadcast(softmax('a'), ['b']), einsum('b a -> a b')),
      broadcast(softmax('a'), ['b'], { at: 'last' }),
    ],
  },
  {
    slug: 'conv-tensor-1x1-section33',
    name: 'section 3.3: the 1x1 convolution tensor is the identity (a view adding the kernel axis)',
    sides: () => [convTensor('x', ONE), view(['x'], ['x', ONE])],
  },
  {
    slug: 'conv-1x1-dilated-section33',
    name: 'section 3.3: a dilated 1x1 convolution layer is its linear map broadcast over positions',
    sides: () => [oneByOneLayer(3), broadcast(linearMap('W', ['c'], ['d']), ['x'])],
    limits: { timeMs: 20000 },
  },
  {
    slug: 'forward-gradient-is-grad-fig33-37',
    name: 'Fig. 33 = Fig. 37: forwardGradient(f) = grad(f) for f = L(W) ; tanh ; mean',
    sides: () => {
      const f = seq(linearLayer('W', 'a', 'b'), tanh('b'), mean('b'))
      return [forwardGradient(f), grad(f)]
    },
    limits: { timeMs: 20000 },
  },
  {
    slug: 'generators-fig20',
    name: 'Fig. 20: G ; H = G ; (Hᵀ)ᵀ through the snakes, for any G and a linear generator H',
    sides: () => {
      const G = generator('G', [['x']], [['a']])
      const H = generator('H', [['a']], [['b']], { linearity: 'linear' })
      return [seq(G, H), seq(G, snakeOf(snakeOf(H, 'a', 'b'), 'b', 'a'))]
    },
    limits: { timeMs: 20000 },
  },
]
