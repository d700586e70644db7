/**
 * Whole test cases for laws: a random term with sizes valid for it, inputs and parameters, which
 * print in text form (`show`) when fast-check reports a counterexample.
 *
 * @packageDocumentation
 */
import fc from 'fast-check'
import type { TypeLike } from '../core/construct.js'
import type { Sizes } from '../core/dim.js'
import { show, showTyped } from '../core/show.js'
import type { Term } from '../core/term.js'
import { type TupleType, toType } from '../core/types.js'
import { DEFAULT_MAX_SIZE, termSizesArb, tupleTypeArb } from './sizes.js'
import { type TensorArbOptions, inputsArb, paramsArb } from './tensors.js'
import { type TermArbOptions, termArb } from './terms.js'
import { subterms } from './walk.js'

/** A term with everything needed to evaluate it. */
export interface TermCase {
  readonly term: Term
  /** Valid for the term: every dim has a size, convolutions are not empty, indexes fit. */
  readonly sizes: Sizes
  /** One tensor per segment of `term.dom`, row-major under `sizes`. */
  readonly inputs: ReadonlyArray<Float64Array>
  /** A tensor for every parameter the term reads. */
  readonly params: Readonly<Record<string, Float64Array>>
}

const MAX_SHOWN = 64

const showTensor = (x: Float64Array): string => {
  const shown = [...x.subarray(0, MAX_SHOWN)].map((v) => (Object.is(v, -0) ? '-0' : String(v)))
  return `[${shown.join(', ')}${x.length > MAX_SHOWN ? `, … (${x.length} entries)` : ''}]`
}

/** The bodies of the boxes a term uses (not linear layers, which print what they are). */
const boxBodies = (t: Term): string[] => {
  const seen = new Map<string, string>()
  for (const s of subterms(t))
    if (s.kind === 'box' && !s.name.startsWith('L(') && !seen.has(s.name))
      seen.set(s.name, show(s.body))
  return [...seen].map(([name, body]) => `  where ${name} = ${body}`)
}

/**
 * Print a case: the term with its type, the bodies of its boxes, then sizes, inputs and
 * parameters (tensors past 64 entries are elided).
 *
 * @example
 * ```ts
 * import { relu } from 'neural-circuit-diagrams'
 * import { showCase } from 'neural-circuit-diagrams/testing'
 * showCase({ term: relu(['a']), sizes: { a: 2 }, inputs: [Float64Array.of(1, -0.5)], params: {} })
 * // 'relu[a] : [a] -> [a]\n  sizes { a: 2 }\n  inputs [1, -0.5]'
 * ```
 */
export const showCase = (c: TermCase): string => {
  const sizes = Object.entries(c.sizes)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')
  const lines = [
    showTyped(c.term),
    ...boxBodies(c.term),
    `  sizes { ${sizes} }`,
    `  inputs ${c.inputs.length === 0 ? '()' : c.inputs.map(showTensor).join(' × ')}`,
  ]
  const params = Object.entries(c.params)
  if (params.length > 0)
    lines.push(`  params ${params.map(([k, v]) => `${k} = ${showTensor(v)}`).join(', ')}`)
  return lines.join('\n')
}

/**
 * A frozen case that prints with {@link showCase}, in fast-check reports (`fc.toStringMethod`)
 * and in template strings.
 *
 * @example
 * ```ts
 * import fc from 'fast-check'
 * import { relu } from 'neural-circuit-diagrams'
 * import { termCase } from 'neural-circuit-diagrams/testing'
 * const c = termCase({ term: relu(['a']), sizes: { a: 1 }, inputs: [Float64Array.of(2)], params: {} })
 * fc.stringify(c) // 'relu[a] : [a] -> [a]\n  sizes { a: 1 }\n  inputs [2]'
 * ```
 */
export const termCase = (c: TermCase): TermCase => {
  const out = { term: c.term, sizes: c.sizes, inputs: c.inputs, params: c.params }
  const text = (): string => showCase(out)
  Object.defineProperty(out, fc.toStringMethod, { value: text })
  Object.defineProperty(out, 'toString', { value: text })
  return Object.freeze(out)
}

/** Options of {@link termWithSizesArb}. */
export interface TermCaseOptions extends TermArbOptions, TensorArbOptions {
  /** The domain; drawn over the dim pool when absent (see `maxLength`, `maxDomRank`). */
  readonly dom?: TypeLike
  /** The most segments of a drawn domain; default 3. */
  readonly maxLength?: number
  /** The largest rank of a segment of a drawn domain; default 3. */
  readonly maxDomRank?: number
}

/**
 * A random term (see `termArb`) with sizes valid for it (drawn after the term, from the bounds
 * of `sizeBounds` up to `maxSize`), inputs for its domain and values for its parameters. The
 * domain is drawn first (unless given), then the term, then the rest, so shrinking the term
 * redraws the sizes and tensors that fit it.
 *
 * @example
 * ```ts
 * import fc from 'fast-check'
 * import { termWithSizesArb, sizesFit } from 'neural-circuit-diagrams/testing'
 * const cases = fc.sample(termWithSizesArb({ depth: 2 }), { numRuns: 20, seed: 1 })
 * cases.every((c) => sizesFit(c.term, c.sizes) && c.inputs.length === c.term.dom.length) // true
 * ```
 */
export const termWithSizesArb = (options: TermCaseOptions = {}): fc.Arbitrary<TermCase> => {
  const domArb: fc.Arbitrary<TupleType> =
    options.dom !== undefined
      ? fc.constant(toType(options.dom))
      : tupleTypeArb({
          ...(options.dims !== undefined ? { dims: options.dims } : {}),
          maxLength: options.maxLength ?? 3,
          maxRank: options.maxDomRank ?? 3,
        })
  const max = options.maxSize ?? DEFAULT_MAX_SIZE
  return domArb
    .chain((dom) => termArb(dom, options))
    .chain((term) =>
      termSizesArb(term, { max }).chain((sizes) =>
        fc
          .tuple(inputsArb(term.dom, sizes, options), paramsArb(term, sizes, options))
          .map(([inputs, params]) => termCase({ term, sizes, inputs, params })),
      ),
    )
}
