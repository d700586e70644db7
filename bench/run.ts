/**
 * Speed and memory of the numeric evaluator (DESIGN.md section 4, 8), beside naive loops.
 *
 * Run: `npm run bench` (full sizes, under a minute; writes `bench/results.md`, formatted with the
 * repository's prettier config), or `npx tsx bench/run.ts --quick` (small sizes, a few seconds; a
 * smoke test of this script only, prints but does not write `bench/results.md`). Other words pick
 * cases by name (`npx tsx bench/run.ts conv2d chain`); a partial run does not write the record
 * either. This is a benchmark, never a test: nothing here fails on a slow machine.
 *
 * The script needs `global.gc`: when started without `--expose-gc` (as `npm run bench` does) it
 * re-spawns itself once as `node <tsx loader flags> --expose-gc bench/run.ts ...`.
 *
 * Cases (each term is built with the engine and evaluated with `evaluate`):
 * - attention scores `b h q d, b h k d -> b h q k` and attention output
 *   `b h q k, b h k d -> b h q d`, at b = 8, h = 8, q = k = 128, d = 64;
 * - the matrix chain `a b, b c, c d -> a d` at n = 200;
 * - conv2d, 'valid', on a 64 x 64 x 16 input with 16 output channels and a 3 x 3 kernel: the
 *   term `[h w c] -> [yh yw o]` is `convTensor` on h (broadcast over w c), `convTensor` on w
 *   (broadcast over yh kh and over c), then one einsum with the weight `param W [o kh kw c]`.
 *
 * What the columns mean:
 * - FLOPs: analytic useful work. A single contraction: 2 x the product of all label extents. The
 *   chain: the best pairwise order, 2 n^3 per step, 2 steps. Conv2d: 2 yh yw o kh kw c. Both
 *   GFLOP/s columns divide this same count by the time, so their ratio is the speedup even where
 *   the naive loop does more arithmetic (the chain's 4-index loop does n^4 multiply-adds).
 * - engine ms / naive ms: the median of several timed repetitions (`performance.now()`), after
 *   warm-up, the engine's and the naive loop's runs interleaved so that load from other processes
 *   hits both alike (the header line gives the load average; numbers from a busy machine are
 *   noisy). Inputs and parameters come from `randomInputs` / `randomParams`.
 * - naive: nested `for` loops over the full index space, written here. When a naive loop would
 *   take over ~10 s at full size (judged from its warm-up runs at the quick size), it runs at the
 *   first smaller size that fits, the row says so, and the engine is timed again at that size for
 *   the speedup. Nothing is extrapolated into the table.
 * - peak MB (engine): the peak of live ArrayBuffer memory during one evaluation, above what the
 *   inputs and parameters already hold. Measured by wrapping the global `Float64Array`
 *   constructor (which the evaluator's internal `alloc` calls) in a Proxy for one untimed run,
 *   after every case is timed (src/ is not touched; the global is restored at once):
 *   at every allocation it forces two full GCs and reads `process.memoryUsage().arrayBuffers`,
 *   so dead intermediates are gone and the figure is the live set at that moment (conservative:
 *   a dead value still held by a stack slot counts). The output is included.
 * - largest tensor MB: the analytic bound, the largest input or output of any step of the term
 *   (every wire of the term, times its broadcast multiplicity, and every pairwise intermediate of
 *   a multi-operand einsum in the best order). No engine intermediate should be larger.
 * The second table gives the largest single Float64Array the engine allocated (the figure the
 *   bound constrains), the count and total of its allocations, the arrayBuffers growth after one
 *   evaluation before any GC (what was allocated and not yet collected: a loose upper figure, GC
 *   may already have run), and the largest relative difference between engine and naive outputs.
 *
 * @packageDocumentation
 */
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { format, resolveConfig } from 'prettier'
import {
  type Shape,
  type Sizes,
  type Term,
  broadcast,
  convTensor,
  dimSize,
  einsum,
  evaluate,
  id,
  par,
  param,
  randomInputs,
  randomParams,
  seq,
} from '../src/index.js'

// ---------------------------------------------------------------------------------------------
// Cases

interface Case {
  readonly name: string
  readonly term: Term
  /** Full sizes, quick sizes, and smaller sizes for a naive loop that would be too slow. */
  readonly sizes: Sizes
  readonly quick: Sizes
  readonly reduced: ReadonlyArray<Sizes>
  readonly describe: (s: Sizes) => string
  readonly flops: (s: Sizes) => number
  /** Multiply-adds of the naive loop: only used to choose the size it runs at. */
  readonly naiveWork: (s: Sizes) => number
  /** Entries of the largest pairwise intermediate not on a wire of the term (multi-operand). */
  readonly pairwise: (s: Sizes) => number
  readonly naive: (
    s: Sizes,
    inputs: ReadonlyArray<Float64Array>,
    params: Readonly<Record<string, Float64Array>>,
  ) => Float64Array
}

const n = (s: Sizes, k: string): number => s[k] as number
const extents = (s: Sizes, keys: string): number[] => keys.split(' ').map((k) => n(s, k))

const scoresNaive: Case['naive'] = (s, [x, y]) => {
  const [B = 0, H = 0, Q = 0, K = 0, D = 0] = extents(s, 'b h q k d')
  const q = x as Float64Array
  const k = y as Float64Array
  const out = new Float64Array(B * H * Q * K)
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Q; i++)
        for (let j = 0; j < K; j++) {
          let acc = 0
          for (let t = 0; t < D; t++)
            acc +=
              (q[((b * H + h) * Q + i) * D + t] as number) *
              (k[((b * H + h) * K + j) * D + t] as number)
          out[((b * H + h) * Q + i) * K + j] = acc
        }
  return out
}

const outputNaive: Case['naive'] = (s, [x, y]) => {
  const [B = 0, H = 0, Q = 0, K = 0, D = 0] = extents(s, 'b h q k d')
  const p = x as Float64Array
  const v = y as Float64Array
  const out = new Float64Array(B * H * Q * D)
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Q; i++)
        for (let t = 0; t < D; t++) {
          let acc = 0
          for (let j = 0; j < K; j++)
            acc +=
              (p[((b * H + h) * Q + i) * K + j] as number) *
              (v[((b * H + h) * K + j) * D + t] as number)
          out[((b * H + h) * Q + i) * D + t] = acc
        }
  return out
}

const chainNaive: Case['naive'] = (s, [x, y, z]) => {
  const [A = 0, B = 0, C = 0, D = 0] = extents(s, 'a b c d')
  const m1 = x as Float64Array
  const m2 = y as Float64Array
  const m3 = z as Float64Array
  const out = new Float64Array(A * D)
  for (let a = 0; a < A; a++)
    for (let d = 0; d < D; d++) {
      let acc = 0
      for (let b = 0; b < B; b++)
        for (let c = 0; c < C; c++)
          acc += (m1[a * B + b] as number) * (m2[b * C + c] as number) * (m3[c * D + d] as number)
      out[a * D + d] = acc
    }
  return out
}

const convNaive: Case['naive'] = (s, [x], params) => {
  const [H = 0, W = 0, C = 0, O = 0, KH = 0, KW = 0] = extents(s, 'h w c o kh kw')
  const YH = H - KH + 1
  const YW = W - KW + 1
  const img = x as Float64Array
  const wt = params['W'] as Float64Array
  const out = new Float64Array(YH * YW * O)
  for (let i = 0; i < YH; i++)
    for (let j = 0; j < YW; j++)
      for (let o = 0; o < O; o++) {
        let acc = 0
        for (let u = 0; u < KH; u++)
          for (let v = 0; v < KW; v++)
            for (let c = 0; c < C; c++)
              acc +=
                (img[((i + u) * W + (j + v)) * C + c] as number) *
                (wt[((o * KH + u) * KW + v) * C + c] as number)
        out[(i * YW + j) * O + o] = acc
      }
  return out
}

const conv2dTerm = (): Term => {
  const convH = convTensor('h', 'kh') // [h] -> [yh kh]
  const convW = convTensor('w', 'kw') // [w] -> [yw kw]
  const yh = convH.cod[0]?.[0]
  const yw = convW.cod[0]?.[0]
  if (yh === undefined || yw === undefined) throw new Error('convTensor without an output axis')
  const cut = [yh, 'kh', yw, 'kw', 'c'] as const
  return seq(
    broadcast(convH, ['w', 'c'], { at: 'last' }), // [h w c] -> [yh kh w c]
    broadcast(broadcast(convW, ['c'], { at: 'last' }), [yh, 'kh']), // -> [yh kh yw kw c]
    par(id([cut]), param('W', ['o', 'kh', 'kw', 'c'])),
    einsum('yh kh yw kw c, o kh kw c -> yh yw o', { dims: { yh, yw } }),
  )
}

const attention = { b: 8, h: 8, q: 128, k: 128, d: 64 }
const attentionQuick = { b: 2, h: 2, q: 32, k: 32, d: 16 }
const bhqkd = (s: Sizes) =>
  `b=${n(s, 'b')} h=${n(s, 'h')} q=${n(s, 'q')} k=${n(s, 'k')} d=${n(s, 'd')}`
const prod = (s: Sizes, ks: ReadonlyArray<string>) => ks.reduce((acc, k) => acc * n(s, k), 1)
const square = (m: number) => ({ a: m, b: m, c: m, d: m })

const CASES: ReadonlyArray<Case> = [
  {
    name: 'attention scores `b h q d, b h k d -> b h q k`',
    term: einsum('b h q d, b h k d -> b h q k'),
    sizes: attention,
    quick: attentionQuick,
    reduced: [
      { ...attention, b: 2 },
      { ...attention, b: 1, h: 2 },
    ],
    describe: bhqkd,
    flops: (s) => 2 * prod(s, ['b', 'h', 'q', 'k', 'd']),
    naiveWork: (s) => prod(s, ['b', 'h', 'q', 'k', 'd']),
    pairwise: () => 0,
    naive: scoresNaive,
  },
  {
    name: 'attention output `b h q k, b h k d -> b h q d`',
    term: einsum('b h q k, b h k d -> b h q d'),
    sizes: attention,
    quick: attentionQuick,
    reduced: [
      { ...attention, b: 2 },
      { ...attention, b: 1, h: 2 },
    ],
    describe: bhqkd,
    flops: (s) => 2 * prod(s, ['b', 'h', 'q', 'k', 'd']),
    naiveWork: (s) => prod(s, ['b', 'h', 'q', 'k', 'd']),
    pairwise: () => 0,
    naive: outputNaive,
  },
  {
    name: 'matrix chain `a b, b c, c d -> a d`',
    term: einsum('a b, b c, c d -> a d'),
    sizes: square(200),
    quick: square(40),
    reduced: [square(160), square(120), square(80)],
    describe: (s) => `n=${n(s, 'a')}`,
    flops: (s) => 2 * prod(s, ['a', 'b', 'c']) + 2 * prod(s, ['a', 'c', 'd']),
    naiveWork: (s) => prod(s, ['a', 'b', 'c', 'd']),
    pairwise: (s) => Math.min(prod(s, ['a', 'c']), prod(s, ['b', 'd'])),
    naive: chainNaive,
  },
  {
    name: 'conv2d 3x3 valid, 16 -> 16 channels',
    term: conv2dTerm(),
    sizes: { h: 64, w: 64, c: 16, o: 16, kh: 3, kw: 3 },
    quick: { h: 16, w: 16, c: 4, o: 4, kh: 3, kw: 3 },
    reduced: [{ h: 32, w: 32, c: 16, o: 16, kh: 3, kw: 3 }],
    describe: (s) =>
      `${n(s, 'h')}x${n(s, 'w')}x${n(s, 'c')} -> ${n(s, 'o')} ch, ${n(s, 'kh')}x${n(s, 'kw')}`,
    flops: (s) =>
      2 *
      (n(s, 'h') - n(s, 'kh') + 1) *
      (n(s, 'w') - n(s, 'kw') + 1) *
      prod(s, ['o', 'kh', 'kw', 'c']),
    naiveWork: (s) =>
      (n(s, 'h') - n(s, 'kh') + 1) * (n(s, 'w') - n(s, 'kw') + 1) * prod(s, ['o', 'kh', 'kw', 'c']),
    pairwise: () => 0,
    naive: convNaive,
  },
]

// ---------------------------------------------------------------------------------------------
// Measurement

const gcNow = (): void => {
  const gc = globalThis.gc
  if (gc === undefined) throw new Error('bench/run.ts needs --expose-gc')
  gc()
  gc()
}

/** Keeps results reachable so no work is optimised away. */
let sink = 0
const consume = (x: Float64Array): void => {
  sink += x[0] ?? 0
}

const median = (xs: ReadonlyArray<number>): number => {
  const ys = [...xs].sort((a, b) => a - b)
  const mid = ys.length >> 1
  return ys.length % 2 === 1
    ? (ys[mid] as number)
    : ((ys[mid - 1] as number) + (ys[mid] as number)) / 2
}

interface Timing {
  readonly run: () => void
  readonly minReps: number
  readonly maxReps: number
}

/**
 * Median wall times of several tasks, interleaved: the next run goes to the task that has used
 * the least time so far, so that a load spike from another process hits every task alike. Each
 * task runs at least `minReps` times, then more while the budget lasts (up to `maxReps`).
 */
const timeInterleaved = (tasks: ReadonlyArray<Timing>, budgetMs: number): number[] => {
  const times = tasks.map((): number[] => [])
  const spent = tasks.map(() => 0)
  const start = performance.now()
  for (;;) {
    const open = performance.now() - start < budgetMs
    let next = -1
    tasks.forEach((t, i) => {
      const reps = (times[i] as number[]).length
      const wanted = reps < t.minReps || (open && reps < t.maxReps)
      if (wanted && (next < 0 || (spent[i] as number) < (spent[next] as number))) next = i
    })
    if (next < 0) return times.map(median)
    const t0 = performance.now()
    ;(tasks[next] as Timing).run()
    const dt = performance.now() - t0
    ;(times[next] as number[]).push(dt)
    spent[next] = (spent[next] as number) + dt
  }
}

interface MemoryReport {
  /** Peak live ArrayBuffer bytes above the inputs and parameters. */
  readonly peakLive: number
  readonly largestAlloc: number
  readonly allocations: number
  readonly totalAllocated: number
  /** arrayBuffers growth after one evaluation, before any GC. */
  readonly afterNoGc: number
}

type Float64ArrayCtor = typeof Float64Array

const measureMemory = (run: () => Float64Array[]): MemoryReport => {
  // (b) what one evaluation leaves allocated before any GC.
  gcNow()
  const before = process.memoryUsage().arrayBuffers
  const first = run()
  const afterNoGc = process.memoryUsage().arrayBuffers - before
  first.forEach(consume)
  // (a) the live set at every allocation, with the global constructor wrapped.
  const global = globalThis as { Float64Array: Float64ArrayCtor }
  const original = global.Float64Array
  let peak = 0
  let largest = 0
  let count = 0
  let total = 0
  const sample = (): void => {
    gcNow()
    peak = Math.max(peak, process.memoryUsage().arrayBuffers)
  }
  const wrapped: Float64ArrayCtor = new Proxy(original, {
    construct(target, args, newTarget) {
      const made = Reflect.construct(
        target,
        args,
        newTarget === wrapped ? target : newTarget,
      ) as Float64Array
      count++
      total += made.byteLength
      largest = Math.max(largest, made.byteLength)
      sample()
      return made
    },
  })
  gcNow()
  const base = process.memoryUsage().arrayBuffers
  peak = base
  global.Float64Array = wrapped
  let outs: Float64Array[]
  try {
    outs = run()
  } finally {
    global.Float64Array = original
  }
  sample()
  outs.forEach(consume)
  return {
    peakLive: peak - base,
    largestAlloc: largest,
    allocations: count,
    totalAllocated: total,
    afterNoGc,
  }
}

/** Entries of the largest wire of a term: every input and output of every sub-term. */
const largestWire = (term: Term, sizes: Sizes): number => {
  let best = 0
  const size = (s: Shape) => s.reduce((acc, d) => acc * dimSize(d, sizes), 1)
  const walk = (t: Term, times: number): void => {
    for (const s of [...t.dom, ...t.cod]) best = Math.max(best, size(s) * times)
    if (t.kind === 'seq' || t.kind === 'par') t.parts.forEach((p) => walk(p, times))
    else if (t.kind === 'box') walk(t.body, times)
    else if (t.kind === 'broadcast')
      walk(t.body, times * t.axes.reduce((acc, d) => acc * dimSize(d, sizes), 1))
  }
  walk(term, 1)
  return best
}

const maxRelDiff = (x: Float64Array, y: Float64Array): number => {
  if (x.length !== y.length) return Infinity
  let scale = 0
  let diff = 0
  for (let i = 0; i < x.length; i++) {
    scale = Math.max(scale, Math.abs(y[i] as number))
    diff = Math.max(diff, Math.abs((x[i] as number) - (y[i] as number)))
  }
  return scale === 0 ? diff : diff / scale
}

interface Row {
  readonly name: string
  readonly sizes: string
  readonly flops: number
  readonly engineMs: number
  readonly naiveMs: number
  /** When the naive loop ran at smaller sizes: those sizes, their FLOPs, the engine there. */
  readonly reduced?: { sizes: string; flops: number; engineMs: number }
  readonly memory: MemoryReport
  readonly boundBytes: number
  readonly inputBytes: number
  readonly relDiff: number
}

const NAIVE_LIMIT_MS = 10_000

/** A timed case: its memory is measured later, after every case is timed. */
interface Timed {
  readonly measure: () => MemoryReport
  readonly row: (memory: MemoryReport) => Row
}

const runCase = (c: Case, quick: boolean): Timed => {
  const sizes = quick ? c.quick : c.sizes
  const evalAt = (s: Sizes, seed: number) => {
    const inputs = randomInputs(c.term.dom, s, seed)
    const params = randomParams(c.term, s, seed + 1)
    return { inputs, params, run: () => evaluate(c.term, s, inputs, params) }
  }
  const full = evalAt(sizes, 1)
  const [engineWarm, budget] = quick ? [2, 150] : [5, 6000]
  const engineTask = (at: { run: () => Float64Array[] }): Timing => ({
    run: () => at.run().forEach(consume),
    minReps: quick ? 3 : 7,
    maxReps: 41,
  })
  for (let i = 0; i < engineWarm; i++) full.run().forEach(consume)

  // Naive: warm up at the quick size, which also says whether the full size fits the time limit.
  const warm = evalAt(c.quick, 2)
  const probe = (): number => {
    const t0 = performance.now()
    consume(c.naive(c.quick, warm.inputs, warm.params))
    return performance.now() - t0
  }
  probe()
  const perWork = Math.min(probe(), probe()) / c.naiveWork(c.quick)
  const fits = (s: Sizes) => perWork * c.naiveWork(s) <= NAIVE_LIMIT_MS
  const naiveSizes = quick || fits(sizes) ? sizes : (c.reduced.find(fits) ?? c.quick)
  const atNaive = naiveSizes === sizes ? full : evalAt(naiveSizes, 3)
  const naiveTask: Timing = {
    run: () => consume(c.naive(naiveSizes, atNaive.inputs, atNaive.params)),
    minReps: 1,
    maxReps: 9,
  }
  let engineMs: number
  let naiveMs: number
  let reduced: Row['reduced']
  if (atNaive === full) {
    ;[engineMs, naiveMs] = timeInterleaved([engineTask(full), naiveTask], budget) as [
      number,
      number,
    ]
  } else {
    ;[engineMs] = timeInterleaved([engineTask(full)], budget / 2) as [number]
    for (let i = 0; i < engineWarm; i++) atNaive.run().forEach(consume)
    let engineThere: number
    ;[engineThere, naiveMs] = timeInterleaved([engineTask(atNaive), naiveTask], budget) as [
      number,
      number,
    ]
    reduced = { sizes: c.describe(naiveSizes), flops: c.flops(naiveSizes), engineMs: engineThere }
  }
  const check = atNaive.run()[0] as Float64Array
  const relDiff = maxRelDiff(check, c.naive(naiveSizes, atNaive.inputs, atNaive.params))

  const inputBytes =
    8 *
    (full.inputs.reduce((acc, x) => acc + x.length, 0) +
      Object.values(full.params).reduce((acc, x) => acc + x.length, 0))
  const row = (memory: MemoryReport): Row => ({
    name: c.name,
    sizes: c.describe(sizes),
    flops: c.flops(sizes),
    engineMs,
    naiveMs,
    ...(reduced !== undefined ? { reduced } : {}),
    memory,
    boundBytes: 8 * Math.max(largestWire(c.term, sizes), c.pairwise(sizes)),
    inputBytes,
    relDiff,
  })
  return { measure: () => measureMemory(full.run), row }
}

// ---------------------------------------------------------------------------------------------
// Report

const MB = (bytes: number): string => (bytes / 2 ** 20).toFixed(2)
const gflops = (flops: number, ms: number): string => {
  const rate = flops / ms / 1e6
  return rate >= 0.1 ? rate.toFixed(2) : rate.toPrecision(2)
}
const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1))
const count = (x: number): string =>
  x >= 1e9
    ? `${(x / 1e9).toFixed(2)} G`
    : x >= 1e6
      ? `${(x / 1e6).toFixed(1)} M`
      : `${(x / 1e3).toFixed(1)} k`

const table = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n')

const report = (rows: ReadonlyArray<Row>, quick: boolean): string => {
  const main = table(
    [
      'case',
      'sizes',
      'FLOPs',
      'engine ms',
      'engine GFLOP/s',
      'naive ms',
      'naive GFLOP/s',
      'speedup',
      'peak MB (engine)',
      'largest tensor MB',
    ],
    rows.map((r) => {
      const naive =
        r.reduced === undefined
          ? [ms(r.naiveMs), gflops(r.flops, r.naiveMs), `${(r.naiveMs / r.engineMs).toFixed(1)}x`]
          : [
              `${ms(r.naiveMs)} (at ${r.reduced.sizes})`,
              gflops(r.reduced.flops, r.naiveMs),
              `${(r.naiveMs / r.reduced.engineMs).toFixed(1)}x (engine ${ms(r.reduced.engineMs)} ms at ${r.reduced.sizes})`,
            ]
      return [
        r.name,
        r.sizes,
        count(r.flops),
        ms(r.engineMs),
        gflops(r.flops, r.engineMs),
        ...naive,
        MB(r.memory.peakLive),
        MB(r.boundBytes),
      ]
    }),
  )
  const detail = table(
    [
      'case',
      'inputs + params MB',
      'largest single alloc MB',
      'largest tensor MB (bound)',
      'within bound',
      'allocations (count, total MB)',
      'arrayBuffers growth, no GC, MB',
      'max rel. diff vs naive',
    ],
    rows.map((r) => [
      r.name,
      MB(r.inputBytes),
      MB(r.memory.largestAlloc),
      MB(r.boundBytes),
      r.memory.largestAlloc <= r.boundBytes ? 'yes' : 'NO',
      `${r.memory.allocations}, ${MB(r.memory.totalAllocated)}`,
      MB(r.memory.afterNoGc),
      r.relDiff.toExponential(1),
    ]),
  )
  const targets = rows
    .map((r) => {
      const rate = r.flops / r.engineMs / 1e6
      return `- ${r.name}: ${rate.toFixed(2)} GFLOP/s ${rate >= 0.5 ? 'meets' : 'is BELOW'} the 0.5 GFLOP/s target; largest intermediate ${r.memory.largestAlloc <= r.boundBytes ? 'within' : 'OVER'} the bound`
    })
    .join('\n')
  return quick ? `${main}\n\n${detail}\n` : `${main}\n\n${detail}\n\n${targets}\n`
}

const NOTES = `GFLOP/s = the FLOPs column (analytic useful work: 2 x product of the label extents; the
chain counts its best pairwise order, 2 x 2n^3) over the median time, for the engine and the naive
loop alike. peak MB (engine) = the peak of live ArrayBuffer memory during one evaluation above the
inputs and parameters (output included), sampled after two forced full GCs at every Float64Array
allocation. largest tensor MB = the largest input or output of any step of the term (the bound no
intermediate should exceed); "largest single alloc" is the engine's largest Float64Array. The
arrayBuffers growth without GC is what one evaluation left allocated before any collection.
Times on a shared machine vary from run to run (up to 2x under load; see the load average): the
engine and naive runs are interleaved, so compare them within a row.`

const main = async (): Promise<void> => {
  const quick = process.argv.includes('--quick')
  const loadBefore = os.loadavg()[0] ?? 0
  const timed: Timed[] = []
  const only = process.argv.slice(2).filter((a) => !a.startsWith('--'))
  const cases = CASES.filter((c) => only.length === 0 || only.some((o) => c.name.includes(o)))
  for (const c of cases) {
    process.stderr.write(`bench: ${c.name} ...\n`)
    timed.push(runCase(c, quick))
  }
  // Memory last: wrapping the global Float64Array must not disturb any timing.
  const rows = timed.map((t) => t.row(t.measure()))
  const text = report(rows, quick)
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  const load = `load average (1 min) ${loadBefore.toFixed(2)} before, ${(os.loadavg()[0] ?? 0).toFixed(2)} after`
  const machine = `Node ${process.version}, ${cpu}, ${os.cpus().length} CPU(s), ${os.platform()} ${os.arch()}; ${load}`
  process.stdout.write(
    `\n${machine}${quick ? ' (--quick: small sizes)' : ''}\n\n${text}\n${NOTES}\n`,
  )
  // Read the sink once, so that what was consumed is observable.
  if (sink === 0.123456789) process.stdout.write('\n')
  if (!quick && cases.length === CASES.length) {
    const file = fileURLToPath(new URL('./results.md', import.meta.url))
    const markdown =
      `# Evaluator benchmark\n\nRecorded ${new Date().toISOString().slice(0, 10)} with \`npm run bench\` ` +
      `(bench/run.ts; the header of that file explains every column).\n\n${machine}.\n\n${text}\n${NOTES}\n`
    // Formatted as the repository formats markdown, so that format:check passes on the record.
    const options = (await resolveConfig(file)) ?? {}
    writeFileSync(file, await format(markdown, { ...options, filepath: file }))
    process.stderr.write(`bench: wrote ${file}\n`)
  }
}

if (globalThis.gc === undefined) {
  // Re-spawn once with --expose-gc, keeping tsx's loader flags.
  const script = process.argv[1] ?? fileURLToPath(import.meta.url)
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, '--expose-gc', script, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  )
  process.exit(child.status ?? 1)
} else {
  await main()
}
