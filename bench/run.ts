/**
 * Speed and memory of the numeric evaluator (DESIGN.md section 4, 8), beside NumPy and naive
 * loops, in one run (issue 12, section 4).
 *
 * Run: `npm run bench` (full sizes, a few minutes; writes `bench/results.md`, formatted with the
 * repository's prettier config, keeping its "Before" section), or `npx tsx bench/run.ts --quick`
 * (small sizes, a few seconds; a smoke test of this script only, prints but does not write
 * `bench/results.md`). Other words pick cases by name (`npx tsx bench/run.ts conv2d chain`); a
 * partial run does not write the record either. This is a benchmark, never a test: nothing here
 * fails on a slow machine.
 *
 * The script needs `global.gc`: when started without `--expose-gc` (as `npm run bench` does) it
 * re-spawns itself once as `node <tsx loader flags> --expose-gc bench/run.ts ...`.
 *
 * Cases (each term is built with the engine and evaluated with `evaluate`):
 * - attention scores `b h q d, b h k d -> b h q k` and attention output
 *   `b h q k, b h k d -> b h q d`, at b = 8, h = 8, q = k = 128, d = 64;
 * - the matrix chain `a b, b c, c d -> a d` at n = 200;
 * - conv2d 3x3, 16 -> 16 channels on a 64 x 64 x 16 input, 'valid' and with padding 1 ('same'):
 *   `conv2d` of src/models/conv.ts (`[h w c] -> [yh yw o]`, weight `[o c kh kw]`): pad and cut
 *   each spatial axis (convTensor, eq. 4), then one einsum with the weight.
 *
 * What is timed, interleaved (the next run goes to the side that has used the least time so far,
 * so a load spike from another process hits every side alike):
 * - engine: `evaluate`, its products in the WebAssembly kernel (src/eval/wasm) where large enough;
 * - engine, TypeScript kernel: the same with every product in the plain TypeScript kernel
 *   (`setMatmulKernel('typescript')`), the reference the WebAssembly kernel is tested against;
 * - NumPy, one process of Debian's `/usr/bin/python3` (`python3-numpy`, one BLAS thread) started
 *   once, timing each run itself: `np.einsum(optimize=False)`, `np.einsum(optimize=True)`, and the
 *   matmul path (`@` on reshaped arrays; the convolutions unfolded with `sliding_window_view`
 *   first). Without that Python or NumPy, these columns say so and the rest runs.
 * - naive: nested `for` loops over the full index space, written here. When a naive loop would
 *   take over ~10 s at full size (judged from its warm-up runs at the quick size), it runs at the
 *   first smaller size that fits, the row says so, and the engine is timed again at that size for
 *   the speedup. Nothing is extrapolated into the table.
 *
 * What the columns mean:
 * - FLOPs: analytic useful work. A single contraction: 2 x the product of all label extents. The
 *   chain: the best pairwise order, 2 n^3 per step, 2 steps. Conv2d: 2 yh yw o kh kw c. Every
 *   GFLOP/s column divides this same count by a median time, so ratios of GFLOP/s are speedups,
 *   even where a side does more arithmetic (the chain's 4-index loop and NumPy's unoptimised
 *   einsum do n^4 multiply-adds).
 * - engine / NumPy: the engine's GFLOP/s over NumPy's (above 1: the engine is faster).
 * - peak MB (engine): the peak of live ArrayBuffer memory during one evaluation, above what the
 *   inputs and parameters already hold. Measured by wrapping the global `Float64Array`
 *   constructor (which the evaluator's internal `alloc` calls) in a Proxy for one untimed run,
 *   after every case is timed (src/ is not touched; the global is restored at once):
 *   at every allocation it forces two full GCs and reads `process.memoryUsage().arrayBuffers`,
 *   so dead intermediates are gone and the figure is the live set at that moment (conservative:
 *   a dead value still held by a stack slot counts). The output is included, and so is the
 *   WebAssembly kernel's memory (its packing buffers and operand copies).
 * - largest tensor MB: the analytic bound, the largest input or output of any step of the term
 *   (every wire of the term, times its broadcast multiplicity, and every pairwise intermediate of
 *   a multi-operand einsum in the best order). No engine intermediate should be larger.
 * The second table gives the largest single Float64Array the engine allocated (the figure the
 *   bound constrains; views of the WebAssembly memory are not allocations and are not counted),
 *   the count and total of its allocations, the arrayBuffers growth after one evaluation before
 *   any GC (what was allocated and not yet collected: a loose upper figure, GC may already have
 *   run), and the largest relative difference between engine and naive outputs.
 *
 * @packageDocumentation
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { format, resolveConfig } from 'prettier'
import {
  type Shape,
  type Sizes,
  type Term,
  conv2d,
  dimSize,
  einsum,
  evaluate,
  randomInputs,
  randomParams,
} from '../src/index.js'
import { batchedMatmul, batchedMatmulInnerFirst } from '../src/eval/contract.js'
import {
  WASM_MIN_WORK,
  WASM_MIN_WORK_INNER_FIRST,
  denseView,
  setMatmulKernel,
  setMatmulThreads,
  startMatmulThreads,
  stopMatmulThreads,
  wasmBatchedMatmul,
} from '../src/eval/wasm/gemm.js'

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
  /** The NumPy side's case (see PYTHON). */
  readonly py: string
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

/** conv2d with `pad` zeros on every side: `[h w c]`, weight `[o c kh kw]`, out `[yh yw o]`. */
const convNaive =
  (pad: number): Case['naive'] =>
  (s, [x], params) => {
    const [H = 0, W = 0, C = 0, O = 0, KH = 0, KW = 0] = extents(s, 'h w c o p q')
    const YH = H + 2 * pad - KH + 1
    const YW = W + 2 * pad - KW + 1
    const img = x as Float64Array
    const wt = params['C.weight'] as Float64Array
    const out = new Float64Array(YH * YW * O)
    for (let i = 0; i < YH; i++)
      for (let j = 0; j < YW; j++)
        for (let o = 0; o < O; o++) {
          let acc = 0
          for (let u = 0; u < KH; u++)
            for (let v = 0; v < KW; v++) {
              const r = i + u - pad
              const t = j + v - pad
              if (r < 0 || r >= H || t < 0 || t >= W) continue
              for (let c = 0; c < C; c++)
                acc +=
                  (img[(r * W + t) * C + c] as number) *
                  (wt[((o * C + c) * KH + u) * KW + v] as number)
            }
          out[(i * YW + j) * O + o] = acc
        }
    return out
  }

const convTerm = (pad: number): Term =>
  conv2d('C', {
    h: 'h',
    w: 'w',
    kh: 'p',
    kw: 'q',
    cIn: 'c',
    cOut: 'o',
    ...(pad > 0
      ? {
          padding: [
            [pad, pad],
            [pad, pad],
          ] as const,
        }
      : {}),
  })

const attention = { b: 8, h: 8, q: 128, k: 128, d: 64 }
const attentionQuick = { b: 2, h: 2, q: 32, k: 32, d: 16 }
const bhqkd = (s: Sizes) =>
  `b=${n(s, 'b')} h=${n(s, 'h')} q=${n(s, 'q')} k=${n(s, 'k')} d=${n(s, 'd')}`
const prod = (s: Sizes, ks: ReadonlyArray<string>) => ks.reduce((acc, k) => acc * n(s, k), 1)
const square = (m: number) => ({ a: m, b: m, c: m, d: m })
const image = { h: 64, w: 64, c: 16, o: 16, p: 3, q: 3 }
const imageQuick = { h: 16, w: 16, c: 4, o: 4, p: 3, q: 3 }

const convCase = (pad: number): Case => {
  const out = (s: Sizes) => (n(s, 'h') + 2 * pad - 2) * (n(s, 'w') + 2 * pad - 2)
  return {
    name: `conv2d 3x3 ${pad === 0 ? 'valid' : `padding ${pad} (same)`}, 16 -> 16 channels`,
    term: convTerm(pad),
    sizes: image,
    quick: imageQuick,
    reduced: [{ ...image, h: 32, w: 32 }],
    describe: (s) =>
      `${n(s, 'h')}x${n(s, 'w')}x${n(s, 'c')} -> ${n(s, 'o')} ch, ${n(s, 'p')}x${n(s, 'q')}`,
    flops: (s) => 2 * out(s) * prod(s, ['o', 'p', 'q', 'c']),
    naiveWork: (s) => out(s) * prod(s, ['o', 'p', 'q', 'c']),
    pairwise: () => 0,
    naive: convNaive(pad),
    py: pad === 0 ? 'conv_valid' : 'conv_same',
  }
}

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
    py: 'scores',
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
    py: 'output',
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
    py: 'chain',
  },
  convCase(0),
  convCase(1),
]

// ---------------------------------------------------------------------------------------------
// The NumPy side

/**
 * Reads `case variant` lines, answers the milliseconds of one run (its own clock). The sizes come
 * as arguments: B H Q K D (attention), N (chain), IH IW C O (conv2d).
 */
const PYTHON = String.raw`
import sys, time
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
B, H, Q, K, D, N, IH, IW, C, O = (int(a) for a in sys.argv[1:11])
rng = np.random.default_rng(1)
r = lambda *s: rng.standard_normal(s)
q, k = r(B, H, Q, D), r(B, H, K, D)
p, v = r(B, H, Q, K), r(B, H, K, D)
m1, m2, m3 = r(N, N), r(N, N), r(N, N)
x, w = r(IH, IW, C), r(O, C, 3, 3)
xp = np.pad(x, ((1, 1), (1, 1), (0, 0)))
def unfold(a):
    # [h w c] -> [yh yw c kh kw], then contract with the weight as one matmul
    s = sliding_window_view(a, (3, 3), axis=(0, 1))
    return s.reshape(s.shape[0] * s.shape[1], -1) @ w.transpose(1, 2, 3, 0).reshape(-1, O)
cases = {
  'scores': {
    'einsum': lambda: np.einsum('bhqd,bhkd->bhqk', q, k, optimize=False),
    'einsum_opt': lambda: np.einsum('bhqd,bhkd->bhqk', q, k, optimize=True),
    'matmul': lambda: q @ k.transpose(0, 1, 3, 2),
  },
  'output': {
    'einsum': lambda: np.einsum('bhqk,bhkd->bhqd', p, v, optimize=False),
    'einsum_opt': lambda: np.einsum('bhqk,bhkd->bhqd', p, v, optimize=True),
    'matmul': lambda: p @ v,
  },
  'chain': {
    'einsum': lambda: np.einsum('ab,bc,cd->ad', m1, m2, m3, optimize=False),
    'einsum_opt': lambda: np.einsum('ab,bc,cd->ad', m1, m2, m3, optimize=True),
    'matmul': lambda: (m1 @ m2) @ m3,
  },
  'conv_valid': {
    'einsum': lambda: np.einsum('ijcpq,ocpq->ijo', sliding_window_view(x, (3, 3), axis=(0, 1)), w, optimize=False),
    'einsum_opt': lambda: np.einsum('ijcpq,ocpq->ijo', sliding_window_view(x, (3, 3), axis=(0, 1)), w, optimize=True),
    'matmul': lambda: unfold(x),
  },
  'conv_same': {
    'einsum': lambda: np.einsum('ijcpq,ocpq->ijo', sliding_window_view(xp, (3, 3), axis=(0, 1)), w, optimize=False),
    'einsum_opt': lambda: np.einsum('ijcpq,ocpq->ijo', sliding_window_view(xp, (3, 3), axis=(0, 1)), w, optimize=True),
    'matmul': lambda: unfold(xp),
  },
}
print('ready', np.__version__, flush=True)
for line in sys.stdin:
    name, variant = line.split()
    f = cases[name][variant]
    t, c = time.perf_counter(), time.process_time()
    f()
    print((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000, flush=True)
`

const VARIANTS = ['einsum', 'einsum_opt', 'matmul'] as const
type Variant = (typeof VARIANTS)[number]
const VARIANT_NAMES: Record<Variant, string> = {
  einsum: 'np.einsum optimize=False',
  einsum_opt: 'np.einsum optimize=True',
  matmul: 'NumPy matmul path',
}

interface NumPy {
  readonly version: string
  readonly blas: string
  /** One run of a case's variant: NumPy's own wall and CPU time in ms. */
  readonly time: (py: string, variant: Variant) => Promise<Measured>
  readonly close: () => void
}

const PY = '/usr/bin/python3'

/** The NumPy process at the sizes of the run, or a reason why there is none. */
const startNumPy = async (quick: boolean): Promise<NumPy | string> => {
  if (!existsSync(PY)) return `no ${PY}`
  const att = quick ? attentionQuick : attention
  const chain = quick ? 40 : 200
  const img = quick ? imageQuick : image
  const args = [att.b, att.h, att.q, att.k, att.d, chain, img.h, img.w, img.c, img.o].map(String)
  const child: ChildProcessWithoutNullStreams = spawn(PY, ['-c', PYTHON, ...args], {
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
  })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const next = async (): Promise<string | undefined> => {
    const r = await lines.next()
    return r.done === true ? undefined : (r.value as string)
  }
  const ready = await next()
  if (ready === undefined || !ready.startsWith('ready'))
    return `${PY} could not run NumPy (${stderr.trim().split('\n').pop() ?? 'no output'})`
  // Which BLAS NumPy's matmul runs on: Debian's alternative (reference BLAS unless libopenblas0
  // is installed, which this project does not install).
  let blas = 'unknown'
  try {
    blas = realpathSync('/usr/lib/x86_64-linux-gnu/libblas.so.3')
  } catch {
    // not a Debian x86_64 layout
  }
  return {
    version: ready.split(' ')[1] ?? '?',
    blas,
    time: async (py, variant) => {
      child.stdin.write(`${py} ${variant}\n`)
      const line = await next()
      if (line === undefined) throw new Error(`bench: the NumPy process ended early (${stderr})`)
      const [wall, cpu] = line.split(' ').map(Number)
      return { wall: wall as number, cpu: cpu as number }
    },
    close: () => child.stdin.end(),
  }
}

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

/** Wall time and CPU time (user + system of the process that ran it) of one run, in ms. */
interface Measured {
  readonly wall: number
  readonly cpu: number
}

interface Timing {
  /** One run; its times (measured by the task itself, or nothing to time the call here). */
  readonly run: () => Promise<Measured> | void
  readonly minReps: number
  readonly maxReps: number
}

/**
 * Median wall and CPU times of several tasks, interleaved: the next run goes to the task that has
 * used the least wall time so far, so that a load spike from another process hits every task
 * alike. Each task runs at least `minReps` times, then more while the budget lasts (up to
 * `maxReps`). The CPU time of a run in this process is `process.cpuUsage()` (every thread of
 * Node, the garbage collector's included); on a shared machine it leaves out the time spent
 * waiting for a core, which the wall time includes.
 */
const timeInterleaved = async (
  tasks: ReadonlyArray<Timing>,
  budgetMs: number,
): Promise<{ wall: number[]; cpu: number[] }> => {
  const times = tasks.map((): number[] => [])
  const cpus = tasks.map((): number[] => [])
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
    if (next < 0) return { wall: times.map(median), cpu: cpus.map(median) }
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    const own = await (tasks[next] as Timing).run()
    const c1 = process.cpuUsage(c0)
    const dt = own?.wall ?? performance.now() - t0
    ;(times[next] as number[]).push(dt)
    ;(cpus[next] as number[]).push(own?.cpu ?? (c1.user + c1.system) / 1000)
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
      // A view of an existing buffer (the WebAssembly kernel's memory) allocates nothing.
      if (typeof args[0] !== 'number') return made
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
  /** The engine with every product in the TypeScript kernel. */
  readonly typescriptMs: number
  readonly naiveMs: number
  /** NumPy's median ms per variant, when NumPy runs. */
  readonly numpy?: Readonly<Record<Variant, number>>
  /** Median CPU times: the engine, the engine with the TypeScript kernel, NumPy's variants. */
  readonly cpu: {
    readonly engine: number
    readonly typescript: number
    readonly numpy?: Readonly<Record<Variant, number>>
  }
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

/** `f` with the products in the TypeScript kernel. */
const withTypeScriptKernel = <A>(f: () => A): A => {
  const old = setMatmulKernel('typescript')
  try {
    return f()
  } finally {
    setMatmulKernel(old)
  }
}

const runCase = async (c: Case, quick: boolean, numpy: NumPy | undefined): Promise<Timed> => {
  const sizes = quick ? c.quick : c.sizes
  const evalAt = (s: Sizes, seed: number) => {
    const inputs = randomInputs(c.term.dom, s, seed)
    const params = randomParams(c.term, s, seed + 1)
    return { inputs, params, run: () => evaluate(c.term, s, inputs, params) }
  }
  const full = evalAt(sizes, 1)
  const [engineWarm, budget] = quick ? [2, 150] : [5, 8000]
  const engineTask = (at: { run: () => Float64Array[] }): Timing => ({
    run: () => at.run().forEach(consume),
    minReps: quick ? 3 : 7,
    maxReps: 41,
  })
  const typescriptTask: Timing = {
    run: () => withTypeScriptKernel(() => full.run().forEach(consume)),
    minReps: quick ? 3 : 7,
    maxReps: 41,
  }
  for (let i = 0; i < engineWarm; i++) full.run().forEach(consume)
  for (let i = 0; i < engineWarm; i++) withTypeScriptKernel(() => full.run().forEach(consume))
  const numpyTasks: Timing[] =
    numpy === undefined
      ? []
      : VARIANTS.map((v) => ({ run: () => numpy.time(c.py, v), minReps: 3, maxReps: 15 }))
  // NumPy's warm-up: one run of each variant.
  for (const v of numpy === undefined ? [] : VARIANTS) await numpy?.time(c.py, v)

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
  let timed: { wall: number[]; cpu: number[] }
  let reduced: Row['reduced']
  if (atNaive === full) {
    timed = await timeInterleaved(
      [engineTask(full), typescriptTask, naiveTask, ...numpyTasks],
      budget,
    )
  } else {
    timed = await timeInterleaved([engineTask(full), typescriptTask, ...numpyTasks], budget)
    for (let i = 0; i < engineWarm; i++) atNaive.run().forEach(consume)
    const there = await timeInterleaved([engineTask(atNaive), naiveTask], budget / 2)
    const [engineThere = NaN, naiveThere = NaN] = there.wall
    timed.wall.splice(2, 0, naiveThere)
    timed.cpu.splice(2, 0, there.cpu[1] ?? NaN)
    reduced = { sizes: c.describe(naiveSizes), flops: c.flops(naiveSizes), engineMs: engineThere }
  }
  const [engineMs = NaN, typescriptMs = NaN, naiveMs = NaN, ...numpyMs] = timed.wall
  const [engineCpu = NaN, typescriptCpu = NaN, , ...numpyCpu] = timed.cpu
  const perVariant = (xs: ReadonlyArray<number>) =>
    Object.fromEntries(VARIANTS.map((v, i) => [v, xs[i] as number])) as Record<Variant, number>
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
    typescriptMs,
    naiveMs,
    ...(numpy !== undefined ? { numpy: perVariant(numpyMs) } : {}),
    cpu: {
      engine: engineCpu,
      typescript: typescriptCpu,
      ...(numpy !== undefined ? { numpy: perVariant(numpyCpu) } : {}),
    },
    ...(reduced !== undefined ? { reduced } : {}),
    memory,
    boundBytes: 8 * Math.max(largestWire(c.term, sizes), c.pairwise(sizes)),
    inputBytes,
    relDiff,
  })
  return { measure: () => measureMemory(full.run), row }
}

// ---------------------------------------------------------------------------------------------
// Where the WebAssembly kernel starts to pay

/** The cube sizes m = k = n of the crossover table. */
const CROSSOVER = [4, 6, 8, 10, 12, 14, 16, 20, 24, 32] as const

interface Crossover {
  readonly size: number
  readonly innerFirst: boolean
  /** Microseconds per product (one batch, one call), TypeScript and WebAssembly. */
  readonly typescriptUs: number
  readonly wasmUs: number
}

/**
 * One product of m = k = n (summed axes last, and first) by the TypeScript kernel and by
 * `wasmBatchedMatmul` (copies in and out included), alternating; the best of 7 loops of calls.
 */
const crossover = (quick: boolean): Crossover[] => {
  const rows: Crossover[] = []
  const alloc = (k: number) => new Float64Array(k)
  const old = setMatmulKernel('wasm')
  try {
    for (const size of CROSSOVER)
      for (const innerFirst of [false, true]) {
        const a = randomInputs([['m', 'k']], { m: size, k: size }, 1)[0] as Float64Array
        const b = randomInputs([['k', 'n']], { k: size, n: size }, 2)[0] as Float64Array
        const calls = Math.max(20, Math.ceil((quick ? 2e4 : 2e5) / size ** 3))
        const ts = () =>
          (innerFirst ? batchedMatmulInnerFirst : batchedMatmul)(a, b, 1, size, size, size, alloc)
        const view = denseView(size, size, innerFirst)
        const wasm = () => wasmBatchedMatmul(a, view, b, view, 1, size, size, size, alloc)
        const loop = (f: () => Float64Array | undefined): number => {
          const t0 = performance.now()
          for (let i = 0; i < calls; i++) consume(f() as Float64Array)
          return ((performance.now() - t0) * 1000) / calls
        }
        loop(ts)
        loop(wasm)
        let best = [Infinity, Infinity]
        for (let r = 0; r < 7; r++)
          best = [Math.min(best[0] as number, loop(ts)), Math.min(best[1] as number, loop(wasm))]
        rows.push({ size, innerFirst, typescriptUs: best[0] as number, wasmUs: best[1] as number })
      }
  } finally {
    setMatmulKernel(old)
  }
  return rows
}

const crossoverReport = (rows: ReadonlyArray<Crossover>): string =>
  `Where the WebAssembly kernel starts to pay: one product of m = k = n, microseconds per call (the
copies into and out of the module's memory included), best of 7 loops, the two kernels alternating.
Under \`'auto'\` the TypeScript kernel runs below m k n = ${WASM_MIN_WORK} multiply-adds per batch
with the summed axes last, ${WASM_MIN_WORK_INNER_FIRST} first (\`WASM_MIN_WORK\`, src/eval/wasm/gemm.ts).\n\n` +
  table(
    ['m = k = n', 'm k n', 'layout', 'TypeScript us', 'WebAssembly us', 'faster'],
    rows.map((r) => [
      String(r.size),
      String(r.size ** 3),
      r.innerFirst ? 'summed axis first' : 'summed axis last',
      r.typescriptUs.toFixed(2),
      r.wasmUs.toFixed(2),
      r.wasmUs < r.typescriptUs ? 'WebAssembly' : 'TypeScript',
    ]),
  )

// ---------------------------------------------------------------------------------------------
// Two threads

interface TwoThreads {
  readonly name: string
  readonly flops: number
  readonly oneMs: number
  readonly twoMs: number
}

/**
 * Each case with the products on one thread and on two (startMatmulThreads: a worker thread on
 * the shared-memory build of the kernel), interleaved; or undefined without worker threads.
 */
const twoThreads = async (
  cases: ReadonlyArray<Case>,
  quick: boolean,
): Promise<TwoThreads[] | undefined> => {
  if (!(await startMatmulThreads())) return undefined
  try {
    const rows: TwoThreads[] = []
    for (const c of cases) {
      const sizes = quick ? c.quick : c.sizes
      const inputs = randomInputs(c.term.dom, sizes, 1)
      const params = randomParams(c.term, sizes, 2)
      const task = (count: 1 | 2): Timing => ({
        run: () => {
          const old = setMatmulThreads(count)
          try {
            evaluate(c.term, sizes, inputs, params).forEach(consume)
          } finally {
            setMatmulThreads(old)
          }
        },
        minReps: quick ? 3 : 7,
        maxReps: 41,
      })
      for (const count of [1, 2] as const) for (let i = 0; i < 3; i++) task(count).run()
      const { wall } = await timeInterleaved([task(1), task(2)], quick ? 100 : 3000)
      const [oneMs = NaN, twoMs = NaN] = wall
      rows.push({ name: c.name, flops: c.flops(sizes), oneMs, twoMs })
    }
    return rows
  } finally {
    await stopMatmulThreads()
  }
}

const twoThreadsReport = (rows: ReadonlyArray<TwoThreads> | undefined): string =>
  rows === undefined
    ? 'Two threads: not run (no worker threads or shared WebAssembly memory here).'
    : `Two threads (optional, off by default: \`startMatmulThreads\` in src/eval/wasm/gemm.ts
starts a worker thread on the shared-memory build of the kernel; batches, or one batch's rows, are
split between the two). Wall time, median, the two settings interleaved; on a machine whose other
processes keep both cores busy the second thread has no core of its own to run on.\n\n` +
      table(
        ['case', 'one thread ms', 'GFLOP/s', 'two threads ms', 'GFLOP/s', 'speedup'],
        rows.map((r) => [
          r.name,
          ms(r.oneMs),
          gflops(r.flops, r.oneMs),
          ms(r.twoMs),
          gflops(r.flops, r.twoMs),
          `${(r.oneMs / r.twoMs).toFixed(2)}x`,
        ]),
      )

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

const ratio = (engineMs: number, otherMs: number): string => `${(otherMs / engineMs).toFixed(2)}x`

/** The matmul-shaped cases, which have the 10 GFLOP/s target of issue 12. */
const MATMUL_SHAPED = new Set(['scores', 'output', 'chain'])

const report = (
  rows: ReadonlyArray<Row>,
  cases: ReadonlyArray<Case>,
  quick: boolean,
  numpyNote: string,
): string => {
  const main = table(
    [
      'case',
      'sizes',
      'FLOPs',
      'engine ms',
      'engine GFLOP/s',
      'engine, TS kernel GFLOP/s',
      ...VARIANTS.map((v) => `${VARIANT_NAMES[v]} GFLOP/s (engine / NumPy)`),
      'naive GFLOP/s (engine / naive)',
    ],
    rows.map((r) => {
      const naive =
        r.reduced === undefined
          ? `${gflops(r.flops, r.naiveMs)} (${ratio(r.engineMs, r.naiveMs)})`
          : `${gflops(r.reduced.flops, r.naiveMs)} at ${r.reduced.sizes} (${ratio(r.reduced.engineMs, r.naiveMs)}, engine ${ms(r.reduced.engineMs)} ms there)`
      return [
        r.name,
        r.sizes,
        count(r.flops),
        ms(r.engineMs),
        gflops(r.flops, r.engineMs),
        `${gflops(r.flops, r.typescriptMs)} (${ratio(r.engineMs, r.typescriptMs)})`,
        ...VARIANTS.map((v) => {
          const t = r.numpy?.[v]
          return t === undefined ? 'n/a' : `${gflops(r.flops, t)} (${ratio(r.engineMs, t)})`
        }),
        naive,
      ]
    }),
  )
  const cpu = table(
    [
      'case',
      'engine CPU ms',
      'engine GFLOP/s per CPU second',
      'engine, TS kernel',
      ...VARIANTS.map((v) => `${VARIANT_NAMES[v]} (engine / NumPy)`),
    ],
    rows.map((r) => [
      r.name,
      ms(r.cpu.engine),
      gflops(r.flops, r.cpu.engine),
      `${gflops(r.flops, r.cpu.typescript)} (${ratio(r.cpu.engine, r.cpu.typescript)})`,
      ...VARIANTS.map((v) => {
        const t = r.cpu.numpy?.[v]
        return t === undefined ? 'n/a' : `${gflops(r.flops, t)} (${ratio(r.cpu.engine, t)})`
      }),
    ]),
  )
  const detail = table(
    [
      'case',
      'peak MB (engine)',
      'largest tensor MB (bound)',
      'inputs + params MB',
      'largest single alloc MB',
      'within bound',
      'allocations (count, total MB)',
      'arrayBuffers growth, no GC, MB',
      'max rel. diff vs naive',
    ],
    rows.map((r) => [
      r.name,
      MB(r.memory.peakLive),
      MB(r.boundBytes),
      MB(r.inputBytes),
      MB(r.memory.largestAlloc),
      r.memory.largestAlloc <= r.boundBytes ? 'yes' : 'NO',
      `${r.memory.allocations}, ${MB(r.memory.totalAllocated)}`,
      MB(r.memory.afterNoGc),
      r.relDiff.toExponential(1),
    ]),
  )
  const targets = rows
    .map((r, i) => {
      const rate = r.flops / r.engineMs / 1e6
      const np = r.numpy?.einsum
      const perCpu = r.flops / r.cpu.engine / 1e6
      const parts = [
        `${rate.toFixed(2)} GFLOP/s (${perCpu.toFixed(2)} per CPU second)`,
        MATMUL_SHAPED.has((cases[i] as Case).py)
          ? `${rate >= 10 ? 'meets' : 'is BELOW'} the 10 GFLOP/s target of a matmul-shaped contraction by wall time, ${perCpu >= 10 ? 'meets' : 'is BELOW'} it by CPU time`
          : undefined,
        np === undefined
          ? undefined
          : `${np >= r.engineMs ? 'at least' : 'BELOW'} np.einsum(optimize=False) (${ratio(r.engineMs, np)})`,
        `largest intermediate ${r.memory.largestAlloc <= r.boundBytes ? 'within' : 'OVER'} the bound`,
      ]
      return `- ${r.name}: ${parts.filter((x) => x !== undefined).join('; ')}`
    })
    .join('\n')
  const cpuNote = `The same runs by CPU time (the median user + system time of the process that ran
each side: Node's \`process.cpuUsage()\`, Python's \`time.process_time()\`), which leaves out the
time a side waited for a core on a shared machine:`
  return `${numpyNote}\n\n${main}\n\n${cpuNote}\n\n${cpu}\n\n${detail}\n${quick ? '' : `\n${targets}\n`}`
}

const NOTES = `GFLOP/s = the FLOPs column (analytic useful work: 2 x product of the label extents; the
chain counts its best pairwise order, 2 x 2n^3) over the median time, for every side alike; in
brackets the engine's speed over that side's (above 1: the engine is faster). "engine, TS kernel"
is the same evaluation with every product in the plain TypeScript kernel (the reference of the
WebAssembly kernel; both give the same numbers bit for bit). peak MB (engine) = the peak of live
ArrayBuffer memory during one evaluation above the inputs and parameters (output and the
WebAssembly kernel's memory included), sampled after two forced full GCs at every Float64Array
allocation. largest tensor MB = the largest input or output of any step of the term (the bound no
intermediate should exceed); "largest single alloc" is the engine's largest Float64Array. The
arrayBuffers growth without GC is what one evaluation left allocated before any collection.
Times on a shared machine vary from run to run (up to 2x under load; see the load average): the
sides are interleaved, so compare them within a row.`

/** The section of bench/results.md that a run keeps: the figures before issue 12. */
const KEPT = '\n## Before'

const main = async (): Promise<void> => {
  const quick = process.argv.includes('--quick')
  const loadBefore = os.loadavg().map((l) => l.toFixed(2))
  const timed: Timed[] = []
  const only = process.argv.slice(2).filter((a) => !a.startsWith('--'))
  const cases = CASES.filter((c) => only.length === 0 || only.some((o) => c.name.includes(o)))
  const started = await startNumPy(quick)
  const numpy = typeof started === 'string' ? undefined : started
  const numpyNote =
    numpy === undefined
      ? `NumPy: not run (${String(started)}).`
      : `NumPy ${numpy.version} through Debian's \`${PY}\`, one BLAS thread (BLAS \`${numpy.blas}\`), its own clock around each call.`
  try {
    for (const c of cases) {
      process.stderr.write(`bench: ${c.name} ...\n`)
      timed.push(await runCase(c, quick, numpy))
    }
  } finally {
    numpy?.close()
  }
  const cross = only.length === 0 ? `\n${crossoverReport(crossover(quick))}\n` : ''
  const threaded = `\n${twoThreadsReport(await twoThreads(cases, quick))}\n`
  // Memory last: wrapping the global Float64Array must not disturb any timing.
  const rows = timed.map((t) => t.row(t.measure()))
  const text = report(rows, cases, quick, numpyNote) + cross + threaded
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  const loadAfter = os.loadavg().map((l) => l.toFixed(2))
  const load = `load average (1, 5, 15 min) ${loadBefore.join(' ')} before, ${loadAfter.join(' ')} after`
  const machine = `Node ${process.version}, ${cpu}, ${os.cpus().length} CPU(s), ${os.platform()} ${os.arch()}; one thread; ${load}`
  process.stdout.write(
    `\n${machine}${quick ? ' (--quick: small sizes)' : ''}\n\n${text}\n${NOTES}\n`,
  )
  // Read the sink once, so that what was consumed is observable.
  if (sink === 0.123456789) process.stdout.write('\n')
  if (!quick && cases.length === CASES.length) {
    const file = fileURLToPath(new URL('./results.md', import.meta.url))
    const old = existsSync(file) ? readFileSync(file, 'utf8') : ''
    const kept = old.includes(KEPT) ? old.slice(old.indexOf(KEPT)) : ''
    const markdown =
      `# Evaluator benchmark\n\nRecorded ${new Date().toISOString().slice(0, 10)} with \`npm run bench\` ` +
      `(bench/run.ts; the header of that file explains every column).\n\n${machine}.\n\n${text}\n${NOTES}\n${kept}`
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
