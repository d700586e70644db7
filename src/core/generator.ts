/**
 * Generators: opaque named morphisms with a declared linearity, the paper's generic maps F, G, H
 * (Fig. 7, 16, 17, 20, 30-37), about which theorems are stated without a body. A generator
 * type-checks like any term and its declared linearity is its linearity, so a law with the side
 * condition `linear(?f)` applies to a linear generator and is refused for a nonlinear one.
 *
 * Maps derived from a generator are generator nodes of another {@link GeneratorForm}: the
 * transpose `Fᵀ` of a linear F (Fig. 20), the tangent map `dF` of a nonlinear F (`D(F)` expands
 * to `(F x, dF(x, dx))`, Fig. 32), and the transpose of the tangent map `dFᵀ` (the reverse
 * derivative, Fig. 35). A multilinear F follows the product rule through F itself and is
 * transposed in one input at a time.
 *
 * @packageDocumentation
 */
import { dimKey } from './dim.js'
import { fail } from './errors.js'
import { make } from './construct.js'
import { multilinearPoly, nonlinearPoly, zeroPoly } from './linearity.js'
import type { Generator, GeneratorForm, Linearity, Poly, Term } from './term.js'
import { type TupleType, concatTypes, showType, toType } from './types.js'
import type { TypeLike } from './construct.js'

/** Options of {@link generator}. */
export interface GeneratorOptions {
  /** The declared linearity (default `'nonlinear'`): what laws and derivatives may assume. */
  readonly linearity?: Linearity
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.\-/']*$/

const LINEARITIES: ReadonlyArray<Linearity> = ['linear', 'multilinear', 'nonlinear']

/** Every output the sum of all `n` inputs: a jointly linear map. */
const linearPoly = (inputs: number, outputs: number): Poly =>
  inputs === 0
    ? zeroPoly(outputs)
    : Object.freeze(
        Array.from({ length: outputs }, () =>
          Object.freeze(Array.from({ length: inputs }, (_, i) => String(i))),
        ),
      )

/** The structure of a node: see `linearity.ts`. */
const polyOf = (declared: Linearity, form: GeneratorForm, from: TupleType, to: TupleType): Poly => {
  switch (form) {
    case 'map':
      return declared === 'linear'
        ? linearPoly(from.length, to.length)
        : declared === 'multilinear'
          ? multilinearPoly(from.length, to.length)
          : nonlinearPoly(to.length)
    case 'transpose':
      // Linear: Fᵀ is linear in the cotangents; multilinear in slot l: multilinear in the
      // other inputs and the cotangents together.
      return declared === 'linear'
        ? linearPoly(to.length, from.length)
        : multilinearPoly(from.length)
    case 'tangent':
      return nonlinearPoly(to.length)
    case 'cotangent':
      return nonlinearPoly(from.length)
  }
}

/** The type of a node: `dom`, `cod`. */
const typeOf = (
  form: GeneratorForm,
  from: TupleType,
  to: TupleType,
  slot: number | undefined,
): { dom: TupleType; cod: TupleType } => {
  switch (form) {
    case 'map':
      return { dom: from, cod: to }
    case 'transpose':
      if (slot === undefined) return { dom: to, cod: from }
      return {
        dom: Object.freeze([...from.filter((_, i) => i !== slot), ...to]),
        cod: Object.freeze([from[slot] as TupleType[number]]),
      }
    case 'tangent':
      return { dom: concatTypes(from, from), cod: to }
    case 'cotangent':
      return { dom: concatTypes(from, to), cod: from }
  }
}

/** A generator node from its data, checked. @internal */
export const generatorNode = (
  name: string,
  declared: Linearity,
  from: TupleType,
  to: TupleType,
  form: GeneratorForm,
  slot?: number,
): Generator => {
  const where = `generator '${name}' : ${showType(from)} -> ${showType(to)} (${declared})`
  if (form === 'transpose' && declared === 'nonlinear')
    fail('not-linear', `the transpose of a nonlinear generator does not exist`, {
      expected: 'a linear or multilinear generator',
      got: where,
      hint: 'differentiate first: the transpose of its tangent map is the cotangent form',
    })
  if (form === 'transpose' && declared === 'multilinear') {
    if (slot === undefined || !Number.isInteger(slot) || slot < 0 || slot >= from.length)
      fail('bad-argument', `the transpose of a multilinear generator is taken in one input`, {
        expected: `a slot from 0 to ${from.length - 1}`,
        got: String(slot),
        where,
      })
  } else if (slot !== undefined)
    fail('bad-argument', `only the transpose of a multilinear generator has a slot`, {
      expected: 'no slot',
      got: String(slot),
      where,
    })
  if ((form === 'tangent' || form === 'cotangent') && declared !== 'nonlinear')
    fail('bad-argument', `the ${form} form is for nonlinear generators`, {
      expected: 'a nonlinear generator',
      got: where,
      hint:
        declared === 'linear'
          ? 'a linear generator is its own derivative'
          : 'a multilinear generator follows the product rule',
    })
  const { dom, cod } = typeOf(form, from, to, slot)
  return make({
    kind: 'generator',
    name,
    declared,
    from,
    to,
    form,
    ...(slot !== undefined ? { slot } : {}),
    dom,
    cod,
    poly: polyOf(declared, form, from, to),
  })
}

/**
 * An opaque named morphism `dom -> cod` with a declared linearity (the paper's generic F, G, H).
 * A multilinear generator has one output segment and at least two input segments (one is linear:
 * it is recorded as linear). It evaluates by an implementation given to `evaluate` (`EvalOptions.generators`), or
 * by a seeded random map of its linearity.
 *
 * @example
 * ```ts
 * import { generator, seq, showTyped } from 'neural-circuit-diagrams'
 * const G = generator('G', [['x']], [['y']])
 * const H = generator('H', [['y']], [['z']], { linearity: 'linear' })
 * showTyped(seq(G, H)) // 'G ; H : [x] -> [z]'
 * seq(G, H).linearity // 'nonlinear'
 * H.linearity // 'linear'
 * ```
 */
export const generator = (
  name: string,
  dom: TypeLike,
  cod: TypeLike,
  options: GeneratorOptions = {},
): Term => {
  if (typeof name !== 'string' || !NAME.test(name))
    fail('bad-argument', `generator: ${JSON.stringify(name)} is not a generator name`, {
      expected: "letters, digits, _ . - / ' (not starting with a digit)",
      got: JSON.stringify(name),
    })
  const declared = options.linearity ?? 'nonlinear'
  if (!LINEARITIES.includes(declared))
    fail('bad-argument', `generator: unknown linearity ${JSON.stringify(declared)}`, {
      expected: LINEARITIES.join(', '),
      got: JSON.stringify(declared),
      where: `generator '${name}'`,
    })
  const from = toType(dom)
  const to = toType(cod)
  if (declared === 'multilinear' && from.length === 0)
    fail('bad-argument', `generator: a multilinear map needs input segments`, {
      expected: 'at least two input segments (one makes it linear)',
      got: `generator '${name}' : ${showType(from)} -> ${showType(to)}`,
      hint: "a map of no inputs is a constant: declare it 'nonlinear'",
    })
  if (declared === 'multilinear' && to.length !== 1)
    fail('bad-argument', `generator: a multilinear map has one output segment`, {
      expected: 'one output segment (a multilinear form)',
      got: `generator '${name}' : ${showType(from)} -> ${showType(to)}`,
      hint: 'state one multilinear generator per output and copy the inputs to them',
    })
  const recorded = declared === 'multilinear' && from.length === 1 ? 'linear' : declared
  return generatorNode(name, recorded, from, to, 'map')
}

/**
 * A canonical text of a generator node (dims by key): equal exactly for the same map (name,
 * types, declared linearity, form and slot). @internal
 */
export const generatorKey = (g: Generator): string => {
  const type = (t: TupleType): string => t.map((s) => s.map(dimKey).join(' ')).join('|')
  return `g(${JSON.stringify(g.name)};${g.declared};${g.form};${g.slot ?? ''};${type(g.from)};${type(g.to)})`
}

/** Whether a term is a generator of the given form (`'map'` by default). */
export const isGenerator = (t: Term, form: GeneratorForm = 'map'): t is Generator =>
  t.kind === 'generator' && t.form === form

/**
 * The transpose `Fᵀ` of a linear generator (paper Fig. 20): `<F x, y> = <x, Fᵀ y>`; of a
 * transposed one, the generator again. The evaluator computes the true transpose of F's
 * implementation (or of its random interpretation).
 *
 * @example
 * ```ts
 * import { generator, generatorTranspose, showTyped } from 'neural-circuit-diagrams'
 * const H = generator('H', [['y']], [['z']], { linearity: 'linear' })
 * showTyped(generatorTranspose(H)) // 'Hᵀ : [z] -> [y]'
 * ```
 */
export const generatorTranspose = (g: Term, slot?: number): Term => {
  if (g.kind !== 'generator')
    return fail('bad-argument', 'generatorTranspose: not a generator', {
      expected: 'a generator node',
      got: g.kind,
    })
  if (g.form === 'transpose' && g.declared === 'linear')
    return generatorNode(g.name, g.declared, g.from, g.to, 'map')
  if (g.form !== 'map')
    return fail('bad-argument', `generatorTranspose: the ${g.form} form has no transpose here`, {
      expected: 'a linear or multilinear generator, or the transpose of a linear one',
      got: `${g.name} (${g.form})`,
      hint: 'transpose a term containing it with transpose(), which splits it by structure',
    })
  return generatorNode(g.name, g.declared, g.from, g.to, 'transpose', slot)
}
