#!/usr/bin/env node
/**
 * `ncd`, the command line of neural-circuit-diagrams.
 *
 *   ncd examples [--quiet]   build the paper's examples, evaluate them, check each against a
 *                            reference computed by plain loops; exit 1 if any check fails
 *   ncd check [paths]        replay proof documents (default: proofs/) against the law
 *                            catalogue; exit 1 if any fails
 *   ncd cost [<example>] [--sizes k=v,...]
 *                            FLOPs and peak memory (src/cost) of an example and of its
 *                            gradient, per primitive; without an example, list the names
 *   ncd derive <example>     print the derived jvp and vjp of a term, checked numerically
 *                            (see derive.ts)
 *   ncd codegen <example | term.json> --target pytorch|numpy [-o file.py]
 *                            PyTorch module or NumPy function of a term (see codegen.ts)
 *   ncd help                 this text
 *
 * @packageDocumentation
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { evaluate } from '../eval/evaluate.js'
import { randomInputs, randomParams } from '../eval/random.js'
import { show, showTyped } from '../core/show.js'
import { lawCatalogue } from '../rewrite/rules/index.js'
import { checkProofFiles, printProofChecks } from './check.js'
import { runCost } from './cost.js'
import { codegenCommand } from './codegen.js'
import { deriveCommand } from './derive.js'
import { type Example, examples } from './examples.js'

/** The relative tolerance of the example checks. */
export const TOLERANCE = 1e-9

/** The result of checking one example. */
export interface ExampleCheck {
  readonly example: Example
  readonly ok: boolean
  /** The largest error, relative to the largest reference entry (at least 1). */
  readonly error: number
  readonly ms: number
}

/** Evaluate one example on seeded inputs and compare it with its reference. */
export const checkExample = (example: Example, seed = 1): ExampleCheck => {
  const start = performance.now()
  const inputs = randomInputs(example.term.dom, example.sizes, seed)
  const params = randomParams(example.term, example.sizes, seed + 1)
  const got = evaluate(example.term, example.sizes, inputs, params)
  const want = example.reference({ inputs, params })
  let error = got.length === want.length ? 0 : Infinity
  want.forEach((w, i) => {
    const g = got[i]
    if (g === undefined || g.length !== w.length) {
      error = Infinity
      return
    }
    const scale = Math.max(1, ...Array.from(w, Math.abs))
    w.forEach((v, j) => {
      error = Math.max(error, Math.abs((g[j] as number) - v) / scale)
    })
  })
  return { example, ok: error <= TOLERANCE, error, ms: performance.now() - start }
}

const runExamples = (quiet: boolean): number => {
  const results = examples().map((e) => checkExample(e))
  for (const r of results) {
    const { figure, title, term, sizes } = r.example
    const mark = r.ok ? 'ok  ' : 'FAIL'
    const line = `${mark} ${figure.padEnd(10)} ${title}: max rel. error ${r.error.toExponential(1)} at ${JSON.stringify(sizes)}`
    if (quiet && r.ok) continue
    console.log(line)
    if (!quiet) {
      console.log(`       ${showTyped(term)}`)
      if (term.kind === 'box') console.log(`       = ${show(term.body)}`)
    }
  }
  const failed = results.filter((r) => !r.ok).length
  console.log(`examples: ${results.length - failed} passed, ${failed} failed`)
  return failed === 0 ? 0 : 1
}

const HELP = `ncd: neural circuit diagrams

  ncd examples [--quiet]   build, print and check the paper's example diagrams
  ncd check [paths]        replay proof documents (default: proofs/) against the laws
  ncd derive <example | term.json> [--raw] [--sizes a=2,b=3]
                           print the derived jvp and vjp, checked against finite differences
  ncd cost [<example>] [--sizes k=v,...]
                           FLOPs and peak memory of an example and of its gradient (the sum
                           of its outputs, w.r.t. inputs and parameters), per primitive;
                           without an example, list the examples' names
  ncd codegen <example | term.json> --target pytorch|numpy [-o file.py] [--sizes a=2]
                           the PyTorch module or NumPy function of a term
  ncd help                 this text
`

/** Run the command line with its arguments; returns the exit code. */
export const main = (args: ReadonlyArray<string>): number => {
  const [command, ...rest] = args
  switch (command) {
    case 'examples':
      return runExamples(rest.includes('--quiet'))
    case 'check':
      return printProofChecks(
        checkProofFiles(rest.length > 0 ? rest : ['proofs'], lawCatalogue()),
        (s) => console.log(s),
      )
    case 'derive':
      return deriveCommand(rest, (s) => console.log(s))
    case 'codegen':
      return codegenCommand(
        rest,
        (s) => console.log(s),
        (s) => console.error(s),
      )
    case 'cost':
      return runCost(
        rest,
        (s) => console.log(s),
        (s) => console.error(s),
      )
    case undefined:
    case 'help':
    case '--help':
      console.log(HELP)
      return 0
    default:
      console.error(`ncd: unknown command '${command}'\n\n${HELP}`)
      return 2
  }
}

/**
 * Whether this module is the program Node was started with. Installed, `ncd` is a symlink in
 * `node_modules/.bin` (argv[1]) to this file, so both sides are compared as real paths.
 */
const isEntryPoint = (): boolean => {
  const invoked = process.argv[1]
  if (invoked === undefined) return false
  try {
    return realpathSync(invoked) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isEntryPoint()) {
  process.exitCode = main(process.argv.slice(2))
}
