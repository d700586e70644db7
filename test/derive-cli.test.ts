/**
 * `ncd derive`: the derived jvp and vjp of every example are printed and pass their numeric
 * checks (jvp against central differences, vjp against jvp); bad arguments say what was expected.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkDerivatives, deriveCommand } from '../src/cli/derive.js'
import { findExample, parseSizes } from '../src/cli/select.js'
import { examples } from '../src/cli/examples.js'
import { encodeTermDocument, jvp, mean, seq, sigmoid, tanh, vjp } from '../src/index.js'

const run = (args: string[]): { code: number; out: string } => {
  const lines: string[] = []
  const code = deriveCommand(args, (l) => lines.push(l))
  return { code, out: lines.join('\n') }
}

describe('ncd derive', () => {
  it.each(examples().map((e, i) => [i + 1, e.figure, e.title] as const))(
    'example %i (%s %s): prints f, jvp, vjp and passes both checks',
    (n) => {
      const { code, out } = run([String(n)])
      expect(out).toMatch(/^ {2}f {3}= /m)
      expect(out).toMatch(/^ {2}jvp = [^]* : [^]*^ {2}vjp = [^]* : /m)
      expect(Math.max(...out.split('\n').map((l) => [...l].length))).toBeLessThanOrEqual(120)
      expect(out).toMatch(/: ok$/m)
      expect(code).toBe(0)
    },
  )

  it('finds examples by figure, number and title word', () => {
    expect(findExample('Fig. 22')?.title).toMatch(/attention/)
    expect(findExample('mlp')?.figure).toBe('Fig. 21')
    expect(findExample('1')?.title).toBe(examples()[0]?.title)
    expect(findExample('no such thing')).toBeUndefined()
  })

  it('derives a term document from disk, at the sizes given', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ncd-derive-'))
    const file = join(dir, 'f.json')
    writeFileSync(file, JSON.stringify(encodeTermDocument(seq(tanh('k'), mean('k')))))
    const { code, out } = run([file, '--sizes', 'k=5', '--raw'])
    expect(out).toContain('f   = tanh[k] ; mean(k) : [k] -> []')
    expect(out).toContain('{"k":5}')
    expect(code).toBe(0)
  })

  it('refuses bad arguments with exit code 2 and says what was expected', () => {
    expect(run([]).code).toBe(2)
    const unknown = run(['no such thing'])
    expect(unknown.code).toBe(2)
    expect(unknown.out).toMatch(/no example matches 'no such thing'.*Fig\. 22/)
    const sizes = run(['MLP', '--sizes', 'n=0'])
    expect(sizes.code).toBe(2)
    expect(sizes.out).toMatch(/--sizes: 'n=0' is not name=size \(a positive integer\)/)
    const missing = run(['/nonexistent/term.json'])
    expect(missing.code).toBe(2)
    expect(missing.out).toMatch(/cannot read/)
    expect(parseSizes('a=2,b=3')).toEqual({ a: 2, b: 3 })
  })

  it('its checks can fail: a wrong jvp or vjp is caught', () => {
    const f = seq(tanh('k'), mean('k'))
    const good = checkDerivatives(f, { k: 4 })
    expect(good.jvpError).toBeLessThan(1e-6)
    expect(good.vjpError).toBeLessThan(1e-12)
    // The derivatives of sigmoid in place of tanh's: same type, wrong numbers.
    const other = seq(sigmoid('k'), mean('k'))
    expect(checkDerivatives(f, { k: 4 }, 1, { jvp: jvp(other) }).jvpError).toBeGreaterThan(1e-2)
    expect(checkDerivatives(f, { k: 4 }, 1, { vjp: vjp(other) }).vjpError).toBeGreaterThan(1e-2)
  })
})
