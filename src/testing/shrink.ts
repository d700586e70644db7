/**
 * Type-directed shrinking of terms. fast-check shrinks a chained generator by shrinking the choice
 * it depends on and redrawing the rest, which seldom keeps a failure; so terms also shrink by
 * their structure, to smaller terms of the same domain (and of the same codomain when one was
 * requested): the identity, a prefix of a sequence (followed by {@link adapt} when the codomain
 * is fixed), a suffix, a sequence without one of its type-preserving parts, a stack without a
 * part on the empty tuple, a box's body, and the same moves inside every part.
 *
 * What a generator promised stays true of every candidate: linear layers are kept whole (their
 * bodies hold an affine part), and with `numericSafe` a part in front of `exp`, `log`, `sqrt` or
 * `reciprocal` is never removed or replaced and a suffix never starts at one of them, so the guard
 * the generator put there (`tanh` before `exp`, a bounded positive map before `log`) stays.
 *
 * @packageDocumentation
 */
import fc from 'fast-check'
import { broadcast, box, derivative, id, par, seq } from '../core/construct.js'
import { TermError, absurd } from '../core/errors.js'
import { UNARY_OPS, type UnaryOp } from '../core/primitives.js'
import { type Term, termSize } from '../core/term.js'
import { typeEquals } from '../core/types.js'
import { adapt } from './adapt.js'

/** Options of {@link shrinkTerm}. */
export interface ShrinkOptions {
  /** Candidates keep the codomain (default false: any codomain). */
  readonly keepCod?: boolean
  /** Keep the guards in front of exp, log, sqrt and reciprocal (default true). */
  readonly numericSafe?: boolean
}

const isUnary = (t: Term): boolean =>
  (t.kind === 'scalar' && UNARY_OPS.includes(t.op as UnaryOp)) ||
  (t.kind === 'broadcast' && isUnary(t.body))

/** The maps that need a guard in front of them when numerically safe. */
const guarded = (t: Term): boolean =>
  (t.kind === 'scalar' &&
    (t.op === 'exp' || t.op === 'log' || t.op === 'sqrt' || t.op === 'reciprocal')) ||
  (t.kind === 'broadcast' && guarded(t.body))

/** Linear layers are kept whole: their bodies hold an affine part. */
const atomic = (t: Term): boolean => t.kind === 'box' && t.name.startsWith('L(')

const build = (make: () => Term): Term | undefined => {
  try {
    return make()
  } catch (e) {
    if (e instanceof TermError) return undefined
    throw e
  }
}

const replaced = (xs: ReadonlyArray<Term>, i: number, x: Term): Term[] =>
  xs.map((p, j) => (j === i ? x : p))

function* candidates(t: Term, fixed: boolean, safe: boolean): Generator<Term | undefined> {
  if (atomic(t)) return
  if (!fixed || typeEquals(t.dom, t.cod)) {
    if (t.kind !== 'id') yield id(t.dom)
  } else yield build(() => adapt(t.dom, t.cod))
  if (isUnary(t)) return
  switch (t.kind) {
    case 'seq': {
      const ps = t.parts
      const last = ps.length - 1
      // A part in front of a map that needs a guard is that guard: it stays.
      const keep = (i: number): boolean => safe && i < last && guarded(ps[i + 1] as Term)
      for (let k = 1; k <= last; k++) {
        const prefix = seq(...ps.slice(0, k))
        yield !fixed || typeEquals(prefix.cod, t.cod)
          ? prefix
          : build(() => seq(prefix, adapt(prefix.cod, t.cod)))
      }
      for (let k = 1; k <= last; k++) {
        const first = ps[k] as Term
        if (typeEquals(first.dom, t.dom) && !(safe && guarded(first))) yield seq(...ps.slice(k))
      }
      for (let i = 0; i <= last; i++) {
        const p = ps[i] as Term
        if (typeEquals(p.dom, p.cod) && !atomic(p) && !keep(i))
          yield seq(...ps.filter((_, j) => j !== i))
      }
      for (let i = 0; i <= last; i++)
        if (!keep(i))
          for (const c of candidates(ps[i] as Term, fixed || i < last, safe))
            if (c !== undefined) yield build(() => seq(...replaced(ps, i, c)))
      return
    }
    case 'par':
      // A part on the empty tuple (a constant beside the rest) can go, if its outputs may.
      for (let i = 0; i < t.parts.length; i++) {
        const p = t.parts[i] as Term
        if (p.dom.length === 0 && (!fixed || p.cod.length === 0))
          yield par(...t.parts.filter((_, j) => j !== i))
      }
      for (let i = 0; i < t.parts.length; i++)
        for (const c of candidates(t.parts[i] as Term, fixed, safe))
          if (c !== undefined) yield build(() => par(...replaced(t.parts, i, c)))
      return
    case 'broadcast': {
      const { axes, inputs, outputs } = t
      for (const c of candidates(t.body, fixed, safe)) {
        if (c === undefined) continue
        const outs = c.cod.map((s, j) => Math.min(outputs[j] ?? 0, s.length))
        yield build(() => broadcast(c, axes, { inputs, outputs: outs }))
      }
      return
    }
    case 'box':
      yield t.body
      for (const c of candidates(t.body, fixed, safe))
        if (c !== undefined) yield build(() => box(t.name, c))
      return
    case 'derivative':
      // The derivative's type is its body's, doubled: only same-typed bodies keep it.
      for (const c of candidates(t.body, true, safe))
        if (c !== undefined) yield build(() => derivative(c))
      return
    case 'id':
    case 'swap':
    case 'copy':
    case 'drop':
    case 'einsum':
    case 'scalar':
    case 'axisOp':
    case 'index':
    case 'view':
    case 'pad':
    case 'convTensor':
    case 'concat':
    case 'zero':
    case 'param':
    case 'generator':
      return
    default:
      return absurd(t)
  }
}

/**
 * Smaller terms of the same domain (and codomain with `keepCod`), most aggressive first: the
 * moves of the module documentation, each strictly smaller in `termSize`, without repeats.
 *
 * @example
 * ```ts
 * import { seq, relu, mean, show } from 'neural-circuit-diagrams'
 * import { shrinkTerm } from 'neural-circuit-diagrams/testing'
 * [...shrinkTerm(seq(relu(['k']), mean('k')), { numericSafe: false })].map((t) => show(t))
 * // ['id([k])', 'relu[k]', 'mean(k)', 'id([k]) ; mean(k)']
 * ```
 */
export function* shrinkTerm(t: Term, options: ShrinkOptions = {}): Generator<Term> {
  const n = termSize(t)
  const seen = new Set<string>()
  for (const c of candidates(t, options.keepCod ?? false, options.numericSafe ?? true)) {
    if (c === undefined || termSize(c) >= n) continue
    const key = JSON.stringify(c)
    if (seen.has(key)) continue
    seen.add(key)
    yield c
  }
}

/** The context of a value of {@link TermArbitrary}: the inner generator's, until a structural shrink. */
interface Context {
  readonly inner: unknown
  readonly structural: boolean
}

/**
 * Terms from an inner generator, shrinking first by structure ({@link shrinkTerm}), then as the
 * inner generator would. @internal
 */
export class TermArbitrary extends fc.Arbitrary<Term> {
  constructor(
    private readonly inner: fc.Arbitrary<Term>,
    private readonly options: ShrinkOptions,
  ) {
    super()
  }

  generate(mrng: fc.Random, biasFactor: number | undefined): fc.Value<Term> {
    const v = this.inner.generate(mrng, biasFactor)
    return new fc.Value(v.value_, { inner: v.context, structural: false } satisfies Context)
  }

  canShrinkWithoutContext(value: unknown): value is Term {
    return typeof value === 'object' && value !== null && 'kind' in value && 'dom' in value
  }

  shrink(value: Term, context: unknown): fc.Stream<fc.Value<Term>> {
    const structural = fc
      .stream(shrinkTerm(value, this.options))
      .map((t) => new fc.Value(t, { inner: undefined, structural: true } satisfies Context))
    const ctx = context as Context | undefined
    if (ctx === undefined || ctx.structural) return structural
    return structural.join(
      this.inner
        .shrink(value, ctx.inner)
        .map((v) => new fc.Value(v.value_, { inner: v.context, structural: false })),
    )
  }
}
