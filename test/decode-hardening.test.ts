/**
 * Regression tests of issue 9, "Bad input / Decoding": each repro of the issue, pinned.
 */
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  MAX_DOCUMENT_DEPTH,
  TermCodec,
  decodeTerm,
  encodeTerm,
  proofFromJson,
  proofToJson,
  prove,
  lawCatalogue,
  relu,
  seq,
  id,
} from '../src/index.js'

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
