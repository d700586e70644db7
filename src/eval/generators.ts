/**
 * The numeric meaning of generators (`src/core/generator.ts`): a supplied implementation per
 * generator name, or a seeded random interpretation of the declared linearity, deterministic given
 * the generator (name, types, linearity), the sizes and the seed:
 *
 * - linear `F : A_1 × … × A_n -> B_1 × … × B_m`: `y_j = Σ_i M_ji x_i`, random matrices `M_ji`;
 * - multilinear: `y_j[b] = Σ T_j[b, a_1, …, a_n] x_1[a_1] ⋯ x_n[a_n]`, random tensors `T_j`;
 * - nonlinear: `y_j = tanh(Σ_i W_ji x_i + c_j)`, a smooth map of random `W_ji` and `c_j`.
 *
 * So the derived forms have exact values: `Fᵀ` is the transpose of the matrices (of `T_j` in one
 * slot for a multilinear F), the tangent map of a nonlinear F is `dx ↦ (1 - y_j²) ⊙ Σ_i W_ji dx_i`
 * and its transpose `ȳ ↦ Σ_j W_jiᵀ ((1 - y_j²) ⊙ ȳ_j)`.
 *
 * For a supplied implementation, `Fᵀ` of a linear F (and the transpose of a multilinear F in one
 * slot) is computed from `apply` on the basis vectors when no `transpose` is given, which is exact
 * for a linear implementation; the tangent map needs `tangent`, and its transpose `cotangent` or,
 * failing that, `tangent` on the basis vectors. A derived form whose implementation is missing is
 * refused before any work: never a guessed derivative.
 *
 * @packageDocumentation
 */
import { type Sizes, dimSize } from '../core/dim.js'
import { fail } from '../core/errors.js'
import type { Generator } from '../core/term.js'
import { type TupleType, showType } from '../core/types.js'
import { seededRandom } from './random.js'
import type { Allocate } from './strided.js'

/** Row-major data of tensors, as an implementation takes and gives them. */
export type Tensors = ReadonlyArray<Float64Array>

/** What an implementation is told at each application. */
export interface GeneratorCall {
  /** The sizes of the evaluation. */
  readonly sizes: Sizes
  /** The axis extents of each input segment of the generator F (at these sizes). */
  readonly dom: ReadonlyArray<ReadonlyArray<number>>
  /** The axis extents of each output segment of F. */
  readonly cod: ReadonlyArray<ReadonlyArray<number>>
}

/** An implementation of a generator F, by name in `EvalOptions.generators`. */
export interface GeneratorImplementation {
  /** F on one tuple of inputs: one tensor per output segment (any numeric array). */
  readonly apply: (inputs: Tensors, call: GeneratorCall) => ReadonlyArray<ArrayLike<number>>
  /** A nonlinear F: the tangent `DF(x)·dx` (needed by `D(F)`, `jvp`, `vjp` and `grad`). */
  readonly tangent?: (
    points: Tensors,
    tangents: Tensors,
    call: GeneratorCall,
  ) => ReadonlyArray<ArrayLike<number>>
  /** A nonlinear F: `DF(x)ᵀ ȳ` (else computed from `tangent` on the basis vectors). */
  readonly cotangent?: (
    points: Tensors,
    cotangents: Tensors,
    call: GeneratorCall,
  ) => ReadonlyArray<ArrayLike<number>>
  /** A linear F: `Fᵀ ȳ` (else computed from `apply` on the basis vectors). */
  readonly transpose?: (
    cotangents: Tensors,
    call: GeneratorCall,
  ) => ReadonlyArray<ArrayLike<number>>
}

/** An implementation, or just its `apply`. */
export type GeneratorLike =
  | GeneratorImplementation
  | ((inputs: Tensors, call: GeneratorCall) => ReadonlyArray<ArrayLike<number>>)

/** One application of a generator node: its inputs to its outputs (unbatched). */
export type Applied = (inputs: Tensors) => Float64Array[]

/** A 32-bit FNV-1a hash. */
const hash32 = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0
  return h
}

const where = (g: Generator): string =>
  `generator '${g.name}' : ${showType(g.from)} -> ${showType(g.to)}`

const extentsOf = (t: TupleType, sizes: Sizes): number[][] =>
  t.map((s) => s.map((d) => dimSize(d, sizes)))

const product = (xs: ReadonlyArray<number>): number => xs.reduce((n, x) => n * x, 1)

/** `M x` for `M : m × n` row-major. */
const matVec = (
  M: Float64Array,
  m: number,
  n: number,
  x: Float64Array,
  out: Float64Array,
): void => {
  for (let r = 0; r < m; r++) {
    let s = 0
    for (let c = 0; c < n; c++) s += (M[r * n + c] as number) * (x[c] as number)
    out[r] = (out[r] as number) + s
  }
}

/** `Mᵀ y` for `M : m × n` row-major, added into out (length n). */
const matTVec = (
  M: Float64Array,
  m: number,
  n: number,
  y: Float64Array,
  out: Float64Array,
): void => {
  for (let r = 0; r < m; r++) {
    const yr = y[r] as number
    if (yr === 0) continue
    for (let c = 0; c < n; c++) out[c] = (out[c] as number) + (M[r * n + c] as number) * yr
  }
}

/**
 * Contract a row-major tensor of the given extents with a vector on every axis but `free`, added
 * into out (length `extents[free]`).
 */
const contractAllBut = (
  T: Float64Array,
  extents: ReadonlyArray<number>,
  vectors: ReadonlyArray<Float64Array | undefined>,
  free: number,
  out: Float64Array,
): void => {
  const k = extents.length
  const idx = new Array<number>(k).fill(0)
  for (let e = 0; e < T.length; e++) {
    let w = T[e] as number
    for (let a = 0; a < k && w !== 0; a++)
      if (a !== free) w *= (vectors[a] as Float64Array)[idx[a] as number] as number
    const f = idx[free] as number
    out[f] = (out[f] as number) + w
    for (let a = k - 1; a >= 0; a--) {
      idx[a] = (idx[a] as number) + 1
      if ((idx[a] as number) < (extents[a] as number)) break
      idx[a] = 0
    }
  }
}

/**
 * The seeded random interpretation of a generator node: deterministic given the generator's
 * name, declared linearity, types, the sizes and the seed.
 */
const randomInterpretation = (
  g: Generator,
  sizes: Sizes,
  seed: number,
  alloc: Allocate,
): Applied => {
  const ins = extentsOf(g.from, sizes)
  const outs = extentsOf(g.to, sizes)
  const n = ins.map(product)
  const m = outs.map(product)
  const key = JSON.stringify([
    g.name,
    g.declared,
    showType(g.from),
    showType(g.to),
    ins,
    outs,
    seed,
  ])
  const next = seededRandom(hash32(key))
  const uniform = (length: number, scale: number, what: string): Float64Array => {
    const a = alloc(length, what)
    for (let i = 0; i < length; i++) a[i] = scale * (2 * next() - 1)
    return a
  }
  const fanIn = Math.max(
    1,
    n.reduce((s, x) => s + x, 0),
  )
  if (g.declared === 'multilinear') {
    const scale = 1 / Math.sqrt(Math.max(1, product(n)))
    const T = m.map((mj) =>
      uniform(mj * product(n), scale, `the random tensor of generator '${g.name}'`),
    )
    const extents = m.map((mj) => [mj, ...n])
    if (g.form === 'map')
      return (xs) =>
        m.map((mj, j) => {
          const out = alloc(mj, 'a generator output')
          contractAllBut(T[j] as Float64Array, extents[j] as number[], [undefined, ...xs], 0, out)
          return out
        })
    const slot = g.slot as number
    return (args) => {
      const others = args.slice(0, n.length - 1)
      const cots = args.slice(n.length - 1)
      const vectors = [...others.slice(0, slot), undefined, ...others.slice(slot)]
      const out = alloc(n[slot] as number, 'a generator output')
      m.forEach((_, j) =>
        contractAllBut(
          T[j] as Float64Array,
          extents[j] as number[],
          [cots[j] as Float64Array, ...vectors],
          slot + 1,
          out,
        ),
      )
      return [out]
    }
  }
  const scale = 1 / Math.sqrt(fanIn)
  const M = m.map((mj) =>
    n.map((ni) => uniform(mj * ni, scale, `the random matrix of generator '${g.name}'`)),
  )
  const c = g.declared === 'nonlinear' ? m.map((mj) => uniform(mj, 0.5, 'a generator bias')) : []
  const linearPart = (xs: Tensors): Float64Array[] =>
    m.map((mj, j) => {
      const out = alloc(mj, 'a generator output')
      n.forEach((ni, i) => matVec(M[j]?.[i] as Float64Array, mj, ni, xs[i] as Float64Array, out))
      return out
    })
  const transposedPart = (ys: Tensors): Float64Array[] =>
    n.map((ni, i) => {
      const out = alloc(ni, 'a generator output')
      m.forEach((mj, j) => matTVec(M[j]?.[i] as Float64Array, mj, ni, ys[j] as Float64Array, out))
      return out
    })
  if (g.declared === 'linear') return g.form === 'map' ? linearPart : transposedPart
  const values = (xs: Tensors): Float64Array[] =>
    linearPart(xs).map((z, j) => {
      const cj = c[j] as Float64Array
      for (let r = 0; r < z.length; r++) z[r] = Math.tanh((z[r] as number) + (cj[r] as number))
      return z
    })
  /** `(1 - y²) ⊙ v`, in place on v. */
  const slope = (y: Float64Array, v: Float64Array): Float64Array => {
    for (let r = 0; r < v.length; r++) v[r] = (1 - (y[r] as number) ** 2) * (v[r] as number)
    return v
  }
  switch (g.form) {
    case 'map':
      return values
    case 'tangent':
      return (args) => {
        const y = values(args.slice(0, n.length))
        return linearPart(args.slice(n.length)).map((v, j) => slope(y[j] as Float64Array, v))
      }
    case 'cotangent':
      return (args) => {
        const y = values(args.slice(0, n.length))
        const ybar = args
          .slice(n.length)
          .map((v, j) => slope(y[j] as Float64Array, Float64Array.from(v)))
        return transposedPart(ybar)
      }
    case 'transpose':
    default:
      // The constructor refuses the transpose of a nonlinear generator.
      return fail('internal', `evaluate: ${where(g)} has no ${g.form} form`, {
        expected: 'map, tangent or cotangent of a nonlinear generator',
        got: g.form,
      })
  }
}

/** The outputs of an implementation, checked and copied (never the implementation's memory). */
const checked = (
  g: Generator,
  what: string,
  got: ReadonlyArray<ArrayLike<number>>,
  lengths: ReadonlyArray<number>,
): Float64Array[] => {
  if (!Array.isArray(got) || got.length !== lengths.length)
    fail(
      'bad-input',
      `evaluate: the ${what} of ${where(g)} gave ${Array.isArray(got) ? got.length : 'no array of'} tensor(s)`,
      {
        expected: `${lengths.length} tensors of ${lengths.join(', ')} entries`,
        got: Array.isArray(got) ? `${got.length} tensors` : typeof got,
      },
    )
  return got.map((x, j) => {
    if (x === null || typeof x !== 'object' || x.length !== lengths[j])
      fail(
        'bad-input',
        `evaluate: output ${j} of the ${what} of ${where(g)} has the wrong length`,
        {
          expected: `${lengths[j]} entries`,
          got: x === null || typeof x !== 'object' ? typeof x : `${x.length} entries`,
        },
      )
    return Float64Array.from(x)
  })
}

/** Basis vectors: `f` applied with a one-hot vector at each entry of a segment of `k` entries. */
const onBasis = (k: number, f: (e: Float64Array) => Float64Array[]): Float64Array[][] =>
  Array.from({ length: k }, (_, r) => {
    const e = new Float64Array(k)
    e[r] = 1
    return f(e)
  })

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number)
  return s
}

/** `x̄[r] = Σ_j <columns[r][j], ȳ_j>`: the transpose from the images of the basis vectors. */
const transposeBy = (columns: Float64Array[][], ybar: Tensors): Float64Array =>
  Float64Array.from(columns, (col) =>
    col.reduce((s, v, j) => s + dot(v, ybar[j] as Float64Array), 0),
  )

/** A supplied implementation at one generator node. */
const implemented = (g: Generator, impl: GeneratorLike, sizes: Sizes): Applied => {
  const full: GeneratorImplementation = typeof impl === 'function' ? { apply: impl } : impl
  const dom = extentsOf(g.from, sizes)
  const cod = extentsOf(g.to, sizes)
  const call: GeneratorCall = { sizes, dom, cod }
  const n = dom.map(product)
  const m = cod.map(product)
  const apply = (xs: Tensors): Float64Array[] =>
    checked(g, 'implementation', full.apply(xs, call), m)
  switch (g.form) {
    case 'map':
      return apply
    case 'transpose': {
      if (g.slot !== undefined) {
        const slot = g.slot
        return (args) => {
          const others = args.slice(0, n.length - 1)
          const ybar = args.slice(n.length - 1)
          const columns = onBasis(n[slot] as number, (e) =>
            apply([...others.slice(0, slot), e, ...others.slice(slot)]),
          )
          return [transposeBy(columns, ybar)]
        }
      }
      const t = full.transpose
      if (t !== undefined) return (ys) => checked(g, 'transpose', t(ys, call), n)
      // F is linear: its matrix, once, from the images of the basis vectors.
      let columns: Float64Array[][][] | undefined
      return (ys) => {
        columns ??= n.map((ni, i) =>
          onBasis(ni, (e) => apply(n.map((nk, k) => (k === i ? e : new Float64Array(nk))))),
        )
        return (columns as Float64Array[][][]).map((cols) => transposeBy(cols, ys))
      }
    }
    case 'tangent': {
      const d = full.tangent
      if (d === undefined) return missing(g, 'tangent')
      return (args) =>
        checked(g, 'tangent', d(args.slice(0, n.length), args.slice(n.length), call), m)
    }
    case 'cotangent': {
      const ct = full.cotangent
      if (ct !== undefined)
        return (args) =>
          checked(g, 'cotangent', ct(args.slice(0, n.length), args.slice(n.length), call), n)
      const d = full.tangent
      if (d === undefined) return missing(g, 'cotangent')
      return (args) => {
        const x = args.slice(0, n.length)
        const ybar = args.slice(n.length)
        return n.map((ni, i) => {
          const columns = onBasis(ni, (e) =>
            checked(
              g,
              'tangent',
              d(
                x,
                n.map((nk, k) => (k === i ? e : new Float64Array(nk))),
                call,
              ),
              m,
            ),
          )
          return transposeBy(columns, ybar)
        })
      }
    }
    default:
      return g.form satisfies never
  }
}

const missing = (g: Generator, what: 'tangent' | 'cotangent'): never =>
  fail(
    'bad-input',
    `evaluate: the implementation of ${where(g)} has no ${what === 'tangent' ? 'tangent' : 'tangent or cotangent'}`,
    {
      expected: `generators['${g.name}'].${what === 'tangent' ? 'tangent' : 'cotangent (or tangent)'}: its derivative is needed`,
      got: 'an implementation with apply only',
      hint: 'give tangent: (x, dx, call) => DF(x)·dx, or leave the generator out to use its random interpretation',
    },
  )

/**
 * The map one application of a generator node computes: its implementation from `generators`
 * (by name), or its random interpretation under `seed`. Refuses a derived form the
 * implementation cannot give.
 *
 * @internal
 */
export const generatorApplication = (
  g: Generator,
  sizes: Sizes,
  generators: Readonly<Record<string, GeneratorLike>>,
  seed: number,
  alloc: Allocate,
): Applied => {
  const impl = Object.prototype.hasOwnProperty.call(generators, g.name)
    ? generators[g.name]
    : undefined
  return impl === undefined
    ? randomInterpretation(g, sizes, seed, alloc)
    : implemented(g, impl, sizes)
}
