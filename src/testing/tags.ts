/**
 * Features of a term, for measuring what a generator reaches (`fc.statistics`, coverage tests):
 * every kind of node, with broadcasts told apart by placement, scalar and axis operations by
 * operator, einsums by what their spec does, views by direction, convolutions with stride or
 * dilation, and linear layers with or without bias.
 *
 * @packageDocumentation
 */
import { absurd } from '../core/errors.js'
import { type Term, children } from '../core/term.js'

/**
 * Every feature {@link termTags} can report, in catalogue order.
 *
 * @example
 * ```ts
 * import { TERM_TAGS } from 'neural-circuit-diagrams/testing'
 * TERM_TAGS.includes('broadcast:inner') // true
 * ```
 */
export const TERM_TAGS: ReadonlyArray<string> = Object.freeze([
  'id',
  'seq',
  'par',
  'swap',
  'copy',
  'drop',
  'broadcast',
  'broadcast:outer0',
  'broadcast:positioned',
  'broadcast:inner',
  'einsum',
  'einsum:transpose',
  'einsum:diagonal',
  'einsum:sum',
  'einsum:outer',
  'einsum:contract',
  'einsum:spread',
  'einsum:embed',
  'einsum:unit',
  'einsum:cup',
  'scalar',
  'scalar:relu',
  'scalar:gelu',
  'scalar:exp',
  'scalar:log',
  'scalar:tanh',
  'scalar:sigmoid',
  'scalar:sqrt',
  'scalar:reciprocal',
  'scalar:scale',
  'scalar:add',
  'scalar:mul',
  'axisOp',
  'axisOp:softmax',
  'axisOp:layerNorm',
  'axisOp:max',
  'axisOp:mean',
  'index',
  'index:nonzero',
  'view',
  'view:group',
  'view:split',
  'view:unit-axis',
  'pad',
  'convTensor',
  'convTensor:stride',
  'convTensor:dilation',
  'concat',
  'concat:split',
  'zero',
  'param',
  'box',
  'linearLayer',
  'linearLayer:bias',
  'derivative',
  'generator',
  'generator:linear',
  'generator:multilinear',
  'generator:nonlinear',
  'generator:transpose',
])

const einsumTags = (t: Extract<Term, { kind: 'einsum' }>): string[] => {
  if (t.name !== undefined) return [`einsum:${t.name}`]
  const tags: string[] = []
  const inLabels = t.inputs.flat()
  const out = new Set(t.output)
  if (t.inputs.some((i) => new Set(i).size < i.length)) tags.push('einsum:diagonal')
  if (inLabels.some((l) => !out.has(l))) tags.push('einsum:sum')
  if (t.output.some((l) => !inLabels.includes(l))) tags.push('einsum:spread')
  if (out.size < t.output.length) tags.push('einsum:embed')
  if (t.inputs.length >= 2) {
    const shared = t.inputs.some((a, i) =>
      t.inputs.some((b, j) => j > i && a.some((l) => b.includes(l))),
    )
    tags.push(shared ? 'einsum:contract' : 'einsum:outer')
  }
  const only = t.inputs[0]
  if (
    t.inputs.length === 1 &&
    only !== undefined &&
    tags.length === 0 &&
    only.join(' ') !== t.output.join(' ')
  )
    tags.push('einsum:transpose')
  return tags
}

const nodeTags = (t: Term): string[] => {
  switch (t.kind) {
    case 'broadcast':
      return [
        t.inputs.some((p) => p === 'shared')
          ? 'broadcast:inner'
          : t.inputs.every((p) => p === 0) && t.outputs.every((p) => p === 0)
            ? 'broadcast:outer0'
            : 'broadcast:positioned',
      ]
    case 'einsum':
      return einsumTags(t)
    case 'scalar':
      return [`scalar:${t.op}`]
    case 'axisOp':
      return [`axisOp:${t.op}`]
    case 'index':
      return t.at > 0 ? ['index:nonzero'] : []
    case 'view': {
      const products = (s: typeof t.from) => s.filter((d) => d.kind === 'product').length
      const units = (s: typeof t.from) =>
        s.filter((d) => d.kind === 'const' && d.value === 1).length
      return [
        ...(products(t.to) > products(t.from) ? ['view:group'] : []),
        ...(products(t.to) < products(t.from) ? ['view:split'] : []),
        ...(units(t.to) !== units(t.from) ? ['view:unit-axis'] : []),
      ]
    }
    case 'convTensor':
      return [
        ...(t.stride > 1 ? ['convTensor:stride'] : []),
        ...(t.dilation > 1 ? ['convTensor:dilation'] : []),
      ]
    case 'concat':
      return t.adjoint === true ? ['concat:split'] : []
    case 'box':
      if (!t.name.startsWith('L(')) return []
      return t.name.endsWith(', +)') ? ['linearLayer', 'linearLayer:bias'] : ['linearLayer']
    case 'id':
    case 'seq':
    case 'par':
    case 'swap':
    case 'copy':
    case 'drop':
    case 'pad':
    case 'zero':
    case 'param':
    case 'derivative':
      return []
    case 'generator':
      return [`generator:${t.declared}`, ...(t.form === 'map' ? [] : [`generator:${t.form}`])]
    default:
      return absurd(t)
  }
}

/** Options of {@link termTags}. */
export interface TermTagsOptions {
  /** Look inside linear layers (default true); false counts each as `box` and `linearLayer`. */
  readonly openLayers?: boolean
}

/**
 * The features of a term and all its sub-terms (see {@link TERM_TAGS}).
 *
 * @example
 * ```ts
 * import { broadcast, mean, einsum } from 'neural-circuit-diagrams'
 * import { termTags } from 'neural-circuit-diagrams/testing'
 * Array.from(termTags(broadcast(mean('k'), ['y'], { at: 'last' }))).sort()
 * // ['axisOp', 'axisOp:mean', 'broadcast', 'broadcast:positioned']
 * Array.from(termTags(einsum('a b -> b a'))).sort() // ['einsum', 'einsum:transpose']
 * ```
 */
export const termTags = (t: Term, options: TermTagsOptions = {}): ReadonlySet<string> => {
  const tags = new Set<string>()
  const open = options.openLayers ?? true
  const go = (s: Term): void => {
    tags.add(s.kind)
    for (const tag of nodeTags(s)) tags.add(tag)
    if (open || !(s.kind === 'box' && s.name.startsWith('L('))) children(s).forEach(go)
  }
  go(t)
  return tags
}
