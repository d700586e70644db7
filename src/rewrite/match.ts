/**
 * Matching patterns against terms, and instantiating patterns from bindings.
 *
 * Matching is modulo associativity of `seq` and `par` (terms are kept flattened): a `seq` pattern
 * of n parts matches a sequence whose parts split into n consecutive groups, a term metavariable
 * taking one or more parts (bound to their sequence), any other pattern exactly one. Shape
 * metavariables inside a shape take any number of consecutive dims. Matches are enumerated
 * lazily, with backtracking, in a fixed order: shorter groups first, left to right.
 *
 * @packageDocumentation
 */
import { isTermNode } from '../core/term.js'
import { dataEquals, isDim } from '../core/equal.js'
import { TermError, absurd, fail } from '../core/errors.js'
import { dimKey, showDim } from '../core/dim.js'
import { par, seq } from '../core/construct.js'
import { show } from '../core/show.js'
import type { Term } from '../core/term.js'
import { showType, type TupleType } from '../core/types.js'
import { type TermNode, rebuild } from '../linear/rebuild.js'
import {
  type Computed,
  type Meta,
  type Pattern,
  type Sort,
  isComputed,
  isMeta,
  isNamed,
} from './pattern.js'

/** What a metavariable is bound to. */
export interface Bound {
  readonly sort: Sort
  readonly value: unknown
}

/** Metavariables and their values. */
export type Bindings = ReadonlyMap<string, Bound>

interface State {
  readonly bindings: Bindings
  readonly deferred: ReadonlyArray<{ readonly pattern: Computed; readonly value: unknown }>
}

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x)

const DERIVED = new Set(['dom', 'cod', 'linearity', 'poly'])

const bind = (s: State, name: string, sort: Sort, value: unknown): State => {
  const next = new Map(s.bindings)
  next.set(name, { sort, value })
  return { bindings: next, deferred: s.deferred }
}

const sameBound = (sort: Sort, a: unknown, b: unknown): boolean =>
  sort === 'dim' && isDim(a) && isDim(b) ? dimKey(a) === dimKey(b) : dataEquals(a, b)

function* matchMeta(p: Meta, x: unknown, s: State): Generator<State> {
  const fits =
    p.sort === 'term'
      ? isTermNode(x)
      : p.sort === 'dim'
        ? isDim(x)
        : p.sort === 'shape' || p.sort === 'type'
          ? Array.isArray(x)
          : true
  if (!fits) return
  const old = s.bindings.get(p.name)
  if (old === undefined) yield bind(s, p.name, p.sort, x)
  else if (old.sort === p.sort && sameBound(p.sort, old.value, x)) yield s
}

function* matchComputed(p: Computed, x: unknown, s: State): Generator<State> {
  if (p.op === 'concat') {
    if (!Array.isArray(x)) return
    yield* matchConcat(p.parts, 0, x, 0, s)
    return
  }
  if (p.op === 'build') return
  const bound = s.bindings.get(p.term)
  if (bound === undefined) {
    yield { bindings: s.bindings, deferred: [...s.deferred, { pattern: p, value: x }] }
    return
  }
  if (dataEquals(evaluateComputed(p, s.bindings), x)) yield s
}

function* matchConcat(
  parts: ReadonlyArray<Pattern>,
  i: number,
  x: ReadonlyArray<unknown>,
  at: number,
  s: State,
): Generator<State> {
  if (i === parts.length) {
    if (at === x.length) yield s
    return
  }
  const last = i === parts.length - 1
  for (let end = last ? x.length : at; end <= x.length; end++)
    for (const s2 of matchNode(parts[i] as Pattern, x.slice(at, end), s))
      yield* matchConcat(parts, i + 1, x, end, s2)
}

const isShapeMeta = (p: Pattern): p is Meta => isMeta(p) && p.sort === 'shape'

const isSegment = (p: Pattern): p is Extract<Computed, { op: 'segment' }> =>
  isComputed(p) && p.op === 'segment'

/** Pattern nodes that stand for several consecutive entries of a list. */
const isSpliced = (p: Pattern): boolean => isShapeMeta(p) || isSegment(p)

function* matchArray(
  p: ReadonlyArray<Pattern>,
  i: number,
  x: ReadonlyArray<unknown>,
  j: number,
  s: State,
): Generator<State> {
  if (i === p.length) {
    if (j === x.length) yield s
    return
  }
  const q = p[i] as Pattern
  if (isSegment(q)) {
    const v = evaluateComputed(q, s.bindings) as ReadonlyArray<unknown> | undefined
    if (v === undefined) {
      // Not yet known: try every length, and check once the term is bound.
      for (let end = j; end <= x.length; end++)
        yield* matchArray(p, i + 1, x, end, {
          bindings: s.bindings,
          deferred: [...s.deferred, { pattern: q, value: x.slice(j, end) }],
        })
      return
    }
    if (j + v.length <= x.length && dataEquals(v, x.slice(j, j + v.length)))
      yield* matchArray(p, i + 1, x, j + v.length, s)
    return
  }
  if (isShapeMeta(q)) {
    const old = s.bindings.get(q.name)
    if (old !== undefined) {
      const v = old.value as ReadonlyArray<unknown>
      if (j + v.length <= x.length && dataEquals(v, x.slice(j, j + v.length)))
        yield* matchArray(p, i + 1, x, j + v.length, s)
      return
    }
    for (let end = j; end <= x.length; end++)
      yield* matchArray(p, i + 1, x, end, bind(s, q.name, 'shape', x.slice(j, end)))
    return
  }
  if (j >= x.length) return
  for (const s2 of matchNode(q, x[j], s)) yield* matchArray(p, i + 1, x, j + 1, s2)
}

/** Group a term's consecutive parts as a `seq` or `par` pattern's parts. */
function* matchGroups(
  kind: 'seq' | 'par',
  p: ReadonlyArray<Pattern>,
  i: number,
  parts: ReadonlyArray<Term>,
  j: number,
  s: State,
): Generator<State> {
  if (i === p.length) {
    if (j === parts.length) yield s
    return
  }
  const q = p[i] as Pattern
  const rest = p.length - i - 1
  const takesMany = isMeta(q) && q.sort === 'term'
  const most = takesMany ? parts.length - j - rest : 1
  for (let n = 1; n <= most; n++) {
    const group = parts.slice(j, j + n)
    if (group.length < n) return
    const x = n === 1 ? (group[0] as Term) : kind === 'seq' ? seq(...group) : par(...group)
    for (const s2 of matchNode(q, x, s)) yield* matchGroups(kind, p, i + 1, parts, j + n, s2)
  }
}

function* matchNode(p: Pattern, x: unknown, s: State): Generator<State> {
  if (p === undefined || typeof p !== 'object' || p === null) {
    if (p === x) yield s
    return
  }
  if (Array.isArray(p)) {
    if (Array.isArray(x)) yield* matchArray(p, 0, x, 0, s)
    return
  }
  if (isMeta(p)) {
    yield* matchMeta(p, x, s)
    return
  }
  if (isNamed(p)) {
    if (!isTermNode(x)) return
    for (const s2 of matchMeta({ kind: 'meta', sort: 'term', name: p.name }, x, s))
      yield* matchNode(p.pattern, x, s2)
    return
  }
  if (isComputed(p)) {
    yield* matchComputed(p, x, s)
    return
  }
  if (isTermNode(p)) {
    if (isTermNode(x) && dataEquals(p, x)) yield s
    return
  }
  if (isDim(p)) {
    if (isDim(x) && dimKey(p) === dimKey(x)) yield s
    return
  }
  if (!isRecord(x)) return
  const r = p as Record<string, Pattern>
  if ((r.kind === 'seq' || r.kind === 'par') && isTermNode(x)) {
    if (x.kind === r.kind)
      yield* matchGroups(r.kind, r.parts as ReadonlyArray<Pattern>, 0, x.parts, 0, s)
    return
  }
  // Derived fields are skipped on terms only: an einsum's dims record may have a label 'dom'.
  const term = isTermNode(x)
  const keys = Object.keys(r).filter((k) => !term || !DERIVED.has(k))
  const xKeys = Object.keys(x).filter((k) => !term || !DERIVED.has(k))
  if (xKeys.some((k) => !(k in r))) return
  if (keys.some((k) => r[k] !== undefined && !(k in x))) return
  yield* matchFields(r, keys, 0, x, s)
}

function* matchFields(
  r: Record<string, Pattern>,
  keys: ReadonlyArray<string>,
  i: number,
  x: Record<string, unknown>,
  s: State,
): Generator<State> {
  if (i === keys.length) {
    yield s
    return
  }
  const k = keys[i] as string
  for (const s2 of matchNode(r[k], x[k], s)) yield* matchFields(r, keys, i + 1, x, s2)
}

const resolveDeferred = (s: State): Bindings | undefined => {
  for (const d of s.deferred) {
    const value = evaluateComputed(d.pattern, s.bindings)
    if (value === undefined || !dataEquals(value, d.value)) return undefined
  }
  return s.bindings
}

const evaluateComputed = (p: Computed, b: Bindings): unknown => {
  if (p.op === 'concat') {
    const parts = p.parts.map((q) => instantiateData(q, b))
    return parts.every(Array.isArray) ? parts.flat() : undefined
  }
  if (p.op === 'build') return p.build(b)
  const t = b.get(p.term)
  if (t === undefined || !isTermNode(t.value)) return undefined
  if (p.op === 'segment') return (p.of === 'dom' ? t.value.dom : t.value.cod)[p.index]
  return p.op === 'dom' ? t.value.dom : t.value.cod
}

/**
 * Every way the pattern matches the term (or a part of its data), as bindings.
 *
 * @example
 * ```ts
 * import { matchAll, P, v, seq, relu, tanh, mean } from 'neural-circuit-diagrams'
 * const t = seq(relu('k'), tanh('k'), mean('k'))
 * Array.from(matchAll(P.seq(v.term('f'), v.term('g')), t)).length // 2
 * ```
 */
export function* matchAll(
  p: Pattern,
  x: unknown,
  initial: Bindings = new Map(),
): Generator<Bindings> {
  for (const s of matchNode(p, x, { bindings: initial, deferred: [] })) {
    const b = resolveDeferred(s)
    if (b !== undefined) yield b
  }
}

/** The first match, if any. */
export const matchFirst = (
  p: Pattern,
  x: unknown,
  initial: Bindings = new Map(),
): Bindings | undefined => {
  for (const b of matchAll(p, x, initial)) return b
  return undefined
}

/**
 * Match a pattern against the parts `[start, end)` of a sequence or stack: a `seq` or `par`
 * pattern groups the parts; any other pattern (a metavariable, a named pattern) matches the
 * window as one sub-term (by associativity, the parts in sequence or side by side).
 */
export function* matchWindow(
  p: Pattern,
  x: Term,
  start: number,
  end: number,
  initial: Bindings = new Map(),
): Generator<Bindings> {
  if (x.kind !== 'seq' && x.kind !== 'par') return
  if (isMeta(p) || isNamed(p)) {
    const parts = x.parts.slice(start, end)
    if (parts.length === 0) return
    yield* matchAll(p, x.kind === 'seq' ? seq(...parts) : par(...parts), initial)
    return
  }
  if (!isRecord(p) || isTermNode(p)) return
  const r = p as Record<string, Pattern>
  if (r.kind !== x.kind) return
  const parts = x.parts.slice(start, end)
  for (const s of matchGroups(x.kind, r.parts as ReadonlyArray<Pattern>, 0, parts, 0, {
    bindings: initial,
    deferred: [],
  })) {
    const b = resolveDeferred(s)
    if (b !== undefined) yield b
  }
}

const instantiateData = (p: Pattern, b: Bindings): unknown => {
  if (p === undefined || typeof p !== 'object' || p === null) return p
  if (Array.isArray(p))
    return p.flatMap((q: Pattern) => {
      if (isSpliced(q)) return instantiateData(q, b) as unknown[]
      return [instantiateData(q, b)]
    })
  if (isMeta(p)) {
    const bound = b.get(p.name)
    if (bound === undefined)
      return fail('bad-argument', `instantiate: the metavariable ?${p.name} is not bound`, {
        expected: `a binding for ?${p.name} (${p.sort})`,
        got: `bindings of ${[...b.keys()].map((k) => `?${k}`).join(', ') || 'nothing'}`,
      })
    return bound.value
  }
  if (isNamed(p)) return instantiateData(p.pattern, b)
  if (isComputed(p)) {
    const value = evaluateComputed(p, b)
    if (value === undefined)
      return fail('bad-argument', `instantiate: cannot compute ${p.op}`, {
        expected: 'bound terms for dom/cod, lists for concat',
        got: `bindings of ${[...b.keys()].map((k) => `?${k}`).join(', ')}`,
      })
    return value
  }
  if (isTermNode(p) || isDim(p)) return p
  const out: Record<string, unknown> = {}
  for (const [k, q] of Object.entries(p as Record<string, Pattern>)) out[k] = instantiateData(q, b)
  return out
}

/**
 * Build the term a pattern describes under the bindings, through the smart constructors (so it is
 * type-checked). Throws a `TermError` for an unbound metavariable or an ill-typed result.
 *
 * @example
 * ```ts
 * import { instantiate, P, v, relu, show } from 'neural-circuit-diagrams'
 * show(instantiate(P.seq(v.term('f'), v.term('f')), new Map([['f', { sort: 'term', value: relu('k') }]])))
 * // 'relu[k] ; relu[k]'
 * ```
 */
export const instantiate = (p: Pattern, b: Bindings): Term => {
  const data = instantiateData(p, b)
  if (!isRecord(data))
    return fail('bad-argument', 'instantiate: the pattern does not describe a term', {
      expected: 'a term pattern',
      got: JSON.stringify(data),
    })
  return rebuild(data as TermNode)
}

/** Print bindings: `?f = relu[k], ?a = k`. */
export const showBindings = (b: Bindings): string =>
  [...b.entries()]
    .map(([name, { sort, value }]) => `?${name} = ${showValue(sort, value)}`)
    .join(', ')

const showValue = (sort: Sort, value: unknown): string => {
  switch (sort) {
    case 'term':
      return show(value as Term, { maxLength: 80 })
    case 'dim':
      return isDim(value) ? showDim(value) : String(value)
    case 'shape':
      return `[${(value as ReadonlyArray<unknown>).map((d) => (isDim(d) ? showDim(d) : String(d))).join(' ')}]`
    case 'type':
      return showType(value as TupleType)
    case 'value':
      return JSON.stringify(value)
    default:
      return absurd(sort)
  }
}

/** Whether an error is the engine's (a refused construction), as opposed to a bug. @internal */
export const isTermError = (e: unknown): e is TermError => e instanceof TermError

/** A necessary condition for a match, on a term or on the parts of a window. @internal */
export type Prefilter<X> = (x: X) => boolean

/** Part patterns of a `seq` or `par` pattern, aligned: the exact count, or the fixed ends. */
const partsFilter = (parts: ReadonlyArray<Pattern>): Prefilter<ReadonlyArray<Term>> | undefined => {
  const many = parts.map((q) => isMeta(q) && q.sort === 'term')
  const firstMany = many.indexOf(true)
  const checks: Array<readonly [number, Prefilter<Term>]> = []
  // Before the first term metavariable, part i takes the window's part i; after the last, part
  // parts.length - k takes the window's part length - k; each part takes one part exactly.
  const lastMany = many.lastIndexOf(true)
  parts.forEach((q, i) => {
    const f = termFilter(q)
    if (f === undefined) return
    if (firstMany === -1 || i < firstMany) checks.push([i, f])
    else if (i > lastMany) checks.push([i - parts.length, f])
  })
  const m = parts.length
  const exact = firstMany === -1
  if (checks.length === 0 && m <= 1) return undefined
  return (xs) => {
    if (exact ? xs.length !== m : xs.length < m) return false
    for (const [i, f] of checks) if (!f(xs[i < 0 ? xs.length + i : i] as Term)) return false
    return true
  }
}

/** The kinds a pattern fixes, at its root and down its sub-term fields; undefined: any term. */
const termFilter = (p: Pattern): Prefilter<Term> | undefined => {
  if (p === undefined || typeof p !== 'object' || p === null || Array.isArray(p)) return undefined
  if (isNamed(p)) return termFilter(p.pattern)
  if (isMeta(p) || isComputed(p) || isDim(p)) return undefined
  if (isTermNode(p)) {
    const kind = p.kind
    return (x) => x.kind === kind
  }
  const r = p as Record<string, Pattern>
  const kind = r.kind
  if (typeof kind !== 'string') return undefined
  if ((kind === 'seq' || kind === 'par') && Array.isArray(r.parts)) {
    const parts = partsFilter(r.parts as ReadonlyArray<Pattern>)
    return parts === undefined
      ? (x) => x.kind === kind
      : (x) => x.kind === kind && parts((x as { parts: ReadonlyArray<Term> }).parts)
  }
  const body = 'body' in r ? termFilter(r.body) : undefined
  return body === undefined
    ? (x) => x.kind === kind
    : (x) => x.kind === kind && body((x as { body: Term }).body)
}

/**
 * A cheap necessary condition for `matchAll(p, x)` to yield anything: the term kinds the pattern
 * fixes, at its root and in its sub-terms (bodies, and the parts of a `seq` or `par` pattern
 * before its first and after its last term metavariable, which take one part each). The search's
 * index: a pattern is matched only where its shape of kinds fits (egg indexes e-nodes by their
 * operator for a pattern's head; here the whole of a pattern's fixed kinds is tested before the
 * matcher runs). `prefilter(p)(x) === false` implies no match. @internal
 */
export const prefilter = (p: Pattern): Prefilter<Term> => termFilter(p) ?? (() => true)

/**
 * The same for `matchWindow(p, x, start, end)`, on the window's parts `x.parts.slice(start, end)`:
 * a `seq` or `par` pattern groups them; any other pattern takes them as one term, which is
 * not tested (always true). @internal
 */
export const windowPrefilter = (p: Pattern): Prefilter<ReadonlyArray<Term>> => {
  const q = isNamed(p) ? p.pattern : p
  const r = q as Record<string, Pattern> | undefined
  if (
    typeof r !== 'object' ||
    r === null ||
    isTermNode(r) ||
    (r.kind !== 'seq' && r.kind !== 'par') ||
    !Array.isArray(r.parts)
  )
    return () => true
  return partsFilter(r.parts as ReadonlyArray<Pattern>) ?? (() => true)
}
