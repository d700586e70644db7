/**
 * The Cartesian laws of tuples (paper section 2.2: copy Δ and delete; 2.4.1): copy is a
 * cocommutative comonoid with delete as its counit, and every term is a homomorphism of it (the
 * category is Cartesian: terms are deterministic functions).
 *
 *     Δ ; (Δ ⊗ id) = Δ ; (id ⊗ Δ)         Δ ; (drop ⊗ id) = id = Δ ; (id ⊗ drop)
 *     Δ ; swap = Δ                        f ; Δ = Δ ; (f ⊗ f)         f ; drop = drop
 *
 * @packageDocumentation
 */
import { P, v } from '../pattern.js'
import { type Rule, rule } from '../rule.js'

const A = v.type('A')
const f = v.term('f')

/** Copy is coassociative. */
export const copyCoassoc = rule(
  'cartesian/copy-coassoc',
  P.seq(P.copy(A), P.par(P.copy(A), P.id(A))),
  P.seq(P.copy(A), P.par(P.id(A), P.copy(A))),
  { source: 'section 2.2' },
)

/** Copy then delete the first copy is the identity. */
export const copyCounitLeft = rule(
  'cartesian/copy-counit-left',
  P.seq(P.copy(A), P.par(P.drop(A), P.id(A))),
  P.id(A),
  { source: 'section 2.2' },
)

/** Copy then delete the second copy is the identity. */
export const copyCounitRight = rule(
  'cartesian/copy-counit-right',
  P.seq(P.copy(A), P.par(P.id(A), P.drop(A))),
  P.id(A),
  { source: 'section 2.2' },
)

/** Copy is cocommutative: swapping the copies changes nothing. */
export const copyCocommutative = rule(
  'cartesian/copy-cocommutative',
  P.seq(P.copy(A), P.swap(A, A)),
  P.copy(A),
  { source: 'section 2.2' },
)

/** Copy is natural for every term: computing then copying is copying then computing twice. */
export const copyNatural = rule(
  'cartesian/copy-natural',
  P.seq(f, P.copy(v.cod('f'))),
  P.seq(P.copy(v.dom('f')), P.par(f, f)),
  { source: 'section 2.2' },
)

/** Delete is natural for every term. One-way: the right side forgets f. */
export const dropNatural = rule(
  'cartesian/drop-natural',
  P.seq(f, P.drop(v.cod('f'))),
  P.drop(v.dom('f')),
  {
    source: 'section 2.2',
    oneWay: true,
  },
)

/** The Cartesian laws, in catalogue order. */
export const cartesianRules: ReadonlyArray<Rule> = Object.freeze([
  copyCoassoc,
  copyCounitLeft,
  copyCounitRight,
  copyCocommutative,
  copyNatural,
  dropNatural,
])
