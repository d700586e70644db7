/**
 * The laws of broadcasting (paper section 2.3.2, Fig. 12-14, and the indexes of 2.3.1, Fig. 10,
 * 11). Broadcasting over axes `A` is a functor: it preserves composition, stacking and the
 * structural maps; two broadcasts nest into one over the concatenated axes; a shared input is
 * a broadcast input spread along the axes first; and an index of a broadcast axis reaches
 * through the broadcast function to its inputs.
 *
 *     bcast(f, A, I, O) ; bcast(g, A, O, O') = bcast(f ; g, A, I, O')           Fig. 13
 *     bcast(f, A, I₁, O₁) ⊗ bcast(g, A, I₂, O₂) = bcast(f ⊗ g, A, I₁I₂, O₁O₂)   Fig. 13
 *     bcast(id, A, I, I) = id          (likewise copy, drop, swap)             Fig. 13
 *     bcast(bcast(f, B, I, O), A, I, O) = bcast(f, A B, I, O)                  Fig. 13
 *     bcast(f, A, [shared], O) = spread_A ; bcast(f, A, [0], O)                Fig. 14
 *     bcast(f, [a], [0], [0]) ; |n⟩_a = |n⟩_a ; f                              Fig. 11, 13
 *     |i⟩_a ; |j⟩_b = |j⟩_b ; |i⟩_a                                            Fig. 11
 *     π ; bcast(f, A, [i], [o]) ; π′ = bcast(f, A, [i′], [o′])                 Fig. 13
 *
 * Placements follow `broadcast`: `I` lists where the axes go in each input segment of the body
 * (or `'shared'`), `O` in each output segment (never shared).
 *
 * @packageDocumentation
 */
import { broadcast } from '../../core/construct.js'
import type { Term } from '../../core/term.js'
import type { Shape } from '../../core/types.js'
import { canonicalEinsum } from '../../linear/canonical.js'
import { einsumOf } from '../../linear/einsum.js'
import type { Bindings } from '../match.js'
import { P, v } from '../pattern.js'
import { type Rule, holds, rule, typed } from '../rule.js'

const f = v.term('f')
const g = v.term('g')
const A = v.shape('A')
const B = v.shape('B')
const C = v.shape('C')
const I = v.value('I')
const O = v.value('O')
const O2 = v.value('O2')
const a = v.dim('a')
const b = v.dim('b')

const bound = <T>(bs: Bindings, name: string): T => bs.get(name)?.value as T
const termOf = (bs: Bindings, name: string): Term => bound<Term>(bs, name)
const lengthOf = (bs: Bindings, name: string): number =>
  bound<ReadonlyArray<unknown>>(bs, name).length

/**
 * Broadcasting preserves composition (Fig. 13: the broadcast of `f ; g` at index i is f then g
 * on the i-th slices): `bcast(f, A, I, O) ; bcast(g, A, O, O') = bcast(f ; g, A, I, O')`. The
 * second broadcast must take the axes exactly where the first put them (`O`), so no input of g
 * is shared. One-way: the right side forgets where the axes sat between f and g (see
 * {@link broadcastSeqSplit}). Shrinks: one broadcast fewer.
 */
export const broadcastSeq = rule(
  'broadcast/seq',
  P.seq(P.broadcast(f, A, I, O), P.broadcast(g, A, O, O2)),
  P.broadcast(P.seq(f, g), A, I, O2),
  { source: 'Fig. 13', oneWay: true },
)

/**
 * {@link broadcastSeq} right to left: `bcast(f ; g, A, I, O') = bcast(f, A, I, 0…0) ;
 * bcast(g, A, 0…0, O')`, the axes leading every segment between f and g (where the normal form
 * puts them when it pushes broadcasts down to primitives).
 */
export const broadcastSeqSplit = rule(
  'broadcast/seq-split',
  P.broadcast(P.seq(f, g), A, I, O2),
  P.seq(
    P.broadcast(
      f,
      A,
      I,
      v.build('the axes first in every output of ?f', (bs) => termOf(bs, 'f').cod.map(() => 0)),
    ),
    P.broadcast(
      g,
      A,
      v.build('the axes first in every input of ?g', (bs) => termOf(bs, 'g').dom.map(() => 0)),
      O2,
    ),
  ),
  { source: 'Fig. 13', oneWay: true },
)

/**
 * Broadcasting preserves stacking (Fig. 13 read segment by segment):
 * `bcast(f, A, I₁, O₁) ⊗ bcast(g, A, I₂, O₂) = bcast(f ⊗ g, A, I₁ ++ I₂, O₁ ++ O₂)`. Right to
 * left, the concatenations split where f's segments end (found by backtracking).
 */
export const broadcastPar = rule(
  'broadcast/par',
  P.par(P.broadcast(f, A, v.value('I1'), v.value('O1')), P.broadcast(g, A, v.value('I2'), O2)),
  P.broadcast(P.par(f, g), A, v.concat(v.value('I1'), v.value('I2')), v.concat(v.value('O1'), O2)),
  {
    source: 'Fig. 13',
    when: [
      holds(
        'the placements split where the segments of ?f end',
        (bs) =>
          lengthOf(bs, 'I1') === termOf(bs, 'f').dom.length &&
          lengthOf(bs, 'O1') === termOf(bs, 'f').cod.length,
      ),
    ],
  },
)

/**
 * The broadcast of an identity that leaves its axes in place is an identity (Fig. 13: every
 * slice is passed on unchanged): `bcast(id(T), A, I, I) = id`. One-way: the identity forgets T,
 * A and I. (With a shared input or the axes moved, it is a spread or a transpose instead.)
 */
export const broadcastId = rule(
  'broadcast/id',
  v.as('b', P.broadcast(P.id(v.type('T')), A, I, I)),
  P.id(v.dom('b')),
  { source: 'Fig. 13', oneWay: true },
)

/** The broadcast of a copy that leaves its axes in place is a copy: `bcast(Δ, A, I, I I) = Δ`. */
export const broadcastCopy = rule(
  'broadcast/copy',
  v.as('b', P.broadcast(P.copy(v.type('T')), A, I, v.concat(I, I))),
  P.copy(v.dom('b')),
  { source: 'Fig. 13', oneWay: true },
)

/** The broadcast of a delete is a delete, whatever is shared: `bcast(drop, A, I, []) = drop`. */
export const broadcastDrop = rule(
  'broadcast/drop',
  v.as('b', P.broadcast(P.drop(v.type('T')), A, I, [])),
  P.drop(v.dom('b')),
  { source: 'Fig. 13', oneWay: true },
)

/**
 * The broadcast of a swap of two tensors whose axes travel with them is a swap:
 * `bcast(swap([L], [R]), A, [i, j], [j, i]) = swap`.
 */
export const broadcastSwap = rule(
  'broadcast/swap',
  v.as(
    'b',
    P.broadcast(
      P.swap([[v.shape('L')]], [[v.shape('R')]]),
      A,
      [v.value('i'), v.value('j')],
      [v.value('j'), v.value('i')],
    ),
  ),
  P.swap([[v.segment('dom', 'b', 0)]], [[v.segment('dom', 'b', 1)]]),
  { source: 'Fig. 13', oneWay: true },
)

/**
 * Nested broadcasts merge (Fig. 13 applied twice: index a of the outer, then b of the inner, is
 * index (a, b) of one broadcast over `A B`):
 * `bcast(bcast(f, B, I, O), A, I, O) = bcast(f, A ++ B, I, O)`.
 *
 * Sound exactly when the outer broadcast puts its axes where the inner put its own, in every
 * segment (so `A` lands just before `B`), and shares the segments the inner shares: that is what
 * the repeated `I` and `O` say. Placements need not be 0: position p of the body's segment is
 * position p of the inner broadcast's segment too. With other outer placements the two blocks
 * are not adjacent, or not in this order (refuted in laws/broadcast.test.ts). `A` and `B` are
 * not empty, so that right to left the axes split in a way that makes two real broadcasts.
 */
export const broadcastMerge = rule(
  'broadcast/merge',
  P.broadcast(P.broadcast(f, B, I, O), A, I, O),
  P.broadcast(f, [A, B], I, O),
  {
    source: 'Fig. 13',
    when: [
      holds('?A and ?B are not empty', (bs) => lengthOf(bs, 'A') > 0 && lengthOf(bs, 'B') > 0),
    ],
  },
)

/**
 * Inner versus outer broadcasting (Fig. 14): an input shared by every application equals that
 * input spread along the axes first, then broadcast like the others. The spread is the
 * broadcast identity with a shared input:
 * `bcast(f, A, [shared], O) = bcast(id, A, [shared], [0]) ; bcast(f, A, [0], O)`.
 * Right to left, a broadcast input that is a spread becomes shared (no copies are made).
 */
export const broadcastInnerOuter = rule(
  'broadcast/inner-outer',
  P.broadcast(f, A, ['shared'], O),
  P.seq(P.broadcast(P.id(v.dom('f')), A, ['shared'], [0]), P.broadcast(f, A, [0], O)),
  { source: 'Fig. 14', when: [typed('f', [[v.shape('fIn')]], v.type('fOut'))] },
)

/** f takes two segments (the generator draws it so; matching already asks it). */
const twoInputs = typed('f', [[v.shape('fIn1')], [v.shape('fIn2')]], v.type('fOut'))

/**
 * {@link broadcastInnerOuter} for a body of two inputs, the second shared (the bias of a
 * broadcast addition, Fig. 14): `bcast(f, A, [i, shared], O) =
 * bcast(id, A, [i, shared], [i, 0]) ; bcast(f, A, [i, 0], O)`. The first input is broadcast.
 */
export const broadcastInnerOuterSecond = rule(
  'broadcast/inner-outer-second',
  P.broadcast(f, A, [v.value('i'), 'shared'], O),
  P.seq(
    P.broadcast(P.id(v.dom('f')), A, [v.value('i'), 'shared'], [v.value('i'), 0]),
    P.broadcast(f, A, [v.value('i'), 0], O),
  ),
  { source: 'Fig. 14', when: [twoInputs] },
)

/**
 * {@link broadcastInnerOuter} for a body of two inputs, the first shared:
 * `bcast(f, A, [shared, j], O) = bcast(id, A, [shared, j], [0, j]) ; bcast(f, A, [0, j], O)`.
 */
export const broadcastInnerOuterFirst = rule(
  'broadcast/inner-outer-first',
  P.broadcast(f, A, ['shared', v.value('j')], O),
  P.seq(
    P.broadcast(P.id(v.dom('f')), A, ['shared', v.value('j')], [0, v.value('j')]),
    P.broadcast(f, A, [0, v.value('j')], O),
  ),
  { source: 'Fig. 14', when: [twoInputs] },
)

/** `f : [S] -> [T]`. */
const oneInOneOut = typed('f', [[v.shape('fIn')]], [[v.shape('fOut')]])

/**
 * An index of the broadcast axis reaches through the broadcast function (Fig. 13 defines the
 * broadcast by these indexes; Fig. 11 lets the other axes pass through the ket): for
 * `f : [S] -> [T]`, `bcast(f, [a], [0], [0]) ; |n⟩_a = |n⟩_a ; f`, the kets broadcast over `T`
 * and `S`. Left to right, f runs on one slice instead of all of them.
 */
export const broadcastIndexAfter = rule(
  'broadcast/index-after',
  P.seq(
    P.broadcast(f, [a], [0], [0]),
    P.broadcast(P.index(a, v.value('n')), [v.segment('cod', 'f', 0)], [1], [0]),
  ),
  P.seq(P.broadcast(P.index(a, v.value('n')), [v.segment('dom', 'f', 0)], [1], [0]), f),
  { source: 'Fig. 11, 13', when: [oneInOneOut] },
)

/**
 * Indexes on different axes commute (Fig. 11: the order of access does not change the values):
 * for `[a b]`, `|i⟩_a ; |j⟩_b = |j⟩_b ; |i⟩_a`, each ket broadcast over the other axis.
 */
export const broadcastIndexCommute = rule(
  'broadcast/index-commute',
  P.seq(P.broadcast(P.index(a, v.value('i')), [b], [1], [0]), P.index(b, v.value('j'))),
  P.seq(P.broadcast(P.index(b, v.value('j')), [a], [0], [0]), P.index(a, v.value('i'))),
  { source: 'Fig. 11' },
)

/**
 * {@link broadcastIndexCommute} on a tensor `[a b C]` whose other axes `C` pass through (Fig. 11:
 * "tensors are recursive"): `|i⟩_a ; |j⟩_b = |j⟩_b ; |i⟩_a`, each ket broadcast over the rest.
 */
export const broadcastIndexCommuteRest = rule(
  'broadcast/index-commute-rest',
  P.seq(
    P.broadcast(P.index(a, v.value('i')), [b, C], [1], [0]),
    P.broadcast(P.index(b, v.value('j')), C, [1], [0]),
  ),
  P.seq(
    P.broadcast(P.broadcast(P.index(b, v.value('j')), C, [1], [0]), [a], [0], [0]),
    P.broadcast(P.index(a, v.value('i')), C, [1], [0]),
  ),
  { source: 'Fig. 11' },
)

/** The broadcasting laws, in catalogue order. */
const einsumNode = (name: string) =>
  v.as(
    name,
    P.node({
      kind: 'einsum',
      inputs: v.value(`${name}I`),
      output: v.value(`${name}O`),
      dims: v.value(`${name}D`),
    }),
  )

/** The permutation einsum moving the axes `S` from position `from` to `to` among `A`'s axes. */
const moveAxes = (A: Shape, S: Shape, from: number, to: number): Term => {
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
 * The broadcast that `?p ; ?b ; ?q` is when `?p` and `?q` only move the broadcast axes: `?b`
 * broadcasts over S at position i of its one input and o of its one output; `?p` moves S from i′
 * to i and `?q` from o to o′ (compared as canonical einsums).
 */
const movedBroadcast = (bs: Bindings): Term | undefined => {
  const p = termOf(bs, 'p')
  const q = termOf(bs, 'q')
  const b = termOf(bs, 'b')
  if (b.kind !== 'broadcast' || b.inputs.length !== 1 || b.outputs.length !== 1) return undefined
  const i = b.inputs[0]
  const o = b.outputs[0] as number
  if (typeof i !== 'number') return undefined
  const [A, Bs] = [b.body.dom[0] as Shape, b.body.cod[0] as Shape]
  const key = (t: Term) =>
    JSON.stringify(canonicalEinsum(t), (k, x) => (k === 'poly' ? undefined : x))
  const kp = key(p)
  const kq = key(q)
  for (let i2 = 0; i2 <= A.length; i2++) {
    if (key(moveAxes(A, b.axes, i2, i)) !== kp) continue
    for (let o2 = 0; o2 <= Bs.length; o2++)
      if (key(moveAxes(Bs, b.axes, o, o2)) === kq)
        return broadcast(b.body, b.axes, { inputs: [i2], outputs: [o2] })
  }
  return undefined
}

/**
 * The axes of a broadcast may stand at any position of a segment (Fig. 13: the broadcast is
 * defined by its indexes, wherever the axes are): a broadcast over S at position i of its input
 * and o of its output, between permutations that move S from i′ to i before and from o to o′
 * after, is the broadcast at i′ and o′, `π ; bcast(f, S, [i], [o]) ; π′ = bcast(f, S, [i′],
 * [o′])`. So `transpose ; softmax over rows ; transpose` is softmax over columns. One-way (the
 * right side forgets the permutations); for one-segment broadcasts.
 */
export const broadcastMoveAxes = rule(
  'broadcast/move-axes',
  P.seq(einsumNode('p'), v.as('b', P.broadcast(f, A, I, O)), einsumNode('q')),
  v.build('?b with its axes where ?p takes them and ?q puts them', (bs) => {
    const t = movedBroadcast(bs)
    if (t === undefined) throw new Error('broadcast/move-axes: the condition was not checked')
    return t
  }),
  {
    source: 'Fig. 13',
    oneWay: true,
    when: [
      holds(
        '?p and ?q only move the axes of the one-segment broadcast ?b',
        (bs) => movedBroadcast(bs) !== undefined,
      ),
    ],
  },
)

export const broadcastRules: ReadonlyArray<Rule> = Object.freeze([
  broadcastSeq,
  broadcastSeqSplit,
  broadcastPar,
  broadcastId,
  broadcastCopy,
  broadcastDrop,
  broadcastSwap,
  broadcastMerge,
  broadcastInnerOuter,
  broadcastInnerOuterSecond,
  broadcastInnerOuterFirst,
  broadcastIndexAfter,
  broadcastIndexCommute,
  broadcastIndexCommuteRest,
  broadcastMoveAxes,
])
