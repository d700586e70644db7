/**
 * `ncd render` (issue 10, section 3), spawned as a user runs it: a term to SVG on stdout or to an
 * .svg, .html or .png file, a proof document to its page, --expand and --width; bad input is one
 * line on stderr with exit code 2 and no stack trace.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { xmlProblems } from './xml.js'

const MAIN = resolve(import.meta.dirname, '../src/cli/main.ts')
const ROOT = resolve(import.meta.dirname, '..')
const TSX = import.meta.resolve('tsx')
const SNAKE = join(ROOT, 'proofs/json/snake-fig20.proof.json')

const ncd = (args: ReadonlyArray<string>): SpawnSyncReturns<string> =>
  spawnSync(process.execPath, ['--import', TSX, MAIN, 'render', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  })

const refused = (r: SpawnSyncReturns<string>, message: RegExp) => {
  expect(r.error).toBeUndefined()
  expect(r.stderr).toMatch(message)
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
  expect(r.stderr).not.toMatch(/^\s+at /m)
  expect(r.stdout).toBe('')
  expect(r.status).toBe(2)
}

const tmp = mkdtempSync(join(tmpdir(), 'ncd-render-'))

describe('ncd render', () => {
  it('an example as SVG on stdout, collapsed or expanded, width axes overlined', () => {
    const open = ncd(['Fig. 23', '--expand', 'all', '--width', 'x,y'])
    expect(open.status).toBe(0)
    expect(open.stdout.startsWith('<svg')).toBe(true)
    expect(xmlProblems(open.stdout.trim())).toEqual([])
    expect(open.stdout).toContain('class="frame model"')
    expect(open.stdout).toContain('class="over"')
    const shut = ncd(['Fig. 23', '--expand', 'none'])
    expect(shut.status).toBe(0)
    expect(shut.stdout).not.toContain('class="frame model"')
    // The example's token axes are marked as widths (Fig. 23 overlines them) without --width.
    expect(shut.stdout).toContain('class="over"')
    // An example without marks has overlines only where --width asks for them.
    const plain = ncd(['Fig. 12'])
    expect(plain.status).toBe(0)
    expect(plain.stdout).not.toContain('class="over"')
    expect(ncd(['Fig. 12', '--width', 'r']).stdout).toContain('class="over"')
  })

  it('a term to .svg, .html and .png files; a proof document to its page', () => {
    const svg = join(tmp, 'att.svg')
    const r = ncd(['attention', '-o', svg])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^wrote .*att\.svg \(svg, /)
    const text = readFileSync(svg, 'utf8')
    expect(xmlProblems(text)).toEqual([])
    const html = join(tmp, 'att.html')
    expect(ncd(['attention', '-o', html]).status).toBe(0)
    expect(readFileSync(html, 'utf8')).toMatch(/^<!DOCTYPE html>[\s\S]*<svg /)
    const png = join(tmp, 'att.png')
    expect(ncd(['attention', '-o', png, '--scale', '3']).status).toBe(0)
    const bytes = readFileSync(png)
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG')
    // The IHDR's width is the SVG's, times the scale.
    const w = Number(/<svg [^>]*width="([^"]*)"/.exec(text)?.[1])
    expect(Math.abs(bytes.readUInt32BE(16) - 3 * w)).toBeLessThanOrEqual(1)
    const page = join(tmp, 'snake.html')
    const p = ncd([SNAKE, '-o', page])
    expect(p.status).toBe(0)
    const doc = readFileSync(page, 'utf8')
    expect(xmlProblems(doc)).toEqual([])
    expect(doc.match(/<section class="step"/g)).toHaveLength(5)
  })

  const broken = join(tmp, 'broken.json')
  writeFileSync(broken, '{ "kind": ')
  const badProof = join(tmp, 'bad.proof.json')
  writeFileSync(badProof, JSON.stringify({ format: 'ncd-proof', version: 1, name: 'x' }))
  it.each([
    [['no-such-example'], /ncd render: no example matches 'no-such-example'/],
    [['attention', '-o', join(tmp, 'x.pdf')], /must end in \.svg, \.html or \.png/],
    [[SNAKE, '-o', join(tmp, 'x.svg')], /is a proof: it renders as a page/],
    [['attention', '--scale', '0'], /--scale must be between 1 and 16/],
    [['attention', '--expand', ','], /--expand must be all, none, top or box names/],
    [[join(tmp, 'missing.json')], /cannot read .*missing\.json/],
    [[broken], /is not a term document: .*not JSON/],
    [[badProof], /is not a proof document: \$/],
    [['attention', '-o', join(tmp, 'no/such/dir/x.svg')], /cannot write/],
  ] as const)('refuses %j with one line and exit code 2', (args, message) =>
    refused(ncd(args), message),
  )
})
