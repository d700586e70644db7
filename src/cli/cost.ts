/**
 * `ncd cost`: the cost table (src/cost) of one of the paper's examples and of its gradient.
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
import { TermError } from '../core/errors.js'
import { showTyped } from '../core/show.js'
import { type Cost, cost, costTable, sumLoss } from '../cost/cost.js'
import { grad } from '../derive/vjp.js'
import { randomParams } from '../eval/random.js'
import { normalize } from '../rewrite/normal.js'
import type { Example } from './examples.js'
import { findExample, namedExamples, parseSizes } from './select.js'

const ratio = (a: number, b: number): string => (b === 0 ? '-' : `${(a / b).toFixed(2)}x`)

const totals = (c: Cost): string =>
  `${c.flops} FLOPs, peak ${c.peakMemory} entries, ${c.allocated} entries written`

/** The cost report of one example at the given sizes (the text `ncd cost` prints). */
export const costReport = (example: Example, sizes: Sizes): string => {
  const f = example.term
  const loss = sumLoss(f)
  const params = Object.keys(randomParams(loss, sizes, 1))
  const raw = grad(loss, { params })
  const g = normalize(raw)
  const forward = cost(f, sizes)
  const lossCost = cost(loss, sizes)
  const gradient = cost(g, sizes)
  const rawCost = cost(raw, sizes)
  const wrt = [`${f.dom.length} input(s)`, ...(params.length > 0 ? [params.join(', ')] : [])]
  return [
    `${example.figure}: ${example.title}`,
    `${showTyped(f)}`,
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
  ].join('\n')
}

const usage = (): string =>
  [
    'usage: ncd cost <example> [--sizes k=v,...]',
    '',
    'examples:',
    ...namedExamples().map(
      (e, i) =>
        `  ${String(i + 1).padStart(2)}  ${e.names.join(', ').padEnd(26)} ${e.example.title}`,
    ),
  ].join('\n')

/**
 * Run `ncd cost` with its arguments (after the command word), printing with `print` and errors
 * with `printError`; returns the exit code (0, 1 when the cost cannot be computed, 2 for a
 * usage error).
 */
export const runCost = (
  args: ReadonlyArray<string>,
  print: (s: string) => void,
  printError: (s: string) => void = print,
): number => {
  const names: string[] = []
  let sizes: Sizes = {}
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    if (a === '--sizes' || a.startsWith('--sizes=')) {
      const text = a === '--sizes' ? args[++i] : a.slice('--sizes='.length)
      if (text === undefined) {
        printError(`ncd cost: --sizes needs k=v,...\n\n${usage()}`)
        return 2
      }
      const parsed = parseSizes(text)
      if (typeof parsed === 'string') {
        printError(`ncd cost: ${parsed}`)
        return 2
      }
      sizes = { ...sizes, ...parsed }
    } else names.push(a)
  }
  if (names.length === 0) {
    print(usage())
    return 0
  }
  if (names.length > 1) {
    printError(`ncd cost: one example at a time, got ${names.join(' ')}\n\n${usage()}`)
    return 2
  }
  const example = findExample(names[0] as string)
  if (example === undefined) {
    printError(`ncd cost: no example '${names[0]}'\n\n${usage()}`)
    return 2
  }
  try {
    print(costReport(example, { ...example.sizes, ...sizes }))
    return 0
  } catch (e) {
    if (!(e instanceof TermError)) throw e
    printError(`ncd cost: ${e.message}`)
    return 1
  }
}
