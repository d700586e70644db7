/**
 * The laws of transposition (paper section 2.4.3, Fig. 20; section 3.6, Fig. 35-37; DESIGN.md
 * section 6). There is no transpose term: the associated transpose of a linear `f : [A] -> [B]`
 * is the snake built from the unit and the cup (Fig. 20, `associatedTranspose`),
 *
 *     fᵀ = bcast[B @last](η_A) ; bcast[A](bcast[B @last](f)) ; bcast[A](cup_B)
 *
 * and these laws equate it with the direct transpose that `transpose` (`splitLinear`) computes:
 *
 *     snake(f) = transpose(f)                    f linear                  transpose/snake
 *     f = transpose(transpose(f))                f linear                  transpose/involution
 *     snake(f ; g) = gᵀ ; fᵀ                     f, g linear               transpose/seq
 *     snake(f) ⊗ snake(g) = (f ⊗ g)ᵀ             f, g linear               transpose/par
 *     snake(Δ ; π₁) ⊗ snake(Δ ; π₂) ; add = add  copy transposes to add    transpose/copy
 *     snake(|i⟩_a) = ⟨i|_a                       index to one-hot          transpose/index
 *     snake(pad) = crop                                                    transpose/pad
 *     snake(convTensor) = convTensorᵀ            Fig. 26                   transpose/conv
 *     snake(view(a b -> c)) = view(c -> a b)     and back                  transpose/view(-split)
 *     snake(einsum(I -> O)) = einsum(O -> I)                               transpose/einsum(-matrix)
 *
 * and the step of Fig. 36-37 that turns the forward derivative broadcast over the unit (the
 * Jacobian, one row per input degree of freedom) into the reverse derivative: for M linear in its
 * last input `[a]`, its other inputs P primal and shared,
 *
 *     (id(P) ⊗ η_a) ; bcast[a @in(shared…, 0)](M) = Mᵀ at P          transpose/unit-broadcast
 *     (id(P) ⊗ η_A) ; bcast[A @in(shared…, 0)](M) = Mᵀ at P          transpose/unit-broadcast-shape
 *                                       (A any shape, η_A the einsum -> L L)
 *     η_a ; bcast[a](M) = Mᵀ                        (no P)           transpose/unit-broadcast-linear
 *
 * Every law holds only for linear maps; laws/transpose.test.ts refutes the plausible wrong ones.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { id, par, seq } from '../../core/construct.js'
import { type Node as DagNode, type Wire, fromDagNested, graphDag } from '../../core/dag.js'
import { type Dim, dimKey } from '../../core/dim.js'
import { TermError, attempt } from '../../core/errors.js'
import type { Term } from '../../core/term.js'
import { splitLinear, transpose } from '../../derive/transpose.js'
import { einsumOf } from '../../linear/einsum.js'
import type { Bindings } from '../match.js'
import { type Meta, type Pattern, P, v } from '../pattern.js'
import { type Rule, holds, linear, rule, typed } from '../rule.js'

const f = v.term('f')
const g = v.term('g')
const m = v.term('m')
const a = v.dim('a')
const b = v.dim('b')
const c = v.dim('c')
const d = v.dim('d')
const B = v.shape('B')

const termOf = (bs: Bindings, name: string): Term => bs.get(name)?.value as Term

const labels = (n: number): string[] => Array.from({ length: n }, (_, i) => `l${i}`)

const labelDims = (ds: ReadonlyArray<Dim | Meta>): Record<string, Pattern> =>
  Object.fromEntries(ds.map((x, i) => [`l${i}`, x]))

/** The unit of a shape `η_A : [] -> [A A]`, as `shapeUnit` builds it. */
const unitOf = (A: ReadonlyArray<Dim | Meta>): Pattern =>
  A.length === 1
    ? P.unit(A[0] as Dim | Meta)
    : P.node({
        kind: 'einsum',
        inputs: [[]],
        output: [...labels(A.length), ...labels(A.length)],
        dims: labelDims(A),
      })

/** The cup of a shape `[B B] -> []`, as `shapeCup` builds it. */
const cupOf = (B: ReadonlyArray<Dim | Meta>): Pattern =>
  B.length === 1
    ? P.cup(B[0] as Dim | Meta)
    : P.node({
        kind: 'einsum',
        inputs: [[...labels(B.length), ...labels(B.length)]],
        output: [],
        dims: labelDims(B),
      })

const over = (
  body: Pattern,
  axes: ReadonlyArray<Dim | Meta>,
  inputs: ReadonlyArray<number>,
  outputs: ReadonlyArray<number>,
): Pattern => (axes.length === 0 ? body : P.broadcast(body, axes, inputs, outputs))

/**
 * The pattern of the associated transpose (Fig. 20) of `f : [A] -> [B]`, exactly as
 * `associatedTranspose` builds it for the shapes `A` and `B` (lists of dims or dim metavariables):
 * `bcast[B @last](η_A) ; bcast[A](bcast[B @last](f)) ; bcast[A](cup_B)`, the broadcasts over no
 * axes and the unit or cup of the scalar shape left out.
 *
 * @example
 * ```ts
 * import { snakePattern, associatedTranspose, pad, matchFirst, showBindings, v } from 'neural-circuit-diagrams'
 * const t = associatedTranspose(pad('x', 1, 2))
 * showBindings(matchFirst(snakePattern(v.term('f'), [v.dim('a')], [v.dim('b')]), t)!)
 * // '?a = x, ?b = pad(x,1,2), ?f = pad(x,1,2)'
 * ```
 */
export const snakePattern = (
  f: Pattern,
  A: ReadonlyArray<Dim | Meta>,
  B: ReadonlyArray<Dim | Meta>,
): Pattern => {
  const parts = [
    ...(A.length === 0 ? [] : [over(unitOf(A), B, [0], [2 * A.length])]),
    over(over(f, B, [A.length], [B.length]), A, [0], [0]),
    ...(B.length === 0 ? [] : [over(cupOf(B), A, [0], [0])]),
  ]
  return parts.length === 1 ? (parts[0] as Pattern) : P.seq(...parts)
}

/** Whether `transpose` accepts the term (linear, every output depending on the inputs). */
export const hasTranspose = (t: Term): boolean => E.isRight(attempt(() => transpose(t)))

/**
 * `transpose(?name)` exists. `transpose` refuses some linear terms: those with an output that
 * `splitLinear` takes for a constant (a zero map behind the empty tuple, `id(()) ; zero(A)`).
 */
const transposable = (name: string) =>
  holds(`transpose(?${name}) exists`, (bs) => hasTranspose(termOf(bs, name)))

/**
 * The associated transpose is the transpose (Fig. 20): for a linear `f : [a] -> [b]`, the snake
 * `bcast[b @last](η_a) ; bcast[a](bcast[b @last](f)) ; bcast[a](cup_b)` equals `transpose(f)`,
 * the transpose computed by structure (einsum to einsum, copy to add, index to one-hot, …).
 * One-way: the right side is built.
 */
export const snake = rule(
  'transpose/snake',
  snakePattern(f, [a], [b]),
  v.build('transpose(?f)', (bs) => transpose(termOf(bs, 'f'))),
  {
    when: [linear('f'), typed('f', [[a]], [[b]]), transposable('f')],
    source: 'Fig. 20, section 2.4.3',
    oneWay: true,
  },
)

/**
 * Transposition is an involution on linear maps (section 2.4.3, Fig. 20: transposing the
 * associated tensor twice): `f = (fᵀ)ᵀ` for a linear f of any type. Stated from f (a transpose is
 * not a term to match); one-way. Unsound for an affine f (a biased layer has no transpose).
 */
export const involution = rule(
  'transpose/involution',
  f,
  v.build('transpose(transpose(?f))', (bs) => transpose(transpose(termOf(bs, 'f')))),
  {
    when: [
      linear('f'),
      holds(
        'transpose(?f) and transpose(transpose(?f)) exist',
        (bs) => hasTranspose(termOf(bs, 'f')) && hasTranspose(transpose(termOf(bs, 'f'))),
      ),
    ],
    source: 'section 2.4.3, Fig. 20',
    oneWay: true,
  },
)

/**
 * The transpose of a composition is the composition of the transposes, reversed (Fig. 20): the
 * snake of `f ; g` (f : [a] -> [B], g : [B] -> [c] linear) is `gᵀ ; fᵀ`. One-way.
 */
export const ofSeq = rule(
  'transpose/seq',
  snakePattern(P.seq(f, g), [a], [c]),
  v.build('transpose(?g) ; transpose(?f)', (bs) =>
    seq(transpose(termOf(bs, 'g')), transpose(termOf(bs, 'f'))),
  ),
  {
    when: [
      linear('f'),
      linear('g'),
      typed('f', [[a]], [[B]]),
      typed('g', [[B]], [[c]]),
      transposable('f'),
      transposable('g'),
    ],
    source: 'Fig. 20, section 2.4.3',
    oneWay: true,
  },
)

/**
 * The transpose of a parallel composition is the parallel composition of the transposes
 * (Fig. 20, wire by wire): `snake(f) ⊗ snake(g) = (f ⊗ g)ᵀ` for linear `f : [a] -> [b]`,
 * `g : [c] -> [d]`. One-way.
 */
export const ofPar = rule(
  'transpose/par',
  P.par(snakePattern(f, [a], [b]), snakePattern(g, [c], [d])),
  v.build('transpose(?f ⊗ ?g)', (bs) => transpose(par(termOf(bs, 'f'), termOf(bs, 'g')))),
  {
    when: [
      linear('f'),
      linear('g'),
      typed('f', [[a]], [[b]]),
      typed('g', [[c]], [[d]]),
      holds('transpose(?f ⊗ ?g) exists', (bs) =>
        hasTranspose(par(termOf(bs, 'f'), termOf(bs, 'g'))),
      ),
    ],
    source: 'Fig. 20, section 2.4.3',
    oneWay: true,
  },
)

const ida = P.id([[a]])
const dropa = P.drop([[a]])
const copya = P.copy([[a]])

/**
 * Copy transposes to addition (Fig. 20; DESIGN.md section 6): bending back each output wire of
 * `Δ : [a] -> [a] × [a]` (the snakes of `Δ ; (id ⊗ drop)` and `Δ ; (drop ⊗ id)`) and adding the
 * two is addition itself, `x̄ = ȳ₁ + ȳ₂`. Two-way.
 */
export const ofCopy = rule(
  'transpose/copy',
  P.seq(
    P.par(
      snakePattern(P.seq(copya, P.par(ida, dropa)), [a], [a]),
      snakePattern(P.seq(copya, P.par(dropa, ida)), [a], [a]),
    ),
    P.broadcast(P.scalar('add'), [a], [0, 0], [0]),
  ),
  P.broadcast(P.scalar('add'), [a], [0, 0], [0]),
  { source: 'Fig. 20, section 3.6' },
)

const at = v.value('i')

/**
 * An index transposes to the one-hot embedding (Fig. 10, 20): the snake of `|i⟩_a : [a] -> []`,
 * `η_a ; bcast[a](|i⟩_a)`, is `⟨i|_a : [] -> [a]`. Two-way.
 */
export const ofIndex = rule(
  'transpose/index',
  snakePattern(P.index(a, at), [a], []),
  P.oneHot(a, at),
  { source: 'Fig. 10, Fig. 20' },
)

const before = v.value('before')
const after = v.value('after')

/**
 * Zero padding transposes to cropping (Fig. 20, 26): the snake of `pad(a, m, n)` is
 * `crop(a, m, n) : [pad(a, m, n)] -> [a]`. One-way (the left side names the padded axis).
 */
export const ofPad = rule(
  'transpose/pad',
  snakePattern(P.pad(a, before, after), [a], [b]),
  P.crop(a, before, after),
  { source: 'Fig. 20, Fig. 26', oneWay: true },
)

const stride = v.value('stride')
const dilation = v.value('dilation')

/**
 * The convolution tensor transposes to the tensor of transposed convolution (Fig. 26, eq. 4):
 * the snake of `convTensor(x, k, s, d) : [x] -> [y k]` is `convTensorᵀ(x, k, s, d) : [y k] ->
 * [x]`, `out[s i + d j] += in[i, j]`. One-way.
 */
export const ofConv = rule(
  'transpose/conv',
  snakePattern(P.convTensor(a, c, stride, dilation), [a], [b, c]),
  P.convTensorAdjoint(a, c, stride, dilation),
  { source: 'Fig. 26, Fig. 20', oneWay: true },
)

/**
 * A view transposes to its inverse (Fig. 11, 20): the snake of the view merging two axes,
 * `view([a b] -> [c])`, is the view splitting them, `view([c] -> [a b])`. Two-way.
 */
export const ofView = rule(
  'transpose/view',
  snakePattern(P.view([a, b], [c]), [a, b], [c]),
  P.view([c], [a, b]),
  { source: 'Fig. 11, Fig. 20' },
)

/** The snake of the view splitting an axis, `view([c] -> [a b])`, is the merge. Two-way. */
export const ofViewSplit = rule(
  'transpose/view-split',
  snakePattern(P.view([c], [a, b]), [c], [a, b]),
  P.view([a, b], [c]),
  { source: 'Fig. 11, Fig. 20' },
)

const oneInputEinsum = v.as(
  'e',
  P.node({ kind: 'einsum', inputs: [v.value('I')], output: v.value('O'), dims: v.value('D') }),
)

/** The einsum with its input and output labels exchanged. */
const swapLabels = (bs: Bindings): Term => {
  const e = termOf(bs, 'e') as Extract<Term, { kind: 'einsum' }>
  return einsumOf(
    { inputs: [e.output], output: e.inputs[0] as ReadonlyArray<string> },
    { dims: e.dims },
  )
}

/**
 * A one-input einsum transposes to the einsum with its labels exchanged (Fig. 19, 20): the snake
 * of `einsum(I -> O) : [a] -> [b]` is `einsum(O -> I)`: a sum becomes a spread, a diagonal an
 * embedding on the diagonal. One-way.
 */
export const ofEinsum = rule(
  'transpose/einsum',
  snakePattern(oneInputEinsum, [a], [b]),
  v.build('?e with its input and output labels exchanged', swapLabels),
  { source: 'Fig. 19, Fig. 20', oneWay: true },
)

/**
 * The same for einsums on matrices, `[a b] -> [c d]` (a matrix transpose `i j -> j i` is its own
 * transpose, a trace-and-spread `i i -> j j` becomes `j j -> i i`). One-way.
 */
export const ofEinsumMatrix = rule(
  'transpose/einsum-matrix',
  snakePattern(oneInputEinsum, [a, b], [c, d]),
  v.build('?e with its input and output labels exchanged', swapLabels),
  { source: 'Fig. 19, Fig. 20', oneWay: true },
)

const Pt = v.type('P')
const I = v.value('I')

/**
 * The mask of {@link unitBroadcast}: M reads its primal inputs whole (shared by the broadcast)
 * and its last input, `[a]`, row by row; it is linear in that input.
 */
const unitBroadcastFits = (bs: Bindings): boolean => {
  const t = termOf(bs, 'm')
  const placements = bs.get('I')?.value as ReadonlyArray<unknown>
  const n = t.dom.length
  if (n < 1 || t.cod.length !== 1 || (t.cod[0] as ReadonlyArray<unknown>).length !== 0) return false
  if (placements.length !== n || placements[n - 1] !== 0) return false
  if (placements.slice(0, n - 1).some((p) => p !== 'shared')) return false
  try {
    const s = splitLinear(
      t,
      t.dom.map((_, i) => i === n - 1),
    )
    return s.linearOutputs[0] === true
  } catch (e) {
    if (e instanceof TermError) return false
    throw e
  }
}

/** The right side of the unit-broadcast laws: `?m` transposed in its last input. */
const transposeInLastInput = v.build(
  'the transpose of ?m in its last input, at its other inputs',
  (bs) => {
    const t = termOf(bs, 'm')
    return splitLinear(
      t,
      t.dom.map((_, i) => i === t.dom.length - 1),
    ).backward
  },
)

/**
 * The Jacobian by the unit is the reverse derivative (Fig. 36-37): for `M : P × [a] -> []` linear
 * in its last input (its other inputs P primal, such as the point of a forward derivative), M
 * applied to every row of `r` times the identity, `(id(P) ⊗ η_a) ; bcast[a @in(shared…, 0)](M)`,
 * is the transpose of M in its last input at P applied to r: the backward part of
 * `splitLinear(M, [false…, true])`. With M the tangent part of `D(F ; L)` and r = 1, the left
 * side is Fig. 33's gradient from forward derivatives, one per input degree of freedom (quadratic
 * cost), the right side backpropagation (Fig. 37, linear cost). One-way.
 */
export const unitBroadcast = rule(
  'transpose/unit-broadcast',
  P.seq(P.par(P.id(Pt), P.unit(a)), P.broadcast(m, [a], I, [0])),
  transposeInLastInput,
  {
    when: [
      typed('m', v.concat(Pt, [[a]]), [[]]),
      holds(
        '?m is linear in its last input [?a], its other inputs shared (?I = shared…, 0)',
        unitBroadcastFits,
      ),
    ],
    source: 'Fig. 36-37',
    oneWay: true,
  },
)

const As = v.shape('A')
const shapeUnitPattern = v.as(
  'u',
  P.node({ kind: 'einsum', inputs: [[]], output: v.value('O'), dims: v.value('D') }),
)

/**
 * Whether `?u` is the unit of the shape `?A`, `η_A : [] -> [A A]`, as an einsum: one scalar
 * input, its output the labels `L` of `A` twice in the same order (`l0 l1 l0 l1`), so entry
 * `(α, β)` is `r δ_αβ`, the identity tensor of `[A]` times r. A permuted repetition (`l0 l1 l1
 * l0`) is a transpose of it, not the identity, and is refused.
 */
const isUnitOfShape = (bs: Bindings): boolean => {
  const u = termOf(bs, 'u')
  const A = bs.get('A')?.value as ReadonlyArray<Dim> | undefined
  if (u.kind !== 'einsum' || A === undefined || A.length < 1) return false
  const out = u.output
  const n = out.length / 2
  if (n !== A.length || u.inputs.length !== 1 || (u.inputs[0] as ReadonlyArray<string>).length > 0)
    return false
  const L = out.slice(0, n)
  if (new Set(L).size !== n || L.some((l, i) => out[n + i] !== l)) return false
  return L.every((l, i) => {
    const d = u.dims[l]
    return d !== undefined && dimKey(d) === dimKey(A[i] as Dim)
  })
}

/**
 * {@link unitBroadcast} for a segment of any shape (Fig. 33-37 for a matrix input, such as each
 * of attention's queries, keys and values): for `M : P × [A] -> []` linear in its last
 * input, `(id(P) ⊗ η_A) ; bcast[A @in(shared…, 0) @out(0)](M)` is the transpose of M in its last
 * input at P. `η_A` is the identity tensor of `[A]` (the einsum `-> l0 l1 … l0 l1` that
 * `forwardGradient` builds for each input of a function of several, and `shapeUnit` for a
 * shape of two or more axes), its rows the directions, one per entry of the segment. The
 * single-axis unit made by `unit(a)` (the einsum named `unit`) is {@link unitBroadcast}'s, the
 * two laws never match one term. One-way.
 */
export const unitBroadcastShape = rule(
  'transpose/unit-broadcast-shape',
  P.seq(P.par(P.id(Pt), shapeUnitPattern), P.broadcast(m, [As], I, [0])),
  transposeInLastInput,
  {
    when: [
      holds('?u is the unit of the shape ?A: -> L L', isUnitOfShape),
      typed('m', v.concat(Pt, [[As]]), [[]]),
      holds(
        '?m is linear in its last input [?A], its other inputs shared (?I = shared…, 0)',
        unitBroadcastFits,
      ),
    ],
    source: 'Fig. 33-37',
    oneWay: true,
  },
)

/** Whether a term is the unit of a shape, `η_A : [] -> [A A]` (the einsum `-> L L`). */
const isShapeUnit = (t: Term): boolean => {
  if (t.kind !== 'einsum' || t.inputs.length !== 1 || (t.inputs[0] as ReadonlyArray<string>).length)
    return false
  const n = t.output.length / 2
  const L = t.output.slice(0, n)
  return n >= 1 && new Set(L).size === n && L.every((l, i) => t.output[n + i] === l)
}

/**
 * The windows `p ; bcast(…)` of the term's sequences (through stacks, sequences and boxes, not
 * into other nodes, which the dataflow graph keeps whole) whose first part is a unit of a shape
 * or a stack holding one: the units already beside a broadcast.
 */
const unitsBeside = (t: Term): number => {
  if (t.kind === 'box') return unitsBeside(t.body)
  if (t.kind !== 'seq' && t.kind !== 'par') return 0
  let n = 0
  t.parts.forEach((p, i) => {
    n += unitsBeside(p)
    const q = t.parts[i + 1]
    if (t.kind !== 'seq' || q === undefined || q.kind !== 'broadcast') return
    if (isShapeUnit(p) || (p.kind === 'par' && p.parts.some(isShapeUnit))) n += 1
  })
  return n
}

/**
 * The same term with every unit that feeds the rows of a broadcast written right before that
 * broadcast, `(id ⊗ η_A ⊗ id) ; bcast[A …](M)`, the form of {@link unitBroadcast} and
 * {@link unitBroadcastShape}; undefined when no unit feeds a broadcast's broadcast input.
 *
 * The gradient of Fig. 33 for a function of several inputs (`forwardGradient` of attention's
 * queries, keys and values) makes its units first and wires them, with copies and swaps among
 * the points, to the broadcast of each input's forward derivative; no window of the term holds
 * a unit beside its broadcast, and moving it there by the laws of wiring (naturality of swap and
 * copy, one layer at a time) takes dozens of steps per unit. This is that move in one: the term's
 * dataflow graph with each such unit fused into its broadcast's node (a unit shared by two
 * broadcasts goes to each), read back. Only the wiring changes, so the result has the term's
 * structural normal form, and `structural/normal-form` is the honest step between the two
 * (`optimize` adds it to the e-graph by that step, after checking the two normal forms agree).
 * Undefined too when the term already has as many units beside broadcasts as it would get (the
 * single-input gradient of Fig. 33 is drawn that way). @internal
 */
export const unitsBesideBroadcasts = (t: Term): Term | undefined => {
  const dag = graphDag(t.dom, (xs, apply) => apply(t, ...xs))
  const nodes = [...dag.nodes]
  let fused = 0
  nodes.forEach((n, c) => {
    const b = n.op
    if (b.kind !== 'broadcast') return
    for (let j = n.inputs.length - 1; j >= 0; j--) {
      const w = n.inputs[j] as Wire
      const u = w.node < 0 ? undefined : (nodes[w.node] as DagNode)
      if (b.inputs[j] === 'shared' || u === undefined || !isShapeUnit(u.op)) continue
      const before = b.dom.slice(0, j)
      const after = b.dom.slice(j + 1)
      const layer = par(
        ...(before.length > 0 ? [id(before)] : []),
        u.op,
        ...(after.length > 0 ? [id(after)] : []),
      )
      nodes[c] = {
        op: seq(layer, b),
        inputs: [...n.inputs.slice(0, j), ...u.inputs, ...n.inputs.slice(j + 1)],
      }
      fused += 1
      return
    }
  })
  return fused > unitsBeside(t) ? fromDagNested({ ...dag, nodes }) : undefined
}

/**
 * {@link unitBroadcast} without primal inputs (Fig. 36): for a linear `M : [a] -> []`,
 * `η_a ; bcast[a](M) = Mᵀ : [] -> [a]` (the snake of a map to the scalar shape). One-way.
 */
export const unitBroadcastLinear = rule(
  'transpose/unit-broadcast-linear',
  snakePattern(m, [a], []),
  v.build('transpose(?m)', (bs) => transpose(termOf(bs, 'm'))),
  {
    when: [linear('m'), typed('m', [[a]], [[]]), transposable('m')],
    source: 'Fig. 36, Fig. 20',
    oneWay: true,
  },
)

/** The transpose laws, in catalogue order. */
export const transposeRules: ReadonlyArray<Rule> = Object.freeze([
  snake,
  involution,
  ofSeq,
  ofPar,
  ofCopy,
  ofIndex,
  ofPad,
  ofConv,
  ofView,
  ofViewSplit,
  ofEinsum,
  ofEinsumMatrix,
  unitBroadcast,
  unitBroadcastShape,
  unitBroadcastLinear,
])
