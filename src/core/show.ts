/**
 * The text form of terms, close to the paper's notation, used in errors and failing properties:
 *
 * - `f ; g` is sequential composition, `f ⊗ g` stacks tuple segments (parentheses when nested);
 * - `relu[y k]` is an element-wise map (Fig. 15), `bcast[x](f)` broadcasts f over x (Fig. 13),
 *   `bcast[x @in(1,=) @out(0)](f)` places the axes at positions or shares an input (Fig. 14);
 * - `einsum(y k h, x k h -> y x h)` is a structural linear map (Fig. 19), `unit[a]`, `cup[a]`;
 * - `|2⟩_a` is an index (Fig. 10), `view([h w] -> [(h*w)])`, `pad(x,1,1)`, `convTensor(x,k,s2,d1)`,
 *   `concat(a,b)` joins axes end to end and `split(a,b)` cuts them apart;
 * - a generator prints by its name `F`, its transpose `Fᵀ`, its tangent map `dF`, and `dFᵀ`.
 *
 * @packageDocumentation
 */
import { absurd } from './errors.js'
import { dimKey, showDim } from './dim.js'
import { type Term, children } from './term.js'
import { showShape, showType } from './types.js'

/** Options of {@link show}. */
export interface ShowOptions {
  /** A sub-term (by identity) to mark as `>>…<<`, for errors. */
  readonly highlight?: Term
  /** Truncate the middle of the text past this many characters. */
  readonly maxLength?: number
}

const PREC_SEQ = 1
const PREC_PAR = 2
const PREC_ATOM = 3

const precedence = (t: Term): number =>
  t.kind === 'seq' ? PREC_SEQ : t.kind === 'par' ? PREC_PAR : PREC_ATOM

/** A number as the shortest text that reads back to it exactly (`Number(text) === x`). */
const number = (x: number): string => String(x)

const scalarName = (t: Extract<Term, { kind: 'scalar' }>): string =>
  t.op === 'offset'
    ? `offset(${number(t.factor)})`
    : t.op !== 'scale'
      ? t.op
      : t.bySize === undefined
        ? `scale(${number(t.factor)})`
        : `scale(${t.factor === 1 ? '' : `${number(t.factor)}·`}${showDim(t.bySize.dim)}^${number(t.bySize.power)})`

const isPlainOuter = (t: Extract<Term, { kind: 'broadcast' }>): boolean =>
  t.inputs.every((p) => p === 0) && t.outputs.every((p) => p === 0)

const showEinsum = (t: Extract<Term, { kind: 'einsum' }>): string => {
  if (t.name !== undefined) {
    const label = (t.name === 'unit' ? t.output[0] : t.inputs[0]?.[0]) ?? ''
    const d = t.dims[label]
    return `${t.name}[${d === undefined ? label : showDim(d)}]`
  }
  const spec = `${t.inputs.map((i) => i.join(' ')).join(', ')} -> ${t.output.join(' ')}`
  const renamed = Object.entries(t.dims).filter(([label, d]) => dimKey(d) !== label)
  const binds =
    renamed.length === 0 ? '' : `; ${renamed.map(([l, d]) => `${l}=${showDim(d)}`).join(', ')}`
  return `einsum(${spec}${binds})`
}

/** `F`, `Fᵀ` (`Fᵀ@1` in input 1 of a multilinear F), `dF` (tangent map), `dFᵀ`. */
const showGenerator = (t: Extract<Term, { kind: 'generator' }>): string => {
  switch (t.form) {
    case 'map':
      return t.name
    case 'transpose':
      return `${t.name}ᵀ${t.slot === undefined ? '' : `@${t.slot}`}`
    case 'tangent':
      return `d${t.name}`
    case 'cotangent':
      return `d${t.name}ᵀ`
    default:
      return absurd(t.form)
  }
}

const render = (t: Term, o: ShowOptions, outer: number): string => {
  const s = renderBare(t, o)
  const marked = o.highlight === t ? `>>${s}<<` : s
  return precedence(t) < outer ? `(${marked})` : marked
}

const renderBare = (t: Term, o: ShowOptions): string => {
  switch (t.kind) {
    case 'id':
      return `id(${showType(t.dom)})`
    case 'seq':
      return t.parts.map((p) => render(p, o, PREC_SEQ + 1)).join(' ; ')
    case 'par':
      return t.parts.map((p) => render(p, o, PREC_PAR + 1)).join(' ⊗ ')
    case 'swap':
      return `swap(${showType(t.left)}, ${showType(t.right)})`
    case 'copy':
      return `copy(${showType(t.type)})`
    case 'drop':
      return `drop(${showType(t.type)})`
    case 'broadcast': {
      const axes = t.axes.map(dimKey).join(' ')
      if (isPlainOuter(t) && t.body.kind === 'scalar' && o.highlight !== t.body)
        return `${scalarName(t.body)}[${axes}]`
      const body = render(t.body, o, PREC_SEQ)
      if (isPlainOuter(t)) return `bcast[${axes}](${body})`
      const ins = t.inputs.map((p) => (p === 'shared' ? '=' : String(p))).join(',')
      return `bcast[${axes} @in(${ins}) @out(${t.outputs.join(',')})](${body})`
    }
    case 'einsum':
      return showEinsum(t)
    case 'scalar':
      return scalarName(t)
    case 'axisOp':
      return t.op === 'layerNorm' && t.epsilon !== 1e-5
        ? `layerNorm(${showDim(t.axis)}, eps=${number(t.epsilon)})`
        : `${t.op}(${showDim(t.axis)})`
    case 'index':
      return t.adjoint === true ? `⟨${t.at}|_${showDim(t.axis)}` : `|${t.at}⟩_${showDim(t.axis)}`
    case 'view':
      return `view(${showShape(t.from)} -> ${showShape(t.to)})`
    case 'pad':
      return `${t.adjoint === true ? 'crop' : 'pad'}(${showDim(t.axis)},${t.before},${t.after})`
    case 'convTensor':
      return `convTensor${t.adjoint === true ? 'ᵀ' : ''}(${showDim(t.input)},${showDim(t.kernel)},s${t.stride},d${t.dilation})`
    case 'concat':
      return `${t.adjoint === true ? 'split' : 'concat'}(${t.pieces.map(showDim).join(',')})`
    case 'derivative':
      return `D(${render(t.body, o, PREC_SEQ)})`
    case 'zero':
      return `zero(${showType(t.type)})`
    case 'param':
      return `param(${t.name}${showShape(t.shape)})`
    case 'generator':
      return showGenerator(t)
    case 'box':
      return o.highlight !== undefined && contains(t.body, o.highlight)
        ? `${t.name}{${render(t.body, o, PREC_SEQ)}}`
        : t.name
    default:
      return absurd(t)
  }
}

const contains = (t: Term, sub: Term): boolean =>
  t === sub || children(t).some((c) => contains(c, sub))

const truncate = (s: string, max: number | undefined): string => {
  if (max === undefined || s.length <= max) return s
  const mark = s.indexOf('>>')
  if (mark >= 0) {
    const start = Math.max(0, mark - Math.floor(max / 3))
    const cut = s.slice(start, start + max)
    return `${start > 0 ? '…' : ''}${cut}${start + max < s.length ? '…' : ''}`
  }
  const half = Math.floor(max / 2)
  return `${s.slice(0, half)} … ${s.slice(s.length - half)}`
}

/**
 * Print a term in text form.
 *
 * @example
 * ```ts
 * import { show, seq, relu, mean } from 'neural-circuit-diagrams'
 * show(seq(relu(['k']), mean('k'))) // 'relu[k] ; mean(k)'
 * ```
 */
export const show = (t: Term, options: ShowOptions = {}): string =>
  truncate(render(t, options, 0), options.maxLength)

/** Print a term with its type: `relu[k] : [k] -> [k]`. */
export const showTyped = (t: Term): string =>
  `${show(t)} : ${showType(t.dom)} -> ${showType(t.cod)}`
