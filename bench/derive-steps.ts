/**
 * How many primitive steps an evaluation of the loss and of its raw gradient runs, for each
 * architecture of bench:derive (bench/archs.ts), by kind: element-wise (`scalar`: add, mul,
 * scale, exp, ...), einsum, axis operation (softmax, layerNorm, mean, max, argmax), and other
 * (parameters, zeros, indexes, paddings, convolution tensors, concatenations, generators). At
 * the sizes of these models a step costs 5-10 µs whatever its FLOPs (issue 12, section 2), so
 * the count, not the FLOPs, is what the raw gradient's time over the loss's mostly follows.
 *
 * The steps are those the evaluator compiles (src/eval/evaluate.ts, `compiledSteps`, which lists
 * them as `evaluate` runs them): wiring (`id`, `seq`, `par`, `swap`, `copy`, `drop`), `box`,
 * `derivative` (through its `jvp`) and views make no step; a broadcast runs its body once as
 * batched steps (its body's steps are counted, not the broadcast), except a broadcast element-wise
 * op over inputs placed alike, which is one element-wise step on whole tensors; a run of
 * element-wise steps fused into one pass counts once (`element-wise ops` counts its parts); a
 * step none of whose outputs an output reads, directly or through later steps, is dead and
 * skipped (`markLive`), and is not counted. Counts do not depend on sizes or on the machine.
 *
 * Run: `npm run bench:derive-steps` (writes bench/derive-steps.md, keeping what it records from
 * its `## Earlier` heading on), `npx tsx bench/derive-steps.ts --print` (prints only),
 * `--arch=TEXT` (rows whose name contains TEXT), `--list=TEXT` (prints the live steps of the
 * gradient of the first architecture whose name contains TEXT, one a line: `<depth>
 * <kind>:<op or spec>`, a broadcast before its body; a fused run lists its ops).
 *
 * @packageDocumentation
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { format, resolveConfig } from 'prettier'
import { type Term, grad, randomParams, sumLoss } from '../src/index.js'
import { compiledSteps } from '../src/eval/evaluate.js'
import { benchArchitectures } from './archs.js'

const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const archFilter = arg('arch')?.toLowerCase()
const listFilter = arg('list')?.toLowerCase()
const printOnly = process.argv.includes('--print') || listFilter !== undefined

type Row = ReturnType<typeof compiledSteps>[number]

type Kind = 'element-wise' | 'einsum' | 'axis op' | 'other'

const kindOf = (r: Row): Kind =>
  r.kind === 'elementwise' || r.kind === 'fused'
    ? 'element-wise'
    : r.kind === 'einsum'
      ? 'einsum'
      : r.kind === 'axisOp'
        ? 'axis op'
        : 'other'

interface Counts {
  /** Live steps run (a fused element-wise run is one). */
  total: number
  byKind: Record<Kind, number>
  /** Element-wise ops the live steps compute (the parts of fused runs each counted). */
  elementwiseOps: number
  /** Live element-wise steps that are fused runs. */
  fusedRuns: number
  byOp: Map<string, number>
}

/** The live primitive steps of `term` as the evaluator compiles it (broadcasts: their bodies). */
const count = (term: Term): Counts => {
  const c: Counts = {
    total: 0,
    byKind: { 'element-wise': 0, einsum: 0, 'axis op': 0, other: 0 },
    elementwiseOps: 0,
    fusedRuns: 0,
    byOp: new Map(),
  }
  for (const r of compiledSteps(term)) {
    if (!r.live || r.kind === 'broadcast') continue
    c.total++
    const k = kindOf(r)
    c.byKind[k]++
    if (k === 'element-wise') {
      c.elementwiseOps += r.parts
      if (r.kind === 'fused') c.fusedRuns++
      for (const op of r.what.split(' ')) c.byOp.set(op, (c.byOp.get(op) ?? 0) + 1)
    } else if (k === 'axis op') c.byOp.set(r.what, (c.byOp.get(r.what) ?? 0) + 1)
  }
  return c
}

/** The live steps, one a line: depth, kind, what (a broadcast before its body). */
const listing = (term: Term): string[] =>
  compiledSteps(term)
    .filter((r) => r.live)
    .map((r) => `${r.depth} ${r.kind}${r.what === '' ? '' : `:${r.what}`}`)

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) =>
  [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')

const main = async (): Promise<void> => {
  const loadBefore = os.loadavg()
  const rows: string[][] = []
  const details: string[] = []
  for (const a of benchArchitectures()) {
    const name = a.name.toLowerCase()
    if (listFilter !== undefined && !name.includes(listFilter)) continue
    if (archFilter !== undefined && !name.includes(archFilter)) continue
    process.stderr.write(`bench:derive-steps: ${a.name} ...\n`)
    const loss = a.loss ?? sumLoss(a.term)
    const params = Object.keys(randomParams(loss, a.sizes, 1))
    const g = grad(loss, { params })
    if (listFilter !== undefined) {
      process.stdout.write(`${listing(g).join('\n')}\n`)
      return
    }
    const [cl, cg] = [count(loss), count(g)]
    const cell = (k: Kind): string => `${cl.byKind[k]} / ${cg.byKind[k]}`
    rows.push([
      a.name,
      `${cl.total} / ${cg.total}`,
      (cg.total / cl.total).toFixed(2),
      cell('element-wise'),
      `${cl.fusedRuns} / ${cg.fusedRuns}`,
      `${cl.elementwiseOps} / ${cg.elementwiseOps}`,
      cell('einsum'),
      cell('axis op'),
      cell('other'),
    ])
    const ops = [...new Set([...cl.byOp.keys(), ...cg.byOp.keys()])].sort(
      (x, y) => (cg.byOp.get(y) ?? 0) - (cg.byOp.get(x) ?? 0) || x.localeCompare(y),
    )
    details.push(
      `- ${a.name}: ${ops.map((op) => `${op} ${cl.byOp.get(op) ?? 0} / ${cg.byOp.get(op) ?? 0}`).join(', ')}`,
    )
  }
  const load = `load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min) before, ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} after (counts do not depend on it)`
  const text =
    table(
      [
        'architecture',
        'steps (loss / grad)',
        'grad / loss steps',
        'element-wise steps',
        'of them fused runs',
        'element-wise ops',
        'einsum',
        'axis op',
        'other',
      ],
      rows,
    ) +
    `\n\nElement-wise ops (the parts of fused runs included) and axis operations, by op (loss / grad):\n\n${details.join('\n')}\n`
  process.stdout.write(`\nNode ${process.version}; ${load}\n\n${text}`)
  if (printOnly || archFilter !== undefined) return
  const file = fileURLToPath(new URL('./derive-steps.md', import.meta.url))
  // What the file recorded before, from its "## Earlier" heading on, is kept below the new run.
  const before = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const earlier = before.includes('\n## Earlier')
    ? before.slice(before.indexOf('\n## Earlier'))
    : ''
  const markdown =
    `# Primitive steps of an evaluation: loss and raw gradient\n\n` +
    `Recorded ${new Date().toISOString().slice(0, 10)} with \`npm run bench:derive-steps\` (bench/derive-steps.ts; its header says how steps are counted). ` +
    `The gradient is \`grad(loss, { params })\` with respect to every input and parameter, as derived (not normalised). ` +
    `Node ${process.version}; ${load}.\n\n${text}${earlier}`
  const options = (await resolveConfig(file)) ?? {}
  writeFileSync(file, await format(markdown, { ...options, filepath: file }))
  process.stderr.write(`bench:derive-steps: wrote ${file}\n`)
}

await main()
