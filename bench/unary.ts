/**
 * Speed of the element-wise kernel `mapUnary` (src/eval/kernels.ts) on gelu, normcdf and, for
 * scale, exp and scale (the loop and its allocation alone): the time an entry on arrays of 1088 and 8192 entries (1088 = 17 · 64, a ViT
 * feed-forward row block; 8192 a larger one), the arguments spread uniformly over [-7, 7] (every
 * branch of erf) and over [-2, 2] (where a network's pre-activations mostly lie).
 *
 * Run: `npm run bench:unary` (a few seconds; prints a table, writes nothing). This is a benchmark,
 * never a test: nothing here fails on a slow machine. The three ops are timed interleaved (each
 * round runs every op once, so a load spike from another process hits every op alike); the figure
 * is the median over rounds, each round the mean of enough calls to last about 2 ms.
 */
import { cpus, loadavg } from 'node:os'
import type { ScalarOp } from '../src/core/term.js'
import { mapUnary } from '../src/eval/kernels.js'

const alloc = (n: number): Float64Array => new Float64Array(n)
const ops: ReadonlyArray<ScalarOp> = ['gelu', 'normcdf', 'exp', 'scale']
const sizes = [1088, 8192]
const spreads = [7, 2]
const rounds = 41

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

let sink = 0
const rows: string[] = []
for (const w of spreads)
  for (const n of sizes) {
    // A fixed pseudo-random spread over [-w, w] (a linear congruential generator, seed 1).
    let seed = 1
    const src = Float64Array.from({ length: n }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return (seed / 2 ** 31) * 2 * w - w
    })
    const reps = Math.max(1, Math.round(2e6 / (n * 40)))
    const times: Record<string, number[]> = {}
    for (const op of ops) {
      times[op] = []
      for (let k = 0; k < 200; k++) sink += mapUnary(src, op, 1, alloc)[0] as number
    }
    for (let r = 0; r < rounds; r++)
      for (const op of ops) {
        const t0 = process.hrtime.bigint()
        for (let k = 0; k < reps; k++) sink += mapUnary(src, op, 1, alloc)[n - 1] as number
        const dt = Number(process.hrtime.bigint() - t0) / reps
        ;(times[op] as number[]).push(dt)
      }
    for (const op of ops) {
      const t = median(times[op] as number[])
      rows.push(
        `| ${op} | ${n} | [-${w}, ${w}] | ${(t / 1000).toFixed(1)} | ${(t / n).toFixed(1)} |`,
      )
    }
  }
console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? '?'}, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
)
console.log('| op | entries | arguments | µs a call | ns an entry |')
console.log('| --- | ---: | --- | ---: | ---: |')
for (const r of rows) console.log(r)
if (Number.isNaN(sink)) console.log('(sink)')
