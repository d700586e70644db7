/**
 * The laws of concatenation (the skip connections of U-Net, paper Fig. 28: "concatenation is a
 * view over a tuple. It is linear, so can be simultaneously broadcast with other linear
 * operations"). `concat(a₁, ..., aₙ) : [a₁] × ... × [aₙ] -> [a₁ + ... + aₙ]` joins its parts end
 * to end; its transpose `split(a₁, ..., aₙ)` cuts them apart; `concat(axis, parts)` broadcasts
 * the one-axis form over the other axes. With `j = a + b` the joined axis:
 *
 *     split(S) ; concat(S) = id([ΣS])                                       split-concat
 *     concat(S) ; split(S) = id([s₁] × ... × [sₙ])                          concat-split
 *     (bcast[a](f) ⊗ bcast[b](f)) ; bcast[Y @1](concat(a, b))
 *       = bcast[X @1](concat(a, b)) ; bcast[j](f)         f : [X] -> [Y]    broadcast
 *     (bcast[a](f) ⊗ bcast[b](f)) ; concat(a, b)
 *       = bcast[X @1](concat(a, b)) ; bcast[j](f)          f : [X] -> []     broadcast-reduce
 *     (σ[a] ⊗ σ[b]) ; concat(a, b) = concat(a, b) ; σ[j]                    elementwise
 *     (bcast[X @1](concat(a, b)) ⊗ id([W])) ; bcast[j @in(0,=)](e)
 *       = (id ⊗ id ⊗ copy([W])) ; (id ⊗ swap ⊗ id)
 *         ; (bcast[a @in(0,=)](e) ⊗ bcast[b @in(0,=)](e)) ; bcast[Y @1](concat(a, b))
 *                                                     e : [X] × [W] -> [Y]  einsum
 *     (id([a]) ⊗ concat(S)) ; concat(a, ΣS) = concat(a, S)                  flatten-right
 *     (concat(S) ⊗ id([a])) ; concat(ΣS, a) = concat(S, a)                  flatten-left
 *
 * Each holds for every binding of the sizes, by the definition of concatenation by indexes:
 * `concat(x₁, ..., xₙ)[o₁ + ... + o_{i-1} + t] = x_i[t]`. The laws with a map (`broadcast`,
 * `elementwise`, `einsum`) hold for any map, linear or not: the map is applied to each index of
 * the joined axis, and concatenation only says which part an index comes from. `einsum` names the
 * case of Fig. 28's remark, an einsum over the other axes whose other input (a weight) is shared
 * by every index (inner broadcasting, Fig. 14); it holds for any such map. All are one-way
 * (left to right): the right sides compute the joined axis `ΣS` (a `dimSum`) that no pattern
 * matches. laws/concat.test.ts checks each numerically and refutes false neighbours (the parts
 * in the wrong order).
 *
 * @packageDocumentation
 */
import { type Dim, dimEquals, dimSum } from '../../core/dim.js'
import type { Bindings } from '../match.js'
import { type Computed, type Meta, P, type Pattern, v } from '../pattern.js'
import { type Rule, holds, rule, typed } from '../rule.js'

const a = v.dim('a')
const b = v.dim('b')
const j = v.dim('j')
const S = v.shape('S')
const X = v.shape('X')
const Y = v.shape('Y')
const W = v.shape('W')
const f = v.term('f')
const e = v.term('e')

const dimOf = (bs: Bindings, name: string): Dim => bs.get(name)?.value as Dim

/** `?a + ?b`, the joined axis of two parts. */
const joined = v.build('(?a+?b)', (bs) => dimSum(dimOf(bs, 'a'), dimOf(bs, 'b')))

/** `concat(a, b)` on axis 0 of parts `[a T]`, `[b T]`: broadcast over T, placed after the axis. */
const concatOver = (T: Meta | Computed): Pattern => P.broadcast(P.concat([a, b]), [T], [1, 1], [1])

/**
 * Splitting then joining again is the identity (the two are inverse, Fig. 28):
 * `split(S) ; concat(S) = id([ΣS])`.
 */
export const splitConcat = rule(
  'concat/split-concat',
  P.seq(v.as('s', P.split([S])), P.concat([S])),
  P.id(v.dom('s')),
  { source: 'Fig. 28', oneWay: true },
)

/**
 * Joining then splitting again is the identity on the parts:
 * `concat(S) ; split(S) = id([s₁] × ... × [sₙ])`.
 */
export const concatSplit = rule(
  'concat/concat-split',
  P.seq(v.as('c', P.concat([S])), P.split([S])),
  P.id(v.dom('c')),
  { source: 'Fig. 28', oneWay: true },
)

/**
 * A map broadcast over the joined axis commutes with the concatenation (Fig. 13, 28): applying
 * `f : [X] -> [Y]` to every index of both parts and joining is joining and applying f to every
 * index of the joined axis, `(bcast[a](f) ⊗ bcast[b](f)) ; bcast[Y @1](concat(a, b)) =
 * bcast[X @1](concat(a, b)) ; bcast[(a+b)](f)`. Any f, linear or not.
 */
export const concatBroadcast = rule(
  'concat/broadcast',
  P.seq(P.par(P.broadcast(f, [a], [0], [0]), P.broadcast(f, [b], [0], [0])), concatOver(Y)),
  P.seq(concatOver(v.segment('dom', 'f', 0)), P.broadcast(f, [joined], [0], [0])),
  { source: 'Fig. 13, 28', oneWay: true, when: [typed('f', [[X]], [[Y]])] },
)

/**
 * {@link concatBroadcast} for a map to a scalar, `f : [X] -> []` with X not empty (a reduction:
 * rows pooled, then joined): `(bcast[a](f) ⊗ bcast[b](f)) ; concat(a, b) = bcast[X @1](concat(a,
 * b)) ; bcast[(a+b)](f)`. Any such f.
 */
export const concatBroadcastReduce = rule(
  'concat/broadcast-reduce',
  P.seq(P.par(P.broadcast(f, [a], [0], [0]), P.broadcast(f, [b], [0], [0])), P.concat([a, b])),
  P.seq(concatOver(v.segment('dom', 'f', 0)), P.broadcast(f, [joined], [0], [0])),
  {
    source: 'Fig. 13, 28',
    oneWay: true,
    when: [
      typed('f', [[X]], [[]]),
      holds('?f reads at least one axis', (bs) => {
        const t = bs.get('f')?.value as { readonly dom: ReadonlyArray<ReadonlyArray<unknown>> }
        return (t.dom[0]?.length ?? 0) > 0
      }),
    ],
  },
)

/**
 * An element-wise map commutes with concatenation (Fig. 15, 28): `(σ[a] ⊗ σ[b]) ; concat(a, b)
 * = concat(a, b) ; σ[(a+b)]`, σ a scalar function (any composite `[] -> []`).
 */
export const concatElementwise = rule(
  'concat/elementwise',
  P.seq(P.par(P.broadcast(f, [a], [0], [0]), P.broadcast(f, [b], [0], [0])), P.concat([a, b])),
  P.seq(P.concat([a, b]), P.broadcast(f, [joined], [0], [0])),
  { source: 'Fig. 15, 28', oneWay: true, when: [typed('f', [[]], [[]])] },
)

/**
 * An einsum over the other axes, with a weight shared by every index of the joined axis (inner
 * broadcasting, Fig. 14), commutes with the concatenation (Fig. 28's remark: concatenation
 * broadcasts with linear operations): applying `e : [X] × [W] -> [Y]` to the joined tensor is
 * applying it to each part, the weight copied, then joining:
 * `(bcast[X @1](concat(a, b)) ⊗ id([W])) ; bcast[(a+b) @in(0,=)](e) = (id ⊗ id ⊗ copy([W])) ;
 * (id ⊗ swap ⊗ id) ; (bcast[a @in(0,=)](e) ⊗ bcast[b @in(0,=)](e)) ; bcast[Y @1](concat(a, b))`.
 * It holds for any such map (not only einsums).
 */
export const concatEinsum = rule(
  'concat/einsum',
  P.seq(P.par(concatOver(X), P.id([[W]])), P.broadcast(e, [j], [0, 'shared'], [0])),
  P.seq(
    P.par(P.id([[a, X]]), P.id([[b, X]]), P.copy([[W]])),
    P.par(P.id([[a, X]]), P.swap([[b, X]], [[W]]), P.id([[W]])),
    P.par(P.broadcast(e, [a], [0, 'shared'], [0]), P.broadcast(e, [b], [0, 'shared'], [0])),
    concatOver(v.segment('cod', 'e', 0)),
  ),
  {
    source: 'Fig. 14, 28',
    oneWay: true,
    when: [
      typed('e', [[X], [W]], [[Y]]),
      holds('?j is ?a + ?b', (bs) =>
        dimEquals(dimOf(bs, 'j'), dimSum(dimOf(bs, 'a'), dimOf(bs, 'b'))),
      ),
    ],
  },
)

/**
 * A concatenation of a concatenation flattens (sums are associative):
 * `(id([a]) ⊗ concat(S)) ; concat(a, ΣS) = concat(a, S)`.
 */
export const flattenRight = rule(
  'concat/flatten-right',
  P.seq(P.par(P.id([[a]]), v.as('c', P.concat([S]))), P.concat([a, v.segment('cod', 'c', 0)])),
  P.concat([a, S]),
  { source: 'Fig. 28', oneWay: true },
)

/** The mirror of {@link flattenRight}: `(concat(S) ⊗ id([a])) ; concat(ΣS, a) = concat(S, a)`. */
export const flattenLeft = rule(
  'concat/flatten-left',
  P.seq(P.par(v.as('c', P.concat([S])), P.id([[a]])), P.concat([v.segment('cod', 'c', 0), a])),
  P.concat([S, a]),
  { source: 'Fig. 28', oneWay: true },
)

/** The concatenation laws, in catalogue order. */
export const concatRules: ReadonlyArray<Rule> = Object.freeze([
  splitConcat,
  concatSplit,
  concatBroadcast,
  concatBroadcastReduce,
  concatElementwise,
  concatEinsum,
  flattenRight,
  flattenLeft,
])
