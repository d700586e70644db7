/**
 * Strided copies of dense row-major tensors: the data movement under einsum and broadcasting.
 * Each loop keeps its innermost axis as a tight loop over a constant source stride; the outer
 * axes advance with an odometer once per inner run.
 *
 * @packageDocumentation
 * @internal
 */

/** Allocates a tensor, refusing sizes past the cap. */
export type Allocate = (entries: number, what: string) => Float64Array

/** Row-major strides of a shape. */
export const stridesOf = (shape: ReadonlyArray<number>): number[] => {
  const s = new Array<number>(shape.length)
  let acc = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc
    acc *= shape[i] as number
  }
  return s
}

/** The number of entries of a shape. */
export const sizeOf = (shape: ReadonlyArray<number>): number => {
  let n = 1
  for (const e of shape) n *= e
  return n
}

/** One loop over a strided source: its extent and its source stride. */
export interface SourceLoop {
  readonly n: number
  readonly s: number
}

/**
 * The same walk over fewer loops: loops of extent 1 dropped, and a loop merged into the one
 * before it when the two are contiguous in the source (`before.s === l.s * l.n`).
 */
export const mergeRuns = (loops: ReadonlyArray<SourceLoop>): SourceLoop[] => {
  const out: SourceLoop[] = []
  for (const l of loops) {
    if (l.n === 1) continue
    const last = out[out.length - 1]
    if (last !== undefined && last.s === l.s * l.n)
      out[out.length - 1] = { n: last.n * l.n, s: l.s }
    else out.push(l)
  }
  return out
}

/**
 * Gather `out[i] = src[offset(i)]` over an output of shape `shape`, where the source offset of
 * output index i is `Σ i_a * srcStrides[a]` (a stride may be 0 to repeat, or a sum of strides to
 * walk a diagonal).
 */
export const gather = (
  src: Float64Array,
  shape: ReadonlyArray<number>,
  srcStrides: ReadonlyArray<number>,
  alloc: Allocate,
): Float64Array => {
  const n = sizeOf(shape)
  const out = alloc(n, 'a strided copy')
  if (n === 0) return out
  // The same copy on fewer axes (they are always contiguous in the output).
  const runs = mergeRuns(shape.map((e, a) => ({ n: e, s: srcStrides[a] as number })))
  const dims = runs.map((r) => r.n)
  const strides = runs.map((r) => r.s)
  const rank = dims.length
  if (rank === 0) {
    out[0] = src[0] as number
    return out
  }
  // A transpose (the innermost axis strided, another contiguous in the source): copied in square
  // tiles, so that both the source lines and the output lines of a tile stay in cache.
  const unit = strides.lastIndexOf(1)
  if (unit >= 0 && unit < rank - 1) return transposeTiles(src, out, dims, strides, unit)
  const inner = dims[rank - 1] as number
  const innerStride = strides[rank - 1] as number
  const idx = new Array<number>(rank - 1).fill(0)
  let base = 0
  let o = 0
  for (;;) {
    if (innerStride === 1) {
      for (let j = 0; j < inner; j++) out[o + j] = src[base + j] as number
    } else {
      for (let j = 0, s = base; j < inner; j++, s += innerStride) out[o + j] = src[s] as number
    }
    o += inner
    // Advance the odometer over the outer axes.
    let a = rank - 2
    while (a >= 0) {
      const next = (idx[a] as number) + 1
      base += strides[a] as number
      if (next < (dims[a] as number)) {
        idx[a] = next
        break
      }
      base -= next * (strides[a] as number)
      idx[a] = 0
      a--
    }
    if (a < 0) return out
  }
}

const TILE = 16

/**
 * {@link gather} of a transpose: axis `unit` has source stride 1, the last axis a stride `sv`.
 * For every index of the other axes (an odometer over both offsets), the `unit` by last-axis
 * block is copied tile by tile.
 */
const transposeTiles = (
  src: Float64Array,
  out: Float64Array,
  dims: ReadonlyArray<number>,
  strides: ReadonlyArray<number>,
  unit: number,
): Float64Array => {
  const rank = dims.length
  const outStrides = stridesOf(dims)
  const nu = dims[unit] as number
  const nv = dims[rank - 1] as number
  const sv = strides[rank - 1] as number
  const ou = outStrides[unit] as number
  const outer = dims.map((_, a) => a).filter((a) => a !== unit && a !== rank - 1)
  const idx = outer.map(() => 0)
  let base = 0
  let o = 0
  for (;;) {
    for (let i0 = 0; i0 < nu; i0 += TILE) {
      const i1 = Math.min(nu, i0 + TILE)
      for (let j0 = 0; j0 < nv; j0 += TILE) {
        const j1 = Math.min(nv, j0 + TILE)
        for (let i = i0; i < i1; i++) {
          const oi = o + i * ou
          for (let j = j0, s = base + i + j0 * sv; j < j1; j++, s += sv)
            out[oi + j] = src[s] as number
        }
      }
    }
    let t = outer.length - 1
    while (t >= 0) {
      const a = outer[t] as number
      const next = (idx[t] as number) + 1
      base += strides[a] as number
      o += outStrides[a] as number
      if (next < (dims[a] as number)) {
        idx[t] = next
        break
      }
      base -= next * (strides[a] as number)
      o -= next * (outStrides[a] as number)
      idx[t] = 0
      t--
    }
    if (t < 0) return out
  }
}

/**
 * Whether the transpose by `perm` leaves the data where it is: moving axes of extent 1 does not
 * move data, so it is the identity when the other axes keep their order.
 */
export const keepsLayout = (shape: ReadonlyArray<number>, perm: ReadonlyArray<number>): boolean => {
  const moved = perm.filter((p) => (shape[p] as number) !== 1)
  return moved.every((p, i) => i === 0 || (moved[i - 1] as number) < p)
}

/** Transpose: `out` has axes `perm` of `shape` (out axis a is source axis perm[a]). */
export const permute = (
  src: Float64Array,
  shape: ReadonlyArray<number>,
  perm: ReadonlyArray<number>,
  alloc: Allocate,
): Float64Array => {
  if (keepsLayout(shape, perm)) return src
  const strides = stridesOf(shape)
  return gather(
    src,
    perm.map((p) => shape[p] as number),
    perm.map((p) => strides[p] as number),
    alloc,
  )
}

/**
 * Sum a tensor over a set of its axes: the result keeps the other axes in order.
 */
export const sumAxes = (
  src: Float64Array,
  shape: ReadonlyArray<number>,
  summed: ReadonlyArray<boolean>,
  alloc: Allocate,
): Float64Array => {
  const keep: number[] = []
  const drop: number[] = []
  shape.forEach((_, a) => (summed[a] ? drop : keep).push(a))
  if (drop.length === 0) return src
  const leading = drop.every((a, i) => a === i)
  if (leading) {
    // The summed axes lead (a bias's gradient, Σ over the rows): whole rows are added in turn,
    // each entry's terms in the same order as the general path below, without a transpose.
    const rows = sizeOf(drop.map((a) => shape[a] as number))
    const n = sizeOf(keep.map((a) => shape[a] as number))
    const out = alloc(n, 'a sum over axes')
    for (let i = 0, s = 0; i < rows; i++)
      for (let j = 0; j < n; j++, s++) out[j] = (out[j] as number) + (src[s] as number)
    return out
  }
  const moved = permute(src, shape, [...keep, ...drop], alloc)
  const block = sizeOf(drop.map((a) => shape[a] as number))
  const n = sizeOf(keep.map((a) => shape[a] as number))
  const out = alloc(n, 'a sum over axes')
  for (let i = 0, s = 0; i < n; i++) {
    let acc = 0
    for (let j = 0; j < block; j++, s++) acc += moved[s] as number
    out[i] = acc
  }
  return out
}

/** One loop of {@link embed}: its extent and its strides in the source and the result. */
export interface EmbedLoop {
  readonly size: number
  readonly src: number
  readonly dst: number
}

/**
 * Write entries of `src` into a zero tensor of `entries` entries: every point of the loops' index
 * space copies `src[Σ i·src]` to `out[Σ i·dst]`. A source stride of 0 spreads a constant; a
 * destination stride that sums several result strides writes a diagonal.
 */
export const embed = (
  src: Float64Array,
  entries: number,
  loops: ReadonlyArray<EmbedLoop>,
  alloc: Allocate,
): Float64Array => {
  const out = alloc(entries, 'an embedding')
  if (loops.some((l) => l.size === 0)) return out
  // Loops of extent 1 move nothing; the innermost of the others runs as a tight loop (a spread
  // of one source entry when its source stride is 0), the outer ones as an odometer once per
  // run. The points are visited in the same order as one odometer over all loops, so where two
  // land on one entry the same one is written last.
  const ls = loops.filter((l) => l.size !== 1)
  const rank = ls.length
  if (rank === 0) {
    out[0] = src[0] as number
    return out
  }
  const { size: n, src: ss, dst: ds } = ls[rank - 1] as EmbedLoop
  const idx = new Array<number>(rank - 1).fill(0)
  let s = 0
  let d = 0
  for (;;) {
    if (ss === 0) {
      const v = src[s] as number
      for (let k = 0, o = d; k < n; k++, o += ds) out[o] = v
    } else for (let k = 0, i = s, o = d; k < n; k++, i += ss, o += ds) out[o] = src[i] as number
    let a = rank - 2
    while (a >= 0) {
      const l = ls[a] as EmbedLoop
      const next = (idx[a] as number) + 1
      s += l.src
      d += l.dst
      if (next < l.size) {
        idx[a] = next
        break
      }
      s -= next * l.src
      d -= next * l.dst
      idx[a] = 0
      a--
    }
    if (a < 0) return out
  }
}
