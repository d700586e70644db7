/**
 * Regression tests of issue 9, "Bad input / Decoding": each repro of the issue, pinned.
 */
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  MAX_DOCUMENT_DEPTH,
  MAX_DOCUMENT_VALUES,
  TermCodec,
  decodeTerm,
  decodeTermJson,
  encodeTerm,
  proofFromJson,
  proofToJson,
  prove,
  lawCatalogue,
  relu,
  seq,
  id,
  decodeDim,
  decodeType,
  dim,
  einsum,
} from '../src/index.js'
import { sealData } from '../src/core/frozen.js'

const nest = (kind: 'derivative' | 'box', n: number): unknown => {
  let j: unknown = encodeTerm(relu())
  for (let i = 0; i < n; i++) j = kind === 'box' ? { kind, name: 'b', body: j } : { kind, body: j }
  return j
}

describe('decoding untrusted terms', () => {
  it('nested derivatives are refused in time, not decoded in 2^n', () => {
    const start = performance.now()
    const r = decodeTerm(nest('derivative', 30))
    expect(performance.now() - start).toBeLessThan(2000)
    expect(E.isLeft(r) && r.left[0]?.message).toMatch(/tuple segments, over the 4096/)
    expect(E.isRight(decodeTerm(nest('derivative', 3)))).toBe(true)
  })

  it('TermCodec.decode and decodeTerm agree on 10^4-deep input and neither throws', () => {
    const deep = nest('box', 10_000)
    const a = TermCodec.decode(deep)
    const b = decodeTerm(deep)
    expect(E.isLeft(a) && E.isLeft(b)).toBe(true)
    const msg = E.isLeft(b) ? b.left[0]?.message : ''
    expect(msg).toMatch(new RegExp(`more than ${MAX_DOCUMENT_DEPTH} deep`))
    expect(E.isRight(TermCodec.decode(nest('box', 400)))).toBe(true)
  })

  it('a flat par of 10^5 parts decodes: depth is not width', () => {
    const r = decodeTerm({
      kind: 'par',
      parts: Array.from({ length: 1e5 }, () => encodeTerm(relu())),
    })
    expect(E.isRight(r) && r.right.dom.length).toBe(1e5)
  })

  it('integers that a double cannot store exactly are refused', () => {
    const x = { kind: 'var', name: 'x' }
    const pad = decodeTerm({ kind: 'pad', axis: x, before: 1e308, after: 0 })
    expect(E.isLeft(pad) && pad.left[0]?.path).toBe('$.before')
    const index = decodeTerm({ kind: 'index', axis: x, at: 2 ** 53 })
    expect(E.isLeft(index) && index.left[0]?.message).toMatch(/stored exactly/)
    expect(E.isRight(decodeTerm({ kind: 'index', axis: x, at: 2 ** 53 - 1 }))).toBe(true)
  })
})

describe('proofFromJson refuses ill-formed documents', () => {
  const idLeft = lawCatalogue().get('category/id-left')
  if (idLeft === undefined) throw new Error('no category/id-left')
  const p = prove('id', seq(id([['k']]), relu('k')), [[idLeft, { path: [] }]])
  const doc = (): Record<string, unknown> & { steps: Array<Record<string, unknown>> } =>
    JSON.parse(proofToJson(p)) as never
  const problems = (d: unknown): string[] => {
    const r = proofFromJson(JSON.stringify(d))
    return E.isLeft(r) ? r.left.map((q) => `${q.path}: ${q.message}`) : []
  }

  it('the document itself decodes', () => {
    expect(E.isRight(proofFromJson(JSON.stringify(doc())))).toBe(true)
  })

  it('unknown fields, at the top and in a step', () => {
    expect(problems({ ...doc(), extra: 1 })).toEqual([
      expect.stringMatching(/^\$\.extra: unknown field/),
    ])
    const d = doc()
    d.steps[0] = { ...d.steps[0], note: 'x' }
    expect(problems(d)).toEqual([expect.stringMatching(/^\$\.steps\[0\]\.note: unknown field/)])
  })

  it('negative or fractional path entries and bad ranges', () => {
    for (const path of [[-1], [0.5], [2 ** 53]]) {
      const d = doc()
      d.steps[0] = { ...d.steps[0], location: { path } }
      expect(problems(d)).toEqual([expect.stringMatching(/^\$\.steps\[0\]\.location\.path\[0\]: /)])
    }
    const d = doc()
    d.steps[0] = { ...d.steps[0], location: { path: [], range: [2, 1] } }
    expect(problems(d)).toEqual([expect.stringMatching(/location\.range: .*start < end/)])
  })

  it('ill-formed value bindings (which crashed ncd check in dimKey)', () => {
    for (const value of [null, { kind: 'var' }, { k: { kind: 'var', name: 7 } }, [Number.NaN]]) {
      const d = doc()
      d.steps[0] = { ...d.steps[0], bindings: { D: { sort: 'value', value } } }
      expect(problems(d).length).toBeGreaterThan(0)
    }
    const d = doc()
    d.steps[0] = {
      ...d.steps[0],
      bindings: { D: { sort: 'value', value: { k: { kind: 'var', name: 'k' } } } },
    }
    expect(problems(d)).toEqual([])
  })
})

describe('the fast path of variable dims reads exactly what the general decoder reads', () => {
  it('a plain var dim decodes to the dim, and equal var dims are one frozen object', () => {
    const r = decodeDim({ kind: 'var', name: 'h' })
    expect(E.isRight(r) && r.right).toEqual(dim('h'))
    expect(dim('h')).toBe(dim('h'))
    expect(Object.isFrozen(dim('h'))).toBe(true)
    // The options make other dims, not the interned plain one.
    expect(dim('h', { size: 3 })).not.toBe(dim('h'))
    expect(dim('h', { size: 3 }).size).toBe(3)
    expect(dim('h', { mark: 'width' }).mark).toBe('width')
  })
  it('refusals keep their problems: a bad name, an unknown field, an inherited kind', () => {
    const bad = decodeDim({ kind: 'var', name: '2x' })
    expect(E.isLeft(bad) && bad.left[0]?.message).toMatch(/is not a dim name/)
    const extra = decodeDim({ kind: 'var', name: 'h', colour: 'red' })
    expect(E.isLeft(extra) && extra.left[0]?.message).toMatch(/unknown field 'colour'/)
    const inherited = Object.assign(Object.create({ kind: 'var' }) as object, { name: 'h', x: 1 })
    expect(E.isLeft(decodeDim(inherited))).toBe(true)
    const inType = decodeType([
      [
        { kind: 'var', name: 'h' },
        { kind: 'var', name: '' },
      ],
    ])
    expect(E.isLeft(inType) && inType.left[0]?.path).toBe('$[0][1]')
    expect(E.isLeft(inType) && inType.left[0]?.message).toMatch(/is not a dim name/)
  })
  it('a sealed record keeps `__proto__` as an own key (the fast assignment is not used for it)', () => {
    const e = einsum('a -> a', { dims: JSON.parse('{"a": {"kind":"var","name":"a"}}') as never })
    expect(Object.keys(e.kind === 'einsum' ? e.dims : {})).toEqual(['a'])
    const table = sealData(JSON.parse('{"__proto__": 1, "b": 2}') as Record<string, number>)
    expect(Object.keys(table)).toEqual(['__proto__', 'b'])
    expect(Object.getPrototypeOf(table)).toBe(Object.prototype)
    expect(Object.isFrozen(table)).toBe(true)
  })
})

describe('documents that share objects are counted as the tree they stand for', () => {
  // JSON text cannot share, but a JavaScript value can: one array of 10^4 parts held 10^4 times
  // is a par of 10^8 leaves, which decoded for seconds and then made evaluate throw a RangeError
  // (found by npm run fuzz, "long array + long array").
  const leaf = { kind: 'id', type: [[]] }
  const shared = (outer: number, inner: number): unknown => {
    const part = { kind: 'par', parts: Array.from({ length: inner }, () => leaf) }
    return { kind: 'par', parts: Array.from({ length: outer }, () => part) }
  }
  it('over 2^24 values counting repeats: refused before decoding, by every decoder', () => {
    const doc = shared(10_000, 10_000)
    const a = decodeTerm(doc)
    const b = TermCodec.decode(doc)
    const messages = [
      E.isLeft(a) ? a.left[0]?.message : undefined,
      E.isLeft(b) ? b.left[0]?.message : undefined,
    ]
    for (const message of messages)
      expect(message).toMatch(
        new RegExp(`more than ${MAX_DOCUMENT_VALUES} values, counting an object as often`),
      )
  })
  it('a shared document within the limit decodes to the tree it stands for', () => {
    const r = decodeTerm(shared(100, 100))
    expect(E.isRight(r) && r.right.dom.length).toBe(10_000)
  })
})

describe('deeply nested JSON text is refused before it is parsed', () => {
  // JSON.parse took 6 s on 40 MB of [[[...]]] (found by npm run fuzz), which the decoders then
  // refused at once: the text decoders now read the depth from the text first.
  it('decodeTermJson and proofFromJson refuse text nested over the limit', () => {
    const deep = `{"kind":"box","name":"b","body":${'['.repeat(MAX_DOCUMENT_DEPTH + 1)}${']'.repeat(MAX_DOCUMENT_DEPTH + 1)}}`
    for (const r of [decodeTermJson(deep), proofFromJson(deep)]) {
      expect(E.isLeft(r) && r.left[0]?.message).toMatch(
        new RegExp(`more than ${MAX_DOCUMENT_DEPTH} deep: refused before parsing`),
      )
    }
  })
  it('brackets inside strings, escaped quotes among them, do not count', () => {
    const name = `a\\"${'['.repeat(2 * MAX_DOCUMENT_DEPTH)}`
    const r = decodeTermJson(`{"kind":"param","name":"${name}","shape":[]}`)
    // The name is refused as a name, not the document as too deep.
    expect(E.isLeft(r) && r.left[0]?.message).not.toMatch(/deep/)
    const ok = decodeTermJson(JSON.stringify(encodeTerm(relu())))
    expect(E.isRight(ok)).toBe(true)
  })
})

describe('JSON text with more objects and arrays than a document may hold', () => {
  it('is refused before parsing', () => {
    // 2^24 + 1 empty arrays, about 50 MB: refused by counting brackets, not by JSON.parse.
    const text = `[${'[],'.repeat(MAX_DOCUMENT_VALUES)}[]]`
    const r = decodeTermJson(text)
    expect(E.isLeft(r) && r.left[0]?.message).toMatch(
      new RegExp(`more than ${MAX_DOCUMENT_VALUES} values .*: refused before parsing`),
    )
  })
})
