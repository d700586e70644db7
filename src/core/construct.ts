/**
 * Smart constructors of the structural terms: identities, sequential and parallel composition, the
 * Cartesian structure of tuples (swap, copy, drop), broadcasting and named boxes. Each infers `dom`
 * and `cod`, refuses ill-typed input with a {@link TermError} naming both types, the place and what
 * would fit, and returns a frozen term.
 *
 * @packageDocumentation
 */
import { fail } from './errors.js'
import { dimKey } from './dim.js'
import { sealData, sealFresh } from './frozen.js'
import {
  identityPoly,
  linearityOf,
  multilinearPoly,
  nonlinearPoly as nonlinearPolyOf,
  parPoly,
  seqPoly,
  zeroPoly,
} from './linearity.js'
import { show } from './show.js'
import { type Broadcast, type Placement, type Poly, TERM_BRAND, type Term } from './term.js'
import {
  type Shape,
  type ShapeLike,
  type TupleType,
  concatTypes,
  insertAxes,
  shapeEquals,
  showShape,
  showType,
  toShape,
  toType,
  typeEquals,
} from './types.js'

/** What the API accepts for a tuple type: a list of shapes. */
export type TypeLike = ReadonlyArray<ShapeLike>

/**
 * Freeze a term, computing its linearity from its structure. Its data is sealed: copied and
 * deeply frozen where a caller may still hold it (dims, shapes, tables), `-0` read as `0`
 * (`frozen.ts`). @internal
 */
export const make = <T extends Omit<Term, 'linearity'>>(
  t: T,
): T & { linearity: Term['linearity'] } => {
  // The polynomial is built deeply frozen by linearity.ts and never held by a caller: it is kept
  // as it is (copying it made every wide id or par cost its width twice).
  const { poly, ...data } = t
  const out = { ...sealData(data), poly, linearity: linearityOf(poly, t.dom.length) }
  Object.defineProperty(out, TERM_BRAND, { value: true })
  return Object.freeze(out) as unknown as T & { linearity: Term['linearity'] }
}

/** The frozen array of the parts. @internal */
/**
 * {@link make} with the linearity polynomial (and the linearity read off it) computed when first
 * read, once: for a seq or par rebuilt by {@link spliceParts}, whose polynomial is a fold over
 * every part, so that a rewrite of a few parts of a long sequence costs those parts, not the
 * sequence's length (issue 12, section 1: `rewriteRepeat` on n snakes).
 */
const makeLazy = <T extends Omit<Term, 'linearity' | 'poly'>>(
  t: T,
  polyOf: () => Poly,
): T & { poly: Poly; linearity: Term['linearity'] } => {
  const out = { ...sealData(t) }
  let poly: Poly | undefined
  let linearity: Term['linearity'] | undefined
  const readPoly = (): Poly => (poly ??= polyOf())
  Object.defineProperty(out, 'poly', { get: readPoly, enumerable: true })
  Object.defineProperty(out, 'linearity', {
    get: () => (linearity ??= linearityOf(readPoly(), t.dom.length)),
    enumerable: true,
  })
  Object.defineProperty(out, TERM_BRAND, { value: true })
  return Object.freeze(out) as unknown as T & { poly: Poly; linearity: Term['linearity'] }
}

export const frozen = <A>(xs: ReadonlyArray<A>): ReadonlyArray<A> => Object.freeze([...xs])

/**
 * The identity on a tuple type.
 *
 * @example
 * ```ts
 * import { id, showTyped } from 'neural-circuit-diagrams'
 * showTyped(id([['y', 'k'], ['x']])) // 'id([y k] × [x]) : [y k] × [x] -> [y k] × [x]'
 * ```
 */
export const id = (type: TypeLike): Term => {
  const t = toType(type)
  return make({ kind: 'id', type: t, dom: t, cod: t, poly: identityPoly(t.length) })
}

const permutationHint = (got: Shape, want: Shape): string | undefined => {
  const g = got.map(dimKey)
  const w = want.map(dimKey)
  if (g.length !== w.length || [...g].sort().join(' ') !== [...w].sort().join(' ')) return undefined
  return `the axes only differ in order: insert einsum('${g.join(' ')} -> ${w.join(' ')}')`
}

const mismatchHint = (gives: TupleType, takes: TupleType): string => {
  if (gives.length !== takes.length)
    return gives.length > takes.length
      ? `drop or combine ${gives.length - takes.length} segment(s), or put the next part beside an id`
      : `the next part needs ${takes.length - gives.length} more segment(s): copy, or add a param`
  for (let i = 0; i < gives.length; i++) {
    const g = gives[i] as Shape
    const w = takes[i] as Shape
    if (!shapeEquals(g, w))
      return (
        permutationHint(g, w) ??
        `segment ${i} differs: ${showShape(g)} comes but ${showShape(w)} is needed`
      )
  }
  return 'the types differ'
}

const flatten = (kind: 'seq' | 'par', parts: ReadonlyArray<Term>): Term[] =>
  parts.flatMap((p) => (p.kind === kind ? p.parts : [p]))

/**
 * `f ; g ; ...`: the parts in sequence (paper section 2.2, Fig. 6). Nested sequences are
 * flattened; one part is returned as it is.
 *
 * @example
 * ```ts
 * import { seq, relu, mean, showTyped } from 'neural-circuit-diagrams'
 * showTyped(seq(relu(['k']), mean('k'))) // 'relu[k] ; mean(k) : [k] -> []'
 * ```
 */
export const seq = (...parts: ReadonlyArray<Term>): Term => {
  if (parts.length === 0)
    return fail('bad-arity', 'seq: needs at least one part', {
      expected: 'seq(f, g, ...)',
      got: 'seq()',
      hint: 'use id(type) for an empty sequence',
    })
  const flat = flatten('seq', parts)
  if (flat.length === 1) return flat[0] as Term
  let poly: Poly = (flat[0] as Term).poly
  for (let i = 1; i < flat.length; i++) {
    const prev = flat[i - 1] as Term
    const next = flat[i] as Term
    if (!typeEquals(prev.cod, next.dom)) {
      const draft = { kind: 'seq' as const, parts: flat }
      return fail(
        'type-mismatch',
        `seq: part ${i + 1} expects ${showType(next.dom)} but part ${i} gives ${showType(prev.cod)}`,
        {
          expected: showType(next.dom),
          got: showType(prev.cod),
          // Mark by position: one term object may occur in several parts (a layer used twice).
          where: `seq(${draft.parts.map((p, j) => (j === i ? `>>${show(p, { maxLength: 120 })}<<` : show(p, { maxLength: 60 }))).join(', ')})`,
          hint: mismatchHint(prev.cod, next.dom),
        },
      )
    }
    poly = seqPoly(poly, next.poly)
  }
  const first = flat[0] as Term
  const last = flat[flat.length - 1] as Term
  return make({ kind: 'seq', parts: sealFresh(flat), dom: first.dom, cod: last.cod, poly })
}

/**
 * `f ⊗ g ⊗ ...`: the parts side by side on consecutive tuple segments (paper Fig. 7). Nested
 * stacks are flattened; `par()` is the identity on the empty tuple.
 *
 * @example
 * ```ts
 * import { par, relu, mean, showTyped } from 'neural-circuit-diagrams'
 * showTyped(par(relu(['k']), mean('x'))) // 'relu[k] ⊗ mean(x) : [k] × [x] -> [k] × []'
 * ```
 */
export const par = (...parts: ReadonlyArray<Term>): Term => {
  const flat = flatten('par', parts)
  if (flat.length === 0) return id([])
  if (flat.length === 1) return flat[0] as Term
  return make({
    kind: 'par',
    // Fresh arrays of terms and of their (sealed) shapes: sealed in place, so a wide par is not
    // copied again by make. Not concatTypes(...): spreading 10^5 parts overflows the stack.
    parts: sealFresh(flat),
    dom: sealFresh(flat.flatMap((p) => p.dom)),
    cod: sealFresh(flat.flatMap((p) => p.cod)),
    poly: parPoly(flat.map((p) => ({ poly: p.poly, domLength: p.dom.length }))),
  })
}

/**
 * `host` (a seq or par) with its parts `[start, end)` replaced by `replacement`, flattened as the
 * constructors flatten: the same term as `seq(...before, replacement, ...after)` (or `par`), built
 * in time linear in the replacement's parts and a copy of the parts array. Only the new junctions
 * are checked (the kept parts met before, unchanged), the type is the host's, and the linearity
 * is computed when first read. When the replacement does not have the window's type, the
 * constructor runs, so the error is the one it gives. Used by rewriting at a location
 * (`replaceAt`, `withChildren`).
 *
 * @internal
 */
export const spliceParts = (
  host: Extract<Term, { kind: 'seq' | 'par' }>,
  start: number,
  end: number,
  replacement: Term,
): Term => {
  const parts = host.parts
  const build = host.kind === 'seq' ? seq : par
  const whole = (): Term => build(...parts.slice(0, start), replacement, ...parts.slice(end))
  if (!(0 <= start && start < end && end <= parts.length)) return whole()
  const window = parts.slice(start, end)
  const fits =
    host.kind === 'seq'
      ? typeEquals(replacement.dom, (window[0] as Term).dom) &&
        typeEquals(replacement.cod, (window[window.length - 1] as Term).cod)
      : typeEquals(replacement.dom, concatTypes(...window.map((p) => p.dom))) &&
        typeEquals(replacement.cod, concatTypes(...window.map((p) => p.cod)))
  if (!fits) return whole()
  const middle = replacement.kind === host.kind ? replacement.parts : [replacement]
  // One pass into an array of the final length (slices and spreads of a long sequence cost
  // several times its length per step).
  const flat: Term[] = new Array(parts.length - (end - start) + middle.length)
  let at = 0
  for (let i = 0; i < start; i++) flat[at++] = parts[i] as Term
  for (const m of middle) flat[at++] = m
  for (let i = end; i < parts.length; i++) flat[at++] = parts[i] as Term
  if (flat.length === 0) return id([])
  if (flat.length === 1) return flat[0] as Term
  const sealed = sealFresh(flat)
  if (host.kind === 'seq')
    return makeLazy({ kind: 'seq', parts: sealed, dom: host.dom, cod: host.cod }, () => {
      let poly = (sealed[0] as Term).poly
      for (let i = 1; i < sealed.length; i++) poly = seqPoly(poly, (sealed[i] as Term).poly)
      return poly
    })
  return makeLazy({ kind: 'par', parts: sealed, dom: host.dom, cod: host.cod }, () =>
    parPoly(sealed.map((p) => ({ poly: p.poly, domLength: p.dom.length }))),
  )
}

/**
 * The symmetry of tuples: `A × B -> B × A`.
 *
 * @example
 * ```ts
 * import { swap, showTyped } from 'neural-circuit-diagrams'
 * showTyped(swap([['y']], [['x']])) // 'swap([y], [x]) : [y] × [x] -> [x] × [y]'
 * ```
 */
export const swap = (left: TypeLike, right: TypeLike): Term => {
  const a = toType(left)
  const b = toType(right)
  const poly = Object.freeze([
    ...b.map((_, i) => Object.freeze([String(a.length + i)])),
    ...a.map((_, i) => Object.freeze([String(i)])),
  ])
  return make({
    kind: 'swap',
    left: a,
    right: b,
    dom: concatTypes(a, b),
    cod: concatTypes(b, a),
    poly,
  })
}

/**
 * Δ, the Cartesian copy `T -> T × T` (linear: paper section 2.4.1).
 *
 * @example
 * ```ts
 * import { copy, showTyped } from 'neural-circuit-diagrams'
 * showTyped(copy([['x']])) // 'copy([x]) : [x] -> [x] × [x]'
 * ```
 */
export const copy = (type: TypeLike): Term => {
  const t = toType(type)
  const p = identityPoly(t.length)
  return make({
    kind: 'copy',
    type: t,
    dom: t,
    cod: concatTypes(t, t),
    poly: Object.freeze([...p, ...p]),
  })
}

/**
 * The Cartesian delete `T -> ()`.
 *
 * @example
 * ```ts
 * import { drop, showTyped } from 'neural-circuit-diagrams'
 * showTyped(drop([['x']])) // 'drop([x]) : [x] -> ()'
 * ```
 */
export const drop = (type: TypeLike): Term => {
  const t = toType(type)
  return make({ kind: 'drop', type: t, dom: t, cod: Object.freeze([]), poly: zeroPoly(0) })
}

/** Options of {@link broadcast}. */
export interface BroadcastOptions {
  /**
   * For each input segment of the body, where the axes go in it, or `'shared'` to pass the whole
   * segment to every application (inner broadcasting, Fig. 14). Default: every input at `at`.
   */
  readonly inputs?: ReadonlyArray<Placement>
  /** For each output segment of the body, where the axes go in it. Default: every one at `at`. */
  readonly outputs?: ReadonlyArray<number>
  /** The default position of the axes in every segment: 0 (first, the default) or 'last'. */
  readonly at?: number | 'last'
}

const where = (f: Term, axes: Shape): string =>
  `bcast[${axes.map(dimKey).join(' ')}](${show(f, { maxLength: 120 })})`

/**
 * Broadcast `f` over `axes` (paper Fig. 12-14): every application of f acts on one slice of the
 * broadcast inputs (the axes at the given positions) and on the whole of the shared ones.
 *
 * @example
 * ```ts
 * import { broadcast, mean, showTyped } from 'neural-circuit-diagrams'
 * // The norm-like Fig. 12: a reduction on rows, broadcast over columns.
 * showTyped(broadcast(mean('k'), ['y'])) // 'bcast[y](mean(k)) : [y k] -> [y]'
 * showTyped(broadcast(mean('k'), ['y'], { at: 'last' })) // 'bcast[y @in(1) @out(0)](mean(k)) : [k y] -> [y]'
 * ```
 */
export const broadcast = (f: Term, axes: ShapeLike, options: BroadcastOptions = {}): Term => {
  const ax = toShape(axes)
  const position = (shape: Shape): number =>
    options.at === 'last' ? shape.length : (options.at ?? 0)
  const inputs = options.inputs ?? f.dom.map(position)
  const outputs = options.outputs ?? f.cod.map(position)
  if (inputs.length !== f.dom.length)
    fail('bad-broadcast', `broadcast: one placement per input segment is needed`, {
      expected: `${f.dom.length} placements (the body takes ${showType(f.dom)})`,
      got: `${inputs.length}: ${JSON.stringify(inputs)}`,
      where: where(f, ax),
    })
  if (outputs.length !== f.cod.length)
    fail('bad-broadcast', `broadcast: one placement per output segment is needed`, {
      expected: `${f.cod.length} placements (the body gives ${showType(f.cod)})`,
      got: `${outputs.length}: ${JSON.stringify(outputs)}`,
      where: where(f, ax),
    })
  const check = (p: number, shape: Shape, which: string): void => {
    if (!Number.isInteger(p) || p < 0 || p > shape.length)
      fail('bad-broadcast', `broadcast: the position of the axes in ${which} is out of range`, {
        expected: `an integer from 0 to ${shape.length} (the segment is ${showShape(shape)})`,
        got: String(p),
        where: where(f, ax),
      })
  }
  const dom = f.dom.map((s, i) => {
    const p = inputs[i] as Placement
    if (p === 'shared') return s
    check(p, s, `input segment ${i}`)
    return insertAxes(s, p, ax)
  })
  const cod = f.cod.map((s, i) => {
    const p = outputs[i] as number
    check(p, s, `output segment ${i}`)
    return insertAxes(s, p, ax)
  })
  const node: Omit<Broadcast, 'linearity'> = {
    kind: 'broadcast',
    body: f,
    axes: ax,
    inputs: frozen(inputs),
    outputs: frozen(outputs),
    dom: Object.freeze(dom),
    cod: Object.freeze(cod),
    poly: f.poly,
  }
  return make(node)
}

/**
 * A named sub-diagram (the labelled boxes of Fig. 21-29): it means its body and prints by name.
 *
 * @example
 * ```ts
 * import { box, relu, show } from 'neural-circuit-diagrams'
 * show(box('Act', relu(['k']))) // 'Act'
 * ```
 */
export const box = (name: string, body: Term): Term =>
  make({ kind: 'box', name, body, dom: body.dom, cod: body.cod, poly: body.poly })

/** The structure of an einsum of `n` inputs. @internal */
export const einsumPoly = (n: number): Poly => multilinearPoly(n)

/**
 * The `(_, D_)` functor of paper Fig. 32: `D(f) : A × A -> B × B`, `(x, dx) ↦ (f x, Df(x)·dx)`,
 * the forward derivative beside the value. It composes by the chain rule, `D(f ; g) = D(f) ;
 * D(g)` (Fig. 31), and `jvp` expands it into primitives.
 *
 * @example
 * ```ts
 * import { derivative, tanh, showTyped } from 'neural-circuit-diagrams'
 * showTyped(derivative(tanh('k'))) // 'D(tanh[k]) : [k] × [k] -> [k] × [k]'
 * ```
 */
export const derivative = (f: Term): Term =>
  make({
    kind: 'derivative',
    body: f,
    dom: concatTypes(f.dom, f.dom),
    cod: concatTypes(f.cod, f.cod),
    poly:
      f.linearity === 'linear'
        ? parPoly([
            { poly: f.poly, domLength: f.dom.length },
            { poly: f.poly, domLength: f.dom.length },
          ])
        : nonlinearPolyOf(2 * f.cod.length),
  })
