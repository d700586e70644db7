/**
 * Helpers shared by test files (not a test file itself: vitest runs `*.test.ts` only).
 */
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
