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
 * Below this many wires a permutation is written as block swaps (one per output position, each
 * naming every wire: quadratic in size, but the shortest to read); from it on, by recursive
 * stable partition (`n log² n` in size, `n log n` for an interleaving).
 */
const SMALL_PERMUTATION = 16

/** Below this many uses a copied input is copied in a chain, from it on by a balanced tree. */
const SMALL_FAN = 8

/**
 * A wiring term `T -> T'` whose output j is input `sources[j]`: inputs used several times are
 * copied, unused ones dropped, the rest permuted. Canonical for given types and sources; its size
 * and the time to build it are about linear in the number of wires (see {@link permutation}).
 */
export const wiring = (type: TupleType, sources: ReadonlyArray<number>): Term =>
  wiringBy(permutation, type, sources)

const canonicalWiring = wiring

/**
 * {@link wiring} whose permutation moves whole blocks where it can: the inputs that stay
 * together (consecutive inputs in consecutive outputs) are one block, and a permutation of a few
 * blocks is a few block swaps (`id ⊗ swap ⊗ id` for one moved block), where {@link permutation}
 * splits every block into its wires (about `n log² n` segments for n wires). Not the normal form's
 * canonical wiring: the read-back of derivatives ({@link fromDagNested}) uses it. @internal
 */
export const blockWiring = (type: TupleType, sources: ReadonlyArray<number>): Term =>
  wiringBy(blockPermutation, type, sources)

const wiringBy = (
  permutation: (types: ReadonlyArray<Shape>, targets: ReadonlyArray<number>) => Term,
  type: TupleType,
  sources: ReadonlyArray<number>,
): Term => {
  if (sources.length === type.length && sources.every((s, i) => s === i)) return id(type)
  // Copy or drop each input as many times as it is used: the stack then holds, for input i,
  // uses(i) copies in a row.
  const uses: number[] = type.map(() => 0)
  for (const s of sources) uses[s] = (uses[s] as number) + 1
  const once = uses.every((u) => u === 1)
  // The k-th copy of input i goes to the k-th output that reads i.
  const first: number[] = []
  let at = 0
  for (const u of uses) {
    first.push(at)
    at += u
  }
  const targets: number[] = new Array<number>(sources.length)
  sources.forEach((s, j) => {
    targets[first[s] as number] = j
    first[s] = (first[s] as number) + 1
  })
  const typesInOrder: Shape[] = []
  type.forEach((s, i) => {
    for (let k = 0; k < (uses[i] as number); k++) typesInOrder.push(s)
  })
  const perm = permutation(typesInOrder, targets)
  // Inputs used once each need no fan.
  if (once) return perm
  const fan = par(...type.map((s, i) => copies(s, uses[i] as number)))
  return perm.kind === 'id' ? fan : seq(fan, perm)
}

/** `[s] -> [s]^n`: n copies (none: drop). */
const copies = (s: Shape, n: number): Term => {
  if (n === 0) return drop([s])
  if (n === 1) return id([s])
  if (n >= SMALL_FAN) {
    const half = Math.ceil(n / 2)
    return seq(copy([s]), par(copies(s, half), copies(s, n - half)))
  }
  let t: Term = copy([s])
  for (let k = 2; k < n; k++) t = seq(t, par(copy([s]), id(Array.from({ length: k - 1 }, () => s))))
  return t
}

const isSorted = (xs: ReadonlyArray<number>): boolean =>
  xs.every((x, i) => i === 0 || (xs[i - 1] as number) < x)

/**
 * The permutation term bringing wires of the given types, standing in this order, into the order
 * of their targets (distinct numbers): the wire with the smallest target first.
 */
const permutation = (types: ReadonlyArray<Shape>, targets: ReadonlyArray<number>): Term => {
  if (isSorted(targets)) return id(types)
  if (targets.length < SMALL_PERMUTATION) return blockSwaps(types, targets)
  // The lower half of the targets first (a stable partition), then each half in order.
  const pivot = [...targets].sort((a, b) => a - b)[targets.length >> 1] as number
  const low = targets.map((t) => t < pivot)
  return chain([partition(types, low), bySide(types, targets, low, permutation)])
}

/**
 * The wires whose target is low, then the others, each side in order of position and permuted
 * by `within` (the second stage of a permutation by halves of the targets).
 */
const bySide = (
  types: ReadonlyArray<Shape>,
  targets: ReadonlyArray<number>,
  low: ReadonlyArray<boolean>,
  within: (types: Shape[], targets: number[]) => Term,
): Term => {
  const side = (want: boolean): Term => {
    const ts: Shape[] = []
    const xs: number[] = []
    targets.forEach((t, i) => {
      if (low[i] === want) {
        ts.push(types[i] as Shape)
        xs.push(t)
      }
    })
    return within(ts, xs)
  }
  return par(side(true), side(false))
}

/** A sequence without its identity parts. */
const chain = (parts: ReadonlyArray<Term>): Term => {
  const kept = parts.filter((p) => p.kind !== 'id')
  return kept.length === 0 ? (parts[0] as Term) : seq(...kept)
}

/**
 * The stable partition of wires: those marked `low` first, each side in its order. Both halves
 * partitioned, then one swap brings the low wires of the right half before the others of the
 * left half.
 */
const partition = (types: ReadonlyArray<Shape>, low: ReadonlyArray<boolean>): Term => {
  const firstHigh = low.indexOf(false)
  if (firstHigh < 0 || low.indexOf(true, firstHigh) < 0) return id(types)
  const mid = types.length >> 1
  const left = partition(types.slice(0, mid), low.slice(0, mid))
  const right = partition(types.slice(mid), low.slice(mid))
  const sides = (ts: ReadonlyArray<Shape>, ls: ReadonlyArray<boolean>) => [
    ts.filter((_, i) => ls[i] === true),
    ts.filter((_, i) => ls[i] !== true),
  ]
  const [l1, h1] = sides(types.slice(0, mid), low.slice(0, mid)) as [Shape[], Shape[]]
  const [l2, h2] = sides(types.slice(mid), low.slice(mid)) as [Shape[], Shape[]]
  const exchange =
    h1.length === 0 || l2.length === 0
      ? id(types)
      : par(...[id(l1), swap(h1, l2), id(h2)].filter((t) => t.dom.length > 0))
  return chain([par(left, right), exchange])
}

/**
 * A permutation as block swaps: for each output position in turn, one block swap brings the
 * wanted wire forward (n steps, not the n² of adjacent swaps).
 */
const blockSwaps = (types: ReadonlyArray<Shape>, targets: ReadonlyArray<number>): Term => {
  const order = [...targets].sort((a, b) => a - b)
  const current = targets.map((t) => order.indexOf(t))
  const typeAt = [...types]
  const steps: Term[] = []
  for (let j = 0; j < current.length; j++) {
    const k = current.indexOf(j, j)
    if (k <= j) continue
    const before = typeAt.slice(0, j)
    const block = typeAt.slice(j, k)
    const after = typeAt.slice(k + 1)
    // Without empty identities: a wiring may be used as it is, not only read back and cleaned.
    steps.push(
      par(
        ...[id(before), swap(block, [typeAt[k] as Shape]), id(after)].filter(
          (t) => t.dom.length > 0,
        ),
      ),
    )
    current.splice(j, 0, ...current.splice(k, 1))
    typeAt.splice(j, 0, ...typeAt.splice(k, 1))
  }
  return steps.length === 0 ? id(types) : seq(...steps)
}

/** At most this many blocks are permuted block by block ({@link blockPermutation}). */
const FEW_BLOCKS = 8

/**
 * {@link permutation} by blocks: the wires in order of their targets, where runs of wires with
 * consecutive targets move as one block; with at most `FEW_BLOCKS` blocks, for each output
 * position in turn one block swap brings the wanted block forward, else {@link permutation}.
 */
const blockPermutation = (types: ReadonlyArray<Shape>, targets: ReadonlyArray<number>): Term => {
  if (isSorted(targets)) return id(types)
  // The rank of each wire's target, then the blocks: maximal runs of consecutive ranks.
  const order = targets
    .map((_, i) => i)
    .sort((a, b) => (targets[a] as number) - (targets[b] as number))
  const rank: number[] = new Array<number>(targets.length)
  order.forEach((i, r) => (rank[i] = r))
  const blocks: Array<{ readonly first: number; readonly types: Shape[] }> = []
  let current: { first: number; types: Shape[] } | undefined
  rank.forEach((r, i) => {
    if (current !== undefined && r === current.first + current.types.length)
      current.types.push(types[i] as Shape)
    else blocks.push((current = { first: r, types: [types[i] as Shape] }))
  })
  if (blocks.length > FEW_BLOCKS) {
    // The lower half of the targets first (a stable partition of runs of wires), then each half.
    const pivot = order[targets.length >> 1] as number
    const low = targets.map((t) => t < (targets[pivot] as number))
    return chain([partitionRuns(types, low), bySide(types, targets, low, blockPermutation)])
  }
  const want = [...blocks].sort((a, b) => a.first - b.first)
  const at = [...blocks]
  const steps: Term[] = []
  for (let j = 0; j < want.length; j++) {
    const k = at.indexOf(want[j] as (typeof at)[number], j)
    if (k === j) continue
    const shapes = (from: number, to: number): Shape[] => at.slice(from, to).flatMap((b) => b.types)
    steps.push(
      par(
        ...[
          id(shapes(0, j)),
          swap(shapes(j, k), shapes(k, k + 1)),
          id(shapes(k + 1, at.length)),
        ].filter((t) => t.dom.length > 0),
      ),
    )
    at.splice(j, 0, ...at.splice(k, 1))
  }
  return steps.length === 0 ? id(types) : seq(...steps)
}

/**
 * The stable partition of wires (those marked `low` first) by runs of wires on the same side:
 * both halves of the runs partitioned, then one swap brings the low wires of the right half
 * before the high ones of the left half. A partition of r runs has about `log r` levels (one
 * swap for `low high low high`), where {@link partition} halves the wires.
 */
const partitionRuns = (types: ReadonlyArray<Shape>, low: ReadonlyArray<boolean>): Term => {
  const runs: Array<{ readonly low: boolean; readonly types: Shape[] }> = []
  low.forEach((l, i) => {
    const last = runs[runs.length - 1]
    if (last !== undefined && last.low === l) last.types.push(types[i] as Shape)
    else runs.push({ low: l, types: [types[i] as Shape] })
  })
  const shapes = (rs: typeof runs, want?: boolean): Shape[] =>
    rs.flatMap((r) => (want === undefined || r.low === want ? r.types : []))
  const go = (rs: typeof runs): Term => {
    const firstHigh = rs.findIndex((r) => !r.low)
    if (firstHigh < 0 || !rs.slice(firstHigh).some((r) => r.low)) return id(shapes(rs))
    const h = rs.length >> 1
    const left = rs.slice(0, h)
    const right = rs.slice(h)
    const [l1, h1, l2, h2] = [
      shapes(left, true),
      shapes(left, false),
      shapes(right, true),
      shapes(right, false),
    ]
    const exchange =
      h1.length === 0 || l2.length === 0
        ? id(shapes(rs))
        : par(...[id(l1), swap(h1, l2), id(h2)].filter((t) => t.dom.length > 0))
    return chain([par(go(left), go(right)), exchange])
  }
  return go(runs)
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
  const pieces = independentParts(dag)
  if (pieces === undefined) return fromDagLayered(dag)
  return dropIdentities(par(...pieces.map((p) => fromDagLayered(p))), dag.dom)
}

/**
 * The connected pieces of a DAG's live part: a union-find over its inputs (items `0 .. d-1`) and
 * live nodes (item `d + node`), joined along every wire. `find` gives an item's representative,
 * `itemOf` a wire's item. Shared by {@link independentParts} and {@link components}.
 */
const connected = (
  dag: Dag,
): {
  readonly live: ReadonlyArray<number>
  readonly find: (x: number) => number
  readonly itemOf: (w: Wire) => number
} => {
  const d = dag.dom.length
  const live = postOrder(dag)
  const parent = new Map<number, number>()
  const find = (x: number): number => {
    let r = x
    while ((parent.get(r) ?? r) !== r) r = parent.get(r) as number
    let y = x
    while (y !== r) {
      const next = parent.get(y) as number
      parent.set(y, r)
      y = next
    }
    return r
  }
  const itemOf = (w: Wire): number => (w.node < 0 ? -1 - w.node : d + w.node)
  for (const n of live)
    for (const w of (dag.nodes[n] as Node).inputs) {
      const a = find(d + n)
      const b = find(itemOf(w))
      if (a !== b) parent.set(a, b)
    }
  return { live, find, itemOf }
}

/**
 * The DAG as side-by-side independent pieces, when it is one: consecutive inputs and consecutive
 * outputs per piece, no node shared between pieces (a wide `par` of maps, the derivative of one).
 * Reading each piece back on its own keeps the wiring between layers local, where one layered
 * read-back of the whole would permute wires across the whole width (quadratic in it). The finest
 * such split is unique, so equal DAGs still read back to equal terms. An input no output reads
 * joins the piece of the next input that is read (the last piece when none follows).
 */
const independentParts = (dag: Dag): Dag[] | undefined => {
  const d = dag.dom.length
  const m = dag.outputs.length
  if (m < 2) return undefined
  const { live, find, itemOf } = connected(dag)
  // Each output's piece; pieces are runs of outputs whose components do not reach past the run.
  const outRoot = dag.outputs.map((w) => find(itemOf(w)))
  const lastOut = new Map<number, number>()
  outRoot.forEach((r, j) => lastOut.set(r, j))
  const inMin = new Map<number, number>()
  const inMax = new Map<number, number>()
  for (let i = 0; i < d; i++) {
    const r = find(i)
    if (!inMin.has(r)) inMin.set(r, i)
    inMax.set(r, i)
  }
  interface Piece {
    outFrom: number
    outTo: number
    inFrom: number // the inputs its components read (Infinity / -1 when none)
    inTo: number
    below: number
  }
  const pieces: Piece[] = []
  let open: Piece | undefined
  let reach = -1
  outRoot.forEach((r, j) => {
    open ??= { outFrom: j, outTo: j, inFrom: Infinity, inTo: -1, below: -1 }
    reach = Math.max(reach, lastOut.get(r) as number)
    open.inFrom = Math.min(open.inFrom, inMin.get(r) ?? Infinity)
    open.inTo = Math.max(open.inTo, inMax.get(r) ?? -1)
    if (reach === j) {
      open.outTo = j
      // Inputs must come in the order of the outputs: merge with the earlier pieces back to the
      // first one reading an input at or after this piece's first (`below`: the last input any
      // piece up to there reads).
      let top = pieces[pieces.length - 1]
      while (top !== undefined && open.inTo >= 0 && top.below >= open.inFrom) {
        pieces.pop()
        open = {
          outFrom: top.outFrom,
          outTo: open.outTo,
          inFrom: Math.min(top.inFrom, open.inFrom),
          inTo: Math.max(top.inTo, open.inTo),
          below: -1,
        }
        top = pieces[pieces.length - 1]
      }
      open.below = Math.max(open.inTo, top?.below ?? -1)
      pieces.push(open)
      open = undefined
    }
  })
  if (pieces.length < 2) return undefined
  // Input ranges: from just after the previous piece's to the last input this piece reads.
  let next = 0
  const ranges = pieces.map((p, k) => {
    const from = next
    const to = k === pieces.length - 1 ? d : Math.max(p.inTo + 1, from)
    next = to
    return [from, to] as const
  })
  // Each piece's nodes, renumbered in their old order.
  const pieceOfRoot = new Map<number, number>()
  pieces.forEach((p, k) => {
    for (let j = p.outFrom; j <= p.outTo; j++) pieceOfRoot.set(outRoot[j] as number, k)
  })
  const renumber = new Map<number, number>()
  const nodesOf: Node[][] = pieces.map(() => [])
  const byIndex = [...live].sort((a, b) => a - b)
  for (const n of byIndex) {
    const k = pieceOfRoot.get(find(d + n)) as number
    renumber.set(n, (nodesOf[k] as Node[]).length)
    ;(nodesOf[k] as Node[]).push(dag.nodes[n] as Node)
  }
  return pieces.map((p, k) => {
    const [from, to] = ranges[k] as readonly [number, number]
    const wire = (w: Wire): Wire =>
      w.node < 0
        ? { node: -1 - (-1 - w.node - from), out: 0 }
        : { node: renumber.get(w.node) as number, out: w.out }
    return {
      dom: dag.dom.slice(from, to),
      cod: dag.cod.slice(p.outFrom, p.outTo + 1),
      nodes: (nodesOf[k] as Node[]).map((node) => ({ op: node.op, inputs: node.inputs.map(wire) })),
      outputs: dag.outputs.slice(p.outFrom, p.outTo + 1).map(wire),
    }
  })
}

/** {@link fromDag} in one piece: layer by layer across the whole width. */
const fromDagLayered = (dag: Dag, wiring = canonicalWiring): Term => {
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

/**
 * Below this many nodes a run of nodes is read back layer by layer ({@link fromDagLayered}: the
 * nodes side by side where they can be, easiest to read); from it on, by halves
 * ({@link fromDagNested}).
 */
const SMALL_RUN = 24

/** Options of {@link fromDagNested}. @internal */
export interface ReadBackOptions {
  /**
   * Order the nodes by {@link releasingOrder} instead of {@link postOrder}: a node that is the
   * last reader of a value runs as soon as its inputs are ready, so that the value is released
   * early (the evaluator frees a slot after its last read, src/eval/evaluate.ts). The gradient
   * uses it: the cotangent of a weight is taken as soon as the cotangent of its layer's output is
   * known, not after the whole backward pass, which would keep every layer's residuals and
   * output cotangents alive together. Default false (the canonical order).
   */
  readonly releaseEarly?: boolean
  /**
   * With `releaseEarly`: nodes of these ops that have one reader and are not outputs run just
   * before that reader, wherever their inputs were made (a move of data the reader's value is
   * cheaper to keep the input of; the gradient's copies of cut images).
   */
  readonly defer?: (op: Term) => boolean
}

/**
 * {@link postOrder} where a node that would release a value (it is the last reader, in the order
 * made so far, of some input made by a node, not an output of the DAG) runs as soon as all its
 * inputs are made, instead of where the depth-first walk meets it. In a reverse derivative read
 * depth-first from its first output (the input's cotangent), the weights' cotangents come last,
 * each reading a residual of the forward pass and the cotangent of its layer's output: all of
 * them would be held until the end. Here each runs as soon as that cotangent exists, releasing
 * both. The order stays a topological order of the same nodes (inputs before users). @internal
 */
export const releasingOrder = (dag: Dag, defer?: (op: Term) => boolean): number[] => {
  const base = postOrder(dag)
  const live = new Set(base)
  // Distinct readers of every wire (by key) among the live nodes; outputs are never released.
  const readers = new Map<number | string, Set<number>>()
  for (const n of base)
    for (const w of (dag.nodes[n] as Node).inputs) {
      if (w.node < 0) continue
      const k = wireKey(w)
      let rs = readers.get(k)
      if (rs === undefined) readers.set(k, (rs = new Set()))
      rs.add(n)
    }
  const outputKeys = new Set(dag.outputs.map(wireKey))
  // The readers of each node's outputs (candidates once the node is made).
  const users = new Map<number, Set<number>>()
  for (const n of base)
    for (const w of (dag.nodes[n] as Node).inputs)
      if (w.node >= 0) {
        let us = users.get(w.node)
        if (us === undefined) users.set(w.node, (us = new Set()))
        us.add(n)
      }
  // Deferred: made just before their one reader (by `emit`), never on their own.
  const deferred = new Set<number>()
  if (defer !== undefined)
    for (const n of base) {
      const node = dag.nodes[n] as Node
      if (!defer(node.op) || node.op.cod.length !== 1) continue
      const k = wireKey({ node: n, out: 0 })
      if (!outputKeys.has(k) && readers.get(k)?.size === 1) deferred.add(n)
    }
  const made = new Set<number>()
  const order: number[] = []
  const ready = (n: number): boolean =>
    (dag.nodes[n] as Node).inputs.every(
      (w) => w.node < 0 || made.has(w.node) || (deferred.has(w.node) && ready(w.node)),
    )
  const releases = (n: number): boolean =>
    (dag.nodes[n] as Node).inputs.some((w) => {
      if (w.node < 0 || !made.has(w.node)) return false
      const k = wireKey(w)
      return !outputKeys.has(k) && (readers.get(k) as Set<number>).size === 1
    })
  const queue: number[] = []
  const emit = (n: number) => {
    for (const w of (dag.nodes[n] as Node).inputs)
      if (w.node >= 0 && deferred.has(w.node) && !made.has(w.node)) emit(w.node)
    made.add(n)
    order.push(n)
    for (const w of (dag.nodes[n] as Node).inputs) {
      if (w.node < 0) continue
      const rs = readers.get(wireKey(w)) as Set<number>
      rs.delete(n)
      // The one reader left may now release it.
      if (rs.size === 1) queue.push(...rs)
    }
    for (const u of users.get(n) ?? []) queue.push(u)
  }
  for (const n of base) {
    if (made.has(n) || deferred.has(n)) continue
    emit(n)
    while (queue.length > 0) {
      const m = queue.pop() as number
      if (!made.has(m) && !deferred.has(m) && live.has(m) && ready(m) && releases(m)) emit(m)
    }
  }
  return order
}

/**
 * {@link fromDag} for graphs whose values live long (a reverse derivative reads the forward
 * values in reverse order): the nodes in canonical order are cut in halves, recursively, and a
 * wire that a half neither reads nor makes passes it by in one identity beside it, instead of
 * being carried through every layer of it. Each wire is then handled by the O(log n) halves
 * that contain one of its ends, so the term's size is about linear in the number of edges
 * (times a logarithm), where the layered read-back is the number of layers times the number of
 * live wires (quadratic for the gradient of an n-layer network). Runs of fewer than
 * `SMALL_RUN` nodes are read back layer by layer. Equal DAGs read back to equal terms.
 */
export const fromDagNested = (dag: Dag, options: ReadBackOptions = {}): Term => {
  const defer = options.defer
  const order = options.releaseEarly === true ? (d: Dag) => releasingOrder(d, defer) : postOrder
  const parts = components(dag)
  if (parts === undefined) return nestedPiece(dag, order)
  const pieces = parts.pieces.map((p) => nestedPiece(p.dag, order))
  const pre = blockWiring(
    dag.dom,
    parts.pieces.flatMap((p) => p.inputs),
  )
  const gives = parts.pieces.flatMap((p) => p.dag.cod)
  const post = blockWiring(gives, parts.outputs)
  return dropIdentities(chain([pre, par(...pieces), post]), dag.dom)
}

/**
 * The connected components of a DAG (its inputs and live nodes, joined by edges), when there are
 * several: each as a DAG of its own, with the inputs it reads (in order) and, for each output of
 * the whole, where it stands among the components' outputs. Components come in the order of
 * their first output; inputs no output depends on are left out. A wide stack of maps and its
 * derivatives, whose inputs come grouped by kind (points, then tangents) rather than by part,
 * is one permutation, the parts side by side, and another permutation.
 */
const components = (
  dag: Dag,
):
  | {
      readonly pieces: ReadonlyArray<{ readonly dag: Dag; readonly inputs: ReadonlyArray<number> }>
      readonly outputs: ReadonlyArray<number>
    }
  | undefined => {
  const d = dag.dom.length
  if (dag.outputs.length < 2) return undefined
  const { live, find, itemOf } = connected(dag)
  // Components by their first output.
  const rank = new Map<number, number>()
  for (const w of dag.outputs) {
    const r = find(itemOf(w))
    if (!rank.has(r)) rank.set(r, rank.size)
  }
  if (rank.size < 2) return undefined
  const k = rank.size
  const inputs: number[][] = Array.from({ length: k }, () => [])
  for (let i = 0; i < d; i++) {
    const c = rank.get(find(i))
    if (c !== undefined) (inputs[c] as number[]).push(i)
  }
  const nodesOf: number[][] = Array.from({ length: k }, () => [])
  for (const n of [...live].sort((a, b) => a - b))
    (nodesOf[rank.get(find(d + n)) as number] as number[]).push(n)
  const outsOf: Wire[][] = Array.from({ length: k }, () => [])
  const outKeys: Array<Map<number | string, number>> = Array.from({ length: k }, () => new Map())
  const placeOf = dag.outputs.map((w) => {
    const c = rank.get(find(itemOf(w))) as number
    const keys = outKeys[c] as Map<number | string, number>
    const key = wireKey(w)
    if (!keys.has(key)) {
      keys.set(key, (outsOf[c] as Wire[]).length)
      ;(outsOf[c] as Wire[]).push(w)
    }
    return [c, keys.get(key) as number] as const
  })
  const offsets: number[] = []
  let at = 0
  for (const os of outsOf) {
    offsets.push(at)
    at += os.length
  }
  const pieces = inputs.map((ins, c) => {
    const inputAt = new Map(ins.map((i, j) => [i, j] as const))
    const renumber = new Map((nodesOf[c] as number[]).map((n, j) => [n, j] as const))
    const wire = (w: Wire): Wire =>
      w.node < 0
        ? { node: -1 - (inputAt.get(-1 - w.node) as number), out: 0 }
        : { node: renumber.get(w.node) as number, out: w.out }
    const outs = outsOf[c] as Wire[]
    return {
      inputs: ins,
      dag: {
        dom: ins.map((i) => dag.dom[i] as Shape),
        cod: outs.map((w) =>
          w.node < 0
            ? (dag.dom[-1 - w.node] as Shape)
            : ((dag.nodes[w.node] as Node).op.cod[w.out] as Shape),
        ),
        nodes: (nodesOf[c] as number[]).map((n) => {
          const node = dag.nodes[n] as Node
          return { op: node.op, inputs: node.inputs.map(wire) }
        }),
        outputs: outs.map(wire),
      },
    }
  })
  return { pieces, outputs: placeOf.map(([c, j]) => (offsets[c] as number) + j) }
}

const nestedPiece = (dag: Dag, orderOf: (dag: Dag) => number[]): Term => {
  const order = orderOf(dag)
  if (order.length < SMALL_RUN) return fromDagLayered(dag, blockWiring)
  const typeOf = (w: Wire): Shape =>
    (w.node < 0 ? dag.dom[-1 - w.node] : (dag.nodes[w.node] as Node).op.cod[w.out]) as Shape
  const types = (ws: ReadonlyArray<Wire>): Shape[] => ws.map(typeOf)
  // Where each node stands in the order (its step).
  const stepOf = new Map<number, number>()
  order.forEach((n, i) => stepOf.set(n, i))
  const distinct = (ws: Iterable<Wire>): Wire[] => {
    const seen = new Set<number | string>()
    const out: Wire[] = []
    for (const w of ws) {
      const k = wireKey(w)
      if (!seen.has(k)) {
        seen.add(k)
        out.push(w)
      }
    }
    return out
  }
  /** Where each wire of `ws` stands in `from`. */
  const indexIn = (from: ReadonlyArray<Wire>, ws: ReadonlyArray<Wire>): number[] => {
    const at = new Map<number | string, number>()
    from.forEach((w, i) => {
      const k = wireKey(w)
      if (!at.has(k)) at.set(k, i)
    })
    return ws.map((w) => at.get(wireKey(w)) as number)
  }
  const made = (w: Wire, from: number, to: number): boolean => {
    if (w.node < 0) return false
    const s = stepOf.get(w.node) as number
    return s >= from && s < to
  }
  /**
   * Steps [from, to) on the wires `live` (distinct), giving `needed` (distinct): what they do
   * not read passes by in one identity.
   */
  const build = (
    from: number,
    to: number,
    live: ReadonlyArray<Wire>,
    needed: ReadonlyArray<Wire>,
  ): Term => {
    const reads = new Set<number | string>()
    for (let i = from; i < to; i++)
      for (const w of (dag.nodes[order[i] as number] as Node).inputs) reads.add(wireKey(w))
    const used = live.filter((w) => reads.has(wireKey(w)))
    const usedKeys = new Set(used.map(wireKey))
    const bypass = needed.filter((w) => !made(w, from, to) && !usedKeys.has(wireKey(w)))
    const bypassKeys = new Set(bypass.map(wireKey))
    const inner = needed.filter((w) => !bypassKeys.has(wireKey(w)))
    const core = steps(from, to, used, inner)
    const pre = blockWiring(types(live), indexIn(live, [...used, ...bypass]))
    const mid = bypass.length === 0 ? core : par(core, id(types(bypass)))
    const post = blockWiring(
      [...types(inner), ...types(bypass)],
      indexIn([...inner, ...bypass], needed),
    )
    return chain([pre, mid, post])
  }
  const steps = (
    from: number,
    to: number,
    live: ReadonlyArray<Wire>,
    needed: ReadonlyArray<Wire>,
  ): Term => {
    if (to - from < SMALL_RUN) return layeredRun(from, to, live, needed)
    const mid = (from + to) >> 1
    // What the second half reads from before it, and what must come out of the whole that the
    // second half does not make.
    const after: Wire[] = []
    for (let i = mid; i < to; i++)
      for (const w of (dag.nodes[order[i] as number] as Node).inputs)
        if (!made(w, mid, to)) after.push(w)
    for (const w of needed) if (!made(w, mid, to)) after.push(w)
    const between = distinct(after)
    return seq(build(from, mid, live, between), build(mid, to, between, needed))
  }
  /** A short run of steps read back layer by layer, as a DAG of its own. */
  const layeredRun = (
    from: number,
    to: number,
    live: ReadonlyArray<Wire>,
    needed: ReadonlyArray<Wire>,
  ): Term => {
    const renumber = new Map<number, number>()
    for (let i = from; i < to; i++) renumber.set(order[i] as number, i - from)
    const liveAt = new Map<number | string, number>()
    live.forEach((w, i) => liveAt.set(wireKey(w), i))
    const local = (w: Wire): Wire => {
      const n = w.node < 0 ? undefined : renumber.get(w.node)
      return n !== undefined
        ? { node: n, out: w.out }
        : { node: -1 - (liveAt.get(wireKey(w)) as number), out: 0 }
    }
    const nodes: Node[] = []
    for (let i = from; i < to; i++) {
      const node = dag.nodes[order[i] as number] as Node
      nodes.push({ op: node.op, inputs: node.inputs.map(local) })
    }
    return fromDagLayered(
      {
        dom: types(live),
        cod: types(needed),
        nodes,
        outputs: needed.map(local),
      },
      blockWiring,
    )
  }
  const inputs = dag.dom.map((_, i) => ({ node: -1 - i, out: 0 }))
  const outs = distinct(dag.outputs)
  const body = build(0, order.length, inputs, outs)
  const last = blockWiring(types(outs), indexIn(outs, dag.outputs))
  return dropIdentities(chain([body, last]), dag.dom)
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
      // Each run of adjacent identities is one identity (built once: merging them one by one
      // would cost the square of the run).
      const merged: Term[] = []
      let run: Term[] = []
      const flush = () => {
        if (run.length === 1) merged.push(run[0] as Term)
        else if (run.length > 1) merged.push(id(run.flatMap((r) => r.dom)))
        run = []
      }
      for (const p of parts) {
        if (p.kind === 'id') run.push(p)
        else {
          flush()
          merged.push(p)
        }
      }
      flush()
      // Nothing to clean: the same term (rebuilding it would cost its whole width again).
      if (merged.length === x.parts.length && merged.every((p, i) => p === x.parts[i])) return x
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
): Term => fromDagNested(graphDag(dom, build))

/**
 * A growing list of DAG nodes where the same term on the same wires is one node: a value computed
 * twice (the forward values a transposed term recomputes, say) is computed once. "The same" is by
 * data ({@link dataKey}), never by object identity: a term and its JSON round trip build the same
 * graph. `node` adds (or finds) a node and returns its output wires. @internal
 */
export const hashConsedNodes = (): {
  readonly nodes: Node[]
  readonly node: (op: Term, inputs: ReadonlyArray<Wire>) => Wire[]
} => {
  const nodes: Node[] = []
  const index = new Map<string, number>()
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
  return { nodes, node }
}

/** The DAG {@link graph} reads back, for a pass over it first. @internal */
export const graphDag = (
  dom: TupleType,
  build: (inputs: Wire[], apply: Apply) => ReadonlyArray<Wire>,
): Dag => {
  const { nodes, node } = hashConsedNodes()
  const typeOf = (w: Wire): Shape =>
    (w.node < 0 ? dom[-1 - w.node] : (nodes[w.node] as Node).op.cod[w.out]) as Shape
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
  return { dom, cod: outputs.map(typeOf), nodes, outputs }
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
    case 'broadcast':
      // Wiring broadcast with its axes in one place everywhere is that wiring on the broadcast
      // types (the transpose of a broadcast add is a broadcast copy): its wires, not an opaque
      // node, so that what reads them is seen.
      if (uniformPlacement(term) && isWiring(term.body)) return walkStructure(term.body, ins, node)
      return node(term, ins)
    case 'derivative':
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

/** Whether every input and output of a broadcast has its axes at one same position. */
const uniformPlacement = (t: Extract<Term, { kind: 'broadcast' }>): boolean => {
  const p = t.inputs[0] ?? t.outputs[0]
  return typeof p === 'number' && t.inputs.every((q) => q === p) && t.outputs.every((q) => q === p)
}

/** Whether a term is only wiring: identities, swaps, copies and drops in sequence and side by side. */
const isWiring = (t: Term): boolean =>
  t.kind === 'id' ||
  t.kind === 'swap' ||
  t.kind === 'copy' ||
  t.kind === 'drop' ||
  ((t.kind === 'seq' || t.kind === 'par') && t.parts.every(isWiring))
