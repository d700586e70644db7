/**
 * The Term union: morphisms of the monoidal category of tuples of tensors (DESIGN.md section 3).
 * Terms are deeply frozen plain data with a string-literal `kind`, built only by the smart
 * constructors (`construct.ts`, `primitives.ts`, `src/linear`), which infer `dom` and `cod` and
 * record the term's polynomial degree structure (`poly`, see `linearity.ts`).
 *
 * @packageDocumentation
 */
import type { Dim } from './dim.js'
import { absurd } from './errors.js'
import type { Shape, TupleType } from './types.js'

/**
 * The polynomial structure of a term, per output segment: `undefined` when that output is not
 * known to be a polynomial of degree at most one in each input segment; otherwise its monomials,
 * each the sorted comma-separated list of input segments it multiplies (`''` is a constant, `[]`
 * is the zero map). See `linearity.ts`.
 */
export type Poly = ReadonlyArray<ReadonlyArray<string> | undefined>

/** Linear (jointly, over the whole input tuple), multilinear (in each segment), or neither. */
export type Linearity = 'linear' | 'multilinear' | 'nonlinear'

interface Typed {
  readonly dom: TupleType
  readonly cod: TupleType
  readonly linearity: Linearity
  readonly poly: Poly
}

/** The identity on a tuple type. */
export interface Id extends Typed {
  readonly kind: 'id'
  readonly type: TupleType
}

/** `f ; g ; ...`: the parts in sequence (paper section 2.2). Kept flattened, at least two parts. */
export interface Seq extends Typed {
  readonly kind: 'seq'
  readonly parts: ReadonlyArray<Term>
}

/** `f ⊗ g ⊗ ...`: the parts side by side on consecutive tuple segments. Flattened, at least two. */
export interface Par extends Typed {
  readonly kind: 'par'
  readonly parts: ReadonlyArray<Term>
}

/** The symmetry `A × B -> B × A` of tuples. */
export interface Swap extends Typed {
  readonly kind: 'swap'
  readonly left: TupleType
  readonly right: TupleType
}

/** Δ: `T -> T × T`, the Cartesian copy. */
export interface Copy extends Typed {
  readonly kind: 'copy'
  readonly type: TupleType
}

/** `T -> ()`, the Cartesian delete. */
export interface Drop extends Typed {
  readonly kind: 'drop'
  readonly type: TupleType
}

/**
 * Where a broadcast places its axes in one input segment: at a position of the body's input
 * shape, or `'shared'` when the segment is not broadcast over (inner broadcasting, Fig. 14).
 */
export type Placement = number | 'shared'

/**
 * `body` broadcast over `axes` (paper Fig. 13, 14): output j at index i is body's output j on the
 * i-th slices of the broadcast inputs and the whole of the shared inputs. `inputs[s]` places the
 * axes in body input s (or shares it), `outputs[s]` places them in body output s.
 */
export interface Broadcast extends Typed {
  readonly kind: 'broadcast'
  readonly body: Term
  readonly axes: Shape
  readonly inputs: ReadonlyArray<Placement>
  readonly outputs: ReadonlyArray<number>
}

/**
 * A structural multilinear map in einsum form (paper section 2.4.2, Fig. 19): each input and the
 * output list their axes by label; `dims` gives each label's size. Repeated labels in an input
 * take a diagonal, labels missing from the output are summed, labels repeated in the output embed
 * on a diagonal, labels only in the output spread a constant. `name` records the unit and cup.
 */
export interface Einsum extends Typed {
  readonly kind: 'einsum'
  readonly inputs: ReadonlyArray<ReadonlyArray<string>>
  readonly output: ReadonlyArray<string>
  readonly dims: Readonly<Record<string, Dim>>
  readonly name?: 'unit' | 'cup'
}

/** The scalar functions: nonlinear unary maps, scaling, addition and multiplication on `[]`. */
export type ScalarOp =
  | 'relu'
  | 'gelu'
  | 'exp'
  | 'log'
  | 'tanh'
  | 'sigmoid'
  | 'sqrt'
  | 'reciprocal'
  | 'step'
  | 'normcdf'
  | 'scale'
  | 'offset'
  | 'add'
  | 'mul'

/**
 * A scalar function `[] -> []` (or `[] × [] -> []` for add and mul); broadcast it for shapes.
 * `step` (the Heaviside step, 0 at 0: the derivative of relu) and `normcdf` (Φ, which the
 * derivative of gelu needs) exist for derivatives (paper section 3.6); `offset` adds its factor.
 */
export interface Scalar extends Typed {
  readonly kind: 'scalar'
  readonly op: ScalarOp
  /** The factor of `scale`, the constant added by `offset`; 1 otherwise. */
  readonly factor: number
  /**
   * `scale` only: the factor is further multiplied by the size of `dim` to the `power`, so that
   * terms stay polymorphic in sizes (the `1/√k` of attention, Fig. 22, is `k^-0.5`).
   */
  readonly bySize?: SizePower
}

/** A size raised to a power: `size(dim)^power`. */
export interface SizePower {
  readonly dim: Dim
  readonly power: number
}

/**
 * The operations on one axis: `[a] -> [a]` (softmax, layerNorm, argmax) or `[a] -> []` (max,
 * mean). `argmax` is the one-hot vector of the first maximum: the derivative of max.
 */
export type AxisOpName = 'softmax' | 'layerNorm' | 'max' | 'mean' | 'argmax'

/** An operation on one axis; broadcast it for the others (paper Fig. 21, 25). */
export interface AxisOp extends Typed {
  readonly kind: 'axisOp'
  readonly op: AxisOpName
  readonly axis: Dim
  /** The ε of layerNorm (added to the variance); 0 otherwise. */
  readonly epsilon: number
}

/**
 * The ket `|i>`: `[a] -> []`, the entry at position i (paper Fig. 10, 11). Its transpose, the
 * `adjoint`, is the one-hot embedding `[] -> [a]` (the bra `<i|`).
 */
export interface Index extends Typed {
  readonly kind: 'index'
  readonly axis: Dim
  readonly at: number
  readonly adjoint?: true
}

/** A row-major reshape between shapes of equal size (tandem axes, paper Fig. 11). */
export interface View extends Typed {
  readonly kind: 'view'
  readonly from: Shape
  readonly to: Shape
}

/**
 * Zero padding of one axis: `[a] -> [pad(a, before, after)]`. Its transpose, the `adjoint`, is
 * the crop `[pad(a, before, after)] -> [a]`.
 */
export interface Pad extends Typed {
  readonly kind: 'pad'
  readonly axis: Dim
  readonly before: number
  readonly after: number
  readonly adjoint?: true
}

/**
 * The convolution tensor (paper eq. 4): `[x] -> [y k]`, `out[i, j] = in[s i + d j]`, y by eq. 5.
 * Its transpose, the `adjoint`, is `[y k] -> [x]`, `out[s i + d j] += in[i, j]`: the tensor of
 * transposed convolution (Fig. 26).
 */
export interface ConvTensor extends Typed {
  readonly kind: 'convTensor'
  readonly input: Dim
  readonly kernel: Dim
  readonly stride: number
  readonly dilation: number
  readonly adjoint?: true
}

/**
 * Concatenation along one axis: `[a₁] × ... × [aₙ] -> [a₁ + ... + aₙ]`, the parts joined end to
 * end in order (the skip connections of U-Net, paper Fig. 28, broadcast over the other axes). Its
 * transpose, the `adjoint`, is the split `[a₁ + ... + aₙ] -> [a₁] × ... × [aₙ]`.
 */
export interface Concat extends Typed {
  readonly kind: 'concat'
  /** The axis of each part, in order. */
  readonly pieces: Shape
  readonly adjoint?: true
}

/** The zero map `() -> T`. */
export interface Zero extends Typed {
  readonly kind: 'zero'
  readonly type: TupleType
}

/** A named learned parameter `() -> [shape]`, looked up in the evaluator's params. */
export interface Param extends Typed {
  readonly kind: 'param'
  readonly name: string
  readonly shape: Shape
}

/** A named sub-diagram (the boxes of Fig. 21-29): semantically its body, printed by its name. */
export interface Box extends Typed {
  readonly kind: 'box'
  readonly name: string
  readonly body: Term
}

/**
 * The `(_, D_)` functor of paper Fig. 32 applied to `body`: `(x, dx) ↦ (f x, Df(x)·dx)`, the
 * points and the tangents side by side (`dom = body.dom × body.dom`, `cod = body.cod ×
 * body.cod`). Its meaning is the forward derivative; `jvp` expands it into primitives.
 */
export interface Derivative extends Typed {
  readonly kind: 'derivative'
  readonly body: Term
}

/**
 * What a generator node stands for, given the generator `F : A -> B` it names (`from`, `to`):
 *
 * - `'map'`: F itself, `A -> B`;
 * - `'transpose'`: `Fᵀ : B -> A` of a linear F (paper section 2.4.3, Fig. 20); of a multilinear
 *   F, its transpose in input `slot` with the other inputs held: `A_{-slot} × B -> A_slot`;
 * - `'tangent'`: `dF : A × A -> B`, `(x, dx) ↦ DF(x)·dx` (linear in dx), of a nonlinear F;
 * - `'cotangent'`: `dFᵀ : A × B -> A`, `(x, ȳ) ↦ DF(x)ᵀ ȳ` (linear in ȳ), of a nonlinear F.
 */
export type GeneratorForm = 'map' | 'transpose' | 'tangent' | 'cotangent'

/**
 * An opaque named morphism (the paper's generic F, G, H of Fig. 7, 16, 17, 20, 30-37) with a
 * declared linearity, or a map derived from one (its transpose, its tangent map, the transpose of
 * its tangent map): see {@link GeneratorForm}. Two generator nodes are the same map only if name,
 * types, declared linearity and form are the same. The evaluator runs a supplied implementation,
 * or a seeded random one of the declared linearity.
 */
export interface Generator extends Typed {
  readonly kind: 'generator'
  readonly name: string
  readonly declared: Linearity
  /** The domain of the generator F (not of this node when the form is not `'map'`). */
  readonly from: TupleType
  /** The codomain of the generator F. */
  readonly to: TupleType
  readonly form: GeneratorForm
  /** `'transpose'` of a multilinear F only: the input it is transposed in. */
  readonly slot?: number
}

/** A morphism. */
export type Term =
  | Id
  | Seq
  | Par
  | Swap
  | Copy
  | Drop
  | Broadcast
  | Einsum
  | Scalar
  | AxisOp
  | Index
  | View
  | Pad
  | ConvTensor
  | Concat
  | Zero
  | Param
  | Box
  | Derivative
  | Generator

/**
 * Every term kind, once each (a record over `Term['kind']`, so adding a kind to {@link Term}
 * without listing it here is a type error). The codecs, the decoder fuzz and the codec tests read
 * the kinds from here rather than keeping lists of their own.
 */
const TERM_KIND_SET: { readonly [K in Term['kind']]: true } = {
  id: true,
  seq: true,
  par: true,
  swap: true,
  copy: true,
  drop: true,
  broadcast: true,
  einsum: true,
  scalar: true,
  axisOp: true,
  index: true,
  view: true,
  pad: true,
  convTensor: true,
  concat: true,
  zero: true,
  param: true,
  box: true,
  derivative: true,
  generator: true,
}

/** The kinds of terms, in the order of {@link Term}. */
export const TERM_KINDS: ReadonlyArray<Term['kind']> = Object.freeze(
  Object.keys(TERM_KIND_SET) as Term['kind'][],
)

/**
 * The brand of built terms: a symbol-keyed, non-enumerable property that no constructor data
 * (einsum labels, dims records) can carry, so a term is told from data by more than its fields.
 * @internal
 */
export const TERM_BRAND: unique symbol = Symbol('neural-circuit-diagrams/term')

/** Whether a value is a term built by a smart constructor. */
export const isTermNode = (x: unknown): x is Term =>
  typeof x === 'object' && x !== null && (x as { [TERM_BRAND]?: unknown })[TERM_BRAND] === true

/** The kinds of terms. */
export type TermKind = Term['kind']

/** The direct sub-terms of a term. */
export const children = (t: Term): ReadonlyArray<Term> => {
  switch (t.kind) {
    case 'seq':
    case 'par':
      return t.parts
    case 'broadcast':
    case 'box':
    case 'derivative':
      return [t.body]
    case 'id':
    case 'swap':
    case 'copy':
    case 'drop':
    case 'einsum':
    case 'scalar':
    case 'axisOp':
    case 'index':
    case 'view':
    case 'pad':
    case 'convTensor':
    case 'concat':
    case 'zero':
    case 'param':
    case 'generator':
      return []
    default:
      return absurd(t)
  }
}

/** The number of nodes of a term. */
export const termSize = (t: Term): number => children(t).reduce((n, c) => n + termSize(c), 1)

/**
 * `xs` cut into consecutive runs of the given lengths: the values of a `par`'s tuple, per part
 * (the evaluator, the cost model and the error bounds each walk a `par` so). @internal
 */
export const splitByLengths = <A>(xs: ReadonlyArray<A>, lengths: ReadonlyArray<number>): A[][] => {
  const out: A[][] = []
  let at = 0
  for (const n of lengths) {
    out.push(xs.slice(at, at + n))
    at += n
  }
  return out
}
