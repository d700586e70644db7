/**
 * Benchmark of `normalize` and `equivalent` on generated diagrams of 10^3, 10^4 and 10^5 nodes:
 * long `seq` chains, wide `par` stacks, n nested snakes and n broadcast linear layers. Prints the
 * time per size and the fitted growth exponent (the slope of log time over log size).
 *
 * Run: `npm run bench:normal` (or `npx tsx bench/normal.ts --quick` for 10^2..10^3).
 */
import {
  type Term,
  broadcast,
  cup,
  equivalent,
  linearLayer,
  normalKey,
  normalize,
  par,
  relu,
  seq,
  tanh,
  termSize,
  unit,
} from '../src/index.js'

const quick = process.argv.includes('--quick')
const sizes = quick ? [100, 300, 1000] : [1000, 10000, 100000]

/** Families of diagrams with about n nodes. */
const families: ReadonlyArray<readonly [string, (n: number) => Term]> = [
  [
    'seq chain of element-wise maps',
    (n) => seq(...Array.from({ length: n }, (_, i) => (i % 2 ? relu('k') : tanh('k')))),
  ],
  ['wide par stack', (n) => par(...Array.from({ length: n / 2 }, (_, i) => relu([`d${i % 7}`])))],
  [
    'n snakes in a row',
    (n) =>
      seq(
        ...Array.from({ length: Math.max(1, Math.floor(n / 6)) }, () =>
          seq(broadcast(unit('a'), ['a']), broadcast(cup('a'), ['a'], { at: 'last' })),
        ),
      ),
  ],
  [
    'n broadcast linear layers',
    (n) =>
      seq(
        ...Array.from({ length: Math.max(1, Math.floor(n / 8)) }, (_, i) =>
          broadcast(linearLayer(`W${i}`, 'k', 'k'), ['x']),
        ),
      ),
  ],
]

const time = (f: () => void): number => {
  const start = performance.now()
  f()
  return performance.now() - start
}

const row = (r: string): void => console.log(r)
row('| family | nodes | normalize ms | equivalent ms |')
row('| --- | --- | --- | --- |')
for (const [name, make] of families) {
  const points: Array<[number, number]> = []
  for (const n of sizes) {
    const t = make(n)
    const nodes = termSize(t)
    normalKey(t) // warm up
    const ms = time(() => normalize(t))
    const copy = make(n) // an equal term, not the same object (no memo)
    const eq = time(() => equivalent(t, copy, { trials: 1 }))
    points.push([nodes, ms])
    row(`| ${name} | ${nodes} | ${ms.toFixed(1)} | ${eq.toFixed(1)} |`)
  }
  const [x0, y0] = points[0] as [number, number]
  const [x1, y1] = points[points.length - 1] as [number, number]
  const slope = Math.log(Math.max(y1, 0.01) / Math.max(y0, 0.01)) / Math.log(x1 / x0)
  row(`| ${name}: growth exponent | | ${slope.toFixed(2)} | |`)
}
