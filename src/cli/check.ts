/**
 * `ncd check [files or folders]`: replay proof documents against the law catalogue and print a
 * table (proof, steps, result, time). The default is every `*.proof.json` under `proofs/`.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { show } from '../core/show.js'
import type { Term } from '../core/term.js'
import { encodeTerm } from '../io/term-json.js'
import { proofFromJson } from '../io/proof.js'
import { showProblems } from '../io/decode.js'
import { type Catalogue, checkProof } from '../rewrite/proof.js'
import { lawCatalogue } from '../rewrite/rules/index.js'
import { type Command, UsageError, oneLine, usageError } from './command.js'
import { readTextFile } from './select.js'
import { wrapText } from './wrap.js'

/** The outcome of checking one proof file. */
export interface ProofCheck {
  readonly file: string
  readonly name: string
  readonly steps: number
  readonly ok: boolean
  readonly message: string
  readonly ms: number
  /** The file could not be read or is not a proof document (bad input, not a failed proof). */
  readonly unread?: boolean
  /**
   * The equation a checked proof proves: both sides in text form (shortened past
   * {@link SIDE_LENGTH} characters) and a digest of both sides exactly, so that a document cannot
   * pass as a proof of another equation (issue 13, section 3).
   */
  readonly sides?: { readonly lhs: string; readonly rhs: string; readonly digest: string }
}

/** The longest text of a side that `ncd check` prints. */
const SIDE_LENGTH = 200

/**
 * The SHA-256 (first 16 hex digits) of both sides' JSON: the same for the same equation, whatever
 * the proof's name or steps.
 */
export const equationDigest = (lhs: Term, rhs: Term): string =>
  createHash('sha256')
    .update(JSON.stringify([encodeTerm(lhs), encodeTerm(rhs)]))
    .digest('hex')
    .slice(0, 16)

/** A target that is neither a proof file nor a folder of them, or a folder with none. */
const missing = (target: string): ProofCheck => ({
  file: target,
  name: target,
  steps: 0,
  ok: false,
  message: 'no such file or folder',
  ms: 0,
  unread: true,
})

const proofFiles = (target: string): Array<string | ProofCheck> => {
  let stat: fs.Stats
  try {
    stat = fs.statSync(target)
  } catch {
    return [missing(target)]
  }
  if (!stat.isDirectory()) return [target]
  let entries: fs.Dirent[]
  try {
    entries = fs.readdirSync(target, { withFileTypes: true })
  } catch (e) {
    return [{ ...missing(target), message: `cannot list: ${oneLine(e)}` }]
  }
  return entries
    .flatMap((e) =>
      e.isDirectory()
        ? proofFiles(path.join(target, e.name))
        : e.name.endsWith('.proof.json')
          ? [path.join(target, e.name)]
          : [],
    )
    .sort((a, b) => {
      const ka = typeof a === 'string' ? a : a.file
      const kb = typeof b === 'string' ? b : b.file
      return ka < kb ? -1 : ka > kb ? 1 : 0
    })
}

/**
 * Check the proof documents in the given files and folders. A file that cannot be read (missing,
 * unreadable, not a regular file such as a FIFO, too large), is not a proof document, or whose
 * check throws, is a failed row with its reason; nothing here throws for bad input.
 */
export const checkProofFiles = (targets: ReadonlyArray<string>, laws: Catalogue): ProofCheck[] =>
  targets.flatMap(proofFiles).map((entry) => {
    if (typeof entry !== 'string') return entry
    const file = entry
    const start = performance.now()
    const done = (
      name: string,
      steps: number,
      ok: boolean,
      message: string,
      unread = false,
    ): ProofCheck => ({
      file,
      name,
      steps,
      ok,
      message,
      ms: performance.now() - start,
      ...(unread ? { unread } : {}),
    })
    try {
      const decoded = proofFromJson(readTextFile(file))
      if (E.isLeft(decoded)) return done(file, 0, false, showProblems(decoded.left), true)
      const p = decoded.right
      const checked = checkProof(p, laws)
      if (E.isLeft(checked))
        return done(
          p.name,
          p.steps.length,
          false,
          `step ${checked.left.step}: ${checked.left.reason}`,
        )
      return {
        ...done(p.name, p.steps.length, true, 'proved'),
        sides: {
          lhs: show(p.lhs, { maxLength: SIDE_LENGTH }),
          rhs: show(p.rhs, { maxLength: SIDE_LENGTH }),
          digest: equationDigest(p.lhs, p.rhs),
        },
      }
    } catch (e) {
      return done(file, 0, false, oneLine(e), e instanceof UsageError)
    }
  })

/** The widest proof name column before names wrap. */
const NAME_WIDTH = 88

/**
 * Print the table of {@link checkProofFiles}, and a line on `logError` for each file that could
 * not be read; returns the exit code: 0 when every proof checks, 2 when a file could not be read
 * or decoded, else 1.
 */
export const printProofChecks = (
  results: ReadonlyArray<ProofCheck>,
  log: (s: string) => void,
  logError: (s: string) => void = log,
): number => {
  const rows = results.map((r) => [
    r.name,
    String(r.steps),
    r.ok ? 'ok' : r.unread === true ? 'UNREAD' : 'FAILED',
    `${r.ms.toFixed(1)} ms`,
  ])
  const header = ['proof', 'steps', 'result', 'time']
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] as string).length)),
  )
  widths[0] = Math.min(widths[0] as number, NAME_WIDTH)
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd()
  log(line(header))
  log(line(widths.map((w) => '-'.repeat(w))))
  rows.forEach((r) => {
    const [name, ...rest] = wrapText(r[0] as string, { width: NAME_WIDTH, indent: '  ' }).split(
      '\n',
    )
    log(line([name as string, ...r.slice(1)]))
    rest.forEach((more) => log(more))
  })
  // What each checked proof proves, so that a file cannot pass as a proof of another equation.
  for (const r of results)
    if (r.sides !== undefined) {
      log(`\n${wrapText(r.name, { width: 118, indent: '  ' })}`)
      log(wrapText(`  lhs: ${r.sides.lhs}`, { width: 118, indent: '       ' }))
      log(wrapText(`  rhs: ${r.sides.rhs}`, { width: 118, indent: '       ' }))
      log(`  equation sha256 ${r.sides.digest}`)
    }
  for (const r of results)
    if (r.unread === true)
      logError(
        `ncd check: ${r.message.includes(r.file) ? '' : `${r.file}: `}${r.message.replace(/\s*\n\s*/g, ' ')}`,
      )
  for (const r of results)
    if (!r.ok && r.unread !== true)
      log(`\n${wrapText(`${r.file}: ${r.message.replace(/\s*\n\s*/g, ' ')}`, { indent: '  ' })}`)
  const failed = results.filter((r) => !r.ok).length
  const total = results.reduce((s, r) => s + r.ms, 0)
  log(`\nproofs: ${results.length - failed} passed, ${failed} failed (${total.toFixed(0)} ms)`)
  return results.some((r) => r.unread === true) ? 2 : failed === 0 && results.length > 0 ? 0 : 1
}

/** `ncd check`. */
export const check: Command = {
  name: 'check',
  summary: 'replay proof documents (default: every *.proof.json under ./proofs) against the laws',
  usage: '[files or folders...]',
  description: `Each proof is replayed step by step against the law catalogue and its result is
printed in a table, then the equation each checked proof proves: both sides in text form and a
digest of both sides exactly. Exit code 0 when every proof checks, 1 when one fails, 2 when there is nothing
to check.`,
  options: {},
  positionals: { min: 0, max: Infinity },
  run: (p, io) => {
    const targets = p.positionals.length > 0 ? p.positionals : ['proofs']
    if (p.positionals.length === 0) {
      const where = path.resolve('proofs')
      if (!fs.existsSync(where))
        usageError(
          `no proofs/ folder here (looked for ${where}); give proof files or folders, as in ncd check my.proof.json`,
        )
    }
    const results = checkProofFiles(targets, lawCatalogue())
    if (results.length === 0)
      usageError(
        `no proof files (*.proof.json) in ${targets.map((t) => path.resolve(t)).join(', ')}`,
      )
    return printProofChecks(results, io.out, io.err)
  },
}
