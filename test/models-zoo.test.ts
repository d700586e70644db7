/**
 * The model zoo by name (`src/models/registry.ts`): every model type-checks, evaluates at its
 * default sizes and has a parameter count; `ncd cost`, `ncd codegen` and `ncd derive` take the
 * models by name; and the generated PyTorch code of every model runs under Debian's
 * /usr/bin/python3 (torch, float64) with outputs equal to the evaluator's, and autograd
 * gradients (of the weighted sum of the output, with respect to every input and parameter)
 * equal to the engine's `grad` for the transformer.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  type Shape,
  type Sizes,
  type Term,
  causalMask,
  evaluate,
  findModel,
  grad,
  modelZoo,
  paramsOf,
  randomInputs,
  randomParams,
  shapeExtents,
  toPyTorch,
} from '../src/index.js'
import { examplesCmd } from '../src/cli/check-examples.js'
import { codegenCommand } from '../src/cli/codegen.js'
import { runCommand } from '../src/cli/command.js'
import { runCost } from '../src/cli/cost.js'
import { deriveCommand } from '../src/cli/derive.js'
import { findExample } from '../src/cli/select.js'
import { PYTHON, pythonWith } from './support.js'
import { lossOf } from './models-oracle.js'

const { runs } = pythonWith('numpy, torch')

const entries = (t: Term, sizes: Sizes): number =>
  [...paramsOf(t).values()].reduce(
    (n, s) => n + shapeExtents(s, sizes).reduce((a, e) => a * e, 1),
    0,
  )

/** The model's inputs: random, with the transformer's mask causal. */
const inputsOf = (name: string, t: Term, sizes: Sizes): Float64Array[] => {
  const xs = randomInputs(t.dom, sizes, 21)
  if (name === 'transformer') xs[2] = causalMask(sizes['y'] as number)
  return xs
}

describe('the model zoo', () => {
  it('has the four models of Fig. 27-29 and 38, each found by name and by figure', () => {
    expect(modelZoo().map((m) => m.figure)).toEqual(['Fig. 27', 'Fig. 28', 'Fig. 29', 'Fig. 38'])
    expect(findModel('IdResNet')?.figure).toBe('Fig. 27')
    expect(findModel('u-net')?.figure).toBe('Fig. 28')
    expect(findModel('fig29')?.names[0]).toBe('vit')
    expect(findModel('lenet')).toBeUndefined()
    // The command line's lookup: examples first, then the zoo.
    expect(findExample('mlp')?.figure).toBe('Fig. 21')
    expect(findExample('transformer')?.figure).toBe('Fig. 38')
  })

  for (const m of modelZoo())
    it(`${m.names[0]} type-checks, evaluates at its sizes, and has parameters`, () => {
      const t = m.build()
      expect(t.cod).toHaveLength(1)
      const ps = randomParams(t, m.sizes, 3)
      const [out] = evaluate(t, m.sizes, inputsOf(m.names[0] as string, t, m.sizes), ps) as [
        Float64Array,
      ]
      expect(out.length).toBe(shapeExtents(t.cod[0] as Shape, m.sizes).reduce((a, e) => a * e, 1))
      expect(out.every(Number.isFinite)).toBe(true)
      expect(entries(t, m.sizes)).toBeGreaterThan(0)
    })
})

describe('the models on the command line', () => {
  const run = (f: (out: (s: string) => void, err: (s: string) => void) => number) => {
    const out: string[] = []
    const err: string[] = []
    const code = f(
      (s) => out.push(s),
      (s) => err.push(s),
    )
    return { code, out: out.join('\n'), err: err.join('\n') }
  }

  it('ncd cost lists the models and costs one by name', () => {
    const list = run((o, e) => runCost([], o, e))
    expect(list.out).toContain('idresnet, resnet')
    expect(list.out).toContain('Fig. 38')
    const r = run((o, e) => runCost(['vit'], o, e))
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^Fig\. 29: the vision transformer/)
    expect(r.out).toMatch(/gradient \(normal form\): +\d+ FLOPs/)
    const bad = run((o, e) => runCost(['idresnet', '--sizes', 'q=3'], o, e))
    expect(bad.code).toBe(2)
    expect(bad.err).toContain("no dim 'q'")
  }, 120_000)

  it('ncd examples shows each model with its type and parameter count', () => {
    const r = run((o, e) => runCommand(examplesCmd, [], { out: o, err: e }))
    expect(r.code).toBe(0)
    for (const m of modelZoo()) {
      const n = entries(m.build(), m.sizes)
      expect(r.out).toMatch(new RegExp(`model ${m.figure}[^]*?${n} parameters`))
    }
    expect(r.out).toContain('Transformer(N = 1, post) : [x vs] × [y vt] × [y y] -> [y vt]')
  }, 120_000)

  it('ncd codegen writes a model by name', () => {
    const r = run((o, e) => codegenCommand(['transformer'], o, e))
    expect(r.code).toBe(0)
    expect(r.out).toContain('class Model(nn.Module)')
    expect(r.out).toContain('torch.einsum')
  })

  it('ncd derive checks a model by name against finite differences', () => {
    const r = run((o, e) => deriveCommand(['vit'], o, e))
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/jvp vs central differences .*: ok/)
  }, 300_000)
})

interface PyResult {
  readonly outputs?: number[][]
  readonly inputGrads?: number[][]
  readonly paramGrads?: Record<string, number[]>
  readonly error?: string
}

const runPython = (cases: ReadonlyArray<object>): PyResult[] => {
  const dir = mkdtempSync(join(tmpdir(), 'ncd-models-'))
  const file = join(dir, 'cases.json')
  writeFileSync(file, JSON.stringify(cases))
  const out = execFileSync(PYTHON, [join(import.meta.dirname, 'python/run_generated.py'), file], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  })
  return JSON.parse(out) as PyResult[]
}

const pyCase = (
  term: Term,
  sizes: Sizes,
  inputs: ReadonlyArray<Float64Array>,
  params: Record<string, Float64Array>,
  withGrad: boolean,
) => ({
  target: 'pytorch',
  code: toPyTorch(term, { sizes }),
  sizes,
  inputs: term.dom.map((s, i) => [shapeExtents(s, sizes), Array.from(inputs[i] ?? [])]),
  params: Object.fromEntries(
    [...paramsOf(term)].map(([name, s]) => [
      name,
      [shapeExtents(s, sizes), Array.from(params[name] ?? [])],
    ]),
  ),
  grad: withGrad,
})

/** The largest |got - want| relative to max(1, max |want|). */
const relError = (got: ArrayLike<number>, want: ArrayLike<number>): number => {
  if (got.length !== want.length) return Infinity
  const scale = Math.max(1, ...Array.from(want, Math.abs))
  let err = 0
  for (let j = 0; j < want.length; j++)
    err = Math.max(err, Math.abs((got[j] as number) - (want[j] as number)) / scale)
  return err
}

describe.runIf(runs)('the generated PyTorch code of the models (torch, float64)', () => {
  it('runs, and agrees with the evaluator; the transformer also in its gradients', () => {
    const zoo = modelZoo()
    const cases = zoo.map((m) => {
      const t = m.build()
      const xs = inputsOf(m.names[0] as string, t, m.sizes)
      const ps = randomParams(t, m.sizes, 5)
      return { m, t, xs, ps, want: evaluate(t, m.sizes, xs, ps) }
    })
    const tr = cases.find((c) => c.m.names[0] === 'transformer')!
    const loss = lossOf(tr.t)
    const lossParams = { ...tr.ps, ...randomParams(loss, tr.m.sizes, 6) }
    const names = [...paramsOf(loss).keys()]
    const g = evaluate(grad(loss, { params: names }), tr.m.sizes, tr.xs, lossParams)
    const results = runPython([
      ...cases.map((c) => pyCase(c.t, c.m.sizes, c.xs, c.ps, false)),
      pyCase(loss, tr.m.sizes, tr.xs, lossParams, true),
    ])
    cases.forEach((c, i) => {
      const r = results[i]!
      expect(r.error, c.m.names[0]).toBeUndefined()
      expect(relError(r.outputs![0]!, c.want[0]!), c.m.names[0]).toBeLessThan(1e-10)
    })
    const r = results[cases.length]!
    expect(r.error).toBeUndefined()
    tr.xs.forEach((_, i) => expect(relError(r.inputGrads![i]!, g[i]!)).toBeLessThan(1e-10))
    names.forEach((n, j) =>
      expect(relError(r.paramGrads![n]!, g[tr.xs.length + j]!), n).toBeLessThan(1e-10),
    )
  }, 300_000)
})
