/**
 * Benchmark of building, `normalize`, `normalKey` and `equivalent` on generated diagrams, timed
 * cold: every timing gets a term built afresh for it (no memoised normal key, leaf key, jvp or
 * canonical einsum: those memos are keyed by term object), so what is timed is what a first call
 * costs. Prints, per family and size, the time of each step and the fitted growth exponent (the
 * least-squares slope of log time over log size, `growthExponent`): 1 is linear, 2 quadratic.
 *
 * Families (size n):
 * - `seq` chain of n element-wise maps; wide `par` of n/2 relus; n/6 snakes in a row; n/8
 *   broadcast linear layers in sequence (about n nodes each);
 * - layered presentation (DisCoPy's form of a diagram): n layers `par(id(x^k), f_k,
 *   id(x^(n-1-k)))` on n wires, `f_k` a generator on one wire. Its printed size is about n²
 *   (each layer's identities name n-1 wires), so linear in the printed size is exponent 2 in n;
 * - wide `par` of n linear layers (`linearLayer(W_i, k, k)`): 4n nodes;
 * - snake removal by rules: `rewriteRepeat` of the compact snakes on n snakes in a row, to the
 *   fixed point (n steps).
 *
 * Run: `npm run bench:normal` (a few minutes; prints a markdown table, record it in
 * bench/normal-results.md with the load average it prints) or `npm run bench:normal -- --quick`
 * (small sizes). A benchmark, never a test.
 */
import os from 'node:os'
import {
  type Term,
  broadcast,
  compactRules,
  cup,
  equivalent,
  generator,
  growthExponent,
  id,
  linearLayer,
  normalKey,
  normalize,
  par,
  relu,
  rewriteRepeat,
  seq,
  tanh,
  termSize,
  unit,
} from '../src/index.js'

const quick = process.argv.includes('--quick')
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length)

interface Family {
  readonly name: string
  readonly sizes: ReadonlyArray<number>
  readonly make: (n: number) => Term
  /** What is timed besides building: the normal form steps, or rule rewriting. */
  readonly steps: 'normal' | 'snake-rules'
}

const snakes = (n: number): Term =>
  seq(
    ...Array.from({ length: Math.max(1, n) }, () =>
      seq(broadcast(unit('a'), ['a']), broadcast(cup('a'), ['a'], { at: 'last' })),
    ),
  )

const layered = (n: number): Term => {
  const x = [['x']] as const
  const wires = (k: number) => Array.from({ length: k }, () => x[0])
  const f = (k: number) => generator(`f${k}`, x, x)
  return seq(...Array.from({ length: n }, (_, k) => par(id(wires(k)), f(k), id(wires(n - 1 - k)))))
}

const scale = (sizes: ReadonlyArray<number>, small: ReadonlyArray<number>) =>
  quick ? small : sizes

const FAMILIES: ReadonlyArray<Family> = [
  {
    name: 'seq chain of element-wise maps',
    sizes: scale([1000, 10000, 100000], [100, 300, 1000]),
    make: (n) => seq(...Array.from({ length: n }, (_, i) => (i % 2 ? relu('k') : tanh('k')))),
    steps: 'normal',
  },
  {
    name: 'wide par stack',
    sizes: scale([1000, 10000, 100000], [100, 300, 1000]),
    make: (n) => par(...Array.from({ length: n / 2 }, (_, i) => relu([`d${i % 7}`]))),
    steps: 'normal',
  },
  {
    name: 'n snakes in a row',
    sizes: scale([1000, 10000, 100000], [100, 300, 1000]),
    make: (n) => snakes(Math.floor(n / 6)),
    steps: 'normal',
  },
  {
    name: 'n broadcast linear layers',
    sizes: scale([1000, 10000, 100000], [100, 300, 1000]),
    make: (n) =>
      seq(
        ...Array.from({ length: Math.max(1, Math.floor(n / 8)) }, (_, i) =>
          broadcast(linearLayer(`W${i}`, 'k', 'k'), ['x']),
        ),
      ),
    steps: 'normal',
  },
  {
    name: 'layered presentation, n wires and n layers',
    sizes: scale([250, 500, 1000], [50, 100, 200]),
    make: layered,
    steps: 'normal',
  },
  {
    name: 'wide par of n linear layers',
    sizes: scale([250, 500, 1000], [50, 100, 200]),
    make: (n) => par(...Array.from({ length: n }, (_, i) => linearLayer(`W${i}`, 'k', 'k'))),
    steps: 'normal',
  },
  {
    name: 'snake removal by rules (rewriteRepeat), n snakes',
    sizes: scale([100, 300, 1000, 3000], [25, 50, 100]),
    make: snakes,
    steps: 'snake-rules',
  },
]

const time = (f: () => unknown): number => {
  const start = performance.now()
  f()
  return performance.now() - start
}

const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1))
const row = (cells: ReadonlyArray<string>): void => console.log(`| ${cells.join(' | ')} |`)
const exponent = (points: ReadonlyArray<readonly [number, number]>): string =>
  growthExponent(points.map(([x, y]) => [x, Math.max(y, 0.05)] as const)).toFixed(2)

/** A family stops growing once one size has taken this long (its larger sizes are skipped). */
const BUDGET_MS = 30_000

// Warm the JIT on small instances of every family (other objects: nothing timed below is memoised).
for (const family of FAMILIES) {
  const t = family.make(family.name.startsWith('snake') ? 4 : 40)
  if (family.steps === 'snake-rules') rewriteRepeat(compactRules)(t)
  else equivalent(t, family.make(family.name.startsWith('snake') ? 4 : 40), { trials: 1 })
}

const started = performance.now()
const loadBefore = os.loadavg()[0] ?? 0
row(['family', 'n', 'nodes', 'build ms', 'normalize ms', 'normalKey ms', 'equivalent ms'])
row(['---', '---', '---', '---', '---', '---', '---'])
for (const family of FAMILIES) {
  if (only !== undefined && !family.name.includes(only)) continue
  const points: Array<{ n: number; build: number; a: number; b: number; c: number }> = []
  let spent = 0
  for (const n of family.sizes) {
    if (spent > BUDGET_MS) {
      row([
        family.name,
        String(n),
        '',
        `skipped: the size before took ${fmt(spent)} ms`,
        '',
        '',
        '',
      ])
      continue
    }
    let t: Term = id([])
    const build = time(() => (t = family.make(n)))
    const nodes = termSize(t)
    if (family.steps === 'snake-rules') {
      // Cold: a fresh term, the whole run to the fixed point.
      const fresh = family.make(n)
      let steps = 0
      const ms = time(() => {
        const run = rewriteRepeat(compactRules, { maxSteps: n + 10 })(fresh)
        steps = run.steps.length
        if (!run.fixedPoint) throw new Error(`not at a fixed point after ${steps} steps`)
      })
      points.push({ n, build, a: ms, b: 0, c: 0 })
      spent = build + ms
      row([
        family.name,
        String(n),
        String(nodes),
        fmt(build),
        `${fmt(ms)} (${steps} steps)`,
        '',
        '',
      ])
      continue
    }
    const a = time(() => normalize(t))
    const fresh = family.make(n)
    const b = time(() => normalKey(fresh))
    const [l, r] = [family.make(n), family.make(n)]
    const c = time(() => equivalent(l, r, { trials: 1 }))
    points.push({ n, build, a, b, c })
    spent = build + a + b + c
    row([family.name, String(n), String(nodes), fmt(build), fmt(a), fmt(b), fmt(c)])
  }
  if (points.length < 2) continue
  const slope = (pick: (p: (typeof points)[number]) => number) =>
    exponent(points.map((p) => [p.n, pick(p)] as const))
  row([
    `${family.name}: growth exponent in n`,
    '',
    '',
    slope((p) => p.build),
    slope((p) => p.a),
    family.steps === 'normal' ? slope((p) => p.b) : '',
    family.steps === 'normal' ? slope((p) => p.c) : '',
  ])
}
const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
console.log(
  `\nNode ${process.version}, ${cpu}, ${os.cpus().length} CPU(s); load average (1 min) ` +
    `${loadBefore.toFixed(2)} before, ${(os.loadavg()[0] ?? 0).toFixed(2)} after; ` +
    `${((performance.now() - started) / 1000).toFixed(0)} s in all${quick ? ' (--quick)' : ''}`,
)
