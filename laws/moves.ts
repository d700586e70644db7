/**
 * Instances of the laws that move entries without changing them (views, permutations, the
 * position of broadcast axes), for `checkLaw`'s `instances`: the pattern-walking generator cannot
 * draw two shapes of one size, nor an einsum that only permutes. Shared by laws/linear,
 * laws/elementwise and laws/broadcast.
 */
import fc from 'fast-check'
import {
  type Dim,
  type Term,
  broadcast,
  constDim,
  dim,
  dimProduct,
  einsumOf,
  seq,
  view,
} from '../src/index.js'
import { unary } from '../src/core/primitives.js'
import { termArb } from '../src/testing/arbitraries.js'

/** Scalar maps defined on every real input (log and sqrt are not). */
const OPS = ['relu', 'gelu', 'exp', 'tanh', 'sigmoid'] as const

const ATOMS = ['a', 'b', 'c'] as const

/** The atoms of a shape: 1 to 3 distinct dims. */
const atomsArb = fc
  .shuffledSubarray([...ATOMS], { minLength: 1, maxLength: 3 })
  .map((xs) => xs.map((x) => dim(x)))

/** A grouping of atoms into consecutive tandem axes, with 1-length axes mixed in. */
const groupingArb = (atoms: ReadonlyArray<Dim>): fc.Arbitrary<Dim[]> =>
  fc
    .tuple(
      fc.array(fc.boolean(), { minLength: atoms.length, maxLength: atoms.length }),
      fc.integer({ min: -1, max: atoms.length }),
    )
    .map(([cuts, one]) => {
      const out: Dim[] = []
      let group: Dim[] = []
      atoms.forEach((d, i) => {
        group.push(d)
        if (cuts[i] === true || i === atoms.length - 1) {
          out.push(group.length === 1 ? (group[0] as Dim) : dimProduct(...group))
          group = []
        }
      })
      if (one >= 0) out.splice(Math.min(one, out.length), 0, constDim(1))
      return out
    })

/** Three shapes of one size: S, T, U (groupings of the same atoms). */
export const sameSizeShapes = atomsArb.chain((atoms) =>
  fc.tuple(groupingArb(atoms), groupingArb(atoms), groupingArb(atoms)),
)

/** A unary scalar primitive broadcast over a shape (`unary(op, S)`). */
export const elementwiseArb = (shape: ReadonlyArray<Dim>): fc.Arbitrary<Term> =>
  fc.constantFrom(...OPS).map((op) => unary(op, shape))

/** A permutation einsum of a shape: its labels in a shuffled order. */
export const permutationArb = (shape: ReadonlyArray<Dim>): fc.Arbitrary<Term> => {
  const labels = shape.map((_, j) => `l${j}`)
  const dims = Object.fromEntries(shape.map((d, j) => [`l${j}`, d] as const))
  return fc
    .shuffledSubarray(labels, { minLength: labels.length, maxLength: labels.length })
    .map((out) => einsumOf({ inputs: [labels], output: out }, { dims }))
}

/** Shapes of 1 to 3 distinct atoms, in any order. */
export const shapeArb = atomsArb

/** The permutation einsum moving the axes S from position `from` to `to` among A's axes. */
export const moveAxes = (
  A: ReadonlyArray<Dim>,
  S: ReadonlyArray<Dim>,
  from: number,
  to: number,
): Term => {
  const la = A.map((_, j) => `a${j}`)
  const ls = S.map((_, j) => `s${j}`)
  const dims = Object.fromEntries([
    ...A.map((d, j) => [`a${j}`, d] as const),
    ...S.map((d, j) => [`s${j}`, d] as const),
  ])
  const at = (p: number) => [...la.slice(0, p), ...ls, ...la.slice(p)]
  return einsumOf({ inputs: [at(from)], output: at(to) }, { dims })
}

/**
 * `π ; bcast(f, S, [i], [o]) ; π′` with f : [A] -> [B] any term of that type (depth 2), π moving
 * S from i′ to i and π′ from o to o′: the left side of `broadcast/move-axes`. `wrongTo` moves the
 * axes after f to another position than the one the right side says (a false neighbour).
 */
export const conjugatedBroadcastArb = (): fc.Arbitrary<Term> =>
  fc
    .record({
      A: fc.constantFrom([dim('a')], [dim('a'), dim('b')]),
      B: fc.constantFrom([] as Dim[], [dim('a')], [dim('c')], [dim('c'), dim('a')]),
      S: fc.constantFrom([dim('s')], [dim('s'), dim('t')]),
      picks: fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat()),
    })
    .chain(({ A, B, S, picks }) => {
      const [i, i2, o, o2] = [
        picks[0] % (A.length + 1),
        picks[1] % (A.length + 1),
        picks[2] % (B.length + 1),
        picks[3] % (B.length + 1),
      ]
      return termArb([A], { cod: [B], depth: 2 }).map((f) =>
        seq(
          moveAxes(A, S, i2, i),
          broadcast(f, S, { inputs: [i], outputs: [o] }),
          moveAxes(B, S, o, o2),
        ),
      )
    })

/** `view(S -> T) ; view(T -> U)`. */
export const viewPairArb = sameSizeShapes.map(([S, T, U]) => seq(view(S, T), view(T, U)))

/** `view(S -> S)`. */
export const selfViewArb = sameSizeShapes.map(([S]) => view(S, S))

/** `f[S] ; view(S -> T)` (forward) and `view(S -> T) ; f[T]` (backward). */
export const elementwiseViewArb = (side: 'forward' | 'backward'): fc.Arbitrary<Term> =>
  sameSizeShapes.chain(([S, T]) =>
    elementwiseArb(side === 'forward' ? S : T).map((f) =>
      side === 'forward' ? seq(f, view(S, T)) : seq(view(S, T), f),
    ),
  )

/** `f[S] ; π` (forward) and `π ; f[π(S)]` (backward). */
export const elementwisePermuteArb = (side: 'forward' | 'backward'): fc.Arbitrary<Term> =>
  shapeArb.chain((S) =>
    permutationArb(S).chain((p) =>
      elementwiseArb(side === 'forward' ? S : (p.cod[0] as Dim[])).map((f) =>
        side === 'forward' ? seq(f, p) : seq(p, f),
      ),
    ),
  )
