/**
 * The laws of linear maps (paper section 2.4, Fig. 16-17; 2.4.1). A map f is linear when it obeys
 * additivity and homogeneity (Fig. 16), and linear maps are natural with respect to each other and
 * broadcasting (Fig. 17): acting on different axes of one segment, they can be applied in either
 * order, or simultaneously. A multilinear map is an outer product followed by a linear map
 * (section 2.4.1).
 *
 *     f(x + y) = f(x) + f(y)                         additivity (Fig. 16)
 *     f(λ x) = λ f(x)                                homogeneity (Fig. 16)
 *     f(0) = 0                                       (homogeneity at λ = 0)
 *     a/c F b/c G b/d = a/c G a/d F b/d              naturality with broadcasting (Fig. 17)
 *     f = ⊗ ; f_λ                                    multilinear maps (section 2.4.1)
 *     view(S -> 1 S) ; view(1 S -> S) = id           a 1-length axis (section 3.5)
 *     view(S -> T) ; view(T -> U) = view(S -> U)     views compose (Fig. 11)
 *     view(S -> S) = id                              a view onto its own shape
 *
 * Each law holds only for linear maps: the side condition `linear(f)` is what makes it sound
 * (relu, softmax, or a biased layer break it; see laws/linear.test.ts for the counterexamples).
 *
 * @packageDocumentation
 */
import { constDim } from '../../core/dim.js'
import type { Term } from '../../core/term.js'
import { isOuterProduct, outerThenLinear } from '../../linear/fuse.js'
import type { Bindings } from '../match.js'
import { P, type Pattern, v } from '../pattern.js'
import { type Rule, holds, linear, rule, typed } from '../rule.js'

const f = v.term('f')
const g = v.term('g')
const a = v.dim('a')
const b = v.dim('b')
const S = v.shape('S')
const T = v.shape('T')
const C = v.shape('C')
const D = v.shape('D')
const ONE = constDim(1)

/** The term bound to a metavariable. */
const termOf = (bs: Bindings, name: string): Term => bs.get(name)?.value as Term

/** A broadcast whose axes may be computed (`v.segment`): `P.broadcast` with any axes pattern. */
const bcast = (
  body: Pattern,
  axes: ReadonlyArray<Pattern>,
  inputs: ReadonlyArray<number>,
  outputs: ReadonlyArray<number>,
): Pattern => P.node({ kind: 'broadcast', body, axes, inputs, outputs })

/** Element-wise addition over the axes (`add(shape)`: the scalar add broadcast at position 0). */
const addOver = (axes: ReadonlyArray<Pattern>): Pattern => bcast(P.scalar('add'), axes, [0, 0], [0])

/** Element-wise scaling by ?c over the axes (`scale(c, shape)`). */
const scaleOver = (axes: ReadonlyArray<Pattern>): Pattern =>
  bcast(P.scalar('scale', v.value('c')), axes, [0], [0])

/**
 * Additivity (Fig. 16): `f(x + y) = f(x) + f(y)`, i.e. `add(S) ; f = (f ⊗ f) ; add(T)` for a
 * linear `f: [S] -> [T]` on one segment (of rank one or more: on scalars `add` is the bare
 * scalar map). Sound only if f is linear: relu breaks it.
 */
export const additivity = rule(
  'linear/additivity',
  P.seq(addOver([v.segment('dom', 'f', 0)]), f),
  P.seq(P.par(f, f), addOver([v.segment('cod', 'f', 0)])),
  { when: [linear('f'), typed('f', [[S]], [[T]])], source: 'Fig. 16' },
)

/**
 * Homogeneity (Fig. 16): `f(λ x) = λ f(x)`, i.e. `scale(λ) ; f = f ; scale(λ)` for a constant λ
 * and a linear `f: [S] -> [T]` on one segment. Sound only if f is linear: a biased layer breaks
 * it, and relu for λ < 0.
 */
export const homogeneity = rule(
  'linear/homogeneity',
  P.seq(scaleOver([v.segment('dom', 'f', 0)]), f),
  P.seq(f, scaleOver([v.segment('cod', 'f', 0)])),
  { when: [linear('f'), typed('f', [[S]], [[T]])], source: 'Fig. 16' },
)

/**
 * A linear map sends zero to zero (homogeneity at λ = 0, Fig. 16): `zero(A) ; f = zero(B)` for a
 * linear `f: A -> B`. One-way: the right side forgets f. A biased layer breaks it.
 */
export const zeroNatural = rule('linear/zero', P.seq(P.zero(v.dom('f')), f), P.zero(v.cod('f')), {
  when: [linear('f')],
  source: 'Fig. 16',
  oneWay: true,
})

/**
 * Naturality of linear maps with broadcasting (Fig. 17): for linear `F: a -> b` acting on the
 * first axis of a segment and linear `G: [C] -> [D]` acting on the axes after it, the order can
 * be exchanged,
 *
 *     a/c F b/c G b/d  =  a/c G a/d F b/d
 *
 * that is `bcast[C @1](F) ; bcast[b @0](G) = bcast[a @0](G) ; bcast[D @1](F)`: both are the
 * simultaneous broadcast `F ⊗ G: [a C] -> [b D]` (for einsums, one einsum: see
 * `einsum/broadcast` and `einsum/fusion`). Sound only if F and G are linear: relu then a mean is
 * not a mean then relu (laws/linear.test.ts).
 */
export const broadcastCommute = rule(
  'linear/broadcast-commute',
  P.seq(
    bcast(f, [v.segment('dom', 'g', 0)], [1], [1]),
    bcast(g, [v.segment('cod', 'f', 0)], [0], [0]),
  ),
  P.seq(
    bcast(g, [v.segment('dom', 'f', 0)], [0], [0]),
    bcast(f, [v.segment('cod', 'g', 0)], [1], [1]),
  ),
  {
    when: [linear('f'), linear('g'), typed('f', [[a]], [[b]]), typed('g', [[C]], [[D]])],
    source: 'Fig. 17',
  },
)

const someEinsum = v.as(
  'e',
  P.node({ kind: 'einsum', inputs: v.value('I'), output: v.value('O'), dims: v.value('D') }),
)

/**
 * A multilinear map is an outer product followed by a linear map (section 2.4.1): every
 * multilinear `f: R^a × R^b -> R^c` has an associated linear `f_λ: R^{a×b} -> R^c` with
 * `⊗ ; f_λ = f`. For an einsum of two inputs or more: `einsum(A, B -> C) = einsum(A, B -> A′ B′) ;
 * einsum(A′ B′ -> C)`, the outer product keeping every axis of every input and the linear map
 * taking the einsum's diagonals and sums. One-way (the right side is built); not applied to an
 * outer product itself. It undoes `einsum/fusion`: never normalise with both.
 */
export const multilinearOuter = rule(
  'linear/multilinear-outer',
  someEinsum,
  v.build('the outer product of the inputs of ?e, then its linear map', (bs) =>
    outerThenLinear(termOf(bs, 'e')),
  ),
  {
    when: [
      holds('?e takes two inputs or more and is not an outer product', (bs) => {
        const e = termOf(bs, 'e')
        return e.dom.length >= 2 && !isOuterProduct(e)
      }),
    ],
    source: 'section 2.4.1',
    oneWay: true,
  },
)

/** A view (a row-major reshape, Fig. 11). */
const view = (from: ReadonlyArray<Pattern>, to: ReadonlyArray<Pattern>): Pattern =>
  P.node({ kind: 'view', from, to })

/**
 * A one-length axis added by a view and removed by the inverse view leaves the tensor as it was
 * (section 3.5: "1×1 convolutions are simply the identity map, Conv(v, [1]) = v"; views only
 * regroup axes, section 2.4.2): `view([S] -> [1 S]) ; view([1 S] -> [S]) = id([S])`. It removes
 * the view that `convolution/kernel-one-broadcast` leaves before a map on the channels.
 */
export const viewOneCancel = rule(
  'linear/view-one-cancel',
  P.seq(view([S], [ONE, S]), view([ONE, S], [S])),
  P.id([[S]]),
  { source: 'section 3.5' },
)

/**
 * Two row-major reshapes in a row are one (Fig. 11: views only regroup the entries, in order):
 * `view([S] -> [T]) ; view([T] -> [U]) = view([S] -> [U])`, a valid view since S, T and U have
 * one size. One-way: the right side forgets T. With {@link viewIdentity} it cancels a view
 * followed by its inverse (the `R^{5x1} = R^5` of section 3.5, tandem axes split and merged).
 */
export const viewFusion = rule(
  'linear/view-fusion',
  P.seq(view([S], [T]), view([T], [C])),
  view([S], [C]),
  { source: 'Fig. 11', oneWay: true },
)

/**
 * A view onto its own shape moves nothing: `view([S] -> [S]) = id([S])`. One-way (read right
 * to left it would match every identity).
 */
export const viewIdentity = rule('linear/view-identity', view([S], [S]), P.id([[S]]), {
  source: 'Fig. 11',
  oneWay: true,
})

/** The laws of linear maps, in catalogue order. */
export const linearRules: ReadonlyArray<Rule> = Object.freeze([
  additivity,
  homogeneity,
  zeroNatural,
  broadcastCommute,
  multilinearOuter,
  viewOneCancel,
  viewFusion,
  viewIdentity,
])
