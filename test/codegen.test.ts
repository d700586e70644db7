/**
 * Generated code is run, not just printed: the NumPy and PyTorch code of every example, every
 * model and 200 generated terms runs in Debian's /usr/bin/python3 (numpy, torch 1.13), and its
 * float64 outputs equal the evaluator's; PyTorch's autograd gradients of scalar losses equal the
 * engine's `grad`. All cases run in one Python process.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Dim,
  type Sizes,
  type Term,
  attention,
  box,
  conv1d,
  conv2d,
  convTranspose1d,
  convTranspose2d,
  einsum,
  evaluate,
  grad,
  mlp,
  multiHeadAttention,
  par,
  param,
  pool1d,
  pool2d,
  randomInputs,
  randomParams,
  relu,
  seq,
  shapeExtents,
  show,
  toNumPy,
  toPyTorch,
  unary,
  broadcast,
  concat,
  copy,
  dim,
  dimSum,
  id,
  linearLayer,
  split,
  tanh,
  unet,
  dimProduct,
} from '../src/index.js'
import { termWithSizesArb } from '../src/testing/arbitraries.js'
import { termParams } from '../src/testing/walk.js'
import { examples } from '../src/cli/examples.js'
import { codegenCommand } from '../src/cli/codegen.js'
import { PYTHON, pythonWith } from './support.js'

const { has: hasPython, runs } = pythonWith('numpy, torch')

interface Case {
  readonly label: string
  readonly term: Term
  readonly sizes: Sizes
  readonly inputs: ReadonlyArray<Float64Array>
  readonly params: Readonly<Record<string, Float64Array>>
}

interface PyResult {
  readonly outputs?: number[][]
  readonly count?: number
  readonly inputGrads?: number[][]
  readonly paramGrads?: Record<string, number[]>
  readonly error?: string
}

const runPython = (cases: ReadonlyArray<object>): PyResult[] => {
  const dir = mkdtempSync(join(tmpdir(), 'ncd-codegen-'))
  const file = join(dir, 'cases.json')
  writeFileSync(file, JSON.stringify(cases))
  const out = execFileSync(PYTHON, [join(import.meta.dirname, 'python/run_generated.py'), file], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  })
  return JSON.parse(out) as PyResult[]
}

const pyCase = (c: Case, target: 'numpy' | 'pytorch', term = c.term, withGrad = false) => ({
  target,
  code:
    target === 'numpy' ? toNumPy(term, { sizes: c.sizes }) : toPyTorch(term, { sizes: c.sizes }),
  sizes: c.sizes,
  inputs: term.dom.map((s, i) => [shapeExtents(s, c.sizes), Array.from(c.inputs[i] ?? [])]),
  params: Object.fromEntries(
    [...termParams(term)].map(([name, s]) => [
      name,
      [shapeExtents(s, c.sizes), Array.from(c.params[name] ?? [])],
    ]),
  ),
  grad: withGrad,
})

/** The largest |got - want| relative to max(1, max |want|), over every tensor. */
const relError = (
  got: ReadonlyArray<ArrayLike<number>>,
  want: ReadonlyArray<ArrayLike<number>>,
) => {
  if (got.length !== want.length) return Infinity
  let err = 0
  want.forEach((w, i) => {
    const g = got[i] as ArrayLike<number>
    if (g.length !== w.length) {
      err = Infinity
      return
    }
    const scale = Math.max(1, ...Array.from(w, Math.abs))
    for (let j = 0; j < w.length; j++)
      err = Math.max(err, Math.abs((g[j] as number) - (w[j] as number)) / scale)
    if (
      Array.from(g).some((v) => !Number.isFinite(v)) !==
      Array.from(w).some((v) => !Number.isFinite(v))
    )
      err = Infinity
  })
  return err
}

const withData = (label: string, term: Term, sizes: Sizes, seed = 3): Case => ({
  label,
  term,
  sizes,
  inputs: randomInputs(term.dom, sizes, seed),
  params: randomParams(term, sizes, seed + 1),
})

const conv1 = conv2d('C1', {
  h: 'h',
  w: 'w',
  kh: 'k',
  kw: 'k',
  cIn: 'c',
  cOut: 'd',
  padding: [
    [1, 1],
    [1, 1],
  ],
  bias: true,
})
const [yh, yw] = conv1.cod[0] as [Dim, Dim, Dim]
const convNet = box(
  'ConvNet',
  seq(
    conv1,
    relu([yh, yw, 'd']),
    pool2d('mean', { h: yh, w: yw, kh: 'q', kw: 'q', c: 'd', stride: [2, 2] }),
  ),
)

const batchedConv = conv2d('B', {
  h: 'h',
  w: 'w',
  kh: 'p',
  kw: 'q',
  cIn: 'c',
  cOut: 'd',
  dilation: [1, 2],
  padding: [
    [0, 0],
    [2, 1],
  ],
  bias: true,
})

/** A skip connection (Fig. 28): a layer's output joined to its input on the channels. */
const concatSkip = seq(
  copy([['h', 'c']]),
  par(broadcast(linearLayer('L', 'c', 'd', { bias: true }), ['h']), id([['h', 'c']])),
  concat(1, [
    ['h', 'd'],
    ['h', 'c'],
  ]),
  tanh([dim('h'), dimSum('d', 'c')]),
)

const models: ReadonlyArray<Case> = [
  withData('concat skip', concatSkip, { h: 3, c: 2, d: 3 }),
  // Fig. 28: native conv2d and max_pool2d, the up-sampling from its input, the skips by torch.cat.
  withData(
    'U-Net',
    unet({
      h: dimProduct(4, 'm'),
      w: dimProduct(4, 'n'),
      channels: ['c0', 'c1', 'c2', 'c3'],
      out: 'y',
    }),
    { m: 2, n: 1, c0: 2, c1: 2, c2: 3, c3: 2, y: 2 },
  ),
  // The second part is shared by every h: torch.cat needs it expanded along h.
  withData(
    'concat of an inner broadcast',
    broadcast(concat(0, [['a'], ['b']]), ['h'], { inputs: [0, 'shared'], outputs: [0] }),
    { h: 3, a: 2, b: 3 },
  ),
  withData(
    'split',
    split(1, [
      ['h', 'a'],
      ['h', 'b'],
      ['h', 'a'],
    ]),
    { h: 2, a: 2, b: 3 },
  ),
  withData('mlp', mlp({ input: 'h w', hidden: ['n'], output: 'c' }), { h: 3, w: 2, n: 5, c: 3 }),
  withData('attention', attention({ y: 'y', x: 'x', k: 'k' }), { y: 3, x: 4, k: 2 }),
  withData('multi-head attention', multiHeadAttention({ y: 'y', x: 'x', m: 'm', k: 'k', h: 'h' }), {
    y: 3,
    x: 4,
    m: 5,
    k: 2,
    h: 2,
  }),
  withData(
    'conv1d',
    conv1d('C', {
      x: 'x',
      k: 'k',
      cIn: 'c',
      cOut: 'd',
      stride: 2,
      dilation: 2,
      padding: [1, 2],
      bias: true,
    }),
    {
      x: 9,
      k: 3,
      c: 2,
      d: 3,
    },
  ),
  withData(
    'conv2d',
    conv2d('C', { h: 'h', w: 'w', kh: 'p', kw: 'q', cIn: 'c', cOut: 'd', stride: [2, 1] }),
    {
      h: 6,
      w: 5,
      p: 3,
      q: 2,
      c: 2,
      d: 2,
    },
  ),
  withData('maxpool1d', pool1d('max', { x: 'x', k: 'k', c: 'c', stride: 2 }), { x: 7, k: 2, c: 2 }),
  withData(
    'avgpool2d',
    pool2d('mean', {
      h: 'h',
      w: 'w',
      kh: 'p',
      kw: 'q',
      c: 'c',
      padding: [
        [1, 1],
        [0, 1],
      ],
    }),
    {
      h: 5,
      w: 4,
      p: 2,
      q: 2,
      c: 2,
    },
  ),
  withData(
    'convTranspose1d',
    convTranspose1d('T', { x: 'x', k: 'k', cIn: 'c', cOut: 'd', stride: 2, bias: true }),
    {
      x: 8,
      k: 3,
      c: 2,
      d: 3,
    },
  ),
  withData(
    'convTranspose2d',
    convTranspose2d('T', { h: 'h', w: 'w', kh: 'p', kw: 'q', cIn: 'c', cOut: 'd', stride: [2, 1] }),
    {
      h: 7,
      w: 4,
      p: 3,
      q: 2,
      c: 2,
      d: 2,
    },
  ),
  withData('conv net', convNet, { h: 6, w: 6, k: 3, c: 2, d: 3, q: 2 }),
  // Native F.conv2d / F.max_pool2d under a broadcast: the batch axes are leading axes.
  withData('batched conv2d', broadcast(batchedConv, ['n', 'm']), {
    n: 2,
    m: 3,
    h: 5,
    w: 4,
    p: 2,
    q: 3,
    c: 2,
    d: 3,
  }),
  withData(
    'batched dilated maxpool2d',
    broadcast(
      pool2d('max', { h: 'h', w: 'w', kh: 'p', kw: 'q', c: 'c', stride: [1, 2], dilation: [2, 1] }),
      ['n'],
    ),
    { n: 2, h: 6, w: 5, p: 2, q: 2, c: 2 },
  ),
]

const generated: ReadonlyArray<Case> = fc
  .sample(termWithSizesArb({ depth: 3, generators: false }), { numRuns: 200, seed: 11 })
  .map((c, i) => ({ label: `generated ${i}`, ...c }))

const exampleCases: ReadonlyArray<Case> = examples().map((e) =>
  withData(`${e.figure} ${e.title}`, e.term, e.sizes),
)

describe.runIf(runs)('generated NumPy and PyTorch code', () => {
  const all = [...exampleCases, ...models, ...generated]
  it(`equals the evaluator on ${all.length} terms (examples, models, generated), float64`, () => {
    expect(hasPython, `${PYTHON} with numpy and torch is needed (CI=true)`).toBe(true)
    const py = runPython(all.flatMap((c) => [pyCase(c, 'numpy'), pyCase(c, 'pytorch')]))
    let worst = 0
    all.forEach((c, i) => {
      const want = evaluate(c.term, c.sizes, c.inputs, c.params)
      for (const [t, r] of [
        ['numpy', py[2 * i]],
        ['pytorch', py[2 * i + 1]],
      ] as const) {
        const where = `${c.label} (${t}): ${show(c.term, { maxLength: 300 })}`
        expect(r?.error, where).toBeUndefined()
        const err = relError(r?.outputs ?? [], want)
        expect(err, where).toBeLessThanOrEqual(1e-9)
        worst = Math.max(worst, err)
      }
    })
    console.log(
      `codegen: ${all.length} terms x 2 targets, max rel. error ${worst.toExponential(2)}`,
    )
  }, 120_000)

  it('normcdf and gelu far below 0: the tiny true values, relative to them, as the evaluator', () => {
    // Φ(v) = erfc(-v/√2)/2 (src/eval/kernels.ts); 0.5 * (1 + erf(v/√2)) gives 0 below v ≈ -8.3.
    const x = Float64Array.from([-9, -12, -20, -30])
    for (const op of ['normcdf', 'gelu'] as const) {
      const t = unary(op, ['a'])
      const c: Case = { label: op, term: t, sizes: { a: 4 }, inputs: [x], params: {} }
      const want = evaluate(t, c.sizes, [x])[0] as Float64Array
      expect(want.every((v) => v !== 0)).toBe(true)
      // PyTorch's own gelu (F.gelu) is generated as is: only NumPy's is checked for gelu.
      const targets = op === 'gelu' ? (['numpy'] as const) : (['numpy', 'pytorch'] as const)
      const py = runPython(targets.map((target) => pyCase(c, target)))
      py.forEach((r, k) => {
        const got = r.outputs?.[0] ?? []
        want.forEach((w, j) =>
          expect([op, targets[k], j, Math.abs(((got[j] ?? 0) - w) / w) < 1e-12]).toEqual([
            op,
            targets[k],
            j,
            true,
          ]),
        )
      })
    }
  })

  it('PyTorch autograd equals the engine grad, and parameter counts agree', () => {
    const gradModels = models.filter((m) =>
      [
        'concat skip',
        'U-Net',
        'mlp',
        'attention',
        'multi-head attention',
        'conv net',
        'conv1d',
        'convTranspose2d',
        'maxpool1d',
      ].includes(m.label),
    )
    const losses = gradModels.map((m) => {
      const cod = m.term.cod[0] as ReadonlyArray<Dim>
      const labels = cod.map((_, i) => `l${i}`)
      const dims = Object.fromEntries(cod.map((d, i) => [`l${i}`, d]))
      const weighted = seq(
        par(m.term, param('R', cod)),
        einsum(`${labels.join(' ')}, ${labels.join(' ')} ->`, { dims }),
      )
      return withData(`${m.label} loss`, weighted, m.sizes, 5)
    })
    const py = runPython(losses.map((c) => pyCase(c, 'pytorch', c.term, true)))
    const counts = runPython(models.map((c) => pyCase(c, 'pytorch')))
    let worst = 0
    losses.forEach((c, i) => {
      const names = [...termParams(c.term).keys()]
      const g = evaluate(grad(c.term, { params: names }), c.sizes, c.inputs, c.params)
      const r = py[i] as PyResult
      expect(r.error, c.label).toBeUndefined()
      const got = [...(r.inputGrads ?? []), ...names.map((n) => r.paramGrads?.[n] ?? [])]
      const err = relError(got, g)
      expect(err, c.label).toBeLessThanOrEqual(1e-9)
      worst = Math.max(worst, err)
    })
    models.forEach((m, i) => {
      const engine = [...termParams(m.term).values()].reduce(
        (n, s) => n + shapeExtents(s, m.sizes).reduce((a, b) => a * b, 1),
        0,
      )
      expect(counts[i]?.count, m.label).toBe(engine)
    })
    console.log(`codegen grad: ${losses.length} losses, max rel. error ${worst.toExponential(2)}`)
  }, 120_000)
})

describe('generated code', () => {
  it('imports only torch, numpy and math, and comments each line with its term', () => {
    const t = broadcast(relu(['k']), ['y'])
    for (const code of [toPyTorch(t), toNumPy(t)]) {
      const imports = code.split('\n').filter((l) => /^\s*(import|from)\s/.test(l))
      expect(
        imports.every((l) =>
          /^(import (math|numpy as np|torch|torch\.nn as nn|torch\.nn\.functional as F))$/.test(l),
        ),
      ).toBe(true)
      expect(code).toContain('# relu')
      expect(code).toContain('# inputs:  x0 [y k]')
    }
  })
})

describe('native convolution and pooling', () => {
  const native = (t: Term): boolean => /= _native_(conv|pool)\(/.test(toPyTorch(t))
  it('lowers the layers of src/models/conv.ts to F.conv*/F.*pool*, rebuilt from their bodies', () => {
    const layers = models.filter((m) => /conv(1|2)d|pool|conv net/.test(m.label))
    const natives = layers.filter((m) => !m.label.startsWith('convTranspose'))
    expect(natives.length).toBeGreaterThanOrEqual(7)
    for (const m of natives) expect(native(m.term), m.label).toBe(true)
    for (const m of layers.filter((l) => l.label.startsWith('convTranspose')))
      expect(native(m.term), m.label).toBe(false)
    expect(toPyTorch(convNet)).toContain('= _native_pool(')
    // NumPy keeps the convolution tensor's gather and einsum.
    expect(toNumPy(batchedConv)).not.toContain('_native_')
  })
  it('never trusts a name alone: a box named like a layer over another body is its body', () => {
    const fake = box(
      'Conv2d(B: p q, c -> d)',
      seq(
        par(relu(['h', 'w', 'c']), param('B.weight', ['d', 'c', 'p', 'q'])),
        einsum('h w c, d c p q -> h w d'),
      ),
    )
    expect(native(fake)).toBe(false)
    // Average pooling with dilation has no PyTorch op: lowered through its body.
    const dilatedMean = pool2d('mean', {
      h: 'h',
      w: 'w',
      kh: 'p',
      kw: 'q',
      c: 'c',
      dilation: [2, 1],
    })
    expect(native(dilatedMean)).toBe(false)
    // A layer whose body was altered (another stride on one cut) is no longer recognised.
    const altered = box(batchedConv.kind === 'box' ? batchedConv.name : '', relu(['h', 'w', 'c']))
    expect(native(altered)).toBe(false)
  })
})

describe('ncd codegen', () => {
  it('prints the code of an example, and refuses bad input with exit code 2', () => {
    const out: string[] = []
    const err: string[] = []
    expect(
      codegenCommand(
        ['mlp', '--target', 'numpy'],
        (s) => out.push(s),
        (s) => err.push(s),
      ),
    ).toBe(0)
    expect(out.join('\n')).toContain('def forward(inputs, params=None, sizes=None):')
    expect(
      codegenCommand(
        ['attention'],
        (s) => out.push(s),
        (s) => err.push(s),
      ),
    ).toBe(0)
    expect(out.join('\n')).toContain('class Model(nn.Module):')
    expect(
      codegenCommand(
        ['mlp', '--target', 'jax'],
        (s) => out.push(s),
        (s) => err.push(s),
      ),
    ).toBe(2)
    expect(
      codegenCommand(
        ['no-such'],
        (s) => out.push(s),
        (s) => err.push(s),
      ),
    ).toBe(2)
    expect(err).toHaveLength(2)
  })
})
