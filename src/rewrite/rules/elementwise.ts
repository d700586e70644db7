/**
 * The laws of element-wise maps (paper section 2.3.3, Fig. 15): a scalar function `f : [] -> []`
 * broadcast over a shape `S` applies f to every entry, so consecutive element-wise maps fuse,
 * and an element-wise map commutes with maps that only move entries: transposes, indexes, and
 * zero padding when f(0) = 0.
 *
 *     f[S] ; g[S] = (f ; g)[S]                                   fusion
 *     f[S T] ; transpose = transpose ; f[T S]                    moving axes
 *     f[a S] ; |n⟩_a = |n⟩_a ; f[S]                              an index
 *     f[S] ; view(S -> T) = view(S -> T) ; f[T]                  a view
 *     f[S] ; π = π ; f[π(S)]          π a permutation einsum     a permutation
 *     σ[a] ; pad = pad ; σ[pad(a)]          when σ(0) = 0        zero padding
 *
 * `f[S]` is `bcast(f, S, [0], [0])`, the form `unary(op, S)` builds. f and g are any maps
 * `[] -> []` (primitives or composites of them); for padding σ is a unary primitive, so that
 * σ(0) = 0 can be read off its name.
 *
 * @packageDocumentation
 */
import type { ScalarOp, Term } from '../../core/term.js'
import { type Pattern, P, v } from '../pattern.js'
import { type Rule, holds, rule, typed } from '../rule.js'

const f = v.term('f')
const g = v.term('g')
const S = v.shape('S')
const T = v.shape('T')
const a = v.dim('a')

/** `f : [] -> []`, a scalar function (a primitive, or any composite of scalars). */
const scalarMap = (name: string) => typed(name, [[]], [[]])

/** `σ[S]`: a scalar function broadcast over a shape (Fig. 15). */
const elementwise = (s: Pattern, shape: Parameters<typeof P.broadcast>[1]): Pattern =>
  P.broadcast(s, shape, [0], [0])

/**
 * Consecutive element-wise maps fuse (Fig. 15: each is its scalar function on every entry):
 * `f[S] ; g[S] = (f ; g)[S]` for `f, g : [] -> []`. Broadcast functoriality (`broadcast/seq`)
 * specialised to scalar functions, stated on its own because it is two-way: the axes have one
 * place, so nothing is forgotten. Left to right it fuses any number of maps, one at a time.
 * Order matters: relu then exp is not exp then relu (laws/elementwise.test.ts).
 */
export const elementwiseFusion = rule(
  'elementwise/fusion',
  P.seq(elementwise(f, S), elementwise(g, S)),
  elementwise(P.seq(f, g), S),
  { source: 'Fig. 15', when: [scalarMap('f'), scalarMap('g')] },
)

/**
 * An element-wise map commutes with moving axes: `f[S T] ; move = move ; f[T S]`, where the
 * move of `S` past `T` is the broadcast identity `bcast(id([T]), S, [0], [1])` (a transpose).
 */
export const elementwiseTranspose = rule(
  'elementwise/transpose',
  P.seq(elementwise(f, [S, T]), P.broadcast(P.id([[T]]), S, [0], [1])),
  P.seq(P.broadcast(P.id([[T]]), S, [0], [1]), elementwise(f, [T, S])),
  { source: 'Fig. 15', when: [scalarMap('f')] },
)

/**
 * An element-wise map commutes with an index of its first axis (Fig. 11, 15):
 * `f[a S] ; |n⟩_a = |n⟩_a ; f[S]`, the ket broadcast over `S`.
 */
export const elementwiseIndex = rule(
  'elementwise/index',
  P.seq(elementwise(f, [a, S]), P.broadcast(P.index(a, v.value('n')), S, [1], [0])),
  P.seq(P.broadcast(P.index(a, v.value('n')), S, [1], [0]), elementwise(f, S)),
  { source: 'Fig. 11, 15', when: [scalarMap('f')] },
)

/** {@link elementwiseIndex} on a vector: `f[a] ; |n⟩_a = |n⟩_a ; f`. */
export const elementwiseIndexVector = rule(
  'elementwise/index-vector',
  P.seq(elementwise(f, [a]), P.index(a, v.value('n'))),
  P.seq(P.index(a, v.value('n')), f),
  { source: 'Fig. 11, 15', when: [scalarMap('f')] },
)

/**
 * An element-wise map commutes with a view (Fig. 11, 15: a reshape only regroups the entries):
 * `f[S] ; view(S -> T) = view(S -> T) ; f[T]`.
 */
export const elementwiseView = rule(
  'elementwise/view',
  P.seq(elementwise(f, S), P.view([S], [T])),
  P.seq(P.view([S], [T]), elementwise(f, T)),
  { source: 'Fig. 11, 15', when: [scalarMap('f')] },
)

const permutation = v.as(
  'e',
  P.node({ kind: 'einsum', inputs: v.value('I'), output: v.value('O'), dims: v.value('D') }),
)

/** Whether an einsum only permutes the axes of its one input (no diagonal, sum or spread). */
export const isPermutationEinsum = (t: Term): boolean => {
  if (t.kind !== 'einsum' || t.inputs.length !== 1) return false
  const input = t.inputs[0] as ReadonlyArray<string>
  const out = t.output
  return (
    new Set(input).size === input.length &&
    out.length === input.length &&
    new Set(out).size === out.length &&
    out.every((l) => input.includes(l))
  )
}

/**
 * An element-wise map commutes with any permutation of the axes (Fig. 15), written as an einsum
 * of one input whose output lists the same labels in another order: `f[S] ; π = π ; f[π(S)]`.
 * Not for einsums that sum, take a diagonal or spread: `exp` then a sum is not a sum then `exp`
 * (laws/elementwise.test.ts).
 */
export const elementwisePermute = rule(
  'elementwise/permute',
  P.seq(elementwise(f, [v.segment('dom', 'e', 0)]), permutation),
  P.seq(permutation, elementwise(f, [v.segment('cod', 'e', 0)])),
  {
    source: 'Fig. 15',
    when: [
      scalarMap('f'),
      holds('?e only permutes the axes of its input', (bs) =>
        isPermutationEinsum(bs.get('e')?.value as Term),
      ),
    ],
  },
)

/** A unary scalar primitive σ, its operation and factor bound to `op` and `k`. */
const sigma = P.scalar(v.value('op'), v.value('k'))

/** The scalar functions with σ(0) = 0 (checked numerically by the law contract). */
const ZERO_TO_ZERO: ReadonlySet<unknown> = new Set<ScalarOp>([
  'relu',
  'gelu',
  'tanh',
  'sqrt',
  'scale',
])

/** σ(0) = 0: relu, gelu, tanh, sqrt and scalings; not exp, sigmoid, log or reciprocal. */
const fixesZero = holds('σ(0) = 0', (bs) => ZERO_TO_ZERO.has(bs.get('op')?.value))

const padding: Pattern = v.as(
  'pad',
  P.node({ kind: 'pad', axis: a, before: v.value('before'), after: v.value('after') }),
)

/**
 * An element-wise map commutes with zero padding when it maps 0 to 0:
 * `σ[a] ; pad(a) = pad(a) ; σ[pad(a)]`. Unsound otherwise (exp pads with ones: see
 * laws/elementwise.test.ts).
 */
export const elementwisePad = rule(
  'elementwise/pad',
  P.seq(elementwise(sigma, [a]), padding),
  P.seq(padding, elementwise(sigma, [v.segment('cod', 'pad', 0)])),
  { source: 'Fig. 15', when: [fixesZero] },
)

/** The element-wise laws, in catalogue order. */
export const elementwiseRules: ReadonlyArray<Rule> = Object.freeze([
  elementwiseFusion,
  elementwiseTranspose,
  elementwiseIndex,
  elementwiseIndexVector,
  elementwisePad,
  elementwiseView,
  elementwisePermute,
])
