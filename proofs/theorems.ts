/**
 * Theorems: equations between diagrams of the paper, each proved by a sequence of law steps.
 * `npm run proofs` writes each proof as a JSON document under `proofs/json/`, which `ncd check`
 * replays with nothing but the law catalogue; `proofs/proofs.test.ts` checks both forms.
 *
 * Every theorem states both sides: its proof is built step by step from the left side at explicit
 * locations, and {@link proveEqual} refuses it unless the steps end exactly (as data) at the
 * stated right side. No theorem uses the `structural/normal-form` conversion: every step is a
 * named law.
 *
 * @packageDocumentation
 */
import {
  type Dim,
  type Location,
  type Path,
  type Proof,
  type Rule,
  type ShapeLike,
  type Step,
  type Term,
  associatedTranspose,
  bend,
  bendLawRules,
  box,
  broadcast,
  constDim,
  convTensor,
  copy,
  derivative,
  drop,
  cup,
  dim,
  dimProduct,
  einsum,
  fig20Bend,
  id,
  linearLayer,
  linearMap,
  multiHeadAttention,
  par,
  param,
  prove,
  relu,
  scaleBySize,
  seq,
  show,
  sigmoid,
  softmax,
  splitLinear,
  tanh,
  mean,
  jvp,
  swap,
  termEquals,
  unbend,
  unit,
  view,
} from '../src/index.js'
import { examples } from '../src/cli/examples.js'
import {
  broadcastId,
  broadcastMerge,
  broadcastPar,
  broadcastSeq,
  broadcastSeqSplit,
} from '../src/rewrite/rules/broadcast.js'
import { idLeft, idRight, unbox } from '../src/rewrite/rules/category.js'
import { copyNatural } from '../src/rewrite/rules/cartesian.js'
import { snake, snakeMirrored, transposeInvolution } from '../src/rewrite/rules/compact.js'
import { kernelOneBroadcast, kernelOneDilation } from '../src/rewrite/rules/convolution.js'
import { broadcastEinsum, fusion, fusionLast } from '../src/rewrite/rules/einsum.js'
import { broadcastCommute, viewOneCancel } from '../src/rewrite/rules/linear.js'
import { interchange, swapInvolutive } from '../src/rewrite/rules/monoidal.js'
import {
  chain,
  ofExp,
  ofGelu,
  ofLinear,
  ofRelu,
  ofSigmoid,
  ofTanh,
  overBroadcast,
} from '../src/rewrite/rules/derivative.js'
import { unitBroadcast } from '../src/rewrite/rules/transpose.js'

/** A theorem: a slug for its file name, the proof, and the right side it states. */
export interface Theorem {
  readonly slug: string
  readonly proof: () => Proof
  /** The right side as the theorem states it: the proof's steps must end exactly there. */
  readonly rhs: () => Term
}

/** A step of a proof script: a law, where, and which way. */
type ScriptStep = readonly [Rule, Location] | readonly [Rule, Location, Step['direction']]

/** An equation and the script of steps that rewrites its left side into its right side. */
interface Statement {
  readonly name: string
  readonly lhs: Term
  readonly rhs: Term
  readonly steps: ReadonlyArray<ScriptStep>
}

/**
 * `prove` the statement's steps from its left side, and refuse the proof unless they end at the
 * stated right side (as data): the right side of a theorem is stated, never read off the steps.
 */
const proveEqual = (s: Statement): Proof => {
  const p = prove(s.name, s.lhs, s.steps)
  if (!termEquals(p.rhs, s.rhs))
    throw new Error(
      `${s.name}: the steps end at\n  ${show(p.rhs)}\nnot at the stated right side\n  ${show(s.rhs)}`,
    )
  return p
}

const theorem = (slug: string, statement: () => Statement): Theorem => ({
  slug,
  proof: () => proveEqual(statement()),
  rhs: () => statement().rhs,
})

/** Script steps at locations relative to the sub-term at `path`. */
const under = (path: Path, steps: ReadonlyArray<ScriptStep>): ScriptStep[] =>
  steps.map(([r, l, d]) => [r, { ...l, path: [...path, ...l.path] }, d ?? 'forward'] as const)

/** The term of one of the paper's examples of `ncd examples` (src/cli/examples.ts). */
const exampleTerm = (figure: string, title: string): Term => {
  const e = examples().find((x) => x.figure === figure && x.title.startsWith(title))
  if (e === undefined) throw new Error(`no example ${figure}: ${title}`)
  return e.term
}

/** The parts of a sequence. */
const seqParts = (t: Term): ReadonlyArray<Term> => (t.kind === 'seq' ? t.parts : [t])

/** A box with the name of `model` around `body`. */
const boxLike = (model: Term, body: Term): Term => {
  if (model.kind !== 'box') throw new Error(`${show(model)} is not a box`)
  return box(model.name, body)
}

/** The body of a box (a model built by `src/models` is a named box). */
const bodyOf = (t: Term): Term => {
  if (t.kind !== 'box') throw new Error(`${show(t)} is not a box`)
  return t.body
}

const ONE = constDim(1)

/** A law of the bend family by name (src/rewrite/rules/bend.ts). */
const bendLaw = (name: string): Rule => {
  const r = bendLawRules.find((x) => x.name === name)
  if (r === undefined) throw new Error(`no bend law ${name}`)
  return r
}

/** Fig. 20's linear `F : [a] -> [b c]`, `F(x)[b, c] = Σ_a W[b, c, a] x[a]`. */
const F20 = (): Term =>
  seq(par(id([['a']]), param('W', ['b', 'c', 'a'])), einsum('a, b c a -> b c'))

// Fig. 18-19: the attention scores, stepwise and as one einsum.
const scoresStepwise = (): Term => exampleTerm('Fig. 18-19', 'multi-head attention scores')
const scoresFused = (): Term =>
  seq(einsum('y k h, x k h -> y x h'), scaleBySize('k', -0.5, 'y x h'))

// Fig. 20: a snake on each side of a doubly transposed linear map.
const snakeTerm = (): Term => exampleTerm('Fig. 20', 'the snake')
const snakeMirror = (a: string): Term =>
  seq(broadcast(unit(a), [a], { at: 'last' }), broadcast(cup(a), [a]))
const W = (): Term => linearLayer('W', 'a', 'b')

// Fig. 17: two token maps F1, F2 on x and a channel map G on c, acting on [x c].
const tokenMap = (name: string, from: string, to: string): Term =>
  broadcast(linearLayer(name, from, to), ['c'], { at: 'last' })

/**
 * A 1x1 convolution of `[P c]` (section 3.3, Fig. 25): the convolution tensor of a one-wide kernel
 * (of the given dilation) cuts the positions P into blocks `[P 1 c]`, and the learned map
 * `c -> out` applies to each block's channels (`view([1 c] -> [c])`, then the map).
 */
const oneByOne = (name: string, positions: Dim, out: ShapeLike, dilation = 1): Term =>
  seq(
    broadcast(convTensor(positions, ONE, { dilation }), ['c'], { at: 'last' }),
    broadcast(seq(view([ONE, 'c'], ['c']), linearMap(name, ['c'], out)), [positions]),
  )

// Fig. 23: multi-head attention; its heads stage is attention broadcast over h.
const mhaDims = { y: 'y', x: 'x', m: 'm', k: 'k', h: 'h' } as const
const perHead = (): Term =>
  seq(
    par(
      einsum('y k h, x k h -> h y x'),
      broadcast(id([['x', 'k']]), ['h'], { inputs: [2], outputs: [0] }),
    ),
    par(
      seq(scaleBySize('k', -0.5, 'h y x'), broadcast(softmax('x'), ['h', 'y'])),
      id([['h', 'x', 'k']]),
    ),
    einsum('h y x, h x k -> y k h'),
  )

// Fig. 29: visual attention on images [yh yw c] and [xh xw c], tandem axes, h = 1.
const Y = dimProduct('yh', 'yw')
const X = dimProduct('xh', 'xw')
const visualMha = (): Term => multiHeadAttention({ y: Y, x: X, m: 'c', k: 'k', h: ONE })
const tandemViews = (): Term =>
  par(
    view(['yh', 'yw', 'c'], [Y, 'c']),
    view(['xh', 'xw', 'c'], [X, 'c']),
    view(['xh', 'xw', 'c'], [X, 'c']),
  )

/**
 * Section 3.6, Fig. 33 and 37, for a network `f = part_1 ; … ; part_n : [a] -> []` whose parts are
 * linear layers and element-wise functions: the gradient from forward derivatives,
 *
 *     (id ⊗ η_a) ; bcast[a @in(=, 0)](D(f) ; drop ⊗ id)                               (Fig. 33)
 *
 * the tangent part of `D(f)` run once per row of the unit (every input degree of freedom, the
 * point shared; η_a takes the seed r, 1 for a gradient), is the reverse derivative: the
 * transpose in its tangent of the forward derivative `jvp(f)` (Fig. 35 defines the reverse
 * derivative so), fed with r (Fig. 37). The steps: the chain rule splits `D(f)` part by part
 * (Fig. 31-32), each part's derivative expands (a linear map is its own derivative; an element-
 * wise function's derivative is broadcast, then its scalar rule), and `transpose/unit-broadcast`
 * (Fig. 36-37) turns the broadcast over the unit into the transpose.
 */
const SCALAR_LAWS: Readonly<Record<string, Rule>> = {
  relu: ofRelu,
  gelu: ofGelu,
  exp: ofExp,
  tanh: ofTanh,
  sigmoid: ofSigmoid,
}

const backprop = (parts: ReadonlyArray<Term>): Statement => {
  const f = seq(...parts)
  const tangent = (d: Term): Term => seq(d, par(drop([[]]), id([[]])))
  const overUnit = (body: Term): Term =>
    seq(par(id(f.dom), unit('a')), broadcast(body, ['a'], { inputs: ['shared', 0], outputs: [0] }))
  const body = [1, 0] as const
  const steps: ScriptStep[] = []
  // D(p_1 ; rest) = D(p_1) ; D(rest), at positions 0, 1, … of the body's sequence.
  for (let i = 0; i < parts.length - 1; i++) steps.push([chain, { path: [...body, i] }])
  parts.forEach((p, i) => {
    if (p.linearity === 'linear') steps.push([ofLinear, { path: [...body, i] }])
    else if (p.kind === 'broadcast' && p.body.kind === 'scalar') {
      steps.push([overBroadcast, { path: [...body, i] }])
      const law = SCALAR_LAWS[p.body.op]
      if (law === undefined) throw new Error(`backprop: no derivative law for ${p.body.op}`)
      steps.push([law, { path: [...body, i, 0] }])
    } else throw new Error(`backprop: no script for the part ${show(p)}`)
  })
  steps.push([unitBroadcast, { path: [] }])
  return {
    name: `Fig. 33 = Fig. 37: the gradient of ${show(f)} from forward derivatives is the reverse derivative`,
    lhs: overUnit(tangent(derivative(f))),
    rhs: splitLinear(tangent(jvp(f)), [false, true]).backward,
    steps,
  }
}

/** The networks of the backpropagation theorems. */
export const backpropNetworks = {
  layer: (): ReadonlyArray<Term> => [linearLayer('W', 'a', 'b'), tanh('b'), mean('b')],
  twoLayers: (): ReadonlyArray<Term> => [
    linearLayer('W1', 'a', 'h'),
    tanh('h'),
    linearLayer('W2', 'h', 'c'),
    sigmoid('c'),
    mean('c'),
  ],
}

export const theorems: ReadonlyArray<Theorem> = [
  theorem('tuples-interchange-layers', () => ({
    // Fig. 7: two stacked sections composed are two composed sections stacked.
    name: 'Fig. 7: stacked layers compose section by section',
    lhs: seq(
      par(linearLayer('A', 'x', 'h'), linearLayer('B', 'y', 'k')),
      par(relu('h'), relu('k')),
    ),
    rhs: par(
      seq(linearLayer('A', 'x', 'h'), relu('h')),
      seq(linearLayer('B', 'y', 'k'), relu('k')),
    ),
    steps: [[interchange, { path: [] }]],
  })),
  theorem('tuples-swap-twice', () => ({
    // Section 2.2: crossing two wires twice is no crossing.
    name: 'section 2.2: swapping twice, then a layer, is the layer',
    lhs: seq(
      swap([['x']], [['y']]),
      swap([['y']], [['x']]),
      par(linearLayer('A', 'x', 'h'), id([['y']])),
    ),
    rhs: par(linearLayer('A', 'x', 'h'), id([['y']])),
    steps: [
      [swapInvolutive, { path: [], range: [0, 2] }],
      [idLeft, { path: [] }],
    ],
  })),
  theorem('cartesian-copy-layer', () => ({
    // Section 2.2: a layer then a copy is a copy then the layer on both copies.
    name: 'section 2.2: copying a layer output is copying its input',
    lhs: seq(linearLayer('A', 'x', 'h', { bias: true }), copy([['h']])),
    rhs: seq(
      copy([['x']]),
      par(linearLayer('A', 'x', 'h', { bias: true }), linearLayer('A', 'x', 'h', { bias: true })),
    ),
    steps: [[copyNatural, { path: [] }]],
  })),

  /**
   * Fig. 18-19: the section of multi-head attention computed stepwise (transpose K, outer product
   * with a diagonal, inner product, scale; the term of `ncd examples`) is the single einsum
   * `y k h, x k h -> y x h` then the scaling by k^-0.5, "with simultaneous broadcasting of linear
   * functions". The transpose beside Q fuses into the outer product, which fuses with the inner
   * product; the fused einsum is already in canonical labels.
   */
  theorem('attention-scores-fig19', () => ({
    name: 'Fig. 18-19: the stepwise attention scores are one einsum y k h, x k h -> y x h, scaled',
    lhs: scoresStepwise(),
    rhs: scoresFused(),
    steps: [
      [fusionLast, { path: [], range: [0, 2] }],
      [fusion, { path: [], range: [0, 2] }],
    ],
  })),

  /**
   * Fig. 20: the snake and its mirror image are identities, and the associated transpose is an
   * involution: for the linear layer `W : a -> b` without bias,
   * `snake_a ; (Wᵀ)ᵀ ; mirrored-snake_b = W`, where `snake_a` is the example of `ncd examples`
   * (`bcast[a](η_a) ; bcast[a @last](cup_a)`) and `(Wᵀ)ᵀ` is built twice by
   * `associatedTranspose` (unit, W on a leg, cup).
   */
  theorem('snake-fig20', () => ({
    name: 'Fig. 20: snakes are identities, and transposing W twice gives W',
    lhs: seq(snakeTerm(), associatedTranspose(associatedTranspose(W())), snakeMirror('b')),
    rhs: W(),
    steps: [
      [snake, { path: [], range: [0, 2] }],
      [snakeMirrored, { path: [], range: [4, 6] }],
      [idLeft, { path: [], range: [0, 2] }],
      [idRight, { path: [], range: [2, 4] }],
      [transposeInvolution, { path: [] }],
    ],
  })),

  /**
   * Fig. 17, naturality of linear maps with broadcasting: on `[x c]`, the channel map
   * `G : c -> d` (a linear layer broadcast over the tokens) moves before two token maps
   * `F1 : x -> y`, `F2 : y -> z` (linear layers broadcast over the channels), which then act as
   * one broadcast map:
   * `bcast[c @1](F1) ; bcast[c @1](F2) ; bcast[z](G) = bcast[x](G) ; bcast[d @1](F1 ; F2)`.
   */
  theorem('linear-naturality-fig17', () => ({
    name: 'Fig. 17: a channel map moves before two token maps, which then broadcast as one',
    lhs: seq(
      tokenMap('F1', 'x', 'y'),
      tokenMap('F2', 'y', 'z'),
      broadcast(linearLayer('G', 'c', 'd'), ['z']),
    ),
    rhs: seq(
      broadcast(linearLayer('G', 'c', 'd'), ['x']),
      broadcast(seq(linearLayer('F1', 'x', 'y'), linearLayer('F2', 'y', 'z')), ['d'], {
        at: 'last',
      }),
    ),
    steps: [
      [broadcastCommute, { path: [], range: [1, 3] }],
      [broadcastCommute, { path: [], range: [0, 2] }],
      [broadcastSeq, { path: [], range: [1, 3] }],
    ],
  })),

  /**
   * Section 3.3, "1x1 kernels are the same as broadcasting over the input": a convolution with a
   * one-wide kernel (dilated by 2, which a one-wide kernel ignores) cuts `[x c]` into blocks
   * `[x 1 c]` and applies a learned map to each block, here the linear layer `W : c -> d` on the
   * block's channels; it equals W broadcast over the positions,
   * `bcast[c @last](convTensor(x, 1, s1, d2)) ; bcast[x](view([1 c] -> [c]) ; W) = bcast[x](W)`.
   * (`conv1d` applies its weight to the blocks by one einsum with the block label, not as a map
   * broadcast over the blocks, so the convolution is built here from its primitives.)
   */
  theorem('conv-1x1-section33', () => ({
    name: 'section 3.3: a 1x1 convolution is its linear map broadcast over the positions',
    lhs: oneByOne('W', dim('x'), ['d'], 2),
    rhs: broadcast(linearMap('W', ['c'], ['d']), ['x']),
    steps: [
      [kernelOneDilation, { path: [0, 0] }],
      [kernelOneBroadcast, { path: [] }],
      [viewOneCancel, { path: [0], range: [0, 2] }],
      [idLeft, { path: [0] }],
    ],
  })),

  /**
   * Fig. 23, the heads of multi-head attention: in `multiHeadAttention`, attention broadcast over
   * the heads (`bcast[h @last](Attention)`, the form the diagram draws) equals the per-head
   * einsums with an h label of the einsum implementation: the scores
   * `einsum(y k h, x k h -> h y x)` (Fig. 19), the values with h moved first, the scaling and
   * the SoftMax broadcast over `[h y]`, and `einsum(h y x, h x k -> y k h)`; the projections and
   * the output einsum are unchanged. Both sides are the `MultiHeadAttention` box.
   */
  theorem('mha-heads-fig23', () => {
    const mha = multiHeadAttention(mhaDims)
    const [project, , ...output] = seqParts(bodyOf(mha))
    return {
      name: 'Fig. 23: attention broadcast over the heads h is the per-head einsums with an h label',
      lhs: mha,
      rhs: boxLike(mha, seq(project as Term, perHead(), ...output)),
      // Paths in the body of the box; the sequence stays flat, so a split shifts what follows.
      steps: under(
        [0],
        [
          [unbox, { path: [1, 0] }],
          [broadcastSeqSplit, { path: [1] }],
          [broadcastPar, { path: [1] }, 'backward'],
          [broadcastEinsum, { path: [1, 0] }],
          [broadcastSeqSplit, { path: [2] }],
          [broadcastPar, { path: [2] }, 'backward'],
          [broadcastSeqSplit, { path: [2, 0] }],
          [broadcastMerge, { path: [2, 0, 0] }],
          [broadcastMerge, { path: [2, 0, 1] }],
          [broadcastId, { path: [2, 1] }],
          [broadcastEinsum, { path: [3] }],
        ],
      ),
    }
  }),

  /**
   * Fig. 23, the projections of self-attention (queries and keys from the same tokens x): the
   * learned maps `Q`, `K`, `V : m -> k h` broadcast separately over the tokens equal one
   * broadcast of their stack, `bcast[x](Q) ⊗ bcast[x](K) ⊗ bcast[x](V) = bcast[x](Q ⊗ K ⊗ V)`,
   * inside `multiHeadAttention` with y = x.
   */
  theorem('mha-projections-fig23', () => {
    const mha = multiHeadAttention({ ...mhaDims, y: 'x' })
    const [, ...rest] = seqParts(bodyOf(mha))
    const L = (n: string) => linearMap(n, ['m'], ['k', 'h'])
    return {
      name: 'Fig. 23: the Q, K, V projections broadcast over the tokens are one broadcast stack',
      lhs: mha,
      rhs: boxLike(mha, seq(broadcast(par(L('Q'), L('K'), L('V')), ['x']), ...rest)),
      steps: [
        [broadcastPar, { path: [0, 0], range: [1, 3] }],
        [broadcastPar, { path: [0, 0] }],
      ],
    }
  }),

  /**
   * Fig. 29, visual attention "as simple as replacing the y and x axes in Figure 23 with tandem
   * y and x axes and setting h = 1", the per-pixel linear maps drawn as 1x1 convolutions: on
   * images `[yh yw c]`, `[xh xw c]`, `[xh xw c]`, view the pixels as tandem axes
   * `Y = yh*yw`, `X = xh*xw`, project queries, keys and values by 1x1 convolutions (the map
   * `c -> k 1` on each block `[1 c]`), then the heads and output of Fig. 23 with h = 1. It equals
   * the views followed by `multiHeadAttention` (its body) with `y = Y`, `x = X`, `m = c`, h = 1:
   * each 1x1 convolution is its linear map broadcast over the pixels. The h = 1 heads stay a
   * broadcast over a one-length axis on both sides (no law removes such a broadcast).
   */
  theorem('visual-attention-fig29', () => {
    const [, ...rest] = seqParts(bodyOf(visualMha()))
    const convs = par(
      oneByOne('Q', Y, ['k', ONE]),
      oneByOne('K', X, ['k', ONE]),
      oneByOne('V', X, ['k', ONE]),
    )
    return {
      name: 'Fig. 29: visual attention with 1x1 convolutions is multi-head attention on tandem pixels, h = 1',
      lhs: seq(tandemViews(), convs, ...rest),
      rhs: seq(tandemViews(), bodyOf(visualMha())),
      steps: [0, 1, 2].flatMap((i) =>
        under(
          [1, i],
          [
            [kernelOneBroadcast, { path: [] }],
            [viewOneCancel, { path: [0], range: [0, 2] }],
            [idLeft, { path: [0] }],
          ],
        ),
      ),
    }
  }),
  /**
   * Fig. 20, first row: "convert the linear map F : R^a -> R^{b×c} into Fᵀ : R^{b×a} -> R^c".
   * Fᵀ is `bend(F, fig20Bend)` (F broadcast over the bent wire b, then the inner product of b);
   * bending it back (`unbend`) gives F: one step of `bend/involution`, which matches exactly
   * what `bend` builds.
   */
  theorem('bend-fig20-first-row', () => ({
    name: 'Fig. 20, first row: F : a -> b c bent into Fᵀ : b a -> c, and back, is F',
    lhs: bend(bend(F20(), fig20Bend), unbend(fig20Bend)),
    rhs: F20(),
    steps: [[bendLaw('bend/involution'), { path: [] }]],
  })),

  /**
   * Fig. 20, first row, with a linear map V : a -> d before F : d -> b c: bending F's output b
   * back passes V under the bent wire, `(V ; F)ᵀ = bcast[b](V) ; Fᵀ` (`bend/seq-outputs`: only
   * outputs are bent, so only the last map is bent).
   */
  theorem('bend-fig20-composition', () => {
    const V = seq(par(id([['a']]), param('V', ['d', 'a'])), einsum('a, d a -> d'))
    const Fe = seq(par(id([['d']]), param('W', ['b', 'c', 'd'])), einsum('d, b c d -> b c'))
    return {
      name: 'Fig. 20, first row: bending an output of V ; F passes V under the bent wire',
      lhs: bend(seq(V, Fe), fig20Bend),
      rhs: seq(broadcast(V, ['b'], { at: 0 }), bend(Fe, fig20Bend)),
      steps: [[bendLaw('bend/seq-outputs'), { path: [] }]],
    }
  }),
  theorem('backprop-layer-fig33-37', () => backprop(backpropNetworks.layer())),
  theorem('backprop-two-layers-fig33-37', () => backprop(backpropNetworks.twoLayers())),
]
