/**
 * The `ncd` command line, spawned as a user runs it (issue 9, "The command line"): every
 * subcommand answers --help and -h, unknown options and bad values are refused, and bad input is
 * one line on stderr with exit code 2, never a stack trace; `npm start` prints no line over 120
 * characters.
 */
import { type SpawnSyncReturns, execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { COMMANDS } from '../src/cli/main.js'
import { examples } from '../src/cli/examples.js'
import { wrapText } from '../src/cli/wrap.js'
import * as E from 'fp-ts/lib/Either.js'
import { equationDigest } from '../src/cli/check.js'
import {
  encodeTermDocument,
  mean,
  normalize,
  proofFromJson,
  seq,
  showTyped,
  tanh,
  vjp,
} from '../src/index.js'

const MAIN = resolve(import.meta.dirname, '../src/cli/main.ts')
const ROOT = resolve(import.meta.dirname, '..')
const TSX = import.meta.resolve('tsx')

const ncd = (args: ReadonlyArray<string>, cwd = ROOT): SpawnSyncReturns<string> =>
  spawnSync(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  })

/** A refusal: exit code 2, nothing on stdout, one line on stderr without a stack trace. */
const refused = (r: SpawnSyncReturns<string>, message: RegExp) => {
  expect(r.error).toBeUndefined()
  expect(r.stderr).toMatch(message)
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
  expect(r.stderr).not.toMatch(/^\s+at /m)
  expect(r.status).toBe(2)
}

const tmp = () => mkdtempSync(join(tmpdir(), 'ncd-cli-'))

const proofFile = (): string => {
  const dir = join(ROOT, 'proofs/json')
  return join(dir, 'attention-scores-fig19.proof.json')
}

describe('ncd --help', () => {
  it('ncd help lists every command', () => {
    const r = ncd(['help'])
    expect(r.status).toBe(0)
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ncd ${c.name} `, 'm'))
  })

  it.each(COMMANDS.flatMap((c) => [[c.name, '--help'] as const, [c.name, '-h'] as const]))(
    'ncd %s %s prints its usage and does nothing else',
    (name, flag) => {
      const r = ncd([name, flag])
      expect(r.stderr).toBe('')
      expect(r.stdout).toMatch(new RegExp(`^usage: ncd ${name}`))
      expect(r.stdout).toContain('-h, --help')
      expect(r.status).toBe(0)
    },
  )
})

describe('ncd refuses bad arguments with one line and exit code 2', () => {
  it('an unknown option', () =>
    refused(ncd(['derive', 'mlp', '--bogus']), /unknown option '--bogus'/))
  it('an unknown option of check (not a file named --bogus)', () =>
    refused(ncd(['check', '--bogus']), /ncd check: unknown option '--bogus'/))
  it('a seed that is not a number', () =>
    refused(
      ncd(['derive', 'mlp', '--seed', 'abc']),
      /--seed must be a non-negative integer, not 'abc'/,
    ))
  it('a size for a dim the term lacks', () =>
    refused(
      ncd(['cost', 'mlp', '--sizes', 'zz=4']),
      /the term has no dim 'zz'; its dims are c, h, n, w/,
    ))
  it('an option without its value', () =>
    refused(ncd(['cost', 'mlp', '--sizes']), /option '--sizes <value>' argument missing/))
  it('too many arguments', () => refused(ncd(['examples', 'extra']), /takes no arguments/))
  it('an unknown command', () => refused(ncd(['frobnicate']), /unknown command 'frobnicate'/))

  it('ncd derive term.json without --sizes names the dims that need one', () => {
    const file = join(tmp(), 'f.json')
    writeFileSync(file, JSON.stringify(encodeTermDocument(seq(tanh('k'), mean('k')))))
    refused(ncd(['derive', file]), /dims without a size: k; give them with --sizes k=<n>/)
    const ok = ncd(['derive', file, '--sizes', 'k=3'])
    expect(ok.stdout).toMatch(/: ok$/m)
    expect(ok.status).toBe(0)
  })

  it('a folder, a FIFO and a missing file given as a term document', () => {
    const dir = tmp()
    mkdirSync(join(dir, 'dir.json'))
    refused(ncd(['derive', join(dir, 'dir.json')]), /is a folder, not a file/)
    execFileSync('mkfifo', [join(dir, 'fifo.json')])
    refused(ncd(['codegen', join(dir, 'fifo.json')]), /is not a regular file/)
    refused(ncd(['derive', join(dir, 'none.json')]), /cannot read .*none\.json/)
  })
})

describe('ncd check on bad input', () => {
  it('a malformed value binding', () => {
    const d = JSON.parse(readFileSync(proofFile(), 'utf8')) as {
      steps: Array<Record<string, unknown>>
    }
    d.steps[0] = {
      ...d.steps[0],
      bindings: { D: { sort: 'value', value: { k: { kind: 'var', name: 7 } } } },
    }
    const file = join(tmp(), 'bad.proof.json')
    writeFileSync(file, JSON.stringify(d))
    const r = ncd(['check', file])
    refused(r, /ncd check: .*bad\.proof\.json: /)
    expect(r.stdout).toMatch(/UNREAD/)
  })

  it('a document nested 10^4 deep', () => {
    const d = JSON.parse(readFileSync(proofFile(), 'utf8')) as Record<string, unknown>
    const n = 10_000
    const lhs = `${'{"kind":"seq","parts":['.repeat(n)}${JSON.stringify(d['lhs'])}${']}'.repeat(n)}`
    const file = join(tmp(), 'deep.proof.json')
    writeFileSync(file, JSON.stringify({ ...d, lhs: 'LHS' }).replace('"LHS"', lhs))
    refused(ncd(['check', file]), /deep\.proof\.json/)
  })

  it('an unreadable file, a FIFO and a missing file: each reported, none hangs', () => {
    const dir = tmp()
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling.proof.json'))
    execFileSync('mkfifo', [join(dir, 'fifo.proof.json')])
    const r = ncd(['check', dir, join(dir, 'missing.proof.json')])
    expect(r.error).toBeUndefined()
    expect(r.stderr).toMatch(/fifo\.proof\.json is not a regular file/)
    expect(r.stderr).toMatch(/missing\.proof\.json: no such file or folder/)
    expect(r.stderr).toMatch(/dangling\.proof\.json/)
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(3)
    expect(r.stderr).not.toMatch(/^\s+at /m)
    expect(r.status).toBe(2)
  })

  it('no proofs/ folder: says where it looked; an empty one: says there are no proof files', () => {
    const dir = tmp()
    refused(
      ncd(['check'], dir),
      new RegExp(`no proofs/ folder here \\(looked for ${join(dir, 'proofs')}\\)`),
    )
    mkdirSync(join(dir, 'proofs'))
    refused(ncd(['check'], dir), /no proof files \(\*\.proof\.json\) in .*proofs/)
  })
})

describe('ncd cost at large sizes (parameters listed by paramsOf, never allocated)', () => {
  it('n = 20000 (33 s and 3.2 GB before: random parameters were drawn to list their names)', () => {
    const r = ncd(['cost', 'mlp', '--sizes', 'n=20000'])
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/^forward: +800840018 FLOPs/m)
    expect(r.status).toBe(0)
  })
  it('n = 10^9 (a crash before)', () => {
    const r = ncd(['cost', 'mlp', '--sizes', 'n=1000000000'])
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/^gradient \(normal form\): +~6000000122000000000 FLOPs/m)
    expect(r.stdout).toMatch(/^not exact: figures marked ~ exceed 2\^53/m)
    expect(r.status).toBe(0)
  })
})

describe('npm start', () => {
  it('prints no line over 120 characters (ncd examples, then ncd check)', () => {
    const examples = ncd(['examples'])
    const check = ncd(['check'])
    expect(examples.status).toBe(0)
    expect(check.status).toBe(0)
    const lines = `${examples.stdout}\n${check.stdout}`.split('\n')
    expect(lines.length).toBeGreaterThan(60)
    const long = lines.filter((l) => [...l].length > 120)
    expect(long).toEqual([])
    // The gradient of Fig. 33-37 (784 characters on one line before) is wrapped, not cut.
    expect(examples.stdout).toMatch(/Fig\. 33-37[^]*\n {9}; /)
  })
})

describe('wrapText', () => {
  const texts = [
    ...examples().map((e) => showTyped(e.term)),
    ...examples().map((e) => showTyped(normalize(vjp(e.term)))),
    'word '.repeat(80),
    'x'.repeat(300),
  ]
  it.each([40, 80, 120])('keeps every character and no line over %i', (width) => {
    for (const t of texts) {
      const w = wrapText(t, { width, first: '  f = ', indent: '      ', structured: true })
      const lines = w.split('\n')
      expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(width)
      expect(lines.every((l, i) => l.startsWith(i === 0 ? '  f = ' : '      '))).toBe(true)
      // Only whitespace changes (a run without spaces wider than a line is cut).
      const back = lines.map((l) => l.slice(6)).join(' ')
      expect(back.replace(/\s+/g, '')).toBe(t.replace(/\s+/g, ''))
      if (width === 120 && !t.startsWith('xxx'))
        expect(back.replace(/\s+/g, ' ').trim()).toBe(t.replace(/\s+/g, ' ').trim())
    }
  })
  it('breaks a term before a ; at the top level', () => {
    expect(
      wrapText('relu[n] ; L(L1: n -> n, +) ; relu[n]', {
        width: 24,
        first: 'f = ',
        structured: true,
      }),
    ).toBe('f = relu[n]\n    ; L(L1: n -> n, +)\n    ; relu[n]')
  })
})

describe('ncd check names the equation each proof proves', () => {
  it('prints both sides and a digest of them, the same under another name', () => {
    const file = join(ROOT, 'proofs/json/snake-fig20.proof.json')
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
    const decoded = proofFromJson(readFileSync(file, 'utf8'))
    if (E.isLeft(decoded)) throw new Error('the snake proof does not decode')
    const digest = equationDigest(decoded.right.lhs, decoded.right.rhs)
    const r = ncd(['check', file])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^ {2}lhs: bcast\[a\]\(unit\[a\]\) ; /m)
    expect(r.stdout).toMatch(/^ {2}rhs: L\(W: a -> b\)$/m)
    expect(r.stdout).toContain(`equation sha256 ${digest}`)
    // Renamed, the document proves the same equation: the digest says so.
    const renamed = join(tmp(), 'renamed.proof.json')
    writeFileSync(renamed, JSON.stringify({ ...doc, name: 'something else entirely' }))
    expect(ncd(['check', renamed]).stdout).toContain(`equation sha256 ${digest}`)
    // Another equation has another digest.
    expect(equationDigest(decoded.right.rhs, decoded.right.lhs)).not.toBe(digest)
  })
})
