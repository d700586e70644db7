/**
 * Benchmark of the renderer (issue 10): the time to draw terms of about 10^2, 10^3 and 10^4
 * nodes (layout and flattening, then SVG) and a six-block transformer (after Fig. 38; built here
 * from the models: residual multi-head self-attention and a per-token MLP, each followed by a
 * layer norm) and the model zoo's transformer of Fig. 38 with N = 6, collapsed and expanded, with the growth exponent (the slope of log time over log
 * nodes from the smallest to the largest term). Medians of several runs after a warm-up, in one
 * process. Figures are recorded in bench/render.md.
 *
 * Run: `npm run bench:render` (or `npx tsx bench/render.ts --quick` for fewer runs).
 */
import {
  type Term,
  add,
  box,
  broadcast,
  copy,
  drawing,
  id,
  layerNorm,
  linearLayer,
  mlp,
  multiHeadAttention,
  par,
  relu,
  render,
  seq,
  softmax,
  termSize,
  toSvg,
  transformer as transformerOfFig38,
} from '../src/index.js'

const quick = process.argv.includes('--quick')
const runs = quick ? 3 : 7

/** A unit of about 10 nodes: a broadcast learned map with a bias, an activation, a softmax. */
const unitOf = (i: number): Term =>
  seq(
    broadcast(linearLayer(`W${i}`, 'k', 'k', { bias: true }), ['x']),
    relu('x k'),
    broadcast(softmax('k'), ['x']),
  )

/** A composition of about n nodes (the drawing grows in width). */
const chain = (n: number): Term => {
  const per = termSize(unitOf(0))
  return seq(...Array.from({ length: Math.max(1, Math.round(n / per)) }, (_, i) => unitOf(i)))
}

/** A tuple of chains of about n nodes (the drawing grows in both directions). */
const stack = (n: number): Term => {
  const rows = Math.max(1, Math.round(Math.sqrt(n / 10)))
  return par(...Array.from({ length: rows }, () => chain(Math.max(10, n / rows))))
}

/** A transformer of `blocks` blocks (after Fig. 38), each a titled box. */
const transformer = (blocks: number): Term => {
  const T = [['y', 'm']] as const
  const residual = (f: Term): Term => seq(copy(T), par(f, id(T)), add(['y', 'm']))
  const norm = broadcast(layerNorm('m'), ['y'])
  const block = (i: number): Term => {
    const three = seq(copy(T), par(id(T), copy(T)))
    const attention = seq(
      three,
      multiHeadAttention({ y: 'y', x: 'y', m: 'm', k: 'k', h: 'h' }, { prefix: `b${i}.` }),
    )
    const ffn = broadcast(mlp({ input: 'm', hidden: ['f'], output: 'm', prefix: `b${i}.` }), ['y'])
    return box(`Block ${i + 1}`, seq(residual(attention), norm, residual(ffn), norm))
  }
  return box('Transformer', seq(...Array.from({ length: blocks }, (_, i) => block(i))))
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

/**
 * Median and minimum of the wall times of at least `n` runs after a warm-up, and of as many more
 * as fit in 300 ms (small terms get many runs, so their minimum is as steady as a large one's).
 */
const time = (f: () => unknown, n = runs): { median: number; min: number } => {
  f() // warm-up
  const out: number[] = []
  const begin = performance.now()
  while (out.length < n || (performance.now() - begin < 300 && out.length < 1000)) {
    const start = performance.now()
    f()
    out.push(performance.now() - start)
  }
  return { median: median(out), min: Math.min(...out) }
}

/** The least-squares slope of log time over log nodes. */
const slope = (points: ReadonlyArray<readonly [number, number]>): number => {
  const xs = points.map(([x]) => Math.log(x))
  const ys = points.map(([, y]) => Math.log(y))
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length
  const my = ys.reduce((a, b) => a + b, 0) / ys.length
  let num = 0
  let den = 0
  xs.forEach((x, i) => {
    num += (x - mx) * ((ys[i] as number) - my)
    den += (x - mx) ** 2
  })
  return num / den
}

const row = (r: string): void => console.log(r)
row(
  `At least ${runs} runs (and as many as fit in 300 ms) after a warm-up, node ${process.version}; layout and SVG minimum, render median and minimum (the machine is shared: the minimum is the steadier figure).`,
)
row('')
row(
  '| term | nodes | layout ms (min) | SVG ms (min) | render ms (median) | render ms (min) | SVG kB |',
)
row('| --- | --- | --- | --- | --- | --- | --- |')
const measure = (name: string, t: Term, options: Parameters<typeof render>[1] = {}): number => {
  const d = drawing(t, options)
  const lay = time(() => drawing(t, options))
  const svg = time(() => toSvg(d))
  const all = time(() => render(t, options))
  const kb = render(t, options).length / 1024
  row(
    `| ${name} | ${termSize(t)} | ${lay.min.toFixed(1)} | ${svg.min.toFixed(1)} | ${all.median.toFixed(1)} | ${all.min.toFixed(1)} | ${kb.toFixed(0)} |`,
  )
  return all.min
}
for (const [family, make] of [
  ['chain', chain],
  ['stack of chains', stack],
] as const) {
  const points: Array<[number, number]> = []
  for (const n of [100, 1000, 10000]) {
    const t = make(n)
    points.push([termSize(t), measure(`${family} ~10^${Math.log10(n)}`, t)])
  }
  row(
    `| ${family}: growth exponent (least squares over the three, of the minimum) | | | | | ${slope(points).toFixed(2)} | |`,
  )
}
const big = transformer(6)
measure('transformer, 6 blocks, collapsed (expand top)', big, { expand: 'top' })
measure('transformer, 6 blocks, expanded (expand all)', big, { expand: 'all', width: ['y'] })
// The model zoo's transformer of Fig. 38 (encoder and decoder stacks), with the paper's N = 6.
const fig38 = transformerOfFig38({
  x: 'x',
  y: 'y',
  vs: 'vs',
  vt: 'vt',
  m: 'm',
  k: 'k',
  h: 'h',
  f: 'f',
  layers: 6,
})
measure('Fig. 38 transformer (src/models), N = 6, collapsed (expand none)', fig38, {
  expand: 'none',
})
measure('Fig. 38 transformer (src/models), N = 6, expand top', fig38, { expand: 'top' })
measure('Fig. 38 transformer (src/models), N = 6, expanded (expand all)', fig38, {
  expand: 'all',
})
