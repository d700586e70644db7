/**
 * The compact structure of linear maps (paper section 2.4.3, Fig. 20). The unit
 * `η_a : [] -> [a a]` (r times the identity matrix) and the cup `[a a] -> []` (the inner product)
 * bend a wire; bending it forth and back is the identity, "the unit and the inner product can be
 * arranged to give the identity map R^a -> R^a":
 *
 *     bcast[a](η_a) ; bcast[a @last](cup_a) = id([a])               snake
 *     bcast[a @last](η_a) ; bcast[a](cup_a) = id([a])               snake-mirrored
 *
 * and the same with the other axes S of the segment passing by (`[a S]`). With them, a linear
 * `f : [a] -> [b]` has an associated transpose `fᵀ : [b] -> [a]` (Fig. 20: "convert the linear
 * map F into Fᵀ"; see {@link transposePattern} and `associatedTranspose`):
 *
 *     fᵀ = bcast[b @last](η_a) ; bcast[a](bcast[b @last](f)) ; bcast[a](cup_b)
 *     (fᵀ)ᵀ = f                           f linear
 *     (f ; g)ᵀ = gᵀ ; fᵀ                  f, g linear
 *
 * Sound only for linear maps: for an affine f (a linear layer with a bias), `(fᵀ)ᵀ ≠ f`, see
 * laws/compact.test.ts.
 *
 * @packageDocumentation
 */
import type { Dim } from '../../core/dim.js'
import { seq } from '../../core/construct.js'
import type { Term } from '../../core/term.js'
import { associatedTranspose } from '../../linear/transpose-by-snake.js'
import { type Meta, type Pattern, P, v } from '../pattern.js'
import { type Rule, linear, rule, typed } from '../rule.js'

const a = v.dim('a')
const b = v.dim('b')
const c = v.dim('c')
const S = v.shape('S')
const B = v.shape('B')
const f = v.term('f')
const g = v.term('g')

/**
 * The pattern of the associated transpose `fᵀ : [b] -> [a]` of `f : [a] -> [b]` (Fig. 20), as
 * `associatedTranspose` builds it for one-axis maps: the unit of a (broadcast over the input b),
 * f on its second leg, the cup of b pairing f's output with the input.
 *
 * @example
 * ```ts
 * import { transposePattern, associatedTranspose, linearLayer, matchFirst, showBindings, v } from 'neural-circuit-diagrams'
 * const t = associatedTranspose(linearLayer('V', 'x', 'y'))
 * showBindings(matchFirst(transposePattern(v.term('f'), v.dim('a'), v.dim('b')), t)!)
 * // '?a = x, ?b = y, ?f = L(V: x -> y)'
 * ```
 */
export const transposePattern = (f: Pattern, a: Dim | Meta, b: Dim | Meta): Pattern =>
  P.seq(
    P.broadcast(P.unit(a), [b], [0], [2]),
    P.broadcast(P.broadcast(f, [b], [1], [1]), [a], [0], [0]),
    P.broadcast(P.cup(b), [a], [0], [0]),
  )

/**
 * The snake of Fig. 20: the unit's first leg meets the input in a cup, its second leg is the
 * output. `bcast[a](η_a) ; bcast[a @last](cup_a) = id([a])`, `Σ_i x_i δ_ik = x_k`.
 */
export const snake = rule(
  'compact/snake',
  P.seq(P.broadcast(P.unit(a), [a], [0], [0]), P.broadcast(P.cup(a), [a], [2], [0])),
  P.id([[a]]),
  { source: 'Fig. 20' },
)

/**
 * The mirror image of the snake (Fig. 20): the unit's second leg meets the input, its first leg
 * is the output. `bcast[a @last](η_a) ; bcast[a](cup_a) = id([a])`.
 */
export const snakeMirrored = rule(
  'compact/snake-mirrored',
  P.seq(P.broadcast(P.unit(a), [a], [0], [2]), P.broadcast(P.cup(a), [a], [0], [0])),
  P.id([[a]]),
  { source: 'Fig. 20' },
)

/**
 * The snake of Fig. 20 on a segment `[a S]`, the other axes S passing by:
 * `bcast[a](bcast[S @last](η_a)) ; bcast[a S @last](cup_a) = id([a S])`.
 */
export const snakeBroadcast = rule(
  'compact/snake-broadcast',
  P.seq(
    P.broadcast(P.broadcast(P.unit(a), [S], [0], [2]), [a], [0], [0]),
    P.broadcast(P.cup(a), [a, S], [2], [0]),
  ),
  P.id([[a, S]]),
  { source: 'Fig. 20' },
)

/**
 * The mirrored snake of Fig. 20 on a segment `[a S]`, the other axes S passing by:
 * `bcast[a S @out(2)](η_a) ; bcast[a](bcast[S @in(2)](cup_a)) = id([a S])`.
 */
export const snakeMirroredBroadcast = rule(
  'compact/snake-mirrored-broadcast',
  P.seq(
    P.broadcast(P.unit(a), [a, S], [0], [2]),
    P.broadcast(P.broadcast(P.cup(a), [S], [2], [0]), [a], [0], [0]),
  ),
  P.id([[a, S]]),
  { source: 'Fig. 20' },
)

/**
 * The associated transpose is an involution: `(fᵀ)ᵀ = f` for a linear `f : [a] -> [b]` (section
 * 2.4.3, Fig. 20: transposing the associated `R^{a x b}` tensor twice). One-way: the right side
 * forgets the wires that were bent. Unsound for a nonlinear f (see laws/compact.test.ts).
 */
export const transposeInvolution = rule(
  'compact/transpose-involution',
  transposePattern(transposePattern(f, a, b), b, a),
  f,
  {
    source: 'section 2.4.3, Fig. 20',
    oneWay: true,
    when: [linear('f'), typed('f', [[a]], [[b]])],
  },
)

/**
 * The transpose of a composition is the composition of the transposes, reversed:
 * `(f ; g)ᵀ = gᵀ ; fᵀ` for linear `f : [a] -> [B]` and `g : [B] -> [c]` (section 2.4.3, Fig. 20;
 * the reverse derivative of section 3.6 is built this way). The right side is built by
 * `associatedTranspose` (so B may have any axes); one-way.
 */
export const transposeSeq = rule(
  'compact/transpose-seq',
  transposePattern(P.seq(f, g), a, c),
  v.build('?gᵀ ; ?fᵀ', (bs) =>
    seq(
      associatedTranspose(bs.get('g')?.value as Term),
      associatedTranspose(bs.get('f')?.value as Term),
    ),
  ),
  {
    source: 'section 2.4.3, Fig. 20',
    oneWay: true,
    when: [linear('f'), linear('g'), typed('f', [[a]], [[B]]), typed('g', [[B]], [[c]])],
  },
)

/** The compact laws, in catalogue order. */
export const compactRules: ReadonlyArray<Rule> = Object.freeze([
  snake,
  snakeMirrored,
  snakeBroadcast,
  snakeMirroredBroadcast,
  transposeInvolution,
  transposeSeq,
])
