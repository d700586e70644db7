/**
 * Broadcasting is defined by its indexes (paper Fig. 13, 14): the broadcast of f at index i is f
 * applied to the i-th slices of the broadcast inputs and to the whole of the shared ones. The
 * evaluator computes broadcasts vectorised; here an independent reference loops over the indexes
 * of the broadcast axes, evaluates the body alone on each slice, and writes the results back at
 * their placements. The two must agree on random sizes and inputs.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Dim,
  type Shape,
  type Sizes,
  type Term,
  type UnaryOp,
  UNARY_OPS,
  add,
  broadcast,
  children,
  copy,
  dimKey,
  dimSize,
  drop,
  einsum,
  evaluate,
  id,
  index,
  layerNorm,
  linearLayer,
  max,
  mean,
  mul,
  par,
  param,
  relu,
  scale,
  seq,
  shapeSize,
  softmax,
  swap,
  unary,
  view,
  zero,
  dimProduct,
  pad,
  convTensor,
  convTensorAdjoint,
  cropAxis,
  toType,
  seededRandom,
} from '../src/index.js'

// ---------------------------------------------------------------------------------------------
// The reference: Fig. 13 as a loop

type Evaluator = (
  t: Term,
  sizes: Sizes,
  inputs: ReadonlyArray<Float64Array>,
  params: Readonly<Record<string, Float64Array>>,
) => Float64Array[]

const product = (xs: ReadonlyArray<number>): number => xs.reduce((p, q) => p * q, 1)
const extents = (s: Shape, sizes: Sizes): number[] => s.map((d: Dim) => dimSize(d, sizes))

/**
 * The broadcast `t` computed index by index: for every i of the broadcast axes (flattened in
 * row-major order), slice each broadcast input at its placement, pass shared inputs whole,
 * evaluate the body with `evalBody`, and write each output at its placement.
 */
const loopBroadcast = (
  t: Term,
  sizes: Sizes,
  inputs: ReadonlyArray<Float64Array>,
  params: Readonly<Record<string, Float64Array>>,
  evalBody: Evaluator,
): Float64Array[] => {
  if (t.kind !== 'broadcast') throw new Error(`loopBroadcast: not a broadcast: ${t.kind}`)
  const P = product(extents(t.axes, sizes))
  const outs = t.cod.map((s) => new Float64Array(shapeSize(s, sizes)))
  for (let i = 0; i < P; i++) {
    const args = t.body.dom.map((bodyShape, s) => {
      const at = t.inputs[s]
      const x = inputs[s] as Float64Array
      if (at === 'shared') return x
      if (at === undefined) throw new Error('missing placement')
      const e = extents(bodyShape, sizes)
      const M = product(e.slice(0, at))
      const Q = product(e.slice(at))
      const slice = new Float64Array(M * Q)
      for (let m = 0; m < M; m++)
        for (let q = 0; q < Q; q++) slice[m * Q + q] = x[(m * P + i) * Q + q] as number
      return slice
    })
    const res = evalBody(t.body, sizes, args, params)
    expect(res).toHaveLength(t.body.cod.length)
    t.body.cod.forEach((bodyShape, s) => {
      const at = t.outputs[s] as number
      const e = extents(bodyShape, sizes)
      const M = product(e.slice(0, at))
      const Q = product(e.slice(at))
      const r = res[s] as Float64Array
      const out = outs[s] as Float64Array
      expect(r).toHaveLength(M * Q)
      for (let m = 0; m < M; m++)
        for (let q = 0; q < Q; q++) out[(m * P + i) * Q + q] = r[m * Q + q] as number
    })
  }
  return outs
}

/** Loop over every broadcast met at the top (recursively into bodies), evaluating the rest. */
const reference: Evaluator = (t, sizes, inputs, params) =>
  t.kind === 'broadcast'
    ? loopBroadcast(t, sizes, inputs, params, reference)
    : evaluate(t, sizes, inputs, params)

/** The bodies are evaluated alone by the engine, one level deep only. */
const oneLevel: Evaluator = (t, sizes, inputs, params) =>
  loopBroadcast(t, sizes, inputs, params, (b, s, i, p) => evaluate(b, s, i, p))

// ---------------------------------------------------------------------------------------------
// Random data

/** Seeded uniform numbers in [0, 1): the engine's mulberry32, for test data only. */
const prng = seededRandom

const randomTensors = (
  type: ReadonlyArray<Shape>,
  sizes: Sizes,
  seed: number,
  lo = -2,
  hi = 2,
): Float64Array[] => {
  const next = prng(seed)
  return type.map((s) =>
    Float64Array.from({ length: shapeSize(s, sizes) }, () => lo + (hi - lo) * next()),
  )
}

/** Random values for every parameter of a term. */
const randomParamsOf = (t: Term, sizes: Sizes, seed: number): Record<string, Float64Array> => {
  const out: Record<string, Float64Array> = {}
  const visit = (u: Term): void => {
    if (u.kind === 'param' && out[u.name] === undefined)
      out[u.name] = randomTensors(
        [u.shape],
        sizes,
        seed + Object.keys(out).length * 7919,
      )[0] as Float64Array
    children(u).forEach(visit)
  }
  visit(t)
  return out
}

const expectClose = (
  got: ReadonlyArray<Float64Array>,
  want: ReadonlyArray<Float64Array>,
  tol = 1e-12,
): void => {
  expect(got.length).toBe(want.length)
  got.forEach((g, s) => {
    const w = want[s] as Float64Array
    if (g.length !== w.length) throw new Error(`output ${s}: length ${g.length}, want ${w.length}`)
    for (let n = 0; n < w.length; n++) {
      const a = g[n] as number
      const b = w[n] as number
      const ok = Number.isNaN(b)
        ? Number.isNaN(a)
        : Math.abs(a - b) <= tol * Math.max(1, Math.abs(b))
      if (!ok)
        throw new Error(
          `output ${s} entry ${n}: got ${a}, want ${b}\n got:  [${Array.from(g).join(', ')}]\n want: [${Array.from(w).join(', ')}]`,
        )
    }
  })
}

const sizeArb = fc.integer({ min: 1, max: 4 })
const sizesArb = (names: ReadonlyArray<string>): fc.Arbitrary<Record<string, number>> =>
  fc.record(Object.fromEntries(names.map((n) => [n, sizeArb])))

/**
 * The property of Fig. 13/14 for one broadcast term: on random sizes of `names` and random
 * inputs and params, the engine equals the loop (recursively, and one level deep).
 */
const agreesWithLoop = (
  t: Term,
  names: ReadonlyArray<string> | fc.Arbitrary<Record<string, number>>,
  numRuns = 30,
): void => {
  expect(t.kind).toBe('broadcast')
  const sizesArbitrary = Array.isArray(names)
    ? sizesArb(names)
    : (names as fc.Arbitrary<Record<string, number>>)
  fc.assert(
    fc.property(sizesArbitrary, fc.nat(), (sizes, seed) => {
      const inputs = randomTensors(t.dom, sizes, seed)
      const params = randomParamsOf(t, sizes, seed + 1)
      const got = evaluate(t, sizes, inputs, params)
      expect(got.map((g) => g.length)).toEqual(t.cod.map((s) => shapeSize(s, sizes)))
      expectClose(got, reference(t, sizes, inputs, params))
      expectClose(got, oneLevel(t, sizes, inputs, params))
    }),
    { numRuns },
  )
}

// ---------------------------------------------------------------------------------------------

describe('the reference loop itself', () => {
  it('computes Fig. 12 by hand: the mean of each row of a table', () => {
    const t = broadcast(mean('k'), ['y'])
    const x = Float64Array.from([1, 2, 3, 10, 20, 30])
    const [out] = reference(t, { y: 2, k: 3 }, [x], {})
    expect(out).toEqual(Float64Array.from([2, 20]))
    const [last] = reference(broadcast(mean('k'), ['y'], { at: 'last' }), { y: 2, k: 3 }, [x], {})
    // [k y] = [3 2]: columns of the 3x2 layout are the rows along k.
    expect(last).toEqual(Float64Array.from([(1 + 3 + 20) / 3, (2 + 10 + 30) / 3]))
  })

  it('is not the engine: a wrong placement is told apart', () => {
    // Read a [y k] input as if the axis were last: the loop then disagrees with the engine.
    const t = broadcast(softmax('k'), ['y'])
    const sizes = { y: 2, k: 3 }
    const [x] = randomTensors(t.dom, sizes, 5)
    const wrong = broadcast(softmax('k'), ['y'], { at: 'last' })
    const a = evaluate(t, sizes, [x as Float64Array])
    const b = reference(wrong, sizes, [x as Float64Array], {})
    expect(() => expectClose(a, b)).toThrow()
  })
})

describe('outer broadcasting (Fig. 13)', () => {
  it('at position 0', () => {
    agreesWithLoop(broadcast(softmax('k'), ['y']), ['y', 'k'])
    agreesWithLoop(broadcast(mean('k'), ['y']), ['y', 'k'])
  })

  it('at the last position', () => {
    agreesWithLoop(broadcast(softmax('k'), ['y'], { at: 'last' }), ['y', 'k'])
    agreesWithLoop(broadcast(einsum('a b -> b a'), ['y'], { at: 'last' }), ['y', 'a', 'b'])
  })

  it('at a middle position', () => {
    const t = broadcast(einsum('a b c -> c a b'), ['y'], { at: 1 })
    expect(t.dom[0]?.length).toBe(4)
    agreesWithLoop(t, ['y', 'a', 'b', 'c'])
    agreesWithLoop(broadcast(einsum('a b -> b a'), ['y'], { at: 1 }), ['y', 'a', 'b'])
  })

  it('at different positions for different segments', () => {
    // [a b y] × [y b] -> [a y]: a matrix-vector product per index of y.
    const t = broadcast(einsum('a b, b -> a'), ['y'], { inputs: [2, 0], outputs: [1] })
    expect(t.dom.map((s) => s.map(dimKey))).toEqual([
      ['a', 'b', 'y'],
      ['y', 'b'],
    ])
    expect(t.cod.map((s) => s.map(dimKey))).toEqual([['a', 'y']])
    agreesWithLoop(t, ['y', 'a', 'b'])
    agreesWithLoop(
      broadcast(einsum('a b, c -> c a b'), ['y'], {
        inputs: [1, 0],
        outputs: [2],
      }),
      ['y', 'a', 'b', 'c'],
    )
  })

  it('over no axes: the body itself', () => {
    const t = broadcast(softmax('k'), [])
    expect(t.dom).toEqual(softmax('k').dom)
    agreesWithLoop(t, ['k'])
  })

  it('over two axes at once', () => {
    agreesWithLoop(broadcast(softmax('k'), ['y', 'z']), ['y', 'z', 'k'])
    agreesWithLoop(broadcast(softmax('k'), ['y', 'z'], { at: 'last' }), ['y', 'z', 'k'])
    agreesWithLoop(broadcast(einsum('a b, b -> a'), ['y', 'z'], { inputs: [1, 1], outputs: [0] }), [
      'y',
      'z',
      'a',
      'b',
    ])
  })
})

describe('inner broadcasting (Fig. 14)', () => {
  it('a shared matrix applied to every vector', () => {
    // [a b] × [y b] -> [y a]: the matrix is passed whole to every application.
    const t = broadcast(einsum('a b, b -> a'), ['y'], { inputs: ['shared', 0], outputs: [0] })
    expect(t.dom[0]?.length).toBe(2)
    agreesWithLoop(t, ['y', 'a', 'b'])
  })

  it('a shared second segment, placed last in the first', () => {
    agreesWithLoop(broadcast(mul('k'), ['y'], { inputs: [0, 'shared'] }), ['y', 'k'])
    agreesWithLoop(broadcast(mul('k'), ['y'], { inputs: [1, 'shared'], outputs: [1] }), ['y', 'k'])
  })

  it('every input shared: the outputs are constant along the axis', () => {
    const t = broadcast(einsum('a, a -> a'), ['y'], { inputs: ['shared', 'shared'] })
    agreesWithLoop(t, ['y', 'a'])
    const [out] = evaluate(t, { y: 3, a: 2 }, [
      [1, 2],
      [3, 4],
    ])
    expect(out).toEqual(Float64Array.from([3, 8, 3, 8, 3, 8]))
  })

  it('two axes, one segment shared', () => {
    agreesWithLoop(
      broadcast(einsum('y k h, x k h -> y x h'), ['b', 'c'], {
        inputs: [0, 'shared'],
        outputs: [3],
      }),
      ['b', 'c', 'y', 'x', 'k', 'h'],
      25,
    )
  })
})

describe('nested broadcasts', () => {
  it('an outer broadcast of an outer broadcast', () => {
    agreesWithLoop(broadcast(broadcast(mean('k'), ['y']), ['z'], { at: 'last' }), ['z', 'y', 'k'])
    agreesWithLoop(broadcast(broadcast(softmax('k'), ['y'], { at: 'last' }), ['z'], { at: 1 }), [
      'z',
      'y',
      'k',
    ])
  })

  it('an inner broadcast with a shared input inside an outer broadcast', () => {
    const inner = broadcast(einsum('a b, b -> a'), ['y'], { inputs: ['shared', 0] })
    agreesWithLoop(broadcast(inner, ['z']), ['z', 'y', 'a', 'b'])
    agreesWithLoop(broadcast(inner, ['z'], { inputs: [2, 1], outputs: [2] }), ['z', 'y', 'a', 'b'])
  })

  it('an outer broadcast sharing an input with an inner broadcast', () => {
    const inner = broadcast(mul('k'), ['y'])
    agreesWithLoop(broadcast(inner, ['z'], { inputs: [0, 'shared'] }), ['z', 'y', 'k'])
    agreesWithLoop(broadcast(inner, ['z'], { inputs: ['shared', 1], outputs: [2] }), [
      'z',
      'y',
      'k',
    ])
  })

  it('three levels, with a linear layer at the bottom', () => {
    const t = broadcast(
      broadcast(broadcast(linearLayer('W', 'k', 'h', { bias: true }), ['y']), ['z'], {
        at: 'last',
      }),
      ['w'],
      { at: 1 },
    )
    agreesWithLoop(t, ['w', 'z', 'y', 'k', 'h'], 20)
  })

  it('a body that is a sequence containing broadcasts', () => {
    const body = seq(
      broadcast(softmax('k'), ['x']),
      broadcast(mean('x'), ['k'], { at: 'last' }),
      relu('k'),
    )
    agreesWithLoop(broadcast(body, ['y'], { at: 1 }), ['y', 'x', 'k'])
  })
})

describe('bodies of every kind', () => {
  it('a linear layer (params)', () => {
    agreesWithLoop(broadcast(linearLayer('W', 'k', 'h'), ['y']), ['y', 'k', 'h'])
    agreesWithLoop(broadcast(linearLayer('W', 'k', 'h', { bias: true }), ['y'], { at: 'last' }), [
      'y',
      'k',
      'h',
    ])
  })

  it('zero and param: outputs constant along the axis', () => {
    const z = broadcast(zero([['k'], []]), ['y'])
    expect(z.dom).toEqual([])
    agreesWithLoop(z, ['y', 'k'])
    const p = broadcast(param('b', 'k'), ['y'], { at: 'last' })
    agreesWithLoop(p, ['y', 'k'])
    const [out] = evaluate(p, { y: 3, k: 2 }, [], { b: [5, 7] })
    expect(out).toEqual(Float64Array.from([5, 5, 5, 7, 7, 7]))
    // A bias added to every row.
    const bias = broadcast(seq(par(id([['k']]), param('b', 'k')), add('k')), ['y'])
    agreesWithLoop(bias, ['y', 'k'])
  })

  it('copy, drop and swap', () => {
    agreesWithLoop(
      broadcast(copy([['k'], ['x']]), ['y'], { inputs: [0, 1], outputs: [0, 1, 1, 0] }),
      ['y', 'k', 'x'],
    )
    const d = broadcast(drop([['k']]), ['y'])
    expect(d.cod).toEqual([])
    expect(evaluate(d, { y: 2, k: 2 }, [[1, 2, 3, 4]])).toEqual([])
    agreesWithLoop(broadcast(par(drop([['k']]), relu('x')), ['y']), ['y', 'k', 'x'])
    agreesWithLoop(broadcast(swap([['k']], [['x']]), ['y'], { inputs: [1, 0], outputs: [0, 1] }), [
      'y',
      'k',
      'x',
    ])
    // A shared input passed straight through is spread along the axis.
    agreesWithLoop(broadcast(id([['k']]), ['y'], { inputs: ['shared'], outputs: [1] }), ['y', 'k'])
    agreesWithLoop(broadcast(id([['k'], []]), ['y'], { inputs: [1, 0], outputs: [0, 0] }), [
      'y',
      'k',
    ])
  })

  it('einsum, including diagonals, sums and spreads', () => {
    agreesWithLoop(broadcast(einsum('y k h, x k h -> y x h'), ['b']), ['b', 'y', 'x', 'k', 'h'], 25)
    agreesWithLoop(
      broadcast(einsum('y k h, x k h -> y x h'), ['b'], { inputs: [3, 1], outputs: [2] }),
      ['b', 'y', 'x', 'k', 'h'],
      25,
    )
    agreesWithLoop(
      broadcast(einsum('i i j -> j i', { dims: { i: 'a', j: 'b' } }), ['y'], { at: 1 }),
      ['y', 'a', 'b'],
    )
    agreesWithLoop(broadcast(einsum('a -> a c a', { dims: { c: 'b' } }), ['y'], { at: 'last' }), [
      'y',
      'a',
      'b',
    ])
    agreesWithLoop(broadcast(einsum(' -> a', {}), ['y']), ['y', 'a'])
  })

  it('softmax, layerNorm, max and the other axis maps', () => {
    agreesWithLoop(broadcast(softmax('k'), ['y'], { at: 1 }), ['y', 'k'])
    agreesWithLoop(broadcast(layerNorm('k'), ['y'], { at: 'last' }), ['y', 'k'])
    agreesWithLoop(broadcast(max('k'), ['y'], { at: 'last' }), ['y', 'k'])
    agreesWithLoop(broadcast(index('k', 0), ['y'], { at: 'last' }), ['y', 'k'])
    agreesWithLoop(broadcast(pad('k', 1, 2), ['y'], { at: 1 }), ['y', 'k'])
    agreesWithLoop(
      broadcast(view('a b', [dimProduct('a', 'b')]), ['y'], { inputs: [1], outputs: [0] }),
      ['y', 'a', 'b'],
    )
    // The input must be at least as long as the kernel (eq. 5): x = k + e - 1.
    const convSizes = sizesArb(['y', 'k', 'e']).map(({ y, k, e }) => ({
      y: y as number,
      k: k as number,
      x: (k as number) + (e as number) - 1,
    }))
    agreesWithLoop(broadcast(convTensor('x', 'k'), ['y'], { outputs: [1] }), convSizes, 20)
    agreesWithLoop(
      broadcast(convTensor('x', 'k', { stride: 2 }), ['y'], { at: 'last' }),
      convSizes,
      20,
    )
  })

  it('pad, crop and the convolution tensors broadcast after their axis (the block kernels)', () => {
    // The evaluator runs these on the input's own layout, [axis, broadcast axes] (kernels.ts,
    // convBlockKernel and the others), as conv1d and conv2d cut their spatial axes.
    agreesWithLoop(broadcast(pad('k', 1, 2), ['y', 'z'], { at: 'last' }), ['y', 'z', 'k'])
    const wide = sizesArb(['y', 'z', 'e']).map(({ y, z, e }) => ({
      y: y as number,
      z: z as number,
      x: (e as number) + 3,
    }))
    agreesWithLoop(broadcast(cropAxis('x', 1, 2), ['y', 'z'], { at: 'last' }), wide)
    // x = d (k - 1) + e with dilation d = 2: at least one block.
    const dilated = sizesArb(['y', 'z', 'k', 'e']).map(({ y, z, k, e }) => ({
      y: y as number,
      z: z as number,
      k: k as number,
      x: 2 * ((k as number) - 1) + (e as number),
    }))
    const options = { stride: 2, dilation: 2 }
    agreesWithLoop(
      broadcast(convTensor('x', 'k', options), ['y', 'z'], { at: 'last' }),
      dilated,
      20,
    )
    agreesWithLoop(
      broadcast(convTensorAdjoint('x', 'k', options), ['y', 'z'], { at: 'last' }),
      dilated,
      20,
    )
    // Nested as conv2d nests them: the outer broadcast first, the inner one after the axis.
    const cut = convTensor('x', 'k', options)
    agreesWithLoop(broadcast(broadcast(cut, ['z'], { at: 'last' }), ['y']), dilated, 20)
    // Undilated, a block's k entries are one run (the kernels' fast path), strides 1 and 2.
    const undilated = sizesArb(['y', 'z', 'k', 'e']).map(({ y, z, k, e }) => ({
      y: y as number,
      z: z as number,
      k: k as number,
      x: (k as number) - 1 + (e as number),
    }))
    for (const stride of [1, 2]) {
      agreesWithLoop(
        broadcast(convTensor('x', 'k', { stride }), ['y', 'z'], { at: 'last' }),
        undilated,
        20,
      )
      agreesWithLoop(
        broadcast(convTensorAdjoint('x', 'k', { stride }), ['y', 'z'], { at: 'last' }),
        undilated,
        20,
      )
      agreesWithLoop(
        broadcast(broadcast(convTensor('x', 'k', { stride }), ['z'], { at: 'last' }), ['y']),
        undilated,
        20,
      )
    }
  })
})

describe('element-wise maps (Fig. 15)', () => {
  const sizes = { y: 3, k: 4 }

  it.each(UNARY_OPS.map((op) => [op] as [UnaryOp]))(
    '%s over [y k] is the scalar function at each entry',
    (op) => {
      fc.assert(
        fc.property(sizeArb, sizeArb, fc.nat(), (y, k, seed) => {
          const f = unary(op, 'y k')
          const [x] = randomTensors(f.dom, { y, k }, seed, -3, 3)
          const [out] = evaluate(f, { y, k }, [x as Float64Array])
          const scalar = unary(op)
          const want = Float64Array.from(
            x as Float64Array,
            (v) => evaluate(scalar, {}, [[v]])[0]?.[0] as number,
          )
          expect(out).toEqual(want)
        }),
        { numRuns: 15 },
      )
    },
  )

  it('scale, add and mul over a shape are the scalar map at each entry', () => {
    const [a, b] = randomTensors(toType(['y k', 'y k']), sizes, 3)
    const each = (f: Term, ...xs: Float64Array[]) =>
      Float64Array.from(
        { length: 12 },
        (_, n) =>
          evaluate(
            f,
            {},
            xs.map((x) => [x[n] as number]),
          )[0]?.[0] as number,
      )
    expect(evaluate(scale(-2.5, 'y k'), sizes, [a as Float64Array])[0]).toEqual(
      each(scale(-2.5), a as Float64Array),
    )
    expect(evaluate(add('y k'), sizes, [a as Float64Array, b as Float64Array])[0]).toEqual(
      each(add(), a as Float64Array, b as Float64Array),
    )
    expect(evaluate(mul('y k'), sizes, [a as Float64Array, b as Float64Array])[0]).toEqual(
      each(mul(), a as Float64Array, b as Float64Array),
    )
  })

  it('an element-wise map agrees with the loop over either axis', () => {
    agreesWithLoop(broadcast(relu('k'), ['y']), ['y', 'k'])
    agreesWithLoop(broadcast(relu('y'), ['k'], { at: 'last' }), ['y', 'k'])
  })
})
