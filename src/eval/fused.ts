/**
 * Fused element-wise kernels: a tree of scalar ops (add, mul, scale, the unary maps of
 * `kernels.ts`) run in one pass over the entries, where the ops one by one would allocate and
 * walk an array each. A derivative is full of such runs (the slope of GELU, paper section 3.6:
 * `Φ(x) + x φ(x)` is seven ops; the cotangents of a residual stream are sums of several terms),
 * and at the sizes of the paper's models each op's pass costs about as much as its arithmetic.
 *
 * Every entry is computed by the same IEEE operations in the same order as {@link mapUnary} and
 * {@link mapBinary} (the strict-zero product included), so a fused kernel's output is bit for
 * bit that of the ops one by one (test/fused.test.ts). The kernel is JavaScript source compiled
 * once per shape of tree with `new Function`; where a host forbids that (a page's content
 * security policy), {@link fusedKernel} returns undefined and the evaluator runs the ops one by
 * one.
 *
 * @packageDocumentation
 * @internal
 */
import { absurd } from '../core/errors.js'
import type { ScalarOp } from '../core/term.js'
import { unaryFunction } from './kernels.js'

/** One op of a fused tree: its arguments are inputs (`< inputs`) or earlier nodes (`inputs + k`). */
export interface FusedNode {
  readonly op: ScalarOp
  readonly args: ReadonlyArray<number>
}

/**
 * A compiled tree: `run(xs, factors, out)` writes the last node's value for every entry of
 * `out` (all of `xs` have its length); `factors[k]` is node k's factor (scale, offset).
 */
export interface FusedKernel {
  readonly run: (
    xs: ReadonlyArray<Float64Array>,
    factors: ReadonlyArray<number>,
    out: Float64Array,
  ) => void
}

type Maker = (unaries: ReadonlyArray<((v: number) => number) | undefined>) => FusedKernel['run']

const made = new Map<string, Maker | null>()
const MAX_MADE = 2048

/** Ops whose entry is an inline expression here; the others call `unaryFunction`. */
const inline = (op: ScalarOp, v: string, f: string): string | undefined => {
  switch (op) {
    case 'relu':
      return `Math.max(${v}, 0)`
    case 'scale':
      return `${f} * ${v}`
    case 'offset':
      return `${v} + ${f}`
    case 'exp':
    case 'log':
    case 'tanh':
    case 'sqrt':
      return `Math.${op}(${v})`
    case 'reciprocal':
      return `1 / (${v} + 0)`
    case 'step':
      return `${v} > 0 ? 1 : 0`
    case 'gelu':
    case 'normcdf':
    case 'sigmoid':
    case 'add':
    case 'mul':
      return undefined
    default:
      return absurd(op)
  }
}

/** The kernel source of a tree, and which nodes call a unary function. */
const source = (
  inputs: number,
  nodes: ReadonlyArray<FusedNode>,
): { readonly src: string; readonly calls: ReadonlyArray<boolean> } => {
  const calls = nodes.map(() => false)
  const name = (a: number) => (a < inputs ? `a${a}` : `v${a - inputs}`)
  const head: string[] = []
  const body: string[] = []
  for (let k = 0; k < inputs; k++) {
    head.push(`const x${k} = xs[${k}];`)
    body.push(`const a${k} = x${k}[i];`)
  }
  nodes.forEach((node, k) => {
    const [a, b] = node.args.map(name) as [string, string | undefined]
    head.push(`const f${k} = factors[${k}];`)
    if (node.op === 'add') body.push(`const v${k} = ${a} + ${b as string};`)
    else if (node.op === 'mul')
      // As mapBinary: a NaN product with a zero factor is 0 (zero is absorbing).
      body.push(
        `const p${k} = ${a} * ${b as string};`,
        `const v${k} = p${k} === p${k} || (${a} !== 0 && ${b as string} !== 0) ? p${k} : 0;`,
      )
    else {
      const e = inline(node.op, a, `f${k}`)
      if (e !== undefined) body.push(`const v${k} = ${e};`)
      else {
        calls[k] = true
        head.push(`const u${k} = unaries[${k}];`)
        body.push(`const v${k} = u${k}(${a});`)
      }
    }
  })
  const src = [
    '"use strict";',
    'return (xs, factors, out) => {',
    ...head,
    'const n = out.length;',
    'for (let i = 0; i < n; i++) {',
    ...body,
    `out[i] = v${nodes.length - 1};`,
    '}',
    '};',
  ].join('\n')
  return { src, calls }
}

/**
 * The kernel of a tree of `nodes` over `inputs` arrays (the last node is the result), or
 * undefined where the host cannot compile one. Trees of one shape share their compiled source.
 */
export const fusedKernel = (
  inputs: number,
  nodes: ReadonlyArray<FusedNode>,
): FusedKernel | undefined => {
  const { src, calls } = source(inputs, nodes)
  let maker = made.get(src)
  if (maker === undefined) {
    // A cache, not a registry: a process that evaluates many random terms (a law's property
    // test, an equivalence search) would otherwise keep every tree's compiled source.
    if (made.size >= MAX_MADE) made.clear()
    try {
      maker = new Function('unaries', src) as Maker
    } catch {
      maker = null
    }
    made.set(src, maker)
  }
  if (maker === null) return undefined
  // The unary functions are made per tree (a factor is read at run time, never here).
  const unaries = nodes.map((n, k) => (calls[k] === true ? unaryFunction(n.op, 1) : undefined))
  return { run: maker(unaries) }
}
