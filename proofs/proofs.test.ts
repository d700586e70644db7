import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  type Bound,
  type Proof,
  type Location,
  type Step,
  type Term,
  applyAt,
  checkProof,
  cost,
  nodeAt,
  normalize,
  lawCatalogue,
  proofFromJson,
  proofToJson,
  relu,
  dim,
  evaluate,
  forwardGradient,
  grad,
  randomInputs,
  randomParams,
  seq,
  show,
  termEquals,
} from '../src/index.js'
import { checkProofFiles } from '../src/cli/check.js'
import { backpropNetworks, theorems } from './theorems.js'
import { backpropShowcase, searchTheorems } from './search.js'

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'json')
const laws = lawCatalogue()

describe('every theorem is proved', () => {
  for (const t of theorems)
    it(t.slug, () => {
      const p = t.proof()
      const checked = checkProof(p, laws)
      expect(E.isRight(checked) ? 'proved' : checked.left).toBe('proved')
    })
})

describe('every theorem ends at the right side it states', () => {
  for (const t of theorems)
    it(t.slug, () => {
      const p = t.proof()
      expect(termEquals(p.rhs, t.rhs()), show(p.rhs)).toBe(true)
      expect(termEquals(p.lhs, t.rhs())).toBe(false)
    })
})

describe('the proof documents of proofs/json (ncd check)', () => {
  for (const t of theorems)
    it(`${t.slug}.proof.json is up to date and replays`, () => {
      const file = path.join(dir, `${t.slug}.proof.json`)
      const text = fs.readFileSync(file, 'utf8')
      expect(text, 'run `npm run proofs` to rewrite it').toBe(
        `${proofToJson(t.proof(), { indent: 1 })}\n`,
      )
      const decoded = proofFromJson(text)
      if (E.isLeft(decoded)) throw new Error(JSON.stringify(decoded.left))
      expect(E.isRight(checkProof(decoded.right, laws))).toBe(true)
    })

  it('ncd check passes on the folder, and there is no stray document', () => {
    const results = checkProofFiles([dir], laws)
    expect(results.map((r) => r.ok)).toEqual(
      [...theorems, ...searchTheorems, ...backpropShowcase].map(() => true),
    )
  })

  it('ncd check reports a broken document with its step', () => {
    const [first] = theorems
    if (first === undefined) throw new Error('no theorems')
    const json = JSON.parse(proofToJson(first.proof())) as { steps: Array<{ rule: string }> }
    const [step] = json.steps
    if (step === undefined) throw new Error('no steps')
    step.rule = 'category/no-such-law'
    const tmp = path.join(
      fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'ncd-')),
      'bad.proof.json',
    )
    fs.writeFileSync(tmp, JSON.stringify(json))
    const [r] = checkProofFiles([tmp], laws)
    expect(r?.ok).toBe(false)
    expect(r?.message).toContain('step 1: no law is named category/no-such-law')
  })
})

/** Every way of changing one thing in a step: its law, direction, location or a binding. */
const mutations = (p: Proof): fc.Arbitrary<{ what: string; proof: Proof; at: number }> => {
  const names = [...laws.keys()]
  // The term each step starts from, to tell a new location from another name of the same one.
  const terms: Term[] = [p.lhs]
  p.steps.forEach((s, i) => {
    const r = laws.get(s.rule)
    const next = r === undefined ? undefined : applyAt(r, terms[i] as Term, s.location, s.direction)
    if (next === undefined || E.isLeft(next)) throw new Error(`step ${i + 1} does not replay`)
    terms.push(next.right.term)
  })
  const normal = (t: Term, l: Location): string => {
    try {
      const node = nodeAt(t, l.path)
      const whole =
        l.range !== undefined &&
        (node.kind === 'seq' || node.kind === 'par') &&
        l.range[0] === 0 &&
        l.range[1] === node.parts.length
      return JSON.stringify(whole ? { path: l.path } : l)
    } catch {
      return JSON.stringify(l)
    }
  }
  return fc.integer({ min: 0, max: p.steps.length - 1 }).chain((i) => {
    const s = p.steps[i] as Step
    const replace = (what: string, next: Step) => ({
      what,
      at: i + 1,
      proof: { ...p, steps: p.steps.map((x, j) => (j === i ? next : x)) },
    })
    const otherLaw = fc
      .constantFrom(...names.filter((n) => n !== s.rule))
      .map((rule) => replace(`law ${rule}`, { ...s, rule }))
    const direction = fc.constant(
      replace('direction', { ...s, direction: s.direction === 'forward' ? 'backward' : 'forward' }),
    )
    const location = fc
      .oneof(
        fc.integer({ min: 0, max: 3 }).map((k) => ({ path: [...s.location.path, k] })),
        fc.constant(
          s.location.path.length > 0 ? { path: s.location.path.slice(1) } : { path: [5] },
        ),
        fc
          .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 }))
          .map(([a, n]) => ({ path: s.location.path, range: [a, a + n] as const })),
      )
      .filter((l) => normal(terms[i] as Term, l) !== normal(terms[i] as Term, s.location))
      .map((location) => replace(`location ${JSON.stringify(location)}`, { ...s, location }))
    const keys = [...s.bindings.keys()]
    const binding =
      keys.length === 0
        ? direction
        : fc.constantFrom(...keys).map((k) => {
            const b = s.bindings.get(k) as Bound
            const value: Bound =
              b.sort === 'term'
                ? { sort: 'term', value: relu('zz') }
                : b.sort === 'dim'
                  ? { sort: 'dim', value: dim('zz') }
                  : b.sort === 'value'
                    ? { sort: 'value', value: 'mutated' }
                    : { sort: b.sort, value: [[dim('zz')]] }
            const bindings = new Map(s.bindings)
            bindings.set(k, value)
            return replace(`binding ?${k}`, { ...s, bindings })
          })
    return fc.oneof(otherLaw, direction, location, binding)
  })
}

describe('any single mutation of a valid proof is rejected', () => {
  for (const t of theorems)
    it(t.slug, () => {
      const p = t.proof()
      fc.assert(
        fc.property(mutations(p), ({ proof, at }) => {
          const checked = checkProof(proof, laws)
          expect(E.isLeft(checked)).toBe(true)
          if (E.isLeft(checked)) expect(checked.left.step).toBeGreaterThanOrEqual(at)
        }),
        { numRuns: 100 },
      )
    })
})

describe('Fig. 33 = Fig. 37: the backpropagation theorems mean what they say', () => {
  const nets = Object.entries(backpropNetworks)
  it.each(nets)(
    '%s: both sides at seed r = 1 are grad(f) and forwardGradient(f), by another route',
    (name, parts) => {
      const f = seq(...parts())
      const slug = name === 'layer' ? 'backprop-layer-fig33-37' : 'backprop-two-layers-fig33-37'
      const t = theorems.find((x) => x.slug === slug)
      expect(t).toBeDefined()
      const proof = (t as (typeof theorems)[number]).proof()
      const sizes = { a: 5, b: 3, h: 4, c: 3 }
      const params = randomParams(f, sizes, 7)
      const [x] = randomInputs(f.dom, sizes, 8) as [Float64Array]
      const [g] = evaluate(grad(f), sizes, [x], params) as [Float64Array]
      const [fwd] = evaluate(forwardGradient(f), sizes, [x], params) as [Float64Array]
      const [lhs] = evaluate(proof.lhs, sizes, [x, [1]], params) as [Float64Array]
      const [rhs] = evaluate(proof.rhs, sizes, [x, [1]], params) as [Float64Array]
      // Central differences of f, an independent check of the gradient.
      const h = 1e-6
      const fd = Array.from(x, (_, i) => {
        const at = (d: number) => {
          const y = Float64Array.from(x)
          y[i] = (y[i] as number) + d
          return (evaluate(f, sizes, [y], params)[0] as Float64Array)[0] as number
        }
        return (at(h) - at(-h)) / (2 * h)
      })
      g.forEach((v, i) => {
        expect(Math.abs(v - (fd[i] as number))).toBeLessThan(1e-8)
        expect(Math.abs(v - (fwd[i] as number))).toBeLessThan(1e-12)
        expect(Math.abs(v - (lhs[i] as number))).toBeLessThan(1e-12)
        expect(Math.abs(v - (rhs[i] as number))).toBeLessThan(1e-12)
      })
    },
  )
})

describe('the proofs found by the search (proofs/json/search-*, npm run proofs)', () => {
  const read = (file: string): Proof => {
    const p = proofFromJson(fs.readFileSync(path.join(dir, file), 'utf8'))
    if (E.isLeft(p)) throw new Error(`${file} does not decode`)
    return p.right
  }
  for (const t of searchTheorems)
    it(`search-${t.slug}: replays, and proves the stated equation (either way round)`, () => {
      const p = read(`search-${t.slug}.proof.json`)
      expect(E.isRight(checkProof(p, laws))).toBe(true)
      const [a, b] = t.sides()
      const same = (x: Term, y: Term) => termEquals(p.lhs, x) && termEquals(p.rhs, y)
      expect(same(a, b) || same(b, a)).toBe(true)
      // Found by search: named laws, not one normal-form conversion of the whole term.
      expect(p.steps.some((s) => s.rule !== 'structural/normal-form')).toBe(true)
    })
  for (const [slug, , f, sizes] of backpropShowcase)
    it(`optimize-${slug}: replays from the forward gradient, to within 1.5x of backpropagation`, () => {
      const p = read(`optimize-${slug}.proof.json`)
      expect(E.isRight(checkProof(p, laws))).toBe(true)
      expect(termEquals(p.lhs, forwardGradient(f()))).toBe(true)
      expect(cost(p.rhs, sizes).flops).toBeLessThanOrEqual(cost(p.lhs, sizes).flops)
      // Section 3.6 (issue 13, section 4): FLOPs within 1.5x of normalize(grad(f)).
      expect(cost(p.rhs, sizes).flops).toBeLessThanOrEqual(
        1.5 * cost(normalize(grad(f())), sizes).flops,
      )
      expect(p.steps.some((s) => s.rule.startsWith('transpose/unit-broadcast'))).toBe(true)
    })
})
