/**
 * Theorems: equations between diagrams of the paper, each proved by a sequence of law steps.
 * `npm run proofs` writes each proof as a JSON document under `proofs/json/`, which `ncd check`
 * replays with nothing but the law catalogue; `proofs/proofs.test.ts` checks both forms.
 *
 * @packageDocumentation
 */
import { type Proof, copy, id, linearLayer, par, prove, relu, seq, swap } from '../src/index.js'
import { idLeft } from '../src/rewrite/rules/category.js'
import { copyNatural } from '../src/rewrite/rules/cartesian.js'
import { interchange, swapInvolutive } from '../src/rewrite/rules/monoidal.js'

/** A theorem: a slug for its file name and the proof. */
export interface Theorem {
  readonly slug: string
  readonly proof: () => Proof
}

export const theorems: ReadonlyArray<Theorem> = [
  {
    slug: 'tuples-interchange-layers',
    // Fig. 7: two stacked sections composed are two composed sections stacked.
    proof: () =>
      prove(
        'Fig. 7: stacked layers compose section by section',
        seq(par(linearLayer('A', 'x', 'h'), linearLayer('B', 'y', 'k')), par(relu('h'), relu('k'))),
        [[interchange, { path: [] }]],
      ),
  },
  {
    slug: 'tuples-swap-twice',
    // Section 2.2: crossing two wires twice is no crossing.
    proof: () =>
      prove(
        'section 2.2: swapping twice, then a layer, is the layer',
        seq(
          swap([['x']], [['y']]),
          swap([['y']], [['x']]),
          par(linearLayer('A', 'x', 'h'), id([['y']])),
        ),
        [
          [swapInvolutive, { path: [], range: [0, 2] }],
          [idLeft, { path: [] }],
        ],
      ),
  },
  {
    slug: 'cartesian-copy-layer',
    // Section 2.2: a layer then a copy is a copy then the layer on both copies.
    proof: () =>
      prove(
        'section 2.2: copying a layer output is copying its input',
        seq(linearLayer('A', 'x', 'h', { bias: true }), copy([['h']])),
        [[copyNatural, { path: [] }]],
      ),
  },
]
