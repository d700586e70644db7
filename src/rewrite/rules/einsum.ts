/**
 * The laws of einsums (paper section 2.4.2, Fig. 18-20; DESIGN.md section 3): an einsum spec is a
 * spider diagram, so
 *
 *     e1 ; e2 = e12                      fusion: joining wires (times n for a closed loop of size n)
 *     (e1 ⊗ id) ; e2 = e12               fusion with wires passing beside e1
 *     bcast[X](e) = e′                   a broadcast einsum is an einsum (Fig. 17: simultaneous)
 *     e = canon(e)                       renaming labels changes nothing
 *     unit[a] = einsum( -> a a)          the unit and the cup are einsums (Fig. 20)
 *     cup[a] = einsum(a a -> )
 *
 * Every right side is built by a function of `src/linear/fuse.ts` or `src/linear/canonical.ts`
 * and is in canonical form, so the laws are one-way; used left to right they decide equality of
 * structural linear maps: fuse, then compare canonical data. The fusion laws match einsums
 * without a name: turn `unit` and `cup` into plain einsums first.
 *
 * @packageDocumentation
 */
import { id, par } from '../../core/construct.js'
import type { Term } from '../../core/term.js'
import type { TupleType } from '../../core/types.js'
import { canonicalEinsum, isCanonicalEinsum } from '../../linear/canonical.js'
import { einsumOfBroadcast, fuseEinsums } from '../../linear/fuse.js'
import type { Bindings } from '../match.js'
import { P, type Pattern, v } from '../pattern.js'
import { type Rule, holds, rule } from '../rule.js'

/** An einsum without a name, bound to `name`, its labels metavariables. */
const einsumNamed = (name: string): Pattern =>
  v.as(
    name,
    P.node({
      kind: 'einsum',
      inputs: v.value(`${name}.inputs`),
      output: v.value(`${name}.output`),
      dims: v.value(`${name}.dims`),
    }),
  )

const e = einsumNamed('e')
const e1 = einsumNamed('e1')
const e2 = einsumNamed('e2')
const e3 = einsumNamed('e3')
const A = v.type('A')
const B = v.type('B')

const termOf = (bs: Bindings, name: string): Term => bs.get(name)?.value as Term
const typeOf = (bs: Bindings, name: string): TupleType => bs.get(name)?.value as TupleType

/**
 * Fusion (section 2.4.2, Fig. 19): two consecutive einsums are one einsum, whose wires join those
 * of the two (`x k h -> k x h ; k x h -> x h` is `x k h -> x h`). A wire closed into a loop
 * contributes its size (`unit ; cup = size of a`). One-way.
 */
export const fusion = rule(
  'einsum/fusion',
  P.seq(e1, e2),
  v.build('the fusion of ?e1 and ?e2', (bs) => fuseEinsums(termOf(bs, 'e1'), termOf(bs, 'e2'))),
  { source: 'Fig. 19', oneWay: true },
)

/**
 * Fusion with wires passing below (Fig. 18-19: the transpose of K beside Q, then the outer
 * product): `(e1 ⊗ id(B)) ; e2` is one einsum. One-way.
 */
export const fusionFirst = rule(
  'einsum/fusion-first',
  P.seq(P.par(e1, P.id(B)), e2),
  v.build('the fusion of ?e1 ⊗ id(?B) and ?e2', (bs) =>
    fuseEinsums(par(termOf(bs, 'e1'), id(typeOf(bs, 'B'))), termOf(bs, 'e2')),
  ),
  { source: 'Fig. 19', oneWay: true },
)

/** Fusion with wires passing above: `(id(A) ⊗ e1) ; e2` is one einsum. One-way. */
export const fusionLast = rule(
  'einsum/fusion-last',
  P.seq(P.par(P.id(A), e1), e2),
  v.build('the fusion of id(?A) ⊗ ?e1 and ?e2', (bs) =>
    fuseEinsums(par(id(typeOf(bs, 'A')), termOf(bs, 'e1')), termOf(bs, 'e2')),
  ),
  { source: 'Fig. 19', oneWay: true },
)

/** Fusion with wires passing on both sides: `(id(A) ⊗ e1 ⊗ id(B)) ; e2`. One-way. */
export const fusionMiddle = rule(
  'einsum/fusion-middle',
  P.seq(P.par(P.id(A), e1, P.id(B)), e2),
  v.build('the fusion of id(?A) ⊗ ?e1 ⊗ id(?B) and ?e2', (bs) =>
    fuseEinsums(par(id(typeOf(bs, 'A')), termOf(bs, 'e1'), id(typeOf(bs, 'B'))), termOf(bs, 'e2')),
  ),
  { source: 'Fig. 19', oneWay: true },
)

/**
 * Fusion of two einsums side by side into the next (section 2.4.1: the outer product of two
 * einsums' results, then an einsum): `(e1 ⊗ e3) ; e2` is one einsum. One-way.
 */
export const fusionPair = rule(
  'einsum/fusion-pair',
  P.seq(P.par(e1, e3), e2),
  v.build('the fusion of ?e1 ⊗ ?e3 and ?e2', (bs) =>
    fuseEinsums(par(termOf(bs, 'e1'), termOf(bs, 'e3')), termOf(bs, 'e2')),
  ),
  { source: 'section 2.4.1', oneWay: true },
)

/**
 * A broadcast einsum is an einsum (Fig. 17: linear maps are broadcast simultaneously): one more
 * label per broadcast axis, in the broadcast inputs and the output where the broadcast places it
 * (shared inputs go without). One-way.
 */
export const broadcastEinsum = rule(
  'einsum/broadcast',
  v.as('b', P.broadcast(e, v.shape('X'), v.value('In'), v.value('Out'))),
  v.build('the einsum of the broadcast ?b', (bs) => einsumOfBroadcast(termOf(bs, 'b'))),
  { source: 'Fig. 17', oneWay: true },
)

/**
 * Canonical labels (section 2.4.2: einops names axes by symbols, and only their coincidences
 * matter): an einsum equals its labels renamed by first appearance (`src/linear/canonical.ts`).
 * Applies only when it changes the einsum. One-way.
 */
export const canonical = rule(
  'einsum/canonical',
  e,
  v.build('the canonical form of ?e', (bs) => canonicalEinsum(termOf(bs, 'e'))),
  {
    when: [holds('?e is not in canonical form', (bs) => !isCanonicalEinsum(termOf(bs, 'e')))],
    source: 'section 2.4.2',
    oneWay: true,
  },
)

/** The unit is an einsum (Fig. 20): `unit[a] = einsum( -> a a)`, in canonical form. One-way. */
export const unitEinsum = rule(
  'einsum/unit',
  v.as('u', P.unit(v.dim('a'))),
  v.build('the einsum of ?u', (bs) => canonicalEinsum(termOf(bs, 'u'))),
  { source: 'Fig. 20', oneWay: true },
)

/** The cup is an einsum (Fig. 20): `cup[a] = einsum(a a -> )`, in canonical form. One-way. */
export const cupEinsum = rule(
  'einsum/cup',
  v.as('u', P.cup(v.dim('a'))),
  v.build('the einsum of ?u', (bs) => canonicalEinsum(termOf(bs, 'u'))),
  { source: 'Fig. 20', oneWay: true },
)

/** The einsum laws, in catalogue order. */
export const einsumRules: ReadonlyArray<Rule> = Object.freeze([
  unitEinsum,
  cupEinsum,
  broadcastEinsum,
  fusion,
  fusionFirst,
  fusionLast,
  fusionMiddle,
  fusionPair,
  canonical,
])
