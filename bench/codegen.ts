/**
 * `npm run bench:codegen`: the generated PyTorch module (CPU, float32 and float64) against the
 * engine's evaluator (forward) and its derived gradient (forward + backward) on the MLP,
 * multi-head attention and a conv net, measured in one run. Results in bench/codegen-results.md.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Dim,
  type Sizes,
  type Term,
  box,
  conv2d,
  einsum,
  evaluate,
  grad,
  mlp,
  multiHeadAttention,
  normalize,
  par,
  param,
  pool2d,
  randomInputs,
  randomParams,
  relu,
  seq,
  shapeExtents,
  toPyTorch,
} from '../src/index.js'
import { termParams } from '../src/testing/walk.js'

const conv1 = conv2d('C1', { h: 'h', w: 'w', kh: 'k', kw: 'k', cIn: 'c', cOut: 'd', bias: true })
const [yh, yw] = conv1.cod[0] as [Dim, Dim, Dim]
const convNet = box(
  'ConvNet',
  seq(
    conv1,
    relu([yh, yw, 'd']),
    pool2d('max', { h: yh, w: yw, kh: 'q', kw: 'q', c: 'd', stride: [2, 2] }),
  ),
)

const subjects: ReadonlyArray<{ name: string; term: Term; sizes: Sizes }> = [
  {
    name: 'MLP',
    term: mlp({ input: 'x', hidden: ['n', 'n'], output: 'c' }),
    sizes: { x: 256, n: 256, c: 10 },
  },
  {
    name: 'MHA',
    term: multiHeadAttention({ y: 'y', x: 'x', m: 'm', k: 'k', h: 'h' }),
    sizes: { y: 64, x: 64, m: 64, k: 16, h: 4 },
  },
  { name: 'conv net', term: convNet, sizes: { h: 18, w: 18, k: 3, c: 3, d: 8, q: 2 } },
]

const time = (f: () => void): number => {
  f()
  const times: number[] = []
  const start = performance.now()
  while (times.length < 5 || (performance.now() - start < 2000 && times.length < 200)) {
    const t0 = performance.now()
    f()
    times.push(performance.now() - t0)
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)] as number
}

const lossOf = (term: Term): Term => {
  const cod = term.cod[0] as ReadonlyArray<Dim>
  const labels = cod.map((_, i) => `l${i}`)
  const dims = Object.fromEntries(cod.map((d, i) => [`l${i}`, d]))
  return seq(
    par(term, param('R', cod)),
    einsum(`${labels.join(' ')}, ${labels.join(' ')} ->`, { dims }),
  )
}

const PY = String.raw`
import json, sys, time
import torch
torch.set_num_threads(1)
def median(f):
    f()
    ts = []
    start = time.perf_counter()
    while len(ts) < 5 or (time.perf_counter() - start < 2.0 and len(ts) < 1000):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    ts.sort(); return ts[len(ts) // 2] * 1000
out = []
for case in json.load(open(sys.argv[1])):
    row = {}
    for dt in (torch.float32, torch.float64):
        ns = {}; exec(case["code"], ns)
        m = ns["Model"](case["sizes"], dtype=dt)
        xs = [torch.randn(s, dtype=dt, requires_grad=True) for s in case["shapes"]]
        def fwd():
            with torch.no_grad(): m(*xs)
        def fwdbwd():
            m.zero_grad(); m(*xs)[0].backward()
        key = "32" if dt == torch.float32 else "64"
        row["fwd" + key] = median(fwd); row["bwd" + key] = median(fwdbwd)
    out.append(row)
json.dump(out, sys.stdout)
`

const rows = subjects.map((s) => {
  const loss = lossOf(s.term)
  const inputs = randomInputs(loss.dom, s.sizes, 1)
  const params = randomParams(loss, s.sizes, 2)
  const g = normalize(grad(loss, { params: [...termParams(loss).keys()] }))
  return {
    ...s,
    code: toPyTorch(loss, { sizes: s.sizes }),
    shapes: loss.dom.map((d) => shapeExtents(d, s.sizes)),
    engineForward: time(() => evaluate(s.term, s.sizes, inputs, params)),
    engineGrad: time(() => evaluate(g, s.sizes, inputs, params)),
  }
})

const dir = mkdtempSync(join(tmpdir(), 'ncd-bench-'))
writeFileSync(
  join(dir, 'cases.json'),
  JSON.stringify(rows.map((r) => ({ code: r.code, sizes: r.sizes, shapes: r.shapes }))),
)
writeFileSync(join(dir, 'bench.py'), PY)
const torchTimes = JSON.parse(
  execFileSync('/usr/bin/python3', [join(dir, 'bench.py'), join(dir, 'cases.json')], {
    encoding: 'utf8',
  }),
) as Array<Record<'fwd32' | 'bwd32' | 'fwd64' | 'bwd64', number>>

const f = (x: number): string => (x < 10 ? x.toFixed(3) : x.toFixed(1))
const lines = [
  '| model | sizes | engine evaluate ms | torch fwd f64 ms (ratio) | torch fwd f32 ms (ratio) | engine grad ms | torch fwd+bwd f64 ms (ratio) | torch fwd+bwd f32 ms (ratio) |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((r, i) => {
    const t = torchTimes[i] as Record<string, number>
    const ratio = (e: number, x: number) => `${f(x)} (${(e / x).toFixed(1)}x)`
    return `| ${r.name} | ${JSON.stringify(r.sizes)} | ${f(r.engineForward)} | ${ratio(r.engineForward, t['fwd64'] as number)} | ${ratio(r.engineForward, t['fwd32'] as number)} | ${f(r.engineGrad)} | ${ratio(r.engineGrad, t['bwd64'] as number)} | ${ratio(r.engineGrad, t['bwd32'] as number)} |`
  }),
]
console.log(lines.join('\n'))
