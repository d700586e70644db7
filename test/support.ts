/**
 * Helpers shared by test files (not a test file itself: vitest runs `*.test.ts` only).
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { expect } from 'vitest'
import { type Sizes, type Term, evaluate, randomInputs, randomParams } from '../src/index.js'

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
