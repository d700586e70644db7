/**
 * Patterns: terms with metavariables (DESIGN.md section 5). A pattern is the constructor data of
 * a term (see `rebuild`) in which any field may be a metavariable of a sort (a term, a dim, a
 * shape spliced into a shape, a tuple type, or a plain value such as broadcast placements) or a
 * computed value (the domain or codomain of a bound term, a concatenation). Patterns are built
 * with the typed constructors below, never parsed from strings.
 *
 * @packageDocumentation
 */
import { isTermNode } from '../core/term.js'
import type { Dim } from '../core/dim.js'
import { show } from '../core/show.js'
import type { AxisOpName, Placement, ScalarOp, Term } from '../core/term.js'
import type { Shape, TupleType } from '../core/types.js'

/** The sorts of metavariables. */
export type Sort = 'term' | 'dim' | 'shape' | 'type' | 'value'

/** A metavariable: matches anything of its sort, and the same thing at every occurrence. */
export interface Meta {
  readonly kind: 'meta'
  readonly sort: Sort
  readonly name: string
}

/** A value computed from bound metavariables. */
export type Computed =
  | { readonly kind: 'computed'; readonly op: 'dom' | 'cod'; readonly term: string }
  | { readonly kind: 'computed'; readonly op: 'concat'; readonly parts: ReadonlyArray<Pattern> }
  | {
      readonly kind: 'computed'
      readonly op: 'build'
      /** What it builds, for printing: 'the fused einsum of ?f and ?g'. */
      readonly description: string
      /** A term (or other value) from the bindings; a `TermError` when it does not apply. */
      readonly build: (
        b: ReadonlyMap<string, { readonly sort: Sort; readonly value: unknown }>,
      ) => unknown
    }
  | {
      readonly kind: 'computed'
      readonly op: 'segment'
      readonly of: 'dom' | 'cod'
      readonly term: string
      readonly index: number
    }

/** A pattern that also binds what it matches to a term metavariable (`f@p`). */
export interface Named {
  readonly kind: 'named'
  readonly name: string
  readonly pattern: Pattern
}

/**
 * A pattern: constructor data with metavariables and computed values anywhere. Sub-term fields
 * hold patterns; a `seq` or `par` pattern matches modulo associativity (see `match.ts`).
 */
export type Pattern =
  | Meta
  | Computed
  | Named
  | Term
  | Dim
  | string
  | number
  | boolean
  | undefined
  | ReadonlyArray<Pattern>
  | { readonly [field: string]: Pattern }

/** Whether a pattern node is a metavariable. */
export const isMeta = (p: Pattern): p is Meta =>
  typeof p === 'object' &&
  p !== null &&
  !Array.isArray(p) &&
  (p as { kind?: unknown }).kind === 'meta'

/** Whether a pattern node is a computed value. */
export const isComputed = (p: Pattern): p is Computed =>
  typeof p === 'object' &&
  p !== null &&
  !Array.isArray(p) &&
  (p as { kind?: unknown }).kind === 'computed'

/** Whether a pattern node binds what it matches. */
export const isNamed = (p: Pattern): p is Named =>
  typeof p === 'object' &&
  p !== null &&
  !Array.isArray(p) &&
  (p as { kind?: unknown }).kind === 'named'

const meta = (sort: Sort, name: string): Meta => Object.freeze({ kind: 'meta', sort, name })

/**
 * Metavariables and computed values.
 *
 * @example
 * ```ts
 * import { v, P, showPattern } from 'neural-circuit-diagrams'
 * showPattern(P.seq(P.id(v.dom('f')), v.term('f'))) // 'id(dom f) ; ?f'
 * ```
 */
export const v = {
  /** Any term. */
  term: (name: string): Meta => meta('term', name),
  /** Any dim. */
  dim: (name: string): Meta => meta('dim', name),
  /** Any list of dims, spliced into the shape where it stands. */
  shape: (name: string): Meta => meta('shape', name),
  /** Any tuple type. */
  type: (name: string): Meta => meta('type', name),
  /** Any plain value: broadcast placements, a number, an operation name. */
  value: (name: string): Meta => meta('value', name),
  /** The domain of the term bound to `name`. */
  dom: (name: string): Computed => Object.freeze({ kind: 'computed', op: 'dom', term: name }),
  /** The codomain of the term bound to `name`. */
  cod: (name: string): Computed => Object.freeze({ kind: 'computed', op: 'cod', term: name }),
  /**
   * The axes of segment `index` of the domain or codomain of the term bound to `name`; spliced
   * into the shape where it stands, like a shape metavariable.
   */
  segment: (of: 'dom' | 'cod', name: string, index: number): Computed =>
    Object.freeze({ kind: 'computed', op: 'segment', of, term: name, index }),
  /**
   * A value built by a function of the bindings (the right side of a rule that no pattern can
   * state, such as the fusion of two einsums); such a rule is one-way.
   */
  build: (
    description: string,
    build: (b: ReadonlyMap<string, { readonly sort: Sort; readonly value: unknown }>) => unknown,
  ): Computed => Object.freeze({ kind: 'computed', op: 'build', description, build }),
  /** Match `pattern` and bind the whole matched term to `name` too. */
  as: (name: string, pattern: Pattern): Named => Object.freeze({ kind: 'named', name, pattern }),
  /** The concatenation of lists (tuple types, shapes, placements). */
  concat: (...parts: ReadonlyArray<Pattern>): Computed =>
    Object.freeze({ kind: 'computed', op: 'concat', parts: Object.freeze([...parts]) }),
}

const node = (fields: Record<string, Pattern>): Pattern => Object.freeze(fields)

const flat = (kind: 'seq' | 'par', parts: ReadonlyArray<Pattern>): Pattern[] =>
  parts.flatMap((p) =>
    typeof p === 'object' &&
    p !== null &&
    !Array.isArray(p) &&
    (p as { kind?: unknown }).kind === kind &&
    !isTermNode(p)
      ? ((p as { parts: ReadonlyArray<Pattern> }).parts as Pattern[])
      : [p],
  )

/** A type pattern: a tuple type, a metavariable or a computed type. */
export type TypePattern = TupleType | Meta | Computed | ReadonlyArray<ShapePattern>
/** A shape pattern: dims, dim metavariables, spliced shape metavariables and segments. */
export type ShapePattern = Shape | ReadonlyArray<Dim | Meta | Computed>
/** A placements pattern: a list (of placements and value metavariables), or computed. */
export type PlacementsPattern = ReadonlyArray<Placement | Meta> | Meta | Computed

/**
 * Pattern constructors, one per term constructor, taking patterns for every argument.
 *
 * @example
 * ```ts
 * import { P, v, showPattern } from 'neural-circuit-diagrams'
 * showPattern(P.broadcast(v.term('f'), [v.dim('a')], v.value('I'), v.value('O'))) // 'bcast[?a @in(?I) @out(?O)](?f)'
 * ```
 */
export const P = {
  seq: (...parts: ReadonlyArray<Pattern>): Pattern =>
    node({ kind: 'seq', parts: flat('seq', parts) }),
  par: (...parts: ReadonlyArray<Pattern>): Pattern =>
    node({ kind: 'par', parts: flat('par', parts) }),
  id: (type: TypePattern): Pattern => node({ kind: 'id', type }),
  copy: (type: TypePattern): Pattern => node({ kind: 'copy', type }),
  drop: (type: TypePattern): Pattern => node({ kind: 'drop', type }),
  zero: (type: TypePattern): Pattern => node({ kind: 'zero', type }),
  swap: (left: TypePattern, right: TypePattern): Pattern => node({ kind: 'swap', left, right }),
  broadcast: (
    body: Pattern,
    axes: ShapePattern | Meta,
    inputs: PlacementsPattern,
    outputs: PlacementsPattern,
  ): Pattern => node({ kind: 'broadcast', body, axes, inputs, outputs }),
  box: (name: string | Meta, body: Pattern): Pattern => node({ kind: 'box', name, body }),
  /** A bare scalar function (`[] -> []`, or `[] × [] -> []` for add and mul). */
  scalar: (op: ScalarOp | Meta, factor: number | Meta = 1): Pattern =>
    node({ kind: 'scalar', op, factor }),
  /** The unit `[] -> [a a]` of Fig. 20. */
  unit: (a: Dim | Meta): Pattern =>
    node({ kind: 'einsum', inputs: [[]], output: ['a', 'a'], dims: { a }, name: 'unit' }),
  /** The cup `[a a] -> []` of Fig. 20. */
  cup: (a: Dim | Meta): Pattern =>
    node({ kind: 'einsum', inputs: [['a', 'a']], output: [], dims: { a }, name: 'cup' }),
  index: (axis: Dim | Meta, at: number | Meta): Pattern => node({ kind: 'index', axis, at }),
  convTensor: (
    input: Dim | Meta,
    kernel: Dim | Meta,
    stride: number | Meta,
    dilation: number | Meta,
  ): Pattern => node({ kind: 'convTensor', input, kernel, stride, dilation }),
  /** An operation on one axis (`softmax`, `layerNorm`, `max`, `mean`, `argmax`). */
  axisOp: (op: AxisOpName | Meta, axis: Dim | Meta, epsilon: number | Meta = 0): Pattern =>
    node({ kind: 'axisOp', op, axis, epsilon }),
  /** The one-hot embedding `⟨i|_a : [] -> [a]`, the transpose of an index. */
  oneHot: (axis: Dim | Meta, at: number | Meta): Pattern =>
    node({ kind: 'index', axis, at, adjoint: true }),
  /** A row-major reshape `[from] -> [to]`. */
  view: (from: ShapePattern, to: ShapePattern): Pattern => node({ kind: 'view', from, to }),
  /** Zero padding `[a] -> [pad(a, before, after)]`. */
  pad: (axis: Dim | Meta, before: number | Meta, after: number | Meta): Pattern =>
    node({ kind: 'pad', axis, before, after }),
  /** The crop `[pad(a, before, after)] -> [a]`, the transpose of a padding. */
  crop: (axis: Dim | Meta, before: number | Meta, after: number | Meta): Pattern =>
    node({ kind: 'pad', axis, before, after, adjoint: true }),
  /** The transposed convolution tensor `[y k] -> [x]`, the transpose of `convTensor`. */
  convTensorAdjoint: (
    input: Dim | Meta,
    kernel: Dim | Meta,
    stride: number | Meta,
    dilation: number | Meta,
  ): Pattern => node({ kind: 'convTensor', input, kernel, stride, dilation, adjoint: true }),
  /** Concatenation on one axis `[a₁] × ... × [aₙ] -> [a₁ + ... + aₙ]` (the pieces' axes). */
  concat: (pieces: ShapePattern): Pattern => node({ kind: 'concat', pieces }),
  /** The split `[a₁ + ... + aₙ] -> [a₁] × ... × [aₙ]`, the transpose of a concatenation. */
  split: (pieces: ShapePattern): Pattern => node({ kind: 'concat', pieces, adjoint: true }),
  /**
   * The forward derivative `D(body) : A × A -> B × B` of paper Fig. 32 (`derivative`).
   *
   * @example
   * ```ts
   * import { P, v, showPattern } from 'neural-circuit-diagrams'
   * showPattern(P.derivative(P.seq(v.term('f'), v.term('g')))) // 'D(?f ; ?g)'
   * ```
   */
  derivative: (body: Pattern): Pattern => node({ kind: 'derivative', body }),
  /** Any constructor data, for the kinds without a helper here. */
  node,
}

const showList = (xs: ReadonlyArray<Pattern>): string => xs.map((x) => showPattern(x)).join(' ')

/**
 * Print a pattern: metavariables as `?f`, computed values as `dom f`, the rest as in `show`.
 */
export const showPattern = (p: Pattern): string => {
  if (p === undefined) return 'undefined'
  if (typeof p !== 'object' || p === null) return String(p)
  if (Array.isArray(p)) return `[${showList(p)}]`
  if (isMeta(p)) return `?${p.name}`
  if (isTermNode(p)) return show(p)
  if (isNamed(p)) return `${p.name}@(${showPattern(p.pattern)})`
  if (isComputed(p))
    return p.op === 'concat'
      ? `concat(${p.parts.map(showPattern).join(', ')})`
      : p.op === 'segment'
        ? `${p.of} ${p.term}.${p.index}`
        : p.op === 'build'
          ? `{${p.description}}`
          : `${p.op} ${p.term}`
  const r = p as Record<string, Pattern>
  switch (String(r.kind)) {
    case 'seq':
      return (r.parts as ReadonlyArray<Pattern>).map(showPattern).join(' ; ')
    case 'par':
      return (r.parts as ReadonlyArray<Pattern>)
        .map((q) => {
          const s = showPattern(q)
          return s.includes(' ; ') ? `(${s})` : s
        })
        .join(' ⊗ ')
    case 'broadcast': {
      const axes = Array.isArray(r.axes) ? showList(r.axes) : showPattern(r.axes)
      return `bcast[${axes} @in(${showPattern(r.inputs)}) @out(${showPattern(r.outputs)})](${showPattern(r.body)})`
    }
    case 'var':
      return String(r.name)
    case 'derivative':
      return `D(${showPattern(r.body)})`
    case 'id':
    case 'copy':
    case 'drop':
    case 'zero':
      return `${String(r.kind)}(${showPattern(r.type)})`
    default: {
      const fields = Object.entries(r)
        .filter(([k]) => !['kind', 'dom', 'cod', 'linearity', 'poly'].includes(k))
        .map(([k, x]) => `${k}=${showPattern(x)}`)
      return `${String(r.kind)}(${fields.join(', ')})`
    }
  }
}
