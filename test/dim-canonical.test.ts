import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Dim,
  DimCodec,
  TermError,
  constDim,
  convTensor,
  dim,
  dimConv,
  dimConvT,
  dimCropped,
  dimEquals,
  dimKey,
  dimPadded,
  dimProduct,
  dimSize,
  dimSum,
  index,
  layerNorm,
  max,
  mean,
  namedDim,
  pad,
  showDim,
  softmax,
  unit,
} from '../src/index.js'

// Issue 14, section 1: derived dims in canonical form, and constructors that check their
// arguments at run time.

/** A dim expression, built raw (no simplification) beside its canonical dim. */
type Expr =
  | { readonly op: 'var'; readonly name: string }
  | { readonly op: 'const'; readonly value: number }
  | { readonly op: 'product'; readonly parts: ReadonlyArray<Expr> }
  | { readonly op: 'sum'; readonly parts: ReadonlyArray<Expr> }
  | {
      readonly op: 'pad' | 'crop'
      readonly base: Expr
      readonly before: number
      readonly after: number
    }
  | {
      readonly op: 'conv'
      readonly input: Expr
      readonly kernel: Expr
      readonly stride: number
      readonly dilation: number
    }
  | {
      readonly op: 'convT'
      readonly input: Expr
      readonly kernel: Expr
      readonly stride: number
      readonly dilation: number
      readonly outputPadding: number
    }

/** The size by the definitions (eq. 5 and PyTorch's transposed convolution), or undefined when empty. */
const rawSize = (e: Expr, sizes: Readonly<Record<string, number>>): number | undefined => {
  const all = (xs: ReadonlyArray<Expr>) => xs.map((x) => rawSize(x, sizes))
  switch (e.op) {
    case 'var':
      return sizes[e.name]
    case 'const':
      return e.value
    case 'product': {
      const v = all(e.parts)
      return v.some((x) => x === undefined) ? undefined : v.reduce((a, b) => a! * b!, 1)
    }
    case 'sum': {
      const v = all(e.parts)
      return v.some((x) => x === undefined) ? undefined : v.reduce((a, b) => a! + b!, 0)
    }
    case 'pad': {
      const b = rawSize(e.base, sizes)
      return b === undefined ? undefined : b + e.before + e.after
    }
    case 'crop': {
      const b = rawSize(e.base, sizes)
      return b === undefined || b - e.before - e.after < 1 ? undefined : b - e.before - e.after
    }
    case 'conv': {
      const x = rawSize(e.input, sizes)
      const k = rawSize(e.kernel, sizes)
      if (x === undefined || k === undefined) return undefined
      const y = Math.floor((x - e.dilation * (k - 1) - 1) / e.stride) + 1
      return y >= 1 ? y : undefined
    }
    case 'convT': {
      const y = rawSize(e.input, sizes)
      const k = rawSize(e.kernel, sizes)
      if (y === undefined || k === undefined) return undefined
      return (y - 1) * e.stride + e.dilation * (k - 1) + 1 + e.outputPadding
    }
  }
}

/** The canonical dim of an expression, through the constructors; undefined when refused. */
const build = (e: Expr): Dim | undefined => {
  try {
    switch (e.op) {
      case 'var':
        return dim(e.name)
      case 'const':
        return constDim(e.value)
      case 'product': {
        const p = e.parts.map(build)
        return p.some((x) => x === undefined) ? undefined : dimProduct(...(p as Dim[]))
      }
      case 'sum': {
        const p = e.parts.map(build)
        return p.some((x) => x === undefined) ? undefined : dimSum(...(p as Dim[]))
      }
      case 'pad':
      case 'crop': {
        const b = build(e.base)
        if (b === undefined) return undefined
        return e.op === 'pad' ? dimPadded(b, e.before, e.after) : dimCropped(b, e.before, e.after)
      }
      case 'conv': {
        const x = build(e.input)
        const k = build(e.kernel)
        return x === undefined || k === undefined ? undefined : dimConv(x, k, e.stride, e.dilation)
      }
      case 'convT': {
        const y = build(e.input)
        const k = build(e.kernel)
        return y === undefined || k === undefined
          ? undefined
          : dimConvT(y, k, e.stride, e.dilation, e.outputPadding)
      }
    }
  } catch (err) {
    if (err instanceof TermError) return undefined
    throw err
  }
}

const NAMES = ['h', 'w', 'k'] as const

const exprArb: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...NAMES).map((name): Expr => ({ op: 'var', name })),
    fc.integer({ min: 1, max: 6 }).map((value): Expr => ({ op: 'const', value })),
    fc
      .array(tie('e'), { minLength: 1, maxLength: 3 })
      .map((parts): Expr => ({ op: 'product', parts })),
    fc.array(tie('e'), { minLength: 1, maxLength: 3 }).map((parts): Expr => ({ op: 'sum', parts })),
    fc
      .record({
        op: fc.constantFrom('pad' as const, 'crop' as const),
        base: tie('e'),
        before: fc.integer({ min: 0, max: 3 }),
        after: fc.integer({ min: 0, max: 3 }),
      })
      .map((r): Expr => r),
    fc
      .record({
        input: tie('e'),
        // Kernels are often fixed (the canonical forms look at fixed kernels) or the input itself.
        kernel: fc.oneof(
          fc.integer({ min: 1, max: 4 }).map((value): Expr => ({ op: 'const', value })),
          tie('e'),
        ),
        stride: fc.integer({ min: 1, max: 3 }),
        dilation: fc.integer({ min: 1, max: 2 }),
      })
      .map((r): Expr => ({ op: 'conv', ...r })),
    fc
      .record({
        input: tie('e'),
        kernel: fc.oneof(
          fc.integer({ min: 1, max: 4 }).map((value): Expr => ({ op: 'const', value })),
          tie('e'),
        ),
        stride: fc.integer({ min: 1, max: 3 }),
        dilation: fc.integer({ min: 1, max: 2 }),
        outputPadding: fc.integer({ min: 0, max: 2 }),
      })
      .filter((r) => r.outputPadding < Math.max(r.stride, r.dilation))
      .map((r): Expr => ({ op: 'convT', ...r })),
  ),
})).e

const sizesArb = fc.record({
  h: fc.integer({ min: 1, max: 40 }),
  w: fc.integer({ min: 1, max: 40 }),
  k: fc.integer({ min: 1, max: 5 }),
})

/** A conv whose kernel is the input, or a conv of a convT of the same parameters: the rules' shapes. */
const focusedArb: fc.Arbitrary<Expr> = fc.oneof(
  exprArb,
  fc
    .record({
      base: exprArb,
      k: fc.integer({ min: 1, max: 4 }),
      s: fc.integer({ min: 1, max: 3 }),
      d: fc.integer({ min: 1, max: 2 }),
      op: fc.integer({ min: 0, max: 2 }),
      mult: fc.integer({ min: 1, max: 4 }),
      before: fc.integer({ min: 0, max: 3 }),
      after: fc.integer({ min: 0, max: 3 }),
      shape: fc.constantFrom('roundtrip', 'same', 'global', 'multiple'),
    })
    .map((r): Expr => {
      const kernel: Expr = { op: 'const', value: r.k }
      const multiple: Expr = {
        op: 'product',
        parts: [{ op: 'const', value: r.mult * r.s }, r.base],
      }
      switch (r.shape) {
        case 'roundtrip':
          return {
            op: 'conv',
            input: {
              op: 'convT',
              input: r.base,
              kernel,
              stride: r.s,
              dilation: r.d,
              outputPadding: r.op % Math.max(r.s, r.d),
            },
            kernel,
            stride: r.s,
            dilation: r.d,
          }
        case 'same':
          return {
            op: 'conv',
            input: { op: 'pad', base: multiple, before: r.before, after: r.after },
            kernel,
            stride: r.s,
            dilation: r.d,
          }
        case 'global':
          return { op: 'conv', input: r.base, kernel: r.base, stride: r.s, dilation: r.d }
        case 'multiple':
          return {
            op: 'convT',
            input: { op: 'conv', input: multiple, kernel, stride: r.s, dilation: r.d },
            kernel,
            stride: r.s,
            dilation: r.d,
            outputPadding: r.op % Math.max(r.s, r.d),
          }
      }
    }),
)

describe('canonical dims are sound', () => {
  it("the canonical dim's size is the size by the definitions, wherever that is not empty", () => {
    let compared = 0
    fc.assert(
      fc.property(focusedArb, sizesArb, (e, sizes) => {
        const raw = rawSize(e, sizes)
        const d = build(e)
        if (raw === undefined || d === undefined) return
        compared++
        expect(dimSize(d, sizes)).toBe(raw)
      }),
      { numRuns: 3000 },
    )
    expect(compared).toBeGreaterThan(1000)
  })

  it('dims made equal are equal for every binding', () => {
    fc.assert(
      fc.property(focusedArb, fc.array(sizesArb, { minLength: 8, maxLength: 8 }), (a, bindings) => {
        // The canonical dim against the raw expression: equal dims, so equal sizes.
        const da = build(a)
        if (da === undefined) return
        for (const sizes of bindings) {
          const ra = rawSize(a, sizes)
          if (ra !== undefined) expect(dimSize(da, sizes)).toBe(ra)
        }
      }),
      { numRuns: 1000 },
    )
  })

  it('a false neighbour is refuted: a conv of pad(h,1,2) with kernel 3 is not h', () => {
    const e: Expr = {
      op: 'conv',
      input: { op: 'pad', base: { op: 'var', name: 'h' }, before: 1, after: 2 },
      kernel: { op: 'const', value: 3 },
      stride: 1,
      dilation: 1,
    }
    expect(rawSize(e, { h: 5 })).toBe(6)
    expect(dimEquals(build(e)!, dim('h'))).toBe(false)
  })
})

describe('canonical forms of issue 14', () => {
  const h = dim('h')
  const three = constDim(3)
  it('a same-padded stride-1 convolution gives its input dim', () => {
    expect(dimKey(dimConv(dimPadded(h, 1, 1), three, 1, 1))).toBe('h')
    expect(dimKey(dimConv(dimPadded(h, 2, 2), three, 1, 2))).toBe('h')
    expect(dimKey(dimConv(dimPadded(h, 0, 2), three, 1, 1))).toBe('h')
    // Not same: h + 1, a padding of h, not h.
    expect(dimKey(dimConv(dimPadded(h, 1, 2), three, 1, 1))).toBe('(h+1)')
    expect(dimEquals(dimConv(dimPadded(h, 1, 2), three, 1, 1), h)).toBe(false)
  })
  it('a valid stride-1 convolution is a crop; pooling halves an even offset (the unpadded U-Net)', () => {
    const valid = dimConv(h, three, 1, 1)
    expect(dimKey(valid)).toBe('(h-2)')
    expect(dimEquals(valid, dimCropped(h, 1, 1))).toBe(true)
    expect(dimSize(valid, { h: 5 })).toBe(3)
    expect(() => dimSize(valid, { h: 2 })).toThrow(/would be empty/)
    // 572 = 16 · 28 + 124: two valid 3x3 convolutions, then a 2x2 stride-2 pooling.
    const x1 = dimPadded(dimProduct(16, 'm'), 124, 0)
    const pooled = dimConv(dimConv(dimConv(x1, three, 1, 1), three, 1, 1), constDim(2), 2, 1)
    expect(dimKey(pooled)).toBe('((8*m)+60)')
    expect(dimSize(pooled, { m: 28 })).toBe(284)
    // The up-sampling of (m + 4) is 2m + 8, and the pooling undoes it.
    const up = dimConvT(dimPadded(dim('m'), 4, 0), constDim(2), 2, 1, 0)
    expect(dimKey(up)).toBe('((2*m)+8)')
    expect(dimKey(dimConv(up, constDim(2), 2, 1))).toBe('(m+4)')
  })
  it('a kernel as wide as the axis gives 1; with dilation 2 it does not', () => {
    expect(dimKey(dimConv(h, h, 1, 1))).toBe('1')
    expect(dimKey(dimConv(h, h, 3, 1))).toBe('1')
    expect(dimKey(dimConv(h, h, 1, 2))).toBe('conv(h,h,s1,d2)')
  })
  it('stride-s kernel-s convolution then its transpose gives back a multiple of s', () => {
    const h2 = dimProduct(2, 'h')
    const down = dimConv(h2, constDim(2), 2, 1)
    expect(dimKey(down)).toBe('h')
    expect(dimKey(dimConvT(down, constDim(2), 2, 1, 0))).toBe('(2*h)')
    expect(dimEquals(dimConvT(down, constDim(2), 2, 1, 0), h2)).toBe(true)
    // A same 3x3 stride-2 convolution halves an even axis too (IdResNet's down-sampling).
    expect(dimKey(dimConv(dimPadded(dimProduct(2, 'h'), 1, 1), three, 2, 1))).toBe('h')
  })
  it('on a plain axis the round trip is refused: the dims differ (equal only for even h)', () => {
    const down = dimConv(h, constDim(2), 2, 1)
    const up = dimConvT(down, constDim(2), 2, 1, 0)
    expect(dimEquals(up, h)).toBe(false)
    expect(dimSize(up, { h: 6 })).toBe(6)
    expect(dimSize(up, { h: 7 })).toBe(6)
  })
  it('a convolution undoes its transposed convolution', () => {
    const y = dim('y')
    const k = dim('k')
    expect(dimKey(dimConv(dimConvT(y, k, 3, 2, 2), k, 3, 2))).toBe('y')
    // op >= s: the sizes differ, no rule applies.
    expect(dimKey(dimConv(dimConvT(y, k, 1, 3, 2), k, 1, 3))).not.toBe('y')
  })
  it('padding and crop of the same total cancel', () => {
    expect(dimKey(dimCropped(dimPadded(h, 1, 1), 2, 0))).toBe('h')
    expect(dimKey(dimPadded(dimCropped(h, 0, 3), 1, 2))).toBe('h')
    expect(dimEquals(dimPadded(h, 1, 1), dimPadded(h, 2, 0))).toBe(true)
    expect(showDim(dimPadded(dimPadded(h, 1, 0), 0, 1))).toBe('pad(h,1,1)')
    expect(showDim(dimPadded(dimCropped(h, 2, 0), 1, 0))).toBe('crop(h,1,0)')
  })
  it('sums are flattened, repeated parts counted', () => {
    expect(showDim(dimSum('c', dimSum('c', 'd'), 2, 3))).toBe('pad(((2*c)+d),5,0)')
    expect(dimEquals(dimSum('x', 2), dimPadded(dim('x'), 1, 1))).toBe(true)
  })
  it('a named derived dim prints by name, equals its derivation and is checked at evaluation', () => {
    const ybar = namedDim('ybar', dimConv(dim('x'), three, 2, 1))
    expect(showDim(ybar)).toBe('ybar')
    expect(dimEquals(ybar, dimConv(dim('x'), three, 2, 1))).toBe(true)
    expect(dimSize(ybar, { x: 9, ybar: 4 })).toBe(4)
    expect(() => dimSize(ybar, { x: 9, ybar: 5 })).toThrow(/'ybar' is bound to 5 but derives as 4/)
  })
})

describe('constructors check their arguments at run time', () => {
  const cases: ReadonlyArray<readonly [string, () => unknown, RegExp]> = [
    ['softmax(undefined)', () => softmax(undefined as never), /softmax: the axis/],
    ['layerNorm(undefined)', () => layerNorm(undefined as never), /layerNorm: the axis/],
    ['max(undefined)', () => max(undefined as never), /max: the axis/],
    ['mean(3)', () => mean(3 as never), /mean: the axis/],
    ['pad(undefined, 1, 1)', () => pad(undefined as never, 1, 1), /pad: the axis/],
    ['pad(x, -1, 0)', () => pad('x', -1, 0), /pad: padding amounts/],
    ['unit(undefined)', () => unit(undefined as never), /unit: the axis/],
    [
      "convTensor('x', undefined)",
      () => convTensor('x', undefined as never),
      /convTensor: the kernel axis/,
    ],
    [
      "convTensor('x', 'k', { stride: 1.5 })",
      () => convTensor('x', 'k', { stride: 1.5 }),
      /convTensor: stride and dilation/,
    ],
    ['index(undefined, 0)', () => index(undefined as never, 0), /index: the axis/],
    ['index(x, undefined)', () => index('x', undefined as never), /index/],
    ['a malformed dim record', () => softmax({ kind: 'var' } as never), /softmax: the axis/],
    ['a dim record of no kind', () => softmax({ name: 'x' } as never), /softmax: the axis/],
  ]
  for (const [name, build, where] of cases)
    it(`${name} is a TermError naming the argument, expected and got`, () => {
      let caught: unknown
      try {
        build()
      } catch (e) {
        caught = e
      }
      expect(caught).toBeInstanceOf(TermError)
      const err = caught as TermError
      expect(err.message).toMatch(where)
      expect(err.details.expected).toBeDefined()
      expect(err.details.got).toBeDefined()
    })
  it('a dim record written by hand is rebuilt in canonical form', () => {
    const t = softmax({
      kind: 'conv',
      input: { kind: 'padded', base: { kind: 'var', name: 'h' }, before: 1, after: 1 },
      kernel: { kind: 'const', value: 3 },
      stride: 1,
      dilation: 1,
    } as never)
    expect(t.dom[0]?.[0]).toEqual(dim('h'))
  })
})

describe('the new dims in JSON', () => {
  it('round-trip through DimCodec, and a bad output padding is refused', () => {
    const y = dim('y')
    const dims = [
      dimCropped(y, 1, 2),
      dimSum('a', 'b'),
      dimConvT(y, dim('k'), 2, 1, 1),
      namedDim('ybar', dimConv(dim('x'), constDim(3), 2, 1)),
    ]
    for (const d of dims) {
      const back = DimCodec.decode(DimCodec.encode(d))
      expect(E.isRight(back)).toBe(true)
      if (E.isRight(back)) {
        expect(dimKey(back.right)).toBe(dimKey(d))
        expect(showDim(back.right)).toBe(showDim(d))
      }
    }
    const bad = DimCodec.decode({
      kind: 'convT',
      input: { kind: 'var', name: 'y' },
      kernel: { kind: 'var', name: 'k' },
      stride: 2,
      dilation: 1,
      outputPadding: 2,
    })
    expect(E.isLeft(bad)).toBe(true)
  })
})
