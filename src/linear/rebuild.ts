/**
 * Rebuild a term from its constructor arguments: a plain node tagged by `kind` whose fields are
 * those of the term without the derived `dom`, `cod`, `linearity` and `poly`, and whose sub-terms
 * are terms or such nodes. Every node goes through its smart constructor, so the result is
 * type-checked exactly as if built by hand. Rewriting instantiates rule sides with it.
 *
 * @packageDocumentation
 */
import { box, broadcast, copy, derivative, drop, id, par, seq, swap } from '../core/construct.js'
import type { Dim } from '../core/dim.js'
import { absurd } from '../core/errors.js'
import {
  add,
  argmax,
  layerNorm,
  max,
  mean,
  mul,
  offset,
  param,
  scale,
  softmax,
  unary,
} from '../core/primitives.js'
import { generator, generatorNode } from '../core/generator.js'
import {
  type AxisOpName,
  type GeneratorForm,
  type Linearity,
  type Placement,
  type ScalarOp,
  type SizePower,
  type Term,
  isTermNode,
} from '../core/term.js'
import type { Shape, TupleType } from '../core/types.js'
import { einsum } from './einsum.js'
import {
  concatPieces,
  convTensor,
  flipAdjoint,
  index,
  pad,
  splitPieces,
  view,
  zero,
} from './structural.js'

/** A term, or the constructor arguments of one with sub-terms of the same form. */
export type TermNode = Term | TermArgs

/** The constructor arguments of a term, by kind. */
export type TermArgs =
  | { readonly kind: 'id' | 'copy' | 'drop' | 'zero'; readonly type: TupleType }
  | { readonly kind: 'seq' | 'par'; readonly parts: ReadonlyArray<TermNode> }
  | { readonly kind: 'swap'; readonly left: TupleType; readonly right: TupleType }
  | {
      readonly kind: 'broadcast'
      readonly body: TermNode
      readonly axes: Shape
      readonly inputs: ReadonlyArray<Placement>
      readonly outputs: ReadonlyArray<number>
    }
  | {
      readonly kind: 'einsum'
      readonly inputs: ReadonlyArray<ReadonlyArray<string>>
      readonly output: ReadonlyArray<string>
      readonly dims: Readonly<Record<string, Dim>>
      readonly name?: 'unit' | 'cup'
    }
  | {
      readonly kind: 'scalar'
      readonly op: ScalarOp
      readonly factor: number
      readonly bySize?: SizePower
    }
  | {
      readonly kind: 'axisOp'
      readonly op: AxisOpName
      readonly axis: Dim
      readonly epsilon: number
    }
  | { readonly kind: 'index'; readonly axis: Dim; readonly at: number; readonly adjoint?: true }
  | { readonly kind: 'view'; readonly from: Shape; readonly to: Shape }
  | {
      readonly kind: 'pad'
      readonly axis: Dim
      readonly before: number
      readonly after: number
      readonly adjoint?: true
    }
  | {
      readonly kind: 'convTensor'
      readonly input: Dim
      readonly kernel: Dim
      readonly stride: number
      readonly dilation: number
      readonly adjoint?: true
    }
  | { readonly kind: 'concat'; readonly pieces: Shape; readonly adjoint?: true }
  | { readonly kind: 'param'; readonly name: string; readonly shape: Shape }
  | { readonly kind: 'box'; readonly name: string; readonly body: TermNode }
  | { readonly kind: 'derivative'; readonly body: TermNode }
  | {
      readonly kind: 'generator'
      readonly name: string
      readonly declared: Linearity
      readonly from: TupleType
      readonly to: TupleType
      readonly form: GeneratorForm
      readonly slot?: number
    }

const adjointIf = (adjoint: true | undefined, t: Term): Term =>
  adjoint === true ? flipAdjoint(t as Parameters<typeof flipAdjoint>[0]) : t

/** Whether a node is already a built term (it carries its derived type). */
export const isTerm = (n: TermNode): n is Term => isTermNode(n)

const axisOp = (op: AxisOpName, axis: Dim, epsilon: number): Term => {
  switch (op) {
    case 'softmax':
      return softmax(axis)
    case 'layerNorm':
      return layerNorm(axis, { epsilon })
    case 'max':
      return max(axis)
    case 'mean':
      return mean(axis)
    case 'argmax':
      return argmax(axis)
    default:
      return absurd(op)
  }
}

const scalar = (n: Extract<TermArgs, { kind: 'scalar' }>): Term => {
  switch (n.op) {
    case 'scale':
      return scale(n.factor, undefined, n.bySize === undefined ? {} : { bySize: n.bySize })
    case 'offset':
      return offset(n.factor)
    case 'add':
      return add()
    case 'mul':
      return mul()
    case 'relu':
    case 'gelu':
    case 'exp':
    case 'log':
    case 'tanh':
    case 'sigmoid':
    case 'sqrt':
    case 'reciprocal':
    case 'step':
    case 'normcdf':
      return unary(n.op)
    default:
      return absurd(n.op)
  }
}

/**
 * Build a term from constructor arguments (terms inside are kept as they are).
 *
 * @example
 * ```ts
 * import { rebuild, relu, show } from 'neural-circuit-diagrams'
 * show(rebuild({ kind: 'seq', parts: [relu('k'), { kind: 'id', type: relu('k').cod }] })) // 'relu[k] ; id([k])'
 * ```
 */
export const rebuild = (n: TermNode): Term => {
  if (isTerm(n)) return n
  switch (n.kind) {
    case 'id':
      return id(n.type)
    case 'copy':
      return copy(n.type)
    case 'drop':
      return drop(n.type)
    case 'zero':
      return zero(n.type)
    case 'seq':
      return seq(...n.parts.map(rebuild))
    case 'par':
      return par(...n.parts.map(rebuild))
    case 'swap':
      return swap(n.left, n.right)
    case 'broadcast':
      return broadcast(rebuild(n.body), n.axes, { inputs: n.inputs, outputs: n.outputs })
    case 'einsum': {
      const spec = `${n.inputs.map((i) => i.join(' ')).join(', ')} -> ${n.output.join(' ')}`
      return einsum(spec, n.name === undefined ? { dims: n.dims } : { dims: n.dims, name: n.name })
    }
    case 'scalar':
      return scalar(n)
    case 'axisOp':
      return axisOp(n.op, n.axis, n.epsilon)
    case 'index':
      return adjointIf(n.adjoint, index(n.axis, n.at))
    case 'view':
      return view(n.from, n.to)
    case 'pad':
      return adjointIf(n.adjoint, pad(n.axis, n.before, n.after))
    case 'convTensor':
      return adjointIf(
        n.adjoint,
        convTensor(n.input, n.kernel, { stride: n.stride, dilation: n.dilation }),
      )
    case 'concat':
      return n.adjoint === true ? splitPieces(n.pieces) : concatPieces(n.pieces)
    case 'param':
      return param(n.name, n.shape)
    case 'box':
      return box(n.name, rebuild(n.body))
    case 'derivative':
      return derivative(rebuild(n.body))
    case 'generator': {
      // Checked as the constructor checks it (name, linearity, arity), then the derived form.
      const g = generator(n.name, n.from, n.to, { linearity: n.declared })
      if (g.kind !== 'generator' || (n.form === 'map' && n.slot === undefined)) return g
      return generatorNode(g.name, g.declared, g.from, g.to, n.form, n.slot)
    }
    default:
      return absurd(n)
  }
}
