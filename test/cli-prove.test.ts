/**
 * `ncd prove` and `ncd optimize` (issue 13, section 5): each step printed with the term after it,
 * the counterexample, or why neither was found; exit 0 proved, 1 refuted, 2 unknown; `-o` writes
 * a proof document that `ncd check` accepts; bad input is one line on stderr, never a stack.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { check } from '../src/cli/check.js'
import { runCommand } from '../src/cli/command.js'
import { optimizeCmd, proveCmd } from '../src/cli/prove.js'
import {
  type Term,
  broadcast,
  einsum,
  encodeTermDocument,
  id,
  relu,
  seq,
  softmax,
  tanh,
} from '../src/index.js'

const dir = mkdtempSync(join(tmpdir(), 'ncd-prove-'))
const doc = (name: string, t: Term): string => {
  const file = join(dir, `${name}.json`)
  writeFileSync(file, JSON.stringify(encodeTermDocument(t)))
  return file
}

const run = (c: typeof proveCmd, args: string[]) => {
  const out: string[] = []
  const err: string[] = []
  const code = runCommand(c, args, { out: (s) => out.push(s), err: (s) => err.push(s) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('ncd prove', () => {
  it('proves, printing each step with its law, place and the term after it (exit 0)', () => {
    // Fig. 13: transpose ; softmax over rows ; transpose is softmax over columns.
    const lhs = seq(einsum('a b -> b a'), broadcast(softmax('a'), ['b']), einsum('b a -> a b'))
    const rhs = broadcast(softmax('a'), ['b'], { at: 'last' })
    const r = run(proveCmd, [doc('conj', lhs), doc('cols', rhs)])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/proved in 1 step\(s\)/)
    expect(r.out).toMatch(
      / {2}1\. broadcast\/move-axes → at \/\n {5}bcast\[b @in\(1\) @out\(1\)\]\(softmax\(a\)\)/,
    )
    expect(r.err).toBe('')
  })

  it('an example against a term document, and -o writes a proof that ncd check accepts', () => {
    const file = join(dir, 'snake.proof.json')
    const r = run(proveCmd, ['Fig. 20', doc('ida2', id([['a']])), '-o', file])
    expect(r.code).toBe(0)
    expect(JSON.parse(readFileSync(file, 'utf8')).format).toBe('ncd-proof')
    const c = run(check, [file])
    expect(c.code).toBe(0)
  })

  it('refutes with a counterexample (exit 1)', () => {
    const r = run(proveCmd, [doc('relu', relu('k')), doc('tanh', tanh('k')), '--sizes', 'k=3'])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/refuted: a counterexample\n {2}sizes \{"k":3\}/)
    expect(r.out).toMatch(/output 0, entry \d+: /)
  })

  it('refutes terms of different types naming both (exit 1)', () => {
    const r = run(proveCmd, [doc('relu2', relu('k')), doc('t', einsum('k -> '))])
    expect(r.code).toBe(1)
    expect(r.out).toContain('[k] -> []')
  })

  it('says unknown, with the limit reached (exit 2)', () => {
    // relu is idempotent: true, but no law of the catalogue says so.
    const a = doc('rr', seq(relu('k'), relu('k'), tanh('k')))
    const b = doc('r', seq(relu('k'), tanh('k')))
    const r = run(proveCmd, [a, b, '--limits', 'iterations=2,time=2000'])
    expect(r.code).toBe(2)
    expect(r.out).toMatch(
      /unknown: .*search (stopped at its (iteration|time|node) limit|saturated)/,
    )
  })

  it('refuses bad input with one line on stderr and no stack trace (exit 2)', () => {
    const cases: string[][] = [
      [],
      ['only-one'],
      ['/nonexistent/a.json', '/nonexistent/b.json'],
      ['no such example', 'Fig. 20'],
      [doc('x1', relu('k')), doc('x2', relu('k')), '--limits', 'nodes=many'],
      [doc('x3', relu('k')), doc('x4', relu('k')), '--limits', 'colour=3'],
      [doc('x5', relu('k')), doc('x6', relu('k')), '--bogus'],
    ]
    for (const args of cases) {
      const r = run(proveCmd, args)
      expect(r.code).toBe(2)
      expect(r.err.split('\n')).toHaveLength(1)
      expect(r.err).not.toMatch(/\n\s+at /)
      expect(r.err.length).toBeGreaterThan(10)
    }
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, '{"format": "ncd-term", "term": 3}')
    const r = run(proveCmd, [bad, bad])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/is not a term document/)
  })
})

describe('ncd optimize', () => {
  it('prints both costs, the cheaper term and the proof', () => {
    const t = doc('mm', seq(einsum('a b, b c -> a c'), einsum('a c -> c a')))
    const file = join(dir, 'opt.proof.json')
    const r = run(optimizeCmd, [t, '--sizes', 'a=8,b=8,c=8', '-o', file])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/before: \d+ FLOPs, peak \d+ entries\nafter: {2}\d+ FLOPs/)
    expect(r.out).toMatch(/proof in \d+ step\(s\)/)
    expect(run(check, [file]).code).toBe(0)
    const m = run(optimizeCmd, [t, '--cost', 'memory', '--sizes', 'a=8,b=8,c=8'])
    expect(m.code).toBe(0)
  })

  it('refuses a bad cost model and a missing term (exit 2, one line)', () => {
    const r = run(optimizeCmd, [doc('y', relu('k')), '--cost', 'speed'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/--cost must be flops or memory, not 'speed'/)
    const m = run(optimizeCmd, [])
    expect(m.code).toBe(2)
  })
})
