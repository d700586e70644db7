import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { EGraph, type Term, children, lawFamilies, saturate } from '../src/index.js'
import { matchAll, matchWindow, prefilter, windowPrefilter } from '../src/rewrite/match.js'
import { orientRules } from '../src/rewrite/egraph/saturate.js'
import { termArb } from '../src/testing/arbitraries.js'
import { theorems } from '../proofs/theorems.js'

const rules = lawFamilies.flatMap(([, r]) => r)
const sides = rules.flatMap((r) => (r.bidirectional ? [r.lhs, r.rhs] : [r.lhs])) as ReadonlyArray<
  Parameters<typeof matchAll>[0]
>

const subterms = (t: Term, out: Term[] = []): Term[] => {
  out.push(t)
  children(t).forEach((c) => subterms(c, out))
  return out
}

/**
 * The terms of a short saturation of a theorem's sides: every node's term (the forms the laws
 * produce, where the laws match again), and their sub-terms.
 */
const saturatedTerms = (slug: string, iterations: number): Term[] => {
  const p = theorems.find((t) => t.slug === slug)?.proof()
  if (p === undefined) throw new Error(`no theorem ${slug}`)
  const g = new EGraph()
  g.add(p.lhs)
  g.add(p.rhs)
  saturate(g, rules, { iterations, nodes: 1500, timeMs: 20000 })
  const out: Term[] = []
  for (let n = 0; n < g.size; n++) out.push(g.term(n))
  return out
}

/** Counts of (pattern, term) pairs: matched, and rejected by the prefilter. */
const check = (terms: ReadonlyArray<Term>) => {
  let matched = 0
  let rejected = 0
  for (const t of new Set(terms.flatMap((x) => subterms(x)))) {
    for (const p of sides) {
      const fits = prefilter(p)(t)
      if (!fits) rejected++
      const any = !matchAll(p, t).next().done
      if (any) matched++
      // The prefilter is a necessary condition: what it rejects never matches.
      if (any && !fits) return { matched, rejected, wrong: { p, t } }
      if (t.kind !== 'seq' && t.kind !== 'par') continue
      const n = t.parts.length
      for (let i = 0; i < n; i++)
        for (let j = i + 1; j <= Math.min(n, i + 4); j++) {
          const wfits = windowPrefilter(p)(t.parts.slice(i, j))
          if (!wfits) rejected++
          const wany = !matchWindow(p, t, i, j).next().done
          if (wany) matched++
          if (wany && !wfits) return { matched, rejected, wrong: { p, t, window: [i, j] } }
        }
    }
  }
  return { matched, rejected, wrong: undefined }
}

describe("the saturation's index (prefilter of a pattern's fixed kinds)", () => {
  it('never rejects a term or window a law matches, on the forms a saturation builds', () => {
    const r = check([
      ...saturatedTerms('visual-attention-fig29', 1),
      ...saturatedTerms('conv-1x1-section33', 2),
    ])
    expect(r.wrong).toBeUndefined()
    // Not vacuous: laws match there, and the prefilter rejects most pairs.
    expect(r.matched).toBeGreaterThan(100)
    expect(r.rejected).toBeGreaterThan(10 * r.matched)
  })

  it('never rejects a match on generated terms', () => {
    fc.assert(
      fc.property(fc.oneof(termArb(['a b']), termArb(['a', 'b']), termArb(['a'])), (t) => {
        expect(check([t]).wrong).toBeUndefined()
      }),
      { numRuns: 60, seed: 29 },
    )
  })

  it('is what the saturation uses for every oriented law', () => {
    const o = orientRules(rules)
    expect(o.length).toBeGreaterThan(50)
    for (const x of o) {
      expect(typeof x.fits).toBe('function')
      expect(typeof x.fitsWindow).toBe('function')
    }
  })
})
