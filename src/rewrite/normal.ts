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
 * @packageDocumentation
 */
import { broadcast, copy, drop, id, par, seq, swap } from '../core/construct.js'
import { dimKey } from '../core/dim.js'
import { absurd } from '../core/errors.js'
import type { Placement, Term } from '../core/term.js'
import { type Shape, type TupleType, concatTypes } from '../core/types.js'
import { einsum } from '../linear/einsum.js'

const allAt = (ps: ReadonlyArray<Placement>, at: number): boolean => ps.every((p) => p === at)

const sameShape = (a: ReadonlyArray<Placement>, b: ReadonlyArray<Placement>): boolean =>
  a.length === b.length && a.every((p, i) => p === b[i])

/** Unfold named boxes. */
const unbox = (t: Term): Term => {
  if (t.kind === 'box') return unbox(t.body)
  if (t.kind === 'seq') return seq(...t.parts.map(unbox))
  if (t.kind === 'par') return par(...t.parts.map(unbox))
  if (t.kind === 'broadcast')
    return broadcast(unbox(t.body), t.axes, { inputs: t.inputs, outputs: t.outputs })
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
  const dims: Record<string, Shape[number]> = {}
  for (const [l, d] of Object.entries(e.dims)) dims[l] = d
  fresh.forEach((l, i) => (dims[l] = axes[i] as Shape[number]))
  const spec = `${ins.map((ls) => ls.join(' ')).join(', ')} -> ${out.join(' ')}`
  return einsum(spec, { dims })
}

/**
 * Push a broadcast of `body` (already pushed) over `axes` down to primitives.
 */
const pushBroadcast = (
  body: Term,
  axes: Shape,
  inputs: ReadonlyArray<Placement>,
  outputs: ReadonlyArray<number>,
): Term => {
  if (axes.length === 0) return body
  const keep = () => broadcast(body, axes, { inputs, outputs })
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
      return sameShape(inputs, outputs) ? id(keep().dom) : keep()
    case 'copy':
      return sameShape(inputs, outputs.slice(0, inputs.length)) &&
        sameShape(inputs, outputs.slice(inputs.length))
        ? copy(keep().dom)
        : keep()
    case 'drop':
      return drop(keep().dom)
    case 'swap': {
      const l = body.left.length
      const swapped = [...inputs.slice(l), ...inputs.slice(0, l)]
      if (!sameShape(swapped, outputs)) return keep()
      const t = keep()
      return swap(t.dom.slice(0, l), t.dom.slice(l))
    }
    case 'einsum':
      return absorbIntoEinsum(body, axes, inputs, outputs)
    case 'broadcast':
      // Nested broadcasts whose axes all lead (or are shared alike) are one broadcast.
      if (
        inputs.every((p, i) => (p === 'shared' ? body.inputs[i] === 'shared' : p === 0)) &&
        body.inputs.every((p) => p === 'shared' || p === 0) &&
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
    case 'scalar':
    case 'axisOp':
    case 'index':
    case 'view':
    case 'pad':
    case 'convTensor':
    case 'zero':
    case 'param':
      return keep()
    default:
      return absurd(body)
  }
}

/** Push every broadcast of a term down to primitives (boxes unfolded). */
export const pushBroadcasts = (t: Term): Term => {
  if (t.kind === 'box') return pushBroadcasts(t.body)
  if (t.kind === 'seq') return seq(...t.parts.map(pushBroadcasts))
  if (t.kind === 'par') return par(...t.parts.map(pushBroadcasts))
  if (t.kind === 'broadcast')
    return pushBroadcast(pushBroadcasts(t.body), t.axes, t.inputs, t.outputs)
  return t
}

/** An edge of the DAG: an output of a node, or an input of the term (node < 0). */
interface Wire {
  readonly node: number
  readonly out: number
}

interface Node {
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

/** A canonical text of a term's constructor data (dims by key), for hash-consing. @internal */
export const leafKey = (t: Term): string =>
  JSON.stringify(t, (k, v: unknown) => {
    if (k === 'dom' || k === 'cod' || k === 'linearity' || k === 'poly') return undefined
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const kind = (v as { kind?: unknown }).kind
      if (
        ['var', 'const', 'product', 'padded', 'conv'].includes(kind as string) &&
        !('linearity' in v)
      )
        return dimKey(v as Shape[number])
    }
    return v
  })

const wireKey = (w: Wire): string => `${w.node}.${w.out}`

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
  const walk = (term: Term, ins: ReadonlyArray<Wire>): Wire[] => {
    switch (term.kind) {
      case 'id':
        return [...ins]
      case 'seq':
        return term.parts.reduce<Wire[]>((ws, p) => walk(p, ws), [...ins])
      case 'par': {
        let at = 0
        return term.parts.flatMap((p) => {
          const part = ins.slice(at, at + p.dom.length)
          at += p.dom.length
          return walk(p, part)
        })
      }
      case 'swap':
        return [...ins.slice(term.left.length), ...ins.slice(0, term.left.length)]
      case 'copy':
        return [...ins, ...ins]
      case 'drop':
        return []
      case 'box':
        return walk(term.body, ins)
      case 'broadcast':
      case 'einsum':
      case 'scalar':
      case 'axisOp':
      case 'index':
      case 'view':
      case 'pad':
      case 'convTensor':
      case 'zero':
      case 'param': {
        const key = `${keyOf(term)}(${ins.map(wireKey).join(',')})`
        let n = index.get(key)
        if (n === undefined) {
          n = nodes.length
          nodes.push({ op: term, inputs: ins })
          index.set(key, n)
        }
        return term.cod.map((_, out) => ({ node: n as number, out }))
      }
      default:
        return absurd(term)
    }
  }
  const outputs = walk(
    t,
    t.dom.map((_, i) => ({ node: -1 - i, out: 0 })),
  )
  return { dom: t.dom, cod: t.cod, nodes, outputs }
}

/**
 * A wiring term `T -> T'` whose output j is input `sources[j]`: inputs used several times are
 * copied, unused ones dropped, the rest permuted. Canonical for given types and sources.
 */
export const wiring = (type: TupleType, sources: ReadonlyArray<number>): Term => {
  // Copy or drop each input as many times as it is used: the stack then holds, for input i,
  // uses(i) copies in a row.
  const uses = type.map((_, i) => sources.filter((s) => s === i).length)
  const fan = par(
    ...type.map((s, i) => {
      const n = uses[i] as number
      if (n === 0) return drop([s])
      let t: Term = id([s])
      for (let k = 1; k < n; k++)
        t = seq(t, par(copy([s]), id(Array.from({ length: k - 1 }, () => s))))
      return t
    }),
  )
  // The order the copies stand in, and the order wanted: bubble the wanted order into place.
  const stack: number[] = type.flatMap((_, i) => Array.from({ length: uses[i] as number }, () => i))
  const want = [...sources]
  const steps: Term[] = []
  const current = [...stack]
  for (let j = 0; j < want.length; j++) {
    let k = current.indexOf(want[j] as number, j)
    while (k > j) {
      const before = current.slice(0, k - 1).map((i) => type[i] as Shape)
      const after = current.slice(k + 1).map((i) => type[i] as Shape)
      const a = type[current[k - 1] as number] as Shape
      const b = type[current[k] as number] as Shape
      steps.push(par(id(before), swap([a], [b]), id(after)))
      ;[current[k - 1], current[k]] = [current[k] as number, current[k - 1] as number]
      k--
    }
  }
  return seq(fan, ...steps)
}

/** Read a DAG back into a term: nodes in a canonical order, each fed by a wiring term. */
export const fromDag = (dag: Dag): Term => {
  // Canonical order: depth-first from the outputs, left to right, inputs before users.
  const order: number[] = []
  const seen = new Set<number>()
  const visit = (n: number): void => {
    if (n < 0 || seen.has(n)) return
    seen.add(n)
    const node = dag.nodes[n] as Node
    node.inputs.forEach((w) => visit(w.node))
    order.push(n)
  }
  dag.outputs.forEach((w) => visit(w.node))
  // Live wires on the stack, with their types; each node consumes its inputs from a wiring.
  let live: Wire[] = dag.dom.map((_, i) => ({ node: -1 - i, out: 0 }))
  let types: Shape[] = [...dag.dom]
  const remainingUses = (after: number): Set<string> => {
    const need = new Set<string>(dag.outputs.map(wireKey))
    for (const n of order.slice(after))
      (dag.nodes[n] as Node).inputs.forEach((w) => need.add(wireKey(w)))
    return need
  }
  const parts: Term[] = []
  order.forEach((n, i) => {
    const node = dag.nodes[n] as Node
    const stillNeeded = remainingUses(i + 1)
    const keep = live.filter(
      (w, j) =>
        stillNeeded.has(wireKey(w)) && live.findIndex((x) => wireKey(x) === wireKey(w)) === j,
    )
    const sources = [...node.inputs, ...keep].map((w) =>
      live.findIndex((x) => wireKey(x) === wireKey(w)),
    )
    const w = wiring(types, sources)
    const keptTypes = keep.map(
      (k) => types[live.findIndex((x) => wireKey(x) === wireKey(k))] as Shape,
    )
    parts.push(w, par(node.op, id(keptTypes)))
    live = [...node.op.cod.map((_, out) => ({ node: n, out })), ...keep]
    types = [...node.op.cod, ...keptTypes]
  })
  const finalSources = dag.outputs.map((w) => live.findIndex((x) => wireKey(x) === wireKey(w)))
  parts.push(wiring(types, finalSources))
  const result = seq(...parts)
  return dropIdentities(result, concatTypes(dag.dom))
}

/** Remove identity parts of sequences and empty identities of stacks (the unit laws). */
const dropIdentities = (t: Term, dom: TupleType): Term => {
  const clean = (x: Term): Term => {
    if (x.kind === 'seq') {
      const parts = x.parts.map(clean).filter((p) => p.kind !== 'id')
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
export const normalize = (t: Term): Term => fromDag(toDag(pushBroadcasts(unbox(t))))

/**
 * A key equal for two terms exactly when their normal forms are equal (cheaper than comparing
 * normal forms).
 */
export const normalKey = (t: Term): string => {
  const dag = toDag(pushBroadcasts(unbox(t)))
  // Number the nodes in the canonical order, so that the key does not depend on build order.
  const order = new Map<number, number>()
  const keys: string[] = []
  const visit = (w: Wire): string => {
    if (w.node < 0) return `in${-1 - w.node}`
    let n = order.get(w.node)
    if (n === undefined) {
      const node = dag.nodes[w.node] as Node
      const ins = node.inputs.map(visit)
      n = keys.length
      keys.push(`${leafKey(node.op)}(${ins.join(',')})`)
      order.set(w.node, n)
    }
    return `n${n}.${w.out}`
  }
  const outs = dag.outputs.map(visit)
  return `${keys.join(';')}|${outs.join(',')}`
}
