import { describe, expect, it } from 'vitest'
import { checkExample, main } from '../src/cli/main.js'
import { examples } from '../src/cli/examples.js'

describe('the paper examples of `ncd examples` (npm start)', () => {
  for (const example of examples())
    it(`${example.figure}: ${example.title}`, () => {
      // Several seeds: the reference loops and the engine agree on every one.
      for (const seed of [1, 2, 3, 17]) {
        const r = checkExample(example, seed)
        expect(r.error, `seed ${seed}`).toBeLessThanOrEqual(1e-9)
      }
    })

  it('a wrong reference is caught', () => {
    const [first] = examples()
    if (first === undefined) throw new Error('no examples')
    const wrong = {
      ...first,
      reference: (d: Parameters<typeof first.reference>[0]) =>
        first.reference(d).map((a) => a.map((v) => v + 1e-6)),
    }
    expect(checkExample(wrong).ok).toBe(false)
  })

  it('the command exits 0 when every check passes, 2 on an unknown command', () => {
    const log = console.log
    const err = console.error
    console.log = () => undefined
    console.error = () => undefined
    try {
      expect(main(['examples', '--quiet'])).toBe(0)
      expect(main(['frobnicate'])).toBe(2)
    } finally {
      console.log = log
      console.error = err
    }
  })
})
