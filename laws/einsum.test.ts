import { describe, expect, it } from 'vitest'
import {
  type Dim,
  P,
  type Pattern,
  type Term,
  cup,
  einsum,
  rule,
  seq,
  show,
  unit,
  v,
} from '../src/index.js'
import { einsumRules } from '../src/rewrite/rules/einsum.js'
import { checkLaw, refuteLaw } from '../src/testing/laws.js'

/** Cases per law and direction: 200 in CI, more on demand (`LAW_RUNS=5000 npm run laws`). */
const numRuns = Number(process.env.LAW_RUNS ?? 200)

describe('einsum laws hold', () => {
  for (const r of einsumRules) it(`${r.name} (${r.source})`, () => checkLaw(r, { numRuns }))
})

type EinsumTerm = Extract<Term, { kind: 'einsum' }>

/**
 * A plausible wrong fusion: substitute, position by position, the first einsum's output labels
 * for the second's input labels, the first occurrence of a label winning. It forgets that a
 * label the second repeats (a diagonal) ties two labels of the first, so the second of them is
 * summed instead of kept equal to the first. (It also drops a label the first einsum broadcasts
 * and the second sums, so a factor of its size; most seeds find that simpler flaw.)
 */
const fuseBySubstitution = (e1: EinsumTerm, e2: EinsumTerm): Term => {
  const first = (l: string): string => `u_${l}`
  const sub = new Map<string, string>()
  ;(e2.inputs[0] ?? []).forEach((l, q) => {
    if (!sub.has(l)) sub.set(l, first(e1.output[q] as string))
  })
  const second = (l: string): string => sub.get(l) ?? `v_${l}`
  const inputs = e1.inputs.map((ls) => ls.map(first))
  const output = e2.output.map(second)
  const dims: Record<string, Dim> = {}
  for (const [l, d] of Object.entries(e1.dims)) dims[first(l)] = d
  for (const [l, d] of Object.entries(e2.dims)) if (!sub.has(l)) dims[second(l)] = d
  const used = new Set([...inputs.flat(), ...output])
  const spec = `${inputs.map((ls) => ls.join(' ')).join(', ')} -> ${output.join(' ')}`
  return einsum(spec, {
    dims: Object.fromEntries(Object.entries(dims).filter(([l]) => used.has(l))),
  })
}

const someEinsum = (name: string): Pattern =>
  v.as(
    name,
    P.node({
      kind: 'einsum',
      inputs: v.value(`${name}.inputs`),
      output: v.value(`${name}.output`),
      dims: v.value(`${name}.dims`),
    }),
  )

/** A refutation must be a numeric difference, not a rule that fails to apply. */
const refutedNumerically = (counterexample: string): void => {
  expect(counterexample).toContain('before:')
  expect(counterexample).toContain('after:')
  expect(counterexample).toMatch(/problem: output \d+ differs at entry \d+/)
}

describe('plausible false einsum laws are refuted, with a readable counterexample', () => {
  it('fusion by substitution sums a label that a diagonal should keep', () => {
    const wrong = rule(
      'wrong/fusion-by-substitution',
      P.seq(someEinsum('e1'), someEinsum('e2')),
      v.build('the substituted fusion of ?e1 and ?e2', (b) =>
        fuseBySubstitution(b.get('e1')?.value as EinsumTerm, b.get('e2')?.value as EinsumTerm),
      ),
      { oneWay: true },
    )
    // A seed whose counterexample is a diagonal, not a broadcast label summed away (seed 19 was,
    // when most drawn entries were below 1e-10).
    const counterexample = refuteLaw(wrong, 'forward', { seed: 32, tolerance: 0.1 })
    refutedNumerically(counterexample)
    // The second einsum takes a diagonal: one of its input labels is repeated.
    expect(counterexample).toMatch(/; einsum\(\S*\b(\w+) [^-]*\b\1\b[^>]*->/)
  })

  it('the Fig. 18 chain fused by substitution is not the attention scores', () => {
    const outer = einsum('y k1 h, k2 x h -> y k1 k2 x h', { dims: { k1: 'k', k2: 'k' } })
    const inner = einsum('y k k x h -> y x h')
    const naive = fuseBySubstitution(outer as EinsumTerm, inner as EinsumTerm)
    // k1 and k2 are summed separately: the sum over k of Q times the sum over k of K.
    expect(show(naive)).toBe(
      'einsum(u_y u_k1 u_h, u_k2 u_x u_h -> u_y u_x u_h; u_h=h, u_k1=k, u_k2=k, u_x=x, u_y=y)',
    )
    const wrong = rule('wrong/fig18-by-substitution', seq(outer, inner), naive)
    refutedNumerically(refuteLaw(wrong, 'forward', { tolerance: 0.1 }))
  })

  it('a closed loop is not 1: unit then cup is the size of the axis (Fig. 20)', () => {
    const wrong = rule('wrong/loop-is-one', seq(unit('a'), cup('a')), einsum(' -> '))
    const counterexample = refuteLaw(wrong, 'forward', { tolerance: 0.1 })
    refutedNumerically(counterexample)
    expect(counterexample).toMatch(/sizes \{"a":[2-9]\}/)
  })
})
