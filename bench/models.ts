/**
 * The model zoo (issue 14, section 6): for each architecture of Fig. 27-29 and 38 at stated sizes
 * near the paper's, the time to build the term, to evaluate it, to derive its gradient and to
 * evaluate the gradient, beside the FLOPs and peak memory the cost model (src/cost) predicts.
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
  type Shape,
  type Sizes,
  type Term,
  causalMask,
  cost,
  dimProduct,
  einsum,
  evaluate,
  grad,
  id,
  idResNet,
  modelZoo,
  normalize,
  par,
  param,
  paramsOf,
  randomInputs,
  randomParams,
  seq,
  shapeExtents,
  transformer,
  unet,
  visionTransformer,
} from '../src/index.js'

interface Workload {
  readonly name: string
  readonly figure: string
  readonly config: string
  readonly build: () => Term
  readonly sizes: Sizes
}

/** Sizes near the paper's (issue 14: 32x32x3 for IdResNet, 64x64 for U-Net, 16 tokens of 64). */
const paperSized = (): ReadonlyArray<Workload> => [
  {
    name: 'idresnet',
    figure: 'Fig. 27',
    config: '32x32x3 image (x = 8), batch 2, widths [16, 64, 128, 256], N = 1, 10 classes',
    build: () =>
      idResNet({ x: 'x', b: 'b', channels: 3, classes: 10, widths: [16, 64, 128, 256], units: 1 }),
    sizes: { x: 8, b: 2 },
  },
  {
    name: 'unet',
    figure: 'Fig. 28',
    config: '64x64x1 image, depth 2, channels 1 -> 8 -> 16 -> 32, 2 outputs',
    build: () =>
      unet({
        h: dimProduct(4, 'm'),
        w: dimProduct(4, 'n'),
        channels: ['c0', 'c1', 'c2', 'c3'],
        out: 'y',
      }),
    sizes: { m: 16, n: 16, c0: 1, c1: 8, c2: 16, c3: 32, y: 2 },
  },
  {
    name: 'vit',
    figure: 'Fig. 29',
    config:
      '32x32x3 image in 8x8 patches (16 tokens + class), m 64, 4 heads of 16, f 128, 2 layers',
    build: () =>
      visionTransformer({
        gh: 'a',
        gw: 'b',
        p: 8,
        c: 3,
        m: 'm',
        k: 'k',
        h: 'h',
        f: 'f',
        classes: 10,
        layers: 2,
      }),
    sizes: { a: 4, b: 4, m: 64, k: 16, h: 4, f: 128 },
  },
  {
    name: 'transformer',
    figure: 'Fig. 38',
    config: '16 source and 16 target tokens, vocabularies 32, m 64, 4 heads of 16, f 128, N = 2',
    build: () =>
      transformer({
        x: 'x',
        y: 'y',
        vs: 'vs',
        vt: 'vt',
        m: 'm',
        k: 'k',
        h: 'h',
        f: 'f',
        layers: 2,
      }),
    sizes: { x: 16, y: 16, vs: 32, vt: 32, m: 64, k: 16, h: 4, f: 128 },
  },
]

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

const weightedSum = (shape: Shape): Term => {
  const labels = shape.map((_, i) => `a${i}`).join(' ')
  const dims = Object.fromEntries(shape.map((d, i) => [`a${i}`, d] as const))
  return seq(par(id([shape]), param('R', shape)), einsum(`${labels}, ${labels} -> `, { dims }))
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
  if (w.name === 'transformer') inputs[2] = causalMask(w.sizes['y'] as number)
  const loss = seq(net, weightedSum(net.cod[0] as Shape))
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
