/**
 * Cost of derived derivatives (paper section 3.6, Fig. 33-37): for each architecture the project
 * builds, the gradient of a scalar loss (the sum of the outputs, `sumLoss`) with respect to every
 * input and every parameter, by the cost model (`src/eval/cost.ts`) and by the clock; then the
 * forward-derivative gradient of Fig. 33 against the reverse derivative of Fig. 37 at growing
 * input sizes (Fig. 34: quadratic against linear).
 *
 * Run: `npm run bench:derive` (a few minutes; writes `bench/derive-results.md`, formatted with
 * the repository's prettier config, keeping the file's dated sections below the new tables) or
 * `npx tsx bench/derive.ts --quick` (small sizes, prints only). A benchmark, never a test:
 * nothing here fails on a slow machine.
 *
 * The MLP 784-128-10 over a batch of 64 (the MLP broadcast over `b`, its weights shared by the
 * rows) is the workload where the raw gradient is furthest from the cheap-gradient bound: compare
 * its `grad / loss time` with `normal / loss time`.
 *
 * The models of src/models (IdResNet, U-Net, ViT, the Fig. 38 transformer) follow at the sizes
 * of bench/models.ts, with its loss `Σ out ⊙ R` (R a parameter of the output's shape: their
 * softmax outputs sum to 1) and, for the transformer, the causal mask as its third input.
 *
 * Columns:
 * - FLOPs: `cost(term, sizes).flops` (the model of src/eval/cost.ts: 2 × the joint index space of
 *   every pairwise contraction, 1 per entry of an element-wise map, a few per entry of an axis
 *   operation). `loss` is the architecture followed by the sum; `grad` is `grad(loss, { params })`
 *   as derived (jvp, then transpose); `normal` is `normalize(grad)`, in which einsums are fused
 *   and wiring is absorbed.
 * - peak memory: `cost(term, sizes).peakMemory` (entries live at once, inputs and parameters
 *   included), of the raw gradient and of its normal form, over the loss's.
 * - CPU ms: the median of several timed evaluations (`evaluate`, seeded random inputs and
 *   parameters) after warm-up, in CPU time of the process (`process.cpuUsage`: a machine shared
 *   with other work disturbs it less than the wall clock); each sample repeats the evaluation
 *   enough times to last about 20 ms. The loss, grad and normal runs are interleaved so that load
 *   from other processes hits them alike. `grad / loss time` is the ratio of the CPU medians,
 *   `(fastest samples)` that of the fastest sample of each (the least disturbed), `(paired
 *   rounds)` the median over the rounds of the ratio of the two samples taken in the same round
 *   (adjacent in time, so a drift in the machine's speed over seconds moves both), `(alternated
 *   single evaluations)` the median over about 3 s of pairs of one loss and one grad evaluation
 *   of the ratio of their wall times (bench/derive-ab.ts's method: a pair spans milliseconds, a
 *   round two 20 ms samples), `grad / loss wall time` that of the wall-clock medians of the same
 *   samples. `build ms` is the time to derive the gradient (and to normalise it), once. `nodes`
 *   is `termSize` of each term: the evaluator has a fixed cost per node, which is what a small
 *   evaluation's time mostly measures.
 * - Fig. 34 table: `forwardGradient(f)` (Fig. 33: D(f) broadcast over the rows of the identity)
 *   and `grad(f)` for `f = L(W: x -> y); tanh; mean`, FLOPs, peak memory (entries) and time at
 *   growing x, with the fitted growth exponents (least-squares slope of log cost over log x).
 *   Below a millisecond a time is mostly the evaluator's fixed cost per term node, not FLOPs
 *   (CPU time, as above).
 * - build table: the time to build `jvp`, `vjp`, `transpose` and `grad` of generated terms at
 *   growing n, cold (a fresh term per timing), with the growth exponent of the build time (1 is
 *   linear in the term's size). `process CPU ms` is the CPU time of the whole process over the
 *   build (user and system, all threads: the garbage collector's too), which a loaded machine
 *   disturbs less than the wall time. `--only=build` runs this table alone and prints it.
 * - ratios: gradient over loss, for FLOPs and for time. The cheap-gradient principle says a
 *   reverse derivative costs a small constant times the function; Fig. 33's forward gradient
 *   costs the input size times the function.
 *
 * @packageDocumentation
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { format, resolveConfig } from 'prettier'
import {
  type Sizes,
  type Term,
  cost,
  evaluate,
  forwardGradient,
  grad,
  growthExponent,
  linearLayer,
  mean,
  mlp,
  normalize,
  par,
  randomInputs,
  randomParams,
  seq,
  sumLoss,
  tanh,
  termSize,
  transpose,
  vjp,
  jvp,
} from '../src/index.js'
import { type Arch, benchArchitectures } from './archs.js'

const quick = process.argv.includes('--quick')
/**
 * `--only=build`: the build-time table alone, printed (derive-results.md is not written);
 * `--only=archs`: the architecture table alone, printed, with `--arch=TEXT` keeping the rows
 * whose name contains TEXT (case-insensitive), e.g. `npx tsx bench/derive.ts --only=archs
 * --arch=vit`.
 */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length)
const archFilter = process.argv
  .find((a) => a.startsWith('--arch='))
  ?.slice('--arch='.length)
  .toLowerCase()

let sink = 0

/**
 * Median ms of one call of each function, the functions' samples interleaved. A function whose
 * single call takes over 100 ms is warmed up once and sampled 3 times; over a second, its first
 * (cold) call is its only sample (the budget is a minute).
 */
/** The median of `ts` (the upper one of an even count; NaN when empty). */
const median = (ts: ReadonlyArray<number>): number => {
  const sorted = [...ts].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

const timeAll = (
  fns: ReadonlyArray<() => unknown>,
  samples = quick ? 3 : 15,
): {
  readonly wall: number[]
  readonly cpu: number[]
  readonly cpuMin: number[]
  /** Per function, its CPU time in each round (the rounds interleave the functions). */
  readonly rounds: number[][]
} => {
  const cpuNow = () => {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1000
  }
  const once = (f: () => unknown) => {
    const start = performance.now()
    f()
    return performance.now() - start
  }
  // Warm-up, and how many repetitions make a sample of about 20 ms.
  const walls: number[][] = fns.map(() => [])
  const cpus: number[][] = fns.map(() => [])
  const plans = fns.map((f, i) => {
    const c0 = cpuNow()
    const first = once(f)
    if (first > 1000) {
      ;(walls[i] as number[]).push(first)
      ;(cpus[i] as number[]).push(cpuNow() - c0)
      return { reps: 1, samples: 0 }
    }
    if (first > 100) return { reps: 1, samples: Math.min(samples, 3) }
    once(f)
    const ms = Math.max(once(f), 0.001)
    return { reps: Math.max(1, Math.min(1000, Math.ceil(20 / ms))), samples }
  })
  for (let s = 0; s < samples; s++)
    fns.forEach((f, i) => {
      const plan = plans[i] as { reps: number; samples: number }
      if (s >= plan.samples) return
      const start = performance.now()
      const c0 = cpuNow()
      for (let r = 0; r < plan.reps; r++) f()
      ;(cpus[i] as number[]).push((cpuNow() - c0) / plan.reps)
      ;(walls[i] as number[]).push((performance.now() - start) / plan.reps)
    })
  return {
    wall: walls.map(median),
    cpu: cpus.map(median),
    cpuMin: cpus.map((ts) => Math.min(...ts)),
    rounds: cpus,
  }
}

/**
 * grad / loss by alternated single evaluations (as bench/derive-ab.ts times two checkouts): one
 * call of `loss`, one of `grad`, again and again for about ALTERNATE_MS (at least 5 pairs, at
 * most 600), each call timed by the wall clock; the median over the pairs of grad / loss. A
 * pair spans a few milliseconds, so a machine whose speed changes over seconds (this VM's runs
 * by 1.6x, a loss measured at 1.0 and 1.6 ms in one process) moves both of its calls alike,
 * where a 20 ms sample of each may fall on either side of a change.
 */
const alternated = (loss: () => unknown, grad: () => unknown): number => {
  const ratios: number[] = []
  const until = performance.now() + ALTERNATE_MS
  while (ratios.length < 600 && (ratios.length < 5 || performance.now() < until)) {
    const t0 = performance.now()
    loss()
    const t1 = performance.now()
    grad()
    ratios.push((performance.now() - t1) / Math.max(t1 - t0, 1e-6))
  }
  return median(ratios)
}

/** How long {@link alternated} alternates. */
const ALTERNATE_MS = quick ? 200 : 3000

const runner = (t: Term, sizes: Sizes, fixed: Arch['inputs'] = {}) => {
  const inputs = randomInputs(t.dom, sizes, 1)
  for (const [i, x] of Object.entries(fixed)) inputs[Number(i)] = x
  const params = randomParams(t, sizes, 2)
  return () => {
    const out = evaluate(t, sizes, inputs, params)
    sink += out[0]?.[0] ?? 0
  }
}

const ARCHS = benchArchitectures(quick)

const fmt = (n: number): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)} k` : String(n)
const ms = (n: number): string => (n >= 10 ? n.toFixed(1) : n >= 0.1 ? n.toFixed(2) : n.toFixed(3))
const x = (a: number, b: number): string => `${(a / b).toFixed(2)}x`

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) =>
  [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')

const architectures = (): string => {
  const rows: string[][] = []
  for (const a of ARCHS) {
    if (archFilter !== undefined && !a.name.toLowerCase().includes(archFilter)) continue
    process.stderr.write(`bench:derive: ${a.name} ...\n`)
    const loss = a.loss ?? sumLoss(a.term)
    const params = Object.keys(randomParams(loss, a.sizes, 1))
    const t0 = performance.now()
    const g = grad(loss, { params })
    const t1 = performance.now()
    const n = normalize(g)
    const t2 = performance.now()
    const [cl, cg, cn] = [cost(loss, a.sizes), cost(g, a.sizes), cost(n, a.sizes)]
    const runs = [loss, g, n].map((t) => runner(t, a.sizes, a.inputs)) as [
      () => void,
      () => void,
      () => void,
    ]
    const timed = timeAll(runs)
    const [tl, tg, tn] = timed.cpu
    const [wl, wg] = timed.wall
    const [ml, mg] = timed.cpuMin
    // The median over rounds of grad / loss in the same round: the two samples of a round are
    // taken one after the other, so a machine whose speed drifts over seconds moves both.
    const [rl, rg] = timed.rounds as [number[], number[]]
    const pairedMedian = median(rg.map((g, i) => g / (rl[i] ?? Number.NaN)).filter(Number.isFinite))
    const single = alternated(runs[0], runs[1])
    rows.push([
      a.name,
      Object.entries(a.sizes)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
      String(params.length),
      `${termSize(loss)} / ${termSize(g)} / ${termSize(n)}`,
      fmt(cl.flops),
      fmt(cg.flops),
      fmt(cn.flops),
      x(cg.flops, cl.flops),
      x(cn.flops, cl.flops),
      x(cg.peakMemory, cl.peakMemory),
      x(cn.peakMemory, cl.peakMemory),
      ms(tl as number),
      ms(tg as number),
      ms(tn as number),
      x(tg as number, tl as number),
      x(tn as number, tl as number),
      x(mg as number, ml as number),
      `${pairedMedian.toFixed(2)}x`,
      `${single.toFixed(2)}x`,
      x(wg as number, wl as number),
      `${(t1 - t0).toFixed(0)} + ${(t2 - t1).toFixed(0)}`,
    ])
  }
  return table(
    [
      'architecture',
      'sizes',
      'params',
      'nodes (loss / grad / normal)',
      'loss FLOPs',
      'grad FLOPs',
      'normal FLOPs',
      'grad / loss FLOPs',
      'normal / loss FLOPs',
      'grad / loss peak memory',
      'normal / loss peak memory',
      'loss CPU ms',
      'grad CPU ms',
      'normal CPU ms',
      'grad / loss time',
      'normal / loss time',
      'grad / loss time (fastest samples)',
      'grad / loss time (paired rounds)',
      'grad / loss time (alternated single evaluations)',
      'grad / loss wall time',
      'build ms (grad + normalize)',
    ],
    rows,
  )
}

/** Fig. 34: the forward-derivative gradient (Fig. 33) against the reverse one at growing x. */
const quadraticVersusLinear = (): string => {
  const f = seq(linearLayer('W', 'x', 'y'), tanh('y'), mean('y'))
  const xs = quick ? [16, 32, 64] : [128, 256, 512, 1024, 2048]
  // y large enough that the reverse derivative's work, not the evaluator's fixed cost per node,
  // shows in its time at the larger x.
  const y = quick ? 16 : 128
  process.stderr.write(`bench:derive: forward gradient against grad at x = ${xs.join(', ')} ...\n`)
  const fg = forwardGradient(f)
  const g = grad(f)
  const n = normalize(g)
  const points = xs.map((size) => {
    const sizes = { x: size, y }
    const [tf, tg, tn] = timeAll([runner(fg, sizes), runner(g, sizes), runner(n, sizes)]).cpu
    return {
      size,
      flops: [cost(fg, sizes).flops, cost(g, sizes).flops, cost(n, sizes).flops],
      peak: [cost(fg, sizes).peakMemory, cost(g, sizes).peakMemory, cost(n, sizes).peakMemory],
      time: [tf as number, tg as number, tn as number],
    }
  })
  const rows = points.map((p) => [
    String(p.size),
    ...p.flops.map(fmt),
    x(p.flops[0] as number, p.flops[2] as number),
    ...p.peak.map(fmt),
    ...p.time.map(ms),
    x(p.time[0] as number, p.time[2] as number),
  ])
  const slope = (pick: (p: (typeof points)[number]) => number) =>
    growthExponent(points.map((p) => [p.size, pick(p)] as const)).toFixed(2)
  rows.push([
    'growth exponent',
    slope((p) => p.flops[0] as number),
    slope((p) => p.flops[1] as number),
    slope((p) => p.flops[2] as number),
    '',
    slope((p) => p.peak[0] as number),
    slope((p) => p.peak[1] as number),
    slope((p) => p.peak[2] as number),
    slope((p) => p.time[0] as number),
    slope((p) => p.time[1] as number),
    slope((p) => p.time[2] as number),
    '',
  ])
  return (
    `f = seq(linearLayer('W', 'x', 'y'), tanh('y'), mean('y')), y = ${y}; gradient with respect to the input [x].\n\n` +
    table(
      [
        'x',
        'forwardGradient FLOPs',
        'grad FLOPs',
        'normal FLOPs',
        'forwardGradient / normal FLOPs',
        'forwardGradient peak',
        'grad peak',
        'normal peak',
        'forwardGradient ms',
        'grad ms',
        'normal ms',
        'forwardGradient / normal time',
      ],
      rows,
    )
  )
}

/**
 * Build times of the derivatives at growing sizes, cold (a fresh term per timing: jvp and split
 * memos are keyed by term object), with growth exponents. A family stops growing once one size
 * takes over 20 s.
 */
const buildTimes = (): string => {
  const families: ReadonlyArray<{
    name: string
    sizes: ReadonlyArray<number>
    make: (n: number) => Term
    derive: (t: Term) => Term
  }> = [
    {
      name: 'jvp of a par of n tanh',
      sizes: quick ? [25, 50, 100] : [100, 200, 400, 800],
      make: (n) => par(...Array.from({ length: n }, () => tanh('k'))),
      derive: jvp,
    },
    {
      name: 'vjp of a par of n tanh',
      sizes: quick ? [25, 50, 100] : [50, 100, 200, 400, 1000],
      make: (n) => par(...Array.from({ length: n }, () => tanh('k'))),
      derive: vjp,
    },
    {
      name: 'transpose of a par of n linear layers',
      sizes: quick ? [25, 50, 100] : [50, 100, 200, 400],
      make: (n) => par(...Array.from({ length: n }, (_, i) => linearLayer(`W${i}`, 'k', 'k'))),
      derive: transpose,
    },
    {
      name: 'grad (all params) of an MLP of n layers',
      sizes: quick ? [2, 4, 8] : [4, 8, 16, 32, 64, 100],
      make: (n) =>
        sumLoss(mlp({ input: 'k', hidden: Array.from({ length: n - 1 }, () => 'k'), output: 'k' })),
      derive: (t) => grad(t, { params: Object.keys(randomParams(t, { k: 1 }, 1)) }),
    },
  ]
  const rows: string[][] = []
  for (const fam of families) {
    process.stderr.write(`bench:derive: build times, ${fam.name} ...\n`)
    const points: Array<readonly [number, number]> = []
    for (const n of fam.sizes) {
      if (
        points.length > 0 &&
        (points[points.length - 1] as readonly [number, number])[1] > 20000
      ) {
        rows.push([fam.name, String(n), 'skipped (the size before took over 20 s)', '', ''])
        continue
      }
      const t = fam.make(n)
      const cpu = process.cpuUsage()
      const start = performance.now()
      const d = fam.derive(t)
      const built = performance.now() - start
      const used = process.cpuUsage(cpu)
      points.push([n, built])
      rows.push([
        fam.name,
        String(n),
        ms(built),
        ms((used.user + used.system) / 1000),
        String(termSize(d)),
      ])
    }
    if (points.length >= 2)
      rows.push([`${fam.name}: growth exponent`, '', growthExponent(points).toFixed(2), '', ''])
  }
  return table(['derivative', 'n', 'build ms', 'process CPU ms', 'nodes'], rows)
}

const main = async (): Promise<void> => {
  const start = performance.now()
  const loadBefore = os.loadavg()[0] ?? 0
  if (only === 'build' || only === 'archs') {
    const table = only === 'build' ? buildTimes() : architectures()
    const load = `load average (1 min) ${loadBefore.toFixed(2)} before, ${(os.loadavg()[0] ?? 0).toFixed(2)} after`
    process.stdout.write(`\nNode ${process.version}; ${load}\n\n${table}\n`)
    return
  }
  const first = architectures()
  const second = quadraticVersusLinear()
  const third = buildTimes()
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  const load = `load average (1 min) ${loadBefore.toFixed(2)} before, ${(os.loadavg()[0] ?? 0).toFixed(2)} after`
  const machine = `Node ${process.version}, ${cpu}, ${os.cpus().length} CPU(s), ${os.platform()} ${os.arch()}; ${load}; ${((performance.now() - start) / 1000).toFixed(0)} s in all`
  const text =
    `## Gradient of the sum of the outputs, with respect to every input and parameter\n\n${first}\n\n` +
    `## Fig. 34: forward-derivative gradient (Fig. 33) against reverse derivative (Fig. 37)\n\n${second}\n\n` +
    `## Build time of derivatives at growing sizes (cold)\n\n${third}\n`
  process.stdout.write(`\n${machine}${quick ? ' (--quick: small sizes)' : ''}\n\n${text}`)
  if (sink === 0.123456789) process.stdout.write('\n')
  if (!quick) {
    const file = fileURLToPath(new URL('./derive-results.md', import.meta.url))
    const markdown =
      `# Derivative cost benchmark\n\nRecorded ${new Date().toISOString().slice(0, 10)} with \`npm run bench:derive\` ` +
      `(bench/derive.ts; the header of that file explains every column).\n\n${machine}.\n\n${text}` +
      history(file, text)
    const options = (await resolveConfig(file)) ?? {}
    writeFileSync(file, await format(markdown, { ...options, filepath: file }))
    process.stderr.write(`bench:derive: wrote ${file}\n`)
  }
}

/**
 * The sections of the file at `file` after the tables this run writes (`text`'s headings): the
 * dated records of earlier sessions, kept below the new tables rather than overwritten.
 */
const history = (file: string, text: string): string => {
  if (!existsSync(file)) return ''
  const written = new Set(text.split('\n').filter((l) => l.startsWith('## ')))
  const lines = readFileSync(file, 'utf8').split('\n')
  const from = lines.findIndex((l) => l.startsWith('## ') && !written.has(l))
  return from < 0 ? '' : `\n${lines.slice(from).join('\n')}`
}

await main()
