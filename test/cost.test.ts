// The cost model (src/eval/cost.ts): hand-computed FLOPs and memory per primitive, agreement with
// a naive count of einsum work and with the evaluator's real allocations, and paper Fig. 34: the
// forward-derivative gradient grows quadratically in the input, the derived reverse one linearly.
import { describe, expect, it } from 'vitest'
import {
  type Cost,
  type Sizes,
  type Term,
  TermError,
  broadcast,
  convTensor,
  convTensorAdjoint,
  copy,
  cost,
  costTable,
  derivative,
  dimProduct,
  einsum,
  evaluate,
  exp,
  forwardGradient,
  grad,
  growthExponent,
  index,
  jvp,
  layerNorm,
  linearLayer,
  max,
  mean,
  mlp,
  normalize,
  oneHot,
  pad,
  crop,
  par,
  parseEinsum,
  randomInputs,
  randomParams,
  seq,
  softmax,
  sumLoss,
  tanh,
  add,
  view,
  zero,
} from '../src/index.js'
import { evaluateAsWritten } from '../src/eval/evaluate.js'
import { runCost } from '../src/cli/cost.js'
import { examples } from '../src/cli/examples.js'
import { countAllocations } from './support.js'

const row = (c: Cost, primitive: string) => c.byPrimitive.find((r) => r.primitive === primitive)

describe('cost: each primitive by hand', () => {
  it('einsum matmul a b, b c -> a c: 2abc FLOPs; the transposed operand and the result', () => {
    const c = cost(einsum('a b, b c -> a c'), { a: 2, b: 3, c: 4 })
    expect(c.flops).toBe(2 * 2 * 3 * 4)
    expect(c.resident).toBe(6 + 12)
    // Dot products move [b c] to [c b] (12 entries); rank-one updates with b leading would move
    // only [a b] (6) but run about 4x slower per FLOP, so the evaluator takes the dot products.
    // The result is [a c] (8).
    expect(c.allocated).toBe(12 + 8)
    expect(c.peakMemory).toBe(18 + 20)
    expect(c.byPrimitive).toEqual([{ primitive: 'einsum', count: 1, flops: 48, memory: 20 }])
  })

  it('einsum: a private label is summed first (1 FLOP per entry), then the pair', () => {
    const c = cost(einsum('a b, b c -> a'), { a: 2, b: 3, c: 5 })
    expect(c.flops).toBe(3 * 5 + 2 * 2 * 3)
  })

  it('einsum: a three-operand chain follows the greedy pairwise order', () => {
    // (a b, b c) first (joint space 24 < 60 < 120), then (a c, c d): 2·24 + 2·40.
    const c = cost(einsum('a b, b c, c d -> a d'), { a: 2, b: 3, c: 4, d: 5 })
    expect(c.flops).toBe(2 * 24 + 2 * 40)
  })

  it('a scalar function broadcast over a shape: 1 FLOP per entry, transcendental weight', () => {
    const sizes = { y: 3, k: 4 }
    const c = cost(tanh('y k'), sizes)
    expect(c.flops).toBe(12)
    expect(row(c, 'scalar:tanh')).toEqual({
      primitive: 'scalar:tanh',
      count: 1,
      flops: 12,
      memory: 12,
    })
    expect(c.peakMemory).toBe(12 + 12)
    expect(cost(tanh('y k'), sizes, { transcendental: 10 }).flops).toBe(120)
  })

  it('inner broadcasting: a shared vector is materialised only where the kernel needs it', () => {
    // add('k') broadcast over x, the second input shared: the shared [k] is expanded to [x k]
    // for the element-wise kernel (12), the sum is [x k] (12).
    const c = cost(broadcast(add('k'), ['x'], { inputs: [0, 'shared'] }), { x: 4, k: 3 })
    expect(c.flops).toBe(12)
    expect(row(c, 'scalar:add')?.memory).toBe(24)
    expect(c.resident).toBe(15)
    expect(c.peakMemory).toBe(15 + 24)
  })

  it('axis operations: softmax 5n, layerNorm 6n + 4, max n, mean n + 1 per row', () => {
    expect(cost(softmax('x'), { x: 10 }).flops).toBe(50)
    expect(cost(broadcast(softmax('x'), ['y']), { x: 10, y: 3 }).flops).toBe(150)
    expect(cost(layerNorm('x'), { x: 10 }).flops).toBe(64)
    expect(cost(max('x'), { x: 10 }).flops).toBe(10)
    const m = cost(mean('x'), { x: 10 })
    expect(m.flops).toBe(11)
    expect(m.allocated).toBe(1)
  })

  it('the convolution tensor copies y·k entries; its adjoint adds them back', () => {
    // x = 8, k = 3, stride 1: y = 6 blocks of 3.
    const c = cost(convTensor('x', 'k'), { x: 8, k: 3 })
    expect(c.flops).toBe(0)
    expect(row(c, 'convTensor')).toEqual({
      primitive: 'convTensor',
      count: 1,
      flops: 0,
      memory: 18,
    })
    const a = cost(convTensorAdjoint('x', 'k'), { x: 8, k: 3 })
    expect(row(a, 'convTensor:adjoint')).toEqual({
      primitive: 'convTensor:adjoint',
      count: 1,
      flops: 18,
      memory: 8,
    })
  })

  it('structural moves: 0 FLOPs, their output memory', () => {
    expect(cost(index('a', 2), { a: 4 }).allocated).toBe(1)
    expect(cost(oneHot('a', 2), { a: 4 }).allocated).toBe(4)
    expect(cost(pad('x', 1, 2), { x: 5 }).allocated).toBe(8)
    expect(cost(crop('x', 1, 2), { x: 5 }).allocated).toBe(5)
    expect(cost(zero([['n'], ['m']]), { n: 10, m: 20 }).peakMemory).toBe(30)
    // A view moves nothing; the evaluator returns a fresh copy of an output that is an input.
    const v = cost(view('h w', [dimProduct('h', 'w')]), { h: 2, w: 3 })
    expect(v.flops).toBe(0)
    expect(row(v, 'view')?.memory).toBe(0)
    expect(row(v, 'output')).toEqual({ primitive: 'output', count: 1, flops: 0, memory: 6 })
    for (const t of [index('a', 2), oneHot('a', 2), pad('a', 1, 1), convTensor('a', 'k')])
      expect(cost(t, { a: 5, k: 2 }).flops).toBe(0)
  })

  it('a broadcast output that does not vary is materialised once per index', () => {
    const t = broadcast(einsum(' -> k'), ['x'], { inputs: ['shared'] })
    const c = cost(t, { x: 4, k: 3 })
    expect(row(c, 'einsum')?.memory).toBe(3)
    expect(row(c, 'broadcast')?.memory).toBe(12)
  })

  it('seq and par: peaks of the live tensors', () => {
    const n = { n: 10 }
    // A chain: each step's input and output are live together; inputs are resident.
    expect(cost(seq(exp('n'), exp('n'), exp('n')), n).peakMemory).toBe(10 + 20)
    // par: the first part's output stays live while the second runs.
    expect(cost(par(exp('n'), exp('m')), { n: 10, m: 20 }).peakMemory).toBe(30 + 10 + 20)
    // A copy is one tensor on two wires, counted once.
    expect(cost(seq(exp('n'), copy([['n']]), par(exp('n'), exp('n'))), n).peakMemory).toBe(10 + 30)
    expect(cost(seq(copy([['n']]), par(exp('n'), exp('n'))), n).peakMemory).toBe(10 + 20)
  })

  it('derivative nodes cost as their expansion', () => {
    const f = seq(linearLayer('W', 'x', 'y'), tanh('y'))
    const sizes = { x: 5, y: 3 }
    expect(cost(derivative(f), sizes)).toEqual(cost(jvp(f), sizes))
  })

  it('refuses an index past its axis and a bad transcendental weight', () => {
    expect(() => cost(index('a', 4), { a: 4 })).toThrow(/past the end/)
    expect(() => cost(tanh('y'), { y: 2 }, { transcendental: -1 })).toThrow(TermError)
  })

  it('refuses an unbound dim with the evaluator error', () => {
    const t = einsum('a b, b c -> a c')
    const sizes = { a: 2, b: 3 }
    const caught = (run: () => unknown): TermError => {
      try {
        run()
      } catch (e) {
        if (e instanceof TermError) return e
        throw e
      }
      throw new Error('no error')
    }
    const mine = caught(() => cost(t, sizes))
    const theirs = caught(() => evaluate(t, sizes, [[1, 2, 3, 4, 5, 6], [1]]))
    expect(mine.code).toBe('unbound-dim')
    expect(mine.message).toBe(theirs.message)
  })
})

/** A naive einsum: one loop over the joint index space, counting its multiplies and adds. */
const naiveEinsumFlops = (spec: string, sizes: Sizes): number => {
  const { inputs } = parseEinsum(spec)
  const labels = [...new Set(inputs.flat())]
  const extents = labels.map((l) => sizes[l] as number)
  let flops = 0
  const idx = labels.map(() => 0)
  for (;;) {
    // out[o] += Π operands: (operands - 1) multiplies and one add.
    flops += inputs.length - 1 + 1
    let a = labels.length - 1
    while (a >= 0 && (idx[a] = (idx[a] as number) + 1) === extents[a]) idx[a--] = 0
    if (a < 0) return flops
  }
}

describe('cost: einsum FLOPs against a naive count', () => {
  const sizes = { a: 2, b: 3, c: 4, d: 5, e: 2 }
  it.each([
    'a b, b c -> a c',
    'a b, a b -> ',
    'a b, a b -> a b',
    'a b, c -> a b c',
    'a b c, c d -> a d b',
    'a b c, a c e -> b e a',
    'a, a -> ',
  ])('%s: the pairwise kernel does what the naive loop does', (spec) => {
    expect(cost(einsum(spec), sizes).flops).toBe(naiveEinsumFlops(spec, sizes))
  })

  it.each(['a b, b c, c d -> a d', 'a b, b c, c d, d e -> a e', 'a b, b c -> a'])(
    '%s: the planned order does no more than the naive loop',
    (spec) => {
      expect(cost(einsum(spec), sizes).flops).toBeLessThan(naiveEinsumFlops(spec, sizes))
    },
  )
})

describe('cost: the model mirrors the evaluator', () => {
  /**
   * The entries the evaluator allocates, counted at the Float64Array constructor: running every
   * step as written (`evaluateAsWritten`, which the model counts), or as `evaluate` does (dead
   * steps skipped, element-wise runs fused: at most as much).
   */
  const measureAllocations = (t: Term, sizes: Sizes, written = true): number => {
    const inputs = randomInputs(t.dom, sizes, 1)
    const params = randomParams(t, sizes, 2)
    return countAllocations(() =>
      (written ? evaluateAsWritten : evaluate)(t, sizes, inputs, params),
    )
  }

  it("allocates what the evaluator allocates, for every example, its gradient and Fig. 33's", () => {
    const checked: string[] = []
    let saved = 0
    const agree = (label: string, t: Term, sizes: Sizes) => {
      const modelled = cost(t, sizes).allocated
      expect([label, modelled]).toEqual([label, measureAllocations(t, sizes)])
      const run = measureAllocations(t, sizes, false)
      expect([label, run <= modelled]).toEqual([label, true])
      if (run < modelled) saved++
      checked.push(label)
    }
    for (const e of examples()) {
      const loss = sumLoss(e.term)
      const g = grad(loss)
      agree(`${e.figure} f`, e.term, e.sizes)
      agree(`${e.figure} grad`, g, e.sizes)
      agree(`${e.figure} normalize(grad)`, normalize(g), e.sizes)
      agree(`${e.figure} forwardGradient`, forwardGradient(loss), e.sizes)
    }
    expect(checked.length).toBe(examples().length * 4)
    // Fusion and dead steps do remove allocations somewhere (the bound is not vacuous).
    expect(saved).toBeGreaterThan(5)
  })

  it('allocates what the evaluator allocates, for gradients with respect to parameters', () => {
    const layer = seq(linearLayer('A', 'x', 'y', { bias: true }), tanh('y'), mean('y'))
    const cases: ReadonlyArray<readonly [Term, Sizes]> = [
      [layer, { x: 5, y: 3 }],
      // The examples with parameters: the convolution, the MLP, multi-head attention, backprop.
      ...examples()
        .filter((e) => Object.keys(randomParams(e.term, e.sizes, 1)).length > 0)
        .map((e) => [sumLoss(e.term), e.sizes] as const),
    ]
    expect(cases.length).toBe(5)
    for (const [loss, sizes] of cases) {
      const g = grad(loss, { params: Object.keys(randomParams(loss, sizes, 1)) })
      for (const t of [g, normalize(g)]) {
        expect(cost(t, sizes).allocated).toBe(measureAllocations(t, sizes))
        expect(measureAllocations(t, sizes, false)).toBeLessThanOrEqual(cost(t, sizes).allocated)
      }
    }
  })
})

describe('cost: paper Fig. 34, forward-derivative gradient quadratic, reverse linear', () => {
  const xs = [8, 16, 32, 64, 128]
  const fit = (f: (x: number) => number) => growthExponent(xs.map((x) => [x, f(x)] as const))

  it('a linear layer x -> y (y fixed), tanh, mean', () => {
    const f = seq(linearLayer('W', 'x', 'y'), tanh('y'), mean('y'))
    const at = (x: number) => ({ x, y: 4 })
    const forward = fit((x) => cost(f, at(x)).flops)
    const naive = fit((x) => cost(forwardGradient(f), at(x)).flops)
    const reverse = fit((x) => cost(grad(f), at(x)).flops)
    const normal = fit((x) => cost(normalize(grad(f)), at(x)).flops)
    expect(forward).toBeGreaterThan(0.8)
    expect(forward).toBeLessThan(1.2)
    expect(naive).toBeGreaterThan(1.7)
    expect(naive).toBeLessThan(2.3)
    expect(reverse).toBeLessThan(1.3)
    expect(normal).toBeLessThan(1.3)
    // The ratio forwardGradient / grad itself grows linearly with the input.
    const ratio = fit((x) => cost(forwardGradient(f), at(x)).flops / cost(grad(f), at(x)).flops)
    expect(ratio).toBeGreaterThan(0.7)
    // grad costs a constant multiple of the forward pass: at most 4x here (normal form).
    for (const x of xs)
      expect(cost(normalize(grad(f)), at(x)).flops).toBeLessThan(4 * cost(f, at(x)).flops)
  })

  it('an MLP x -> h -> c with fixed widths, softmax, then the sum', () => {
    const f = sumLoss(mlp({ input: 'x', hidden: ['h'], output: 'c' }))
    const at = (x: number) => ({ x, h: 8, c: 3 })
    expect(fit((x) => cost(forwardGradient(f), at(x)).flops)).toBeGreaterThan(1.7)
    expect(fit((x) => cost(grad(f), at(x)).flops)).toBeLessThan(1.3)
    // The peak memory too, once x is past the fixed widths: Fig. 33's identity [x x] against
    // vectors of x.
    const large = [128, 256, 512, 1024]
    const peak = (g: (f: Term) => Term) =>
      growthExponent(large.map((x) => [x, cost(g(f), at(x)).peakMemory] as const))
    expect(peak(forwardGradient)).toBeGreaterThan(1.7)
    expect(peak((t) => normalize(grad(t)))).toBeLessThan(1.3)
  })
})

describe('ncd cost', () => {
  it('prints the cost tables of an example and of its gradient, with totals', () => {
    const out: string[] = []
    const code = runCost(['attention', '--sizes', 'x=6'], (s) => out.push(s))
    expect(code).toBe(0)
    const text = out.join('\n')
    const f = examples().find((e) => e.figure === 'Fig. 22')?.term as Term
    const sizes = { y: 3, x: 6, k: 4, v: 2 }
    const forward = cost(f, sizes)
    expect(text).toContain('## forward')
    expect(text).toContain(costTable(forward))
    expect(text).toContain(`forward:                  ${forward.flops} FLOPs`)
    const g = cost(normalize(grad(sumLoss(f))), sizes)
    expect(text).toContain(costTable(g))
    expect(text).toContain(
      `gradient (normal form):   ${g.flops} FLOPs, peak ${g.peakMemory} entries, ${g.allocated} entries written`,
    )
  })

  it('finds examples by name, figure or number, and refuses unknown ones', () => {
    const quiet = () => undefined
    expect(runCost(['fig22'], quiet)).toBe(0)
    expect(runCost(['Fig. 14'], quiet)).toBe(0)
    expect(runCost(['3'], quiet)).toBe(0)
    const errors: string[] = []
    expect(runCost(['nope'], quiet, (s) => errors.push(s))).toBe(2)
    expect(errors.join('\n')).toContain("no example 'nope'")
    expect(runCost(['mlp', '--sizes', 'n=0'], quiet, quiet)).toBe(2)
    const listing: string[] = []
    expect(runCost([], (s) => listing.push(s))).toBe(0)
    expect(listing.join('\n')).toContain('multiheadattention, fig23')
  })
})
