/**
 * The einsum kernel (DESIGN.md section 4): diagonals and private sums first, then pairwise
 * contractions in a greedy cost order (the pair whose joint index space is smallest), each a
 * batched matrix product whose innermost loop is contiguous, then the output's transpose,
 * diagonal embedding and spreads. A multi-operand einsum never materialises its full index space:
 * every intermediate is the result of one pairwise step.
 *
 * @packageDocumentation
 * @internal
 */
import { type Allocate, embed, gather, permute, sizeOf, stridesOf, sumAxes } from './strided.js'

/** One operand: its data and the label of each axis (labels may repeat: a diagonal). */
export interface Operand {
  readonly data: Float64Array
  readonly labels: ReadonlyArray<string>
}

interface Unique {
  data: Float64Array
  labels: string[]
}

const extentsOf = (labels: ReadonlyArray<string>, size: ReadonlyMap<string, number>): number[] =>
  labels.map((l) => size.get(l) as number)

/** Take the diagonal of repeated labels, so that every label appears once. */
const diagonal = (op: Operand, size: ReadonlyMap<string, number>, alloc: Allocate): Unique => {
  const labels = [...new Set(op.labels)]
  if (labels.length === op.labels.length) return { data: op.data, labels }
  const strides = stridesOf(extentsOf(op.labels, size))
  const unique = labels.map((l) =>
    op.labels.reduce((acc, m, a) => (m === l ? acc + (strides[a] as number) : acc), 0),
  )
  return { data: gather(op.data, extentsOf(labels, size), unique, alloc), labels }
}

/** Sum out the labels that no one else needs. */
const sumPrivate = (
  op: Unique,
  needed: (label: string) => boolean,
  size: ReadonlyMap<string, number>,
  alloc: Allocate,
): Unique => {
  const summed = op.labels.map((l) => !needed(l))
  if (!summed.includes(true)) return op
  return {
    data: sumAxes(op.data, extentsOf(op.labels, size), summed, alloc),
    labels: op.labels.filter((_, a) => !summed[a]),
  }
}

/** `C[b, i, j] = Σ_p A[b, i, p] B[b, p, j]`, or with `B` given as `[b, j, p]` when `bT`. */
const batchedMatmul = (
  a: Float64Array,
  b: Float64Array,
  batch: number,
  m: number,
  k: number,
  n: number,
  bTransposed: boolean,
  alloc: Allocate,
): Float64Array => {
  const c = alloc(batch * m * n, 'a contraction result')
  for (let t = 0; t < batch; t++) {
    const a0 = t * m * k
    const b0 = t * k * n
    const c0 = t * m * n
    if (bTransposed) {
      for (let i = 0; i < m; i++) {
        const ai = a0 + i * k
        for (let j = 0; j < n; j++) {
          const bj = b0 + j * k
          let acc = 0
          for (let p = 0; p < k; p++) acc += (a[ai + p] as number) * (b[bj + p] as number)
          c[c0 + i * n + j] = acc
        }
      }
    } else {
      for (let i = 0; i < m; i++) {
        const ci = c0 + i * n
        const ai = a0 + i * k
        for (let p = 0; p < k; p++) {
          const av = a[ai + p] as number
          if (av === 0) continue
          const bp = b0 + p * n
          for (let j = 0; j < n; j++) c[ci + j] = (c[ci + j] as number) + av * (b[bp + j] as number)
        }
      }
    }
  }
  return c
}

/** Contract two operands, keeping the labels in `keep`. */
const contractPair = (
  x: Unique,
  y: Unique,
  keep: (label: string) => boolean,
  size: ReadonlyMap<string, number>,
  alloc: Allocate,
): Unique => {
  const inY = new Set(y.labels)
  const inX = new Set(x.labels)
  const batch = x.labels.filter((l) => inY.has(l) && keep(l))
  const inner = x.labels.filter((l) => inY.has(l) && !keep(l))
  const left = x.labels.filter((l) => !inY.has(l))
  const right = y.labels.filter((l) => !inX.has(l))
  const ext = (ls: string[]) => sizeOf(extentsOf(ls, size))
  const [nb, m, k, n] = [ext(batch), ext(left), ext(inner), ext(right)]
  // A short innermost row makes the axpy loop slow: use dot products along the contraction then.
  const bTransposed = n < 16 && k > 1
  const xs = extentsOf(x.labels, size)
  const ys = extentsOf(y.labels, size)
  const order = (ls: ReadonlyArray<string>, want: string[]) => want.map((l) => ls.indexOf(l))
  const a = permute(x.data, xs, order(x.labels, [...batch, ...left, ...inner]), alloc)
  const b = permute(
    y.data,
    ys,
    order(y.labels, bTransposed ? [...batch, ...right, ...inner] : [...batch, ...inner, ...right]),
    alloc,
  )
  return {
    data: batchedMatmul(a, b, nb, m, k, n, bTransposed, alloc),
    labels: [...batch, ...left, ...right],
  }
}

/**
 * Evaluate an einsum: `out[o] = [repeated output labels agree] Σ_{summed} Π_i operand_i`.
 * `size` gives the extent of every label.
 */
export const contract = (
  operands: ReadonlyArray<Operand>,
  output: ReadonlyArray<string>,
  size: ReadonlyMap<string, number>,
  alloc: Allocate,
): Float64Array => {
  const outSet = new Set(output)
  let ops: Unique[] = operands.map((o) => diagonal(o, size, alloc))
  const uses = (label: string, except: number): boolean =>
    outSet.has(label) || ops.some((o, i) => i !== except && o.labels.includes(label))
  ops = ops.map((o, i) => sumPrivate(o, (l) => uses(l, i), size, alloc))
  while (ops.length > 1) {
    // Greedy: the pair with the smallest joint index space, then the smallest result.
    let best: [number, number] = [0, 1]
    let bestCost = Infinity
    let bestResult = Infinity
    for (let i = 0; i < ops.length; i++)
      for (let j = i + 1; j < ops.length; j++) {
        const oi = ops[i] as Unique
        const oj = ops[j] as Unique
        const joint = new Set([...oi.labels, ...oj.labels])
        const cost = sizeOf(extentsOf([...joint], size))
        const result = sizeOf(
          extentsOf(
            [...joint].filter(
              (l) =>
                outSet.has(l) || ops.some((o, t) => t !== i && t !== j && o.labels.includes(l)),
            ),
            size,
          ),
        )
        if (cost < bestCost || (cost === bestCost && result < bestResult)) {
          best = [i, j]
          bestCost = cost
          bestResult = result
        }
      }
    const [i, j] = best
    const rest = ops.filter((_, t) => t !== i && t !== j)
    const keep = (l: string) => outSet.has(l) || rest.some((o) => o.labels.includes(l))
    const merged = contractPair(ops[i] as Unique, ops[j] as Unique, keep, size, alloc)
    ops = [...rest, merged]
  }
  const last = sumPrivate(ops[0] as Unique, (l) => outSet.has(l), size, alloc)
  const outShape = extentsOf(output, size)
  const unique = [...outSet]
  const plain = unique.length === output.length && output.every((l) => last.labels.includes(l))
  if (plain)
    return permute(
      last.data,
      extentsOf(last.labels, size),
      output.map((l) => last.labels.indexOf(l)),
      alloc,
    )
  const lastStrides = stridesOf(extentsOf(last.labels, size))
  const outStrides = stridesOf(outShape)
  const loops = unique.map((l) => ({
    size: size.get(l) as number,
    src: last.labels.includes(l) ? (lastStrides[last.labels.indexOf(l)] as number) : 0,
    dst: output.reduce((acc, m, a) => (m === l ? acc + (outStrides[a] as number) : acc), 0),
  }))
  return embed(last.data, sizeOf(outShape), loops, alloc)
}
