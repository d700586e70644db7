/**
 * Associated transposes with partial bends (paper section 2.4.3, Fig. 20, 24, 36). A linear
 * `f : [A] -> [B]` has an associated tensor `T[a, b] = f(e_a)[b]` over all of its axes; which of
 * them are inputs and which outputs is a choice. Fig. 20's first row bends one output wire of
 * `F : [a] -> [b c]` back to the input side, `Fᵀ : [b a] -> [c]`: the unit on the axes that move
 * from input to output, f, and the inner product on the axes that move from output to input.
 *
 * A bend names, for the new input and the new output, which of f's axes they are, in order:
 * `['in', i]` is f's input axis i, `['out', j]` its output axis j. Every axis of f appears exactly
 * once. An output axis among the new inputs is bent back (paired with f's output by an inner
 * product); an input axis among the new outputs is bent forward (made by the unit):
 *
 *     bend(f, { dom, cod })(y)[cod] = Σ_{axes of dom} T[a, b] y[dom]
 *
 * The full bend (`dom` every output axis in order, `cod` every input axis in order) is
 * {@link transpose}; the empty bend (`dom` the inputs, `cod` the outputs, in order) is f.
 *
 * Two constructions, equal by the law `bend/units-einsum` (laws/bend.test.ts):
 * - {@link bend}: from the unit and the inner product (Fig. 20), `f` applied on one leg;
 * - {@link bendByEinsum}: f's associated tensor (f applied to the unit) contracted with the
 *   input in one einsum, a relabelling of the tensor's axes.
 *
 * Only one segment in and one out; a tuple map is bent segment by segment (its blocks).
 *
 * @packageDocumentation
 */
import { broadcast, id, par, seq } from '../core/construct.js'
import type { Dim } from '../core/dim.js'
import { fail } from '../core/errors.js'
import { offset } from '../core/primitives.js'
import { show } from '../core/show.js'
import type { Term } from '../core/term.js'
import { type Shape, showType } from '../core/types.js'
import { einsumOf } from '../linear/einsum.js'
import { zero } from '../linear/structural.js'
import { shapeUnit } from '../linear/transpose-by-snake.js'
import { linearityIn } from './transpose.js'

/** One axis of the map being bent: its input axis i (`['in', i]`) or output axis j (`['out', j]`). */
export type AxisRef = readonly ['in' | 'out', number]

/** Where each axis of the bent map goes: the new input's axes and the new output's, in order. */
export interface BendOptions {
  /** The axes of the new input, in order (f's inputs stay, f's outputs are bent back). */
  readonly dom: ReadonlyArray<AxisRef>
  /** The axes of the new output, in order (f's outputs stay, f's inputs are bent forward). */
  readonly cod: ReadonlyArray<AxisRef>
}

interface Plan {
  readonly a: Shape
  readonly b: Shape
  readonly dom: ReadonlyArray<AxisRef>
  readonly cod: ReadonlyArray<AxisRef>
  readonly dims: Record<string, Dim>
}

const label = (r: AxisRef): string => `${r[0] === 'in' ? 'i' : 'o'}${r[1]}`
const copyLabel = (r: AxisRef): string => `u${r[1]}`

const plan = (f: Term, options: BendOptions, who: string): Plan => {
  const where = show(f, { maxLength: 120 })
  if (f.dom.length !== 1 || f.cod.length !== 1)
    fail('bad-argument', `${who}: the map must take one segment to one`, {
      expected: 'a linear map [A] -> [B]',
      got: `${showType(f.dom)} -> ${showType(f.cod)}`,
      where,
      hint: 'bend each block of a tuple map separately',
    })
  if (f.linearity !== 'linear') {
    const why = linearityIn(f).find((l) => !l.linear)
    fail('not-linear', `${who}: only a linear map can be bent`, {
      expected: 'a linear map (paper section 2.4.3, Fig. 20)',
      got: why?.reason ?? `a ${f.linearity} map`,
      where: why?.where ?? where,
    })
  }
  const a = f.dom[0] as Shape
  const b = f.cod[0] as Shape
  const refs = [...(options.dom ?? []), ...(options.cod ?? [])]
  const seen = new Set<string>()
  for (const r of refs) {
    const ok =
      Array.isArray(r) &&
      r.length === 2 &&
      (r[0] === 'in' || r[0] === 'out') &&
      Number.isInteger(r[1]) &&
      r[1] >= 0 &&
      r[1] < (r[0] === 'in' ? a : b).length
    if (!ok)
      fail('bad-argument', `${who}: an axis reference is malformed or out of range`, {
        expected: `['in', 0..${a.length - 1}] or ['out', 0..${b.length - 1}] (f is ${showType(f.dom)} -> ${showType(f.cod)})`,
        got: JSON.stringify(r),
        where,
      })
    if (seen.has(label(r)))
      fail('bad-argument', `${who}: an axis is named twice`, {
        expected: 'every axis of f exactly once among dom and cod',
        got: `${JSON.stringify(r)} twice`,
        where,
      })
    seen.add(label(r))
  }
  if (seen.size !== a.length + b.length) {
    const missing = [
      ...a.map((_, i): AxisRef => ['in', i]),
      ...b.map((_, j): AxisRef => ['out', j]),
    ].filter((r) => !seen.has(label(r)))
    fail('bad-argument', `${who}: every axis of f must be placed`, {
      expected: `all ${a.length + b.length} axes of ${showType(f.dom)} -> ${showType(f.cod)}`,
      got: `no place for ${missing.map((r) => JSON.stringify(r)).join(', ')}`,
      where,
    })
  }
  const dims: Record<string, Dim> = {}
  a.forEach((d, i) => {
    dims[`i${i}`] = d
    dims[`u${i}`] = d
  })
  b.forEach((d, j) => {
    dims[`o${j}`] = d
  })
  return { a, b, dom: options.dom, cod: options.cod, dims }
}

/** The dims of the labels one einsum uses (einsumOf refuses dims for labels it does not use). */
const dimsFor = (p: Plan, labels: ReadonlyArray<string>): Record<string, Dim> =>
  Object.fromEntries(labels.map((l) => [l, p.dims[l] as Dim]))

const shapeOf = (p: Plan, refs: ReadonlyArray<AxisRef>): Shape =>
  refs.map((r) => p.dims[label(r)] as Dim)

/**
 * Bend some wires of a linear `f : [A] -> [B]` (paper Fig. 20), built from the unit and the inner
 * product: the unit makes the identity on the input axes bent to the output side, one leg of it
 * joins the kept inputs as f's input, f is broadcast over the rest, and an inner product pairs
 * f's bent outputs with the new input's (a contracted pair of labels). The compact laws apply to
 * the result, which is made of primitives only.
 *
 * @example
 * ```ts
 * import { bend, einsum, evaluate, showTyped } from 'neural-circuit-diagrams'
 * // Fig. 20, first row: F : [a] -> [b c] bent at b gives Fᵀ : [b a] -> [c].
 * const F = einsum('a -> b c', { dims: { a: 'a', b: 'b', c: 'c' } })
 * const Ft = bend(F, { dom: [['out', 0], ['in', 0]], cod: [['out', 1]] })
 * showTyped(Ft).endsWith(': [b a] -> [c]') // true
 * evaluate(Ft, { a: 2, b: 2, c: 1 }, [[1, 2, 3, 4]])[0] // Float64Array [10]
 * ```
 */
export const bend = (f: Term, options: BendOptions): Term => {
  const p = plan(f, options, 'bend')
  const domShape = shapeOf(p, p.dom)
  const forward = p.cod.filter((r) => r[0] === 'in')
  const back = p.dom.filter((r) => r[0] === 'out')
  const unitShape = shapeOf(p, forward)
  const parts: Term[] = []
  // [dom] -> [dom U U′]: the input times the identity on the axes bent forward.
  if (forward.length > 0)
    parts.push(broadcast(shapeUnit(unitShape), domShape, { inputs: [0], outputs: [0] }))
  const inputs = [...p.dom.map(label), ...forward.map(label), ...forward.map(copyLabel)]
  const fIn = p.a.map((_, i) => `i${i}`)
  const fOut = p.b.map((_, j) => `o${j}`)
  const outer = [...back.map(label), ...forward.map(copyLabel)]
  // Arrange as [V U′ A]: the bent outputs and the unit's second leg first, f's input last
  // (left out when it is the identity).
  const arranged = [...outer, ...fIn]
  if (arranged.join(' ') !== inputs.join(' '))
    parts.push(
      einsumOf({ inputs: [inputs], output: [...outer, ...fIn] }, { dims: dimsFor(p, inputs) }),
    )
  const over = [...shapeOf(p, back), ...unitShape]
  parts.push(over.length === 0 ? f : broadcast(f, over, { at: 0 }))
  // [V U′ B] -> [cod]: each bent output label appears twice, an inner product (the cup).
  const out = p.cod.map((r) => (r[0] === 'in' ? copyLabel(r) : label(r)))
  const last = [...outer, ...fOut]
  parts.push(einsumOf({ inputs: [last], output: out }, { dims: dimsFor(p, last) }))
  return seq(...parts)
}

/**
 * The same bend as {@link bend}, built directly: f's associated tensor `T = f(η_A) : [A B]`
 * (f broadcast over the unit of its input), contracted with the new input in one einsum whose
 * labels say which axes of T are the new input's and which the new output's.
 *
 * @example
 * ```ts
 * import { bendByEinsum, einsum, evaluate } from 'neural-circuit-diagrams'
 * const F = einsum('a -> b c', { dims: { a: 'a', b: 'b', c: 'c' } })
 * const Ft = bendByEinsum(F, { dom: [['out', 0], ['in', 0]], cod: [['out', 1]] })
 * evaluate(Ft, { a: 2, b: 2, c: 1 }, [[1, 2, 3, 4]])[0] // Float64Array [10]
 * ```
 */
export const bendByEinsum = (f: Term, options: BendOptions): Term => {
  const p = plan(f, options, 'bendByEinsum')
  const fIn = p.a.map((_, i) => `i${i}`)
  const fOut = p.b.map((_, j) => `o${j}`)
  const one = seq(zero([[]]), offset(1))
  const tensor = seq(one, shapeUnit(p.a), p.a.length === 0 ? f : broadcast(f, p.a, { at: 0 }))
  const all = [...fIn, ...fOut]
  return seq(
    par(id([shapeOf(p, p.dom)]), tensor),
    einsumOf(
      { inputs: [p.dom.map(label), all], output: p.cod.map(label) },
      { dims: dimsFor(p, all) },
    ),
  )
}

/**
 * The bend that undoes `options`: bending `bend(f, options)` by `unbend(options)` gives f back
 * (law `bend/involution`). Its new input is f's input and its new output f's output, each axis
 * found where `options` put it.
 *
 * @example
 * ```ts
 * import { bend, unbend, einsum, evaluate } from 'neural-circuit-diagrams'
 * const F = einsum('a -> b c', { dims: { a: 'a', b: 'b', c: 'c' } })
 * const o = { dom: [['out', 0], ['in', 0]], cod: [['out', 1]] } as const
 * evaluate(bend(bend(F, o), unbend(o)), { a: 2, b: 2, c: 1 }, [[5, 7]])[0] // Float64Array [12, 12]
 * ```
 */
export const unbend = (options: BendOptions): BendOptions => {
  const find = (r: AxisRef): AxisRef => {
    const i = options.dom.findIndex((q) => q[0] === r[0] && q[1] === r[1])
    if (i >= 0) return ['in', i]
    return ['out', options.cod.findIndex((q) => q[0] === r[0] && q[1] === r[1])]
  }
  const ins = options.dom
    .concat(options.cod)
    .filter((r) => r[0] === 'in')
    .sort((x, y) => x[1] - y[1])
  const outs = options.dom
    .concat(options.cod)
    .filter((r) => r[0] === 'out')
    .sort((x, y) => x[1] - y[1])
  return { dom: ins.map(find), cod: outs.map(find) }
}
