// Pages (issue 10, section 2): every proof document of proofs/json renders as a well-formed page
// with both sides of the theorem drawn and one drawn step per proof step, each with its law, the
// figure the law cites and the rewritten region highlighted; a step that does not replay is shown
// as failed; counterexample pages give the sizes and the first differing entry by axis;
// derivation pages draw the term, jvp, vjp and, for a scalar loss, grad.
import { readFileSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { broadcast, seq } from '../src/core/construct.js'
import { relu, softmax, tanh } from '../src/core/primitives.js'
import { proofFromJson } from '../src/io/proof.js'
import { cup, einsum, unit } from '../src/linear/einsum.js'
import { attention } from '../src/models/attention.js'
import { equivalent } from '../src/rewrite/equivalent.js'
import { prove } from '../src/rewrite/proof.js'
import { lawCatalogue } from '../src/rewrite/rules/index.js'
import {
  renderCounterexample,
  renderDerivation,
  renderProof,
  renderTermPage,
  rewrittenRegion,
} from '../src/render/page.js'
import { xmlProblems } from './xml.js'

const DIR = resolve(import.meta.dirname, '../proofs/json')
const proofs = readdirSync(DIR)
  .filter((f) => f.endsWith('.proof.json'))
  .map((f) => {
    const p = proofFromJson(readFileSync(join(DIR, f), 'utf8'))
    if (E.isLeft(p)) throw new Error(`${f} does not decode`)
    return [f, p.right] as const
  })

/** The parts of a page between `<section class="step` and the next section. */
const stepSections = (html: string): string[] =>
  html
    .split('<section class="step')
    .slice(1)
    .map((s) => s.slice(0, s.indexOf('</section>')))

const highlightWidths = (html: string): number[] =>
  [...html.matchAll(/<rect class="highlight" x="[^"]*" y="[^"]*" width="([^"]*)"/g)].map((m) =>
    Number(m[1]),
  )

const svgWidth = (svg: string): number => Number(/<svg [^>]*width="([^"]*)"/.exec(svg)?.[1])

describe('renderProof', () => {
  it('finds the proof documents', () => expect(proofs.length).toBeGreaterThanOrEqual(10))

  for (const [file, proof] of proofs)
    it(`${file}: a well-formed page, both sides and every step drawn and highlighted`, () => {
      const html = renderProof(proof)
      expect(html.startsWith('<!DOCTYPE html>')).toBe(true)
      expect(xmlProblems(html)).toEqual([])
      expect(html).toContain('The steps end at the right side.')
      const theorem = html.slice(html.indexOf('<section class="theorem"'))
      expect(theorem.slice(0, theorem.indexOf('</section>')).match(/<svg /g)).toHaveLength(2)
      const steps = stepSections(html)
      expect(steps).toHaveLength(proof.steps.length)
      const laws = lawCatalogue()
      steps.forEach((s, i) => {
        const step = proof.steps[i]!
        expect(s).toContain(`<code class="law">${step.rule}</code>`)
        expect(s).toContain(`(${laws.get(step.rule)!.source})`)
        expect(s.match(/<svg /g)).toHaveLength(1)
        expect(highlightWidths(s)).toHaveLength(1)
      })
    })

  it('highlights only the rewritten parts when a step rewrites a strict sub-term', () => {
    const [, snakeProof] = proofs.find(([f]) => f === 'snake-fig20.proof.json')!
    const steps = stepSections(renderProof(snakeProof))
    // Step 2 rewrites parts [4, 6) of a longer sequence: the frame is narrower than the diagram.
    const svg = steps[1]!.slice(steps[1]!.indexOf('<svg'))
    const [w] = highlightWidths(steps[1]!)
    expect(w).toBeGreaterThan(0)
    expect(w!).toBeLessThan(svgWidth(svg) / 2)
  })

  it('shows a step that does not replay as failed, and the steps after it', () => {
    const lhs = seq(broadcast(unit('a'), ['a']), broadcast(cup('a'), ['a'], { at: 'last' }))
    const snake = lawCatalogue().get('compact/snake')!
    const good = prove('snake', lhs, [[snake, { path: [] }]])
    const bad = { ...good, steps: [{ ...good.steps[0]!, rule: 'compact/snake-mirrored' }] }
    const html = renderProof(bad)
    expect(xmlProblems(html)).toEqual([])
    expect(html).toContain('<section class="step failed" id="step-1">')
    expect(html).toContain('does not replay')
    expect(html).toContain('Step 1 does not replay.')
    const unknown = renderProof({ ...good, steps: [{ ...good.steps[0]!, rule: 'no/such-law' }] })
    expect(unknown).toContain('no law is named no/such-law')
  })
})

describe('rewrittenRegion', () => {
  it('follows a replacement flattened into the enclosing sequence', () => {
    const before = seq(relu('k'), tanh('k'), relu('k'))
    const after = seq(relu('k'), tanh('k'), tanh('k'), relu('k'))
    // Part 1 became parts 1 and 2.
    expect(rewrittenRegion(before, after, { path: [1] })).toEqual({ path: [], range: [1, 3] })
    // Parts [0, 2) became parts [0, 3).
    expect(rewrittenRegion(before, after, { path: [], range: [0, 2] })).toEqual({
      path: [],
      range: [0, 3],
    })
    // The same number of parts: the node at the path.
    expect(rewrittenRegion(before, before, { path: [1] })).toEqual({ path: [1] })
    // A path that no longer exists: its nearest existing ancestor.
    expect(rewrittenRegion(before, relu('k'), { path: [2] })).toEqual({ path: [] })
  })
})

describe('renderCounterexample', () => {
  it('draws both sides, gives the sizes and the first differing entry by axis', () => {
    const lhs = broadcast(softmax('x'), ['y'])
    const rhs = broadcast(softmax('y'), ['x'], { at: 'last' })
    const e = equivalent(lhs, rhs, { limits: false, sizes: { y: 2, x: 3 } })
    expect(e.kind).toBe('counterexample')
    if (e.kind !== 'counterexample') return
    const c = e.counterexample
    const html = renderCounterexample({ lhs, rhs, counterexample: c })
    expect(xmlProblems(html)).toEqual([])
    expect(html.match(/<svg /g)).toHaveLength(2)
    expect(html).toContain(`<tr><td>y</td><td>${c.sizes['y']}</td></tr>`)
    const x = c.sizes['x']!
    const at = `[y=${Math.floor(c.entry / x)}, x=${c.entry % x}]`
    expect(html).toContain(`output ${c.output}, ${at} (flat index ${c.entry})`)
    expect(html).toContain(`left <code>${c.left}</code>, right <code>${c.right}</code>`)
  })
})

describe('renderDerivation and renderTermPage', () => {
  it('a scalar loss: the term, jvp, vjp and grad, each drawn', () => {
    const html = renderDerivation(seq(broadcast(tanh(['k']), ['y']), einsum('y k ->')))
    expect(xmlProblems(html)).toEqual([])
    for (const name of ['the term', 'jvp', 'vjp', 'grad'])
      expect(html).toContain(`<h2>${name}</h2>`)
    expect(html.match(/<svg /g)).toHaveLength(4)
  })

  it('a vector-valued term has no gradient, and says so', () => {
    const html = renderDerivation(relu('k'))
    expect(html.match(/<svg /g)).toHaveLength(3)
    expect(html).toMatch(/grad<\/h2><p>[^<]*: none, the term's output \[k\] is not one scalar/)
  })

  it('one term on a page, its text and type below the drawing', () => {
    const html = renderTermPage(attention({ y: 'y', x: 'x', k: 'k' }), { expand: 'all' })
    expect(xmlProblems(html)).toEqual([])
    expect(html).toContain('<title>Attention')
    expect(html).toContain(': [y k] × [x k] × [x k] -&gt; [y k]')
    expect(html).toContain('class="frame model"')
  })
})
