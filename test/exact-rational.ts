/**
 * An exact evaluator over the rationals (BigInt numerator and denominator), for the terms whose
 * meaning is rational in their inputs: structure, broadcasts (by their index definition, paper
 * Fig. 13, 14, independently of the evaluator's batching), einsums, add, mul, scale (by integer
 * powers of sizes), offset, relu, step, mean, max, argmax, index, view, pad, the convolution
 * tensor, concat, zero, param, and linear and multilinear generators (their random
 * interpretations' coefficients read exactly from the evaluator on basis vectors: a product with
 * 1 or 0 and a sum with zeros is exact). Anything else throws {@link Unsupported}.
 * Float64 values are dyadic rationals, so the inputs are taken exactly.
 */
import { type Sizes, type Term, dimSize, evaluate, jvp, shapeSize } from '../src/index.js'
import type { Shape } from '../src/core/types.js'

export class Unsupported extends Error {}

/** A rational number n/d, d > 0. */
export interface Q {
  readonly n: bigint
  readonly d: bigint
}

const gcd = (a: bigint, b: bigint): bigint => {
  a = a < 0n ? -a : a
  b = b < 0n ? -b : b
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}

const norm = (n: bigint, d: bigint): Q => {
  if (d < 0n) [n, d] = [-n, -d]
  const g = gcd(n, d)
  return g > 1n ? { n: n / g, d: d / g } : { n, d }
}

export const ZERO: Q = { n: 0n, d: 1n }
export const ONE: Q = { n: 1n, d: 1n }
export const qadd = (a: Q, b: Q): Q =>
  a.d === b.d ? norm(a.n + b.n, a.d) : norm(a.n * b.d + b.n * a.d, a.d * b.d)
export const qsub = (a: Q, b: Q): Q => qadd(a, { n: -b.n, d: b.d })
export const qmul = (a: Q, b: Q): Q =>
  a.n === 0n || b.n === 0n ? ZERO : norm(a.n * b.n, a.d * b.d)
export const qcmp = (a: Q, b: Q): number => {
  const x = a.n * b.d - b.n * a.d
  return x < 0n ? -1 : x > 0n ? 1 : 0
}
export const qabs = (a: Q): Q => (a.n < 0n ? { n: -a.n, d: a.d } : a)

/** The exact value of a finite float64. */
export const ofFloat = (x: number): Q => {
  if (!Number.isFinite(x)) throw new Unsupported(`not finite: ${x}`)
  if (x === 0) return ZERO
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, x)
  const hi = view.getUint32(0)
  const lo = view.getUint32(4)
  const sign = hi >>> 31 === 1 ? -1n : 1n
  const exp = (hi >>> 20) & 0x7ff
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo)
  let e: number
  if (exp === 0) e = -1074
  else {
    mant |= 1n << 52n
    e = exp - 1075
  }
  return e >= 0 ? { n: sign * (mant << BigInt(e)), d: 1n } : norm(sign * mant, 1n << BigInt(-e))
}

type T = Q[]

interface Ctx {
  readonly sizes: Sizes
  readonly params: Readonly<Record<string, Float64Array>>
  readonly seed: number
}

const product = (xs: ReadonlyArray<number>): number => xs.reduce((n, x) => n * x, 1)
const ext = (ctx: Ctx, s: Shape): number[] => s.map((d) => dimSize(d, ctx.sizes))

const split = <A>(xs: ReadonlyArray<A>, lengths: ReadonlyArray<number>): A[][] => {
  const out: A[][] = []
  let at = 0
  for (const n of lengths) {
    out.push(xs.slice(at, at + n))
    at += n
  }
  return out
}

/** The exact outputs of a term (throws Unsupported outside the rational fragment). */
export const exactEvaluate = (
  term: Term,
  sizes: Sizes,
  inputs: ReadonlyArray<Float64Array>,
  params: Readonly<Record<string, Float64Array>> = {},
  generatorSeed = 0,
): T[] =>
  run(
    term,
    { sizes, params, seed: generatorSeed },
    inputs.map((x) => [...x].map(ofFloat)),
  )

const run = (t: Term, ctx: Ctx, ins: T[]): T[] => {
  switch (t.kind) {
    case 'id':
      return ins
    case 'seq':
      return t.parts.reduce((vs, p) => run(p, ctx, vs), ins)
    case 'par': {
      const groups = split(
        ins,
        t.parts.map((p) => p.dom.length),
      )
      return t.parts.flatMap((p, i) => run(p, ctx, groups[i] as T[]))
    }
    case 'swap':
      return [...ins.slice(t.left.length), ...ins.slice(0, t.left.length)]
    case 'copy':
      return [...ins, ...ins]
    case 'drop':
      return []
    case 'box':
      return run(t.body, ctx, ins)
    case 'derivative':
      return run(jvp(t.body), ctx, ins)
    case 'view':
      return ins
    case 'zero':
      return t.type.map((s) => Array.from({ length: shapeSize(s, ctx.sizes) }, () => ZERO))
    case 'param':
      return [[...(ctx.params[t.name] as Float64Array)].map(ofFloat)]
    case 'broadcast': {
      const p = product(ext(ctx, t.axes))
      const outs: T[] = t.body.cod.map((s) =>
        Array.from({ length: shapeSize(s, ctx.sizes) * p }, () => ZERO),
      )
      const layout = (s: Shape, at: number) => {
        const e = ext(ctx, s)
        return { m: product(e.slice(0, at)), q: product(e.slice(at)) }
      }
      for (let i = 0; i < p; i++) {
        const slices = ins.map((x, s) => {
          const at = t.inputs[s] as number | 'shared'
          if (at === 'shared') return x
          const { m, q } = layout(t.body.dom[s] as Shape, at)
          const out: T = []
          for (let a = 0; a < m; a++)
            for (let c = 0; c < q; c++) out.push(x[a * p * q + i * q + c] as Q)
          return out
        })
        run(t.body, ctx, slices).forEach((y, j) => {
          const { m, q } = layout(t.body.cod[j] as Shape, t.outputs[j] as number)
          for (let a = 0; a < m; a++)
            for (let c = 0; c < q; c++) (outs[j] as T)[a * p * q + i * q + c] = y[a * q + c] as Q
        })
      }
      return outs
    }
    case 'scalar': {
      const [a, b] = ins as [T, T | undefined]
      switch (t.op) {
        case 'add':
          return [a.map((v, i) => qadd(v, (b as T)[i] as Q))]
        case 'mul':
          return [a.map((v, i) => qmul(v, (b as T)[i] as Q))]
        case 'scale': {
          let c = ofFloat(t.factor)
          if (t.bySize !== undefined) {
            const n = BigInt(dimSize(t.bySize.dim, ctx.sizes))
            const k = t.bySize.power
            if (!Number.isInteger(k)) throw new Unsupported('a non-integer power of a size')
            const pow = n ** BigInt(Math.abs(k))
            c = qmul(c, k >= 0 ? { n: pow, d: 1n } : { n: 1n, d: pow })
          }
          return [a.map((v) => qmul(c, v))]
        }
        case 'offset': {
          const c = ofFloat(t.factor)
          return [a.map((v) => qadd(v, c))]
        }
        case 'relu':
          return [a.map((v) => (v.n > 0n ? v : ZERO))]
        case 'step':
          return [a.map((v) => (v.n > 0n ? ONE : ZERO))]
        case 'exp':
        case 'gelu':
        case 'log':
        case 'normcdf':
        case 'reciprocal':
        case 'sigmoid':
        case 'sqrt':
        case 'tanh':
          throw new Unsupported(t.op)
      }
    }
    case 'axisOp': {
      const x = ins[0] as T
      const n = dimSize(t.axis, ctx.sizes)
      const rows = x.length / n
      const out: T = []
      for (let r = 0; r < rows; r++) {
        const row = x.slice(r * n, (r + 1) * n)
        switch (t.op) {
          case 'mean':
            out.push(qmul(row.reduce(qadd, ZERO), { n: 1n, d: BigInt(n) }))
            break
          case 'max':
            out.push(row.reduce((m, v) => (qcmp(v, m) > 0 ? v : m)))
            break
          case 'argmax': {
            let at = 0
            row.forEach((v, j) => {
              if (qcmp(v, row[at] as Q) > 0) at = j
            })
            row.forEach((_, j) => out.push(j === at ? ONE : ZERO))
            break
          }
          case 'layerNorm':
          case 'softmax':
            throw new Unsupported(t.op)
        }
      }
      return [out]
    }
    case 'index': {
      const x = ins[0] as T
      const n = dimSize(t.axis, ctx.sizes)
      if (t.adjoint === true)
        return [x.flatMap((v) => Array.from({ length: n }, (_, j) => (j === t.at ? v : ZERO)))]
      return [Array.from({ length: x.length / n }, (_, r) => x[r * n + t.at] as Q)]
    }
    case 'pad': {
      const x = ins[0] as T
      const n = dimSize(t.axis, ctx.sizes)
      const m = n + t.before + t.after
      if (t.adjoint === true) {
        const rows = x.length / m
        return [
          Array.from(
            { length: rows * n },
            (_, e) => x[Math.floor(e / n) * m + t.before + (e % n)] as Q,
          ),
        ]
      }
      const rows = x.length / n
      const out: T = Array.from({ length: rows * m }, () => ZERO)
      x.forEach((v, e) => (out[Math.floor(e / n) * m + t.before + (e % n)] = v))
      return [out]
    }
    case 'convTensor': {
      const x = ins[0] as T
      const xs = dimSize(t.input, ctx.sizes)
      const k = dimSize(t.kernel, ctx.sizes)
      const y = dimSize((t.adjoint === true ? t.dom : t.cod)[0]?.[0] as never, ctx.sizes)
      if (t.adjoint === true) {
        const rows = x.length / (y * k)
        const out: T = Array.from({ length: rows * xs }, () => ZERO)
        for (let r = 0; r < rows; r++)
          for (let i = 0; i < y; i++)
            for (let j = 0; j < k; j++) {
              const at = r * xs + t.stride * i + t.dilation * j
              out[at] = qadd(out[at] as Q, x[r * y * k + i * k + j] as Q)
            }
        return [out]
      }
      const rows = x.length / xs
      const out: T = []
      for (let r = 0; r < rows; r++)
        for (let i = 0; i < y; i++)
          for (let j = 0; j < k; j++) out.push(x[r * xs + t.stride * i + t.dilation * j] as Q)
      return [out]
    }
    case 'concat': {
      const lengths = t.pieces.map((d) => dimSize(d, ctx.sizes))
      const m = lengths.reduce((a, b) => a + b, 0)
      if (t.adjoint === true) {
        const x = ins[0] as T
        const rows = x.length / m
        let offset = 0
        return lengths.map((n) => {
          const out: T = []
          for (let r = 0; r < rows; r++)
            for (let c = 0; c < n; c++) out.push(x[r * m + offset + c] as Q)
          offset += n
          return out
        })
      }
      const rows = (ins[0] as T).length / (lengths[0] as number)
      const out: T = []
      for (let r = 0; r < rows; r++)
        ins.forEach((x, i) => {
          const n = lengths[i] as number
          for (let c = 0; c < n; c++) out.push(x[r * n + c] as Q)
        })
      return [out]
    }
    case 'einsum':
      return [einsum(t, ctx, ins)]
    case 'generator':
      return generator(t, ctx, ins)
    default:
      return t satisfies never
  }
}

/** Every assignment of every label: the product of the operands, added at the output index. */
const einsum = (t: Extract<Term, { kind: 'einsum' }>, ctx: Ctx, ins: T[]): T => {
  const labels = [...new Set([...t.inputs.flat(), ...t.output])]
  const size = new Map(labels.map((l) => [l, dimSize(t.dims[l] as never, ctx.sizes)]))
  const flat = (ls: ReadonlyArray<string>, at: Map<string, number>) =>
    ls.reduce((acc, l) => acc * (size.get(l) as number) + (at.get(l) as number), 0)
  const out: T = Array.from(
    { length: product(t.output.map((l) => size.get(l) as number)) },
    () => ZERO,
  )
  const at = new Map(labels.map((l) => [l, 0]))
  const total = product(labels.map((l) => size.get(l) as number))
  for (let e = 0; e < total; e++) {
    let rest = e
    for (let i = labels.length - 1; i >= 0; i--) {
      const l = labels[i] as string
      at.set(l, rest % (size.get(l) as number))
      rest = Math.floor(rest / (size.get(l) as number))
    }
    let v = ONE
    t.inputs.forEach((ls, i) => (v = qmul(v, (ins[i] as T)[flat(ls, at)] as Q)))
    const o = flat(t.output, at)
    out[o] = qadd(out[o] as Q, v)
  }
  return out
}

/**
 * A linear or multilinear generator: multilinear in groups of its arguments (a linear map is
 * one group of all of them; the transpose of a multilinear map in a slot has the other inputs
 * and then the cotangents as one group), its coefficients read from the evaluator on basis
 * tuples, which it computes exactly.
 */
const generator = (g: Extract<Term, { kind: 'generator' }>, ctx: Ctx, ins: T[]): T[] => {
  if (g.declared === 'nonlinear') throw new Unsupported('a nonlinear generator')
  const lengths = g.dom.map((s) => shapeSize(s, ctx.sizes))
  const idx = lengths.map((_, i) => i)
  const groups: number[][] =
    g.declared === 'linear'
      ? [idx]
      : g.form === 'map'
        ? idx.map((i) => [i])
        : [...idx.slice(0, g.from.length - 1).map((i) => [i]), idx.slice(g.from.length - 1)]
  const groupSize = groups.map((gr) => gr.reduce((s, i) => s + (lengths[i] as number), 0))
  const count = product(groupSize)
  if (count > 4096) throw new Unsupported('too many basis tuples')
  const outs: T[] = g.cod.map((s) => Array.from({ length: shapeSize(s, ctx.sizes) }, () => ZERO))
  for (let e = 0; e < count; e++) {
    let rest = e
    const pick = groupSize.map(() => 0)
    for (let k = groups.length - 1; k >= 0; k--) {
      pick[k] = rest % (groupSize[k] as number)
      rest = Math.floor(rest / (groupSize[k] as number))
    }
    const args = lengths.map((n) => new Float64Array(n))
    let weight = ONE
    groups.forEach((gr, k) => {
      let at = pick[k] as number
      for (const i of gr) {
        if (at < (lengths[i] as number)) {
          ;(args[i] as Float64Array)[at] = 1
          weight = qmul(weight, (ins[i] as T)[at] as Q)
          break
        }
        at -= lengths[i] as number
      }
    })
    if (weight.n === 0n) continue
    const ys = evaluate(g, ctx.sizes, args, {}, { generatorSeed: ctx.seed })
    ys.forEach((y, j) =>
      y.forEach(
        (v, r) => ((outs[j] as T)[r] = qadd((outs[j] as T)[r] as Q, qmul(weight, ofFloat(v)))),
      ),
    )
  }
  return outs
}
