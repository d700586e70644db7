/**
 * The laws of tuples, a symmetric monoidal structure (paper section 2.2, Fig. 7: sections side
 * by side; the dashed lines of tuple segments):
 *
 *     (f ⊗ g) ; (h ⊗ k) = (f ; h) ⊗ (g ; k)                 interchange
 *     (f ⊗ g) ; swap(B, D) = swap(A, C) ; (g ⊗ f)          swap natural
 *     swap(A, B) ; swap(B, A) = id(A × B)                  swap involutive
 *     f ⊗ id(()) = f = id(()) ⊗ f                          the empty tuple is the unit
 *
 * @packageDocumentation
 */
import { P, v } from '../pattern.js'
import { type Rule, rule, same } from '../rule.js'

const f = v.term('f')
const g = v.term('g')
const h = v.term('h')
const k = v.term('k')
const A = v.type('A')
const B = v.type('B')

/** Interchange: composing stacks is stacking compositions. */
export const interchange = rule(
  'monoidal/interchange',
  P.seq(P.par(f, g), P.par(h, k)),
  P.par(P.seq(f, h), P.seq(g, k)),
  { source: 'Fig. 7', when: [same(v.cod('f'), v.dom('h'))] },
)

/** Swap is natural: crossing wires commutes with any two processes. */
export const swapNatural = rule(
  'monoidal/swap-natural',
  P.seq(P.par(f, g), P.swap(v.cod('f'), v.cod('g'))),
  P.seq(P.swap(v.dom('f'), v.dom('g')), P.par(g, f)),
  { source: 'section 2.2' },
)

/** Crossing twice is the identity. One-way: the identity does not say where the cut was. */
export const swapInvolutive = rule(
  'monoidal/swap-involutive',
  P.seq(P.swap(A, B), P.swap(B, A)),
  P.id(v.concat(A, B)),
  { source: 'section 2.2', oneWay: true },
)

/** The empty tuple is a right unit of `⊗`. */
export const unitRight = rule('monoidal/unit-right', P.par(f, P.id([])), f, {
  source: 'section 2.2',
})

/** The empty tuple is a left unit of `⊗`. */
export const unitLeft = rule('monoidal/unit-left', P.par(P.id([]), f), f, {
  source: 'section 2.2',
})

/** The tuple laws, in catalogue order. */
export const monoidalRules: ReadonlyArray<Rule> = Object.freeze([
  interchange,
  swapNatural,
  swapInvolutive,
  unitRight,
  unitLeft,
])
