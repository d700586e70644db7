/**
 * Helpers shared by test files (not a test file itself: vitest runs `*.test.ts` only).
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { expect } from 'vitest'
import {
  type Sizes,
  type Term,
  dimProduct,
  evaluate,
  idResNet,
  randomInputs,
  randomParams,
  transformer,
  unet,
  visionTransformer,
} from '../src/index.js'

/** Two terms agree on seeded random inputs and parameters (entries equal to 9 digits). */
export const agree = (s: Term, t: Term, at: Sizes): void => {
  const inputs = randomInputs(s.dom, at, 1)
  const params = { ...randomParams(s, at, 2), ...randomParams(t, at, 2) }
  const x = evaluate(s, at, inputs, params)
  const y = evaluate(t, at, inputs, params)
  expect(y.length).toBe(x.length)
  x.forEach((xi, i) => {
    const yi = y[i] as Float64Array
    expect(yi.length).toBe(xi.length)
    xi.forEach((e, j) => expect(yi[j]).toBeCloseTo(e, 9))
  })
}

/**
 * The entries `run` allocates as Float64Arrays, counted at the constructor (the evaluator makes
 * every tensor with it; the cost model's `allocated` is checked against this count).
 */
export const countAllocations = (run: () => unknown): number => {
  const Original = globalThis.Float64Array
  let total = 0
  globalThis.Float64Array = new Proxy(Original, {
    construct(target, args: unknown[]) {
      const made = Reflect.construct(target, args) as Float64Array
      total += made.length
      return made
    },
  })
  try {
    run()
  } finally {
    globalThis.Float64Array = Original
  }
  return total
}

/** Debian's interpreter, which the tests that run generated code use (with numpy and torch). */
export const PYTHON = '/usr/bin/python3'

/**
 * Whether {@link PYTHON} runs and imports `modules` (e.g. 'numpy, torch'); and whether the tests
 * that need it run: in CI (`CI=true`) a missing interpreter fails them instead of skipping them.
 */
export const pythonWith = (modules: string): { readonly has: boolean; readonly runs: boolean } => {
  let has = false
  if (existsSync(PYTHON))
    try {
      execFileSync(PYTHON, ['-c', `import ${modules}`], { stdio: 'ignore' })
      has = true
    } catch {
      has = false
    }
  return { has, runs: has || process.env['CI'] === 'true' }
}

/**
 * The paper's larger models (Fig. 27-29, 38) at tiny sizes, by name, with their sizes: small
 * enough to evaluate their gradients as written in a test (test/adversary.test.ts,
 * test/pool.test.ts). The transformer's third input is its causal mask (`causalMask`).
 */
export const tinyModels: ReadonlyArray<[string, () => Term, Record<string, number>]> = [
  [
    'IdResNet',
    () => idResNet({ x: 'x', b: 'b', channels: 2, classes: 3, widths: [4, 4, 8, 4], units: 1 }),
    { x: 1, b: 2 },
  ],
  [
    'U-Net',
    () =>
      unet({
        h: dimProduct(4, 'm'),
        w: dimProduct(4, 'n'),
        channels: ['c0', 'c1', 'c2', 'c3'],
        out: 'y',
      }),
    { m: 1, n: 1, c0: 1, c1: 2, c2: 2, c3: 2, y: 2 },
  ],
  [
    'ViT',
    () =>
      visionTransformer({
        gh: 'a',
        gw: 'b',
        p: 2,
        c: 2,
        m: 'm',
        k: 'k',
        h: 'h',
        f: 'f',
        classes: 3,
        layers: 2,
      }),
    { a: 1, b: 2, m: 4, k: 2, h: 2, f: 3 },
  ],
  [
    'transformer',
    () =>
      transformer({
        x: 'x',
        y: 'y',
        vs: 'vs',
        vt: 'vt',
        m: 'm',
        k: 'k',
        h: 'h',
        f: 'f',
        layers: 1,
      }),
    { x: 2, y: 3, vs: 3, vt: 2, m: 4, k: 2, h: 2, f: 3 },
  ],
]
