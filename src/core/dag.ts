/**
 * Dataflow graphs of terms: nodes are terms applied to wires, read back into a term layer by
 * layer with Cartesian wiring (copy, drop, swap) between layers. The normal form builds its DAG
 * here; derivatives and transposes build their terms as graphs, which is easier to get right than
 * wiring by hand.
 *
 * @packageDocumentation
 */
import { copy, drop, id, par, seq, swap } from './construct.js'
import { dimKey } from './dim.js'
import { dataKey } from './equal.js'
import { absurd, fail } from './errors.js'
import { show } from './show.js'
import type { Term } from './term.js'
import { type Shape, type TupleType, concatTypes, showType } from './types.js'

/** An edge of the DAG: an output of a node, or an input of the term (node < 0). */
export interface Wire {
  readonly node: number
  readonly out: number
}

export interface Node {
  readonly op: Term
  readonly inputs: ReadonlyArray<Wire>
}

/** The DAG of a term: its primitive nodes (deduplicated) and its output wires. */
export interface Dag {
  readonly dom: TupleType
  readonly cod: TupleType
  readonly nodes: ReadonlyArray<Node>
  readonly outputs: ReadonlyArray<Wire>
}

/**
 * A wire as one map key: a number for the usual outputs (below 4096), a string beyond, so that
 * no two wires share a key.
 */
export const wireKey = (w: Wire): number | string =>
  w.out < 4096 ? (w.node + 2 ** 31) * 4096 + w.out : `${w.node}.${w.out}`

/**
 * A wiring term `T -> T'` whose output j is input `sources[j]`: inputs used several times are
 * copied, unused ones dropped, the rest permuted. Canonical for given types and sources.
 */
export const wiring = (type: TupleType, sources: ReadonlyArray<number>): Term => {
  if (sources.length === type.length && sources.every((s, i) => s === i)) return id(type)
  // Copy or drop each input as many times as it is used: the stack then holds, for input i,
  // uses(i) copies in a row.
  const uses = type.map((_, i) => sources.filter((s) => s === i).length)
  const fan = par(
    ...type.map((s, i) => {
      const n = uses[i] as number
      if (n === 0) return drop([s])
      let t: Term = id([s])
      for (let k = 1; k < n; k++)
        t = k === 1 ? copy([s]) : seq(t, par(copy([s]), id(Array.from({ length: k - 1 }, () => s))))
      return t
    }),
  )
  // The order the copies stand in, and the order wanted: for each output position in turn, one
  // block swap brings the wanted copy forward (n steps, not the n^2 of adjacent swaps).
  const current: number[] = type.flatMap((_, i) =>
    Array.from({ length: uses[i] as number }, () => i),
  )
  const steps: Term[] = []
  const typeOf = (i: number) => type[i] as Shape
  for (let j = 0; j < sources.length; j++) {
    const k = current.indexOf(sources[j] as number, j)
    if (k <= j) continue
    const before = current.slice(0, j).map(typeOf)
    const block = current.slice(j, k).map(typeOf)
    const after = current.slice(k + 1).map(typeOf)
    steps.push(par(id(before), swap(block, [typeOf(current[k] as number)]), id(after)))
    current.splice(j, 0, ...current.splice(k, 1))
  }
  // Inputs used once each need no fan.
  return uses.every((u) => u === 1)
    ? seq(...(steps.length > 0 ? steps : [id(type)]))
    : seq(fan, ...steps)
}

/**
 * The nodes reachable from the outputs, inputs before users, depth-first and left to right
 * (iterative: chains of 10^5 nodes do not overflow the stack).
 */
export const postOrder = (dag: Dag): number[] => {
  const order: number[] = []
  const seen = new Set<number>()
  for (const root of dag.outputs) {
    if (root.node < 0 || seen.has(root.node)) continue
    const stack: Array<{ node: number; next: number }> = [{ node: root.node, next: 0 }]
    seen.add(root.node)
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { node: number; next: number }
      const inputs = (dag.nodes[top.node] as Node).inputs
      if (top.next < inputs.length) {
        const w = inputs[top.next++] as Wire
        if (w.node >= 0 && !seen.has(w.node)) {
          seen.add(w.node)
          stack.push({ node: w.node, next: 0 })
        }
      } else {
        order.push(top.node)
        stack.pop()
      }
    }
  }
  return order
}

/**
 * Read a DAG back into a term, layer by layer: the nodes whose inputs are all ready run side by
 * side, fed by one wiring term that brings their inputs into place and keeps what later layers
 * and the outputs still need. Nodes are ordered canonically (depth-first from the outputs, left
 * to right), so equal DAGs read back to equal terms; each layer costs its width.
 */
export const fromDag = (dag: Dag): Term => {
  const order = postOrder(dag)
  // Layers: a node runs one layer after the latest of its inputs.
  const layerOf = new Map<number | string, number>()
  const layers: number[][] = []
  for (const n of order) {
    const layer = Math.max(
      0,
      ...(dag.nodes[n] as Node).inputs.map((w) =>
        w.node < 0 ? 0 : (layerOf.get(w.node) as number) + 1,
      ),
    )
    layerOf.set(n, layer)
  }
  // Nodes without inputs (parameters, zeros) run just before their first user, so that they are
  // not carried through every layer before it.
  const firstUse = new Map<number | string, number>()
  for (const n of order)
    for (const w of (dag.nodes[n] as Node).inputs)
      if (w.node >= 0)
        firstUse.set(w.node, Math.min(firstUse.get(w.node) ?? Infinity, layerOf.get(n) as number))
  for (const n of order) {
    const use = firstUse.get(n)
    if ((dag.nodes[n] as Node).inputs.length === 0 && use !== undefined) layerOf.set(n, use - 1)
    const layer = layerOf.get(n) as number
    ;(layers[layer] ??= []).push(n)
  }
  // The last layer that reads each wire (outputs count as after every layer).
  const lastUse = new Map<number | string, number>()
  layers.forEach((ns, l) =>
    ns.forEach((n) => (dag.nodes[n] as Node).inputs.forEach((w) => lastUse.set(wireKey(w), l))),
  )
  dag.outputs.forEach((w) => lastUse.set(wireKey(w), Infinity))
  let live: Wire[] = dag.dom.map((_, i) => ({ node: -1 - i, out: 0 }))
  let types: Shape[] = [...dag.dom]
  const parts: Term[] = []
  const positions = (ws: ReadonlyArray<Wire>): Map<number | string, number> => {
    const at = new Map<number | string, number>()
    ws.forEach((w, i) => {
      const k = wireKey(w)
      if (!at.has(k)) at.set(k, i)
    })
    return at
  }
  layers.forEach((ns, l) => {
    const at = positions(live)
    const keep = live.filter(
      (w, i) => (lastUse.get(wireKey(w)) ?? -1) > l && at.get(wireKey(w)) === i,
    )
    const inputs = ns.flatMap((n) => (dag.nodes[n] as Node).inputs)
    const sources = [...inputs, ...keep].map((w) => at.get(wireKey(w)) as number)
    const keptTypes = keep.map((k) => types[at.get(wireKey(k)) as number] as Shape)
    const ops = ns.map((n) => (dag.nodes[n] as Node).op)
    if (sources.length !== types.length || sources.some((x, i) => x !== i))
      parts.push(wiring(types, sources))
    parts.push(keptTypes.length === 0 ? par(...ops) : par(...ops, id(keptTypes)))
    live = [
      ...ns.flatMap((n) => (dag.nodes[n] as Node).op.cod.map((_, out) => ({ node: n, out }))),
      ...keep,
    ]
    types = [...ops.flatMap((o) => o.cod), ...keptTypes]
  })
  const at = positions(live)
  const last = wiring(
    types,
    dag.outputs.map((w) => at.get(wireKey(w)) as number),
  )
  if (last.kind !== 'id' || parts.length === 0) parts.push(last)
  return dropIdentities(seq(...parts), concatTypes(dag.dom))
}

/** Remove identity parts of sequences and empty identities of stacks (the unit laws). */
const dropIdentities = (t: Term, dom: TupleType): Term => {
  const clean = (x: Term): Term => {
    if (x.kind === 'seq') {
      const parts = x.parts.map(clean).filter((p) => p.kind !== 'id')
      if (parts.length === x.parts.length && parts.every((p, i) => p === x.parts[i])) return x
      return parts.length === 0 ? id(x.dom) : seq(...parts)
    }
    if (x.kind === 'par') {
      const parts = x.parts.map(clean).filter((p) => !(p.kind === 'id' && p.dom.length === 0))
      const merged: Term[] = []
      for (const p of parts) {
        const last = merged[merged.length - 1]
        if (p.kind === 'id' && last?.kind === 'id')
          merged[merged.length - 1] = id([...last.dom, ...p.dom])
        else merged.push(p)
      }
      return merged.length === 0 ? id([]) : par(...merged)
    }
    return x
  }
  const out = clean(t)
  return out.kind === 'id' && out.dom.length !== dom.length ? id(dom) : out
}

/** Apply a term to wires in a {@link graph}: its outputs, as wires. */
export type Apply = (op: Term, ...inputs: ReadonlyArray<Wire>) => Wire[]

/**
 * Build a term from a dataflow graph: `build` receives the input wires and `apply`, which adds a
 * node, and returns the output wires. The term is read back as the normal form reads its DAG
 * (wires used twice are copied, unused ones dropped). The same term applied to the same wires
 * twice is one node, "the same" by its data ({@link dataKey}), never by object identity, so a
 * term and its JSON round trip build the same graph. A node whose inputs do not fit is refused
 * at once, naming it.
 *
 * @example
 * ```ts
 * import { graph, mul, show } from 'neural-circuit-diagrams'
 * // x ↦ x·x
 * show(graph([[]], ([x], apply) => apply(mul(), x!, x!))) // 'copy([]) ; mul'
 * ```
 */
export const graph = (
  dom: TupleType,
  build: (inputs: Wire[], apply: Apply) => ReadonlyArray<Wire>,
): Term => {
  const nodes: Node[] = []
  const index = new Map<string, number>()
  const typeOf = (w: Wire): Shape =>
    (w.node < 0 ? dom[-1 - w.node] : (nodes[w.node] as Node).op.cod[w.out]) as Shape
  // The same term on the same wires is one node: a value computed twice (the forward values a
  // transposed term recomputes, say) is computed once. "The same" is by data (`dataKey`), never
  // by object identity: a term and its JSON round trip build the same graph.
  const node = (op: Term, inputs: ReadonlyArray<Wire>): Wire[] => {
    const key = `${dataKey(op)}(${inputs.map(wireKey).join(',')})`
    let n = index.get(key)
    if (n === undefined) {
      n = nodes.length
      nodes.push({ op, inputs })
      index.set(key, n)
    }
    return op.cod.map((_, out) => ({ node: n as number, out }))
  }
  const apply: Apply = (op, ...inputs) => {
    const got = inputs.map(typeOf)
    if (
      got.length !== op.dom.length ||
      got.some((s, i) => s.map(dimKey).join(' ') !== (op.dom[i] as Shape).map(dimKey).join(' '))
    )
      fail('type-mismatch', 'graph: a node gets inputs of the wrong type', {
        expected: showType(op.dom),
        got: showType(got),
        where: show(op, { maxLength: 120 }),
      })
    return walkStructure(op, inputs, node)
  }
  const outputs = build(
    dom.map((_, i) => ({ node: -1 - i, out: 0 })),
    apply,
  )
  return fromDag({ dom, cod: outputs.map(typeOf), nodes, outputs })
}

/**
 * Follow a term's tuple structure (sequences, stacks, identities, swaps, copies, drops, boxes) on
 * wires, handing every other node to `node`: the walk of a term into a DAG.
 */
export const walkStructure = (
  term: Term,
  ins: ReadonlyArray<Wire>,
  node: (op: Term, ins: ReadonlyArray<Wire>) => Wire[],
): Wire[] => {
  switch (term.kind) {
    case 'id':
      return [...ins]
    case 'seq':
      return term.parts.reduce<Wire[]>((ws, p) => walkStructure(p, ws, node), [...ins])
    case 'par': {
      let at = 0
      return term.parts.flatMap((p) => {
        const part = ins.slice(at, at + p.dom.length)
        at += p.dom.length
        return walkStructure(p, part, node)
      })
    }
    case 'swap':
      return [...ins.slice(term.left.length), ...ins.slice(0, term.left.length)]
    case 'copy':
      return [...ins, ...ins]
    case 'drop':
      return []
    case 'box':
      return walkStructure(term.body, ins, node)
    case 'derivative':
    case 'broadcast':
    case 'einsum':
    case 'scalar':
    case 'axisOp':
    case 'index':
    case 'view':
    case 'pad':
    case 'convTensor':
    case 'concat':
    case 'zero':
    case 'param':
    case 'generator':
      return node(term, ins)
    default:
      return absurd(term)
  }
}
