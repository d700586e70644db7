/**
 * Proof documents (`src/io/proof.ts`) and reversed proofs (`reverseProof`): every theorem of
 * `proofs/theorems.ts` survives a JSON round trip and still replays; bad documents come back as
 * problems with paths, never as exceptions (also under fuzzing); a proof by two-way laws read
 * backwards is a proof of the reversed equation.
 */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  type DecodeProblem,
  type Proof,
  P,
  checkProof,
  copy,
  drop,
  encodeTerm,
  equivalent,
  id,
  lawCatalogue,
  mean,
  par,
  proofFromJson,
  proofToJson,
  prove,
  relu,
  reverseProof,
  rule,
  seq,
  show,
  tanh,
  termEquals,
  v,
} from '../src/index.js'
import { idLeft } from '../src/rewrite/rules/category.js'
import { theorems } from '../proofs/theorems.js'

const laws = lawCatalogue()

/** The proof of every theorem, built once. */
const proofs: ReadonlyArray<readonly [string, Proof]> = theorems.map((t) => [t.slug, t.proof()])

const proofOf = (slug: string): Proof => {
  const p = proofs.find(([s]) => s === slug)?.[1]
  if (p === undefined) throw new Error(`no theorem ${slug}`)
  return p
}

const replays = (p: Proof): string => {
  const r = checkProof(p, laws)
  return E.isRight(r) ? 'replays' : `step ${r.left.step}: ${r.left.reason}`
}

describe('proof documents round trip', () => {
  for (const [slug, p] of proofs)
    it(slug, () => {
      const text = proofToJson(p)
      const back = proofFromJson(text)
      if (E.isLeft(back)) throw new Error(JSON.stringify(back.left))
      const q = back.right
      expect(replays(q)).toBe('replays')
      expect(proofToJson(q)).toBe(text)
      expect(proofToJson(q, { indent: 1 })).toBe(proofToJson(p, { indent: 1 }))
      expect(q.name).toBe(p.name)
      expect(termEquals(q.lhs, p.lhs) && termEquals(q.rhs, p.rhs)).toBe(true)
      expect(q.steps.map((s) => s.bindings.size)).toEqual(p.steps.map((s) => s.bindings.size))
    })

  it('the theorems exercise every sort of binding', () => {
    const sorts = new Set(
      proofs.flatMap(([, p]) =>
        p.steps.flatMap((s) => [...s.bindings.values()].map((b) => b.sort)),
      ),
    )
    expect([...sorts].sort()).toEqual(['dim', 'shape', 'term', 'type', 'value'])
  })

  it('a proof by the normal-form conversion (a given binding) round trips', () => {
    const r = equivalent(seq(copy([['k']]), par(relu('k'), drop([['k']]))), relu('k'))
    if (r.kind !== 'proof') throw new Error(r.kind)
    const back = proofFromJson(proofToJson(r.proof))
    if (E.isLeft(back)) throw new Error(JSON.stringify(back.left))
    expect(replays(back.right)).toBe('replays')
    expect(proofToJson(back.right)).toBe(proofToJson(r.proof))
  })
})

/** A small valid document, as a JSON object to break. */
const small = prove('id', seq(id([['k']]), relu('k')), [[idLeft, { path: [] }]])
const smallDoc = (): Record<string, unknown> =>
  JSON.parse(proofToJson(small)) as Record<string, unknown>

type Doc = {
  steps: Array<{
    direction: unknown
    location: { path: unknown[] }
    bindings: Record<string, { sort: unknown; value: unknown }>
  }>
}

const problemsOf = (doc: unknown): ReadonlyArray<DecodeProblem> => {
  const r = proofFromJson(typeof doc === 'string' ? doc : JSON.stringify(doc))
  if (E.isRight(r)) throw new Error('decoded')
  return r.left
}

const paths = (doc: unknown): string[] => problemsOf(doc).map((p) => p.path)

describe('bad proof documents give problems with paths', () => {
  it('the small document itself decodes and replays', () => {
    const r = proofFromJson(JSON.stringify(smallDoc()))
    expect(E.isRight(r) ? replays(r.right) : JSON.stringify(r.left)).toBe('replays')
  })

  it('a wrong format or version', () => {
    expect(paths({ ...smallDoc(), format: 'ncd-term' })).toEqual(['$.format'])
    expect(paths({ ...smallDoc(), version: 2 })).toEqual(['$.version'])
    expect(problemsOf({ ...smallDoc(), version: 2 })[0]?.message).toBe(
      'unsupported version 2: this library reads version 1 of ncd-proof documents',
    )
    expect(paths({ ...smallDoc(), name: 7 })).toEqual(['$.name'])
  })

  it('missing steps, a bad step field, a bad location', () => {
    const { steps: _, ...noSteps } = smallDoc()
    expect(paths(noSteps)).toEqual(['$.steps'])
    const d1 = smallDoc() as unknown as Doc
    ;(d1.steps[0] as { direction: unknown }).direction = 'sideways'
    expect(problemsOf(d1).map((p) => `${p.path}: ${p.message}`)).toEqual([
      '$.steps[0].direction: expected a direction ("forward" or "backward"), got "sideways"',
    ])
    const d2 = smallDoc() as unknown as Doc
    ;(d2.steps[0] as { location: { path: unknown[] } }).location.path = ['a']
    expect(paths(d2)).toEqual(['$.steps[0].location.path[0]'])
    const d3 = smallDoc() as unknown as Doc
    ;(d3.steps[0] as { location: unknown }).location = { path: [], range: [0, 'b'] }
    expect(paths(d3)).toEqual(['$.steps[0].location.range[1]'])
  })

  it('a binding of an unknown sort', () => {
    const d = smallDoc() as unknown as Doc
    const b = d.steps[0]?.bindings.f
    if (b === undefined) throw new Error('no ?f')
    b.sort = 'vector'
    expect(paths(d)).toEqual(['$.steps[0].bindings.f.sort'])
  })

  it('an ill-typed term, in a binding or on a side', () => {
    const d = smallDoc() as unknown as Doc
    const b = d.steps[0]?.bindings.f
    if (b === undefined) throw new Error('no ?f')
    b.value = { kind: 'seq', parts: [encodeTerm(mean('k')), encodeTerm(relu('k'))] }
    const [problem, ...rest] = problemsOf(d)
    expect(rest).toEqual([])
    expect(problem?.path).toBe('$.steps[0].bindings.f.value')
    expect(problem?.code).toBe('type-mismatch')
    expect(problem?.message).toMatch(/seq: part 2 expects \[k\] but part 1 gives \[\]/)
    const lhs = {
      ...smallDoc(),
      lhs: { kind: 'seq', parts: [encodeTerm(mean('k')), encodeTerm(relu('k'))] },
    }
    expect(paths(lhs)).toEqual(['$.lhs'])
    // A dim binding holding a term is a problem at that binding's value.
    const d2 = smallDoc() as unknown as Doc
    const b2 = d2.steps[0]?.bindings.f
    if (b2 === undefined) throw new Error('no ?f')
    b2.sort = 'dim'
    expect(paths(d2).every((p) => p.startsWith('$.steps[0].bindings.f.value'))).toBe(true)
  })

  it('invalid JSON and JSON that is not a document', () => {
    expect(problemsOf('{"format":')).toEqual([
      { path: '$', message: expect.stringMatching(/^not JSON/) as unknown, code: 'decode' },
    ])
    for (const text of ['42', 'null', '[]', '"ncd-proof"', ''])
      expect(problemsOf(text).length).toBeGreaterThan(0)
  })

  it('a decoded step of the wrong law, place or bindings is rejected by the checker, not thrown', () => {
    const d = smallDoc() as unknown as Doc & { steps: Array<{ rule: string }> }
    ;(d.steps[0] as { rule: string }).rule = 'category/id-right'
    const p = proofFromJson(JSON.stringify(d))
    expect(E.isRight(p) ? replays(p.right) : 'not decoded').toMatch(/^step 1: /)
  })

  it('a given binding of the wrong sort is refused when checked', () => {
    const r = equivalent(seq(copy([['k']]), par(relu('k'), drop([['k']]))), relu('k'))
    if (r.kind !== 'proof') throw new Error(r.kind)
    const doc = JSON.parse(proofToJson(r.proof)) as Doc
    for (const [sort, value] of [
      ['dim', { kind: 'var', name: 'k' }],
      ['value', 3],
      ['type', [[{ kind: 'var', name: 'k' }]]],
    ] as const) {
      const step = doc.steps[0]
      if (step === undefined) throw new Error('no step')
      step.bindings.target = { sort, value }
      const p = proofFromJson(JSON.stringify(doc))
      if (E.isLeft(p)) throw new Error(JSON.stringify(p.left))
      expect(replays(p.right)).toMatch(/^step 1: .*the target must be a term/)
    }
  })
})

describe('decoding never throws', () => {
  const expectProblemsOrProof = (text: string): void => {
    const r = proofFromJson(text)
    if (E.isLeft(r)) {
      expect(r.left.length).toBeGreaterThan(0)
      for (const p of r.left) {
        expect(p.path).toMatch(/^\$/)
        expect(p.message.length).toBeGreaterThan(0)
      }
    } else {
      // What decodes is checked without throwing either.
      checkProof(r.right, laws)
    }
  }

  it('on arbitrary JSON values and strings', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (x) => {
        const r = proofFromJson(JSON.stringify(x) ?? 'null')
        expect(E.isLeft(r)).toBe(true)
        expectProblemsOrProof(JSON.stringify(x) ?? 'null')
      }),
      { numRuns: 200 },
    )
    fc.assert(fc.property(fc.string(), expectProblemsOrProof), { numRuns: 200 })
  })

  it('on documents of the right envelope with arbitrary contents', () => {
    const stepArb = fc.record({
      rule: fc.constantFrom('category/id-left', 'structural/normal-form', 'no/such', ''),
      direction: fc.constantFrom('forward', 'backward', 'up'),
      location: fc.record(
        {
          path: fc.array(fc.oneof(fc.nat(3), fc.double(), fc.string()), { maxLength: 3 }),
          range: fc.tuple(fc.integer({ min: -1, max: 4 }), fc.integer({ min: -1, max: 4 })),
        },
        { requiredKeys: ['path'] },
      ),
      bindings: fc.dictionary(
        fc.constantFrom('f', 't', 'target', '__proto__', 'constructor'),
        fc.record({
          sort: fc.constantFrom('term', 'dim', 'shape', 'type', 'value', 'other'),
          value: fc.oneof(
            fc.jsonValue({ maxDepth: 3 }),
            fc.constantFrom(encodeTerm(relu('k')), encodeTerm(tanh('k')), {
              kind: 'var',
              name: 'k',
            }),
          ),
        }),
      ),
    })
    const docArb = fc.record({
      format: fc.constantFrom('ncd-proof', 'ncd-proof', 'other'),
      version: fc.constantFrom(1, 1, 2),
      name: fc.string(),
      lhs: fc.oneof(
        fc.constant(encodeTerm(seq(id([['k']]), relu('k')))),
        fc.jsonValue({ maxDepth: 2 }),
      ),
      rhs: fc.oneof(fc.constant(encodeTerm(relu('k'))), fc.jsonValue({ maxDepth: 2 })),
      steps: fc.array(stepArb, { maxLength: 3 }),
    })
    fc.assert(
      fc.property(docArb, (d) => expectProblemsOrProof(JSON.stringify(d))),
      { numRuns: 300 },
    )
  })

  /** Every place in a JSON value, as a list of keys. */
  const places = (
    x: unknown,
    at: ReadonlyArray<string | number> = [],
  ): Array<Array<string | number>> => {
    const here = [[...at]]
    if (Array.isArray(x)) return [...here, ...x.flatMap((y, i) => places(y, [...at, i]))]
    if (typeof x === 'object' && x !== null)
      return [...here, ...Object.entries(x).flatMap(([k, y]) => places(y, [...at, k]))]
    return here
  }

  /** The document with the value at a place replaced (or removed when `by` is undefined). */
  const mutate = (doc: unknown, place: ReadonlyArray<string | number>, by: unknown): unknown => {
    if (place.length === 0) return by
    const [key, ...rest] = place as [string | number, ...Array<string | number>]
    if (Array.isArray(doc)) {
      const items: unknown[] = [...(doc as unknown[])]
      const i = key as number
      if (rest.length === 0 && by === undefined) items.splice(i, 1)
      else items[i] = mutate(items[i], rest, by)
      return items
    }
    const fields: Record<string, unknown> = { ...(doc as Record<string, unknown>) }
    if (rest.length === 0 && by === undefined) delete fields[key]
    else fields[key] = mutate(fields[key], rest, by)
    return fields
  }

  it('on theorem documents with one value changed or removed', () => {
    const docs = proofs.map(([, p]) => JSON.parse(proofToJson(p)) as unknown)
    const mutated = fc
      .constantFrom(...docs)
      .chain((doc) =>
        fc.tuple(
          fc.constant(doc),
          fc.constantFrom(...places(doc)),
          fc.oneof(
            fc.constant(undefined),
            fc.jsonValue({ maxDepth: 2 }),
            fc.constantFrom(
              encodeTerm(relu('k')),
              { kind: 'var', name: 'k' },
              'term',
              'dim',
              -1,
              1,
            ),
          ),
        ),
      )
      .map(([doc, place, by]) => mutate(doc, place, by))
    fc.assert(
      fc.property(mutated, (d) => expectProblemsOrProof(JSON.stringify(d) ?? 'null')),
      { numRuns: 300 },
    )
  })
})

describe('reverseProof', () => {
  const twoWay = [
    'tuples-interchange-layers',
    'cartesian-copy-layer',
    'mha-projections-fig23',
    'visual-attention-fig29',
  ]

  for (const slug of twoWay)
    it(`reverses ${slug}, whose laws are all two-way`, () => {
      const p = proofOf(slug)
      expect(p.steps.every((s) => laws.get(s.rule)?.bidirectional)).toBe(true)
      const r = reverseProof(p, laws)
      if (E.isLeft(r)) throw new Error(`step ${r.left.step}: ${r.left.reason}`)
      const q = r.right
      expect(termEquals(q.lhs, p.rhs) && termEquals(q.rhs, p.lhs)).toBe(true)
      expect(q.steps).toHaveLength(p.steps.length)
      expect(q.steps.map((s) => s.rule)).toEqual([...p.steps].reverse().map((s) => s.rule))
      expect(q.steps.map((s) => s.direction)).toEqual(
        [...p.steps].reverse().map((s) => (s.direction === 'forward' ? 'backward' : 'forward')),
      )
      expect(replays(q)).toBe('replays')
      // Twice reversed: a proof of the first equation again.
      const back = reverseProof(q, laws)
      expect(E.isRight(back) ? replays(back.right) : back.left.reason).toBe('replays')
      // And it survives a round trip as a document.
      const decoded = proofFromJson(proofToJson(q))
      expect(E.isRight(decoded) ? replays(decoded.right) : 'not decoded').toBe('replays')
    })

  it('undoes a step whose result was flattened into the sequence around it', () => {
    // id-left backward at a part of a sequence puts `id ; tanh` in place of `tanh`.
    const p = prove('grow', seq(relu('k'), tanh('k')), [[idLeft, { path: [1] }, 'backward']])
    expect(show(p.rhs)).toBe('relu[k] ; id([k]) ; tanh[k]')
    const r = reverseProof(p, laws)
    if (E.isLeft(r)) throw new Error(r.left.reason)
    expect(replays(r.right)).toBe('replays')
    expect(r.right.steps[0]?.location).toEqual({ path: [], range: [1, 3] })
  })

  it('refuses a proof with a one-way law, naming the step', () => {
    const p = proofOf('tuples-swap-twice')
    const r = reverseProof(p, laws)
    expect(E.isLeft(r) ? r.left : undefined).toEqual({
      step: 1,
      reason: 'step 1 (monoidal/swap-involutive) is one-way: it has no undo',
    })
    const fused = reverseProof(proofOf('attention-scores-fig19'), laws)
    expect(E.isLeft(fused) ? fused.left.step : 0).toBe(2)
  })

  it('refuses a proof citing an unknown law, or one that does not replay', () => {
    const [step] = small.steps
    if (step === undefined) throw new Error('no step')
    const unknown = reverseProof({ ...small, steps: [{ ...step, rule: 'my/none' }] }, laws)
    expect(E.isLeft(unknown) ? unknown.left : undefined).toEqual({
      step: 1,
      reason: 'no law is named my/none',
    })
    const misplaced = reverseProof(
      { ...small, steps: [{ ...step, location: { path: [4] } }] },
      laws,
    )
    expect(E.isLeft(misplaced) ? misplaced.left.step : 0).toBe(1)
  })

  it('reverses a proof by a user rule', () => {
    const f = v.term('f')
    const g = v.term('g')
    const swapParts = rule('my/swap-parts', P.seq(f, g), P.seq(g, f))
    const p = prove('swap', seq(relu('k'), tanh('k'), relu('k')), [
      [swapParts, { path: [], range: [0, 2] }],
      [swapParts, { path: [], range: [1, 3] }],
    ])
    const r = reverseProof(p, new Map([['my/swap-parts', swapParts]]))
    expect(
      E.isRight(r) ? checkProof(r.right, new Map([['my/swap-parts', swapParts]]))._tag : 'Left',
    ).toBe('Right')
  })
})
