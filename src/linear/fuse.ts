/**
 * Fusion of einsums (DESIGN.md section 3: "composition of two einsums is an einsum"). Einsums are
 * spider diagrams, so composing them joins wires: every output axis of the first is identified
 * with the input axis of the second it feeds, the labels so joined become one label, and a label
 * that the second sums is summed in the fused einsum. Three consequences, each a law of
 * `src/rewrite/rules/einsum.ts` and `linear.ts`:
 *
 * - {@link fuseEinsums}: `e1 ; e2`, or a stack of einsums and identities then an einsum, is one
 *   einsum (times the size of any wire closed into a loop, as `unit ; cup` is the size of `a`);
 * - {@link einsumOfBroadcast}: an einsum broadcast over axes is an einsum with a label per axis
 *   (paper Fig. 17: linear maps are broadcast simultaneously);
 * - {@link outerThenLinear}: a multi-input einsum is the outer product of its inputs, then a
 *   single-input einsum (paper section 2.4.1: `⊗ ; f_λ = f`).
 *
 * Results are in canonical form (`canonical.ts`).
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { id, par, seq } from '../core/construct.js'
import { type Dim, dimProduct } from '../core/dim.js'
import { type TermError, attempt, fail } from '../core/errors.js'
import { scale } from '../core/primitives.js'
import { show } from '../core/show.js'
import type { Einsum, Term } from '../core/term.js'
import { type Spider, asEinsum, einsumOfSpider, spiderOf } from './canonical.js'

/** Union-find over label numbers. */
const unionFind = () => {
  const parent: number[] = []
  const find = (x: number): number => {
    let r = x
    while (parent[r] !== r) r = parent[r] as number
    parent[x] = r
    return r
  }
  return {
    add: (): number => {
      parent.push(parent.length)
      return parent.length - 1
    },
    find,
    union: (a: number, b: number): void => {
      const ra = find(a)
      const rb = find(b)
      if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb)
    },
  }
}

const cannotFuse = (first: Term, second: Term, why: string): never =>
  fail('bad-einsum', `fuseEinsums: ${why}`, {
    expected: 'an einsum, or a stack (⊗) of einsums and identities, followed by an einsum',
    got: `${show(first, { maxLength: 80 })} ; ${show(second, { maxLength: 80 })}`,
  })

/**
 * `first ; second` as one einsum, where `first` is an einsum, an identity, or a stack (`⊗`) of
 * einsums and identities, and `second` an einsum. When joining wires closes a loop (a label that
 * no input carries and the output does not keep, as in `unit ; cup`), the einsum is followed by a
 * scaling by the size of the loop's dim. Throws a `bad-einsum` error for other terms.
 *
 * @example
 * ```ts
 * import { fuseEinsums, einsum, id, par, seq, show, termEquals } from 'neural-circuit-diagrams'
 * // Fig. 18-19: transpose, outer product with a diagonal, inner product: one einsum.
 * const transposeK = par(id([['y', 'k', 'h']]), einsum('x k h -> k x h'))
 * const outer = einsum('y k1 h, k2 x h -> y k1 k2 x h', { dims: { k1: 'k', k2: 'k' } })
 * const scores = fuseEinsums(fuseEinsums(transposeK, outer), einsum('y k k x h -> y x h'))
 * show(scores) // 'einsum(y k h, x k h -> y x h)'
 * termEquals(scores, einsum('y k h, x k h -> y x h')) // true
 * ```
 */
export const fuseEinsums = (first: Term, second: Term): Term => {
  const e2 =
    second.kind === 'einsum' ? second : cannotFuse(first, second, 'the second is not an einsum')
  const uf = unionFind()
  const dims: Dim[] = []
  const fresh = (d: Dim): number => {
    dims.push(d)
    return uf.add()
  }
  const labelsOf = (e: Einsum): ((label: string) => number) => {
    const ids = new Map<string, number>()
    return (label) => {
      const known = ids.get(label)
      if (known !== undefined) return known
      const n = fresh(e.dims[label] as Dim)
      ids.set(label, n)
      return n
    }
  }
  const inputs: number[][] = []
  const produced: number[][] = []
  for (const part of first.kind === 'par' ? first.parts : [first]) {
    if (part.kind === 'einsum') {
      const id = labelsOf(part)
      for (const ls of part.inputs) inputs.push(ls.map(id))
      produced.push(part.output.map(id))
    } else if (part.kind === 'id') {
      for (const shape of part.type) {
        const ids = shape.map(fresh)
        inputs.push(ids)
        produced.push(ids)
      }
    } else cannotFuse(first, second, `${show(part, { maxLength: 60 })} is not an einsum or an id`)
  }
  if (produced.length !== e2.inputs.length)
    cannotFuse(first, second, `${produced.length} segments feed ${e2.inputs.length} inputs`)
  const id2 = labelsOf(e2)
  e2.inputs.forEach((ls, j) => {
    const feed = produced[j] as number[]
    if (feed.length !== ls.length) cannotFuse(first, second, `input ${j} has the wrong rank`)
    ls.forEach((label, q) => uf.union(id2(label), feed[q] as number))
  })
  const output = e2.output.map(id2)
  const spider: Spider = {
    inputs: inputs.map((ls) => ls.map(uf.find)),
    output: output.map(uf.find),
    dims,
  }
  // A label that the first's outputs and the second's inputs close into a loop: summing it
  // multiplies by its size.
  const used = new Set([...spider.inputs.flat(), ...spider.output])
  const loops = dims.flatMap((d, l) => (uf.find(l) === l && !used.has(l) ? [d] : []))
  const fused = einsumOfSpider(spider)
  if (loops.length === 0) return fused
  const by = { dim: dimProduct(...loops), power: 1 }
  return seq(fused, scale(1, fused.cod[0], { bySize: by }))
}

/**
 * {@link fuseEinsums} as an `Either`: the inner-API form, a `bad-einsum` error on the left.
 *
 * @example
 * ```ts
 * import { fuseEinsumsE, einsum, relu } from 'neural-circuit-diagrams'
 * import * as E from 'fp-ts/lib/Either.js'
 * E.isRight(fuseEinsumsE(einsum('a b -> b a'), einsum('b a -> a'))) // true
 * E.isLeft(fuseEinsumsE(relu('a'), einsum('a -> '))) // true
 * ```
 */
export const fuseEinsumsE = (first: Term, second: Term): E.Either<TermError, Term> =>
  attempt(() => fuseEinsums(first, second))

/** The most inputs an einsum fused by {@link fuseIntoInput} (the normal form, vjp) may have. */
export const MAX_FUSED_INPUTS = 8

/**
 * The einsum `reader` with its input `i` fed by the einsum `producer`, fused into one einsum
 * (`producer` in slot `i`, identities in the others, then {@link fuseEinsums}), or `undefined`
 * when they do not fuse into a single einsum or the result would have more than
 * {@link MAX_FUSED_INPUTS} inputs. The fusion step of the normal form's read-back and of the
 * gradient's move fusion (`derive/vjp.ts`).
 */
export const fuseIntoInput = (reader: Term, i: number, producer: Term): Term | undefined => {
  if (reader.dom.length - 1 + producer.dom.length > MAX_FUSED_INPUTS) return undefined
  const first = par(...reader.dom.map((s, j) => (j === i ? producer : id([s]))))
  try {
    const fused = fuseEinsums(first, reader)
    return fused.kind === 'einsum' ? fused : undefined
  } catch {
    return undefined
  }
}

/**
 * An einsum broadcast over axes, as one einsum: a new label for each broadcast axis, placed where
 * the broadcast places the axes (and absent from shared inputs). Throws a `bad-einsum` error
 * when the term is not a broadcast einsum.
 *
 * @example
 * ```ts
 * import { einsumOfBroadcast, broadcast, einsum, show } from 'neural-circuit-diagrams'
 * // A matrix product broadcast over a batch axis b of the first input only.
 * const t = broadcast(einsum('y k, k x -> y x'), ['b'], { inputs: [0, 'shared'] })
 * show(einsumOfBroadcast(t)) // 'einsum(b y k, k x -> b y x)'
 * ```
 */
export const einsumOfBroadcast = (t: Term): Term => {
  if (t.kind !== 'broadcast')
    return fail('bad-einsum', 'einsumOfBroadcast: a broadcast einsum is needed', {
      expected: 'broadcast(einsum(...), axes, placements)',
      got: show(t, { maxLength: 120 }),
    })
  const s = spiderOf(asEinsum(t.body, 'einsumOfBroadcast'))
  const axes = t.axes.map((_, n) => s.dims.length + n)
  const insert = (ls: ReadonlyArray<number>, at: number): number[] => [
    ...ls.slice(0, at),
    ...axes,
    ...ls.slice(at),
  ]
  return einsumOfSpider({
    inputs: s.inputs.map((ls, i) => {
      const at = t.inputs[i]
      return at === 'shared' || at === undefined ? ls : insert(ls, at)
    }),
    output: insert(s.output, t.outputs[0] ?? 0),
    dims: [...s.dims, ...t.axes],
  })
}

/**
 * Whether an einsum is an outer product: two or more inputs, every axis its own label, and the
 * output their concatenation.
 *
 * @example
 * ```ts
 * import { isOuterProduct, einsum } from 'neural-circuit-diagrams'
 * isOuterProduct(einsum('a, b c -> a b c')) // true
 * isOuterProduct(einsum('a, a -> a')) // false
 * ```
 */
export const isOuterProduct = (t: Term): boolean => {
  if (t.kind !== 'einsum' || t.inputs.length < 2) return false
  const all = t.inputs.flat()
  return (
    new Set(all).size === all.length &&
    all.length === t.output.length &&
    all.every((l, i) => l === t.output[i])
  )
}

/**
 * A multilinear einsum of two or more inputs as the outer product of its inputs followed by a
 * single-input einsum, its associated linear map (paper section 2.4.1: every multilinear map is
 * `⊗ ; f_λ`). Throws a `bad-einsum` error for an einsum of one input.
 *
 * @example
 * ```ts
 * import { outerThenLinear, einsum, show } from 'neural-circuit-diagrams'
 * show(outerThenLinear(einsum('y k, x k -> y x')))
 * // 'einsum(y i, x j -> y i x j; i=k, j=k) ; einsum(y k x k -> y x)'
 * ```
 */
export const outerThenLinear = (t: Term): Term => {
  const e = asEinsum(t, 'outerThenLinear')
  if (e.inputs.length < 2)
    fail('bad-einsum', 'outerThenLinear: an einsum of two inputs or more is needed', {
      expected: 'a multilinear einsum such as y k, x k -> y x',
      got: show(e),
    })
  const s = spiderOf(e)
  // The outer product: every axis its own label.
  const dims: Dim[] = []
  const outerInputs = s.inputs.map((ls) =>
    ls.map((l) => {
      dims.push(s.dims[l] as Dim)
      return dims.length - 1
    }),
  )
  const outer = einsumOfSpider({ inputs: outerInputs, output: outerInputs.flat(), dims })
  const linear = einsumOfSpider({ inputs: [s.inputs.flat()], output: s.output, dims: s.dims })
  return seq(outer, linear)
}
