/**
 * Numeric kernels of the named primitives, on dense row-major float64 data. Each acts on the last
 * axis (or on every entry) and treats all leading axes as independent rows, so the evaluator can
 * run them on batched data unchanged.
 *
 * @packageDocumentation
 * @internal
 */
import { absurd } from '../core/errors.js'
import type { AxisOpName, ScalarOp, Term } from '../core/term.js'
import type { Allocate } from './strided.js'

/**
 * The error function, to full double precision: its Taylor series below 3, the continued fraction
 * of erfc above (Abramowitz and Stegun 7.1.5 and 7.1.14).
 */
export const erf = (x: number): number => {
  const ax = Math.abs(x)
  if (ax < 3) {
    let term = ax
    let sum = ax
    const x2 = ax * ax
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n
      const add = term / (2 * n + 1)
      sum += add
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break
    }
    const r = (2 / Math.sqrt(Math.PI)) * sum
    return x < 0 ? -r : r
  }
  // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))), evaluated bottom-up.
  let f = ax
  for (let n = 60; n >= 1; n--) f = ax + n / 2 / f
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f
  return x < 0 ? erfc - 1 : 1 - erfc
}

/** A unary scalar function. */
export const unaryFunction = (op: ScalarOp, factor: number): ((v: number) => number) => {
  switch (op) {
    case 'relu':
      // As mapUnary, np.maximum and torch.relu: NaN stays NaN (`v > 0 ? v : 0` gave 0).
      return (v) => Math.max(v, 0)
    case 'gelu':
      return (v) => 0.5 * v * (1 + erf(v / Math.SQRT2))
    case 'exp':
      return Math.exp
    case 'log':
      return Math.log
    case 'tanh':
      return Math.tanh
    case 'sigmoid':
      return (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)))
    case 'sqrt':
      return Math.sqrt
    case 'reciprocal':
      // Numbers are reals (README, "Number semantics"): -0 is 0, so 1/±0 is +∞ (`v + 0` is +0
      // for v = -0). It is the one primitive whose IEEE result would show the sign of a zero.
      return (v) => 1 / (v + 0)
    case 'step':
      return (v) => (v > 0 ? 1 : 0)
    case 'normcdf':
      return (v) => 0.5 * (1 + erf(v / Math.SQRT2))
    case 'offset':
      return (v) => v + factor
    case 'scale':
      return (v) => factor * v
    case 'add':
    case 'mul':
      throw new Error(`${op} is binary`)
    default:
      return absurd(op)
  }
}

/**
 * Apply a unary function to every entry. Each op has its own loop, calling its function directly:
 * one loop calling whichever closure `unaryFunction` returned is a call site that sees every op,
 * which V8 cannot inline (`exp` ran at about 35 ns an entry that way, 5 ns in its own loop). The
 * entries are those of `unaryFunction(op, factor)`, bit for bit.
 */
export const mapUnary = (
  src: Float64Array,
  op: ScalarOp,
  factor: number,
  alloc: Allocate,
): Float64Array => {
  const out = alloc(src.length, op)
  const n = src.length
  switch (op) {
    case 'relu':
      for (let i = 0; i < n; i++) out[i] = Math.max(src[i] as number, 0)
      break
    case 'scale':
      for (let i = 0; i < n; i++) out[i] = factor * (src[i] as number)
      break
    case 'offset':
      for (let i = 0; i < n; i++) out[i] = (src[i] as number) + factor
      break
    case 'exp':
      for (let i = 0; i < n; i++) out[i] = Math.exp(src[i] as number)
      break
    case 'log':
      for (let i = 0; i < n; i++) out[i] = Math.log(src[i] as number)
      break
    case 'tanh':
      for (let i = 0; i < n; i++) out[i] = Math.tanh(src[i] as number)
      break
    case 'sqrt':
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(src[i] as number)
      break
    case 'reciprocal':
      for (let i = 0; i < n; i++) out[i] = 1 / ((src[i] as number) + 0)
      break
    case 'step':
      for (let i = 0; i < n; i++) out[i] = (src[i] as number) > 0 ? 1 : 0
      break
    case 'sigmoid':
      for (let i = 0; i < n; i++) {
        const v = src[i] as number
        out[i] = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v))
      }
      break
    case 'gelu':
      for (let i = 0; i < n; i++) {
        const v = src[i] as number
        out[i] = 0.5 * v * (1 + erf(v / Math.SQRT2))
      }
      break
    case 'normcdf':
      for (let i = 0; i < n; i++) out[i] = 0.5 * (1 + erf((src[i] as number) / Math.SQRT2))
      break
    case 'add':
    case 'mul':
      throw new Error(`${op} is binary`)
    default:
      return absurd(op)
  }
  return out
}

/**
 * Entry-wise `a + b` or `a · b` of two arrays of one length. The product is strict in zero
 * (README, "Number semantics"): `0 · v = 0` for every `v`, `±∞` and NaN included, where IEEE
 * gives NaN. Every tangent rule of `jvp` multiplies the tangent by the slope with `mul`, so a
 * zero tangent stays zero where the slope is infinite (`sqrt'(0) · 0 = 0`): the derivative is a
 * linear map, and a linear map sends 0 to 0.
 */
export const mapBinary = (
  a: Float64Array,
  b: Float64Array,
  op: 'add' | 'mul',
  alloc: Allocate,
): Float64Array => {
  const out = alloc(a.length, op)
  if (op === 'add') for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) + (b[i] as number)
  else
    for (let i = 0; i < a.length; i++) {
      const x = a[i] as number
      const y = b[i] as number
      const p = x * y
      // A NaN product with a zero factor is 0 · ∞ or 0 · NaN: zero is absorbing.
      out[i] = p === p || (x !== 0 && y !== 0) ? p : 0
    }
  return out
}

/** An operation on the last axis (of length `n`) of every row. */
export const axisKernel = (
  src: Float64Array,
  n: number,
  op: AxisOpName,
  epsilon: number,
  alloc: Allocate,
): Float64Array => {
  const rows = src.length / n
  const reduces = op === 'max' || op === 'mean'
  const out = alloc(reduces ? rows : src.length, op)
  if (op === 'argmax') {
    for (let r = 0; r < rows; r++) {
      const o = r * n
      let at = 0
      for (let j = 1; j < n; j++) if ((src[o + j] as number) > (src[o + at] as number)) at = j
      out[o + at] = 1
    }
    return out
  }
  for (let r = 0; r < rows; r++) {
    const o = r * n
    switch (op) {
      case 'max': {
        let m = -Infinity
        for (let j = 0; j < n; j++) m = Math.max(m, src[o + j] as number)
        out[r] = m
        break
      }
      case 'mean': {
        let s = 0
        for (let j = 0; j < n; j++) s += src[o + j] as number
        out[r] = s / n
        break
      }
      case 'softmax': {
        let m = -Infinity
        for (let j = 0; j < n; j++) m = Math.max(m, src[o + j] as number)
        let s = 0
        for (let j = 0; j < n; j++) {
          const e = Math.exp((src[o + j] as number) - m)
          out[o + j] = e
          s += e
        }
        for (let j = 0; j < n; j++) out[o + j] = (out[o + j] as number) / s
        break
      }
      case 'layerNorm': {
        let s = 0
        for (let j = 0; j < n; j++) s += src[o + j] as number
        const mu = s / n
        let v = 0
        for (let j = 0; j < n; j++) v += ((src[o + j] as number) - mu) ** 2
        const inv = 1 / Math.sqrt(v / n + epsilon)
        for (let j = 0; j < n; j++) out[o + j] = ((src[o + j] as number) - mu) * inv
        break
      }
      default:
        return absurd(op)
    }
  }
  return out
}

/** The entry at `at` of every row of length `n`. */
export const indexKernel = (
  src: Float64Array,
  n: number,
  at: number,
  alloc: Allocate,
): Float64Array => {
  const rows = src.length / n
  const out = alloc(rows, 'index')
  for (let r = 0; r < rows; r++) out[r] = src[r * n + at] as number
  return out
}

/** The one-hot embedding: every entry placed at `at` of a row of length `n`, zeros elsewhere. */
export const oneHotKernel = (
  src: Float64Array,
  n: number,
  at: number,
  alloc: Allocate,
): Float64Array => {
  const out = alloc(src.length * n, 'oneHot')
  for (let r = 0; r < src.length; r++) out[r * n + at] = src[r] as number
  return out
}

/** The crop, the transpose of padding: the middle `n` entries of every row. */
export const cropKernel = (
  src: Float64Array,
  n: number,
  before: number,
  after: number,
  alloc: Allocate,
): Float64Array => {
  const m = n + before + after
  const rows = src.length / m
  const out = alloc(rows * n, 'crop')
  for (let r = 0; r < rows; r++) out.set(src.subarray(r * m + before, r * m + before + n), r * n)
  return out
}

/** Every row of length `n` padded with zeros. */
export const padKernel = (
  src: Float64Array,
  n: number,
  before: number,
  after: number,
  alloc: Allocate,
): Float64Array => {
  const rows = src.length / n
  const m = n + before + after
  const out = alloc(rows * m, 'pad')
  for (let r = 0; r < rows; r++) out.set(src.subarray(r * n, r * n + n), r * m + before)
  return out
}

/** The convolution tensor on every row of length `x` (eq. 4): `out[i, j] = in[s i + d j]`. */
export const convKernel = (
  src: Float64Array,
  x: number,
  y: number,
  k: number,
  stride: number,
  dilation: number,
  alloc: Allocate,
): Float64Array => {
  const rows = src.length / x
  const out = alloc(rows * y * k, 'convTensor')
  for (let r = 0; r < rows; r++) {
    const s0 = r * x
    const o0 = r * y * k
    for (let i = 0; i < y; i++)
      for (let j = 0; j < k; j++)
        out[o0 + i * k + j] = src[s0 + stride * i + dilation * j] as number
  }
  return out
}

/**
 * The transposed convolution tensor on every row of `y·k` entries: `out[s i + d j] += in[i, j]`
 * (the adjoint of {@link convKernel}).
 */
export const convAdjointKernel = (
  src: Float64Array,
  x: number,
  y: number,
  k: number,
  stride: number,
  dilation: number,
  alloc: Allocate,
): Float64Array => {
  const rows = src.length / (y * k)
  const out = alloc(rows * x, 'convTensorAdjoint')
  for (let r = 0; r < rows; r++) {
    const s0 = r * y * k
    const o0 = r * x
    for (let i = 0; i < y; i++)
      for (let j = 0; j < k; j++)
        out[o0 + stride * i + dilation * j] =
          (out[o0 + stride * i + dilation * j] as number) + (src[s0 + i * k + j] as number)
  }
  return out
}

/**
 * Rows joined end to end: row r of the output is row r of every source in turn (`lengths[i]`
 * the row length of source i; every source has the same number of rows).
 */
export const concatKernel = (
  sources: ReadonlyArray<Float64Array>,
  lengths: ReadonlyArray<number>,
  alloc: Allocate,
): Float64Array => {
  const m = lengths.reduce((a, b) => a + b, 0)
  const rows = (sources[0] as Float64Array).length / (lengths[0] as number)
  const out = alloc(rows * m, 'concat')
  let offset = 0
  sources.forEach((src, i) => {
    const n = lengths[i] as number
    for (let r = 0; r < rows; r++) out.set(src.subarray(r * n, r * n + n), r * m + offset)
    offset += n
  })
  return out
}

/** Every row cut into consecutive pieces of `lengths`: the transpose of {@link concatKernel}. */
export const splitKernel = (
  src: Float64Array,
  lengths: ReadonlyArray<number>,
  alloc: Allocate,
): Float64Array[] => {
  const m = lengths.reduce((a, b) => a + b, 0)
  const rows = src.length / m
  let offset = 0
  return lengths.map((n) => {
    const out = alloc(rows * n, 'split')
    for (let r = 0; r < rows; r++) out.set(src.subarray(r * m + offset, r * m + offset + n), r * n)
    offset += n
    return out
  })
}

/**
 * The axis maps above on an axis followed by a contiguous block of `block` entries (the layout
 * of a broadcast placed after the axis, `broadcast(f, axes, { at: 'last' })`): each entry of
 * the one-axis kernel becomes a block, so the broadcast needs no transpose in or out. Rows are
 * the leading `rows` slices; `x` and the output extents as in the one-axis kernels.
 */
const copyBlock = (
  src: Float64Array,
  from: number,
  out: Float64Array,
  to: number,
  block: number,
): void => {
  if (block >= 64) out.set(src.subarray(from, from + block), to)
  else for (let t = 0; t < block; t++) out[to + t] = src[from + t] as number
}

/** {@link convKernel} with a block after the axis: `out[r, i, j, :] = in[r, s i + d j, :]`. */
export const convBlockKernel = (
  src: Float64Array,
  x: number,
  y: number,
  k: number,
  stride: number,
  dilation: number,
  block: number,
  alloc: Allocate,
): Float64Array => {
  const rows = src.length / (x * block)
  const out = alloc(rows * y * k * block, 'convTensor')
  for (let r = 0; r < rows; r++) {
    const s0 = r * x * block
    let o = r * y * k * block
    for (let i = 0; i < y; i++)
      for (let j = 0; j < k; j++, o += block)
        copyBlock(src, s0 + (stride * i + dilation * j) * block, out, o, block)
  }
  return out
}

/**
 * {@link convAdjointKernel} with a block after the axes: `out[r, s i + d j, :] += in[r, i, j, :]`
 * (the sums in the order of i, then j, as there).
 */
export const convAdjointBlockKernel = (
  src: Float64Array,
  x: number,
  y: number,
  k: number,
  stride: number,
  dilation: number,
  block: number,
  alloc: Allocate,
): Float64Array => {
  const rows = src.length / (y * k * block)
  const out = alloc(rows * x * block, 'convTensorAdjoint')
  for (let r = 0; r < rows; r++) {
    let s = r * y * k * block
    const o0 = r * x * block
    for (let i = 0; i < y; i++)
      for (let j = 0; j < k; j++, s += block) {
        const o = o0 + (stride * i + dilation * j) * block
        for (let t = 0; t < block; t++) out[o + t] = (out[o + t] as number) + (src[s + t] as number)
      }
  }
  return out
}

/** {@link padKernel} with a block after the axis: `n` blocks padded with zero blocks. */
export const padBlockKernel = (
  src: Float64Array,
  n: number,
  before: number,
  after: number,
  block: number,
  alloc: Allocate,
): Float64Array => {
  const rows = src.length / (n * block)
  const m = n + before + after
  const out = alloc(rows * m * block, 'pad')
  for (let r = 0; r < rows; r++)
    out.set(src.subarray(r * n * block, (r + 1) * n * block), (r * m + before) * block)
  return out
}

/** {@link cropKernel} with a block after the axis: the middle `n` blocks of every row. */
export const cropBlockKernel = (
  src: Float64Array,
  n: number,
  before: number,
  after: number,
  block: number,
  alloc: Allocate,
): Float64Array => {
  const m = n + before + after
  const rows = src.length / (m * block)
  const out = alloc(rows * n * block, 'crop')
  for (let r = 0; r < rows; r++)
    out.set(src.subarray((r * m + before) * block, (r * m + before + n) * block), r * n * block)
  return out
}

/**
 * Whether the evaluator runs a broadcast with a block kernel on its input's own layout: a pad,
 * crop, convolution tensor or its transpose broadcast after its axes (`{ at: 'last' }`, both in
 * and out). The cost model (src/cost) asks the same, so that it counts what the evaluator does.
 */
export const isBlockBroadcast = (t: Extract<Term, { kind: 'broadcast' }>): boolean =>
  (t.body.kind === 'pad' || t.body.kind === 'convTensor') &&
  t.inputs[0] === t.body.dom[0]?.length &&
  t.outputs[0] === t.body.cod[0]?.length
