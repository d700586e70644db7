/**
 * The contract every rule must pass, built-in or user-made (STYLE.md, after fast-check's one
 * contract suite): for random instances of either side, with random sub-terms for its term
 * metavariables (respecting the side conditions), random sizes and random inputs,
 *
 * - the rule applies to its own instance, and deterministically;
 * - both sides type-check to the same `dom` and `cod`;
 * - both sides evaluate equal (relative tolerance 1e-9 in float64);
 * - the same holds right to left when the rule is two-way.
 *
 * Instances are drawn type-first by walking the pattern ({@link instanceArb}); a counterexample
 * prints both sides in text form.
 *
 * @packageDocumentation
 */
import { isTermNode } from '../core/term.js'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { par } from '../core/construct.js'
import type { Dim, Sizes } from '../core/dim.js'
import { dataEquals, isDim } from '../core/equal.js'
import { TermError } from '../core/errors.js'
import { show, showTyped } from '../core/show.js'
import type { Placement, Term } from '../core/term.js'
import { type Shape, type TupleType, insertAxes, showType, typeEquals } from '../core/types.js'
import { UNARY_OPS, param } from '../core/primitives.js'
import { mapTerm } from '../core/update.js'
import { generatorNode } from '../core/generator.js'
import { evaluate } from '../eval/evaluate.js'
import { type TermNode, rebuild } from '../linear/rebuild.js'
import { type Bindings, type Bound, instantiate, matchFirst } from '../rewrite/match.js'
import { type Computed, type Pattern, isComputed, isMeta, isNamed } from '../rewrite/pattern.js'
import { type Catalogue, catalogueOf } from '../rewrite/proof.js'
import { type Direction, type Rule, applyAt, showStep } from '../rewrite/rule.js'
import { einsumArb } from './einsums.js'
import {
  DEFAULT_DIMS,
  DEFAULT_MAX_SIZE,
  shapeArb,
  sizeBounds,
  sizesFit,
  termSizesArb,
  tupleTypeArb,
} from './sizes.js'
import { type TensorArbOptions, inputsArb, paramsArb, tensorArb } from './tensors.js'
import { type TermArbOptions, termArb } from './terms.js'

/** Options of {@link instanceArb} and {@link checkLaw}. */
export interface LawOptions {
  /** Depth of the random sub-terms bound to term metavariables (default 2). */
  readonly depth?: number
  /** Runs per direction (default 200). */
  readonly numRuns?: number
  /** The relative tolerance of the numeric comparison (default 1e-9). */
  readonly tolerance?: number
  /** A seed, to replay a failure. */
  readonly seed?: number
  /** Options for the random sub-terms (merged with those the side conditions ask). */
  readonly terms?: TermArbOptions
  /**
   * Instances to draw instead of {@link instanceArb}'s, per direction: for a side that the
   * pattern-walking generator cannot draw (a dim fixed by a later part, such as the padded axis
   * of the snake of a padding), or sub-terms of a kind no option asks for. The rule must still
   * apply to every instance.
   */
  readonly instances?: Partial<Record<Direction, fc.Arbitrary<Term>>>
  /**
   * Options of the random inputs and parameters. The default entries are mostly uniform over
   * [-2, 2], with some tiny values, subnormals and 0, ±1, 1/2 mixed in (see `Values`); `{ values:
   * 'quarters' }` draws multiples of 1/4 instead, at which nonlinear maps are far from linear.
   */
  readonly tensors?: TensorArbOptions
  /**
   * The largest size of a size variable (default 4, or `terms.maxSize` when given): sub-terms
   * are drawn valid up to it, sizes are drawn up to it, and index positions below it.
   */
  readonly maxSize?: number
  /**
   * The least number of cases, per direction, that must exercise the rule: its conditions held
   * and the drawn sizes fit both sides, so that the two sides were evaluated and compared
   * (default {@link DEFAULT_MIN_EXERCISED} of the runs, at least 1). A rule whose cases mostly
   * fail its conditions has not been tested, whatever the number of runs.
   */
  readonly minExercised?: number
}

/**
 * The default share of the runs that must exercise a rule ({@link LawOptions.minExercised}): a
 * quarter. Each run draws up to {@link CONDITION_RETRIES} instances before it gives up on the
 * rule's conditions, so a rule whose conditions hold for a reasonable share of instances passes
 * it easily, and one whose conditions the generator cannot meet fails.
 */
export const DEFAULT_MIN_EXERCISED = 0.25

/** How many instances one run draws, at most, until one meets the rule's conditions. */
export const CONDITION_RETRIES = 20

interface State {
  readonly bindings: ReadonlyMap<string, Bound>
  /** Types a term metavariable must have, learned before it is drawn. */
  readonly wants: ReadonlyMap<string, { readonly dom?: TupleType; readonly cod?: TupleType }>
}

interface Drawn {
  readonly state: State
  readonly dom: TupleType
  readonly cod: TupleType
}

const bindIn = (s: State, name: string, bound: Bound): State => {
  const b = new Map(s.bindings)
  b.set(name, bound)
  return { bindings: b, wants: s.wants }
}

const want = (s: State, name: string, which: 'dom' | 'cod', type: TupleType): State => {
  const w = new Map(s.wants)
  w.set(name, { ...w.get(name), [which]: type })
  return { bindings: s.bindings, wants: w }
}

const cannot = (what: string): never => {
  throw new Error(
    `instanceArb: cannot draw ${what}; extend src/testing/laws.ts or restate the rule`,
  )
}

const isRecord = (p: Pattern): p is { readonly [field: string]: Pattern } =>
  typeof p === 'object' && p !== null && !Array.isArray(p)

interface Context {
  readonly termOptions: (name: string) => TermArbOptions
  /** Types that must be equal (`same` conditions), as pairs of computed types. */
  readonly equalities: ReadonlyArray<readonly [Computed, Computed]>
  /** Value metavariables that place a broadcast's output somewhere: never `'shared'`. */
  readonly positions: ReadonlySet<string>
  /** The largest size of a size variable (indexes are drawn below it). */
  readonly maxSize: number
}

/** After binding a term, tell the terms it must fit (by `same` conditions) their types. */
const propagate = (s: State, ctx: Context): State => {
  let out = s
  for (const [l, r] of ctx.equalities)
    for (const [from, to] of [
      [l, r],
      [r, l],
    ] as const) {
      if (from.op !== 'dom' && from.op !== 'cod') continue
      if (to.op !== 'dom' && to.op !== 'cod') continue
      const t = out.bindings.get(from.term)?.value as Term | undefined
      if (t === undefined || out.bindings.has(to.term)) continue
      out = want(out, to.term, to.op, from.op === 'dom' ? t.dom : t.cod)
    }
  return out
}

const typeArb = tupleTypeArb({ maxLength: 2, maxRank: 2 })
const dimArb = fc.constantFrom(...DEFAULT_DIMS)

/** Draw (or read) a shape for a shape pattern; `given` when the shape is known. */
const drawShape = (
  p: Pattern,
  given: Shape | undefined,
  s: State,
): fc.Arbitrary<{ state: State; shape: Shape }> => {
  if (given !== undefined) {
    const b = matchFirst(p, given, s.bindings)
    return b === undefined
      ? cannot(`a shape matching the pattern for ${JSON.stringify(given)}`)
      : fc.constant({ state: { bindings: b, wants: s.wants }, shape: given })
  }
  if (isMeta(p)) {
    const old = s.bindings.get(p.name)
    if (old !== undefined) return fc.constant({ state: s, shape: old.value as Shape })
    return shapeArb({ minRank: 1, maxRank: 1 }).map((shape) => ({
      state: bindIn(s, p.name, { sort: 'shape', value: shape }),
      shape,
    }))
  }
  if (!Array.isArray(p)) return cannot('a shape from a non-list pattern')
  // Draw each entry: dims, dim and shape metavariables, segments of bound terms.
  const step = (
    i: number,
    st: State,
    acc: ReadonlyArray<unknown>,
  ): fc.Arbitrary<{ state: State; shape: Shape }> => {
    if (i === p.length) return fc.constant({ state: st, shape: acc as Shape })
    const q = p[i] as Pattern
    if (isMeta(q) && q.sort === 'dim') {
      const old = st.bindings.get(q.name)
      if (old !== undefined) return step(i + 1, st, [...acc, old.value])
      return dimArb.chain((d) =>
        step(i + 1, bindIn(st, q.name, { sort: 'dim', value: d }), [...acc, d]),
      )
    }
    if (isMeta(q) && q.sort === 'shape')
      return drawShape(q, undefined, st).chain((r) => step(i + 1, r.state, [...acc, ...r.shape]))
    if (isComputed(q) && q.op === 'segment') {
      const t = st.bindings.get(q.term)?.value as Term | undefined
      // A term not drawn yet may already have its types (a `typed` condition, see instanceArb).
      const type = t === undefined ? st.wants.get(q.term)?.[q.of] : q.of === 'dom' ? t.dom : t.cod
      if (type === undefined) return cannot(`the segment of ?${q.term} before ?${q.term} is drawn`)
      const seg = type[q.index] ?? cannot('a missing segment')
      return step(i + 1, st, [...acc, ...seg])
    }
    if (isDim(q)) return step(i + 1, st, [...acc, q])
    return cannot(`a shape entry from ${JSON.stringify(q)}`)
  }
  return step(0, s, [])
}

/** The number of segments a type pattern stands for, when the state already tells. */
const knownLength = (p: Pattern, s: State): number | undefined => {
  if (isMeta(p)) {
    const v = s.bindings.get(p.name)?.value
    return Array.isArray(v) ? v.length : undefined
  }
  if (isComputed(p)) {
    if (p.op === 'concat') {
      const ns = p.parts.map((q) => knownLength(q, s))
      return ns.every((n) => n !== undefined)
        ? ns.reduce<number>((a, n) => a + (n as number), 0)
        : undefined
    }
    if (p.op === 'segment' || p.op === 'build') return undefined
    const t = s.bindings.get(p.term)?.value as Term | undefined
    if (t !== undefined) return (p.op === 'dom' ? t.dom : t.cod).length
    return s.wants.get(p.term)?.[p.op]?.length
  }
  if (Array.isArray(p) && !p.some((q) => isMeta(q) && q.sort === 'shape')) return p.length
  return undefined
}

/** The number of input segments of a term pattern, when the state already tells. */
const knownDomLength = (p: Pattern, s: State): number | undefined => {
  if (isNamed(p)) return knownDomLength(p.pattern, s)
  if (isMeta(p))
    return (
      (s.bindings.get(p.name)?.value as Term | undefined)?.dom.length ??
      s.wants.get(p.name)?.dom?.length
    )
  if (isTermNode(p)) return p.dom.length
  if (!isRecord(p) || isComputed(p)) return undefined
  switch (String(p.kind)) {
    case 'id':
    case 'copy':
    case 'drop':
      return knownLength(p.type as Pattern, s)
    case 'zero':
      return 0
    case 'swap': {
      const l = knownLength(p.left as Pattern, s)
      const r = knownLength(p.right as Pattern, s)
      return l === undefined || r === undefined ? undefined : l + r
    }
    case 'seq':
      return knownDomLength((p.parts as ReadonlyArray<Pattern>)[0] as Pattern, s)
    case 'par': {
      const ns = (p.parts as ReadonlyArray<Pattern>).map((q) => knownDomLength(q, s))
      return ns.every((n) => n !== undefined)
        ? ns.reduce<number>((a, n) => a + (n as number), 0)
        : undefined
    }
    case 'broadcast':
    case 'box':
      return knownDomLength(p.body as Pattern, s)
    case 'derivative': {
      const n = knownDomLength(p.body as Pattern, s)
      return n === undefined ? undefined : 2 * n
    }
    default:
      return undefined
  }
}

/** Draw (or read) a tuple type for a type pattern. */
const drawType = (
  p: Pattern,
  given: TupleType | undefined,
  s: State,
): fc.Arbitrary<{ state: State; type: TupleType }> => {
  if (isMeta(p)) {
    const old = s.bindings.get(p.name)
    if (old !== undefined) {
      if (given !== undefined && !dataEquals(old.value, given))
        return cannot(`?${p.name} at two types`)
      return fc.constant({ state: s, type: old.value as TupleType })
    }
    const arb = given === undefined ? typeArb : fc.constant(given)
    return arb.map((type) => ({ state: bindIn(s, p.name, { sort: 'type', value: type }), type }))
  }
  if (isComputed(p)) {
    if (p.op === 'concat') {
      const parts = p.parts
      if (given === undefined)
        return parts.reduce<fc.Arbitrary<{ state: State; type: TupleType }>>(
          (acc, q) =>
            acc.chain((r) =>
              drawType(q, undefined, r.state).map((x) => ({
                state: x.state,
                type: [...r.type, ...x.type],
              })),
            ),
          fc.constant({ state: s, type: [] }),
        )
      // Split the given type among the parts.
      const split = (
        i: number,
        at: number,
        st: State,
      ): fc.Arbitrary<{ state: State; type: TupleType }> => {
        if (i === parts.length - 1)
          return drawType(parts[i] as Pattern, given.slice(at), st).map((r) => ({
            state: r.state,
            type: given,
          }))
        const n = knownLength(parts[i] as Pattern, st)
        return (
          n !== undefined ? fc.constant(at + n) : fc.integer({ min: at, max: given.length })
        ).chain((end) =>
          drawType(parts[i] as Pattern, given.slice(at, end), st).chain((r) =>
            split(i + 1, end, r.state),
          ),
        )
      }
      return parts.length === 0 ? fc.constant({ state: s, type: [] }) : split(0, 0, s)
    }
    if (p.op === 'segment' || p.op === 'build') return cannot(`a tuple type from a ${p.op}`)
    const t = s.bindings.get(p.term)?.value as Term | undefined
    if (t !== undefined) {
      const type = p.op === 'dom' ? t.dom : t.cod
      if (given !== undefined && !typeEquals(type, given))
        return cannot(`${p.op} ?${p.term} at two types`)
      return fc.constant({ state: s, type })
    }
    const known = given ?? s.wants.get(p.term)?.[p.op]
    const arb = known === undefined ? typeArb : fc.constant(known)
    return arb.map((type) => ({ state: want(s, p.term, p.op as 'dom' | 'cod', type), type }))
  }
  if (Array.isArray(p)) {
    if (given !== undefined) {
      const b = matchFirst(p, given, s.bindings)
      if (b === undefined) return cannot(`a type matching the pattern at ${showType(given)}`)
      return fc.constant({ state: { bindings: b, wants: s.wants }, type: given })
    }
    return p.reduce<fc.Arbitrary<{ state: State; type: TupleType }>>(
      (acc, q) =>
        acc.chain((r) =>
          drawShape(q, undefined, r.state).map((x) => ({
            state: x.state,
            type: [...r.type, x.shape],
          })),
        ),
      fc.constant({ state: s, type: [] }),
    )
  }
  return cannot('a tuple type from this pattern')
}

/** Draw placements for a placements pattern over the given segments. */
/** The metavariables of a pattern. */
const metaNames = (p: Pattern, into: Set<string> = new Set()): Set<string> => {
  if (isMeta(p)) into.add(p.name)
  else if (isNamed(p)) metaNames(p.pattern, into)
  else if (isComputed(p)) {
    if (p.op === 'concat') p.parts.forEach((q) => metaNames(q, into))
  } else if (Array.isArray(p)) p.forEach((q: Pattern) => metaNames(q, into))
  else if (isRecord(p) && !isTermNode(p) && !isDim(p))
    Object.values(p).forEach((q) => metaNames(q, into))
  return into
}

/** The metavariables in the output placements of the broadcasts of a pattern. */
const outputPlacements = (p: Pattern, into: Set<string> = new Set()): Set<string> => {
  if (isNamed(p)) return outputPlacements(p.pattern, into)
  if (Array.isArray(p)) p.forEach((q: Pattern) => outputPlacements(q, into))
  else if (isRecord(p) && !isMeta(p) && !isComputed(p) && !isTermNode(p) && !isDim(p)) {
    if (p.kind === 'broadcast') metaNames(p.outputs as Pattern, into)
    Object.values(p).forEach((q) => outputPlacements(q, into))
  }
  return into
}

/**
 * The value of a data pattern when the bindings already determine it: literals, bound
 * metavariables, and lists and concatenations of those.
 */
const knownData = (p: Pattern, s: State): unknown => {
  if (p === undefined || typeof p !== 'object' || p === null) return p
  if (isMeta(p)) return s.bindings.get(p.name)?.value
  if (Array.isArray(p)) {
    const xs = p.map((q: Pattern) => knownData(q, s))
    return xs.includes(undefined) ? undefined : xs
  }
  if (isComputed(p) && p.op === 'concat') {
    const xs = p.parts.map((q) => knownData(q, s))
    return xs.every(Array.isArray) ? xs.flat() : undefined
  }
  return undefined
}

/**
 * Draw placements for a placements pattern over the given segments: its value when known, else
 * entry by entry (a list's known entries kept), a metavariable that also places an output
 * (`ctx.positions`) never `'shared'`.
 */
const drawPlacements = (
  p: Pattern,
  segments: TupleType,
  allowShared: boolean,
  s: State,
  ctx: Context,
): fc.Arbitrary<{ state: State; placements: ReadonlyArray<Placement> }> => {
  const known = knownData(p, s)
  if (Array.isArray(known))
    return fc.constant({ state: s, placements: known as ReadonlyArray<Placement> })
  const one = (shape: Shape, q: Pattern): fc.Arbitrary<Placement> => {
    const entry = Array.isArray(p) ? knownData(q, s) : undefined
    if (entry !== undefined) return fc.constant(entry as Placement)
    const shared = allowShared && ![...metaNames(q)].some((n) => ctx.positions.has(n))
    return shared
      ? fc.oneof(fc.integer({ min: 0, max: shape.length }), fc.constant<Placement>('shared'))
      : fc.integer({ min: 0, max: shape.length })
  }
  const entries = segments.map((seg, i) => one(seg, Array.isArray(p) ? (p[i] as Pattern) : p))
  return fc.tuple(...entries).map((placements) => {
    const b = matchFirst(p, placements, s.bindings)
    return b === undefined
      ? cannot('placements for the pattern')
      : { state: { bindings: b, wants: s.wants }, placements }
  })
}

const removeAxes = (seg: Shape, at: number, axes: Shape): Shape | undefined => {
  const block = seg.slice(at, at + axes.length)
  if (block.length !== axes.length || !dataEquals(block, axes)) return undefined
  return [...seg.slice(0, at), ...seg.slice(at + axes.length)]
}

const findAxes = (seg: Shape, axes: Shape): number | undefined => {
  for (let at = 0; at + axes.length <= seg.length; at++) if (removeAxes(seg, at, axes)) return at
  return undefined
}

/** Values for plain-value metavariables of leaf nodes, by the field they stand in. */
const valueArb = (kind: string, field: string, maxSize: number): fc.Arbitrary<unknown> => {
  // Every position of an axis of the largest size, the small ones most often.
  if (field === 'at')
    return fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 0, max: Math.min(2, maxSize - 1) }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: maxSize - 1 }) },
    )
  if (field === 'stride' || field === 'dilation') return fc.integer({ min: 1, max: 2 })
  // The default entries of a tensor (see `Values`): mostly uniform over [-2, 2], not mostly tiny.
  if (field === 'factor') return tensorArb([]).map((x) => x[0] as number)
  if (kind === 'scalar' && field === 'op')
    return fc.constantFrom(
      ...UNARY_OPS.filter((o) => o !== 'log' && o !== 'sqrt' && o !== 'reciprocal'),
    )
  if (field === 'before' || field === 'after') return fc.integer({ min: 0, max: 2 })
  if (field === 'epsilon') return fc.constantFrom(1e-5, 0.01, 0.5)
  return cannot(`a value for the field ${field} of a ${kind}`)
}

/** Fill the metavariables of a leaf node's fields, then build it. */
const drawLeaf = (
  p: { readonly [field: string]: Pattern },
  s: State,
  maxSize: number,
): fc.Arbitrary<{ state: State; term: Term }> => {
  const kind = String(p.kind)
  const fields = Object.entries(p)
  const fill = (
    q: Pattern,
    field: string,
    st: State,
  ): fc.Arbitrary<{ state: State; value: unknown }> => {
    if (isMeta(q)) {
      const old = st.bindings.get(q.name)
      if (old !== undefined) return fc.constant({ state: st, value: old.value })
      const arb: fc.Arbitrary<unknown> =
        q.sort === 'dim'
          ? dimArb
          : q.sort === 'value'
            ? valueArb(kind, field, maxSize)
            : q.sort === 'shape'
              ? // The pieces of a concatenation: one to three axes.
                shapeArb({ minRank: 1, maxRank: kind === 'concat' && field === 'pieces' ? 3 : 1 })
              : cannot(`a ${q.sort} in a ${kind}`)
      return arb.map((value) => ({ state: bindIn(st, q.name, { sort: q.sort, value }), value }))
    }
    if (isComputed(q) && q.op === 'segment') {
      // A segment of a term drawn before (the joined axis of an inner concatenation).
      const t = st.bindings.get(q.term)?.value as Term | undefined
      const type = t === undefined ? undefined : q.of === 'dom' ? t.dom : t.cod
      const seg = type?.[q.index] ?? cannot(`the segment of ?${q.term} before ?${q.term} is drawn`)
      return fc.constant({ state: st, value: seg })
    }
    if (Array.isArray(q))
      return q.reduce<fc.Arbitrary<{ state: State; value: unknown }>>(
        (acc, x) =>
          acc.chain((r) =>
            fill(x, field, r.state).map((y) => ({
              state: y.state,
              // A shape metavariable or a segment is spliced into the list (`view([?S] -> [1 ?S])`).
              value:
                (isMeta(x) && x.sort === 'shape') || (isComputed(x) && x.op === 'segment')
                  ? [...(r.value as unknown[]), ...(y.value as unknown[])]
                  : [...(r.value as unknown[]), y.value],
            })),
          ),
        fc.constant({ state: st, value: [] }),
      )
    if (isRecord(q) && !isDim(q) && !isTermNode(q) && !isComputed(q) && !isNamed(q))
      return Object.entries(q).reduce<fc.Arbitrary<{ state: State; value: unknown }>>(
        (acc, [k, x]) =>
          acc.chain((r) =>
            fill(x, k, r.state).map((y) => ({
              state: y.state,
              value: { ...(r.value as object), [k]: y.value },
            })),
          ),
        fc.constant({ state: st, value: {} }),
      )
    return fc.constant({ state: st, value: q })
  }
  return fields
    .reduce<fc.Arbitrary<{ state: State; value: Record<string, unknown> }>>(
      (acc, [k, q]) =>
        acc.chain((r) =>
          fill(q, k, r.state).map((y) => ({ state: y.state, value: { ...r.value, [k]: y.value } })),
        ),
      fc.constant({ state: s, value: {} }),
    )
    .map((r) => ({ state: r.state, term: rebuild(r.value as unknown as TermNode) }))
}

/** Draw an instance of a term pattern: its bindings and its type. */
const draw = (
  p: Pattern,
  given: TupleType | undefined,
  s: State,
  ctx: Context,
): fc.Arbitrary<Drawn> => {
  if (isNamed(p))
    // Bind the name too: other parts may refer to it (`v.segment('cod', name, 0)`).
    return draw(p.pattern, given, s, ctx).map((d) => {
      const t = instantiate(p.pattern, d.state.bindings as Bindings)
      return { ...d, state: propagate(bindIn(d.state, p.name, { sort: 'term', value: t }), ctx) }
    })
  if (isMeta(p)) {
    if (p.sort !== 'term') return cannot(`a term from a ${p.sort} metavariable`)
    const old = s.bindings.get(p.name)
    if (old !== undefined) {
      const t = old.value as Term
      if (given !== undefined && !typeEquals(t.dom, given))
        return cannot(`?${p.name} at two domains`)
      return fc.constant({ state: s, dom: t.dom, cod: t.cod })
    }
    const w = s.wants.get(p.name) ?? {}
    const dom = given ?? w.dom
    const options: TermArbOptions = {
      depth: 2,
      maxSegments: 3,
      ...ctx.termOptions(p.name),
      ...(w.cod !== undefined ? { cod: w.cod } : {}),
    }
    const domArb = dom === undefined ? typeArb : fc.constant(dom)
    return domArb.chain((d) =>
      termArb(d, options).map((drawn) => {
        // Sub-terms are drawn independently: give their parameters names of their own.
        const t = mapTerm(drawn, (x) =>
          x.kind === 'param'
            ? param(`${p.name}.${x.name}`, x.shape)
            : x.kind === 'generator'
              ? generatorNode(`${p.name}.${x.name}`, x.declared, x.from, x.to, x.form, x.slot)
              : x,
        )
        return {
          state: propagate(bindIn(s, p.name, { sort: 'term', value: t }), ctx),
          dom: t.dom,
          cod: t.cod,
        }
      }),
    )
  }
  if (isTermNode(p)) {
    if (given !== undefined && !typeEquals(p.dom, given))
      return cannot(`${show(p)} at ${showType(given)}`)
    return fc.constant({ state: s, dom: p.dom, cod: p.cod })
  }
  if (!isRecord(p) || isComputed(p)) return cannot('a term from this pattern')
  const kind = String(p.kind)
  switch (kind) {
    case 'seq': {
      const parts = p.parts as ReadonlyArray<Pattern>
      return parts.reduce<fc.Arbitrary<Drawn | undefined>>(
        (acc, q) =>
          acc.chain((r) =>
            draw(q, r === undefined ? given : r.cod, r?.state ?? s, ctx).map((x) => ({
              state: x.state,
              dom: r?.dom ?? x.dom,
              cod: x.cod,
            })),
          ),
        fc.constant(undefined),
      ) as fc.Arbitrary<Drawn>
    }
    case 'par': {
      const parts = p.parts as ReadonlyArray<Pattern>
      const step = (i: number, at: number, r: Drawn): fc.Arbitrary<Drawn> => {
        if (i === parts.length) {
          if (given !== undefined && at !== given.length) return cannot('a par covering its domain')
          return fc.constant(r)
        }
        const q = parts[i] as Pattern
        const fixed = knownDomLength(q, r.state)
        const lengthArb =
          given === undefined
            ? fc.constant<number | undefined>(undefined)
            : i === parts.length - 1
              ? fc.constant(given.length - at)
              : fixed !== undefined
                ? fc.constant(fixed)
                : fc.integer({ min: 0, max: given.length - at })
        return lengthArb.chain((n) =>
          draw(
            q,
            given === undefined || n === undefined ? undefined : given.slice(at, at + n),
            r.state,
            ctx,
          ).chain((x) =>
            step(i + 1, at + x.dom.length, {
              state: x.state,
              dom: [...r.dom, ...x.dom],
              cod: [...r.cod, ...x.cod],
            }),
          ),
        )
      }
      return step(0, 0, { state: s, dom: [], cod: [] })
    }
    case 'id':
    case 'copy':
    case 'drop':
      return drawType(p.type, given, s).map(({ state, type }) => ({
        state,
        dom: type,
        cod: kind === 'id' ? type : kind === 'copy' ? [...type, ...type] : [],
      }))
    case 'zero':
      if (given !== undefined && given.length !== 0) return cannot('zero at a non-empty domain')
      return drawType(p.type, undefined, s).map(({ state, type }) => ({
        state,
        dom: [],
        cod: type,
      }))
    case 'swap': {
      const leftLength = knownLength(p.left as Pattern, s)
      const rightLength = knownLength(p.right as Pattern, s)
      const cut =
        given === undefined
          ? fc.constant<number | undefined>(undefined)
          : leftLength !== undefined
            ? fc.constant(leftLength)
            : rightLength !== undefined
              ? fc.constant(given.length - rightLength)
              : fc.integer({ min: 0, max: given.length })
      return cut.chain((k) =>
        drawType(
          p.left,
          given === undefined || k === undefined ? undefined : given.slice(0, k),
          s,
        ).chain((l) =>
          drawType(
            p.right,
            given === undefined || k === undefined ? undefined : given.slice(k),
            l.state,
          ).map((r) => ({
            state: r.state,
            dom: [...l.type, ...r.type],
            cod: [...r.type, ...l.type],
          })),
        ),
      )
    }
    case 'box': {
      // A box's name is any label (`category/unbox`): bind a metavariable name to one.
      const name = p.name as Pattern
      const named =
        isMeta(name) && !s.bindings.has(name.name)
          ? bindIn(s, name.name, { sort: 'value', value: 'Box' })
          : s
      return draw(p.body as Pattern, given, named, ctx)
    }
    case 'broadcast':
      return drawBroadcast(p, given, s, ctx)
    case 'derivative': {
      // `D(f) : A × A -> B × B`: the body at the first half of the domain.
      const half = given?.slice(0, given.length / 2)
      if (
        given !== undefined &&
        (given.length % 2 !== 0 || !typeEquals(given.slice(given.length / 2), half ?? []))
      )
        return cannot(`a derivative at ${showType(given)}`)
      return draw(p.body as Pattern, half, s, ctx).map((d) => ({
        state: d.state,
        dom: [...d.dom, ...d.dom],
        cod: [...d.cod, ...d.cod],
      }))
    }
    default:
      if (kind === 'einsum' && hasValueMeta([p.inputs, p.output, p.dims]))
        return drawEinsum(p, given, s, ctx.maxSize)
      return drawLeaf(p, s, ctx.maxSize).map(({ state, term }) => {
        if (given !== undefined && !typeEquals(term.dom, given))
          return cannot(`${show(term)} at ${showType(given)}`)
        return { state, dom: term.dom, cod: term.cod }
      })
  }
}

const hasValueMeta = (p: Pattern): boolean =>
  isMeta(p)
    ? p.sort === 'value'
    : Array.isArray(p)
      ? p.some(hasValueMeta)
      : isRecord(p) && !isComputed(p) && !isNamed(p) && !isTermNode(p) && !isDim(p)
        ? Object.values(p).some(hasValueMeta)
        : false

const einsumBudget = (maxSize: number) => ({ maxRank: 4, maxCells: 256, maxSize })

const LABELS = ['p', 'q', 'r', 's', 't', 'u', 'w', 'x', 'y', 'z', 'a', 'b', 'c', 'd', 'i', 'j']

/**
 * The einsum as it is, or with its labels renamed (what an einsum computes does not depend on
 * its labels' names); shrinks towards the einsum as it is.
 */
const relabelArb = (t: Term): fc.Arbitrary<Term> => {
  if (t.kind !== 'einsum' || t.name !== undefined) return fc.constant(t)
  const labels = Object.keys(t.dims)
  if (labels.length > LABELS.length) return fc.constant(t)
  const n = labels.length
  return fc
    .tuple(fc.nat({ max: 3 }), fc.shuffledSubarray(LABELS, { minLength: n, maxLength: n }))
    .map(([rename, names]) => {
      if (rename === 0) return t
      const to = new Map(labels.map((l, i) => [l, names[i] as string]))
      const relabel = (ls: ReadonlyArray<string>) => ls.map((l) => to.get(l) as string)
      return rebuild({
        kind: 'einsum',
        inputs: t.inputs.map(relabel),
        output: relabel(t.output),
        dims: Object.fromEntries(labels.map((l) => [to.get(l) as string, t.dims[l] as Dim])),
      })
    })
}

/**
 * An einsum pattern with metavariables for its labels (`inputs: ?I, output: ?O, dims: ?D`): a
 * random einsum of the given domain (else of one to three random segments, or as many as a list
 * of inputs in the pattern has), matched against the pattern to bind them.
 */
const drawEinsum = (
  p: { readonly [field: string]: Pattern },
  given: TupleType | undefined,
  s: State,
  maxSize: number,
): fc.Arbitrary<Drawn> => {
  const n = Array.isArray(p.inputs) ? p.inputs.length : undefined
  if (given?.length === 0) return cannot('an einsum from the empty tuple')
  const domArb =
    given !== undefined
      ? fc.constant(given)
      : tupleTypeArb({ minLength: n ?? 1, maxLength: n ?? 3, maxRank: 2 })
  return domArb
    .chain((dom) => einsumArb(dom, DEFAULT_DIMS, einsumBudget(maxSize)))
    .chain(relabelArb)
    .map((term) => {
      const b = matchFirst(p, term, s.bindings)
      if (b === undefined) return cannot(`an einsum matching the pattern, drawn ${show(term)}`)
      return { state: { bindings: b, wants: s.wants }, dom: term.dom, cod: term.cod }
    })
}

const drawBroadcast = (
  p: { readonly [field: string]: Pattern },
  given: TupleType | undefined,
  s: State,
  ctx: Context,
): fc.Arbitrary<Drawn> => {
  const axesPattern = p.axes as Pattern
  const known = (st: State): Shape | undefined => {
    try {
      const b = st.bindings
      if (isMeta(axesPattern)) return b.get(axesPattern.name)?.value as Shape | undefined
      if (Array.isArray(axesPattern)) {
        const out: unknown[] = []
        for (const q of axesPattern) {
          if (isDim(q)) out.push(q)
          else if (isMeta(q)) {
            const v = b.get(q.name)?.value
            if (v === undefined) return undefined
            if (q.sort === 'shape') out.push(...(v as Shape))
            else out.push(v)
          } else return undefined
        }
        return out as Shape
      }
    } catch {
      return undefined
    }
    return undefined
  }
  const withOutputs = (
    st: State,
    axes: Shape,
    body: Drawn,
    inputs: ReadonlyArray<Placement>,
    dom: TupleType,
  ) =>
    drawPlacements(p.outputs as Pattern, body.cod, false, st, ctx).map(({ state, placements }) => ({
      state,
      dom,
      cod: body.cod.map((seg, i) => insertAxes(seg, placements[i] as number, axes)),
      inputs,
    }))
  if (given === undefined)
    return drawShape(axesPattern, known(s), s).chain(({ state, shape: axes }) =>
      draw(p.body as Pattern, undefined, state, ctx).chain((body) =>
        drawPlacements(p.inputs as Pattern, body.dom, true, body.state, ctx).chain((ins) =>
          withOutputs(
            ins.state,
            axes,
            body,
            ins.placements,
            body.dom.map((seg, i) => {
              const at = ins.placements[i] as Placement
              return at === 'shared' ? seg : insertAxes(seg, at, axes)
            }),
          ),
        ),
      ),
    )
  // A known domain: find the axes in its segments (or share the segment).
  const axesKnown = known(s)
  const first = given.find((seg) => seg.length > 0)
  const axesArb: fc.Arbitrary<{ state: State; shape: Shape }> =
    axesKnown !== undefined
      ? fc.constant({ state: s, shape: axesKnown })
      : first !== undefined && (isMeta(axesPattern) || Array.isArray(axesPattern))
        ? fc.integer({ min: 0, max: first.length - 1 }).chain((k) => {
            const axes = [first[k]] as Shape
            const b = matchFirst(axesPattern, axes, s.bindings)
            return b === undefined
              ? drawShape(axesPattern, undefined, s)
              : fc.constant({ state: { bindings: b, wants: s.wants }, shape: axes })
          })
        : drawShape(axesPattern, undefined, s)
  return axesArb.chain(({ state, shape: axes }) => {
    const bound = knownData(p.inputs as Pattern, state)
    const placements: ReadonlyArray<Placement> =
      bound !== undefined
        ? (bound as ReadonlyArray<Placement>)
        : given.map((seg) => findAxes(seg, axes) ?? 'shared')
    const bodyDom = given.map((seg, i) => {
      const at = placements[i]
      if (at === undefined || at === 'shared') return seg
      return removeAxes(seg, at, axes) ?? cannot(`the axes at ${at} of a segment`)
    })
    const b = matchFirst(p.inputs as Pattern, placements, state.bindings)
    if (b === undefined) return cannot('input placements for the pattern')
    return draw(p.body as Pattern, bodyDom, { bindings: b, wants: state.wants }, ctx).chain(
      (body) => withOutputs(body.state, axes, body, placements, given),
    )
  })
}

/**
 * Random instances of one side of a rule: the side's term with random sub-terms for its term
 * metavariables (linear ones where a condition asks), drawn type-first.
 *
 * @example
 * ```ts
 * import fc from 'fast-check'
 * import { rule, P, v } from 'neural-circuit-diagrams'
 * import { instanceArb } from 'neural-circuit-diagrams/testing'
 * const idLeft = rule('my/id-left', P.seq(P.id(v.dom('f')), v.term('f')), v.term('f'))
 * fc.sample(instanceArb(idLeft, 'forward'), { numRuns: 5, seed: 1 }).every((t) => t.kind === 'seq') // true
 * ```
 */
export const instanceArb = (
  r: Rule,
  direction: Direction,
  options: LawOptions = {},
): fc.Arbitrary<Term> => {
  const from = direction === 'forward' ? r.lhs : r.rhs
  const linearVars = new Set(
    r.when.flatMap((c) => (c.kind === 'linear' || c.kind === 'multilinear' ? [c.term] : [])),
  )
  const ctx: Context = {
    equalities: r.when.flatMap((c) => (c.kind === 'same' ? [[c.left, c.right] as const] : [])),
    termOptions: (name) => ({
      ...(options.depth !== undefined ? { depth: options.depth } : {}),
      ...options.terms,
      maxSize: maxSizeOf(options),
      ...(linearVars.has(name) ? { linear: true } : {}),
    }),
    positions: outputPlacements(r.rhs, outputPlacements(r.lhs)),
    maxSize: maxSizeOf(options),
  }
  // The types that `typed` conditions ask come first; their terms are then drawn at them.
  const start = r.when.reduce<fc.Arbitrary<State>>(
    (acc, c) =>
      c.kind !== 'typed'
        ? acc
        : acc.chain((s) =>
            drawType(c.dom, undefined, s).chain((d) =>
              drawType(c.cod, undefined, d.state).map((k) =>
                want(want(k.state, c.term, 'dom', d.type), c.term, 'cod', k.type),
              ),
            ),
          ),
    fc.constant<State>({ bindings: new Map(), wants: new Map() }),
  )
  return start
    .chain((s) => draw(from, undefined, s, ctx))
    .map((d) => instantiate(from, d.state.bindings as Bindings))
}

/** One case of a law: the instance, the rewritten term, sizes, inputs and parameters. */
export interface LawCase {
  readonly rule: string
  readonly direction: Direction
  readonly before: Term
  readonly after: Term
  readonly sizes: Sizes
  readonly inputs: ReadonlyArray<Float64Array>
  readonly params: Readonly<Record<string, Float64Array>>
  readonly step: string
}

const showLawCase = (c: LawCase): string =>
  [
    `${c.rule} (${c.direction}) at sizes ${JSON.stringify(c.sizes)}`,
    `  before: ${showTyped(c.before)}`,
    `  after:  ${showTyped(c.after)}`,
    `  step:   ${c.step}`,
    `  inputs: ${c.inputs.map((x) => `[${Array.from(x, (v) => +v.toPrecision(4)).join(', ')}]`).join(' × ')}`,
  ].join('\n')

/** The largest size of a law's cases: `maxSize`, else `terms.maxSize`, else 4. */
const maxSizeOf = (options: LawOptions): number =>
  options.maxSize ?? options.terms?.maxSize ?? DEFAULT_MAX_SIZE

/** A case that does not exercise the rule: its conditions failed, or no sizes fit it. */
type Unexercised = 'condition' | 'sizes'

const lawCaseArb = (
  r: Rule,
  direction: Direction,
  options: LawOptions,
): fc.Arbitrary<LawCase | Unexercised | { readonly problem: string }> => {
  const instances = options.instances?.[direction] ?? instanceArb(r, direction, options)
  const maxSize = maxSizeOf(options)
  // Instances that fail the rule's conditions are drawn again (lazily: `chain` draws the next
  // one only when needed), up to CONDITION_RETRIES times, so that a conditional rule is tested
  // on instances it applies to.
  const applying = (
    left: number,
  ): fc.Arbitrary<
    | {
        readonly before: Term
        readonly applied: { term: Term; step: Parameters<typeof showStep>[0] }
      }
    | Unexercised
    | { readonly problem: string }
  > =>
    instances.chain((before) => {
      const applied = applyAt(r, before, { path: [] }, direction)
      if (E.isRight(applied)) return fc.constant({ before, applied: applied.right })
      if (applied.left.reason !== 'condition')
        return fc.constant({
          problem: `${r.name} (${direction}) does not apply to its own instance ${showTyped(before)}: ${applied.left.message}`,
        })
      return left > 1 ? applying(left - 1) : fc.constant<Unexercised>('condition')
    })
  return applying(CONDITION_RETRIES).chain(
    (x): fc.Arbitrary<LawCase | Unexercised | { readonly problem: string }> => {
      if (typeof x === 'string' || 'problem' in x) return fc.constant(x)
      const { before } = x
      const after = x.applied.term
      const both = par(before, after)
      // Sizes that fit both sides: every variable at least its bounds (index positions), at
      // most maxSize. When a bound is above maxSize, no sizes fit: the case is not exercised.
      const bounds = sizeBounds(both)
      if (Object.values(bounds).some((b) => b > maxSize)) return fc.constant<Unexercised>('sizes')
      return termSizesArb(both, { max: maxSize }).chain((sizes) =>
        fc
          .tuple(
            inputsArb(before.dom, sizes, options.tensors),
            paramsArb(both, sizes, options.tensors),
          )
          .map(([inputs, params]) => {
            const c: LawCase = {
              rule: r.name,
              direction,
              before,
              after,
              sizes,
              inputs,
              params,
              step: showStep(x.applied.step),
            }
            return Object.assign(c, {
              [fc.toStringMethod]: () => showLawCase(c),
              toString: () => showLawCase(c),
            })
          }),
      )
    },
  )
}

const close = (a: number, b: number, tolerance: number): boolean =>
  (Number.isNaN(a) && Number.isNaN(b)) ||
  a === b ||
  Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(a), Math.abs(b))

/**
 * What one case of a law showed: a problem; or that the sides were evaluated and compared
 * (`exercised`); or that it did not exercise the rule, because the conditions failed or the
 * sizes do not fit a side.
 * @internal
 */
export type CaseOutcome =
  | { readonly kind: 'problem'; readonly problem: string }
  | { readonly kind: 'exercised' }
  | { readonly kind: 'unexercised'; readonly why: Unexercised }

/**
 * Check one case of a law.
 * @internal
 */
export const lawCaseOutcome = (
  r: Rule,
  c: LawCase | Unexercised | { readonly problem: string },
  tolerance: number,
): CaseOutcome => {
  if (typeof c === 'string') return { kind: 'unexercised', why: c }
  if ('problem' in c) return { kind: 'problem', problem: c.problem }
  const problem = (text: string): CaseOutcome => ({ kind: 'problem', problem: text })
  if (!typeEquals(c.before.dom, c.after.dom) || !typeEquals(c.before.cod, c.after.cod))
    return problem(
      `the sides have different types: ${showTyped(c.before)} vs ${showTyped(c.after)}`,
    )
  const again = applyAt(r, c.before, { path: [] }, c.direction)
  if (E.isLeft(again) || !dataEquals(again.right.term, c.after))
    return problem('rewriting is not deterministic')
  if (!sizesFit(c.before, c.sizes) || !sizesFit(c.after, c.sizes))
    return { kind: 'unexercised', why: 'sizes' }
  let x: Float64Array[]
  let y: Float64Array[]
  try {
    x = evaluate(c.before, c.sizes, c.inputs, c.params)
    y = evaluate(c.after, c.sizes, c.inputs, c.params)
  } catch (e) {
    if (e instanceof TermError) return problem(`evaluation refused: ${e.message}`)
    throw e
  }
  for (let i = 0; i < x.length; i++) {
    const a = x[i] as Float64Array
    const b = y[i] as Float64Array
    for (let j = 0; j < a.length; j++)
      if (!close(a[j] as number, b[j] as number, tolerance))
        return problem(`output ${i} differs at entry ${j}: ${a[j]} before, ${b[j]} after`)
  }
  return { kind: 'exercised' }
}

/** How the cases of one direction of a law went. */
export interface LawTally {
  readonly direction: Direction
  /** The cases run (the property's runs). */
  readonly runs: number
  /** The cases whose two sides were evaluated and compared. */
  readonly exercised: number
  /** The cases whose instances all failed the rule's conditions ({@link CONDITION_RETRIES}). */
  readonly failedConditions: number
  /** The cases at sizes that do not fit a side (an index beyond its axis at every size). */
  readonly unfitSizes: number
}

/** What {@link checkLaw} measured: one tally per direction checked. */
export interface LawReport {
  readonly rule: string
  readonly directions: ReadonlyArray<LawTally>
}

interface Counter {
  exercised: number
  condition: number
  sizes: number
}

/** The property of one direction of a law (for fc.assert or fc.check); counts into `into`. */
export const lawProperty = (
  r: Rule,
  direction: Direction,
  options: LawOptions = {},
  into?: Counter,
) =>
  fc.property(lawCaseArb(r, direction, options), (c) => {
    const outcome = lawCaseOutcome(r, c, options.tolerance ?? 1e-9)
    if (outcome.kind === 'problem') throw new Error(outcome.problem)
    if (into === undefined) return
    if (outcome.kind === 'exercised') into.exercised++
    else into[outcome.why]++
  })

/**
 * Run the law contract on a rule (both directions when it is two-way); throws with a shrunk,
 * printed counterexample when it fails, and when fewer than `minExercised` cases of a direction
 * exercised the rule (default: a quarter of the runs, {@link DEFAULT_MIN_EXERCISED}): a case
 * exercises it when its conditions held and its sizes fit both sides, so that the two sides
 * were evaluated and compared. Returns how many cases did. Works in any test runner.
 *
 * @example
 * ```ts
 * import { rule, P, v } from 'neural-circuit-diagrams'
 * import { checkLaw } from 'neural-circuit-diagrams/testing'
 * const idLeft = rule('my/id-left', P.seq(P.id(v.dom('f')), v.term('f')), v.term('f'))
 * checkLaw(idLeft, { numRuns: 20 }).directions[0]?.exercised // 20
 * ```
 */
export const checkLaw = (r: Rule, options: LawOptions = {}): LawReport => {
  const directions: Direction[] = r.bidirectional ? ['forward', 'backward'] : ['forward']
  const numRuns = options.numRuns ?? 200
  const least = options.minExercised ?? Math.max(1, Math.ceil(DEFAULT_MIN_EXERCISED * numRuns))
  const tallies = directions.map((d): LawTally => {
    const counter: Counter = { exercised: 0, condition: 0, sizes: 0 }
    fc.assert(lawProperty(r, d, options, counter), {
      numRuns,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
    })
    const tally: LawTally = {
      direction: d,
      runs: numRuns,
      exercised: counter.exercised,
      failedConditions: counter.condition,
      unfitSizes: counter.sizes,
    }
    if (tally.exercised < least)
      throw new Error(
        `${r.name} (${d}): only ${tally.exercised} of ${numRuns} cases exercised the rule, ` +
          `fewer than the ${least} required (${tally.failedConditions} failed its conditions ` +
          `in ${CONDITION_RETRIES} draws, ${tally.unfitSizes} had no sizes up to ` +
          `${maxSizeOf(options)} that fit both sides); draw instances that meet the conditions ` +
          '(options.instances, options.terms) or raise options.maxSize',
      )
    return tally
  })
  return { rule: r.name, directions: tallies }
}

/**
 * A catalogue (for `checkProof`) of rules that each passed {@link checkLaw} with `options`:
 * `checkProof` trusts the laws of its catalogue, and the law contract is what earns a rule that
 * trust, so a user-made rule should reach a proof checker this way. Throws, naming the rule, at
 * the first rule that fails.
 *
 * @example
 * ```ts
 * import { rule, P, v } from 'neural-circuit-diagrams'
 * import { checkedCatalogue } from 'neural-circuit-diagrams/testing'
 * const idLeft = rule('my/id-left', P.seq(P.id(v.dom('f')), v.term('f')), v.term('f'))
 * checkedCatalogue([idLeft], { numRuns: 20 }).has('my/id-left') // true
 * ```
 */
export const checkedCatalogue = (
  rules: ReadonlyArray<Rule>,
  options: LawOptions = {},
): Catalogue => {
  for (const r of rules)
    try {
      checkLaw(r, options)
    } catch (e) {
      throw new Error(
        `checkedCatalogue: ${r.name} fails the law contract: ${e instanceof Error ? e.message : String(e)}`,
      )
    }
  return catalogueOf(rules)
}

/**
 * Show that a (false) law is refuted: returns its shrunk counterexample in text form, or throws
 * when none is found.
 *
 * @example
 * ```ts
 * import { rule, P, v } from 'neural-circuit-diagrams'
 * import { refuteLaw } from 'neural-circuit-diagrams/testing'
 * const A = v.type('A')
 * // "The second copy is zero": false, and refuted with a printed counterexample.
 * const wrong = rule('my/copy-zero', P.copy(A), P.seq(P.copy(A), P.par(P.id(A), P.seq(P.drop(A), P.zero(A)))))
 * refuteLaw(wrong, 'forward').includes('before: copy(') // true
 * ```
 */
export const refuteLaw = (
  r: Rule,
  direction: Direction = 'forward',
  options: LawOptions = {},
): string => {
  const result = fc.check(lawProperty(r, direction, options), {
    numRuns: options.numRuns ?? 300,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  })
  if (!result.failed)
    throw new Error(`${r.name} (${direction}) was not refuted in ${result.numRuns} runs`)
  const example = result.counterexample?.[0]
  const error =
    result.errorInstance instanceof Error
      ? result.errorInstance.message
      : String(result.errorInstance)
  return `${example === undefined ? '' : String(example)}\n  problem: ${error}`
}
