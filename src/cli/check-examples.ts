/**
 * `ncd examples`: build the paper's examples, evaluate them on seeded inputs and check each
 * against a reference computed by plain loops (`examples.ts`).
 *
 * @packageDocumentation
 */
import { evaluate } from '../eval/evaluate.js'
import { randomInputs, randomParams } from '../eval/random.js'
import { paramsOf } from '../core/params.js'
import { show, showTyped } from '../core/show.js'
import { shapeExtents } from '../core/types.js'
import { modelZoo } from '../models/registry.js'
import type { Command } from './command.js'
import { type Example, examples } from './examples.js'
import { wrapText } from './wrap.js'

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

/** `ncd examples`. */
export const examplesCmd: Command = {
  name: 'examples',
  summary: "build, print and check the paper's example diagrams (exit 1 if a check fails)",
  usage: '[--quiet]',
  description: `Every example is evaluated on seeded inputs and compared with a reference
computed by plain loops over the indexes; its term is printed with its type, and a boxed model's
body below it. The models of the zoo (ncd cost <model>) follow, each with its type and its
parameter count at its default sizes.`,
  options: {
    quiet: { type: 'boolean', short: 'q', help: 'print only failures and the summary' },
  },
  positionals: { min: 0, max: 0 },
  run: (p, io) => {
    const quiet = p.values['quiet'] === true
    const results = examples().map((e) => checkExample(e))
    for (const r of results) {
      const { figure, title, term, sizes } = r.example
      if (quiet && r.ok) continue
      const mark = r.ok ? 'ok  ' : 'FAIL'
      const line = `${title}: max rel. error ${r.error.toExponential(1)} at ${JSON.stringify(sizes)}`
      io.out(wrapText(line, { first: `${mark} ${figure.padEnd(10)} `, indent: ' '.repeat(16) }))
      if (!quiet) {
        io.out(
          wrapText(showTyped(term), { first: '       ', indent: '         ', structured: true }),
        )
        if (term.kind === 'box')
          io.out(
            wrapText(show(term.body), {
              first: '       = ',
              indent: '         ',
              structured: true,
            }),
          )
      }
    }
    if (!quiet)
      for (const m of modelZoo()) {
        const term = m.build()
        let n = 0
        for (const shape of paramsOf(term).values())
          n += shapeExtents(shape, m.sizes).reduce((a, e) => a * e, 1)
        const line = `${m.names.join(', ')}: ${m.title} (${m.config}); ${n} parameters at ${JSON.stringify(m.sizes)}`
        io.out(wrapText(line, { first: `model ${m.figure.padEnd(10)} `, indent: ' '.repeat(16) }))
        io.out(
          wrapText(showTyped(term), { first: '       ', indent: '         ', structured: true }),
        )
      }
    const failed = results.filter((r) => !r.ok).length
    io.out(`examples: ${results.length - failed} passed, ${failed} failed`)
    return failed === 0 ? 0 : 1
  },
}
