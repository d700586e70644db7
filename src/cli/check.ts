/**
 * `ncd check [files or folders]`: replay proof documents against the law catalogue and print a
 * table (proof, steps, result, time). The default is every `*.proof.json` under `proofs/`.
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { proofFromJson } from '../io/proof.js'
import { showProblems } from '../io/decode.js'
import { type Catalogue, checkProof } from '../rewrite/proof.js'

/** The outcome of checking one proof file. */
export interface ProofCheck {
  readonly file: string
  readonly name: string
  readonly steps: number
  readonly ok: boolean
  readonly message: string
  readonly ms: number
}

const proofFiles = (target: string): string[] => {
  if (!fs.existsSync(target)) return [target]
  if (fs.statSync(target).isFile()) return [target]
  return fs
    .readdirSync(target, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? proofFiles(path.join(target, e.name))
        : e.name.endsWith('.proof.json')
          ? [path.join(target, e.name)]
          : [],
    )
    .sort()
}

/** Check the proof documents in the given files and folders. */
export const checkProofFiles = (targets: ReadonlyArray<string>, laws: Catalogue): ProofCheck[] =>
  targets.flatMap(proofFiles).map((file) => {
    const start = performance.now()
    const done = (name: string, steps: number, ok: boolean, message: string): ProofCheck => ({
      file,
      name,
      steps,
      ok,
      message,
      ms: performance.now() - start,
    })
    if (!fs.existsSync(file)) return done(file, 0, false, 'no such file')
    const decoded = proofFromJson(fs.readFileSync(file, 'utf8'))
    if (E.isLeft(decoded)) return done(file, 0, false, showProblems(decoded.left))
    const p = decoded.right
    const checked = checkProof(p, laws)
    return E.isLeft(checked)
      ? done(p.name, p.steps.length, false, `step ${checked.left.step}: ${checked.left.reason}`)
      : done(p.name, p.steps.length, true, 'proved')
  })

/** Print the table of {@link checkProofFiles}; returns the exit code. */
export const printProofChecks = (
  results: ReadonlyArray<ProofCheck>,
  log: (s: string) => void,
): number => {
  const rows = results.map((r) => [
    r.name,
    String(r.steps),
    r.ok ? 'ok' : 'FAILED',
    `${r.ms.toFixed(1)} ms`,
  ])
  const header = ['proof', 'steps', 'result', 'time']
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] as string).length)),
  )
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ')
  log(line(header))
  log(line(widths.map((w) => '-'.repeat(w))))
  rows.forEach((r) => log(line(r)))
  for (const r of results) if (!r.ok) log(`\n${r.file}: ${r.message}`)
  const failed = results.filter((r) => !r.ok).length
  const total = results.reduce((s, r) => s + r.ms, 0)
  log(`\nproofs: ${results.length - failed} passed, ${failed} failed (${total.toFixed(0)} ms)`)
  return failed === 0 && results.length > 0 ? 0 : 1
}
