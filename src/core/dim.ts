/**
 * Dims: the sizes of axes (wires). A dim is a named size variable, optionally with a concrete
 * default; terms are polymorphic in dims and evaluation binds them. Derived dims name sizes that
 * follow from others: a tandem product (`a = 4 x 2`, paper Fig. 11), a padded axis, and the output
 * axis of a convolution (paper eq. 5).
 *
 * @packageDocumentation
 */
import { absurd, fail } from './errors.js'
import { sealData } from './frozen.js'

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

/** A size: a variable, a constant, or derived from other sizes. */
export type Dim = DimVar | DimConst | DimProduct | DimPadded | DimConv

/** A binding of dim names to sizes, as given to the evaluator. */
export type Sizes = Readonly<Record<string, number>>

const NAME = /^[A-Za-z_][A-Za-z0-9_']*$/

const isNatural = (n: number): boolean => Number.isInteger(n) && n >= 0
const isPositive = (n: number): boolean => Number.isInteger(n) && n >= 1

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
  if (!NAME.test(name))
    fail('bad-dim', `dim: '${name}' is not a dim name`, {
      expected: 'a name such as y, x2 or k_h (letters, digits, _ and ′, not starting with a digit)',
      got: JSON.stringify(name),
    })
  if (options.size !== undefined && !isPositive(options.size))
    fail('bad-dim', `dim: the default size of '${name}' must be a positive integer`, {
      expected: 'an integer >= 1',
      got: String(options.size),
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
      got: String(value),
    })
  return sealData({ kind: 'const' as const, value })
}

/**
 * Tandem axes as one axis (paper Fig. 11, "a = 4 x 2"). Nested products are flattened.
 *
 * @example
 * ```ts
 * import { dim, dimProduct, showDim } from 'neural-circuit-diagrams'
 * showDim(dimProduct(dim('h'), dim('w'))) // '(h*w)'
 * ```
 */
export const dimProduct = (...factors: ReadonlyArray<DimLike>): Dim => {
  const flat: Dim[] = []
  for (const f of factors.map(toDim)) {
    if (f.kind === 'product') flat.push(...f.factors)
    else flat.push(f)
  }
  if (flat.length === 0) return constDim(1)
  if (flat.length === 1) return sealData(flat[0] as Dim)
  return sealData({ kind: 'product' as const, factors: flat })
}

/** The size of an axis after zero padding. @internal (built by `pad`) */
export const dimPadded = (base: Dim, before: number, after: number): Dim => {
  if (!isNatural(before) || !isNatural(after))
    fail('bad-argument', 'pad: padding amounts must be integers >= 0', {
      expected: 'before >= 0 and after >= 0, integers',
      got: `before = ${before}, after = ${after}`,
    })
  if (before === 0 && after === 0) return sealData(base)
  return sealData({ kind: 'padded' as const, base, before, after })
}

/**
 * The output size of a convolution (eq. 5), built by `convTensor`. A one-wide kernel (the
 * constant 1) is simplified, so that sizes equal for every binding are equal dims:
 *
 * - its dilation does not count (`d (k - 1) = 0`): `conv(x, 1, s, d) = conv(x, 1, s, 1)`;
 * - with stride 1 it is its input, `conv(x, 1, 1, d) = x`: the 1x1 convolution tensor is the
 *   identity (paper section 3.3);
 * - strides compose, `conv(conv(x, k, s, d), 1, t, 1) = conv(x, k, s t, d)`: with
 *   `n = x - d (k - 1) - 1`, `⌊⌊n / s⌋ / t⌋ + 1 = ⌊n / (s t)⌋ + 1`, and both are empty exactly when
 *   `n < 0`. Taking every t-th block of a convolution is the convolution of stride `s t` (eq. 4).
 *
 * @internal
 * @example
 * ```ts
 * import { dim, constDim, dimConv, showDim } from 'neural-circuit-diagrams'
 * showDim(dimConv(dim('x'), constDim(1), 1, 3)) // 'x'
 * showDim(dimConv(dimConv(dim('x'), dim('k'), 1, 2), constDim(1), 3, 1)) // 'conv(x,k,s3,d2)'
 * ```
 */
export const dimConv = (input: Dim, kernel: Dim, stride: number, dilation: number): Dim => {
  if (!isPositive(stride) || !isPositive(dilation))
    fail('bad-argument', 'convTensor: stride and dilation must be positive integers', {
      expected: 'stride >= 1 and dilation >= 1, integers',
      got: `stride = ${stride}, dilation = ${dilation}`,
    })
  if (kernel.kind === 'const' && kernel.value === 1) {
    if (stride === 1) return input
    if (input.kind === 'conv')
      return dimConv(input.input, input.kernel, input.stride * stride, input.dilation)
    return sealData({ kind: 'conv' as const, input, kernel, stride, dilation: 1 })
  }
  return sealData({ kind: 'conv' as const, input, kernel, stride, dilation })
}

/** What the API accepts where a dim is expected: a dim, or the name of a size variable. */
export type DimLike = Dim | string

/** Read a {@link DimLike}. */
export const toDim = (d: DimLike): Dim => (typeof d === 'string' ? dim(d) : sealData(d))

/**
 * The identity of a dim, ignoring marks and defaults: two dims are equal when their keys are.
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
      return `pad(${dimKey(d.base)},${d.before},${d.after})`
    case 'conv':
      return `conv(${dimKey(d.input)},${dimKey(d.kernel)},s${d.stride},d${d.dilation})`
    default:
      return absurd(d)
  }
}

/** Print a dim as in the paper's legends: `y`, `(h*w)`, `pad(x,1,1)`, `conv(x,k,s2,d1)`. */
export const showDim = dimKey

/** Structural equality of dims (marks and defaults do not count). */
export const dimEquals = (a: Dim, b: Dim): boolean => a === b || dimKey(a) === dimKey(b)

/** The names of the size variables a dim depends on. */
export const dimVars = (d: Dim, into: Map<string, DimVar> = new Map()): Map<string, DimVar> => {
  switch (d.kind) {
    case 'var':
      if (!into.has(d.name) || (into.get(d.name)?.size === undefined && d.size !== undefined))
        into.set(d.name, d)
      return into
    case 'const':
      return into
    case 'product':
      d.factors.forEach((f) => dimVars(f, into))
      return into
    case 'padded':
      return dimVars(d.base, into)
    case 'conv':
      dimVars(d.input, into)
      return dimVars(d.kernel, into)
    default:
      return absurd(d)
  }
}

/**
 * The concrete size of a dim under a binding, falling back on defaults. Refuses an unbound name,
 * a size that is not a positive integer, and a convolution whose kernel does not fit its input.
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
    case 'padded':
      return dimSize(d.base, sizes) + d.before + d.after
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
    case 'var':
    case 'padded':
    case 'conv':
      return { atoms: [dimKey(d)], constant: 1 }
    default:
      return absurd(d)
  }
}
