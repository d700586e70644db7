/**
 * Einsum: the one primitive for structural multilinear maps (paper section 2.4.2, Fig. 18-20),
 * written as in einops: `'y k h, x k h -> y x h'`. A spec is a spider diagram:
 *
 * - a label repeated within an input takes a diagonal (wires merging);
 * - a label missing from the output is summed (an inner product, a cup);
 * - a label repeated in the output embeds on a diagonal (a unit, a cap);
 * - a label only in the output spreads a constant along it;
 * - a permutation is a transpose; several inputs give an outer product.
 *
 * @packageDocumentation
 */
import { make } from '../core/construct.js'
import { type Dim, type DimLike, dim, readDim } from '../core/dim.js'
import { fail } from '../core/errors.js'
import { multilinearPoly } from '../core/linearity.js'
import type { Einsum, Term } from '../core/term.js'

const LABEL = /^[A-Za-z_][A-Za-z0-9_']*$/

/** A parsed spec: the labels of each input and of the output. */
export interface EinsumSpec {
  readonly inputs: ReadonlyArray<ReadonlyArray<string>>
  readonly output: ReadonlyArray<string>
}

/**
 * Parse an einsum spec. An empty side is one scalar input (or a scalar output).
 *
 * @example
 * ```ts
 * import { parseEinsum } from 'neural-circuit-diagrams'
 * parseEinsum('y k, x k -> y x').inputs // [['y', 'k'], ['x', 'k']]
 * ```
 */
export const parseEinsum = (spec: string): EinsumSpec => {
  const sides = spec.split('->')
  if (sides.length !== 2)
    fail('bad-einsum', `einsum: the spec needs exactly one '->'`, {
      expected: `inputs -> output, such as 'y k h, x k h -> y x h'`,
      got: JSON.stringify(spec),
    })
  const labels = (part: string, what: string): string[] => {
    const ls = part
      .trim()
      .split(/\s+/)
      .filter((l) => l !== '')
    for (const l of ls)
      if (!LABEL.test(l))
        fail('bad-einsum', `einsum: '${l}' in ${what} is not an axis label`, {
          expected:
            'labels of letters, digits, _ and ′, separated by spaces (not starting with a digit)',
          got: JSON.stringify(spec),
          hint: l.includes('(')
            ? 'group axes with view(...), not parentheses'
            : 'separate labels by spaces: "y k", not "yk" unless yk is one axis',
        })
    return ls
  }
  const [lhs, rhs] = sides as [string, string]
  const inputs = lhs.split(',').map((p, i) => Object.freeze(labels(p, `input ${i}`)))
  return Object.freeze({
    inputs: Object.freeze(inputs),
    output: Object.freeze(labels(rhs, 'the output')),
  })
}

/** Options of {@link einsum}. */
export interface EinsumOptions {
  /** The dim of each label; a label not listed is the size variable of its own name. */
  readonly dims?: Readonly<Record<string, DimLike>>
  /** @internal the unit and cup are einsums with names. */
  readonly name?: 'unit' | 'cup'
}

/**
 * A structural multilinear map from an einops-style spec (paper Fig. 19).
 *
 * @example
 * ```ts
 * import { einsum, showTyped } from 'neural-circuit-diagrams'
 * // Fig. 19: the attention scores of multi-head attention, in one step.
 * showTyped(einsum('y k h, x k h -> y x h'))
 * // 'einsum(y k h, x k h -> y x h) : [y k h] × [x k h] -> [y x h]'
 * // A square transpose needs two labels of one dim:
 * showTyped(einsum('i j -> j i', { dims: { i: 'a', j: 'a' } }))
 * // 'einsum(i j -> j i; i=a, j=a) : [a a] -> [a a]'
 * ```
 */
export const einsum = (spec: string, options: EinsumOptions = {}): Term =>
  einsumOf(parseEinsum(spec), options, spec)

/**
 * An einsum from its labels as lists (no spec string to parse): what fusion, canonical forms and
 * normal forms build many of.
 *
 * @example
 * ```ts
 * import { einsumOf, show } from 'neural-circuit-diagrams'
 * show(einsumOf({ inputs: [['y', 'k'], ['x', 'k']], output: ['y', 'x'] })) // 'einsum(y k, x k -> y x)'
 * ```
 */
export const einsumOf = (parsed: EinsumSpec, options: EinsumOptions = {}, spec?: string): Term => {
  const where = () =>
    `einsum('${spec ?? `${parsed.inputs.map((i) => i.join(' ')).join(', ')} -> ${parsed.output.join(' ')}`}')`
  for (const l of [...parsed.inputs.flat(), ...parsed.output])
    if (!LABEL.test(l))
      fail('bad-einsum', `einsum: '${l}' is not an axis label`, {
        expected: 'labels of letters, digits, _ and ′ (not starting with a digit)',
        got: JSON.stringify(l),
        where: where(),
      })
  const used = new Set([...parsed.inputs.flat(), ...parsed.output])
  const given = options.dims ?? {}
  for (const key of Object.keys(given))
    if (!used.has(key))
      fail('bad-einsum', `einsum: dims names a label '${key}' that the spec does not use`, {
        expected: `dims for labels among ${[...used].join(', ') || '(none)'}`,
        got: `dims ${JSON.stringify(Object.keys(given))}`,
        where: where(),
      })
  // Labels may be named like members of Object.prototype ('constructor', '__proto__'): read and
  // write own properties only.
  const dims: Record<string, Dim> = Object.create(null) as Record<string, Dim>
  for (const l of [...used].sort()) {
    const has = Object.prototype.hasOwnProperty.call(given, l)
    Object.defineProperty(dims, l, {
      value: has ? readDim(given[l] as DimLike, `einsum: the dim of label '${l}'`) : dim(l),
      enumerable: true,
    })
  }
  const shape = (ls: ReadonlyArray<string>) => Object.freeze(ls.map((l) => dims[l] as Dim))
  const node: Omit<Einsum, 'linearity'> = {
    kind: 'einsum',
    inputs: Object.freeze(parsed.inputs.map((ls) => Object.freeze([...ls]))),
    output: Object.freeze([...parsed.output]),
    dims: Object.freeze(dims),
    ...(options.name !== undefined ? { name: options.name } : {}),
    dom: Object.freeze(parsed.inputs.map(shape)),
    cod: Object.freeze([shape(parsed.output)]),
    poly: multilinearPoly(parsed.inputs.length),
  }
  return make(node)
}

/**
 * The unit η: `[] -> [a a]`, r times the identity matrix (paper section 2.4.3, Fig. 20).
 *
 * @example
 * ```ts
 * import { unit, showTyped } from 'neural-circuit-diagrams'
 * showTyped(unit('a')) // 'unit[a] : [] -> [a a]'
 * ```
 */
export const unit = (axis: DimLike): Term =>
  einsum(' -> a a', { dims: { a: readDim(axis, 'unit: the axis') }, name: 'unit' })

/**
 * The cup: the inner product of the two axes of `[a a]`, summing the diagonal (paper Fig. 20).
 *
 * @example
 * ```ts
 * import { cup, showTyped } from 'neural-circuit-diagrams'
 * showTyped(cup('a')) // 'cup[a] : [a a] -> []'
 * ```
 */
export const cup = (axis: DimLike): Term =>
  einsum('a a -> ', { dims: { a: readDim(axis, 'cup: the axis') }, name: 'cup' })
