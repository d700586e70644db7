/**
 * `ncd prove` and `ncd optimize` (issue 13, section 5): proof search and cost-based optimisation
 * from the command line.
 *
 *   ncd prove <a> <b> [-o proof.json] [--limits nodes=N,iterations=N,time=MS] [--sizes k=v,...]
 *   ncd optimize <term> [--cost flops|memory] [--sizes k=v,...] [--limits ...] [-o proof.json]
 *
 * `<a>`, `<b>` and `<term>` are examples (by name, figure or number) or term documents (`.json`).
 * `ncd prove` prints each step of the proof (the law, its direction, where, and the whole term
 * after it), or the counterexample, or why it found neither; it exits 0 when proved, 1 when
 * refuted, 2 when unknown (and for bad input).
 *
 * @packageDocumentation
 */
import { writeFileSync } from 'node:fs'
import * as E from 'fp-ts/lib/Either.js'
import { par } from '../core/construct.js'
import type { Sizes } from '../core/dim.js'
import { show } from '../core/show.js'
import type { Term } from '../core/term.js'
import { proofToJson } from '../io/proof.js'
import type { SaturationLimits } from '../rewrite/egraph/saturate.js'
import { type Equivalence, equivalent } from '../rewrite/equivalent.js'
import { type CostModel, optimize } from '../rewrite/optimize.js'
import { showLocation } from '../rewrite/path.js'
import { type Catalogue, type Proof } from '../rewrite/proof.js'
import { applyAt } from '../rewrite/rule.js'
import { lawCatalogue } from '../rewrite/rules/index.js'
import { type Command, type Io, stringOption, stringOptions, usageError } from './command.js'
import { subjectOf } from './derive.js'
import { sizesFor } from './select.js'

const LIMIT_NAMES: Readonly<Record<string, keyof SaturationLimits>> = {
  nodes: 'nodes',
  iterations: 'iterations',
  time: 'timeMs',
  timeMs: 'timeMs',
  members: 'members',
  matches: 'matches',
  window: 'window',
}

/** `nodes=3000,iterations=8,time=1000` as saturation limits; a usage error names a bad entry. */
export const parseLimits = (text: string | undefined): SaturationLimits => {
  if (text === undefined) return {}
  const out: Record<string, number> = {}
  for (const entry of text.split(',').map((s) => s.trim())) {
    if (entry === '') continue
    const m = /^([A-Za-z]+)=(\d+)$/.exec(entry)
    const key = m === null ? undefined : LIMIT_NAMES[m[1] as string]
    if (m === null || key === undefined)
      return usageError(
        `--limits: '${entry}' is not name=integer with a name of ${Object.keys(LIMIT_NAMES).join(', ')}`,
      )
    out[key] = Number(m[2])
  }
  return out
}

/** The text of a proof: each step with the term after it. */
export const showProofSteps = (proof: Proof, laws: Catalogue = lawCatalogue()): string[] => {
  const lines: string[] = []
  let term: Term = proof.lhs
  proof.steps.forEach((s, i) => {
    const r = laws.get(s.rule)
    const next = r === undefined ? undefined : applyAt(r, term, s.location, s.direction, s.bindings)
    lines.push(
      `${String(i + 1).padStart(3)}. ${s.rule} ${s.direction === 'forward' ? '→' : '←'} at ${showLocation(s.location)}`,
    )
    if (next !== undefined && E.isRight(next)) {
      term = next.right.term
      lines.push(`     ${show(term, { maxLength: 400 })}`)
    } else lines.push('     (the step does not replay)')
  })
  return lines
}

const readTwo = (a: string, b: string, sizeTexts: ReadonlyArray<string>) => {
  const x = subjectOf(a, [])
  const y = subjectOf(b, [])
  const sizes: Sizes = { ...x.sizes, ...y.sizes, ...sizesFor(par(x.term, y.term), sizeTexts) }
  return { x, y, sizes }
}

const output = (p: { values: Readonly<Record<string, unknown>> }, proof: Proof, io: Io): void => {
  const file = stringOption(p as never, 'output')
  if (file === undefined) return
  writeFileSync(file, `${proofToJson(proof, { indent: 2 })}\n`)
  io.out(`wrote ${file}`)
}

/** The exit code of an answer: 0 proved, 1 refuted, 2 unknown. */
export const exitCodeOf = (r: Equivalence): number =>
  r.kind === 'proof' ? 0 : r.kind === 'unknown' ? 2 : 1

/** `ncd prove`. */
export const proveCmd: Command = {
  name: 'prove',
  summary:
    'prove two terms (examples or term documents) equal by the law catalogue, printing each step, or refute them with a counterexample; exit 0 proved, 1 refuted, 2 unknown',
  usage: '<a> <b> [-o proof.json] [--limits nodes=N,iterations=N,time=MS] [--sizes k=v,...]',
  description:
    'The search tries the structural normal form, then a counterexample at random sizes (the --sizes first), then equality saturation from both sides; a proof is replayed by checkProof before it is printed.',
  options: {
    output: { type: 'string', short: 'o', value: 'proof.json', help: 'write the proof document' },
    limits: {
      type: 'string',
      value: 'nodes=N,...',
      help: 'limits of the search: nodes, iterations, time (ms), members, matches, window',
    },
    sizes: {
      type: 'string',
      multiple: true,
      value: 'k=v,...',
      help: 'sizes of the first trial of the counterexample search',
    },
  },
  positionals: { min: 2, max: 2 },
  run: (p, io) => {
    const [a, b] = p.positionals as [string, string]
    const { x, y, sizes } = readTwo(a, b, stringOptions(p, 'sizes'))
    const limits = parseLimits(stringOption(p, 'limits'))
    const r = equivalent(x.term, y.term, {
      name: `${x.name} = ${y.name}`,
      sizes,
      limits: { timeMs: 5000, ...limits },
    })
    io.out(`${show(x.term, { maxLength: 400 })}\n  =?\n${show(y.term, { maxLength: 400 })}\n`)
    switch (r.kind) {
      case 'proof': {
        const where = r.reversed === true ? ' (from the right side to the left)' : ''
        io.out(`proved in ${r.proof.steps.length} step(s)${where}:`)
        io.out(showProofSteps(r.proof).join('\n'))
        if (r.search !== undefined)
          io.out(
            `search: ${r.search.reason}, ${r.search.nodes} nodes, ${r.search.iterations.length} iterations, ${r.search.ms} ms`,
          )
        output(p, r.proof, io)
        break
      }
      case 'counterexample': {
        const c = r.counterexample
        io.out(
          [
            'refuted: a counterexample',
            `  sizes ${JSON.stringify(c.sizes)}, generator seed ${c.generatorSeed}`,
            `  output ${c.output}, entry ${c.entry}: ${c.left} on the left, ${c.right} on the right`,
          ].join('\n'),
        )
        break
      }
      case 'different-types':
        io.out(`refuted: ${r.reason}`)
        break
      case 'unknown':
        io.out(`unknown: ${r.reason}`)
        break
    }
    return exitCodeOf(r)
  },
}

const COSTS: ReadonlyArray<string> = ['flops', 'memory']

/** `ncd optimize`. */
export const optimizeCmd: Command = {
  name: 'optimize',
  summary:
    'the cheapest term found equal to a term (an example or a term document) under the cost model, its FLOPs and peak memory before and after, and the proof',
  usage: '<term> [--cost flops|memory] [--sizes k=v,...] [--limits ...] [-o proof.json]',
  options: {
    cost: { type: 'string', value: 'flops|memory', help: 'what to minimise (default flops)' },
    sizes: {
      type: 'string',
      multiple: true,
      value: 'k=v,...',
      help: "the sizes the cost is measured at (the example's own, else 16 each)",
    },
    limits: {
      type: 'string',
      value: 'nodes=N,...',
      help: 'limits of the saturation: nodes, iterations, time (ms), members, matches, window',
    },
    output: { type: 'string', short: 'o', value: 'proof.json', help: 'write the proof document' },
  },
  positionals: { min: 1, max: 1 },
  run: (p, io) => {
    const s = subjectOf(p.positionals[0] as string, stringOptions(p, 'sizes'))
    const model = stringOption(p, 'cost') ?? 'flops'
    if (!COSTS.includes(model)) return usageError(`--cost must be flops or memory, not '${model}'`)
    const r = optimize(s.term, {
      cost: model as CostModel,
      sizes: s.sizes,
      limits: parseLimits(stringOption(p, 'limits')),
      name: `optimize ${s.name}`,
    })
    io.out(
      [
        `${s.name} at sizes ${JSON.stringify({ ...s.sizes })}`,
        `before: ${r.before.flops} FLOPs, peak ${r.before.peakMemory} entries`,
        `after:  ${r.after.flops} FLOPs, peak ${r.after.peakMemory} entries`,
        `(${r.candidates} candidates; search ${r.search.reason}, ${r.search.nodes} nodes)`,
        '',
        show(r.term, { maxLength: 2000 }),
        '',
        `proof in ${r.proof.steps.length} step(s):`,
        ...showProofSteps(r.proof),
      ].join('\n'),
    )
    output(p, r.proof, io)
    return 0
  },
}
