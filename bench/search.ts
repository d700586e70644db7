/**
 * Proof search and optimisation (issue 13, section 7): for each theorem of proofs/theorems.ts and
 * proofs/search.ts, the time `equivalent` takes to prove it from its two sides (no step list), the
 * e-graph size and iterations, and the steps of the proof; `optimize` on the forward gradients of
 * section 3.6 (time, FLOPs before and after, against `normalize(grad(f))`); saturation of
 * generated terms of about 10^2, 10^3 and 10^4 nodes (time, e-nodes, iterations, why it stopped,
 * growth exponents).
 *
 * Run: `npm run bench:search` (a few minutes on a shared machine; writes `bench/search.md`). A
 * benchmark, never a test: nothing here fails on a slow machine.
 *
 * @packageDocumentation
 */
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { format, resolveConfig } from 'prettier'
import {
  EGraph,
  type Term,
  cost,
  equivalent,
  forwardGradient,
  grad,
  growthExponent,
  id,
  lawFamilies,
  linearLayer,
  normalize,
  optimize,
  par,
  relu,
  saturate,
  seq,
  swap,
  tanh,
  termSize,
} from '../src/index.js'
import { backpropShowcase, searchTheorems } from '../proofs/search.js'
import { theorems } from '../proofs/theorems.js'

const rules = lawFamilies.flatMap(([, r]) => r)
const lines: string[] = []
const out = (s = ''): void => {
  lines.push(s)
  console.log(s)
}

const ms = (t0: number): number => Math.round(performance.now() - t0)

out('# Proof search and optimize (npm run bench:search)')
out()
out(
  `Node ${process.version}, ${os.cpus().length} cores, load average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} at the start, ${new Date().toISOString()}.`,
)
out()
out('## Theorems proved by search (no step list)')
out()
out(
  '`equivalent(lhs, rhs, { limits: { timeMs: 20000 } })`, once each, in this order, in one process. `ms` is wall time, `cpu ms` the CPU time of the process meanwhile (user and system, `process.cpuUsage`; on a loaded machine wall time is the CPU time stretched by the load). `e-nodes` and `iterations` are those of the saturation (0 when the normal form or the counterexample search settled it first); `steps` the proof found; `kind` the answer.',
)
out()
out('| theorem | kind | steps | ms | cpu ms | e-nodes | classes | iterations | stop |')
out('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
const cpuMs = (c: NodeJS.CpuUsage): number => Math.round((c.user + c.system) / 1000)
const statements: Array<
  readonly [string, () => readonly [Term, Term], (() => ReadonlyArray<Term>) | undefined]
> = [
  ...theorems.map(
    (t) => [t.slug, () => [t.proof().lhs, t.proof().rhs] as const, undefined] as const,
  ),
  ...searchTheorems.map((t) => [`search: ${t.slug}`, t.sides, t.via] as const),
]
let proved = 0
const times: number[] = []
for (const [name, sides, via] of statements) {
  const [a, b] = sides()
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const r = equivalent(a, b, {
    name,
    limits: { timeMs: 20000 },
    ...(via === undefined ? {} : { via: via() }),
  })
  const cpu = cpuMs(process.cpuUsage(c0))
  const t = ms(t0)
  times.push(t)
  if (r.kind === 'proof') proved++
  const s = r.kind === 'different-types' ? undefined : r.search
  out(
    `| ${name} | ${r.kind}${r.kind === 'proof' && r.reversed === true ? ' (reversed)' : ''} | ${r.kind === 'proof' ? r.proof.steps.length : '-'} | ${t} | ${cpu} | ${s?.nodes ?? 0} | ${s?.classes ?? 0} | ${s?.iterations.length ?? 0} | ${s?.stop ?? 'normal form'} |`,
  )
}
const sorted = [...times].sort((x, y) => x - y)
out()
out(
  `${proved} of ${statements.length} proved; median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms; ${times.filter((t) => t < 1000).length} under 1 s.`,
)
out()
{
  // The slowest theorem again, five times in the same process (its code compiled by then): the
  // first run above also pays for compiling the search's code paths it is the first to use.
  const slowest = times.indexOf(Math.max(...times))
  const [name, sides, via] = statements[slowest] as (typeof statements)[number]
  const [a, b] = sides()
  const walls: number[] = []
  const cpus: number[] = []
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    equivalent(a, b, {
      name,
      limits: { timeMs: 20000 },
      ...(via === undefined ? {} : { via: via() }),
    })
    cpus.push(cpuMs(process.cpuUsage(c0)))
    walls.push(ms(t0))
  }
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[2] as number
  out(
    `The slowest, ${name}, five more times in the same process: median ${median(walls)} ms wall (min ${Math.min(...walls)}), median ${median(cpus)} ms CPU (min ${Math.min(...cpus)}); load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} after them.`,
  )
  out()
}

out('## optimize on the forward gradients of section 3.6 (Fig. 33 -> Fig. 37)')
out()
out(
  "`optimize(forwardGradient(f), { cost: 'flops', sizes, limits })`, FLOPs by `cost` (src/eval/cost.ts) at the sizes given; `limits` one iteration and the nodes in the column (proofs/search.ts says why attention gets more); the target is `normalize(grad(f))` (backpropagation).",
)
out()
out(
  '| f | sizes | nodes | ms | FLOPs before | FLOPs after | normalize(forwardGradient) | normalize(grad) | after / grad | steps |',
)
out('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for (const [, title, f, sizes, limits] of backpropShowcase) {
  const fg = forwardGradient(f())
  const t0 = performance.now()
  const r = optimize(fg, {
    cost: 'flops',
    sizes,
    limits,
  })
  const t = ms(t0)
  const target = cost(normalize(grad(f())), sizes).flops
  const nf = cost(normalize(fg), sizes).flops
  out(
    `| ${title} | ${JSON.stringify(sizes)} | ${limits.nodes} | ${t} | ${r.before.flops} | ${r.after.flops} | ${nf} | ${target} | ${(r.after.flops / target).toFixed(2)}x | ${r.proof.steps.length} |`,
  )
}
out()

out('## Saturation of generated terms')
out()
out(
  'A sequence of linear layers (50 names), relu, tanh, identities and stacks of two maps crossed by a swap, grown to about n nodes (`termSize`); `saturate` with every law, limits `{ nodes: 50000, iterations: 8, timeMs: 5000 }`. `add ms` builds the e-graph; `stop` says which limit cut it and in which phase.',
)
out()
out('| n (term nodes) | parts | add ms | saturate ms | e-nodes | classes | iterations | stop |')
out('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
const generated = (target: number): Term => {
  const parts: Term[] = []
  let size = 0
  for (let i = 0; size < target; i++) {
    const p = [
      linearLayer(`L${i % 50}`, 'k', 'k'),
      relu('k'),
      seq(par(tanh('k'), relu('k')), swap([['k']], [['k']])),
      id([['k'], ['k']]),
      linearLayer(`M${i % 50}`, 'k', 'k'),
    ][i % 5] as Term
    const q = i % 5 === 2 || i % 5 === 3 ? p : par(p, id([['k']]))
    parts.push(q)
    size += termSize(q)
  }
  return seq(...parts)
}
const sizePoints: Array<readonly [number, number]> = []
const timePoints: Array<readonly [number, number]> = []
for (const target of [100, 1000, 10000]) {
  const t = generated(target)
  const n = termSize(t)
  const g = new EGraph()
  const t0 = performance.now()
  g.add(t)
  const added = ms(t0)
  const t1 = performance.now()
  const r = saturate(g, rules, { nodes: 50000, iterations: 8, timeMs: 5000 })
  const sat = ms(t1)
  sizePoints.push([n, r.nodes])
  timePoints.push([n, Math.max(1, sat)])
  out(
    `| ${n} | ${(t as { parts?: unknown[] }).parts?.length ?? 1} | ${added} | ${sat} | ${r.nodes} | ${r.classes} | ${r.iterations.length} | ${r.reason} |`,
  )
}
out()
out(
  `Growth exponents over the three terms (least-squares slope of log y over log n): e-nodes ${growthExponent(sizePoints).toFixed(2)}, saturation time ${growthExponent(timePoints).toFixed(2)} (time is capped by the 5 s limit where the stop says so, which flattens it).`,
)
out()
out(
  'One iteration with a 60 s cap, to measure how the work of an iteration grows (every law at every node and every window of pattern width to width + 1, then the substitutions):',
)
out()
out('| n (term nodes) | parts | ms | e-nodes | stop |')
out('| ---: | ---: | ---: | ---: | --- |')
const onePoints: Array<readonly [number, number]> = []
const oneNodes: Array<readonly [number, number]> = []
for (const target of [100, 300, 1000, 3000, 10000]) {
  const t = generated(target)
  const n = termSize(t)
  const g = new EGraph()
  g.add(t)
  const t1 = performance.now()
  const r = saturate(g, rules, { nodes: 200000, iterations: 1, timeMs: 60000 })
  const sat = ms(t1)
  if (r.stop === 'iterations') {
    onePoints.push([n, Math.max(1, sat)])
    oneNodes.push([n, r.nodes])
  }
  out(
    `| ${n} | ${(t as { parts?: unknown[] }).parts?.length ?? 1} | ${sat} | ${r.nodes} | ${r.reason} |`,
  )
}
out()
out(
  onePoints.length >= 2
    ? `Growth exponents of one iteration: time ${growthExponent(onePoints).toFixed(2)}, e-nodes ${growthExponent(oneNodes).toFixed(2)} (sequences are cons spines, one node per suffix: a window rewrite adds its result's parts in front of the shared suffix class, O(window) nodes, so an iteration is about linear in the parts; see the design notes of src/rewrite/egraph/egraph.ts).`
    : 'Fewer than two sizes finished one iteration within 60 s.',
)
out()

out('## equivalent(forwardGradient(f), grad(f)) for f = L(W) ; tanh ; mean, without a hint')
out()
{
  const f = backpropShowcase[0]?.[2]() as Term
  const t0 = performance.now()
  const r = equivalent(forwardGradient(f), grad(f), { limits: { timeMs: 30000 } })
  out(
    `${r.kind} in ${ms(t0)} ms${r.kind === 'proof' ? `, ${r.proof.steps.length} steps` : 'reason' in r ? `: ${r.reason.slice(0, 600)}` : ''}`,
  )
}
out()

out('## Before: n-ary sequences (bench/search.md of 2026-12-02T17:44Z, load 10.2 13.7 13.8)')
out()
out(
  'The same benchmark before sequences and stacks became cons spines (commit 694d687), kept for comparison: each rewrite of a window built a new n-part sequence.',
)
out()
for (const line of [
  '| case | before |',
  '| --- | --- |',
  '| visual-attention-fig29 | unknown, 4318 ms, 3000 e-nodes, stopped at the node limit |',
  '| saturate, 100 nodes, 8 iterations | 5002 ms (time limit while matching), 1503 e-nodes, 1 iteration |',
  '| saturate, 965 nodes, 8 iterations | 5006 ms (time limit while applying), 146 e-nodes, 0 iterations |',
  '| saturate, 9648 nodes, 8 iterations | 5001 ms (time limit while matching), 115 e-nodes, 0 iterations |',
  '| one iteration, 100 nodes | 459 ms, 1502 e-nodes |',
  '| one iteration, 290 nodes | 8453 ms, 10906 e-nodes |',
  '| one iteration, 965 nodes | > 60000 ms (time limit while substituting), 18437 e-nodes |',
  '| growth exponents of one iteration | time 2.74, e-nodes 1.86 |',
  '| optimize, L(W) ; tanh ; mean | 274594 -> 8385 FLOPs (1.00x of grad), 269 ms |',
  '| optimize, two-layer MLP | 44394 -> 2689 FLOPs (1.00x of grad), 260 ms |',
  '| optimize, attention ; mean | 188769 -> 188769 FLOPs (53.01x of grad), 866 ms |',
])
  out(line)
out()

out('## Before: optimize without the units beside their broadcasts')
out()
out(
  'npm run bench:search on main at 7a904cf (2026-12-03T15:11Z, load 5.3 6.1 3.9), before `transpose/unit-broadcast-shape` and `unitsBesideBroadcasts`: attention with the limits of the layers (one iteration, 800 nodes) stopped at the node limit with nothing cheaper than the input.',
)
out()
for (const line of [
  '| f | ms | FLOPs before | FLOPs after | after / grad |',
  '| --- | ---: | ---: | ---: | ---: |',
  '| L(W) ; tanh ; mean | 61 | 274594 | 8385 | 1.00x |',
  '| a two-layer MLP | 127 | 44394 | 2689 | 1.00x |',
  '| scaled dot-product attention ; mean | 223 | 188769 | 188769 | 53.01x |',
])
  out(line)
out()

out('## Before: e-matching without the index (main at 7a904cf)')
out()
out(
  "npm run bench:search on main at 7a904cf, before the prefilter of a pattern's kinds, the memoised windows, the batches applied while matching and the detour-free explanations (2026-12-03T13:33Z, load 1.6 2.2 3.0; and the same code at 15:19Z, load 9.7 8.5 5.9). The CPU figures are from a script running the one theorem 8 times in a process, the two versions alternating, at load 7-11.",
)
out()
for (const line of [
  '| case | before |',
  '| --- | --- |',
  '| visual-attention-fig29 | proof, 101 steps, 1344 ms at load 1.6 (2848 ms at load 9.7), 2388 e-nodes, 463 classes, 2 iterations |',
  '| visual-attention-fig29, CPU, min of 8 runs | 1089 and 1108 ms (after: 348 and 447 ms, at the same loads) |',
  '| theorems under 1 s | 23 of 24, max 1344 ms (load 1.6) |',
  '| saturate, 100 nodes, 8 iterations, 5 s | 15775 e-nodes, 2148 classes, 3 iterations (time limit while matching) |',
  '| saturate, 965 nodes, 8 iterations, 5 s | 13391 e-nodes, 3103 classes, 2 iterations (time limit while matching) |',
  '| saturate, 9648 nodes, 8 iterations, 5 s | 6161 e-nodes, 3029 classes, 1 iteration (time limit while matching) |',
  '| one iteration, 100 / 290 / 965 / 2898 / 9648 nodes | 12 / 44 / 51 / 176 / 552 ms (load 1.6); 252 / 658 / 1157 / 2156 / 6156 e-nodes |',
])
  out(line)
out()

const file = fileURLToPath(new URL('./search.md', import.meta.url))
const text = lines.join('\n')
const config = await resolveConfig(file)
writeFileSync(file, await format(text, { ...config, filepath: file }))
console.log(`wrote ${file}`)
