import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { termWithSizesArb } from '../src/testing/arbitraries.js'
import { evaluate } from '../src/eval/evaluate.js'
import {
  DIM_KINDS as ALL_DIM_KINDS,
  TERM_KINDS as ALL_TERM_KINDS,
  type DecodeProblem,
  type Dim,
  type Shape,
  type Term,
  type TupleType,
  TermCodec,
  TermError,
  UNARY_OPS,
  add,
  attempt,
  attention,
  box,
  broadcast,
  constDim,
  convTensor,
  copy,
  cup,
  derivative,
  dimConvT,
  dimCropped,
  dimSum,
  generator,
  generatorTranspose,
  namedDim,
  decodeDim,
  decodeShape,
  decodeTerm,
  decodeTermJson,
  decodeType,
  dim,
  dimConv,
  dimEquals,
  dimPadded,
  dimProduct,
  drop,
  einsum,
  encodeDim,
  encodeShape,
  encodeTerm,
  encodeTermDocument,
  encodeType,
  id,
  index,
  layerNorm,
  linearLayer,
  max,
  mean,
  mlp,
  mul,
  par,
  param,
  pad,
  concat,
  split,
  relu,
  scale,
  scaleBySize,
  seq,
  showProblems,
  showType,
  softmax,
  swap,
  termFromJson,
  termToJson,
  toShape,
  toType,
  unary,
  unit,
  view,
  zero,
} from '../src/index.js'

const y = dim('y', { size: 7, mark: 'width' })
const k = dim('k', { mark: 'depth' })
const x = dim('x')
const hw = dimProduct('h', 'w')
const conv = dimConv(x, k, 2, 2)
const padded = dimPadded(x, 1, 2)

/** One term or more of every kind, with every kind of dim somewhere in it. */
const examples: ReadonlyArray<readonly [string, Term]> = [
  ['id', id([[y, k], []])],
  ['id of the empty tuple', id([])],
  ['seq', seq(relu(['k']), mean('k'))],
  ['par', par(relu([k]), mean('x'), id([]))],
  ['swap', swap([[y]], [[x], []])],
  ['copy', copy([[x]])],
  ['drop', drop([[x, k]])],
  ['linearLayer with bias', linearLayer('W', k, 'h', { bias: true })],
  ['linearLayer without bias', linearLayer('V', 'h', k)],
  [
    'broadcast with a shared input and non-zero positions',
    broadcast(einsum('a k, k -> a k'), [y], { inputs: [1, 'shared'], outputs: [2] }),
  ],
  ['broadcast at the end', broadcast(mean('k'), ['y'], { at: 'last' })],
  ['unit', unit(y)],
  ['cup', cup('a')],
  [
    'einsum with dims bindings',
    einsum('i j, j l -> i l', { dims: { i: y, j: hw, l: constDim(3) } }),
  ],
  ['einsum with a diagonal and a scalar input', einsum('a a, -> a')],
  ['scale(0.5)', scale(0.5)],
  ['scale over a shape', scale(-2.25, 'y x')],
  ['scale by a power of a size', scaleBySize(k, -0.5, 'y x')],
  ['scale by a factor and a size', scale(3, [], { bySize: { dim: hw, power: 2 } })],
  ['add', add()],
  ['mul over a shape', mul([y])],
  ...UNARY_OPS.map((op): readonly [string, Term] => [op, unary(op)]),
  ['softmax', softmax(x)],
  ['layerNorm with a custom epsilon', layerNorm(k, { epsilon: 1e-3 })],
  ['layerNorm', layerNorm('k')],
  ['max', max('k')],
  ['mean', mean(y)],
  ['index', index(y, 3)],
  ['index on a const dim', index(constDim(4), 0)],
  ['view with dimProduct', view('h w c', [hw, 'c'])],
  ['view of a const factor', view([constDim(2), 'a'], [dimProduct(constDim(2), 'a')])],
  ['pad', pad('x', 1, 2)],
  ['a padded dim downstream', seq(pad(x, 1, 2), relu([padded]))],
  ['convTensor with stride 2 dilation 2', convTensor('x', 'k', { stride: 2, dilation: 2 })],
  [
    'a conv dim downstream',
    seq(convTensor(x, k, { stride: 2, dilation: 2 }), broadcast(max(k), [conv])),
  ],
  [
    'concat',
    concat(0, [
      ['a', y],
      ['b', y],
    ]),
  ],
  [
    'split',
    split(-1, [
      [y, 'a'],
      [y, 'a'],
      [y, 'b'],
    ]),
  ],
  ['zero', zero([[y], []])],
  ['param', param('W.weight', [y, k])],
  ['box', box('Act', relu(['k']))],
  ['the MLP of Fig. 21', mlp({ input: 'h w', hidden: ['k'], output: 'c' })],
  ['attention (Fig. 22)', attention({ y: 'y', x: 'x', k: 'k' })],
  ['derivative D(relu) (Fig. 32)', derivative(relu(['k']))],
  ['a generator (Fig. 7)', generator('G', [['x']], [['y']])],
  [
    'the transpose of a linear generator (Fig. 20)',
    generatorTranspose(generator('H', [['y']], [['z']], { linearity: 'linear' })),
  ],
  ['a cropped dim', id([[dimCropped('x', 1, 2)]])],
  ['a sum dim', id([[dimSum('a', 'b', 3)]])],
  ['a transposed-convolution dim', id([[dimConvT('y', 'k', 2, 1, 1)]])],
  ['a named dim', id([[namedDim('ybar', dimProduct('y', 2))]])],
]

const TERM_KINDS: ReadonlyArray<string> = ALL_TERM_KINDS
const DIM_KINDS: ReadonlyArray<string> = ALL_DIM_KINDS

/** Every `kind` written anywhere in a JSON value (term kinds and dim kinds differ). */
const kindsIn = (json: unknown, into: Set<string> = new Set()): Set<string> => {
  if (Array.isArray(json)) json.forEach((v) => kindsIn(v, into))
  else if (typeof json === 'object' && json !== null)
    for (const [key, v] of Object.entries(json)) {
      if (key === 'kind' && typeof v === 'string') into.add(v)
      kindsIn(v, into)
    }
  return into
}

/** Every key of every object in a JSON value. */
const keysIn = (json: unknown, into: Set<string> = new Set()): Set<string> => {
  if (Array.isArray(json)) json.forEach((v) => keysIn(v, into))
  else if (typeof json === 'object' && json !== null)
    for (const [key, v] of Object.entries(json)) {
      into.add(key)
      keysIn(v, into)
    }
  return into
}

const problemsOf = (
  r: E.Either<ReadonlyArray<DecodeProblem>, unknown>,
): ReadonlyArray<DecodeProblem> => {
  if (E.isRight(r)) throw new Error('expected the document to be refused')
  return r.left
}

const pathsOf = (r: E.Either<ReadonlyArray<DecodeProblem>, unknown>): ReadonlyArray<string> =>
  problemsOf(r).map((p) => p.path)

describe('round trip of hand-written terms', () => {
  it('the list covers every term kind and every dim kind', () => {
    const kinds = kindsIn(examples.map(([, t]) => encodeTerm(t)))
    expect([...kinds].filter((k) => TERM_KINDS.includes(k)).sort()).toEqual([...TERM_KINDS].sort())
    expect([...kinds].filter((k) => DIM_KINDS.includes(k)).sort()).toEqual([...DIM_KINDS].sort())
  })

  it.each(examples)('%s: decode(encode(t)) equals t', (_, t) => {
    expect(decodeTerm(encodeTerm(t))).toEqual(E.right(t))
    expect(decodeTerm(encodeTermDocument(t))).toEqual(E.right(t))
    expect(decodeTermJson(termToJson(t))).toEqual(E.right(t))
    expect(termFromJson(termToJson(t, { indent: 2 }))).toEqual(E.right(t))
    expect(TermCodec.decode(TermCodec.encode(t))).toEqual(E.right(t))
  })

  it.each(examples)('%s: the JSON holds no derived field', (_, t) => {
    const keys = keysIn(encodeTerm(t))
    // A generator's `linearity` is its declaration (the JSON must keep it), not a derived field.
    const derivedKeys =
      t.kind === 'generator' ? ['dom', 'cod', 'poly'] : ['dom', 'cod', 'linearity', 'poly']
    for (const derived of derivedKeys) expect(keys.has(derived)).toBe(false)
  })

  it('writes the documented forms', () => {
    const v = (name: string) => ({ kind: 'var', name })
    expect(encodeTerm(einsum('y k, x k -> y x'))).toEqual({
      kind: 'einsum',
      inputs: [
        ['y', 'k'],
        ['x', 'k'],
      ],
      output: ['y', 'x'],
      dims: { k: v('k'), x: v('x'), y: v('y') },
    })
    expect(encodeTerm(unit('a'))).toEqual({
      kind: 'einsum',
      inputs: [[]],
      output: ['a', 'a'],
      dims: { a: v('a') },
      name: 'unit',
    })
    expect(
      encodeTerm(
        broadcast(einsum('a k, k -> a k'), ['y'], { inputs: [1, 'shared'], outputs: [0] }),
      ),
    ).toMatchObject({ kind: 'broadcast', axes: [v('y')], inputs: [1, 'shared'], outputs: [0] })
    expect(encodeTerm(scale(0.5))).toEqual({ kind: 'scalar', op: 'scale', factor: 0.5 })
    expect(encodeTerm(relu())).toEqual({ kind: 'scalar', op: 'relu' })
    expect(encodeTerm(scaleBySize('k', -0.5))).toEqual({
      kind: 'scalar',
      op: 'scale',
      factor: 1,
      bySize: { dim: v('k'), power: -0.5 },
    })
    expect(encodeTerm(layerNorm('k'))).toEqual({
      kind: 'axisOp',
      op: 'layerNorm',
      axis: v('k'),
      epsilon: 1e-5,
    })
    expect(encodeTerm(mean('k'))).toEqual({ kind: 'axisOp', op: 'mean', axis: v('k') })
    expect(encodeTerm(box('B', relu()))).toEqual({
      kind: 'box',
      name: 'B',
      body: { kind: 'scalar', op: 'relu' },
    })
    expect(encodeTerm(seq(relu(), scale(2)))).toEqual({
      kind: 'seq',
      parts: [
        { kind: 'scalar', op: 'relu' },
        { kind: 'scalar', op: 'scale', factor: 2 },
      ],
    })
    expect(JSON.parse(termToJson(relu()))).toEqual({
      format: 'ncd-term',
      version: 1,
      term: { kind: 'scalar', op: 'relu' },
    })
  })

  it('reads the optional constructor arguments left out', () => {
    const vk = { kind: 'var', name: 'k' }
    expect(decodeTerm({ kind: 'axisOp', op: 'layerNorm', axis: vk })).toEqual(
      E.right(layerNorm('k')),
    )
    expect(
      decodeTerm({ kind: 'convTensor', input: { kind: 'var', name: 'x' }, kernel: vk }),
    ).toEqual(E.right(convTensor('x', 'k')))
    expect(decodeTerm({ kind: 'einsum', inputs: [['y', 'k']], output: ['y'] })).toEqual(
      E.right(einsum('y k -> y')),
    )
    expect(
      decodeTerm({
        kind: 'broadcast',
        body: encodeTerm(mean('k')),
        axes: [{ kind: 'var', name: 'y' }],
      }),
    ).toEqual(E.right(broadcast(mean('k'), ['y'])))
  })
})

describe('dims, shapes and tuple types', () => {
  const dims: ReadonlyArray<Dim> = [
    y,
    k,
    x,
    dim('n', { size: 3 }),
    constDim(1),
    hw,
    dimProduct(constDim(4), y),
    padded,
    dimPadded(hw, 0, 3),
    conv,
    dimConv(padded, constDim(3), 1, 1),
  ]

  it.each(dims.map((d) => [encodeDim(d).kind, d] as const))('%s dim round trip', (_, d) => {
    expect(decodeDim(encodeDim(d))).toEqual(E.right(d))
    expect(decodeDim(JSON.parse(JSON.stringify(encodeDim(d))))).toEqual(E.right(d))
  })

  it('round-trips shapes and tuple types', () => {
    const s: Shape = toShape([y, hw, conv])
    const t: TupleType = toType([[y, k], [], [padded]])
    expect(decodeShape(encodeShape(s))).toEqual(E.right(s))
    expect(decodeType(encodeType(t))).toEqual(E.right(t))
    expect(decodeType([])).toEqual(E.right([]))
    const r = decodeType([[{ kind: 'var', name: 'y' }], []])
    expect(E.isRight(r) && showType(r.right)).toBe('[y] × []')
  })

  it('writes only the options a var dim has', () => {
    expect(encodeDim(dim('y', { size: 7 }))).toEqual({ kind: 'var', name: 'y', size: 7 })
    expect(Object.keys(encodeDim(dim('y')))).toEqual(['kind', 'name'])
  })

  it('refuses bad dims with their paths', () => {
    expect(pathsOf(decodeDim({ kind: 'var', name: 'y', size: 0 }))).toEqual(['$.size'])
    expect(pathsOf(decodeDim({ kind: 'var', name: 'y', mark: 'height' }))).toEqual(['$.mark'])
    const badName = problemsOf(decodeDim({ kind: 'var', name: '1y' }))
    expect(badName).toHaveLength(1)
    expect(badName[0]).toMatchObject({ path: '$', code: 'bad-dim' })
    expect(pathsOf(decodeDim({ kind: 'const', value: 2.5 }))).toEqual(['$.value'])
    expect(pathsOf(decodeDim({ kind: 'conv', input: {}, kernel: null, stride: 0 }))).toEqual([
      '$.input.kind',
      '$.kernel',
      '$.stride',
      '$.dilation',
    ])
    expect(
      pathsOf(
        decodeShape([
          { kind: 'var', name: 'y' },
          { kind: 'product', factors: [3] },
        ]),
      ),
    ).toEqual(['$[1].factors[0]'])
    expect(pathsOf(decodeType([[], 'y k']))).toEqual(['$[1]'])
  })
})

// Random well-typed terms: endomorphisms of a random tuple type, built from element-wise maps,
// axis operations, seq, par, broadcast over a dim common to every segment, and boxes.
const pool: ReadonlyArray<Dim> = [
  dim('a'),
  dim('b', { size: 3 }),
  dim('c', { mark: 'width' }),
  constDim(2),
  dimProduct('a', 'b'),
]
const shapeArb = fc.array(fc.constantFrom(...pool), { maxLength: 3 }).map(toShape)
const typeArb = fc.array(shapeArb, { minLength: 1, maxLength: 3 }).map(toType)
// JSON text cannot hold -0: x + 0 turns it into 0.
const factorArb = fc.double({ noNaN: true, noDefaultInfinity: true }).map((f) => f + 0)

const leafOn = (s: Shape): fc.Arbitrary<Term> => {
  const leaves: Array<fc.Arbitrary<Term>> = [
    fc.constantFrom(...UNARY_OPS).map((op) => unary(op, s)),
    factorArb.map((f) => scale(f, s)),
    fc.tuple(fc.constantFrom(...pool), factorArb).map(([d, power]) => scaleBySize(d, power, s)),
    fc.constant(id([s])),
  ]
  const first = s[0]
  const last = s[s.length - 1]
  if (last !== undefined) leaves.push(fc.constant(broadcast(softmax(last), s.slice(0, -1))))
  if (first !== undefined)
    leaves.push(
      fc
        .double({ min: 0, max: 1, noNaN: true })
        .map((epsilon) => broadcast(layerNorm(first, { epsilon }), s.slice(1), { at: 'last' })),
    )
  return fc.oneof(...leaves)
}

const endo = (type: TupleType, depth: number): fc.Arbitrary<Term> => {
  const leaf =
    type.length === 1
      ? leafOn(type[0] as Shape)
      : fc.tuple(...type.map(leafOn)).map((parts) => par(...parts))
  if (depth <= 0) return leaf
  const options: Array<fc.Arbitrary<Term>> = [
    leaf,
    fc.tuple(endo(type, depth - 1), endo(type, depth - 1)).map(([f, g]) => seq(f, g)),
    fc
      .tuple(fc.constantFrom('Block', 'Attn', 'L(W: k -> h)'), endo(type, depth - 1))
      .map(([name, body]) => box(name, body)),
  ]
  if (type.length >= 2)
    options.push(
      fc
        .integer({ min: 1, max: type.length - 1 })
        .chain((cut) =>
          fc.tuple(endo(type.slice(0, cut), depth - 1), endo(type.slice(cut), depth - 1)),
        )
        .map(([f, g]) => par(f, g)),
    )
  const common = (type[0] ?? []).find((d) => type.every((s) => s.some((e) => dimEquals(d, e))))
  if (common !== undefined) {
    const positions = type.map((s) => s.findIndex((e) => dimEquals(common, e)))
    const inner = toType(type.map((s, i) => s.filter((_, j) => j !== positions[i])))
    options.push(
      endo(inner, depth - 1).map((body) =>
        broadcast(body, [common], { inputs: positions, outputs: positions }),
      ),
    )
  }
  return fc.oneof(...options)
}

const termArb: fc.Arbitrary<Term> = typeArb.chain((type) => endo(type, 3))

describe('round trip of random terms', () => {
  it('the generator gives well-typed endomorphisms', () => {
    fc.assert(
      fc.property(termArb, (t) => {
        expect(showType(t.dom)).toBe(showType(t.cod))
      }),
      { numRuns: 50 },
    )
  })

  it('decode(encode(t)) equals t, through objects and through JSON text', () => {
    fc.assert(
      fc.property(termArb, (t) => {
        expect(decodeTerm(encodeTerm(t))).toEqual(E.right(t))
        expect(termFromJson(termToJson(t))).toEqual(E.right(t))
      }),
      { numRuns: 300 },
    )
  })

  it('encoding is stable: encode(decode(json)) equals json', () => {
    fc.assert(
      fc.property(termArb, (t) => {
        const json = JSON.parse(JSON.stringify(encodeTerm(t))) as unknown
        const back = decodeTerm(json)
        expect(E.isRight(back) && encodeTerm(back.right)).toEqual(json)
      }),
      { numRuns: 100 },
    )
  })
})

describe('round trip of terms from the project generator (src/testing)', () => {
  it('decode(encode(t)) equals t and evaluates the same, on terms reaching every constructor', () => {
    fc.assert(
      fc.property(termWithSizesArb({ depth: 3 }), (c) => {
        const back = termFromJson(termToJson(c.term))
        expect(back).toEqual(E.right(c.term))
        if (E.isRight(back))
          expect(evaluate(back.right, c.sizes, c.inputs, c.params)).toEqual(
            evaluate(c.term, c.sizes, c.inputs, c.params),
          )
      }),
      { numRuns: 300 },
    )
  })
})

describe('decoding bad documents', () => {
  const vk = { kind: 'var', name: 'k' }
  const doc = (term: unknown) => ({ format: 'ncd-term', version: 1, term })

  it('refuses an unknown kind at the kind', () => {
    const problems = problemsOf(decodeTerm(doc({ kind: 'sequence', parts: [] })))
    expect(problems.map((p) => p.path)).toEqual(['$.term.kind'])
    expect(problems[0]?.message).toMatch(/unknown term kind "sequence"/)
    expect(pathsOf(decodeTerm({ parts: [] }))).toEqual(['$.kind'])
    expect(pathsOf(decodeTerm({ kind: 'toString' }))).toEqual(['$.kind'])
    expect(pathsOf(decodeTerm({ kind: '__proto__' }))).toEqual(['$.kind'])
    expect(pathsOf(decodeTerm({ kind: 'scalar', op: 'softplus' }))).toEqual(['$.op'])
    expect(pathsOf(decodeTerm({ kind: 'axisOp', op: 'relu', axis: vk }))).toEqual(['$.op'])
  })

  it('refuses a missing field at the field', () => {
    const problems = problemsOf(
      decodeTerm({ kind: 'pad', axis: { kind: 'var', name: 'x' }, before: 1 }),
    )
    expect(problems).toEqual([
      { path: '$.after', message: expect.stringMatching(/missing field 'after'/), code: 'decode' },
    ])
    expect(pathsOf(decodeTerm({ kind: 'scalar', op: 'scale' }))).toEqual(['$.factor'])
  })

  it('refuses non-finite and non-integer numbers', () => {
    expect(pathsOf(decodeTerm({ kind: 'scalar', op: 'scale', factor: NaN }))).toEqual(['$.factor'])
    expect(pathsOf(decodeTerm({ kind: 'scalar', op: 'scale', factor: Infinity }))).toEqual([
      '$.factor',
    ])
    expect(pathsOf(decodeTerm({ kind: 'scalar', op: 'scale', factor: '0.5' }))).toEqual([
      '$.factor',
    ])
    expect(pathsOf(decodeTerm({ kind: 'index', axis: vk, at: 1.5 }))).toEqual(['$.at'])
    const bySize = { dim: { kind: 'var' }, power: NaN }
    expect(pathsOf(decodeTerm({ kind: 'scalar', op: 'scale', factor: 1, bySize }))).toEqual([
      '$.bySize.dim.name',
      '$.bySize.power',
    ])
    expect(
      pathsOf(decodeTerm({ kind: 'axisOp', op: 'layerNorm', axis: vk, epsilon: -Infinity })),
    ).toEqual(['$.epsilon'])
  })

  it('refuses an ill-typed seq at the path of the seq, with the constructor message', () => {
    const ill = { kind: 'seq', parts: [encodeTerm(mean('k')), encodeTerm(relu(['k']))] }
    const problems = problemsOf(decodeTerm(doc({ kind: 'box', name: 'B', body: ill })))
    const refusal = attempt(() => seq(mean('k'), relu(['k'])))
    expect(E.isLeft(refusal)).toBe(true)
    expect(problems).toEqual([
      {
        path: '$.term.body',
        message: E.isLeft(refusal) ? refusal.left.message : '',
        code: 'type-mismatch',
      },
    ])
  })

  it('reports the constructor refusal of a dim or a leaf at its node', () => {
    expect(
      problemsOf(decodeTerm({ kind: 'index', axis: { kind: 'var', name: '1x' }, at: 0 })),
    ).toEqual([expect.objectContaining({ path: '$.axis', code: 'bad-dim' })])
    const past = { kind: 'index', axis: { kind: 'var', name: 'y', size: 3 }, at: 5 }
    expect(problemsOf(decodeTerm({ kind: 'par', parts: [encodeTerm(relu()), past] }))).toEqual([
      expect.objectContaining({ path: '$.parts[1]', code: 'bad-index' }),
    ])
    const outOfRange = {
      kind: 'broadcast',
      body: encodeTerm(mean('k')),
      axes: [vk],
      inputs: [2],
      outputs: [0],
    }
    expect(problemsOf(decodeTerm(outOfRange))).toEqual([
      expect.objectContaining({ path: '$', code: 'bad-broadcast' }),
    ])
    const unusedLabel = { kind: 'einsum', inputs: [['a']], output: ['a'], dims: { b: vk } }
    expect(problemsOf(decodeTerm(unusedLabel))).toEqual([
      expect.objectContaining({ path: '$', code: 'bad-einsum' }),
    ])
    expect(problemsOf(decodeTerm({ kind: 'param', name: '2W', shape: [] }))).toEqual([
      expect.objectContaining({ path: '$', code: 'bad-argument' }),
    ])
    expect(problemsOf(decodeTerm({ kind: 'seq', parts: [] }))).toEqual([
      expect.objectContaining({ path: '$', code: 'bad-arity' }),
    ])
  })

  it('reports every structural problem at once', () => {
    const problems = problemsOf(
      decodeTerm(
        doc({
          kind: 'seq',
          parts: [
            { kind: 'scalar', op: 'relu', factor: 2 },
            { kind: 'axisOp', op: 'softmax', axis: { kind: 'var', name: 3 } },
            { kind: 'pad', axis: vk, before: -1 },
            { kind: 'broadcast', body: 'relu', axes: [vk], inputs: ['sharde'], outputs: [0] },
            { kind: 'einsum', inputs: [['a b'], 'c'], output: [], dims: { '1': vk, a: 3 } },
            { kind: 'einsum', inputs: [], output: ['a'] },
            { kind: 'id', type: [[]], dom: [[]], cod: [[]] },
          ],
        }),
      ),
    )
    expect(problems.map((p) => p.path)).toEqual([
      '$.term.parts[0].factor',
      '$.term.parts[1].axis.name',
      '$.term.parts[2].before',
      '$.term.parts[2].after',
      '$.term.parts[3].body',
      '$.term.parts[3].inputs[0]',
      '$.term.parts[4].inputs[0][0]',
      '$.term.parts[4].inputs[1]',
      '$.term.parts[4].dims["1"]',
      '$.term.parts[4].dims.a',
      '$.term.parts[5].inputs',
      '$.term.parts[6].dom',
      '$.term.parts[6].cod',
    ])
    expect(problems.every((p) => p.code === 'decode' && p.message.length > 0)).toBe(true)
    expect(showProblems(problems).split('\n')[1]).toBe(
      '$.term.parts[1].axis.name: expected a string, got 3',
    )
  })

  it('refuses text that is not JSON', () => {
    for (const text of ['{ "kind": ', '', 'NaN', "{ kind: 'id' }"]) {
      const problems = problemsOf(decodeTermJson(text))
      expect(problems).toHaveLength(1)
      expect(problems[0]).toMatchObject({ path: '$', code: 'decode' })
      expect(problems[0]?.message).toMatch(/^not JSON/)
    }
  })

  it('refuses a wrong format or version, and does not read the term then', () => {
    const term = { kind: 'nonsense' }
    const v2 = problemsOf(decodeTerm({ format: 'ncd-term', version: 2, term }))
    expect(v2).toEqual([
      expect.objectContaining({ path: '$.version', message: expect.stringMatching(/version 2/) }),
    ])
    expect(pathsOf(decodeTerm({ format: 'ncd-proof', version: 1, term }))).toEqual(['$.format'])
    expect(pathsOf(decodeTerm({ format: 'ncd-term', term: encodeTerm(relu()) }))).toEqual([
      '$.version',
    ])
    expect(pathsOf(decodeTerm({ format: 'ncd-term', version: '1', term }))).toEqual(['$.version'])
    expect(pathsOf(decodeTerm({ format: 'ncd-term', version: 1 }))).toEqual(['$.term'])
    expect(pathsOf(decodeTerm({ format: 'ncd-term', version: 1, term, extra: true }))).toEqual([
      '$.extra',
    ])
    expect(pathsOf(decodeTerm(doc(term)))).toEqual(['$.term.kind'])
  })

  it('refuses non-objects and non-JSON values', () => {
    const values: ReadonlyArray<unknown> = [
      undefined,
      null,
      42,
      NaN,
      'relu',
      [],
      () => 1,
      Symbol('s'),
      10n,
      new Map(),
    ]
    for (const v of values) {
      const problems = problemsOf(decodeTerm(v))
      expect(problems.length).toBeGreaterThan(0)
      expect(problems[0]?.path).toMatch(/^\$/)
    }
  })

  it('never throws on cycles, throwing getters or absurd nesting', () => {
    const cyclic: Record<string, unknown> = { kind: 'seq' }
    cyclic.parts = [cyclic, cyclic]
    expect(pathsOf(decodeTerm(cyclic))).toEqual(['$'])
    const getter = Object.defineProperty({}, 'kind', {
      enumerable: true,
      get: () => {
        throw new TermError('decode', 'boom')
      },
    })
    expect(pathsOf(decodeTerm(getter))).toEqual(['$'])
    const depth = 20_000
    const deep =
      '{"kind":"box","name":"B","body":'.repeat(depth) +
      '{"kind":"scalar","op":"relu"}' +
      '}'.repeat(depth)
    // Too deep for the stack here: one problem at the root, never an exception.
    const r = decodeTermJson(deep)
    expect(E.isRight(r) || r.left.every((p) => p.path === '$')).toBe(true)
  })
})

/** The values along a problem's path; the last step may be missing (a missing field). */
const resolves = (root: unknown, path: string): boolean => {
  const step = /\.([A-Za-z_$][A-Za-z0-9_$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y
  if (!path.startsWith('$')) return false
  step.lastIndex = 1
  const keys: string[] = []
  while (step.lastIndex < path.length) {
    const m = step.exec(path)
    if (m === null) return false
    keys.push(m[1] ?? m[2] ?? (JSON.parse(m[3] ?? '""') as string))
  }
  let at: unknown = root
  for (const key of keys.slice(0, -1)) {
    if (typeof at !== 'object' || at === null || !Object.prototype.hasOwnProperty.call(at, key))
      return false
    at = (at as Record<string, unknown>)[key]
  }
  return true
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** Every path (as keys) to a node of a JSON value. */
const nodePaths = (json: unknown, prefix: ReadonlyArray<string> = []): string[][] => {
  const here = [[...prefix]]
  if (typeof json !== 'object' || json === null) return here
  return [...here, ...Object.entries(json).flatMap(([key, v]) => nodePaths(v, [...prefix, key]))]
}

/** Replace (or, with `undefined`, delete) the node at `path` in a copy of `json`. */
const mutate = (json: unknown, path: ReadonlyArray<string>, value: unknown): unknown => {
  if (path.length === 0) return value
  const copy = structuredClone(json) as Record<string, unknown>
  let at: Record<string, unknown> = copy
  for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>
  const last = path[path.length - 1] as string
  if (value === undefined) {
    if (Array.isArray(at)) at.splice(Number(last), 1)
    else delete at[last]
  } else at[last] = value
  return copy
}

const replacement: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom<unknown>(undefined, NaN, Infinity, -1, 1.5, 0, 'x', 'shared', null, {}, []),
  fc.constantFrom(...TERM_KINDS, ...DIM_KINDS, 'relu', 'scale', 'layerNorm', 'unit', 'cup'),
)

describe('decoding never throws', () => {
  const checkOutcome = (json: unknown): void => {
    const r = decodeTerm(json)
    if (E.isRight(r)) {
      // A document that decodes is a term whose encoding decodes to it again.
      expect(decodeTerm(encodeTerm(r.right))).toEqual(r)
      return
    }
    expect(r.left.length).toBeGreaterThan(0)
    for (const p of r.left) {
      expect(p.message.length).toBeGreaterThan(0)
      expect(resolves(json, p.path), `${p.path} in ${JSON.stringify(json)}`).toBe(true)
    }
  }

  it('on any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), checkOutcome), { numRuns: 500 })
  })

  it('on any JavaScript value', () => {
    fc.assert(
      fc.property(
        fc.anything({ withNullPrototype: true, withMap: true, withBigInt: true }),
        (u) => {
          expect(() => decodeTerm(u)).not.toThrow()
        },
      ),
      { numRuns: 300 },
    )
  })

  it('on mutated valid documents, reporting paths inside the document', () => {
    const docArb: fc.Arbitrary<Json> = fc
      .oneof(termArb, fc.constantFrom(...examples.map(([, t]) => t)))
      .map((t) => JSON.parse(termToJson(t)) as Json)
    fc.assert(
      fc.property(
        docArb.chain((d) =>
          fc.tuple(
            fc.constant(d),
            fc.constantFrom(...nodePaths(d)),
            fc.array(replacement, { minLength: 1, maxLength: 3 }),
          ),
        ),
        ([d, path, values]) => {
          // Several mutations along one path: at the node, then where it was.
          let json: unknown = d
          for (const v of values) json = mutate(json, path, v)
          expect(() => decodeTerm(json)).not.toThrow()
          checkOutcome(json)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('on mutated JSON text', () => {
    const textArb = fc
      .tuple(
        fc.constantFrom(...examples.map(([, t]) => termToJson(t))),
        fc.nat(),
        fc.string({ maxLength: 3 }),
      )
      .map(([text, at, insert]) => {
        const i = at % (text.length + 1)
        return text.slice(0, i) + insert + text.slice(i + 1)
      })
    fc.assert(
      fc.property(textArb, (text) => {
        expect(() => decodeTermJson(text)).not.toThrow()
      }),
      { numRuns: 300 },
    )
  })
})

describe('the documented examples', () => {
  it('hold', () => {
    expect(termToJson(relu())).toBe(
      '{"format":"ncd-term","version":1,"term":{"kind":"scalar","op":"relu"}}',
    )
    const r = decodeTerm({ kind: 'relu' })
    expect(E.isLeft(r) && showProblems(r.left)).toMatch(
      /^\$\.kind: unknown term kind "relu": one of id, seq, par, /,
    )
    expect(decodeDim({ kind: 'const', value: 4 })).toEqual(E.right({ kind: 'const', value: 4 }))
    expect(encodeShape(toShape('y k'))).toEqual([
      { kind: 'var', name: 'y' },
      { kind: 'var', name: 'k' },
    ])
    expect(encodeType(toType([['x'], []]))).toEqual([[{ kind: 'var', name: 'x' }], []])
    const L = linearLayer('W', 'k', 'h', { bias: true })
    expect(decodeTermJson(termToJson(L))).toEqual(E.right(L))
    expect(TermCodec.is(L)).toBe(true)
    expect(TermCodec.is(encodeTerm(L))).toBe(false)
  })
})
