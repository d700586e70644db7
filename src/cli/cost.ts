/**
 * `ncd cost`: the cost table (src/eval/cost.ts) of one of the paper's examples and of its gradient.
 *
 *   ncd cost                               list the examples by name
 *   ncd cost <example> [--sizes k=v,...]   FLOPs and memory of the example and of its gradient
 *
 * The gradient is that of the example's scalar loss (`sumLoss`: the sum of every output entry)
 * with respect to every input and every parameter, derived by `grad` and put in normal form
 * (`normalize`, which shares the forward values the derived gradient recomputes); the raw
 * derived gradient's totals are printed beside it.
 *
 * @packageDocumentation
 */
import type { Sizes } from '../core/dim.js'
import { paramsOf } from '../core/params.js'
import { showTyped } from '../core/show.js'
import { type Cost, cost, costTable, sumLoss } from '../eval/cost.js'
import { grad } from '../derive/vjp.js'
import { normalize } from '../derive/normal.js'
import { type Command, runCommand, stringOptions, usageError } from './command.js'
import { modelZoo } from '../models/registry.js'
import { type Named, findExample, namedExamples, sizesFor } from './select.js'
import { wrapText } from './wrap.js'

const ratio = (a: number, b: number): string => (b === 0 ? '-' : `${(a / b).toFixed(2)}x`)

/** A count, marked `~` when it exceeds 2^53 and so is rounded. */
const count = (n: number): string => (Number.isSafeInteger(n) ? String(n) : `~${n}`)

const totals = (c: Cost): string =>
  `${count(c.flops)} FLOPs, peak ${count(c.peakMemory)} entries, ${count(c.allocated)} entries written`

/** The cost report of one example at the given sizes (the text `ncd cost` prints). */
export const costReport = (example: Named, sizes: Sizes): string => {
  const f = example.term
  const loss = sumLoss(f)
  const params = [...paramsOf(loss).keys()]
  const raw = grad(loss, { params })
  const g = normalize(raw)
  const forward = cost(f, sizes)
  const lossCost = cost(loss, sizes)
  const gradient = cost(g, sizes)
  const rawCost = cost(raw, sizes)
  const wrt = [`${f.dom.length} input(s)`, ...(params.length > 0 ? [params.join(', ')] : [])]
  return [
    `${example.figure}: ${example.title}`,
    wrapText(showTyped(f), { indent: '  ', structured: true }),
    `sizes ${JSON.stringify(sizes)}`,
    '',
    '## forward',
    '',
    costTable(forward),
    '',
    `## gradient of the sum of the outputs, with respect to ${wrt.join(' and ')} (normal form)`,
    '',
    costTable(gradient),
    '',
    `forward:                  ${totals(forward)}`,
    `forward + sum (the loss): ${totals(lossCost)}`,
    `gradient (normal form):   ${totals(gradient)}`,
    `gradient (as derived):    ${totals(rawCost)}`,
    `gradient / loss: FLOPs ${ratio(gradient.flops, lossCost.flops)}, peak memory ${ratio(gradient.peakMemory, lossCost.peakMemory)}`,
    ...([forward, lossCost, gradient, rawCost].every((c) => c.exact)
      ? []
      : [
          '',
          'not exact: figures marked ~ exceed 2^53 = 9007199254740992 and are rounded to 16 digits',
        ]),
  ].join('\n')
}

const listing = (): string =>
  [
    'examples:',
    ...namedExamples().map(
      (e, i) =>
        `  ${String(i + 1).padStart(2)}  ${e.names.join(', ').padEnd(26)} ${e.example.title}`,
    ),
    'models (src/models/registry.ts, small default sizes):',
    ...modelZoo().map((m) => `      ${m.names.join(', ').padEnd(26)} ${m.figure}: ${m.title}`),
  ]
    .map((l) => wrapText(l, { indent: ' '.repeat(33) }))
    .join('\n')

/** `ncd cost`. */
export const costCmd: Command = {
  name: 'cost',
  summary:
    'FLOPs and peak memory of an example and of its gradient (the sum of its outputs, with respect to inputs and parameters), per primitive; without an example, list the examples',
  usage: '[<example>] [--sizes k=v,...]',
  options: {
    sizes: {
      type: 'string',
      multiple: true,
      value: 'k=v,...',
      help: "the sizes of the example's dims (its own by default)",
    },
  },
  positionals: { min: 0, max: 1 },
  run: (p, io) => {
    const [name] = p.positionals
    if (name === undefined) {
      if (p.values['sizes'] !== undefined) usageError('--sizes needs an example')
      io.out(`usage: ncd cost <example> [--sizes k=v,...]\n\n${listing()}`)
      return 0
    }
    const example = findExample(name)
    if (example === undefined)
      return usageError(`no example '${name}'; ncd cost without arguments lists them`)
    const sizes = sizesFor(example.term, stringOptions(p, 'sizes'))
    io.out(costReport(example, { ...example.sizes, ...sizes }))
    return 0
  },
}

/**
 * Run `ncd cost` with its arguments (after the command word), printing with `print` and errors
 * with `printError`; returns the exit code (0, or 2 for bad input and sizes the cost cannot be
 * computed at).
 */
export const runCost = (
  args: ReadonlyArray<string>,
  print: (s: string) => void,
  printError: (s: string) => void = print,
): number => runCommand(costCmd, args, { out: print, err: printError })
