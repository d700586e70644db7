/**
 * The evaluator beside NumPy, in one run (issue 12, section 4). Each workload is evaluated by the
 * engine and, by a NumPy process started once from Debian's `/usr/bin/python3` (`python3-numpy`,
 * one BLAS thread), as `np.einsum(optimize=False)`, `np.einsum(optimize=True)` and a matmul path
 * (the contraction written as `@` on reshaped arrays; the convolutions unfolded first). The two
 * sides alternate rep by rep, so load from other processes hits both alike; each figure is the
 * median of the reps. GFLOP/s divides the same useful work (2 multiply-adds per term of the
 * contraction) by each time, so the ratios are speedups.
 *
 * Workloads: attention scores `b h q d, b h k d -> b h q k` and output `b h q k, b h k d -> b h q d`
 * at (8, 8, 128, 128, 64); the chain `a b, b c, c d -> a d` at n = 200; conv2d 3x3, 16 -> 16
 * channels on 64x64, valid and with padding 1 ("same"), both as `conv2d` of `src/models/conv.ts`.
 *
 * Run: `npm run bench:numpy` (writes `bench/numpy-results.md`); `-- --quick` for small sizes and a
 * few reps (prints only). A benchmark, never a test.
 *
 * @packageDocumentation
 */
import { spawn } from 'node:child_process'
import { realpathSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { format, resolveConfig } from 'prettier'
import {
  type Sizes,
  type Term,
  conv2d,
  einsum,
  evaluate,
  randomInputs,
  randomParams,
} from '../src/index.js'

const quick = process.argv.includes('--quick')
const REPS = quick ? 3 : 9

interface Workload {
  readonly name: string
  readonly term: Term
  readonly sizes: Sizes
  /** The NumPy case name (see PYTHON) and its sizes. */
  readonly py: string
  readonly flops: number
}

const att = quick ? { b: 2, h: 2, q: 32, k: 32, d: 16 } : { b: 8, h: 8, q: 128, k: 128, d: 64 }
const chainN = quick ? 40 : 200
const img = quick ? { h: 16, w: 16, c: 4, o: 4 } : { h: 64, w: 64, c: 16, o: 16 }
const attFlops = 2 * att.b * att.h * att.q * att.k * att.d
const convFlops = (y: number, x: number): number => 2 * y * x * img.o * 9 * img.c

const convOf = (padding: boolean): Term =>
  conv2d('C', {
    h: 'h',
    w: 'w',
    kh: 'p',
    kw: 'q',
    cIn: 'c',
    cOut: 'o',
    ...(padding
      ? {
          padding: [
            [1, 1],
            [1, 1],
          ] as const,
        }
      : {}),
  })

const WORKLOADS: ReadonlyArray<Workload> = [
  {
    name: 'attention scores `b h q d, b h k d -> b h q k`',
    term: einsum('b h q d, b h k d -> b h q k'),
    sizes: att,
    py: 'scores',
    flops: attFlops,
  },
  {
    name: 'attention output `b h q k, b h k d -> b h q d`',
    term: einsum('b h q k, b h k d -> b h q d'),
    sizes: att,
    py: 'output',
    flops: attFlops,
  },
  {
    name: `matrix chain \`a b, b c, c d -> a d\`, n = ${chainN}`,
    term: einsum('a b, b c, c d -> a d'),
    sizes: { a: chainN, b: chainN, c: chainN, d: chainN },
    py: 'chain',
    flops: 4 * chainN ** 3,
  },
  {
    name: `conv2d 3x3 valid, ${img.c} -> ${img.o} channels, ${img.h}x${img.w}`,
    term: convOf(false),
    sizes: { h: img.h, w: img.w, c: img.c, o: img.o, p: 3, q: 3 },
    py: 'conv_valid',
    flops: convFlops(img.h - 2, img.w - 2),
  },
  {
    name: `conv2d 3x3 padding 1 (same), ${img.c} -> ${img.o} channels, ${img.h}x${img.w}`,
    term: convOf(true),
    sizes: { h: img.h, w: img.w, c: img.c, o: img.o, p: 3, q: 3 },
    py: 'conv_same',
    flops: convFlops(img.h, img.w),
  },
]

/** The NumPy side: reads `case variant` lines, answers the milliseconds of one run. */
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
    t = time.perf_counter()
    f()
    print((time.perf_counter() - t) * 1000, flush=True)
`

const VARIANTS = ['einsum', 'einsum_opt', 'matmul'] as const
type Variant = (typeof VARIANTS)[number]

const median = (xs: ReadonlyArray<number>): number => {
  const ys = [...xs].sort((a, b) => a - b)
  const mid = ys.length >> 1
  return ys.length % 2 === 1 ? ys[mid]! : (ys[mid - 1]! + ys[mid]!) / 2
}

const main = async (): Promise<void> => {
  const args = [att.b, att.h, att.q, att.k, att.d, chainN, img.h, img.w, img.c, img.o].map(String)
  const child = spawn('/usr/bin/python3', ['-c', PYTHON, ...args], {
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const next = async (): Promise<string> => {
    const r = await lines.next()
    if (r.done === true) throw new Error('bench/numpy.ts: the NumPy process ended early')
    return r.value as string
  }
  const ready = await next()
  const numpyVersion = ready.split(' ')[1] ?? '?'
  const ask = async (name: string, variant: Variant): Promise<number> => {
    child.stdin.write(`${name} ${variant}\n`)
    return Number(await next())
  }
  const rows: string[] = []
  // Which BLAS NumPy's matmul runs on: Debian's alternative (reference BLAS unless libopenblas0
  // is installed, which this project does not install).
  let blas = 'unknown'
  try {
    blas = realpathSync('/usr/lib/x86_64-linux-gnu/libblas.so.3')
  } catch {
    // not a Debian x86_64 layout
  }
  const load = os.loadavg().map((l) => l.toFixed(1))
  for (const wl of WORKLOADS) {
    const inputs = randomInputs(wl.term.dom, wl.sizes, 1)
    const params = randomParams(wl.term, wl.sizes, 2)
    const runEngine = (): number => {
      const t0 = performance.now()
      evaluate(wl.term, wl.sizes, inputs, params)
      return performance.now() - t0
    }
    // Warm-up on both sides, then alternate.
    runEngine()
    for (const v of VARIANTS) await ask(wl.py, v)
    const engine: number[] = []
    const numpy: Record<Variant, number[]> = { einsum: [], einsum_opt: [], matmul: [] }
    for (let i = 0; i < REPS; i++) {
      engine.push(runEngine())
      for (const v of VARIANTS) numpy[v].push(await ask(wl.py, v))
    }
    const gf = (ms: number): string => (wl.flops / ms / 1e6).toFixed(2)
    const e = median(engine)
    const cells = VARIANTS.map((v) => {
      const ms = median(numpy[v])
      return `${ms.toFixed(1)} ms, ${gf(ms)} (${(ms / e).toFixed(2)}x)`
    })
    const row = `| ${wl.name} | ${e.toFixed(1)} ms, ${gf(e)} | ${cells.join(' | ')} |`
    console.log(row)
    rows.push(row)
  }
  child.stdin.end()
  const table = [
    '# The evaluator beside NumPy (`npm run bench:numpy`)',
    '',
    `Node ${process.version}, NumPy ${numpyVersion} (Debian, one BLAS thread, BLAS \`${blas}\`), ${os.cpus().length} cores, load average ${load.join(' ')} at the start; medians of ${REPS} alternating reps; float64 throughout. Each cell: time, GFLOP/s, and in brackets NumPy's time over the engine's (below 1: NumPy is faster).`,
    '',
    '| workload | engine | np.einsum optimize=False | np.einsum optimize=True | matmul path |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n')
  if (quick) return
  const file = fileURLToPath(new URL('numpy-results.md', import.meta.url))
  const config = (await resolveConfig(file)) ?? {}
  writeFileSync(file, await format(table, { ...config, filepath: file }))
  console.log(`wrote ${file}`)
}

await main()
