/**
 * Dead steps (src/eval/evaluate.ts, `markLive`): a value the term computes and then drops is
 * not computed by `evaluate`, and still is by `evaluateWatched`, which must see every value the
 * term computes (README, "Number semantics").
 */
import { describe, expect, it } from 'vitest'
import { broadcast, copy, drop, generator, id, log, par, seq, tanh } from '../src/index.js'
import { evaluate, evaluateWatched } from '../src/eval/evaluate.js'

/** A generator `G: [a] -> [a]` (the identity) that counts its calls. */
const counted = () => {
  const calls = { n: 0 }
  const impl = {
    generators: {
      G: (xs: ReadonlyArray<Float64Array>) => {
        calls.n++
        return [Float64Array.from(xs[0] as Float64Array)]
      },
    },
  }
  return { calls, impl, g: generator('G', [['a']], [['a']]) }
}

describe('evaluate skips what no output reads', () => {
  it('a dropped branch is not run, a read one is', () => {
    const { calls, impl, g } = counted()
    // x -> (G x, tanh x) -> tanh x
    const dead = seq(copy([['a']]), par(g, tanh('a')), par(drop([['a']]), id([['a']])))
    const live = seq(copy([['a']]), par(g, tanh('a')), par(id([['a']]), drop([['a']])))
    const x = [0.5, -1, 2]
    expect(evaluate(dead, { a: 3 }, [x], {}, impl)[0]).toEqual(Float64Array.from(x.map(Math.tanh)))
    expect(calls.n).toBe(0)
    expect(evaluate(live, { a: 3 }, [x], {}, impl)[0]).toEqual(Float64Array.from(x))
    expect(calls.n).toBe(1)
  })

  it('inside a broadcast: an output of the body no later step reads is not computed', () => {
    const { calls, impl, g } = counted()
    const body = seq(copy([['a']]), par(g, tanh('a')))
    const t = seq(broadcast(body, ['b']), par(drop([['b', 'a']]), id([['b', 'a']])))
    const x = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    const out = evaluate(t, { a: 3, b: 2 }, [x], {}, impl)[0] as Float64Array
    expect(out).toEqual(Float64Array.from(x.map(Math.tanh)))
    expect(calls.n).toBe(0)
    // Reading both outputs runs the generator once per row of the broadcast.
    const both = evaluate(broadcast(body, ['b']), { a: 3, b: 2 }, [x], {}, impl)
    expect(both[0]).toEqual(Float64Array.from(x))
    expect(calls.n).toBe(2)
  })

  it('evaluateWatched still computes a dropped value, and sees its NaN', () => {
    // log(-1) is NaN, then dropped: the output is finite either way.
    const t = seq(copy([['a']]), par(log('a'), id([['a']])), par(drop([['a']]), id([['a']])))
    expect(evaluate(t, { a: 2 }, [[-1, 2]])[0]).toEqual(Float64Array.from([-1, 2]))
    const w = evaluateWatched(t, { a: 2 }, [[-1, 2]])
    expect(w.outputs[0]).toEqual(Float64Array.from([-1, 2]))
    expect(w.nonFinite).toBe(true)
    const clean = evaluateWatched(t, { a: 2 }, [[1, 2]])
    expect(clean.nonFinite).toBe(false)
  })
})
