/**
 * What the rounding-error bounds cost `equivalent` (README, "Number semantics"): for each theorem
 * of proofs/theorems.ts (the paper's examples), a false variant (the right side followed by a
 * scale of 1.5 on every output) is refuted, and the time of that refutation is set beside the
 * time of the bounds it computed (both sides' `roundingBounds` at the counterexample's trial, the
 * only work the bounds add to a refutation) and of one plain evaluation of both sides there. The
 * true theorems compute no bound unless a trial shows a difference.
 *
 * Run: `npm run bench:error-bound` (about a minute; writes `bench/error-bound.md`; `-- --print`
 * only prints). Copied into a checkout from before the bounds, it times the old refutations (the
 * bound columns then read NaN). A benchmark, never a test.
 *
 * @packageDocumentation
 */
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { type Term, equivalent, evaluate, par, scale, seq, termSize } from '../src/index.js'

// Absent before the bounds existed: the same script then times the refutations of the old code.
const bounds = (await import('../src/eval/error-bound.js').catch(() => undefined)) as
  typeof import('../src/eval/error-bound.js') | undefined
import { theorems } from '../proofs/theorems.js'

const lines: string[] = []
const out = (s = ''): void => {
  lines.push(s)
  console.log(s)
}
const load = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')

/** The least time of `runs` calls, in ms (the machine is shared: the least is the steadiest). */
const time = (f: () => unknown, runs = 15): number => {
  const ts: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    f()
    ts.push(performance.now() - t0)
  }
  ts.sort((a, b) => a - b)
  return ts[0] as number
}

const wrongly = (t: Term): Term => {
  const scales = t.cod.map((s) => scale(1.5, s))
  return seq(t, scales.length === 1 ? (scales[0] as Term) : par(...scales))
}

out('# Rounding-error bounds in equivalent (npm run bench:error-bound)')
out()
out(
  `Node ${process.version}, ${os.cpus().length} cores, load average ${load()} at the start, ${new Date().toISOString()}. Least of 15 runs each.`,
)
out()
out(
  '| theorem | nodes | refutation (ms) | bounds at the counterexample (ms) | both sides evaluated once (ms) | bounds / refutation |',
)
out('| --- | ---: | ---: | ---: | ---: | ---: |')
let totalRefute = 0
let totalBounds = 0
for (const th of theorems) {
  const proof = th.proof()
  const lhs = proof.lhs
  const rhs = wrongly(proof.rhs)
  const r = equivalent(lhs, rhs, { limits: false })
  if (r.kind !== 'counterexample') {
    out(`| ${th.slug} | ${termSize(lhs)} | ${r.kind} | | | |`)
    continue
  }
  const c = r.counterexample
  const opts = { generatorSeed: c.generatorSeed }
  const refute = time(() => equivalent(lhs, rhs, { limits: false }))
  const spent =
    bounds === undefined
      ? NaN
      : time(() => {
          bounds.roundingBounds(lhs, c.sizes, c.inputs, c.params, opts)
          bounds.roundingBounds(rhs, c.sizes, c.inputs, c.params, opts)
        })
  const plain = time(() => {
    evaluate(lhs, c.sizes, c.inputs, c.params, opts)
    evaluate(rhs, c.sizes, c.inputs, c.params, opts)
  })
  totalRefute += refute
  totalBounds += spent
  out(
    `| ${th.slug} | ${termSize(lhs)} | ${refute.toFixed(2)} | ${spent.toFixed(2)} | ${plain.toFixed(2)} | ${((100 * spent) / refute).toFixed(0)}% |`,
  )
}
out()
out(
  `All refutations: ${totalRefute.toFixed(1)} ms, of which the bounds ${totalBounds.toFixed(1)} ms (${((100 * totalBounds) / totalRefute).toFixed(0)}%). Load average ${load()} at the end.`,
)

const here = fileURLToPath(new URL('.', import.meta.url))
if (process.argv.includes('--print')) process.exit(0)
writeFileSync(`${here}error-bound.md`, `${lines.join('\n')}\n`)
