/**
 * Every kind of bad input gives the promised error: a `TermError` with the right `code`, whose
 * message names what was expected and what came (DESIGN.md sections 3-4, STYLE.md "Terms").
 * Evaluation refuses bad sizes, inputs and parameters, and tensors over the memory cap, before
 * any work; its outputs never alias its inputs.
 */
import { describe, expect, it } from 'vitest'
import {
  type ErrorCode,
  TermError,
  add,
  broadcast,
  constDim,
  convTensor,
  copy,
  dim,
  einsum,
  evaluate,
  id,
  index,
  layerNorm,
  linearLayer,
  mean,
  pad,
  par,
  param,
  relu,
  scale,
  seq,
  softmax,
  view,
  dimProduct,
  DEFAULT_MEMORY_CAP,
} from '../src/index.js'

/**
 * Run `f`, expect a `TermError` with `code`, and every fragment in its message. Returns the error
 * for further checks.
 */
const expectTermError = (
  f: () => unknown,
  code: ErrorCode,
  ...fragments: ReadonlyArray<string | RegExp>
): TermError => {
  let caught: unknown
  try {
    f()
  } catch (e) {
    caught = e
  }
  if (caught === undefined)
    throw new Error(`expected a TermError '${code}', but nothing was thrown`)
  if (!(caught instanceof TermError))
    throw new Error(`expected a TermError '${code}', got ${String(caught)}`)
  expect(caught.code, caught.message).toBe(code)
  expect(caught.name).toBe('TermError')
  for (const frag of fragments)
    if (typeof frag === 'string') expect(caught.message).toContain(frag)
    else expect(caught.message).toMatch(frag)
  return caught
}

/** The error says what was expected and what came. */
const expectBoth = (e: TermError, expected: string | RegExp, got: string | RegExp): void => {
  expect(e.details.expected, e.message).toBeDefined()
  expect(e.details.got, e.message).toBeDefined()
  if (typeof expected === 'string') expect(e.details.expected).toContain(expected)
  else expect(e.details.expected).toMatch(expected)
  if (typeof got === 'string') expect(e.details.got).toContain(got)
  else expect(e.details.got).toMatch(got)
  expect(e.message).toContain(`expected: ${e.details.expected}`)
  expect(e.message).toContain(`got:      ${e.details.got}`)
}

// ---------------------------------------------------------------------------------------------

describe('ill-typed composition', () => {
  it('seq names both types and marks the offending part', () => {
    const e = expectTermError(
      () => seq(linearLayer('W', 'k', 'h'), relu('h'), linearLayer('V', 'k', 'x')),
      'type-mismatch',
      'part 3 expects [k] but part 2 gives [h]',
    )
    expectBoth(e, '[k]', '[h]')
    expect(e.details.where).toMatch(/>>L\(V: k -> x\)<</)
    // Only the offending part is marked.
    expect(e.details.where?.match(/>>/g)).toHaveLength(1)
    expect(e.details.where).toContain('relu[h]')
    expect(e.message).toContain('  at seq(')
    expect(e.details.hint).toBeDefined()
  })

  it('a part used twice is marked only where it fails', () => {
    // Reusing one term object (a layer applied twice) must not mark both occurrences.
    const L = linearLayer('W', 'k', 'k')
    const e = expectTermError(
      () => seq(L, mean('k'), L),
      'type-mismatch',
      'part 3 expects [k] but part 2 gives []',
    )
    expect(e.details.where?.match(/>>/g)).toHaveLength(1)
    expect(e.details.where).toMatch(/^seq\(L\(W: k -> k\), mean\(k\), >>L\(W: k -> k\)<<\)$/)
  })

  it('a hint for permuted axes', () => {
    const e = expectTermError(
      () => seq(einsum('y k -> y k'), relu('k y')),
      'type-mismatch',
      'expects [k y]',
      'gives [y k]',
    )
    expect(e.details.hint).toContain("einsum('y k -> k y')")
    expect(e.message).toContain('hint: ')
    expect(e.details.where).toMatch(/>>relu\[k y\]<</)
  })

  it('a hint for a wrong number of segments', () => {
    const e = expectTermError(() => seq(copy([['k']]), relu('k')), 'type-mismatch', '[k] × [k]')
    expectBoth(e, '[k]', '[k] × [k]')
    expect(e.details.hint).toMatch(/segment/)
  })

  it('a scalar map where a shape is needed', () => {
    expectTermError(() => seq(mean('k'), relu('k')), 'type-mismatch', 'expects [k] but', '[]')
  })

  it('seq of nothing', () => {
    expectTermError(() => seq(), 'bad-arity', 'at least one part')
  })
})

describe('bad einsum specs', () => {
  it('no arrow', () => {
    const e = expectTermError(() => einsum('a b'), 'bad-einsum', "exactly one '->'")
    expectBoth(e, '->', '"a b"')
  })

  it('two arrows', () => {
    const e = expectTermError(() => einsum('a -> b -> c'), 'bad-einsum', "exactly one '->'")
    expectBoth(e, '->', 'a -> b -> c')
  })

  it('a bad label', () => {
    const e = expectTermError(() => einsum('a 1b -> a'), 'bad-einsum', "'1b'", 'input 0')
    expectBoth(e, 'labels', '1b')
    expectTermError(() => einsum('a -> a-b'), 'bad-einsum', "'a-b'", 'the output')
    const g = expectTermError(() => einsum('(a b) c -> c'), 'bad-einsum', 'not an axis label')
    expect(g.details.hint).toContain('view')
  })

  it('dims for a label the spec does not use', () => {
    const e = expectTermError(
      () => einsum('a -> a', { dims: { b: 'c' } }),
      'bad-einsum',
      "label 'b'",
    )
    expectBoth(e, 'a', 'b')
    expect(e.details.where).toContain("einsum('a -> a')")
  })
})

describe('bad broadcast placements', () => {
  it('the wrong number of input placements', () => {
    const e = expectTermError(
      () => broadcast(add('k'), ['y'], { inputs: [0] }),
      'bad-broadcast',
      'one placement per input segment',
    )
    expectBoth(e, '2 placements', '1')
  })

  it('the wrong number of output placements', () => {
    const e = expectTermError(
      () => broadcast(copy([['k']]), ['y'], { outputs: [0] }),
      'bad-broadcast',
      'one placement per output segment',
    )
    expectBoth(e, '2 placements', '1')
  })

  it('a position out of range', () => {
    const e = expectTermError(
      () => broadcast(relu('k'), ['y'], { inputs: [2] }),
      'bad-broadcast',
      'out of range',
      'input segment 0',
    )
    expectBoth(e, 'from 0 to 1', '2')
    expectTermError(
      () => broadcast(relu('k'), ['y'], { outputs: [-1] }),
      'bad-broadcast',
      'output segment 0',
    )
    expectTermError(() => broadcast(relu('k'), ['y'], { at: 0.5 }), 'bad-broadcast', 'out of range')
    expectTermError(
      () => broadcast(mean('k'), ['y'], { outputs: [1] }),
      'bad-broadcast',
      'from 0 to 0',
    )
  })
})

describe('bad structural maps', () => {
  it('a view between shapes of different sizes', () => {
    const e = expectTermError(() => view('a b', 'a c'), 'bad-view', '[a b]', '[a c]')
    expectBoth(e, '[a b]', '[a c]')
    expectTermError(() => view('a b', [dimProduct('a', 'b'), 'c']), 'bad-view', 'same size')
    expectTermError(() => view('a b', 'a'), 'bad-view')
  })

  it('an index that is negative, not an integer, or past a default size', () => {
    expectBoth(
      expectTermError(() => index('a', -1), 'bad-index', 'integer >= 0'),
      '>= 0',
      '-1',
    )
    expectBoth(
      expectTermError(() => index('a', 1.5), 'bad-index'),
      'integer',
      '1.5',
    )
    expectBoth(
      expectTermError(() => index('a', NaN), 'bad-index'),
      'integer',
      'NaN',
    )
    const e = expectTermError(
      () => index(dim('a', { size: 3 }), 3),
      'bad-index',
      'past the end of a',
    )
    expectBoth(e, 'from 0 to 2', '3')
    expectTermError(() => index(constDim(2), 2), 'bad-index', 'size 2')
    // The last valid position is fine.
    expect(index(dim('a', { size: 3 }), 2).kind).toBe('index')
  })

  it('an index past a bound size, at evaluation', () => {
    const e = expectTermError(
      () => evaluate(index('a', 3), { a: 3 }, [[1, 2, 3]]),
      'bad-index',
      'index 3 is past the end of a',
    )
    expectBoth(e, 'a = 3', '3')
    // Also deep inside a broadcast, and before any input is looked at.
    expectTermError(
      () => evaluate(broadcast(index('a', 5), ['b']), { a: 2, b: 2 }, [[1]]),
      'bad-index',
      'past the end',
    )
  })

  it('bad pad arguments', () => {
    const e = expectTermError(() => pad('x', -1, 0), 'bad-argument', 'integers >= 0')
    expectBoth(e, 'before >= 0', 'before = -1')
    expectBoth(
      expectTermError(() => pad('x', 0, 1.5), 'bad-argument'),
      'after >= 0',
      'after = 1.5',
    )
  })

  it('bad convolution arguments', () => {
    const e = expectTermError(
      () => convTensor('x', 'k', { stride: 0 }),
      'bad-argument',
      'positive integers',
    )
    expectBoth(e, 'stride >= 1', 'stride = 0')
    expectBoth(
      expectTermError(() => convTensor('x', 'k', { dilation: 1.5 }), 'bad-argument'),
      'dilation >= 1',
      'dilation = 1.5',
    )
  })

  it('a convolution whose output would be empty', () => {
    // With default sizes, refused at construction: x = 4 < d (k - 1) + 1 = 5.
    const e = expectTermError(
      () => convTensor(dim('x', { size: 4 }), dim('k', { size: 3 }), { dilation: 2 }),
      'bad-size',
      'would be empty',
    )
    expectBoth(e, '= 5', 'input x = 4, kernel k = 3')
    expect(e.details.hint).toMatch(/pad/)
    // With bound sizes, refused at evaluation.
    const c = convTensor('x', 'k', { stride: 2 })
    const f = expectTermError(
      () => evaluate(c, { x: 2, k: 3 }, [[1, 2]]),
      'bad-size',
      'would be empty',
    )
    expectBoth(f, '= 3', 'input x = 2, kernel k = 3')
    // The smallest input that fits gives one block.
    expect(evaluate(c, { x: 3, k: 3 }, [[1, 2, 3]])[0]).toEqual(Float64Array.from([1, 2, 3]))
  })

  it('other bad arguments of constructors', () => {
    expectTermError(() => scale(NaN), 'bad-argument', 'finite')
    expectTermError(() => scale(Infinity, 'k'), 'bad-argument', 'finite')
    expectTermError(() => layerNorm('k', { epsilon: -1 }), 'bad-argument', 'epsilon')
    expectTermError(() => dim('2y'), 'bad-dim', "'2y'")
    expectTermError(() => dim('y', { size: 0 }), 'bad-dim', 'positive integer')
    expectTermError(() => constDim(1.5), 'bad-dim')
    expectTermError(() => param('1W', 'k'), 'bad-argument', "'1W'")
  })
})

// ---------------------------------------------------------------------------------------------

describe('evaluate refuses bad calls', () => {
  const f = relu('y')

  it('the wrong number of inputs', () => {
    const e = expectTermError(
      () => evaluate(f, { y: 2 }, [[1, 2], [3]]),
      'bad-input',
      'takes 1 input segment(s) but 2 came',
    )
    expectBoth(e, '[y]', '2 tensors')
    expectTermError(() => evaluate(add('y'), { y: 2 }, [[1, 2]]), 'bad-input', 'takes 2 input')
    expectTermError(() => evaluate(f, { y: 2 }, []), 'bad-input', 'but 0 came')
  })

  it('an input of the wrong length', () => {
    const e = expectTermError(
      () => evaluate(f, { y: 2 }, [[1, 2, 3]]),
      'bad-input',
      'input 0 should have 2 entries but has 3',
    )
    expectBoth(e, '[y] = 2 entries', '3 entries')
    expectTermError(
      () => evaluate(add('y'), { y: 2 }, [[1, 2], new Float64Array(1)]),
      'bad-input',
      'input 1 should have 2 entries but has 1',
    )
  })

  it('inputs that are not arrays of tensors', () => {
    const e = expectTermError(
      () => evaluate(f, { y: 2 }, 'ab' as unknown as number[][]),
      'bad-input',
      'no array came',
    )
    expectBoth(e, '1 tensors', 'string')
    const g = expectTermError(
      () => evaluate(f, { y: 2 }, ['ab' as unknown as number[]]),
      'bad-input',
      'input 0 is not a tensor',
    )
    expectBoth(g, 'Float64Array or number[]', 'string')
    expectTermError(
      () => evaluate(f, { y: 2 }, [[1, '2'] as unknown as number[]]),
      'bad-input',
      'not a tensor',
    )
    expectTermError(
      () => evaluate(f, { y: 2 }, [new Float32Array(2) as unknown as number[]]),
      'bad-input',
      'not a tensor',
    )
  })

  it('an unbound dim', () => {
    const e = expectTermError(() => evaluate(f, {}, [[1, 2]]), 'unbound-dim', "dim 'y' has no size")
    expectBoth(e, "'y'", 'sizes {}')
    expect(e.details.hint).toContain('y:')
    // A default size binds it.
    expect(evaluate(relu([dim('y', { size: 2 })]), {}, [[-1, 1]])[0]).toEqual(
      Float64Array.from([0, 1]),
    )
    // Dims only used inside (here, a contracted label) are checked too.
    expectTermError(
      () => evaluate(seq(einsum('y h -> y'), relu('y')), { y: 1 }, [[1]]),
      'unbound-dim',
      "'h'",
    )
  })

  it.each([0, 2.5, NaN, Infinity, -1])('the size %s', (n) => {
    const e = expectTermError(
      () => evaluate(f, { y: n }, [[1, 2]]),
      'bad-size',
      "the size of 'y' must be a positive integer",
    )
    expectBoth(e, 'integer >= 1', `y: ${String(n)}`)
  })

  it('a bad size for a dim the term does not use is refused too', () => {
    expectTermError(() => evaluate(f, { y: 2, z: 0 }, [[1, 2]]), 'bad-size', "'z'")
  })

  it('a missing param', () => {
    const L = linearLayer('W', 'k', 'h')
    const e = expectTermError(
      () => evaluate(L, { k: 2, h: 1 }, [[1, 2]]),
      'bad-input',
      "parameter 'W.weight' is missing",
    )
    expectBoth(e, "params['W.weight'] with 2 entries ([h k])", 'params with []')
    const g = expectTermError(
      () => evaluate(L, { k: 2, h: 1 }, [[1, 2]], { 'W.bias': [1] }),
      'bad-input',
      "'W.weight' is missing",
    )
    expect(g.details.got).toContain('W.bias')
  })

  it('a param of the wrong length', () => {
    const e = expectTermError(
      () => evaluate(linearLayer('W', 'k', 'h'), { k: 2, h: 3 }, [[1, 2]], { 'W.weight': [1, 2] }),
      'bad-input',
      "parameter 'W.weight' should have 6 entries but has 2",
    )
    expectBoth(e, '[h k] = 6 entries', '2 entries')
  })

  it('one param name used with two shapes', () => {
    const t = par(param('P', 'k'), param('P', 'h'))
    expectTermError(() => evaluate(t, { k: 2, h: 3 }, [], { P: [1, 2] }), 'bad-argument', "'P'")
  })

  it('a bad memory cap', () => {
    expectTermError(
      () => evaluate(f, { y: 2 }, [[1, 2]], {}, { memoryCap: 0 }),
      'bad-argument',
      'memoryCap',
    )
  })
})

describe('the memory cap', () => {
  it('refuses a tensor over the cap, naming its shape and size', () => {
    const e = expectTermError(
      () => evaluate(f101, { y: 101 }, [new Float64Array(101)], {}, { memoryCap: 100 }),
      'memory-cap',
      'a tensor of 101 entries is over the memory cap of 100',
    )
    expectBoth(e, 'at most 100 entries', '[y] = 101 entries')
    // At the cap it runs.
    expect(
      evaluate(f101, { y: 100 }, [new Float64Array(100)], {}, { memoryCap: 100 }),
    ).toHaveLength(1)
  })

  it('refuses an intermediate over the cap (in a seq, in a broadcast)', () => {
    // [a] × [b] -> [a b] -> [a]: inputs and output are small, the middle is 121 entries.
    const t = seq(einsum('a, b -> a b'), einsum('a b -> a'))
    expectTermError(
      () =>
        evaluate(
          t,
          { a: 11, b: 11 },
          [new Float64Array(11), new Float64Array(11)],
          {},
          { memoryCap: 100 },
        ),
      'memory-cap',
      '[a b]',
    )
    expect(
      evaluate(
        t,
        { a: 10, b: 10 },
        [new Float64Array(10), new Float64Array(10)],
        {},
        { memoryCap: 100 },
      ),
    ).toHaveLength(1)
    // A [k] softmax broadcast over y holds y k entries.
    const b = broadcast(seq(softmax('k'), mean('k')), ['y'])
    expectTermError(
      () => evaluate(b, { y: 11, k: 10 }, [new Float64Array(110)], {}, { memoryCap: 100 }),
      'memory-cap',
    )
  })

  it('counts a shared input or a parameter once, not once per broadcast index', () => {
    // The evaluator never copies a value that does not vary along a broadcast (evaluate.ts:
    // "a shared input is never copied per index"), so no tensor here is over 100 entries:
    // the weight [h k] = 100 is held once, the batched values are [y k] = [y h] = 20.
    const sizes = { y: 2, k: 10, h: 10 }
    const W = Float64Array.from({ length: 100 }, (_, n) => (n % 11 === 0 ? 2 : 0)) // 2 I
    const v = Float64Array.from({ length: 20 }, (_, n) => n)
    const layer = broadcast(linearLayer('W', 'k', 'h'), ['y'])
    const [a] = evaluate(layer, sizes, [v], { 'W.weight': W }, { memoryCap: 100 })
    expect(a).toEqual(Float64Array.from(v, (x) => 2 * x))
    // The same with the matrix as a shared input (inner broadcasting, Fig. 14).
    const inner = broadcast(einsum('h k, k -> h'), ['y'], { inputs: ['shared', 0] })
    const [b] = evaluate(inner, sizes, [W, v], {}, { memoryCap: 100 })
    expect(b).toEqual(Float64Array.from(v, (x) => 2 * x))
  })

  it('refuses before any work: not one input entry is read', () => {
    let reads = 0
    const watched = (n: number): number[] =>
      new Proxy(new Array<number>(n).fill(0), {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key)) reads++
          return Reflect.get(target, key, receiver) as unknown
        },
      })
    const t = seq(einsum('a, b -> a b'), einsum('a b -> a'))
    expectTermError(
      () => evaluate(t, { a: 11, b: 11 }, [watched(11), watched(11)], {}, { memoryCap: 100 }),
      'memory-cap',
    )
    expect(reads).toBe(0)
    // The watch works: an accepted evaluation reads the inputs.
    evaluate(t, { a: 3, b: 3 }, [watched(3), watched(3)], {}, { memoryCap: 100 })
    expect(reads).toBeGreaterThan(0)
  })

  it('refuses huge sizes at once under the default cap, without allocating', () => {
    expect(DEFAULT_MEMORY_CAP).toBe(2 ** 27)
    const y = 1e6
    const big = new Float64Array(y)
    const start = performance.now()
    const e = expectTermError(
      () => evaluate(einsum('y, y -> y y'), { y }, [big, big]),
      'memory-cap',
      `${1e12} entries`,
    )
    expect(e.details.got).toContain('[y y]')
    // Even with inputs of the wrong length: the cap is checked first, from the types alone.
    expectTermError(() => evaluate(einsum('y, x -> y x'), { y, x: y }, [[], []]), 'memory-cap')
    // A product far past 2^53 is still refused as over the cap, not as a RangeError.
    expectTermError(
      () => evaluate(einsum('a, b, c -> a b c'), { a: y, b: y, c: y }, [[], [], []]),
      'memory-cap',
    )
    // Refusing is cheap: no loop over 10^12 entries ran (a generous bound, not a benchmark).
    expect(performance.now() - start).toBeLessThan(2000)
  })
})

const f101 = relu('y')

// ---------------------------------------------------------------------------------------------

describe('outputs never alias inputs', () => {
  it('id: mutating the output leaves the input alone', () => {
    const x = Float64Array.from([1, 2, 3])
    const [out] = evaluate(id([['y']]), { y: 3 }, [x])
    expect(out).toEqual(x)
    ;(out as Float64Array)[0] = 99
    expect(x[0]).toBe(1)
  })

  it('maps that move no data: view, identity einsum, id, broadcast id, an identity layer', () => {
    const x = Float64Array.from([1, 2, 3, 4])
    const terms = [
      view('a b', [dimProduct('a', 'b')]),
      einsum('a b -> a b'),
      seq(relu('a b'), id([['a', 'b']])),
      broadcast(id([['b']]), ['a']),
      broadcast(linearLayer('W', 'b', 'b'), ['a']),
    ]
    for (const t of terms) {
      const [out] = evaluate(t, { a: 2, b: 2 }, [x], { 'W.weight': [1, 0, 0, 1] })
      expect(out).not.toBe(x)
      ;(out as Float64Array).fill(-7)
      expect(Array.from(x)).toEqual([1, 2, 3, 4])
    }
  })

  it('copy: the two outputs are distinct arrays, neither the input', () => {
    const x = Float64Array.from([1, 2])
    const [a, b] = evaluate(copy([['y']]), { y: 2 }, [x]) as [Float64Array, Float64Array]
    expect(a).not.toBe(b)
    expect(a).not.toBe(x)
    a[0] = 5
    expect(b[0]).toBe(1)
    expect(x[0]).toBe(1)
  })

  it('param: the output is not the params array', () => {
    const w = Float64Array.from([1, 2])
    const [out] = evaluate(param('W', 'k'), { k: 2 }, [], { W: w })
    ;(out as Float64Array)[1] = 0
    expect(w[1]).toBe(2)
  })

  it('inputs are never mutated by evaluation', () => {
    const x = Float64Array.from([3, -1, 2, 5, 0, -4])
    const copyOfX = Float64Array.from(x)
    const t = seq(
      broadcast(softmax('k'), ['y']),
      copy([['y', 'k']]),
      par(relu('y k'), scale(2, 'y k')),
      add('y k'),
    )
    evaluate(t, { y: 2, k: 3 }, [x])
    expect(x).toEqual(copyOfX)
  })
})
