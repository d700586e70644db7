/**
 * The laws of the forward derivative (paper section 3.6, Fig. 31-32; DESIGN.md section 6).
 * `D(f) : A × A -> B × B` is the `(_, D_)` functor of Fig. 32, `(x, dx) ↦ (f x, Df(x)·dx)`, and
 * these are the rules that `jvp` expands it by:
 *
 *     D(f ; g) = D(f) ; D(g)                                   chain rule (Fig. 31-32)
 *     D(f ⊗ g) = interleave ; (D f ⊗ D g) ; deinterleave       D over par
 *     D(bcast(f)) = bcast(D f), each placement doubled         D over broadcast
 *     D(f) = f ⊗ f                                             f linear (copy, drop, swap, mean)
 *     D(f) = f ⊗ zero(cod f)                                   f a constant (no inputs)
 *     D(f) = (x, dx) ↦ (f x, Σ_i f(x_1, …, dx_i, …, x_n))      f multilinear (product rule)
 *     D(relu) = (relu x, step(x) dx), D(tanh) = (tanh x, dx - tanh² x dx), …   one per primitive
 *     D(F) = (x, dx) ↦ (F x, dF(x, dx))                        F a nonlinear generator
 *
 * The evaluator evaluates `D(f)` by `jvp(f)`, which uses the same rules, so laws/derivative.test.ts
 * checks each law against central finite differences as well as by the law contract.
 *
 * @packageDocumentation
 */
import { derivative } from '../../core/construct.js'
import type { Dim } from '../../core/dim.js'
import { type UnaryOp, mul } from '../../core/primitives.js'
import type { AxisOpName, Term } from '../../core/term.js'
import {
  derivativeOfAxisOp,
  derivativeOfGenerator,
  derivativeOfPar,
  derivativeOfScalar,
  productRule,
} from '../../derive/jvp.js'
import type { Bindings } from '../match.js'
import { P, v } from '../pattern.js'
import { type Rule, holds, linear, rule, typed } from '../rule.js'

const f = v.term('f')
const g = v.term('g')
const A = v.type('A')
const B = v.type('B')
const S = v.shape('S')
const I = v.value('I')
const O = v.value('O')
const a = v.dim('a')

const termOf = (bs: Bindings, name: string): Term => bs.get(name)?.value as Term
const valueOf = <X>(bs: Bindings, name: string): X => bs.get(name)?.value as X

/**
 * The chain rule (Fig. 31-32): the `(_, D_)` functor preserves composition,
 * `D(f ; g) = D(f) ; D(g)`. Two-way: matching is modulo associativity, so `D(f ; g ; h)` splits
 * at any point.
 */
export const chain = rule(
  'derivative/chain',
  P.derivative(P.seq(f, g)),
  P.seq(P.derivative(f), P.derivative(g)),
  { source: 'Fig. 31-32' },
)

/**
 * D over par (section 3.6, Fig. 32: the functor maps vertical sections to vertical sections):
 * `D(f ⊗ g) = interleave ; (D f ⊗ D g) ; deinterleave`, the points and tangents of each part
 * regrouped around it (`derivativeOfPar`). One-way: the right side is built.
 */
export const overPar = rule(
  'derivative/par',
  P.derivative(P.par(f, g)),
  v.build('interleave ; D(?f) ⊗ D(?g) ; deinterleave', (bs) =>
    derivativeOfPar([termOf(bs, 'f'), termOf(bs, 'g')], derivative),
  ),
  { source: 'Fig. 32, section 3.6', oneWay: true },
)

/**
 * D over broadcast (Fig. 32 with Fig. 13): the derivative of a broadcast is the broadcast of the
 * derivative, the tangents placed as the points are (shared where they are shared):
 * `D(bcast[S @in(I) @out(O)](f)) = bcast[S @in(I I) @out(O O)](D f)`.
 */
export const overBroadcast = rule(
  'derivative/broadcast',
  P.derivative(P.broadcast(f, S, I, O)),
  P.broadcast(P.derivative(f), S, v.concat(I, I), v.concat(O, O)),
  { source: 'Fig. 32, Fig. 13' },
)

/**
 * A linear map is its own derivative (section 3.6; Fig. 16): `D(f) = f ⊗ f` for a linear f, the
 * points and the tangents each through f.
 */
export const ofLinear = rule('derivative/linear', P.derivative(f), P.par(f, f), {
  when: [linear('f')],
  source: 'section 3.6, Fig. 16',
})

/** Copy is linear: `D(Δ_A) = Δ_A ⊗ Δ_A` (D over copy, section 3.6). */
export const ofCopy = rule(
  'derivative/copy',
  P.derivative(P.copy(A)),
  P.par(P.copy(A), P.copy(A)),
  { source: 'section 3.6, section 2.2' },
)

/** Delete is linear: `D(drop_A) = drop_A ⊗ drop_A` (D over drop, section 3.6). */
export const ofDrop = rule(
  'derivative/drop',
  P.derivative(P.drop(A)),
  P.par(P.drop(A), P.drop(A)),
  { source: 'section 3.6, section 2.2' },
)

/** The symmetry is linear: `D(swap(A, B)) = swap(A, B) ⊗ swap(A, B)`. */
export const ofSwap = rule(
  'derivative/swap',
  P.derivative(P.swap(A, B)),
  P.par(P.swap(A, B), P.swap(A, B)),
  { source: 'section 3.6, section 2.2' },
)

/**
 * A constant (a term of the empty tuple, such as a parameter) has tangent zero:
 * `D(f) = f ⊗ zero(cod f)` for `f : () -> B`.
 */
export const ofConstant = rule(
  'derivative/constant',
  P.derivative(f),
  P.par(f, P.zero(v.cod('f'))),
  { when: [typed('f', [], B)], source: 'section 3.6' },
)

/**
 * Whether a term follows the product rule: multilinear (every monomial of every output is the
 * product of all the inputs, section 2.4.1), or linear in at most one input. A map linear in two
 * inputs jointly (add) does not: `D(add)` is `add ⊗ add`, not `(dx + y) + (x + dy)`.
 */
const productRuleApplies = (t: Term): boolean =>
  t.linearity === 'multilinear' || (t.linearity === 'linear' && t.dom.length <= 1)

/**
 * The product rule (sections 2.4.1 and 3.6): a multilinear f of n inputs has
 * `D(f)(x, dx) = (f x, Σ_i f(x_1, …, dx_i, …, x_n))` (`productRule`). One-way. The condition is
 * multilinearity proper: a map linear in two inputs jointly, such as add, is refuted (see
 * laws/derivative.test.ts).
 */
export const product = rule(
  'derivative/product',
  P.derivative(f),
  v.build('the product rule of ?f', (bs) => productRule(termOf(bs, 'f'))),
  {
    when: [
      holds('?f is multilinear (each output a sum of products of all its inputs)', (bs) =>
        productRuleApplies(termOf(bs, 'f')),
      ),
    ],
    source: 'section 2.4.1, section 3.6',
    oneWay: true,
  },
)

const SCALAR_SOURCE = 'section 3.6, Fig. 31'

/** `D(op)` for a unary scalar function without parameters: its expansion, two-way. */
const ofScalar = (op: UnaryOp): Rule =>
  rule(`derivative/${op}`, P.derivative(P.scalar(op)), derivativeOfScalar(op), {
    source: SCALAR_SOURCE,
  })

/** `D(relu) = (relu x, step(x) · dx)`. */
export const ofRelu = ofScalar('relu')
/** `D(gelu) = (gelu x, (Φ(x) + x φ(x)) · dx)`. */
export const ofGelu = ofScalar('gelu')
/** `D(exp) = (e^x, e^x · dx)`. */
export const ofExp = ofScalar('exp')
/** `D(log) = (log x, dx / x)`. */
export const ofLog = ofScalar('log')
/** `D(tanh) = (tanh x, dx - tanh²(x) · dx)`. */
export const ofTanh = ofScalar('tanh')
/** `D(σ) = (σ x, (σ x - σ² x) · dx)`. */
export const ofSigmoid = ofScalar('sigmoid')
/** `D(√) = (√x, dx / (2√x))`. */
export const ofSqrt = ofScalar('sqrt')
/** `D(1/x) = (1/x, -dx / x²)`. */
export const ofReciprocal = ofScalar('reciprocal')
/** `D(step) = (step x, 0)`: zero away from the kink at 0. */
export const ofStep = ofScalar('step')
/** `D(Φ) = (Φ x, φ(x) · dx)`. */
export const ofNormcdf = ofScalar('normcdf')

/** `D(x + c) = (x + c, dx)`, for any constant c. One-way (the right side is built from c). */
export const ofOffset = rule(
  'derivative/offset',
  P.derivative(P.scalar('offset', v.value('c'))),
  v.build('the derivative of offset(?c)', (bs) =>
    derivativeOfScalar('offset', valueOf<number>(bs, 'c')),
  ),
  { source: SCALAR_SOURCE, oneWay: true },
)

/** `D(op)` for a nonlinear operation on the axis ?a (built: the dim is a metavariable). */
const ofAxisOp = (op: Exclude<AxisOpName, 'mean' | 'layerNorm'>, description: string): Rule =>
  rule(
    `derivative/${op}`,
    P.derivative(P.axisOp(op, a)),
    v.build(description, (bs) => derivativeOfAxisOp(op, valueOf<Dim>(bs, 'a'))),
    { source: SCALAR_SOURCE, oneWay: true },
  )

/** `D(softmax) = (s, s ⊙ (dx - ⟨s, dx⟩))` with `s = softmax x`. */
export const ofSoftmax = ofAxisOp('softmax', 'the derivative of softmax over ?a')
/** `D(max) = (max x, ⟨argmax x, dx⟩)`. */
export const ofMax = ofAxisOp('max', 'the derivative of max over ?a')
/** `D(argmax) = (argmax x, 0)`: piecewise constant. */
export const ofArgmax = ofAxisOp('argmax', 'the derivative of argmax over ?a')

/**
 * `D(layerNorm) = (y, (dx - mean dx - y mean(y ⊙ dx)) / σ)`, with `σ = √(var x + ε)`, for any ε.
 */
export const ofLayerNorm = rule(
  'derivative/layer-norm',
  P.derivative(P.axisOp('layerNorm', a, v.value('e'))),
  v.build('the derivative of layerNorm over ?a with ε = ?e', (bs) =>
    derivativeOfAxisOp('layerNorm', valueOf<Dim>(bs, 'a'), valueOf<number>(bs, 'e')),
  ),
  { source: SCALAR_SOURCE, oneWay: true },
)

/** The mean is linear: `D(mean_a) = mean_a ⊗ mean_a`. */
export const ofMean = rule(
  'derivative/mean',
  P.derivative(P.axisOp('mean', a)),
  P.par(P.axisOp('mean', a), P.axisOp('mean', a)),
  { source: SCALAR_SOURCE },
)

/** Multiplication follows the product rule: `D(x · y) = (x y, dx · y + x · dy)`. */
export const ofMul = rule('derivative/mul', P.derivative(P.scalar('mul')), productRule(mul()), {
  source: 'section 2.4.1, section 3.6',
})

/**
 * The derivative of a nonlinear generator (issue 13, section 1; Fig. 32 for a generic map): its
 * opaque tangent map dF, linear in the tangent, beside F itself,
 * `D(F) = (x, dx) ↦ (F x, dF(x, dx))`, the points copied to both. One-way (the right side is
 * built by `jvp`). A linear generator is its own derivative (`derivative/linear`), a multilinear
 * one follows the product rule; a second derivative of a generator has no law.
 */
export const ofGenerator = rule(
  'derivative/generator',
  P.derivative(f),
  v.build('(?f x, d?f(x, dx))', (bs) =>
    derivativeOfGenerator(termOf(bs, 'f') as Extract<Term, { kind: 'generator' }>),
  ),
  {
    source: 'Fig. 32',
    oneWay: true,
    when: [
      holds('?f is a nonlinear generator (not a transpose or derivative of one)', (bs) => {
        const t = termOf(bs, 'f')
        return t.kind === 'generator' && t.form === 'map' && t.linearity === 'nonlinear'
      }),
    ],
  },
)

/** The derivative laws, in catalogue order. */
export const derivativeRules: ReadonlyArray<Rule> = Object.freeze([
  chain,
  overPar,
  overBroadcast,
  ofLinear,
  ofCopy,
  ofDrop,
  ofSwap,
  ofConstant,
  product,
  ofRelu,
  ofGelu,
  ofExp,
  ofLog,
  ofTanh,
  ofSigmoid,
  ofSqrt,
  ofReciprocal,
  ofStep,
  ofNormcdf,
  ofOffset,
  ofSoftmax,
  ofLayerNorm,
  ofMax,
  ofArgmax,
  ofMean,
  ofMul,
  ofGenerator,
])
