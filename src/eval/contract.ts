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
import {
  type Allocate,
  type EmbedLoop,
  embed,
  gather,
  keepsLayout,
  mergeRuns,
  permute,
  sizeOf,
  stridesOf,
  sumAxes,
} from './strided.js'
import {
  type OperandView,
  denseView,
  matmulKernel,
  wasmBatchedMatmul,
  wasmWanted,
} from './wasm/gemm.js'
import { type DirectLoop, directLoop, directPoints, runDirect } from './direct.js'

/** One operand: its data and the label of each axis (labels may repeat: a diagonal). */
export interface Operand {
  readonly data: Float64Array
  readonly labels: ReadonlyArray<string>
}

const extentsOf = (labels: ReadonlyArray<string>, size: ReadonlyMap<string, number>): number[] =>
  labels.map((l) => size.get(l) as number)

/**
 * `C[b, i, j] = Σ_p A[b, i, p] B[b, j, p]`: dot products along contiguous rows, blocked 2 rows of
 * A by 4 rows of B so that every loaded entry serves several products (8 accumulators in
 * registers). The reference of the WebAssembly kernel (src/eval/wasm), which sums in the same order.
 */
export const batchedMatmul = (
  a: Float64Array,
  b: Float64Array,
  batch: number,
  m: number,
  k: number,
  n: number,
  alloc: Allocate,
): Float64Array => {
  const c = alloc(batch * m * n, 'a contraction result')
  if (k === 1) {
    // An outer product: every sum has one term (0 + x y, as the loop below would add it).
    for (let t = 0; t < batch; t++)
      for (let i = 0, a0 = t * m, b0 = t * n, ci = t * m * n; i < m; i++, ci += n) {
        const x = a[a0 + i] as number
        for (let j = 0; j < n; j++) c[ci + j] = 0 + x * (b[b0 + j] as number)
      }
    return c
  }
  for (let t = 0; t < batch; t++) {
    const a0 = t * m * k
    const b0 = t * k * n
    const c0 = t * m * n
    let i = 0
    for (; i + 1 < m; i += 2) {
      const ai = a0 + i * k
      const ai1 = ai + k
      const ci = c0 + i * n
      let j = 0
      for (; j + 3 < n; j += 4) {
        const bj = b0 + j * k
        const bj1 = bj + k
        const bj2 = bj1 + k
        const bj3 = bj2 + k
        let s00 = 0,
          s01 = 0,
          s02 = 0,
          s03 = 0,
          s10 = 0,
          s11 = 0,
          s12 = 0,
          s13 = 0
        for (let p = 0; p < k; p++) {
          const x0 = a[ai + p] as number
          const x1 = a[ai1 + p] as number
          const y0 = b[bj + p] as number
          const y1 = b[bj1 + p] as number
          const y2 = b[bj2 + p] as number
          const y3 = b[bj3 + p] as number
          s00 += x0 * y0
          s01 += x0 * y1
          s02 += x0 * y2
          s03 += x0 * y3
          s10 += x1 * y0
          s11 += x1 * y1
          s12 += x1 * y2
          s13 += x1 * y3
        }
        c[ci + j] = s00
        c[ci + j + 1] = s01
        c[ci + j + 2] = s02
        c[ci + j + 3] = s03
        c[ci + n + j] = s10
        c[ci + n + j + 1] = s11
        c[ci + n + j + 2] = s12
        c[ci + n + j + 3] = s13
      }
      for (; j < n; j++) {
        const bj = b0 + j * k
        let s0 = 0,
          s1 = 0
        for (let p = 0; p < k; p++) {
          const y = b[bj + p] as number
          s0 += (a[ai + p] as number) * y
          s1 += (a[ai1 + p] as number) * y
        }
        c[ci + j] = s0
        c[ci + n + j] = s1
      }
    }
    if (i < m) {
      // The last row of an odd m (a vector times a matrix when m = 1): one row by 4 rows of B.
      const ai = a0 + i * k
      const ci = c0 + i * n
      let j = 0
      for (; j + 3 < n; j += 4) {
        const bj = b0 + j * k
        const bj1 = bj + k
        const bj2 = bj1 + k
        const bj3 = bj2 + k
        let s0 = 0,
          s1 = 0,
          s2 = 0,
          s3 = 0
        for (let p = 0; p < k; p++) {
          const x = a[ai + p] as number
          s0 += x * (b[bj + p] as number)
          s1 += x * (b[bj1 + p] as number)
          s2 += x * (b[bj2 + p] as number)
          s3 += x * (b[bj3 + p] as number)
        }
        c[ci + j] = s0
        c[ci + j + 1] = s1
        c[ci + j + 2] = s2
        c[ci + j + 3] = s3
      }
      for (; j < n; j++) {
        const bj = b0 + j * k
        let s0 = 0
        for (let p = 0; p < k; p++) s0 += (a[ai + p] as number) * (b[bj + p] as number)
        c[ci + j] = s0
      }
    }
  }
  return c
}

/**
 * `C[b, i, j] = Σ_p A[b, p, i] B[b, p, j]`: the same product with the summed axes leading, as
 * rank-one updates along contiguous rows. It spares the transpose of an operand stored with the
 * summed axis first (a transposed matrix-vector product, the backward pass of a linear layer).
 */
export const batchedMatmulInnerFirst = (
  a: Float64Array,
  b: Float64Array,
  batch: number,
  m: number,
  k: number,
  n: number,
  alloc: Allocate,
): Float64Array => {
  const c = alloc(batch * m * n, 'a contraction result')
  for (let t = 0; t < batch; t++) {
    const c0 = t * m * n
    for (let p = 0; p < k; p++) {
      const a0 = (t * k + p) * m
      const b0 = (t * k + p) * n
      if (n === 1) {
        // A transposed matrix times a vector: four rows of A per pass over C, each entry's
        // terms still added one by one in the order of p.
        if (p + 3 < k) {
          const [b1, b2, b3] = [b[b0 + 1] as number, b[b0 + 2] as number, b[b0 + 3] as number]
          const [a1, a2, a3] = [a0 + m, a0 + 2 * m, a0 + 3 * m]
          const bp = b[b0] as number
          for (let i = 0; i < m; i++)
            c[c0 + i] =
              (c[c0 + i] as number) +
              (a[a0 + i] as number) * bp +
              (a[a1 + i] as number) * b1 +
              (a[a2 + i] as number) * b2 +
              (a[a3 + i] as number) * b3
          p += 3
          continue
        }
        const bp = b[b0] as number
        for (let i = 0; i < m; i++) c[c0 + i] = (c[c0 + i] as number) + (a[a0 + i] as number) * bp
        continue
      }
      for (let i = 0; i < m; i++) {
        const ai = a[a0 + i] as number
        const ci = c0 + i * n
        for (let j = 0; j < n; j++) c[ci + j] = (c[ci + j] as number) + ai * (b[b0 + j] as number)
      }
    }
  }
  return c
}

const isIdentity = (perm: ReadonlyArray<number>): boolean => perm.every((p, i) => p === i)

/** What the pairwise plan needs of an operand: its labels and how many entries it holds. */
export interface PlanOperand {
  readonly labels: ReadonlyArray<string>
  readonly entries: number
}

/** How two operands are contracted: which goes first, the axes' roles, the layout. */
export interface PairPlan<X extends PlanOperand> {
  readonly x: X
  readonly y: X
  readonly batch: ReadonlyArray<string>
  readonly inner: ReadonlyArray<string>
  readonly left: ReadonlyArray<string>
  readonly right: ReadonlyArray<string>
  /** The permutations of x and y into the kernel's layout. */
  readonly px: ReadonlyArray<number>
  readonly py: ReadonlyArray<number>
  /** The result's labels: batch, left, right. */
  readonly labels: ReadonlyArray<string>
  /** Summed axes first (rank-one updates) rather than last (dot products). */
  readonly innerFirst: boolean
}

/**
 * Plan the contraction of two operands keeping the labels in `keep` (`output` when the result is
 * the einsum's output): of the two orders and the two layouts, the one that moves the least data.
 * The cost model (cost.ts) uses the same plan, so that it counts what the evaluator does.
 */
export const planPair = <X extends PlanOperand>(
  x0: X,
  y0: X,
  keep: (label: string) => boolean,
  ext: (labels: ReadonlyArray<string>) => number,
  output: ReadonlyArray<string> | undefined,
): PairPlan<X> => {
  const plan = (x: X, y: X, outputOrder: boolean) => {
    const inY = new Set(y.labels)
    const inX = new Set(x.labels)
    const batch = x.labels.filter((l) => inY.has(l) && keep(l))
    const inner = x.labels.filter((l) => inY.has(l) && !keep(l))
    // The free labels in each operand's own order, or (outputOrder) in the output's, which
    // moves an operand but not the result.
    const free = (o: X, other: Set<string>) =>
      outputOrder && output !== undefined
        ? output.filter((l) => o.labels.includes(l) && !other.has(l))
        : o.labels.filter((l) => !other.has(l))
    const left = free(x, inY)
    const right = free(y, inX)
    const order = (ls: ReadonlyArray<string>, want: string[]) => want.map((l) => ls.indexOf(l))
    const labels = [...batch, ...left, ...right]
    const reorder = output !== undefined && labels.join(' ') !== output.join(' ') ? ext(labels) : 0
    // Two layouts: summed axes last (dot products, blocked in registers) or first (rank-one
    // updates along rows, about 4x slower per FLOP unless the result is a vector, where it is a
    // plain axpy). The estimate in dot-product FLOPs: the kernel's FLOPs, weighted, plus about 4
    // per entry moved.
    const flops = 2 * ext(batch) * ext(left) * ext(inner) * ext(right)
    const layout = (innerFirst: boolean) => {
      const px = order(
        x.labels,
        innerFirst ? [...batch, ...inner, ...left] : [...batch, ...left, ...inner],
      )
      const py = order(
        y.labels,
        innerFirst ? [...batch, ...inner, ...right] : [...batch, ...right, ...inner],
      )
      const moves = (isIdentity(px) ? 0 : x.entries) + (isIdentity(py) ? 0 : y.entries) + reorder
      const weight = innerFirst && ext(right) > 1 ? 4 : 1
      return {
        plan: { x, y, batch, inner, left, right, px, py, labels, innerFirst },
        moves: weight * flops + 4 * moves,
      }
    }
    const dots = layout(false)
    const updates = layout(true)
    return inner.length > 0 && updates.moves < dots.moves ? updates : dots
  }
  // The free labels in the output's order move an operand instead of the result, which is
  // cheaper when the result is larger than either operand: a convolution's input gradient
  // (`ocpq, abo -> abpqc`) moves its weights to `[o p q c]`, 1152 entries, not its result of
  // 590k (src/eval/evaluate.ts markViews). Not otherwise: the count of moves does not see that
  // the WebAssembly kernel reads some layouts in place (pairLayout), and the weight gradient
  // `apbqc, abo -> ocpq` would move its 590k-entry image to spare a 1152-entry result. Ties keep
  // the operands' own orders.
  const candidates = [plan(x0, y0, false), plan(y0, x0, false)]
  if (output !== undefined && ext(output) > Math.max(x0.entries, y0.entries))
    candidates.push(plan(x0, y0, true), plan(y0, x0, true))
  return candidates.reduce((best, c) => (c.moves < best.moves ? c : best)).plan
}

/**
 * The next pair to contract, greedily: the pair with the smallest joint index space, then the
 * smallest result. A label stays in the result when the output or a third operand has it. The
 * cost model (cost.ts) chooses with the same function.
 */
export const choosePair = (
  ops: ReadonlyArray<{ readonly labels: ReadonlyArray<string> }>,
  outSet: ReadonlySet<string>,
  ext: (labels: ReadonlyArray<string>) => number,
): readonly [number, number] => {
  let best: readonly [number, number] = [0, 1]
  let bestCost = Infinity
  let bestResult = Infinity
  // How many operands carry each label (counted once per step).
  const carriers = new Map<string, number>()
  for (const o of ops) for (const l of o.labels) carriers.set(l, (carriers.get(l) ?? 0) + 1)
  for (let i = 0; i < ops.length; i++)
    for (let j = i + 1; j < ops.length; j++) {
      const oi = ops[i] as { readonly labels: ReadonlyArray<string> }
      const oj = ops[j] as { readonly labels: ReadonlyArray<string> }
      const joint = [...new Set([...oi.labels, ...oj.labels])]
      const cost = ext(joint)
      const result = ext(
        joint.filter(
          (l) =>
            outSet.has(l) ||
            (carriers.get(l) ?? 0) -
              (oi.labels.includes(l) ? 1 : 0) -
              (oj.labels.includes(l) ? 1 : 0) >
              0,
        ),
      )
      if (cost < bestCost || (cost === bestCost && result < bestResult)) {
        best = [i, j]
        bestCost = cost
        bestResult = result
      }
    }
  return best
}

/** The layouts a pair's product runs in, and where. */
export interface PairLayout {
  /** The permutations of x and y into their layouts (no data moves when they keep the layout). */
  readonly px: ReadonlyArray<number>
  readonly py: ReadonlyArray<number>
  /**
   * When the product runs in the WebAssembly kernel (src/eval/wasm): where each permuted
   * operand's entries lie, lines (x's left labels, y's right labels) by summed steps.
   */
  readonly wasm?: { readonly x: OperandView; readonly y: OperandView }
}

/**
 * Labels as at most two strided runs, in row-major order of `labels`: `[s1, s0, n0]` (an index
 * i1 n0 + i0 lies at i1 s1 + i0 s0), or undefined when they need more. Labels of extent 1 are
 * left out, and a label merges into the one before it when the two are contiguous.
 */
const twoRuns = (
  labels: ReadonlyArray<string>,
  extent: (l: string) => number,
  stride: (l: string) => number,
): readonly [number, number, number] | undefined => {
  const runs = mergeRuns(labels.map((l) => ({ n: extent(l), s: stride(l) })))
  if (runs.length > 2) return undefined
  const [hi, lo] = runs.length === 2 ? runs : [{ n: 1, s: 0 }, runs[0] ?? { n: 1, s: 0 }]
  return [(hi as { s: number }).s, (lo as { s: number }).s, (lo as { n: number }).n]
}

/**
 * Where and in which layouts a planned pair is multiplied. The TypeScript kernels take the plan's
 * one layout for both operands. The WebAssembly kernel reads an operand where it lies when its
 * lines and its summed labels are each at most two strided runs (and there is no batch), as the
 * unfolded image of `conv2d` (`[yh kh yw kw c]`, lines yh yw, steps kh kw c); otherwise it takes
 * either dense layout of either operand, whichever needs no data movement, and transposes only
 * when neither does. The sums run over the summed labels in the same order in every case, so the
 * result is the same bit for bit. The cost model (cost.ts) asks the same, so that it counts what
 * the evaluator does.
 */
export const pairLayout = <X extends PlanOperand>(
  p: PairPlan<X>,
  extents: (labels: ReadonlyArray<string>) => number[],
): PairLayout => {
  const ext = (ls: ReadonlyArray<string>) => sizeOf(extents(ls))
  const [batch, m, k, n] = [ext(p.batch), ext(p.left), ext(p.inner), ext(p.right)]
  if (!wasmWanted(batch, m, k, n, p.innerFirst)) return { px: p.px, py: p.py }
  const choose = (
    labels: ReadonlyArray<string>,
    rest: ReadonlyArray<string>,
    planned: ReadonlyArray<number>,
  ): { perm: ReadonlyArray<number>; view: OperandView } => {
    const shape = extents(labels)
    const lines = ext(rest)
    const identity = labels.map((_, a) => a)
    if (batch === 1) {
      const strides = stridesOf(shape)
      const extent = (l: string) => shape[labels.indexOf(l)] as number
      const stride = (l: string) => strides[labels.indexOf(l)] as number
      const lineRuns = twoRuns(rest, extent, stride)
      const stepRuns = twoRuns(p.inner, extent, stride)
      if (lineRuns !== undefined && stepRuns !== undefined)
        return { perm: identity, view: { lines: lineRuns, steps: stepRuns } }
    }
    const order = (want: ReadonlyArray<string>) => want.map((l) => labels.indexOf(l))
    const options = [
      { perm: planned, stepsFirst: p.innerFirst },
      { perm: order([...p.batch, ...rest, ...p.inner]), stepsFirst: false },
      { perm: order([...p.batch, ...p.inner, ...rest]), stepsFirst: true },
    ]
    const o = options.find((c) => keepsLayout(shape, c.perm)) ?? (options[0] as (typeof options)[0])
    return { perm: o.perm, view: denseView(lines, k, o.stepsFirst) }
  }
  const x = choose(p.x.labels, p.left, p.px)
  const y = choose(p.y.labels, p.right, p.py)
  return { px: x.perm, py: y.perm, wasm: { x: x.view, y: y.view } }
}

/** An operand of the plan: its labels, each once, and its entries. */
interface Planned {
  readonly labels: ReadonlyArray<string>
  readonly entries: number
}

/** A sum over some axes of a tensor (`sumAxes`). */
interface AxisSum {
  readonly shape: ReadonlyArray<number>
  readonly summed: ReadonlyArray<boolean>
}

/** One pairwise product of a {@link Schedule}: operands i and j out, their product last in. */
interface PairStep {
  readonly i: number
  readonly j: number
  /** Whether the plan's first operand is j (the plan chose the other order). */
  readonly swapped: boolean
  readonly batch: number
  readonly m: number
  readonly k: number
  readonly n: number
  readonly xShape: ReadonlyArray<number>
  readonly yShape: ReadonlyArray<number>
  /** The TypeScript kernel's layouts and kernel. */
  readonly px: ReadonlyArray<number>
  readonly py: ReadonlyArray<number>
  readonly innerFirst: boolean
  /** The WebAssembly kernel's layouts and views, when it runs the product. */
  readonly wasm?: {
    readonly px: ReadonlyArray<number>
    readonly py: ReadonlyArray<number>
    readonly x: OperandView
    readonly y: OperandView
  }
}

/**
 * Every decision of one einsum at given extents, made before touching data: each operand's
 * diagonal and private sum, the pairwise products in order with their layouts and kernels, the
 * last sum, and the output's transpose or embedding. It depends only on the operands' labels, the
 * output, the extents and the kernel choice, so an einsum evaluated again at the same extents
 * (every evaluation of a compiled term) reuses it.
 */
/** A planned contraction ({@link contractionSchedule}). @internal */
export interface Schedule {
  /**
   * The direct loop nest (src/eval/direct.ts) when it runs the einsum instead of the pairwise
   * plan below (then empty).
   */
  readonly direct?: DirectLoop
  readonly prep: ReadonlyArray<{
    readonly diagonal?: { readonly shape: number[]; readonly strides: number[] }
    readonly sum?: AxisSum
  }>
  readonly pairs: ReadonlyArray<PairStep>
  readonly last?: AxisSum
  readonly final:
    | { readonly kind: 'permute'; readonly shape: number[]; readonly perm: number[] }
    | { readonly kind: 'embed'; readonly entries: number; readonly loops: EmbedLoop[] }
}

const planned = (labels: ReadonlyArray<string>, size: ReadonlyMap<string, number>): Planned => ({
  labels,
  entries: sizeOf(extentsOf(labels, size)),
})

/** The labels of `op` without those `summed`, and the sum that drops them (if any). */
const sumOut = (
  op: Planned,
  summed: ReadonlyArray<boolean>,
  size: ReadonlyMap<string, number>,
): { readonly op: Planned; readonly sum?: AxisSum } => {
  if (!summed.includes(true)) return { op }
  return {
    op: planned(
      op.labels.filter((_, a) => !summed[a]),
      size,
    ),
    sum: { shape: extentsOf(op.labels, size), summed },
  }
}

/**
 * Plan an einsum: diagonals of repeated labels and sums of the labels no one else needs first,
 * then pairwise contractions chosen greedily ({@link choosePair}), each planned by
 * {@link planPair} and {@link pairLayout}, then the last private sum and the output's layout.
 */
export const pairwiseSchedule = (
  operands: ReadonlyArray<ReadonlyArray<string>>,
  output: ReadonlyArray<string>,
  size: ReadonlyMap<string, number>,
): Schedule => {
  const outSet = new Set(output)
  const ext = (ls: ReadonlyArray<string>) => sizeOf(extentsOf(ls, size))
  const prep: Array<{ diagonal?: { shape: number[]; strides: number[] }; sum?: AxisSum }> = []
  // Take the diagonal of repeated labels, so that every label appears once.
  let ops: Planned[] = operands.map((all, i) => {
    const labels = [...new Set(all)]
    prep[i] = {}
    if (labels.length !== all.length) {
      const strides = stridesOf(extentsOf(all, size))
      const unique = labels.map((l) =>
        all.reduce((acc, m, a) => (m === l ? acc + (strides[a] as number) : acc), 0),
      )
      ;(prep[i] as { diagonal?: unknown }).diagonal = {
        shape: extentsOf(labels, size),
        strides: unique,
      }
    }
    return planned(labels, size)
  })
  // Sum out the labels that no one else needs.
  const uses = (label: string, except: number): boolean =>
    outSet.has(label) || ops.some((o, i) => i !== except && o.labels.includes(label))
  ops = ops.map((o, i) => {
    const r = sumOut(
      o,
      o.labels.map((l) => !uses(l, i)),
      size,
    )
    if (r.sum !== undefined) (prep[i] as { sum?: AxisSum }).sum = r.sum
    return r.op
  })
  const pairs: PairStep[] = []
  while (ops.length > 1) {
    const [i, j] = choosePair(ops, outSet, ext)
    const rest = ops.filter((_, t) => t !== i && t !== j)
    const keep = (l: string) => outSet.has(l) || rest.some((o) => o.labels.includes(l))
    const x0 = ops[i] as Planned
    const y0 = ops[j] as Planned
    const p = planPair(x0, y0, keep, ext, rest.length === 0 ? output : undefined)
    const layout = pairLayout(p, (ls) => extentsOf(ls, size))
    pairs.push({
      i,
      j,
      swapped: p.x !== x0,
      batch: ext(p.batch),
      m: ext(p.left),
      k: ext(p.inner),
      n: ext(p.right),
      xShape: extentsOf(p.x.labels, size),
      yShape: extentsOf(p.y.labels, size),
      px: p.px,
      py: p.py,
      innerFirst: p.innerFirst,
      ...(layout.wasm !== undefined
        ? { wasm: { px: layout.px, py: layout.py, x: layout.wasm.x, y: layout.wasm.y } }
        : {}),
    })
    ops = [...rest, planned([...p.labels], size)]
  }
  const lastSum = sumOut(
    ops[0] as Planned,
    (ops[0] as Planned).labels.map((l) => !outSet.has(l)),
    size,
  )
  const last = lastSum.op
  const outShape = extentsOf(output, size)
  const unique = [...outSet]
  const plain = unique.length === output.length && output.every((l) => last.labels.includes(l))
  let final: Schedule['final']
  if (plain)
    final = {
      kind: 'permute',
      shape: extentsOf(last.labels, size),
      perm: output.map((l) => last.labels.indexOf(l)),
    }
  else {
    const lastStrides = stridesOf(extentsOf(last.labels, size))
    const outStrides = stridesOf(outShape)
    final = {
      kind: 'embed',
      entries: sizeOf(outShape),
      loops: unique.map((l) => ({
        size: size.get(l) as number,
        src: last.labels.includes(l) ? (lastStrides[last.labels.indexOf(l)] as number) : 0,
        dst: output.reduce((acc, m, a) => (m === l ? acc + (outStrides[a] as number) : acc), 0),
      })),
    }
  }
  return { prep, pairs, ...(lastSum.sum !== undefined ? { last: lastSum.sum } : {}), final }
}

/** The FLOPs of a pairwise schedule: 2 per multiply-add of its products, 1 per entry summed. */
const pairwiseFlops = (s: Schedule): number => {
  let f = 0
  for (const p of s.prep) if (p.sum !== undefined) f += sizeOf(p.sum.shape)
  for (const p of s.pairs) f += 2 * p.batch * p.m * p.k * p.n
  if (s.last !== undefined) f += sizeOf(s.last.shape)
  return f
}

/**
 * Whether a pairwise product reuses its operands' entries (each entry of A read by several
 * columns of B and each of B by several rows of A, over a sum): a matrix product, which the
 * blocked kernels run faster than a loop nest. An outer product (nothing summed), an
 * element-wise product or a dot product (one row and one column) does not.
 */
const reuses = (p: PairStep): boolean => p.k > 1 && p.m > 1 && p.n > 1

/**
 * Whether an einsum of `q` operands runs as the direct loop nest of src/eval/direct.ts rather
 * than as `pairwise`: when it has two operands or more, does no more arithmetic that way (q FLOPs
 * a point of the joint index space: q - 1 products and an addition), and no pairwise product of
 * the schedule reuses its operands (there the blocked kernels are several times faster per
 * FLOP), and its innermost loop runs along the output (a summed innermost loop adds into one
 * accumulator, a chain of dependent additions that the pairwise kernels' several accumulators
 * run 2-3 times faster: `a b, b -> a` at 64 x 1024 took 239 µs directly, 92 µs pairwise). The
 * cost model (cost.ts) asks the same, through the schedule.
 */
const runsDirect = (d: DirectLoop, q: number, pairwise: Schedule): boolean =>
  q >= 2 &&
  d.out[d.out.length - 1] !== 0 &&
  directPoints(d) * q <= pairwiseFlops(pairwise) &&
  !pairwise.pairs.some(reuses)

let directOn = true

/** The kernel choices a schedule depends on, as a key. @internal */
export const planKernel = (): string => `${matmulKernel()}${directOn ? ' direct' : ''}`

/**
 * Whether einsums may run as direct loop nests ({@link runsDirect}), returning the previous
 * setting (tests and benchmarks compare the two plans). @internal
 */
export const setDirectEinsum = (on: boolean): boolean => {
  const old = directOn
  directOn = on
  return old
}

/**
 * Plan an einsum: the direct loop nest when {@link runsDirect}, else the pairwise schedule.
 */
const scheduleOf = (
  operands: ReadonlyArray<ReadonlyArray<string>>,
  output: ReadonlyArray<string>,
  size: ReadonlyMap<string, number>,
): Schedule => {
  const pairwise = pairwiseSchedule(operands, output, size)
  if (!directOn) return pairwise
  const direct = directLoop(operands, output, size)
  return runsDirect(direct, operands.length, pairwise)
    ? { direct, prep: [], pairs: [], final: pairwise.final }
    : pairwise
}

/** Run a planned pairwise product on its two operands. */
const runPair = (p: PairStep, x: Float64Array, y: Float64Array, alloc: Allocate): Float64Array => {
  if (p.wasm !== undefined) {
    const a = permute(x, p.xShape, p.wasm.px, alloc)
    const b = permute(y, p.yShape, p.wasm.py, alloc)
    const data = wasmBatchedMatmul(a, p.wasm.x, b, p.wasm.y, p.batch, p.m, p.k, p.n, alloc)
    if (data !== undefined) return data
  }
  const a = permute(x, p.xShape, p.px, alloc)
  const b = permute(y, p.yShape, p.py, alloc)
  const kernel = p.innerFirst ? batchedMatmulInnerFirst : batchedMatmul
  return kernel(a, b, p.batch, p.m, p.k, p.n, alloc)
}

/** Schedules by their operands' labels, output and extents (and the kernel choice). */
const schedules = new Map<string, Schedule>()

/** The most schedules kept; past it the cache starts again. */
const MAX_SCHEDULES = 4096

const scheduleKey = (
  labels: ReadonlyArray<ReadonlyArray<string>>,
  output: ReadonlyArray<string>,
  size: ReadonlyMap<string, number>,
): string => {
  let key = planKernel()
  for (const ls of labels) {
    key += '\u0002'
    for (const l of ls) key += `${l}\u0001${size.get(l) as number}\u0001`
  }
  key += '\u0003'
  for (const l of output) key += `${l}\u0001${size.get(l) as number}\u0001`
  return key
}

/**
 * The schedule of an einsum of operands labelled `labels` into `output` at the extents `size`,
 * under the current matmul kernel, planned once and remembered. A caller that evaluates one
 * einsum many times at the same extents may keep it and {@link runSchedule} it. @internal
 */
export const contractionSchedule = (
  labels: ReadonlyArray<ReadonlyArray<string>>,
  output: ReadonlyArray<string>,
  size: ReadonlyMap<string, number>,
): Schedule => {
  const key = scheduleKey(labels, output, size)
  let s = schedules.get(key)
  if (s === undefined) {
    s = scheduleOf(labels, output, size)
    if (schedules.size >= MAX_SCHEDULES) schedules.clear()
    schedules.set(key, s)
  }
  return s
}

/** Run a planned contraction on the operands' data, in the order of its labels. @internal */
export const runSchedule = (
  s: Schedule,
  operands: ReadonlyArray<Float64Array>,
  alloc: Allocate,
): Float64Array => {
  if (s.direct !== undefined) return runDirect(s.direct, operands, alloc)
  const last = beforeFinal(s, operands, alloc)
  return s.final.kind === 'permute'
    ? permute(last, s.final.shape, s.final.perm, alloc)
    : embed(last, s.final.entries, s.final.loops, alloc)
}

/**
 * {@link runSchedule} without its last transpose: the entries where the products leave them,
 * with the stride of every output axis, for a reader that takes a strided source (the transposed
 * convolution tensor after a convolution's input gradient, src/eval/evaluate.ts). The strides
 * are absent where the result is row-major anyway: the direct kernel's, or an embedding's
 * (repeated output labels). Every entry is the one `runSchedule` gives, bit for bit. @internal
 */
export const runScheduleView = (
  s: Schedule,
  operands: ReadonlyArray<Float64Array>,
  alloc: Allocate,
): { readonly data: Float64Array; readonly strides?: ReadonlyArray<number> } => {
  if (s.direct !== undefined || s.final.kind !== 'permute')
    return { data: runSchedule(s, operands, alloc) }
  const last = beforeFinal(s, operands, alloc)
  const { shape, perm } = s.final
  if (keepsLayout(shape, perm)) return { data: last }
  const strides = stridesOf(shape)
  return { data: last, strides: perm.map((p) => strides[p] as number) }
}

/** The pairwise plan's products and sums, up to the output's transpose or embedding. */
const beforeFinal = (
  s: Schedule,
  operands: ReadonlyArray<Float64Array>,
  alloc: Allocate,
): Float64Array => {
  let ds = operands.map((o, i) => {
    const prep = s.prep[i]
    let d = o
    if (prep?.diagonal !== undefined)
      d = gather(d, prep.diagonal.shape, prep.diagonal.strides, alloc)
    if (prep?.sum !== undefined) d = sumAxes(d, prep.sum.shape, prep.sum.summed, alloc)
    return d
  })
  for (const p of s.pairs) {
    const x = ds[p.swapped ? p.j : p.i] as Float64Array
    const y = ds[p.swapped ? p.i : p.j] as Float64Array
    const merged = runPair(p, x, y, alloc)
    ds = [...ds.filter((_, t) => t !== p.i && t !== p.j), merged]
  }
  const last = ds[0] as Float64Array
  return s.last !== undefined ? sumAxes(last, s.last.shape, s.last.summed, alloc) : last
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
): Float64Array =>
  runSchedule(
    contractionSchedule(
      operands.map((o) => o.labels),
      output,
      size,
    ),
    operands.map((o) => o.data),
    alloc,
  )
