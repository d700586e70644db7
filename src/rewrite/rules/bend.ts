/**
 * The laws of partial bends (paper section 2.4.3, Fig. 20; `src/derive/bend.ts`), as rules of the
 * catalogue, so that proofs cite them and the search uses them. Fig. 20 "converts the linear map
 * F : R^a -> R^{b×c} into Fᵀ : R^{b×a} -> R^c": the bend `fig20Bend` below, which takes F's first
 * output axis b to the input side, in front of a:
 *
 *     bend(bend(f, fig20Bend), unbend(fig20Bend)) = f                      f linear      bend/involution
 *     bend(bcast[s](f), fig20Bend with s kept first) = bcast[s](bend(f, fig20Bend))     bend/broadcast
 *     bend(f ; g, fig20Bend) = bcast[b](f) ; bend(g, fig20Bend)            f, g linear   bend/seq-outputs
 *     bend(f, every output in, every input out) = transpose(f)              bend/full
 *
 * `bend/seq-outputs` states exactly when a bend of a composition splits: when only outputs are
 * bent back (the new input is the bent outputs, then every input of the composite in order),
 * the first map passes under the bent wires and only the last map is bent. Bending an input
 * forward as well does not split so (laws/bend.test.ts shows the false neighbour refuted).
 *
 * The left sides are not written by hand: they are the terms that `bend` builds, with stand-ins
 * for the maps and dims turned into metavariables ({@link patternOfTerm}), so a rule matches
 * exactly what `bend` makes, and {@link bendRules} makes the same laws for any placement.
 *
 * @packageDocumentation
 */
import { broadcast, seq } from '../../core/construct.js'
import { type Dim, dim } from '../../core/dim.js'
import { isDim } from '../../core/equal.js'
import { fail } from '../../core/errors.js'
import { generator } from '../../core/generator.js'
import { type Term, isTermNode } from '../../core/term.js'
import { type AxisRef, type BendOptions, bend, unbend } from '../../derive/bend.js'
import { transpose } from '../../derive/transpose.js'
import { type Meta, type Pattern, P, v } from '../pattern.js'
import { type Rule, linear, rule, typed } from '../rule.js'

const DERIVED = new Set(['dom', 'cod', 'linearity', 'poly'])

/** Stand-ins: generator names for term metavariables, dim names for dim metavariables. */
export interface StandIns {
  readonly terms?: Readonly<Record<string, Meta>>
  readonly dims?: Readonly<Record<string, Meta>>
}

/**
 * The pattern of a term built from stand-ins: each generator whose name is a key of
 * `standIns.terms` becomes that term metavariable, each variable dim whose name is a key of
 * `standIns.dims` that dim metavariable, and everything else is matched as data (the derived
 * fields `dom`, `cod` and `linearity` left out, `seq` and `par` matched modulo associativity).
 * So a law can say "whatever `bend` builds from f" without restating the construction.
 *
 * @example
 * ```ts
 * import { P, generator, patternOfTerm, seq, showPattern, tanh, v } from 'neural-circuit-diagrams'
 * const F = generator('F', [['a']], [['a']])
 * showPattern(patternOfTerm(seq(F, tanh('a')), { terms: { F: v.term('f') } }))
 * // '?f ; bcast[a @in([0]) @out([0])](scalar(op=tanh, factor=1))'
 * ```
 */
export const patternOfTerm = (t: Term, standIns: StandIns): Pattern => {
  const terms = standIns.terms ?? {}
  const dims = standIns.dims ?? {}
  const walk = (x: unknown): Pattern => {
    if (Array.isArray(x)) return x.map(walk)
    if (typeof x !== 'object' || x === null) return x as Pattern
    if (isTermNode(x)) {
      if (x.kind === 'generator' && Object.hasOwn(terms, x.name)) return terms[x.name] as Meta
      if (x.kind === 'seq') return P.seq(...x.parts.map(walk))
      if (x.kind === 'par') return P.par(...x.parts.map(walk))
      const out: Record<string, Pattern> = {}
      for (const [k, val] of Object.entries(x)) if (!DERIVED.has(k)) out[k] = walk(val)
      return P.node(out)
    }
    if (isDim(x) && x.kind === 'var' && Object.hasOwn(dims, x.name)) return dims[x.name] as Meta
    const out: Record<string, Pattern> = {}
    for (const [k, val] of Object.entries(x)) out[k] = walk(val)
    return Object.freeze(out)
  }
  return walk(t)
}

/**
 * Fig. 20's bend of `F : [a] -> [b c]`: its first output b bent back in front of its input,
 * `Fᵀ : [b a] -> [c]`.
 */
export const fig20Bend: BendOptions = Object.freeze({
  dom: Object.freeze([Object.freeze(['out', 0]), Object.freeze(['in', 0])]) as readonly AxisRef[],
  cod: Object.freeze([Object.freeze(['out', 1])]) as readonly AxisRef[],
})

const lift = (o: BendOptions): BendOptions => {
  const shift = (r: AxisRef): AxisRef => [r[0], r[1] + 1]
  return { dom: [['in', 0], ...o.dom.map(shift)], cod: [['out', 0], ...o.cod.map(shift)] }
}

// Stand-in names: not names a user's term would use for its dims and maps.
const standInDim = (i: number): string => `bend_${i}`
const F = 'bend.f'
const G = 'bend.g'

/**
 * The bend laws for one placement `o` of the axes of a linear `f : [A] -> [B]` with `inputs` and
 * `outputs` axes: `bend/involution`, `bend/broadcast` and (when `o` bends outputs only)
 * `bend/seq-outputs`, each suffixed with `suffix` (the catalogue's are Fig. 20's, suffix '').
 * Users add them to a proof's catalogue for the placements their diagrams use.
 *
 * @example
 * ```ts
 * import { bendRules } from 'neural-circuit-diagrams'
 * // The weight of a map [a] -> [b] as a state [] -> [b a]:
 * bendRules({ dom: [], cod: [['out', 0], ['in', 0]] }, 1, 1, '-state').map((r) => r.name)
 * // ['bend/involution-state', 'bend/broadcast-state']
 * ```
 */
export const bendRules = (
  o: BendOptions,
  inputs: number,
  outputs: number,
  suffix: string,
): ReadonlyArray<Rule> => {
  if (!Number.isInteger(inputs) || !Number.isInteger(outputs) || inputs < 0 || outputs < 0)
    fail('bad-argument', 'bendRules: the numbers of axes must be integers >= 0', {
      expected: 'the numbers of input and output axes of the maps bent',
      got: `${String(inputs)} and ${String(outputs)}`,
    })
  const names = Array.from({ length: inputs + outputs + 2 }, (_, i) => standInDim(i))
  const metas = ['s', 'e', ...Array.from({ length: inputs + outputs }, (_, i) => `x${i}`)]
  const dims: Record<string, Meta> = Object.fromEntries(names.map((n, i) => [n, v.dim(metas[i]!)]))
  const d = (i: number): Dim => dim(names[i + 2]!)
  const A = Array.from({ length: inputs }, (_, i) => d(i))
  const B = Array.from({ length: outputs }, (_, j) => d(inputs + j))
  const Ap = A.map((_, i) => v.dim(`x${i}`))
  const Bp = B.map((_, j) => v.dim(`x${inputs + j}`))
  const s = dim(names[0]!)
  const e = dim(names[1]!)
  const f = generator(F, [A], [B], { linearity: 'linear' })
  const pat = (t: Term): Pattern =>
    patternOfTerm(t, { terms: { [F]: v.term('f'), [G]: v.term('g') }, dims })
  const when = [linear('f'), typed('f', [Ap], [Bp])]
  const source = 'section 2.4.3, Fig. 20'
  const rules: Rule[] = [
    rule(`bend/involution${suffix}`, pat(bend(bend(f, o), unbend(o))), v.term('f'), {
      source,
      oneWay: true,
      when,
    }),
    rule(
      `bend/broadcast${suffix}`,
      pat(bend(broadcast(f, [s], { at: 0 }), lift(o))),
      pat(broadcast(bend(f, o), [s], { at: 0 })),
      { source, when, oneWay: true },
    ),
  ]
  const kept = o.dom.filter((r) => r[0] === 'in')
  const onlyOutputsBack =
    o.cod.every((r) => r[0] === 'out') &&
    kept.length === inputs &&
    kept.every((r, i) => r[1] === i) &&
    o.dom.slice(o.dom.length - inputs).every((r) => r[0] === 'in')
  if (onlyOutputsBack && inputs === 1) {
    const fe = generator(F, [A], [[e]], { linearity: 'linear' })
    const ge = generator(G, [[e]], [B], { linearity: 'linear' })
    const back = o.dom.filter((r) => r[0] === 'out').map((r) => B[r[1]]!)
    const gBent = bend(ge, { dom: [...o.dom.slice(0, -1), ['in', 0]], cod: o.cod })
    rules.push(
      rule(
        `bend/seq-outputs${suffix}`,
        pat(bend(seq(fe, ge), o)),
        pat(seq(back.length === 0 ? fe : broadcast(fe, back, { at: 0 }), gBent)),
        {
          source,
          oneWay: true,
          when: [
            linear('f'),
            linear('g'),
            typed('f', [Ap], [[v.dim('e')]]),
            typed('g', [[v.dim('e')]], [Bp]),
          ],
        },
      ),
    )
  }
  return Object.freeze(rules)
}

/**
 * The full bend is the transpose: `bend(f, { dom: outputs, cod: inputs })` of a linear
 * `f : [a] -> [b]` is `transpose(f)` (built by `transpose`; one-way).
 */
const full = ((): Rule => {
  const a = dim(standInDim(0))
  const b = dim(standInDim(1))
  const f = generator(F, [[a]], [[b]], { linearity: 'linear' })
  const lhs = patternOfTerm(bend(f, { dom: [['out', 0]], cod: [['in', 0]] }), {
    terms: { [F]: v.term('f') },
    dims: { [standInDim(0)]: v.dim('a'), [standInDim(1)]: v.dim('b') },
  })
  return rule(
    'bend/full',
    lhs,
    v.build('transpose(?f)', (bs) => transpose(bs.get('f')?.value as Term)),
    {
      source: 'section 2.4.3, Fig. 20',
      oneWay: true,
      when: [linear('f'), typed('f', [[v.dim('a')]], [[v.dim('b')]])],
    },
  )
})()

/** The bend laws, in catalogue order: Fig. 20's bend of `F : [a] -> [b c]`, and the full bend. */
export const bendLawRules: ReadonlyArray<Rule> = Object.freeze([
  ...bendRules(fig20Bend, 1, 2, ''),
  full,
])
