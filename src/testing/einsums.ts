/**
 * Random einsum specs over given input shapes (transposes, diagonals, sums, outer products,
 * spreads and embeddings), and the shape adapter einsum used to reach a requested codomain.
 * Labels are the names of the dims where that is unambiguous, so that a counterexample reads
 * `einsum(a b -> b a)` rather than a list of bindings.
 *
 * @packageDocumentation
 */
import fc from 'fast-check'
import { type Dim, dimKey } from '../core/dim.js'
import type { Term } from '../core/term.js'
import type { Shape } from '../core/types.js'
import { einsum } from '../linear/einsum.js'
import { maxCells } from './sizes.js'

const FRESH = ['i', 'j', 'l', 'm', 'n', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'z']

/** Names for labels given by their dims: a var's own name when no other label has it. */
const labelNames = (dims: ReadonlyArray<Dim>): string[] => {
  const count = new Map<string, number>()
  for (const d of dims) if (d.kind === 'var') count.set(d.name, (count.get(d.name) ?? 0) + 1)
  const taken = new Set<string>(count.keys())
  const fresh = (): string => {
    for (const f of FRESH)
      if (!taken.has(f)) {
        taken.add(f)
        return f
      }
    for (let i = 0; ; i++)
      if (!taken.has(`l${i}`)) {
        taken.add(`l${i}`)
        return `l${i}`
      }
  }
  return dims.map((d) => (d.kind === 'var' && count.get(d.name) === 1 ? d.name : fresh()))
}

/** Build an einsum from inputs and output given as label ids, with the dim of each id. */
export const einsumOf = (
  inputs: ReadonlyArray<ReadonlyArray<number>>,
  output: ReadonlyArray<number>,
  dims: ReadonlyArray<Dim>,
): Term => {
  const names = labelNames(dims)
  const side = (ids: ReadonlyArray<number>) => ids.map((i) => names[i] as string).join(' ')
  const spec = `${inputs.map(side).join(', ')} -> ${side(output)}`
  const binds: Record<string, Dim> = {}
  dims.forEach((d, i) => {
    binds[names[i] as string] = d
  })
  return einsum(spec, { dims: binds })
}

/** The random choices behind one einsum. */
interface Plan {
  /** Per input axis (flattened): reuse the label of an earlier axis of the same dim. */
  readonly merge: ReadonlyArray<boolean>
  /** Per label: 0 sums it, 1 keeps it, 2 keeps it twice (an embedding on a diagonal). */
  readonly keep: ReadonlyArray<0 | 1 | 2>
  /** Sort keys of the output slots. */
  readonly order: ReadonlyArray<number>
  /** Labels only in the output (a constant spread along them). */
  readonly spread: ReadonlyArray<Dim>
}

/** The budget of a generated shape: its rank and its number of entries at the largest sizes. */
export interface ShapeBudget {
  readonly maxRank: number
  readonly maxCells: number
  readonly maxSize: number
}

const build = (inputs: ReadonlyArray<Shape>, plan: Plan, budget: ShapeBudget): Term => {
  const dims: Dim[] = []
  const ids: number[][] = []
  let flat = 0
  for (const shape of inputs) {
    const seg: number[] = []
    for (const d of shape) {
      const reuse = plan.merge[flat] === true ? dims.findIndex((e) => dimKey(e) === dimKey(d)) : -1
      if (reuse >= 0) seg.push(reuse)
      else {
        dims.push(d)
        seg.push(dims.length - 1)
      }
      flat++
    }
    ids.push(seg)
  }
  const labels = dims.length
  const counts = dims.map((_, i) => plan.keep[i] ?? 1)
  const spread = [...plan.spread]
  const slots = (): number[] => {
    const out: number[] = []
    counts.forEach((c, i) => {
      for (let k = 0; k < c; k++) out.push(i)
    })
    spread.forEach((_, j) => out.push(labels + j))
    return out
  }
  const allDims = (): Dim[] => [...dims, ...spread]
  const fits = (): boolean => {
    const out = slots()
    const ds = allDims()
    return (
      out.length <= budget.maxRank &&
      maxCells(
        out.map((i) => ds[i] as Dim),
        budget.maxSize,
      ) <= budget.maxCells
    )
  }
  // Repair an output over budget, deterministically: no spreads, no embeddings, then sums.
  while (!fits() && spread.length > 0) spread.pop()
  for (let i = labels - 1; i >= 0 && !fits(); i--) if (counts[i] === 2) counts[i] = 1
  for (let i = labels - 1; i >= 0 && !fits(); i--) counts[i] = 0
  const out = slots()
  const sorted = out
    .map((label, slot) => ({ label, key: plan.order[slot] ?? 0, slot }))
    .sort((a, b) => a.key - b.key || a.slot - b.slot)
    .map((s) => s.label)
  return einsumOf(ids, sorted, allDims())
}

/** Keep a label (mostly), sum it, or embed it on a diagonal; shrinks towards keeping. */
const KEEP: fc.Arbitrary<0 | 1 | 2> = fc.oneof(
  { arbitrary: fc.constant<0 | 1 | 2>(1), weight: 4 },
  { arbitrary: fc.constant<0 | 1 | 2>(0), weight: 2 },
  { arbitrary: fc.constant<0 | 1 | 2>(2), weight: 1 },
)

/**
 * A random einsum taking exactly the given input shapes; shrinks towards the identity (one input)
 * or the outer product (several). @internal
 */
export const einsumArb = (
  inputs: ReadonlyArray<Shape>,
  spreadPool: ReadonlyArray<Dim>,
  budget: ShapeBudget,
): fc.Arbitrary<Term> => {
  const axes = inputs.reduce((n, s) => n + s.length, 0)
  const fixed = <A>(a: fc.Arbitrary<A>, n: number) => fc.array(a, { minLength: n, maxLength: n })
  return fc
    .record({
      merge: fixed(fc.boolean(), axes),
      keep: fixed(KEEP, axes),
      order: fixed(fc.nat({ max: 7 }), 2 * axes + 1),
      spread: fc.array(fc.constantFrom(...spreadPool), { maxLength: 1 }),
    })
    .map((plan) => build(inputs, plan, budget))
}

/**
 * A transpose of `s` (rank at least 2): a permutation of its axes other than the identity;
 * shrinks towards swapping the last two. @internal
 */
export const transposeArb = (s: Shape): fc.Arbitrary<Term> =>
  fc.array(fc.nat({ max: 7 }), { minLength: s.length, maxLength: s.length }).map((keys) => {
    const ids = s.map((_, i) => i)
    const perm = [...ids].sort((a, b) => (keys[a] as number) - (keys[b] as number) || b - a)
    if (perm.every((p, i) => p === i)) perm.reverse()
    return einsumOf([ids], perm, s)
  })

/**
 * The einsum `[from] -> [to]` that keeps the axes the two shapes share (in `to`'s order), sums
 * the other axes of `from` and spreads the other axes of `to`. @internal
 */
export const shapeAdapter = (from: Shape, to: Shape): Term => {
  const dims: Dim[] = [...from]
  const used = from.map(() => false)
  const output = to.map((d) => {
    const i = from.findIndex((e, j) => !used[j] && dimKey(e) === dimKey(d))
    if (i >= 0) {
      used[i] = true
      return i
    }
    dims.push(d)
    return dims.length - 1
  })
  return einsumOf([from.map((_, i) => i)], output, dims)
}
