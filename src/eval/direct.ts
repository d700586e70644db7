/**
 * The direct einsum kernel: `out[o] = Σ_{summed} Π_i operand_i` as one loop nest over the joint
 * index space of every label, each point multiplying its q operands' entries (q - 1 products)
 * and adding the product into its output entry. No intermediate tensor is made and no operand is
 * transposed: every operand and the output are read where they lie, by strides.
 *
 * The pairwise schedule (src/eval/contract.ts) is the better plan when a contraction reuses its
 * operands (a matrix product reads each entry of A once per column of B, and the blocked kernels
 * keep them in registers), or when summing an operand's private labels first shrinks the product
 * (`ij, ij, il -> il` is Σ_j first, then one product per `il`). The direct loop is the better
 * plan for the small element-wise products and reductions that derivatives are made of (the
 * backward pass of a layerNorm, `m, im, i -> im` and `im, im -> m`; paper Fig. 33-37): there the
 * pairwise schedule's transposes and intermediates cost 10-20 times the arithmetic, while the
 * direct loop does at most the arithmetic the schedule does ({@link directLoop}).
 *
 * Every output entry's terms are added one by one, starting from 0, in the order of the loop
 * nest (row-major in the summed labels); rounding bounds (src/eval/error-bound.ts) hold for any
 * summation order.
 *
 * @packageDocumentation
 * @internal
 */
import { type Allocate, sizeOf, stridesOf } from './strided.js'

/** A planned direct loop nest: loops outermost first, the strides of each operand and of the output. */
export interface DirectLoop {
  /** The output's entries. */
  readonly entries: number
  /** The extent of each loop, outermost first. */
  readonly extents: ReadonlyArray<number>
  /** Per operand, its stride along each loop (0 where it lacks the label). */
  readonly strides: ReadonlyArray<ReadonlyArray<number>>
  /** The output's stride along each loop (0 for a summed label). */
  readonly out: ReadonlyArray<number>
}

/**
 * The loop nest of an einsum of operands labelled `labels` into `output` (labels may repeat on
 * either side: a diagonal), at extents `size`. Loops are ordered so that the innermost has the
 * smallest strides: the label contiguous in the most operands runs innermost.
 */
export const directLoop = (
  labels: ReadonlyArray<ReadonlyArray<string>>,
  output: ReadonlyArray<string>,
  size: ReadonlyMap<string, number>,
): DirectLoop => {
  const all = [...new Set([...labels.flat(), ...output])]
  const strideIn = (ls: ReadonlyArray<string>, l: string): number => {
    const st = stridesOf(ls.map((x) => size.get(x) as number))
    return ls.reduce((acc, x, a) => (x === l ? acc + (st[a] as number) : acc), 0)
  }
  const rows = all.map((l) => ({
    extent: size.get(l) as number,
    strides: labels.map((ls) => strideIn(ls, l)),
    out: strideIn(output, l),
  }))
  // Outermost: the label with the largest strides (the sum of its strides over the operands and
  // the output, so that the output's layout counts as one operand's).
  const weight = (r: (typeof rows)[number]) => r.strides.reduce((a, s) => a + s, 0) + r.out
  const sorted = rows.filter((r) => r.extent !== 1).sort((p, q) => weight(q) - weight(p))
  // A loop merges into the one inside it when the two are contiguous in every operand and in
  // the output (an element-wise product of matrices is one loop over all their entries): the
  // points are visited in the same order, with fewer and longer innermost runs.
  const loops: Array<(typeof rows)[number]> = []
  for (let l = sorted.length - 1; l >= 0; l--) {
    const r = sorted[l] as (typeof rows)[number]
    const inner = loops[0]
    if (
      inner !== undefined &&
      r.out === inner.out * inner.extent &&
      r.strides.every((st, i) => st === (inner.strides[i] as number) * inner.extent)
    )
      loops[0] = { extent: r.extent * inner.extent, strides: inner.strides, out: inner.out }
    else loops.unshift(r)
  }
  return {
    entries: sizeOf(output.map((l) => size.get(l) as number)),
    extents: loops.map((r) => r.extent),
    strides: labels.map((_, i) => loops.map((r) => r.strides[i] as number)),
    out: loops.map((r) => r.out),
  }
}

/** The joint index space of a direct loop (the points it visits). */
export const directPoints = (d: DirectLoop): number => sizeOf(d.extents)

const NONE = new Float64Array(0)

/** Run a direct loop nest on the operands' data (in the order of its labels). */
export const runDirect = (
  d: DirectLoop,
  operands: ReadonlyArray<Float64Array>,
  alloc: Allocate,
): Float64Array => {
  const c = alloc(d.entries, 'a contraction result')
  const rank = d.extents.length
  if (d.entries === 0 || d.extents.some((e) => e === 0)) return c
  const q = operands.length
  if (rank === 0) {
    // One point: the product of the operands' single entries, added to 0.
    let p = operands[0]?.[0] as number
    for (let i = 1; i < q; i++) p *= operands[i]?.[0] as number
    c[0] = 0 + p
    return c
  }
  const inner = rank - 1
  const n = d.extents[inner] as number
  const so = d.out[inner] as number
  const outer = d.extents.slice(0, inner)
  const idx = new Array<number>(inner).fill(0)
  const base = new Array<number>(q).fill(0)
  let bo = 0
  const a = operands[0] ?? NONE
  const b = operands[1] ?? NONE
  const e = operands[2] ?? NONE
  const [sa, sb, se] = [0, 1, 2].map((i) => (d.strides[i]?.[inner] ?? 0) as number) as [
    number,
    number,
    number,
  ]
  for (;;) {
    // The innermost run: n points along the last loop.
    let pa = base[0] as number
    let pb = base[1] as number
    let pe = base[2] as number
    if (so === 0) {
      // A summed innermost label: its terms added to one entry, in order.
      let acc = c[bo] as number
      if (q === 1) for (let t = 0; t < n; t++, pa += sa) acc += a[pa] as number
      else if (q === 2)
        for (let t = 0; t < n; t++, pa += sa, pb += sb) acc += (a[pa] as number) * (b[pb] as number)
      else if (q === 3)
        for (let t = 0; t < n; t++, pa += sa, pb += sb, pe += se)
          acc += (a[pa] as number) * (b[pb] as number) * (e[pe] as number)
      else for (let t = 0; t < n; t++) acc += pointProduct(d, operands, base, inner, t)
      c[bo] = acc
    } else {
      let po = bo
      if (q === 1)
        for (let t = 0; t < n; t++, pa += sa, po += so)
          c[po] = (c[po] as number) + (a[pa] as number)
      else if (q === 2)
        for (let t = 0; t < n; t++, pa += sa, pb += sb, po += so)
          c[po] = (c[po] as number) + (a[pa] as number) * (b[pb] as number)
      else if (q === 3)
        for (let t = 0; t < n; t++, pa += sa, pb += sb, pe += se, po += so)
          c[po] = (c[po] as number) + (a[pa] as number) * (b[pb] as number) * (e[pe] as number)
      else
        for (let t = 0; t < n; t++, po += so)
          c[po] = (c[po] as number) + pointProduct(d, operands, base, inner, t)
    }
    // The odometer over the outer loops.
    let l = inner - 1
    for (; l >= 0; l--) {
      const i = (idx[l] as number) + 1
      const step = d.out[l] as number
      if (i < (outer[l] as number)) {
        idx[l] = i
        bo += step
        for (let k = 0; k < q; k++)
          base[k] = (base[k] as number) + ((d.strides[k] as number[])[l] as number)
        break
      }
      idx[l] = 0
      bo -= step * (i - 1)
      for (let k = 0; k < q; k++)
        base[k] = (base[k] as number) - ((d.strides[k] as number[])[l] as number) * (i - 1)
    }
    if (l < 0) return c
  }
}

/** The product of the operands at point t of the innermost run from `base` (four or more operands). */
const pointProduct = (
  d: DirectLoop,
  operands: ReadonlyArray<Float64Array>,
  base: ReadonlyArray<number>,
  inner: number,
  t: number,
): number => {
  let p = 1
  for (let k = 0; k < operands.length; k++) {
    const v = (operands[k] as Float64Array)[
      (base[k] as number) + t * ((d.strides[k] as number[])[inner] as number)
    ] as number
    p = k === 0 ? v : p * v
  }
  return p
}
