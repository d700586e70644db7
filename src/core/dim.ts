/**
 * Dims: the sizes of axes (wires). A dim is a named size variable, optionally with a concrete
 * default; terms are polymorphic in dims and evaluation binds them. Derived dims name sizes that
 * follow from others: a tandem product (`a = 4 x 2`, paper Fig. 11), a padded axis, and the output
 * axis of a convolution (paper eq. 5).
 *
 * @packageDocumentation
 */
import { TermError, absurd, fail } from './errors.js'
import { isSealed, sealData } from './frozen.js'

/** Documentation mark of an axis: a width (an amount of things, overlined) or a depth. */
export type Mark = 'width' | 'depth'

/** A named size variable. */
export interface DimVar {
  readonly kind: 'var'
  readonly name: string
  /** A concrete default size, used when evaluation does not bind the name. */
  readonly size?: number
  readonly mark?: Mark
}

/** A fixed size, such as the 1-length axis. */
export interface DimConst {
  readonly kind: 'const'
  readonly value: number
}

/** Tandem axes acting as one (paper Fig. 11): the size is the product of the factors. */
export interface DimProduct {
  readonly kind: 'product'
  readonly factors: ReadonlyArray<Dim>
}

/** An axis padded with zeros: size `base + before + after`. */
export interface DimPadded {
  readonly kind: 'padded'
  readonly base: Dim
  readonly before: number
  readonly after: number
}

/** The output axis of a convolution (paper eq. 5): `floor((x - d (k - 1) - 1) / s + 1)`. */
export interface DimConv {
  readonly kind: 'conv'
  readonly input: Dim
  readonly kernel: Dim
  readonly stride: number
  readonly dilation: number
}

/** An axis cropped at both ends: size `base - before - after`, at least 1 (`crop` of any axis). */
export interface DimCropped {
  readonly kind: 'cropped'
  readonly base: Dim
  readonly before: number
  readonly after: number
}

/** Axes joined end to end (`concat`): the size is the sum of the parts. */
export interface DimSum {
  readonly kind: 'sum'
  readonly parts: ReadonlyArray<Dim>
}

/**
 * The output axis of a transposed convolution built from its input (blocks) axis, before its
 * padding is cropped: `(y - 1) s + d (k - 1) + 1 + op`, `op` the output padding (zeros at the end).
 * A transposed convolution with padding `p` crops `p` at both ends of it (PyTorch's
 * `ConvTranspose`: `(y - 1) s - 2 p + d (k - 1) + op + 1`).
 */
export interface DimConvT {
  readonly kind: 'convT'
  readonly input: Dim
  readonly kernel: Dim
  readonly stride: number
  readonly dilation: number
  readonly outputPadding: number
}

/**
 * A derived dim given a name by the caller (the `ȳ` of a strided convolution): it is its
 * derivation (equal to it, compared by it) and prints by its name; evaluation refuses a size
 * bound to the name that contradicts the derivation.
 */
export interface DimNamed {
  readonly kind: 'named'
  readonly name: string
  readonly of: Dim
}

/** A size: a variable, a constant, or derived from other sizes. */
export type Dim =
  DimVar | DimConst | DimProduct | DimPadded | DimConv | DimCropped | DimSum | DimConvT | DimNamed

/** The kinds of dims. */
export const DIM_KINDS: ReadonlyArray<Dim['kind']> = Object.freeze([
  'var',
  'const',
  'product',
  'padded',
  'conv',
  'cropped',
  'sum',
  'convT',
  'named',
])

/** A binding of dim names to sizes, as given to the evaluator. */
export type Sizes = Readonly<Record<string, number>>

const NAME = /^[A-Za-z_][A-Za-z0-9_']*$/

const isNatural = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0
const isPositive = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1

/** A short description of a value that came where something else was expected. @internal */
export const describeValue = (x: unknown): string => {
  if (x === undefined) return 'undefined'
  if (x === null) return 'null'
  if (typeof x === 'string') return JSON.stringify(x)
  if (typeof x === 'number' || typeof x === 'boolean') return String(x)
  if (Array.isArray(x)) return `an array of ${x.length}`
  if (typeof x === 'object') {
    const kind = (x as { kind?: unknown }).kind
    return typeof kind === 'string' ? `an object of kind '${kind}'` : 'an object without a kind'
  }
  return typeof x
}

/**
 * Refuse, with a {@link TermError} naming the argument, a value that is not a positive integer.
 * @internal
 */
export const checkPositive = (n: unknown, where: string, what: string): number => {
  if (!isPositive(n))
    fail('bad-argument', `${where}: ${what} must be a positive integer`, {
      expected: `${what}: an integer >= 1`,
      got: describeValue(n),
    })
  return n as number
}

/**
 * Refuse, with a {@link TermError} naming the argument, a value that is not an integer >= 0.
 * @internal
 */
export const checkNatural = (n: unknown, where: string, what: string): number => {
  if (!isNatural(n))
    fail('bad-argument', `${where}: ${what} must be an integer >= 0`, {
      expected: `${what}: an integer >= 0`,
      got: describeValue(n),
    })
  return n as number
}

/**
 * A named size variable.
 *
 * @example
 * ```ts
 * import { dim, showDim } from 'neural-circuit-diagrams'
 * const y = dim('y', { size: 7, mark: 'width' })
 * showDim(y) // 'y'
 * ```
 */
export const dim = (name: string, options: { size?: number; mark?: Mark } = {}): DimVar => {
  const key =
    typeof name === 'string' && (typeof options.size === 'number' || options.size === undefined)
      ? `${name}\u0000${String(options.size)}\u0000${String(options.mark)}`
      : undefined
  const known = key === undefined ? undefined : interned.get(key)
  if (known !== undefined) return known
  const made = makeDim(name, options)
  if (key !== undefined) {
    // Equal variable dims are one frozen object (decoding 10^5 segments of [h a] makes two).
    if (interned.size >= INTERNED_MAX) interned.clear()
    interned.set(key, made)
  }
  return made
}

/** Variable dims made so far, by name, size and mark (bounded: cleared when full). */
const interned = new Map<string, DimVar>()
const INTERNED_MAX = 4096

const makeDim = (name: string, options: { size?: number; mark?: Mark }): DimVar => {
  if (typeof name !== 'string' || !NAME.test(name))
    fail(
      'bad-dim',
      `dim: ${typeof name === 'string' ? `'${name}'` : describeValue(name)} is not a dim name`,
      {
        expected:
          'a name such as y, x2 or k_h (letters, digits, _ and ′, not starting with a digit)',
        got: describeValue(name),
      },
    )
  if (options.size !== undefined && !isPositive(options.size))
    fail('bad-dim', `dim: the default size of '${name}' must be a positive integer`, {
      expected: 'an integer >= 1',
      got: String(options.size),
    })
  if (options.mark !== undefined && options.mark !== 'width' && options.mark !== 'depth')
    fail('bad-dim', `dim: the mark of '${name}' must be 'width' or 'depth'`, {
      expected: "'width' or 'depth'",
      got: describeValue(options.mark),
    })
  return sealData({
    kind: 'var' as const,
    name,
    ...(options.size !== undefined ? { size: options.size } : {}),
    ...(options.mark !== undefined ? { mark: options.mark } : {}),
  })
}

/**
 * A fixed size.
 *
 * @example
 * ```ts
 * import { constDim, showDim } from 'neural-circuit-diagrams'
 * showDim(constDim(1)) // '1'
 * ```
 */
export const constDim = (value: number): DimConst => {
  if (!isPositive(value))
    fail('bad-dim', 'constDim: a fixed size must be a positive integer', {
      expected: 'an integer >= 1',
      got: describeValue(value),
    })
  return sealData({ kind: 'const' as const, value })
}

/** A named dim's derivation; any other dim as it is. @internal */
export const unnamed = (d: Dim): Dim => (d.kind === 'named' ? unnamed(d.of) : d)

/**
 * Tandem axes as one axis (paper Fig. 11, "a = 4 x 2"). Nested products are flattened, fixed
 * factors are multiplied into one, written first, and ones are dropped, so that `(2*h*2)`,
 * `(h*4)` and `(4*h)` are one dim.
 *
 * @example
 * ```ts
 * import { dim, dimProduct, showDim } from 'neural-circuit-diagrams'
 * showDim(dimProduct(dim('h'), dim('w'))) // '(h*w)'
 * showDim(dimProduct('h', 2, 2)) // '(4*h)'
 * ```
 */
export const dimProduct = (...factors: ReadonlyArray<DimLike | number>): Dim => {
  const flat: Dim[] = []
  let constant = 1
  for (const f0 of factors) {
    const f = unnamed(typeof f0 === 'number' ? constDim(f0) : readDim(f0, 'dimProduct: a factor'))
    for (const g of f.kind === 'product' ? f.factors : [f]) {
      if (g.kind === 'const') constant *= g.value
      else flat.push(g)
    }
  }
  if (constant !== 1) flat.unshift(constDim(constant))
  if (flat.length === 0) return constDim(1)
  if (flat.length === 1) return sealData(flat[0] as Dim)
  return sealData({ kind: 'product' as const, factors: flat })
}

/**
 * A dim as `base + offset` where it is padded or cropped (and `offset` 0 otherwise): the sizes
 * agree for every binding. @internal
 */
const offsetView = (d: Dim): { readonly base: Dim; readonly offset: number } => {
  if (d.kind === 'padded') {
    const v = offsetView(d.base)
    return { base: v.base, offset: v.offset + d.before + d.after }
  }
  if (d.kind === 'cropped') {
    const v = offsetView(d.base)
    return { base: v.base, offset: v.offset - d.before - d.after }
  }
  return { base: d, offset: 0 }
}

/**
 * The size of an axis after zero padding. A dim padded or cropped is `base + n` whatever the
 * split of n between the ends: `pad(pad(x,1,0),0,1)` is `pad(x,1,1)`, `pad(crop(x,1,1),1,1)` is
 * `x`, and `pad(x,1,1)` equals `pad(x,2,0)` (their keys are `(x+2)`). @internal (built by `pad`)
 */
export const dimPadded = (base0: DimLike, before: number, after: number): Dim => {
  const base = readDim(base0, 'dimPadded: the base')
  if (!isNatural(before) || !isNatural(after))
    fail('bad-argument', 'pad: padding amounts must be integers >= 0', {
      expected: 'before >= 0 and after >= 0, integers',
      got: `before = ${describeValue(before)}, after = ${describeValue(after)}`,
    })
  const b = unnamed(base)
  if (before === 0 && after === 0) return sealData(base)
  if (b.kind === 'const') return constDim(b.value + before + after)
  if (b.kind === 'padded') return dimPadded(b.base, b.before + before, b.after + after)
  if (b.kind === 'cropped') return offsetDim(b.base, before + after - b.before - b.after)
  return sealData({ kind: 'padded' as const, base: b, before, after })
}

/** `base + n` as a padding (n > 0), a crop (n < 0) or `base` itself. */
const offsetDim = (base: Dim, n: number): Dim =>
  n === 0 ? base : n > 0 ? dimPadded(base, n, 0) : dimCropped(base, -n, 0)

/**
 * The size of an axis cropped at both ends, `base - before - after` (evaluation refuses a crop
 * that leaves nothing). A crop that undoes a padding (the same total) gives the unpadded dim back.
 *
 * @example
 * ```ts
 * import { dim, dimCropped, dimPadded, showDim } from 'neural-circuit-diagrams'
 * showDim(dimCropped(dim('x'), 1, 2)) // 'crop(x,1,2)'
 * showDim(dimCropped(dimPadded(dim('x'), 2, 0), 1, 1)) // 'x'
 * ```
 */
export const dimCropped = (base0: DimLike, before: number, after: number): Dim => {
  const base = readDim(base0, 'dimCropped: the base')
  if (!isNatural(before) || !isNatural(after))
    fail('bad-argument', 'crop: crop amounts must be integers >= 0', {
      expected: 'before >= 0 and after >= 0, integers',
      got: `before = ${describeValue(before)}, after = ${describeValue(after)}`,
    })
  const b = unnamed(base)
  if (before === 0 && after === 0) return sealData(base)
  if (b.kind === 'cropped') return dimCropped(b.base, b.before + before, b.after + after)
  if (b.kind === 'padded') return offsetDim(b.base, b.before + b.after - before - after)
  if (b.kind === 'const') {
    if (b.value - before - after < 1)
      fail(
        'bad-size',
        `crop: cropping ${before + after} of a fixed size ${b.value} leaves nothing`,
        {
          expected: `before + after < ${b.value}`,
          got: `before = ${before}, after = ${after}`,
        },
      )
    return constDim(b.value - before - after)
  }
  return sealData({ kind: 'cropped' as const, base: b, before, after })
}

/**
 * The constant `n` with `a = b + n` for every binding, when `a` and `b` are paddings or crops of
 * one dim (or that dim); `undefined` when no constant does (the crop of a skip connection in the
 * unpadded U-Net is half of it).
 *
 * @example
 * ```ts
 * import { dim, dimCropped, dimDifference, dimPadded } from 'neural-circuit-diagrams'
 * dimDifference(dimPadded(dim('m'), 8, 0), dimCropped(dim('m'), 1, 1)) // 10
 * dimDifference(dim('m'), dim('n')) // undefined
 * ```
 */
export const dimDifference = (a: Dim, b: Dim): number | undefined => {
  const u = offsetView(unnamed(a))
  const v = offsetView(unnamed(b))
  return dimEquals(u.base, v.base) ? u.offset - v.offset : undefined
}

/** `d / s` when `d` is a product whose fixed factor is a multiple of `s`. */
const divideBy = (d: Dim, s: number): Dim | undefined => {
  if (s === 1) return d
  if (d.kind === 'const') return d.value % s === 0 ? constDim(d.value / s) : undefined
  if (d.kind !== 'product') return undefined
  const c = d.factors.find((f) => f.kind === 'const')
  if (c === undefined || c.kind !== 'const' || c.value % s !== 0) return undefined
  return dimProduct(...d.factors.map((f) => (f === c ? constDim(c.value / s) : f)))
}

/**
 * The output size of a convolution (eq. 5), `⌊(x - d (k - 1) - 1) / s⌋ + 1`, built by
 * `convTensor`. It is kept in a canonical form, so that sizes equal for every binding are one
 * dim (the residual units of Fig. 27 and the skips of Fig. 28 type-check). Each rule below is an
 * identity of integers, true for every binding of the variables:
 *
 * - a one-wide kernel (the constant 1): its dilation does not count, with stride 1 it is the
 *   input (the 1x1 convolution tensor is the identity, section 3.3), and strides compose,
 *   `conv(conv(x, k, s, d), 1, t, 1) = conv(x, k, s t, d)` (`⌊⌊n / s⌋ / t⌋ = ⌊n / (s t)⌋`);
 * - a kernel as wide as the axis with dilation 1 gives 1 (global pooling): `⌊(x - x) / s⌋ + 1`;
 * - a fixed kernel on `pad(s m, a, b)` (or a crop, or no padding) of excess
 *   `e = a + b - d (k - 1)` gives `m + ⌊(e - 1) / s⌋ + 1`, a padding or crop of `m`
 *   (`⌊(s m + e - 1) / s⌋ + 1`, defined exactly when the crop is), and `m` itself when e lies in
 *   `[1 - s, 0]`. With stride 1 this is the "same" convolution (`a + b = d (k - 1)` gives its
 *   input) and the "valid" one (`conv(x, 3, s1, d1)` is `crop(x, 2, 0)`, the dim `(x-2)`); with
 *   stride s the input must be written as a multiple of s, a product with a fixed factor
 *   (`dimProduct(2, 'h')`), and a pooling of `2 m + 120` gives `m + 60` (the unpadded U-Net);
 *   otherwise a strided fixed kernel is written as its span cropped, then a one-wide kernel of
 *   that stride: `conv(x, 3, s2, d1)` is `conv(crop(x,2,0), 1, s2, d1)`, the dim the stride-1
 *   convolution followed by every second block has;
 * - a convolution undoes the transposed convolution it is the adjoint of:
 *   `conv(convT(y, k, s, d, op), k, s, d) = y` for output padding `op < s`.
 *
 * Where equality holds only for some sizes (a stride-2 convolution of a plain `h`, undone by a
 * transposed one, gives `h` only for even `h`) the dims stay different and composition is
 * refused. We refuse rather than record a constraint checked at evaluation because a dim is a
 * function of the binding: two dims are called equal only when they are equal for every
 * binding, which is what lets `equivalent` and `checkProof` decide equality without sizes. Write
 * the axis as a multiple instead (`dimProduct(2, 'h')`): then the identity holds for every binding.
 *
 * @internal
 * @example
 * ```ts
 * import { dim, constDim, dimConv, dimPadded, dimProduct, showDim } from 'neural-circuit-diagrams'
 * showDim(dimConv(dim('x'), constDim(1), 1, 3)) // 'x'
 * showDim(dimConv(dimConv(dim('x'), dim('k'), 1, 2), constDim(1), 3, 1)) // 'conv(x,k,s3,d2)'
 * showDim(dimConv(dimPadded(dim('h'), 1, 1), constDim(3), 1, 1)) // 'h'
 * showDim(dimConv(dim('x'), dim('x'), 1, 1)) // '1'
 * showDim(dimConv(dimProduct(2, 'h'), constDim(2), 2, 1)) // 'h'
 * ```
 */
export const dimConv = (
  input0: DimLike,
  kernel0: DimLike,
  stride: number,
  dilation: number,
): Dim => {
  const input = readDim(input0, 'dimConv: the input')
  const kernel = readDim(kernel0, 'dimConv: the kernel')
  if (!isPositive(stride) || !isPositive(dilation))
    fail('bad-argument', 'convTensor: stride and dilation must be positive integers', {
      expected: 'stride >= 1 and dilation >= 1, integers',
      got: `stride = ${describeValue(stride)}, dilation = ${describeValue(dilation)}`,
    })
  const x = unnamed(input)
  const k = unnamed(kernel)
  if (k.kind === 'const' && k.value === 1) {
    if (stride === 1) return x
    if (x.kind === 'conv') return dimConv(x.input, x.kernel, x.stride * stride, x.dilation)
    // Every s-th entry of s m + n: m + ⌊(n - 1) / s⌋ + 1 (m itself for n = 0).
    const v = offsetView(x)
    const m = v.base.kind === 'const' ? undefined : divideBy(v.base, stride)
    if (m !== undefined) return offsetDim(m, Math.floor((v.offset - 1) / stride) + 1)
    if (x.kind === 'const') return constDim(Math.floor((x.value - 1) / stride) + 1)
    return sealData({ kind: 'conv' as const, input: x, kernel: k, stride, dilation: 1 })
  }
  if (dilation === 1 && dimEquals(x, k)) return constDim(1)
  if (
    x.kind === 'convT' &&
    x.stride === stride &&
    x.dilation === dilation &&
    x.outputPadding < stride &&
    dimEquals(x.kernel, k)
  )
    return x.input
  if (k.kind === 'const') {
    const span = dilation * (k.value - 1)
    const v = offsetView(x)
    const e = v.offset - span
    const m = v.base.kind === 'const' ? undefined : divideBy(v.base, stride)
    // ⌊(s m + e - 1) / s⌋ + 1 = m + ⌊(e - 1) / s⌋ + 1, and both sides are defined (at least 1)
    // exactly when s m + e >= 1: a padding or a crop of m (m itself for e in [1 - s, 0]).
    if (m !== undefined) return offsetDim(m, Math.floor((e - 1) / stride) + 1)
    // Otherwise the kernel's span is a crop, then every s-th entry: one form for a fixed kernel,
    // so that the stride-1 convolution then every s-th block (convolution/stride) is the same dim.
    if (stride > 1 && v.base.kind !== 'const')
      return dimConv(offsetDim(v.base, e), constDim(1), stride, 1)
    if (x.kind === 'const') {
      const y = Math.floor((x.value - span - 1) / stride) + 1
      if (y >= 1) return constDim(y)
    }
  }
  return sealData({ kind: 'conv' as const, input: x, kernel: k, stride, dilation })
}

/**
 * The output size of a transposed convolution built from its input (blocks) axis `y`, before any
 * crop: `(y - 1) s + d (k - 1) + 1 + op` (the adjoint of the convolution tensor, Fig. 26, whose
 * input axis this is). The output padding `op` must be below the stride or the dilation, as in
 * PyTorch. Canonical forms (identities of integers): with a fixed kernel and stride 1 it is
 * `pad(y, 0, d (k - 1) + op)`; when `d (k - 1) + 1 + op = s` (kernel as wide as the stride, the
 * up-sampling of U-Net) it is the product `s y`, multiplied out over a padding or crop of y
 * (`s (b + n)` is `s b + s n`). `dimConv` undoes it.
 *
 * @example
 * ```ts
 * import { dim, constDim, dimConvT, showDim } from 'neural-circuit-diagrams'
 * showDim(dimConvT(dim('y'), constDim(2), 2, 1, 0)) // '(2*y)'
 * showDim(dimConvT(dim('y'), constDim(3), 1, 1, 0)) // 'pad(y,0,2)'
 * showDim(dimConvT(dim('y'), dim('k'), 2, 1, 1)) // 'convT(y,k,s2,d1,op1)'
 * ```
 */
export const dimConvT = (
  input0: DimLike,
  kernel0: DimLike,
  stride: number,
  dilation: number,
  outputPadding: number,
): Dim => {
  const input = readDim(input0, 'dimConvT: the input')
  const kernel = readDim(kernel0, 'dimConvT: the kernel')
  checkPositive(stride, 'convTranspose', 'the stride')
  checkPositive(dilation, 'convTranspose', 'the dilation')
  checkNatural(outputPadding, 'convTranspose', 'the output padding')
  if (outputPadding >= Math.max(stride, dilation))
    fail(
      'bad-argument',
      'convTranspose: the output padding must be below the stride or the dilation',
      {
        expected: `an output padding < max(stride, dilation) = ${Math.max(stride, dilation)}`,
        got: String(outputPadding),
      },
    )
  const y = unnamed(input)
  const k = unnamed(kernel)
  if (k.kind === 'const') {
    const span = dilation * (k.value - 1)
    if (y.kind === 'const') return constDim((y.value - 1) * stride + span + 1 + outputPadding)
    if (stride === 1) return dimPadded(y, 0, span + outputPadding)
    if (span + 1 + outputPadding === stride) {
      // s y, with the offset of a padded or cropped y multiplied out: s (b + n) = s b + s n.
      const v = offsetView(y)
      return offsetDim(dimProduct(v.base, constDim(stride)), stride * v.offset)
    }
  }
  return sealData({
    kind: 'convT' as const,
    input: y,
    kernel: k,
    stride,
    dilation,
    outputPadding,
  })
}

/**
 * Axes joined end to end (the axis `concat` makes): the size is the sum of the parts. Nested sums
 * are flattened, a part repeated n times is written once as the product `n p` (at its first
 * place), so `x + x` is `(2*x)`, and the fixed parts (with paddings and crops) are added into one
 * offset: `x + 2` is `pad(x,2,0)`, the same dim as `pad(x,1,1)`.
 *
 * @example
 * ```ts
 * import { dimSum, showDim } from 'neural-circuit-diagrams'
 * showDim(dimSum('x', 'y')) // '(x+y)'
 * showDim(dimSum('c', 'c')) // '(2*c)'
 * ```
 */
export const dimSum = (...parts: ReadonlyArray<DimLike | number>): Dim => {
  if (parts.length === 0)
    fail('bad-dim', 'dimSum: needs at least one part', { expected: 'one dim or more', got: '0' })
  const counts = new Map<string, { dim: Dim; count: number }>()
  const order: string[] = []
  let constant = 0
  const visit = (d: Dim): void => {
    const u = unnamed(d)
    if (u.kind === 'sum') return u.parts.forEach(visit)
    if (u.kind === 'const') {
      constant += u.value
      return
    }
    if (u.kind === 'padded' || u.kind === 'cropped') {
      const v = offsetView(u)
      constant += v.offset
      return visit(v.base)
    }
    // n p, as written by this function, counts n times p.
    let n = 1
    let p: Dim = u
    if (u.kind === 'product') {
      const c = u.factors.find((f) => f.kind === 'const')
      if (c !== undefined && c.kind === 'const') {
        n = c.value
        p = dimProduct(...u.factors.filter((f) => f !== c))
      }
    }
    const key = dimKey(p)
    const seen = counts.get(key)
    if (seen === undefined) {
      counts.set(key, { dim: p, count: n })
      order.push(key)
    } else seen.count += n
  }
  parts.forEach((p) => visit(typeof p === 'number' ? constDim(p) : readDim(p, 'dimSum: a part')))
  const out: Dim[] = order.map((key) => {
    const { dim: p, count } = counts.get(key) as { dim: Dim; count: number }
    return count === 1 ? p : dimProduct(constDim(count), p)
  })
  if (out.length === 0) return constDim(constant)
  // x + c is the padded x (one dim, one key: `(x+c)`).
  const joined = out.length === 1 ? (out[0] as Dim) : sealData({ kind: 'sum' as const, parts: out })
  return offsetDim(joined, constant)
}

/**
 * Give a derived dim a name (the `ȳ` of a strided convolution): it stays equal to its derivation
 * and prints by its name; evaluation derives its size and refuses a size bound to the name that
 * contradicts it.
 *
 * @example
 * ```ts
 * import { dim, constDim, dimConv, namedDim, showDim, dimSize } from 'neural-circuit-diagrams'
 * const ybar = namedDim('ybar', dimConv(dim('x'), constDim(3), 2, 1))
 * showDim(ybar) // 'ybar'
 * dimSize(ybar, { x: 9 }) // 4
 * dimSize(ybar, { x: 9, ybar: 4 }) // 4
 * ```
 */
export const namedDim = (name: string, of: DimLike): Dim => {
  if (typeof name !== 'string' || !NAME.test(name))
    fail('bad-dim', `namedDim: ${describeValue(name)} is not a dim name`, {
      expected: 'a name such as ybar or h2 (letters, digits, _ and ′)',
      got: describeValue(name),
    })
  const d = unnamed(readDim(of, `namedDim: the derivation of '${name}'`))
  if (d.kind === 'var' && d.name === name)
    fail('bad-dim', `namedDim: '${name}' would name itself`, {
      expected: 'a derived dim, or a size variable of another name',
      got: name,
    })
  return sealData({ kind: 'named' as const, name, of: d })
}

/** What the API accepts where a dim is expected: a dim, or the name of a size variable. */
export type DimLike = Dim | string

const rebuildDim = (d: Record<string, unknown>, where: string): Dim => {
  try {
    return rebuildDimFields(d, where)
  } catch (e) {
    if (!(e instanceof TermError) || e.summary.startsWith(where)) throw e
    return fail(e.code, `${where}: ${e.summary}`, e.details)
  }
}

const rebuildDimFields = (d: Record<string, unknown>, where: string): Dim => {
  const sub = (x: unknown, what: string): Dim => readDim(x as DimLike, `${where} (${what})`)
  switch (d.kind) {
    case 'var':
      return dim(d.name as string, {
        ...(d.size !== undefined ? { size: d.size as number } : {}),
        ...(d.mark !== undefined ? { mark: d.mark as Mark } : {}),
      })
    case 'const':
      return constDim(d.value as number)
    case 'product':
      if (!Array.isArray(d.factors)) break
      return dimProduct(...d.factors.map((f, i) => sub(f, `factor ${i}`)))
    case 'padded':
      return dimPadded(sub(d.base, 'base'), d.before as number, d.after as number)
    case 'cropped':
      return dimCropped(sub(d.base, 'base'), d.before as number, d.after as number)
    case 'conv':
      return dimConv(
        sub(d.input, 'input'),
        sub(d.kernel, 'kernel'),
        d.stride as number,
        d.dilation as number,
      )
    case 'convT':
      return dimConvT(
        sub(d.input, 'input'),
        sub(d.kernel, 'kernel'),
        d.stride as number,
        d.dilation as number,
        d.outputPadding as number,
      )
    case 'sum':
      if (!Array.isArray(d.parts)) break
      return dimSum(...d.parts.map((p, i) => sub(p, `part ${i}`)))
    case 'named':
      return namedDim(d.name as string, sub(d.of, 'derivation'))
    default:
      break
  }
  return fail('bad-dim', `${where} must be a dim or a dim name`, {
    expected: `a dim name (a string) or a dim of kind ${DIM_KINDS.join(', ')} with its fields`,
    got: describeValue(d),
  })
}

/**
 * Read a {@link DimLike}, refusing at run time (with a `TermError` naming `where`, the argument)
 * anything else: a missing dim, a number, a malformed dim record. A dim not built by the
 * constructors is rebuilt through them (so it is validated and in canonical form).
 *
 * @example
 * ```ts
 * import { readDim, showDim } from 'neural-circuit-diagrams'
 * showDim(readDim('y', 'softmax: the axis')) // 'y'
 * ```
 */
export const readDim = (d: DimLike, where: string): Dim => {
  if (typeof d === 'string') {
    if (!NAME.test(d))
      fail('bad-dim', `${where}: ${JSON.stringify(d)} is not a dim name`, {
        expected:
          'a name such as y, x2 or k_h (letters, digits, _ and ′, not starting with a digit)',
        got: JSON.stringify(d),
      })
    return dim(d)
  }
  if (typeof d !== 'object' || d === null || Array.isArray(d))
    return fail('bad-dim', `${where} must be a dim or a dim name`, {
      expected: 'a dim name (a string) or a dim',
      got: describeValue(d),
    })
  if (isSealed(d)) return d
  return rebuildDim(d as unknown as Record<string, unknown>, where)
}

/** Read a {@link DimLike} ({@link readDim} with no argument name). */
export const toDim = (d: DimLike): Dim => readDim(d, 'a dim')

/**
 * The identity of a dim, ignoring marks, defaults and names given to derived dims: two dims are
 * equal when their keys are.
 * @internal
 */
export const dimKey = (d: Dim): string => {
  switch (d.kind) {
    case 'var':
      return d.name
    case 'const':
      return String(d.value)
    case 'product':
      return `(${d.factors.map(dimKey).join('*')})`
    case 'padded':
      return `(${dimKey(d.base)}+${d.before + d.after})`
    case 'cropped':
      return `(${dimKey(d.base)}-${d.before + d.after})`
    case 'conv':
      return `conv(${dimKey(d.input)},${dimKey(d.kernel)},s${d.stride},d${d.dilation})`
    case 'convT':
      return `convT(${dimKey(d.input)},${dimKey(d.kernel)},s${d.stride},d${d.dilation},op${d.outputPadding})`
    case 'sum':
      return `(${d.parts.map(dimKey).join('+')})`
    case 'named':
      return dimKey(d.of)
    default:
      return absurd(d)
  }
}

/**
 * Print a dim as in the paper's legends: `y`, `(h*w)`, `pad(x,1,1)`, `conv(x,k,s2,d1)`, a named
 * derived dim by its name.
 */
export const showDim = (d: Dim): string => {
  switch (d.kind) {
    case 'named':
      return d.name
    case 'product':
      return `(${d.factors.map(showDim).join('*')})`
    case 'padded':
      return `pad(${showDim(d.base)},${d.before},${d.after})`
    case 'cropped':
      return `crop(${showDim(d.base)},${d.before},${d.after})`
    case 'conv':
      return `conv(${showDim(d.input)},${showDim(d.kernel)},s${d.stride},d${d.dilation})`
    case 'convT':
      return `convT(${showDim(d.input)},${showDim(d.kernel)},s${d.stride},d${d.dilation},op${d.outputPadding})`
    case 'sum':
      return `(${d.parts.map(showDim).join('+')})`
    case 'var':
    case 'const':
      return dimKey(d)
    default:
      return absurd(d)
  }
}

/** Structural equality of dims (marks, defaults and names of derived dims do not count). */
export const dimEquals = (a: Dim, b: Dim): boolean => a === b || dimKey(a) === dimKey(b)

/** The direct sub-dims of a dim. @internal */
export const dimChildren = (d: Dim): ReadonlyArray<Dim> => {
  switch (d.kind) {
    case 'var':
    case 'const':
      return []
    case 'product':
      return d.factors
    case 'sum':
      return d.parts
    case 'padded':
    case 'cropped':
      return [d.base]
    case 'conv':
    case 'convT':
      return [d.input, d.kernel]
    case 'named':
      return [d.of]
    default:
      return absurd(d)
  }
}

/** The names of the size variables a dim depends on. */
export const dimVars = (d: Dim, into: Map<string, DimVar> = new Map()): Map<string, DimVar> => {
  if (d.kind === 'var') {
    if (!into.has(d.name) || (into.get(d.name)?.size === undefined && d.size !== undefined))
      into.set(d.name, d)
    return into
  }
  for (const c of dimChildren(d)) dimVars(c, into)
  return into
}

/**
 * The concrete size of a dim under a binding, falling back on defaults. Refuses an unbound name,
 * a size that is not a positive integer, a convolution whose kernel does not fit its input, a
 * crop that leaves nothing, and a size bound to a named derived dim that contradicts its
 * derivation.
 *
 * @example
 * ```ts
 * import { dim, dimSize } from 'neural-circuit-diagrams'
 * dimSize(dim('y'), { y: 7 }) // 7
 * ```
 */
export const dimSize = (d: Dim, sizes: Sizes): number => {
  switch (d.kind) {
    case 'var': {
      const bound = Object.prototype.hasOwnProperty.call(sizes, d.name) ? sizes[d.name] : d.size
      if (bound === undefined)
        return fail('unbound-dim', `dim '${d.name}' has no size`, {
          expected: `a size for '${d.name}' in the sizes record`,
          got: `sizes ${JSON.stringify(sizes)}`,
          hint: `pass { ${d.name}: <positive integer> } or give the dim a default size`,
        })
      if (!isPositive(bound))
        return fail('bad-size', `dim '${d.name}' must be bound to a positive integer`, {
          expected: 'an integer >= 1',
          got: String(bound),
        })
      return bound
    }
    case 'const':
      return d.value
    case 'product':
      return d.factors.reduce((n, f) => n * dimSize(f, sizes), 1)
    case 'sum':
      return d.parts.reduce((n, f) => n + dimSize(f, sizes), 0)
    case 'padded':
      return dimSize(d.base, sizes) + d.before + d.after
    case 'cropped': {
      const x = dimSize(d.base, sizes)
      const y = x - d.before - d.after
      if (y < 1)
        return fail('bad-size', `crop ${showDim(d)} would be empty`, {
          expected: `${showDim(d.base)} > ${d.before + d.after} (the amount cropped)`,
          got: `${showDim(d.base)} = ${x}`,
        })
      return y
    }
    case 'conv': {
      const x = dimSize(d.input, sizes)
      const k = dimSize(d.kernel, sizes)
      const y = Math.floor((x - d.dilation * (k - 1) - 1) / d.stride + 1)
      if (y < 1)
        return fail('bad-size', `convolution output ${showDim(d)} would be empty`, {
          expected: `input size >= dilation * (kernel - 1) + 1 = ${d.dilation * (k - 1) + 1}`,
          got: `input ${showDim(d.input)} = ${x}, kernel ${showDim(d.kernel)} = ${k}`,
          hint: 'pad the input or use a smaller kernel, stride or dilation',
        })
      return y
    }
    case 'convT': {
      const y = dimSize(d.input, sizes)
      const k = dimSize(d.kernel, sizes)
      return (y - 1) * d.stride + d.dilation * (k - 1) + 1 + d.outputPadding
    }
    case 'named': {
      const derived = dimSize(d.of, sizes)
      if (Object.prototype.hasOwnProperty.call(sizes, d.name) && sizes[d.name] !== derived)
        return fail(
          'bad-size',
          `dim '${d.name}' is bound to ${sizes[d.name]} but derives as ${derived}`,
          {
            expected: `${d.name} = ${dimKey(d.of)} = ${derived}`,
            got: `${d.name} = ${String(sizes[d.name])}`,
            hint: `drop '${d.name}' from the sizes (it is derived) or bind it to ${derived}`,
          },
        )
      return derived
    }
    default:
      return absurd(d)
  }
}

/**
 * The factors of a dim as a sorted list of atom keys and a constant: two shapes can be viewed as
 * one another when their factor lists agree. @internal
 */
export const dimFactors = (d: Dim): { readonly atoms: string[]; readonly constant: number } => {
  switch (d.kind) {
    case 'const':
      return { atoms: [], constant: d.value }
    case 'product': {
      const atoms: string[] = []
      let constant = 1
      for (const f of d.factors) {
        const ff = dimFactors(f)
        atoms.push(...ff.atoms)
        constant *= ff.constant
      }
      return { atoms, constant }
    }
    case 'named':
      return dimFactors(d.of)
    case 'var':
    case 'padded':
    case 'cropped':
    case 'conv':
    case 'convT':
    case 'sum':
      return { atoms: [dimKey(d)], constant: 1 }
    default:
      return absurd(d)
  }
}

/**
 * Rebuild a dim with its direct sub-dims mapped by `f`, through the smart constructors (so the
 * result is in canonical form): the one traversal renamings and substitutions need.
 *
 * @example
 * ```ts
 * import { dimPadded, dim, mapDimChildren, showDim } from 'neural-circuit-diagrams'
 * showDim(mapDimChildren(dimPadded(dim('x'), 1, 1), () => dim('y'))) // 'pad(y,1,1)'
 * ```
 */
export const mapDimChildren = (d: Dim, f: (c: Dim) => Dim): Dim => {
  switch (d.kind) {
    case 'var':
    case 'const':
      return d
    case 'product':
      return dimProduct(...d.factors.map(f))
    case 'sum':
      return dimSum(...d.parts.map(f))
    case 'padded':
      return dimPadded(f(d.base), d.before, d.after)
    case 'cropped':
      return dimCropped(f(d.base), d.before, d.after)
    case 'conv':
      return dimConv(f(d.input), f(d.kernel), d.stride, d.dilation)
    case 'convT':
      return dimConvT(f(d.input), f(d.kernel), d.stride, d.dilation, d.outputPadding)
    case 'named':
      return namedDim(d.name, f(d.of))
    default:
      return absurd(d)
  }
}
