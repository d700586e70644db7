/**
 * The model zoo (issue 14, section 6): for each architecture of Fig. 27-29 and 38 at stated sizes
 * near the paper's, the time to build the term, to evaluate it, to derive its gradient and to
 * evaluate the gradient, beside the FLOPs and peak memory the cost model (src/eval/cost.ts) predicts.
 *
 * Run: `npm run bench:models` (writes `bench/models.md`, formatted with the repository's prettier
 * config) or `npx tsx bench/models.ts --quick` (the registry's small sizes, prints only). A
 * benchmark, never a test: nothing here fails on a slow machine.
 *
 * Columns:
 * - params: the parameter entries (`paramsOf` at the sizes).
 * - build ms: building the term (once, cold).
 * - eval ms: `evaluate` of the model on seeded random inputs and parameters, the median of a
 *   few runs after one warm-up.
 * - grad build ms: `grad(loss, { params: all })` for the loss `Σ out ⊙ R` (R a weight of the
 *   output's shape), with respect to every input and parameter; then `normalize` of it
 *   (norm ms), which shares the forward values the derived gradient recomputes.
 * - grad eval ms: `evaluate` of the normalised gradient (median of a few runs).
 * - FLOPs and peak (entries): `cost(term, sizes)` of the model and of the normalised gradient.
 *
 * @packageDocumentation
 */
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { format, resolveConfig } from 'prettier'
import {
  cost,
  evaluate,
  grad,
  modelZoo,
  normalize,
  paramsOf,
  randomInputs,
  randomParams,
  shapeExtents,
} from '../src/index.js'
import { weightedSumLoss } from '../src/testing/losses.js'
import { type Workload, paperSized } from './paper-models.js'

const quick = (): ReadonlyArray<Workload> =>
  modelZoo().map((m) => ({
    name: m.names[0] as string,
    figure: m.figure,
    config: m.config,
    build: m.build,
    sizes: m.sizes,
  }))

const time = <A>(f: () => A): { readonly value: A; readonly ms: number } => {
  const t0 = performance.now()
  const value = f()
  return { value, ms: performance.now() - t0 }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

/** The median of `runs` timed calls after one warm-up. */
const timed = (f: () => unknown, runs = 3): number => {
  f()
  return median(Array.from({ length: runs }, () => time(f).ms))
}

interface Row {
  readonly w: Workload
  readonly params: number
  readonly buildMs: number
  readonly evalMs: number
  readonly gradBuildMs: number
  readonly normMs: number
  readonly gradEvalMs: number
  readonly flops: number
  readonly peak: number
  readonly gradFlops: number
  readonly gradPeak: number
}

const measure = (w: Workload): Row => {
  const built = time(w.build)
  const net = built.value
  const params = [...paramsOf(net).values()].reduce(
    (n, s) => n + shapeExtents(s, w.sizes).reduce((a, e) => a * e, 1),
    0,
  )
  const inputs = randomInputs(net.dom, w.sizes, 1)
  Object.assign(inputs, w.fixed?.(w.sizes))
  const loss = weightedSumLoss(net)
  const ps = randomParams(loss, w.sizes, 2)
  const evalMs = timed(() => evaluate(net, w.sizes, inputs, ps))
  const g = time(() => grad(loss, { params: [...paramsOf(loss).keys()] }))
  const n = time(() => normalize(g.value))
  const gradEvalMs = timed(() => evaluate(n.value, w.sizes, inputs, ps))
  const c = cost(net, w.sizes)
  const gc = cost(n.value, w.sizes)
  return {
    w,
    params,
    buildMs: built.ms,
    evalMs,
    gradBuildMs: g.ms,
    normMs: n.ms,
    gradEvalMs,
    flops: c.flops,
    peak: c.peakMemory,
    gradFlops: gc.flops,
    gradPeak: gc.peakMemory,
  }
}

const ms = (x: number): string => (x < 10 ? x.toFixed(1) : x.toFixed(0))

const table = (rows: ReadonlyArray<Row>): string =>
  [
    '| model | figure | params | build ms | eval ms | grad build ms | norm ms | grad eval ms | FLOPs | peak | grad FLOPs | grad peak |',
    '| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
    ...rows.map(
      (r) =>
        `| ${r.w.name} | ${r.w.figure} | ${r.params} | ${ms(r.buildMs)} | ${ms(r.evalMs)} | ${ms(r.gradBuildMs)} | ${ms(r.normMs)} | ${ms(r.gradEvalMs)} | ${r.flops} | ${r.peak} | ${r.gradFlops} | ${r.gradPeak} |`,
    ),
  ].join('\n')

const main = async (): Promise<void> => {
  const isQuick = process.argv.includes('--quick')
  const workloads = isQuick ? quick() : paperSized()
  const rows: Row[] = []
  for (const w of workloads) {
    const r = measure(w)
    console.log(
      `${w.name}: params ${r.params}, eval ${ms(r.evalMs)} ms, grad build ${ms(r.gradBuildMs)} ms, norm ${ms(r.normMs)} ms, grad eval ${ms(r.gradEvalMs)} ms, FLOPs ${r.flops} / grad ${r.gradFlops}`,
    )
    rows.push(r)
  }
  const text = [
    '# The model zoo: build, evaluation and gradient times beside the cost model',
    '',
    `Written by \`npm run bench:models\` (bench/models.ts, which describes the columns) on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} cores, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(
        ' ',
      )} at the end (the machine is shared: times are single measurements under that load).`,
    '',
    'Configurations:',
    '',
    ...workloads.map(
      (w) => `- ${w.name} (${w.figure}): ${w.config}; sizes \`${JSON.stringify(w.sizes)}\``,
    ),
    '',
    table(rows),
    '',
  ].join('\n')
  if (isQuick) {
    console.log(text)
    return
  }
  const file = fileURLToPath(new URL('./models.md', import.meta.url))
  const config = (await resolveConfig(file)) ?? {}
  writeFileSync(file, await format(text, { ...config, filepath: file }))
  console.log(`wrote ${file}`)
}

await main()
