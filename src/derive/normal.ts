/**
 * The structural normal form (DESIGN.md section 5): two terms equal modulo the structural laws
 * have the same normal form.
 *
 * 1. Boxes are unfolded, and broadcasts are pushed through structure down to primitives
 *    (functoriality over `seq` and `par`; a broadcast of an identity, copy, drop or swap whose
 *    axes stay in place is that structure; nested broadcasts whose axes all lead merge; a
 *    broadcast einsum is an einsum with one more label per axis).
 * 2. The tuple wiring becomes a DAG: identities, swaps, copies and drops disappear into edges,
 *    equal primitives on equal inputs are one node (hash-consing: copy is natural), and what no
 *    output uses is gone (drop is natural).
 * 3. The DAG is read back in a canonical order into a term.
 *
 * Each step is linear in the size of the term (hash-consing keys are memoised by node).
 *
 * It lives in `src/derive`, between the forward derivative and transposition: a `D(f)` node
 * normalises as `jvp(f)`, and `transpose.ts` normalises the transposes it builds. The
 * equivalences of `src/rewrite` decide by it (README, "Architecture").
 *
 * @packageDocumentation
 */
import { broadcast, copy, drop, id, par, seq, swap } from '../core/construct.js'
import { dimKey } from '../core/dim.js'
import { defaultSizesKey } from '../core/equal.js'
import { absurd } from '../core/errors.js'
import { type Placement, type Term, children } from '../core/term.js'
import { withChildren } from '../core/update.js'
import { generatorKey } from '../core/generator.js'
import type { Shape } from '../core/types.js'
import {
  type Dag,
  type Node,
  type Wire,
  fromDag,
  postOrder,
  walkStructure,
  wireKey,
  wiring,
} from '../core/dag.js'
import { canonicalEinsum } from '../linear/canonical.js'
import { einsumOf } from '../linear/einsum.js'
import { fuseIntoInput } from '../linear/fuse.js'
import { jvp } from './jvp.js'

const allAt = (ps: ReadonlyArray<Placement>, at: number): boolean => ps.every((p) => p === at)

const sameShape = (a: ReadonlyArray<Placement>, b: ReadonlyArray<Placement>): boolean =>
  a.length === b.length && a.every((p, i) => p === b[i])

/** Unfold named boxes. */
const unbox = (t: Term): Term => {
  if (t.kind === 'box') return unbox(t.body)
  if (t.kind === 'seq' || t.kind === 'par' || t.kind === 'broadcast')
    return withChildren(t, children(t).map(unbox))
  return t
}

/** A fresh einsum label for each broadcast axis, avoiding the labels in use. */
const freshLabels = (used: ReadonlySet<string>, n: number): string[] => {
  const out: string[] = []
  for (let i = 0; out.length < n; i++) {
    const l = `_${i}`
    if (!used.has(l)) out.push(l)
  }
  return out
}

/** A broadcast einsum is an einsum with one more label per axis (shared inputs go without). */
const absorbIntoEinsum = (
  e: Extract<Term, { kind: 'einsum' }>,
  axes: Shape,
  inputs: ReadonlyArray<Placement>,
  outputs: ReadonlyArray<number>,
): Term => {
  const fresh = freshLabels(new Set(Object.keys(e.dims)), axes.length)
  const insert = (ls: ReadonlyArray<string>, at: Placement) =>
    at === 'shared' ? [...ls] : [...ls.slice(0, at), ...fresh, ...ls.slice(at)]
  const ins = e.inputs.map((ls, i) => insert(ls, inputs[i] as Placement))
  const out = insert(e.output, outputs[0] as number)
  const dims = Object.create(null) as Record<string, Shape[number]>
  for (const [l, d] of Object.entries(e.dims)) dims[l] = d
  fresh.forEach((l, i) => (dims[l] = axes[i] as Shape[number]))
  return einsumOf({ inputs: ins, output: out }, { dims })
}

/**
 * The einsum `[seg with axes at from] -> [seg with axes at to]` (from `'shared'`: the axes are
 * spread along).
 */
const placedEinsum = (seg: Shape, axes: Shape, from: Placement, to: number): Term => {
  const own = seg.map((_, i) => `s${i}`)
  const ax = axes.map((_, i) => `_${i}`)
  const place = (at: Placement) =>
    at === 'shared' ? [...own] : [...own.slice(0, at), ...ax, ...own.slice(at)]
  const dims = Object.create(null) as Record<string, Shape[number]>
  seg.forEach((d, i) => (dims[`s${i}`] = d))
  axes.forEach((d, i) => (dims[`_${i}`] = d))
  return einsumOf({ inputs: [place(from)], output: place(to) }, { dims })
}

/**
 * Push a broadcast of `body` (already pushed) over `axes` down to primitives.
 */
const pushBroadcast = (
  body: Term,
  axes: Shape,
  inputs: ReadonlyArray<Placement>,
  outputs: ReadonlyArray<number>,
  original?: Extract<Term, { kind: 'broadcast' }>,
): Term => {
  if (axes.length === 0) return body
  const keep = () =>
    original !== undefined && original.body === body
      ? original
      : broadcast(body, axes, { inputs, outputs })
  switch (body.kind) {
    case 'seq': {
      // Functoriality: the axes lead every intermediate segment.
      let placements: ReadonlyArray<Placement> = inputs
      const parts = body.parts.map((p, i) => {
        const last = i === body.parts.length - 1
        const outs = last ? outputs : p.cod.map(() => 0)
        const pushed = pushBroadcast(p, axes, placements, outs)
        placements = outs
        return pushed
      })
      return seq(...parts)
    }
    case 'par': {
      let i = 0
      let o = 0
      return par(
        ...body.parts.map((p) => {
          const ins = inputs.slice(i, i + p.dom.length)
          const outs = outputs.slice(o, o + p.cod.length)
          i += p.dom.length
          o += p.cod.length
          return pushBroadcast(p, axes, ins, outs)
        }),
      )
    }
    case 'id':
      // Axes that stay are an identity; axes that move (or spread a shared segment) are einsums.
      return sameShape(inputs, outputs)
        ? id(keep().dom)
        : par(
            ...body.dom.map((seg, i) =>
              placedEinsum(seg, axes, inputs[i] as Placement, outputs[i] as number),
            ),
          )
    case 'copy': {
      const n = inputs.length
      if (sameShape(inputs, outputs.slice(0, n)) && sameShape(inputs, outputs.slice(n)))
        return copy(keep().dom)
      // Copies whose axes move, or spread a shared segment (a parameter read twice inside a
      // broadcast): copy as it comes, then move or spread each copy by an einsum, which fuses
      // into its reader instead of materialising a spread tensor.
      const moved = (k: number): Term =>
        par(
          ...body.type.map((seg, i) =>
            placedEinsum(seg, axes, inputs[i] as Placement, outputs[k * n + i] as number),
          ),
        )
      return seq(copy(keep().dom), par(moved(0), moved(1)))
    }
    case 'drop':
      return drop(keep().dom)
    case 'swap': {
      const l = body.left.length
      const swapped = [...inputs.slice(l), ...inputs.slice(0, l)]
      const t = keep()
      const plain = swap(t.dom.slice(0, l), t.dom.slice(l))
      if (sameShape(swapped, outputs)) return plain
      // As for copy: swap as they come, then move or spread each segment by an einsum.
      const segs = [...body.right, ...body.left]
      return seq(
        plain,
        par(
          ...segs.map((seg, j) =>
            placedEinsum(seg, axes, swapped[j] as Placement, outputs[j] as number),
          ),
        ),
      )
    }
    case 'einsum':
      return absorbIntoEinsum(body, axes, inputs, outputs)
    case 'broadcast':
      // Nested broadcasts whose axes all lead (or are shared alike) are one broadcast.
      if (
        // Alike segment by segment: both at 0, or both shared (a segment broadcast over one
        // axis but shared over the other has no single placement over both).
        inputs.every((p, i) => p === body.inputs[i] && (p === 'shared' || p === 0)) &&
        allAt(outputs, 0) &&
        allAt(body.outputs, 0)
      )
        return broadcast(body.body, [...axes, ...body.axes], {
          inputs: body.inputs,
          outputs: body.outputs,
        })
      return keep()
    case 'box':
      return pushBroadcast(body.body, axes, inputs, outputs)
    case 'param':
      // A parameter broadcast is the parameter spread along the axes (an einsum, so that it
      // fuses with what reads it).
      return seq(body, placedEinsum(body.shape, axes, 'shared', outputs[0] as number))
    case 'scalar':
    case 'axisOp':
    case 'index':
    case 'view':
    case 'pad':
    case 'convTensor':
    case 'concat':
    case 'zero':
    case 'generator':
      return keep()
    case 'derivative':
      // Pushed broadcasts never hold a derivative: pushBroadcasts expands it first.
      return pushBroadcast(pushBroadcasts(jvp(body.body)), axes, inputs, outputs)
    default:
      return absurd(body)
  }
}

/** Push every broadcast of a term down to primitives (boxes unfolded). */
export const pushBroadcasts = (t: Term): Term => {
  if (t.kind === 'box') return pushBroadcasts(t.body)
  if (t.kind === 'derivative') return pushBroadcasts(jvp(t.body))
  if (t.kind === 'seq' || t.kind === 'par') return withChildren(t, t.parts.map(pushBroadcasts))
  if (t.kind === 'broadcast')
    return pushBroadcast(pushBroadcasts(t.body), t.axes, t.inputs, t.outputs, t)
  return t
}

const shapeKey = (s: Shape): string => s.map(dimKey).join(' ')

/** A canonical text of a term's constructor data (dims by key), for hash-consing. @internal */
export const leafKey = (t: Term): string => {
  const known = leafMemo.get(t)
  if (known !== undefined) return known
  const key = computeLeafKey(t)
  leafMemo.set(t, key)
  return key
}

/** Keys of immutable terms, computed once (a memo invisible to callers). */
const leafMemo = new WeakMap<Term, string>()
const hashMemo = new WeakMap<Term, string>()

/** The hash of a term's leaf key, computed once. */
const leafHash = (t: Term): string => {
  let h = hashMemo.get(t)
  if (h === undefined) {
    h = fnv(leafKey(t))
    hashMemo.set(t, h)
  }
  return h
}

const computeLeafKey = (t: Term): string => {
  switch (t.kind) {
    case 'id':
    case 'copy':
    case 'drop':
    case 'zero':
      return `${t.kind}(${(t.kind === 'id' ? t.dom : t.type).map(shapeKey).join('|')})`
    case 'swap':
      return `swap(${t.left.map(shapeKey).join('|')};${t.right.map(shapeKey).join('|')})`
    case 'seq':
    case 'par':
      return `${t.kind}(${t.parts.map(leafKey).join(',')})`
    case 'box':
      return leafKey(t.body)
    case 'derivative':
      return `D(${leafKey(t.body)})`
    case 'broadcast':
      return `b[${shapeKey(t.axes)};${t.inputs.join(',')};${t.outputs.join(',')}](${leafKey(t.body)})`
    case 'einsum':
      return `e(${t.inputs.map((i) => i.join(' ')).join(',')}>${t.output.join(' ')};${Object.entries(
        t.dims,
      )
        .map(([l, d]) => `${l}=${dimKey(d)}`)
        .join(',')};${t.name ?? ''})`
    case 'scalar':
      return `s(${t.op},${t.factor}${t.bySize === undefined ? '' : `,${dimKey(t.bySize.dim)}^${t.bySize.power}`})`
    case 'axisOp':
      return `a(${t.op},${dimKey(t.axis)},${t.epsilon})`
    case 'index':
      return `i${t.adjoint === true ? 'T' : ''}(${dimKey(t.axis)},${t.at})`
    case 'view':
      return `v(${shapeKey(t.from)};${shapeKey(t.to)})`
    case 'pad':
      return `p${t.adjoint === true ? 'T' : ''}(${dimKey(t.axis)},${t.before},${t.after})`
    case 'convTensor':
      return `c${t.adjoint === true ? 'T' : ''}(${dimKey(t.input)},${dimKey(t.kernel)},${t.stride},${t.dilation})`
    case 'concat':
      return `j${t.adjoint === true ? 'T' : ''}(${shapeKey(t.pieces)})`
    case 'param':
      return `w(${JSON.stringify(t.name)};${shapeKey(t.shape)})`
    case 'generator':
      // Opaque: the same map only if name, types, declared linearity and form are the same.
      return generatorKey(t)
    default:
      return absurd(t)
  }
}

/** Build the DAG of a term whose broadcasts are pushed. */
export const toDag = (t: Term): Dag => {
  const nodes: Node[] = []
  const index = new Map<string, number>()
  const keys = new Map<Term, string>()
  const keyOf = (op: Term): string => {
    let k = keys.get(op)
    if (k === undefined) {
      k = leafKey(op)
      keys.set(op, k)
    }
    return k
  }
  const node = (term: Term, ins: ReadonlyArray<Wire>): Wire[] => {
    if (term.kind === 'derivative') return walk(pushBroadcasts(jvp(term.body)), ins)
    const key = `${keyOf(term)}(${ins.map(wireKey).join(',')})`
    let n = index.get(key)
    if (n === undefined) {
      n = nodes.length
      nodes.push({ op: term, inputs: ins })
      index.set(key, n)
    }
    return term.cod.map((_, out) => ({ node: n as number, out }))
  }
  const walk = (term: Term, ins: ReadonlyArray<Wire>): Wire[] => walkStructure(term, ins, node)
  const outputs = walk(
    t,
    t.dom.map((_, i) => ({ node: -1 - i, out: 0 })),
  )
  return { dom: t.dom, cod: t.cod, nodes, outputs }
}

/** A 64-bit FNV-1a hash of a string, as 16 hex digits (two 32-bit lanes). */
const fnv = (s: string): string => {
  let a = 0x811c9dc5
  let b = 0x01000193 ^ 0x5bd1e995
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193) >>> 0
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0')
}

/** Canonical einsums, memoised: later fusion rounds meet the same (canonical) objects again. */
const canonicalMemo = new WeakMap<Term, Term>()
const canonical = (op: Term): Term => {
  let c = canonicalMemo.get(op)
  if (c === undefined) {
    c = canonicalEinsum(op)
    canonicalMemo.set(op, c)
    canonicalMemo.set(c, c)
  }
  return c
}

const isIdentityEinsum = (t: Term): boolean =>
  t.kind === 'einsum' &&
  t.inputs.length === 1 &&
  new Set(t.output).size === t.output.length &&
  (t.inputs[0] as ReadonlyArray<string>).length === t.output.length &&
  t.output.every((l, i) => (t.inputs[0] as ReadonlyArray<string>)[i] === l)

/**
 * Fuse einsums along the DAG (DESIGN.md section 5: "adjacent einsums are fused and canonically
 * relabelled"): an einsum fed by another einsum that nothing else reads becomes one einsum over
 * the producer's inputs; every einsum is put in canonical form, and an identity einsum is a wire.
 */
/** A source that stands for a wire read several times (it is never fused). */
const SHARED_SOURCE: Wire = { node: -(2 ** 30), out: 0 }

/**
 * An einsum of one input that only moves or spreads it: no label summed, none repeated in the
 * input. Fusing it into a reader costs nothing, so it may fuse into each of several readers.
 */
const isFreeMove = (t: Term): boolean => {
  if (t.kind !== 'einsum' || t.inputs.length !== 1) return false
  const input = t.inputs[0] as ReadonlyArray<string>
  return new Set(input).size === input.length && input.every((l) => t.output.includes(l))
}

export const fuseDag = (dag: Dag): Dag => {
  if (!dag.nodes.some((n) => n.op.kind === 'einsum')) return dag
  const uses = new Map<number | string, number>()
  const use = (w: Wire) => uses.set(wireKey(w), (uses.get(wireKey(w)) ?? 0) + 1)
  // Count the reads of live nodes only: a reader whose result is dropped does not count.
  postOrder(dag).forEach((n) => (dag.nodes[n] as Node).inputs.forEach(use))
  dag.outputs.forEach(use)
  const nodes: Node[] = []
  const index = new Map<string, number>()
  const alias = new Map<number | string, Wire>()
  const resolve = (w: Wire): Wire => (w.node < 0 ? w : (alias.get(wireKey(w)) as Wire))
  // New nodes that stand for exactly one old einsum output read once (free to fuse away).
  const fusable = new Map<number | string, number>()
  // For each new einsum node, the old wires its inputs stand for.
  const oldSources = new Map<number, ReadonlyArray<Wire>>()
  // A hash of what each new node computes, independent of the order nodes were built in.
  const hashes: string[] = []
  const wireHash = (w: Wire): string =>
    w.node < 0 ? `in${-1 - w.node}` : `${hashes[w.node] as string}.${w.out}`
  dag.nodes.forEach((old, n) => {
    let op = old.op
    let inputs = old.inputs.map(resolve)
    let sources = [...old.inputs]
    if (op.kind === 'einsum') {
      for (let i = 0; i < inputs.length; i++) {
        const src = sources[i] as Wire
        const producer = fusable.get(src.node)
        if (src.node < 0 || producer === undefined) continue
        const p = nodes[producer] as Node
        // A producer read several times fuses only if it is a free move (a spread, a transpose):
        // each reader then absorbs its own copy, and none materialises a spread tensor.
        const shared = uses.get(wireKey(src)) !== 1
        if (shared && !isFreeMove(p.op)) continue
        // A chain of n matrix products would fuse into one einsum of n inputs, built in n^2:
        // fuseIntoInput stops at MAX_FUSED_INPUTS (the normal form stays sound; equivalence of
        // two such chains then needs their fusion to agree, or a proof by laws).
        const fused = fuseIntoInput(op, i, p.op)
        if (fused === undefined) continue
        op = fused
        inputs = [...inputs.slice(0, i), ...p.inputs, ...inputs.slice(i + 1)]
        // Keep the sources in the old numbering: they say which old wires are read only once.
        // What a shared free move reads is now read by each of its readers: never fuse it further.
        const ps = shared
          ? p.inputs.map(() => SHARED_SOURCE)
          : (oldSources.get(producer) as ReadonlyArray<Wire>)
        sources = [...sources.slice(0, i), ...ps, ...sources.slice(i + 1)]
        i = -1 // the new inputs may be einsums to fuse too
      }
      // The inputs of an einsum are a tuple in no particular order: sort them by what feeds them.
      const order = inputs
        .map((_, i) => i)
        .sort((i, j) => {
          const a = wireHash(inputs[i] as Wire)
          const b = wireHash(inputs[j] as Wire)
          return a < b ? -1 : a > b ? 1 : 0
        })
      if (op.kind === 'einsum' && !order.every((v, k) => v === k)) {
        const e = op
        op = einsumOf(
          { inputs: order.map((i) => e.inputs[i] as ReadonlyArray<string>), output: e.output },
          { dims: e.dims },
        )
        inputs = order.map((i) => inputs[i] as Wire)
        sources = order.map((i) => sources[i] as Wire)
      }
      op = canonical(op)
      if (isIdentityEinsum(op)) {
        alias.set(wireKey({ node: n, out: 0 }), inputs[0] as Wire)
        return
      }
    }
    const key = `${leafKey(op)}(${inputs.map(wireKey).join(',')})`
    let m = index.get(key)
    if (m === undefined) {
      m = nodes.length
      nodes.push({ op, inputs })
      index.set(key, m)
      hashes.push(fnv(`${leafHash(op)}(${inputs.map(wireHash).join(',')})`))
    }
    if (op.kind === 'einsum') {
      fusable.set(n, m)
      if (!oldSources.has(m)) oldSources.set(m, sources)
    }
    op.cod.forEach((_, out) => alias.set(wireKey({ node: n, out }), { node: m as number, out }))
  })
  return { dom: dag.dom, cod: dag.cod, nodes, outputs: dag.outputs.map(resolve) }
}

export { type Dag, fromDag, wiring }

/**
 * The structural normal form of a term.
 *
 * @example
 * ```ts
 * import { normalize, show, seq, copy, par, drop, relu, id } from 'neural-circuit-diagrams'
 * // Copy, use one copy, drop the other: just the use.
 * show(normalize(seq(copy([['k']]), par(relu('k'), drop([['k']]))))) // 'relu[k]'
 * show(normalize(seq(id([['k']]), relu('k'), id([['k']])))) // 'relu[k]'
 * ```
 */
export const normalize = (t: Term): Term => fromDag(fuseToFixpoint(toDag(pushBroadcasts(unbox(t)))))

/**
 * Fuse until nothing changes: canonicalising can merge two readers into one node, which then
 * reads its producer once and may fuse with it (the normal form must be idempotent).
 */
const fuseToFixpoint = (dag: Dag): Dag => {
  let current = dag
  for (let round = 0; round < 16; round++) {
    const next = fuseDag(current)
    if (
      postOrder(next).length === postOrder(current).length &&
      next.nodes.length === current.nodes.length
    )
      return next
    current = next
  }
  return current
}

/**
 * A key equal for two terms exactly when their normal forms are equal (cheaper than comparing
 * normal forms) and they give their size variables the same default sizes
 * ({@link defaultSizesKey}).
 */
export const normalKey = (t: Term): string => {
  // Terms are immutable, so a key computed once holds for good: a memo invisible to callers
  // (equivalence and its proof check ask for the same keys).
  const known = keyMemo.get(t)
  if (known !== undefined) return known
  const key = computeNormalKey(t)
  keyMemo.set(t, key)
  return key
}

const keyMemo = new WeakMap<Term, string>()

const computeNormalKey = (t: Term): string => {
  const dag = fuseToFixpoint(toDag(pushBroadcasts(unbox(t))))
  // Number the nodes in the canonical order, so that the key does not depend on build order.
  const number = new Map<number | string, number>()
  const name = (w: Wire): string =>
    w.node < 0 ? `in${-1 - w.node}` : `n${number.get(w.node) as number}.${w.out}`
  const keys = postOrder(dag).map((n, i) => {
    const node = dag.nodes[n] as Node
    number.set(n, i)
    return `${leafKey(node.op)}(${node.inputs.map(name).join(',')})`
  })
  // The domain too: wires name inputs by position only (`id([k])` and `id([x])` share a DAG).
  const dom = dag.dom.map((seg) => `[${shapeKey(seg)}]`).join('')
  // Default sizes are part of the meaning (dims compare by name alone everywhere else).
  const defaults = defaultSizesKey(t)
  return `${dom}:${keys.join(';')}|${dag.outputs.map(name).join(',')}${defaults === '' ? '' : `|defaults ${defaults}`}`
}
