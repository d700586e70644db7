/**
 * `spliceParts` (src/core/construct.ts): replacing a window of a seq or par builds the same term
 * as the constructor on the whole part list (structure, type, linearity, polynomial), and the
 * same error when the replacement does not fit. It is what `replaceAt` and `withChildren` use, so
 * that a rewrite in a long sequence does not re-check every junction (issue 12, section 1).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Term, id, par, relu, replaceAt, seq, tanh, termEquals } from '../src/index.js'
import { spliceParts } from '../src/core/construct.js'
import { withChildren } from '../src/core/update.js'
import { termArb } from '../src/testing/arbitraries.js'

const same = (a: Term, b: Term): void => {
  expect(termEquals(a, b)).toBe(true)
  expect(a.dom).toEqual(b.dom)
  expect(a.cod).toEqual(b.cod)
  expect(a.linearity).toBe(b.linearity)
  expect(JSON.stringify(a.poly)).toBe(JSON.stringify(b.poly))
}

/** A seq or par with at least two parts, drawn from random terms on `[a]` and `[a] × [b]`. */
const hostArb: fc.Arbitrary<Extract<Term, { kind: 'seq' | 'par' }>> = fc
  .tuple(
    fc.array(termArb([['a']], { cod: [['a']], depth: 2 }), { minLength: 2, maxLength: 5 }),
    fc.array(termArb([['a'], ['b']], { depth: 2 }), { minLength: 2, maxLength: 4 }),
    fc.boolean(),
  )
  .map(([chain, side, asSeq]) => (asSeq ? seq(...chain) : par(...side)))
  .filter((t): t is Extract<Term, { kind: 'seq' | 'par' }> => t.kind === 'seq' || t.kind === 'par')

describe('spliceParts', () => {
  it('builds what the constructor builds from the whole part list', () => {
    let seqs = 0
    let pars = 0
    fc.assert(
      fc.property(hostArb, fc.nat(), fc.nat(), fc.boolean(), (host, i, j, wrap) => {
        const n = host.parts.length
        const start = i % n
        const end = start + 1 + (j % (n - start))
        const window = host.parts.slice(start, end)
        const build = host.kind === 'seq' ? seq : par
        // The same window again, or wrapped in identities (a different term of the same type).
        const w = build(...window)
        const replacement = wrap ? seq(id(w.dom), w, id(w.cod)) : w
        const expected = build(...host.parts.slice(0, start), replacement, ...host.parts.slice(end))
        same(spliceParts(host, start, end, replacement), expected)
        if (host.kind === 'seq') seqs++
        else pars++
      }),
      { numRuns: 200, seed: 12 },
    )
    expect(seqs).toBeGreaterThan(20)
    expect(pars).toBeGreaterThan(20)
  })

  it('reads the linearity of the spliced term from its parts', () => {
    const host = seq(relu('a'), tanh('a'), relu('a')) as Extract<Term, { kind: 'seq' }>
    const linear = spliceParts(host, 0, 3, id([['a']]))
    expect(linear.linearity).toBe('linear')
    const mixed = spliceParts(host, 1, 2, id([['a']]))
    expect(mixed.linearity).toBe('nonlinear')
    same(mixed, seq(relu('a'), id([['a']]), relu('a')))
  })

  it('gives the constructor error when the replacement does not fit', () => {
    const host = seq(relu('a'), tanh('a'), relu('a')) as Extract<Term, { kind: 'seq' }>
    const message = (f: () => unknown): string => {
      try {
        f()
      } catch (e) {
        return (e as Error).message
      }
      return 'no error'
    }
    const bad = relu('b')
    const spliced = message(() => spliceParts(host, 1, 2, bad))
    expect(spliced).toBe(message(() => seq(relu('a'), bad, relu('a'))))
    expect(spliced).toMatch(/part 2 expects/)
    // Through withChildren, the error numbers the parts of the whole sequence.
    expect(message(() => withChildren(host, [relu('a'), relu('a'), bad]))).toBe(
      message(() => seq(relu('a'), relu('a'), bad)),
    )
  })

  it('is what replaceAt builds at a window of a long sequence', () => {
    const parts = Array.from({ length: 300 }, (_, k) => (k % 2 === 0 ? relu('a') : tanh('a')))
    const long = seq(...parts)
    const out = replaceAt(long, { path: [], range: [100, 102] }, id([['a']]))
    same(out, seq(...parts.slice(0, 100), id([['a']]), ...parts.slice(102)))
  })
})
