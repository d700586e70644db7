/**
 * Reverse derivatives derived, not written (paper section 3.6, Fig. 35-37; DESIGN.md section 6):
 * `vjp(f)` linearises `f` with {@link jvp} and transposes the tangent part with respect to the
 * tangents; `grad(f)` seeds a scalar loss with 1. Gradients with respect to parameters go through
 * {@link liftParams}, which turns the named parameters into inputs.
 *
 * @packageDocumentation
 */
import { box, broadcast, drop, id, par, seq } from '../core/construct.js'
import {
  type Apply,
  type Dag,
  type Node,
  type Wire,
  fromDagNested,
  graph,
  graphDag,
} from '../core/dag.js'
import { dimKey } from '../core/dim.js'
import { fail } from '../core/errors.js'
import { offset, param } from '../core/primitives.js'
import { show } from '../core/show.js'
import { type Term, children } from '../core/term.js'
import { type Shape, type TupleType, concatTypes, showShape, showType } from '../core/types.js'
import { einsumOf, unit } from '../linear/einsum.js'
import { zero } from '../linear/structural.js'
import { jvp } from './jvp.js'
import { einsumOfBroadcast, fuseIntoInput } from '../linear/fuse.js'
import { applyBackward, isCut, splitLinear, zeroOutputsOf } from './transpose.js'

/**
 * The reverse derivative of `f : A -> B`: `vjp(f) : A × B -> B × A`, `(x, ȳ) ↦ (f x, Df(x)ᵀ ȳ)`
 * (paper Fig. 35). Derived: the forward derivative `jvp(f)`, transposed in its tangents.
 *
 * @example
 * ```ts
 * import { vjp, tanh, evaluate } from 'neural-circuit-diagrams'
 * const [y, xbar] = evaluate(vjp(tanh()), {}, [[0.5], [2]])
 * y // Float64Array [0.46211715726000974]
 * xbar // Float64Array [1.5728954659318548] (2 · (1 - tanh(0.5)²))
 * ```
 */
export const vjp = (f: Term): Term =>
  graph(concatTypes(f.dom, f.cod), (ins, apply) => {
    const wire = reverseWiring(f)
    return wire(ins.slice(0, f.dom.length), ins.slice(f.dom.length), apply)
  })

/**
 * The nodes of `vjp(f)` on given wires (points x, cotangents ȳ): its values, then the
 * cotangents of the inputs. `grad` applies them in its own graph, so the reverse derivative is
 * read back once, not once as vjp's term and again inside the gradient.
 */
const reverseWiring = (
  f: Term,
): ((x: ReadonlyArray<Wire>, ybar: ReadonlyArray<Wire>, apply: Apply) => Wire[]) => {
  // A stack reverses part by part, each on its own points and cotangents: the same nodes as the
  // transpose of D(f) (its interleaving of points and tangents is only wiring), without building
  // that interleaving for a wide stack.
  if (f.kind === 'par') {
    const parts = f.parts.map(reverseWiring)
    return (x, ybar, apply) => {
      const values: Wire[] = []
      const cots: Wire[] = []
      let a = 0
      let b = 0
      f.parts.forEach((p, i) => {
        const wire = parts[i] as ReturnType<typeof reverseWiring>
        const out = wire(x.slice(a, a + p.dom.length), ybar.slice(b, b + p.cod.length), apply)
        values.push(...out.slice(0, p.cod.length))
        cots.push(...out.slice(p.cod.length))
        a += p.dom.length
        b += p.cod.length
      })
      return [...values, ...cots]
    }
  }
  const m = f.cod.length
  const d = jvp(f)
  const s = splitLinear(d, [...f.dom.map(() => false), ...f.dom.map(() => true)])
  // Values are primal, except zero values (linear in anything); tangents are linear, or known
  // zero (the tangent of a constant), whose cotangents are then dropped.
  const lin = s.linearOutputs
  const zeros = zeroOutputsOf(s)
  const bad = lin.findIndex((b, j) => j >= m && !b && zeros[j] !== true)
  if (bad >= 0)
    fail('internal', 'vjp: a tangent of the forward derivative is not linear in the tangents', {
      expected: `${m} linear tangent outputs`,
      got: lin.map((b) => (b ? 'linear' : 'primal')).join(', '),
      where: show(f, { maxLength: 160 }),
    })
  return (x, ybar, apply) => {
    const primal = apply(s.forward, ...x)
    let next = 0
    const values = f.cod.map((c, j) =>
      lin[j] === true ? (apply(zero([c]))[0] as Wire) : (primal[next++] as Wire),
    )
    // The cotangents of the linear outputs: zero for zero values, ȳ for the tangents.
    const cots = f.cod.flatMap((c, j) => (lin[j] === true ? [apply(zero([c]))[0] as Wire] : []))
    const tangentCots = ybar.filter((_, j) => lin[m + j] === true)
    return [...values, ...applyBackward(s, [...x, ...cots, ...tangentCots], apply)]
  }
}

/** Options of {@link grad}. */
export interface GradOptions {
  /** The input segments to differentiate with respect to (default: all of them). */
  readonly inputs?: ReadonlyArray<number>
  /** Parameters (by name, each once) to differentiate with respect to, after the inputs. */
  readonly params?: ReadonlyArray<string>
}

/**
 * The gradient of a scalar-valued `f : A -> [[]]`: a term from `f`'s inputs to the gradients with
 * respect to the chosen input segments, then the chosen parameters (paper Fig. 33, 37). The
 * gradient reads the parameters as `f` does, from the evaluator's `params`.
 *
 * @example
 * ```ts
 * import { grad, seq, mul, mean, copy, evaluate } from 'neural-circuit-diagrams'
 * // f(x) = mean(x ⊙ x): ∇f = 2x / n.
 * const f = seq(copy([['k']]), mul('k'), mean('k'))
 * evaluate(grad(f), { k: 2 }, [[1, 3]])[0] // Float64Array [1, 3]
 * ```
 */
export const grad = (f: Term, options: GradOptions = {}): Term => {
  if (f.cod.length !== 1 || (f.cod[0] as Shape).length !== 0)
    fail('type-mismatch', 'grad: the function must give one scalar', {
      expected: '[] (a scalar loss)',
      got: showType(f.cod),
      where: show(f, { maxLength: 160 }),
      hint: 'sum or average the outputs first, or use vjp for a vector-valued function',
    })
  const names = options.params ?? []
  // One gradient per name: a name given twice would be two outputs for one parameter.
  names.forEach((name, j) => {
    if (names.indexOf(name) !== j)
      fail('bad-argument', `grad: parameter '${name}' is named twice`, {
        expected: 'each parameter name once in options.params',
        got: JSON.stringify(names),
        hint: `pass params: ${JSON.stringify([...new Set(names)])}`,
      })
  })
  const inputs = options.inputs ?? f.dom.map((_, i) => i)
  inputs.forEach((i) => {
    if (!Number.isInteger(i) || i < 0 || i >= f.dom.length)
      fail('bad-argument', `grad: there is no input segment ${i}`, {
        expected: `input segments 0 to ${f.dom.length - 1} of ${showType(f.dom)}`,
        got: String(i),
      })
  })
  const lifted = names.length === 0 ? { term: f, shapes: [] } : liftParams(f, names)
  const g = lifted.term
  const k = names.length
  const back = reverseWiring(g)
  const seed = seq(zero([[]]), offset(1))
  // The parameters stay parameters: the gradient reads them where f did, and takes f's inputs.
  const dag = graphDag(f.dom, (ins, apply) => {
    const [one] = apply(seed) as [Wire]
    const p = names.map((name, j) => apply(param(name, lifted.shapes[j] as Shape))[0] as Wire)
    const outs = back([...p, ...ins], [one], apply)
    const bars = outs.slice(1)
    return [...inputs.map((i) => bars[k + i] as Wire), ...bars.slice(0, k)]
  })
  return fromDagNested(recutPerReader(fuseLinear(dag)), { releaseEarly: true, defer: isCut })
}

/**
 * Every reader of a cut ({@link isCut}) but the first given its own copy of the cut, made from
 * the cut's own inputs (copies of cuts in turn, down to a value that is not one). The weight's
 * cotangent of a convolution reads the unfolded image that the forward pass read: shared, the
 * unfolded image lives from the forward pass to the backward one; copied, the image does, and
 * the copy is made again just before its reader (the read-back defers cuts to their one reader,
 * `fromDagNested`'s `defer`). The copies move data and do no arithmetic: the FLOPs are the same,
 * the values too (the same cut of the same input).
 */
const recutPerReader = (dag: Dag): Dag => {
  const readers = new Map<number, number>()
  for (const node of dag.nodes)
    for (const n of new Set(node.inputs.filter((w) => w.node >= 0).map((w) => w.node)))
      readers.set(n, (readers.get(n) ?? 0) + 1)
  const shared = (n: number): boolean =>
    isCut((dag.nodes[n] as Node).op) && (readers.get(n) ?? 0) > 1
  if (![...readers.keys()].some(shared)) return dag
  const nodes: Node[] = []
  const renumber: number[] = []
  const firstRead = new Set<number>()
  const wireOf = (w: Wire): Wire =>
    w.node < 0 ? w : { node: renumber[w.node] as number, out: w.out }
  /** A fresh copy of the cut `n` (old number) and of the cuts it reads: its new number. */
  const copyOf = (n: number): number => {
    const node = dag.nodes[n] as Node
    const inputs = node.inputs.map((w) =>
      w.node >= 0 && isCut((dag.nodes[w.node] as Node).op)
        ? { node: copyOf(w.node), out: w.out }
        : wireOf(w),
    )
    return nodes.push({ op: node.op, inputs }) - 1
  }
  dag.nodes.forEach((node, n) => {
    const inputs = node.inputs.map((w) => {
      if (w.node < 0 || !shared(w.node)) return wireOf(w)
      if (!firstRead.has(w.node)) {
        firstRead.add(w.node)
        return wireOf(w)
      }
      return { node: copyOf(w.node), out: w.out }
    })
    renumber[n] = nodes.push({ op: node.op, inputs }) - 1
  })
  return { ...dag, nodes, outputs: dag.outputs.map(wireOf) }
}

/**
 * Einsums fused into the einsums that read them (`linear/fuse.ts`), in two kinds:
 *
 * - moves: einsums that only move or spread their one input (no label summed or repeated), each
 *   reader absorbing its own copy, as in the normal form: the seed's cotangent spread over a
 *   sum's axes (a tensor of ones) is then never materialised, and the contractions that read it
 *   sum less (the gradient of a sum of attention's outputs contracted V with the spread ones,
 *   2 y x v FLOPs, where the fused einsum sums V's rows once). Fusing a move costs nothing.
 * - products: an einsum that sums no label (an element-wise product, possibly with a factor
 *   spread, such as an element-wise `mul` broadcast over a shape, read here as the einsum
 *   `i m, i m -> i m`), read by one einsum only, when the fused einsum has at most two inputs or
 *   sums no label either: every pairwise step of the fused einsum then makes a tensor no larger
 *   than its output or its one contraction, so its work is that of the two steps it replaces.
 *   The transpose of layerNorm's tangent times the affine gain, `(ḡ ⊙ gain) · 1/σ`, becomes
 *   one step `i m, m, i -> i m` instead of three (the spread of the gain, the product, the scaling
 *   by 1/σ), and the gain's gradient `Σ_i y ⊙ ḡ` one `i m, i m -> m` instead of two.
 *
 * An element-wise product that fuses with nothing stays the `mul` it was. Each output entry is
 * the same product of the same factors (a product of three in another order: the last bit may
 * differ), so the gradient is the same function on real numbers. Not at IEEE specials: `mul` is
 * strict in zero (0 · ∞ = 0, src/eval/kernels.ts) and an einsum's products are IEEE (0 · ∞ =
 * NaN), so a zero cotangent times an infinite factor (a gain of +∞ under a layerNorm whose
 * output the loss weighs by 0) gave 0 and now gives NaN, as `forwardGradient` does.
 */
const fuseLinear = (dag: Dag): Dag => {
  const isMove = (t: Term): boolean => {
    if (t.kind !== 'einsum' || t.inputs.length !== 1) return false
    const input = t.inputs[0] as ReadonlyArray<string>
    return new Set(input).size === input.length && input.every((l) => t.output.includes(l))
  }
  /** Whether an einsum sums no label: every input label is in the output. */
  const sumsNone = (t: Term): boolean =>
    t.kind === 'einsum' && t.inputs.every((ls) => ls.every((l) => t.output.includes(l)))
  /** Whether a wire is the constant 1 of the seed: `offset(1)` of the scalar zero. */
  const isOne = (w: Wire): boolean => {
    const n = w.node < 0 ? undefined : dag.nodes[w.node]
    if (n === undefined || n.op.kind !== 'scalar' || n.op.op !== 'offset') return false
    if (n.op.factor !== 1 || n.op.bySize !== undefined) return false
    const z = (n.inputs[0] as Wire).node < 0 ? undefined : dag.nodes[(n.inputs[0] as Wire).node]
    return (
      z !== undefined &&
      z.op.kind === 'zero' &&
      z.op.cod.length === 1 &&
      (z.op.cod[0] as Shape).length === 0
    )
  }
  /** Whether a one-input einsum is the identity: its input's labels, once each, in order. */
  const isIdentity = (t: Extract<Term, { kind: 'einsum' }>): boolean => {
    const input = t.inputs[0] as ReadonlyArray<string>
    return (
      new Set(input).size === input.length &&
      input.length === t.output.length &&
      input.every((l, j) => t.output[j] === l)
    )
  }
  const readers: number[] = dag.nodes.map(() => 0)
  const read = (w: Wire, by: number): void => {
    if (w.node >= 0) readers[w.node] = (readers[w.node] as number) + by
  }
  dag.nodes.forEach((n) => n.inputs.forEach((w) => read(w, 1)))
  dag.outputs.forEach((w) => read(w, 1))
  const nodes: Node[] = []
  /** The nodes whose op is an element-wise product read as an einsum, and whether it fused. */
  const product = new Map<number, { readonly was: Term; fused: boolean }>()
  let changed = false
  /** Nodes that became their one input (an einsum that is the identity), by number. */
  const alias = new Map<number, Wire>()
  const resolve = (w: Wire): Wire => (w.node >= 0 ? (alias.get(w.node) ?? w) : w)
  dag.nodes.forEach((old, k) => {
    let op = old.op
    let inputs = old.inputs.map(resolve)
    const asEinsum = productEinsum(op)
    if (asEinsum !== undefined) {
      product.set(k, { was: op, fused: false })
      op = asEinsum
    }
    const fusedHere = (): void => {
      const mine = product.get(k)
      if (mine !== undefined) mine.fused = true
      changed = true
    }
    if (op.kind === 'einsum')
      for (let i = 0; i < inputs.length; i++) {
        const w = inputs[i] as Wire
        const p = w.node < 0 ? undefined : (nodes[w.node] as Node)
        if (p === undefined || p.op.kind !== 'einsum') continue
        const move = isMove(p.op)
        if (!move && !(sumsNone(p.op) && readers[w.node] === 1 && w.out === 0)) continue
        const fused = fuseIntoInput(op, i, p.op)
        if (fused === undefined) continue
        if (!move && fused.dom.length > 2 && !sumsNone(fused)) continue
        op = fused
        inputs = [...inputs.slice(0, i), ...p.inputs, ...inputs.slice(i + 1)]
        // The producer's inputs are read here now; the producer once less.
        read(w, -1)
        p.inputs.forEach((x) => read(x, 1))
        fusedHere()
        const theirs = product.get(w.node)
        if (theirs !== undefined) theirs.fused = true
        i = -1 // the new inputs may fuse too
      }
    if (op.kind === 'einsum' && op.inputs.length > 1) {
      // A scalar factor that is the seed 1 (x · 1 = x in IEEE arithmetic, NaN and ±∞ included).
      const e = op
      const keep = inputs.map(
        (w, i) => !(isOne(w) && (e.inputs[i] as ReadonlyArray<string>).length === 0),
      )
      if (!keep.every((b) => b)) {
        if (!keep.some((b) => b)) keep[0] = true
        inputs.forEach((w, i) => {
          if (!(keep[i] as boolean)) read(w, -1)
        })
        op = einsumOf(
          { inputs: e.inputs.filter((_, i) => keep[i] as boolean), output: e.output },
          { dims: e.dims },
        )
        inputs = inputs.filter((_, i) => keep[i] as boolean)
        fusedHere()
      }
    }
    if (op.kind === 'einsum' && op.inputs.length === 1 && isIdentity(op)) {
      // The identity: its readers read its input.
      const w = inputs[0] as Wire
      alias.set(k, w)
      read(w, (readers[k] as number) - 1)
      readers[k] = 0
      fusedHere()
    }
    nodes.push({ op, inputs })
  })
  if (!changed) return dag
  // A product that fused with nothing goes back to its element-wise form.
  for (const [k, p] of product)
    if (!p.fused) nodes[k] = { op: p.was, inputs: (nodes[k] as Node).inputs }
  return { ...dag, nodes, outputs: dag.outputs.map(resolve) }
}

/**
 * An element-wise `mul` broadcast over a shape (nested broadcasts of the scalar `mul`, its
 * factors placed or shared as the broadcasts say) as the einsum that computes it, `i m, m -> i m`
 * for a factor shared over `i`; undefined for any other term.
 */
const productEinsum = (t: Term): Term | undefined => {
  if (t.kind === 'scalar')
    return t.op === 'mul' ? einsumOf({ inputs: [[], []], output: [] }) : undefined
  if (t.kind !== 'broadcast' || t.body.dom.length !== 2 || t.body.cod.length !== 1) return undefined
  const body = productEinsum(t.body)
  if (body === undefined) return undefined
  return einsumOfBroadcast(broadcast(body, t.axes, { inputs: t.inputs, outputs: t.outputs }))
}

/**
 * `f` with the named parameters turned into inputs: `P_1 × … × P_k × A -> B`, each parameter
 * read wherever `f` reads it (shared into broadcasts). Gradients with respect to weights are
 * gradients with respect to these inputs (DESIGN.md section 3).
 *
 * @example
 * ```ts
 * import { liftParams, linearLayer, showTyped } from 'neural-circuit-diagrams'
 * showTyped(liftParams(linearLayer('W', 'x', 'y'), ['W.weight']).term) // 'L(W: x -> y) : [y x] × [x] -> [y]'
 * ```
 */
export const liftParams = (
  f: Term,
  names: ReadonlyArray<string>,
): { readonly term: Term; readonly shapes: ReadonlyArray<Shape> } => {
  // What lifting walks: a derivative is lifted through its expansion.
  const inner = (t: Term): ReadonlyArray<Term> =>
    t.kind === 'derivative' ? [jvp(t.body)] : children(t)
  // The parameters each sub-term reads (in the order of `names`), and their shapes: each sub-term
  // takes only the parameters it reads, so the wires threaded through a sequence stay few.
  const shapes = new Map<string, Shape>()
  const usedMemo = new Map<Term, ReadonlyArray<string>>()
  const used = (t: Term): ReadonlyArray<string> => {
    let u = usedMemo.get(t)
    if (u === undefined) {
      const mine = new Set<string>(inner(t).flatMap(used))
      if (t.kind === 'param' && names.includes(t.name)) {
        const seen = shapes.get(t.name)
        if (seen !== undefined && seen.map(dimKey).join(' ') !== t.shape.map(dimKey).join(' '))
          fail('bad-argument', `liftParams: parameter '${t.name}' is used with two shapes`, {
            expected: showShape(seen),
            got: showShape(t.shape),
          })
        shapes.set(t.name, t.shape)
        mine.add(t.name)
      }
      u = names.filter((n) => mine.has(n))
      usedMemo.set(t, u)
    }
    return u
  }
  const missing = names.filter((n) => !used(f).includes(n))
  if (missing.length > 0)
    fail(
      'bad-argument',
      `liftParams: no parameter named ${missing.map((n) => `'${n}'`).join(', ')}`,
      {
        expected: 'names of parameters the term uses',
        got: missing.join(', '),
        where: show(f, { maxLength: 160 }),
      },
    )
  const P: TupleType = names.map((n) => shapes.get(n) as Shape)
  const typesOf = (ns: ReadonlyArray<string>): TupleType => ns.map((n) => shapes.get(n) as Shape)
  const liftMemo = new Map<Term, Term>()
  const lift = (t: Term): Term => {
    const hit = liftMemo.get(t)
    if (hit !== undefined) return hit
    const out = liftNode(t)
    liftMemo.set(t, out)
    return out
  }
  /** `t` with its parameters as leading inputs: `used(t) × t.dom -> t.cod`. */
  const liftNode = (t: Term): Term => {
    const mine = used(t)
    if (mine.length === 0) return t
    const threaded = (
      run: (
        wires: ReadonlyMap<string, Wire>,
        ins: ReadonlyArray<Wire>,
        apply: (op: Term, ...w: Wire[]) => Wire[],
      ) => Wire[],
    ): Term =>
      graph(concatTypes(typesOf(mine), t.dom), (ins, apply) => {
        const wires = new Map(mine.map((n, j) => [n, ins[j] as Wire] as const))
        return run(wires, ins.slice(mine.length), apply)
      })
    const call = (
      part: Term,
      wires: ReadonlyMap<string, Wire>,
      args: ReadonlyArray<Wire>,
      apply: (op: Term, ...w: Wire[]) => Wire[],
    ): Wire[] => apply(lift(part), ...used(part).map((n) => wires.get(n) as Wire), ...args)
    // Only a parameter or a composite reads parameters (a leaf reading none is returned above).
    if (t.kind === 'param') return id([t.shape])
    if (t.kind === 'seq')
      return threaded((wires, ins, apply) =>
        t.parts.reduce<Wire[]>((cur, part) => call(part, wires, cur, apply), [...ins]),
      )
    if (t.kind === 'par')
      return threaded((wires, ins, apply) => {
        let at = 0
        return t.parts.flatMap((part) => {
          const args = ins.slice(at, at + part.dom.length)
          at += part.dom.length
          return call(part, wires, args, apply)
        })
      })
    if (t.kind === 'broadcast')
      return broadcast(lift(t.body), t.axes, {
        inputs: [...mine.map(() => 'shared' as const), ...t.inputs],
        outputs: t.outputs,
      })
    if (t.kind === 'box') return box(t.name, lift(t.body))
    if (t.kind === 'derivative') return lift(jvp(t.body))
    return fail('internal', `liftParams: ${t.kind} reads parameters but has no sub-terms`, {
      expected: 'a parameter or a composite',
      got: show(t, { maxLength: 80 }),
    })
  }
  return { term: lift(f), shapes: P }
}

/**
 * The gradient of a scalar-valued `f` the naive way of paper Fig. 33: the forward derivative run
 * once per input degree of freedom, broadcast over the rows of the unit (the identity tensor),
 * the point shared. Its cost is the size of the input times that of `f` (Fig. 34): quadratic
 * where {@link grad}, the reverse derivative of Fig. 37, is linear. Same type and values as
 * `grad(f)` with respect to all inputs.
 *
 * @example
 * ```ts
 * import { forwardGradient, seq, copy, mul, mean, evaluate } from 'neural-circuit-diagrams'
 * const f = seq(copy([['k']]), mul('k'), mean('k'))
 * evaluate(forwardGradient(f), { k: 2 }, [[1, 3]])[0] // Float64Array [1, 3]
 * ```
 */
export const forwardGradient = (f: Term): Term => {
  if (f.cod.length !== 1 || (f.cod[0] as Shape).length !== 0)
    fail('type-mismatch', 'forwardGradient: the function must give one scalar', {
      expected: '[] (a scalar loss)',
      got: showType(f.cod),
      where: show(f, { maxLength: 160 }),
    })
  const n = f.dom.length
  const d = jvp(f)
  const only = f.dom[0] as Shape
  if (n === 1 && only.length === 1) {
    // Fig. 33 as drawn: the seed r = 1, the unit η_a on it, and the tangent part of D(f) broadcast
    // over the unit's rows, the point shared, `(id ⊗ 1) ; (id ⊗ η_a) ; bcast[a @in(=, 0)](D(f) ;
    // drop ⊗ id)`: the form `transpose/unit-broadcast` (Fig. 36-37) rewrites into backpropagation.
    const a = only[0] as Shape[number]
    return seq(
      par(id(f.dom), seq(zero([[]]), offset(1))),
      par(id(f.dom), unit(a)),
      broadcast(seq(d, par(drop([[]]), id([[]]))), [a], { inputs: ['shared', 0], outputs: [0] }),
    )
  }
  return graph(f.dom, (xs, apply) => {
    const [one] = apply(seq(zero([[]]), offset(1))) as [Wire]
    return f.dom.map((s, i) => {
      if (s.length === 0) {
        // A scalar input: one direction, no broadcast.
        const dirs = f.dom.map((t, j) => (j === i ? one : (apply(zero([t]))[0] as Wire)))
        return apply(d, ...xs, ...dirs)[1] as Wire
      }
      // The unit on the segment's shape: the identity tensor [s s], its rows the directions.
      // Labels repeated in an einsum's output embed on the diagonal: the identity tensor.
      const labels = s.map((_, j) => `a${j}`)
      const dims = Object.fromEntries(s.map((dim, j) => [`a${j}`, dim] as const))
      const identity = einsumOf({ inputs: [[]], output: [...labels, ...labels] }, { dims })
      // One run of D(f) per direction: the points shared, the direction of segment i broadcast
      // over the rows, the other directions zero; the value dropped.
      const tangent = graph(concatTypes(f.dom, [s]), (ins, apply2) => {
        const dirs = f.dom.map((t, j) =>
          j === i ? (ins[n] as Wire) : (apply2(zero([t]))[0] as Wire),
        )
        return [apply2(d, ...ins.slice(0, n), ...dirs)[1] as Wire]
      })
      const body = broadcast(tangent, s, {
        inputs: [...f.dom.map(() => 'shared' as const), 0],
        outputs: [0],
      })
      const [basis] = apply(identity, one) as [Wire]
      return apply(body, ...xs, basis)[0] as Wire
    })
  })
}
