/**
 * An e-graph over terms (after egg, Willsey et al. 2021): a union-find over e-classes,
 * hash-consed e-nodes, congruence closure restored by rebuilding, e-class analyses, and
 * explanations that turn a merge back into proof steps.
 *
 * Design notes.
 *
 * - **Nodes are terms.** Every node id stands for one concrete (flat) term: its operator (the
 *   constructor data without sub-terms) and the node ids of its direct sub-terms. Node ids are
 *   hash-consed by operator and child ids, so a term added twice gets one id. An e-class is a set
 *   of node ids under the union-find; the congruence memo maps an operator with the classes of
 *   its children to one node, and rebuilding (egg's deferred repair over parent lists) merges two
 *   nodes whose canonical forms agree. Keeping one concrete term per id is egg's explanation mode:
 *   it is what lets a merge be explained as rewrite steps on terms.
 * - **seq and par are cons spines.** A sequence `f1 ; f2 ; ... ; fn` is stored as a chain of binary
 *   cons nodes `f1 ; (f2 ; (... ; fn))`, one per suffix: node `seq:cons(head, tail)` stands for
 *   the flattened term `seq(head, ...tail's parts)`; the last part is its own node. A stack is
 *   the same with `par:cons`. Terms are flat whatever bracketing the user wrote, and so is every
 *   chain: a cons head is never a cons of its own kind. This is the rope the search needs:
 *   rewriting the window of parts `[i, i + w)` adds a chain for the result in front of the
 *   *shared* suffix class `i + w` and merges it with suffix class `i`; the prefix cons nodes
 *   hold the class of suffix `i`, so they see the new form without being rebuilt. A rewrite costs
 *   O(w) nodes instead of a new n-part sequence (O(n) nodes and time), so one iteration over a
 *   term of n parts is O(n) rewrites of O(1) each, not O(n²) (bench/search.md: 965 term nodes,
 *   one iteration, > 60 s before). Windows are read over the classes of the spine: the saturation
 *   walks head and tail classes, their members and their members' tails, so a window may combine
 *   forms found at different positions (`saturate.ts`). The alternatives: binary nodes with
 *   associativity as a law close over Catalan(n) bracketings per sequence (the blow-up egg
 *   users meet with AC rules); n-ary nodes (the previous design) made every rewrite of a window
 *   a new n-part node, and every substitution of a child form another one. A part rewritten into
 *   a sequence (`f = g ; h`) is spliced into its parents' chains by a flattening substitution
 *   ({@link EGraph.substitute}), so heads stay single parts. A spine that a parent of another
 *   kind reads as one part (a stack in a sequence, a sequence in a broadcast) is matched there by
 *   its members' concrete terms, so the saturation substitutes head and tail members into it
 *   (one cons node each); forms at its later windows would otherwise never be concrete parts.
 *   Concrete terms of cons nodes are built only on demand (explanations, the matches of a parent
 *   that is not a cons of their kind, extraction) and cached.
 * - **Analyses** carry each class's type (domain and codomain, which every member shares: a
 *   merge of two types is refused as unsound), its dims, and its linearity (the best linearity a
 *   member shows). Side conditions of laws are checked on the concrete member a match binds, so
 *   that the recorded step replays in `checkProof`; the class analysis tells whether a better
 *   member exists.
 * - **Explanations.** Every merge records an edge of the proof forest between the two node ids
 *   that caused it: a rule step (law, direction, location within the first term, bindings) whose
 *   replay rewrites the first term into the second, a structural normal-form conversion, or a
 *   congruence (pairs of child ids, each pair explained recursively and lifted to the parent,
 *   with locations re-indexed where a child sequence is flattened into its parent: the tail of a
 *   cons is the parts after its head). A window rewrite is a rule step at the range `[0, w)` of
 *   the cons node it was matched on, which a congruence lifts to `[i, i + w)`. A path in the
 *   forest read edge by edge is a proof; a one-way law crossed backwards has no step, and the
 *   explanation says so.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { dimKey, dimVars } from '../../core/dim.js'
import { dataEquals, isDim } from '../../core/equal.js'
import { TermError } from '../../core/errors.js'
import { par, seq } from '../../core/construct.js'
import { fail } from '../../core/errors.js'
import { linearityOf, parPoly, seqPoly } from '../../core/linearity.js'
import { type Linearity, type Poly, type Term, children, isTermNode } from '../../core/term.js'
import { type TupleType, typeEquals } from '../../core/types.js'
import { withChildren } from '../../core/update.js'
import { type Bindings, matchAll, matchWindow } from '../match.js'
import { normalKey } from '../../derive/normal.js'
import { type Location, nodeAt } from '../path.js'
import { type Catalogue } from '../proof.js'
import { type Direction, type Rule, type Step, applyAt } from '../rule.js'

/** Why two node ids are equal: the edge of the proof forest recorded by a merge. */
export type Justification =
  /** `step` rewrites the term of `from` into the term of `to`. */
  | { readonly kind: 'rule'; readonly step: Step }
  /** The two terms have the same structural normal form (`structural/normal-form`). */
  | { readonly kind: 'normal-form' }
  /**
   * The term of `to` is the term of `from` with each child `pairs[i][0]` replaced by the equal
   * node `pairs[i][1]` (re-flattened).
   */
  | { readonly kind: 'congruence'; readonly pairs: ReadonlyArray<readonly [number, number]> }

interface Edge {
  readonly to: number
  readonly forward: boolean
  readonly justification: Justification
}

interface Node {
  /** The concrete term; built on demand for a cons node (see {@link EGraph.term}). */
  term: Term | undefined
  readonly op: string
  readonly kids: ReadonlyArray<number>
  /** For a cons node, the kind of its spine ('seq' or 'par'). */
  readonly spine: Spine | undefined
  readonly poly: Poly
}

/** The kind of a cons spine. */
export type Spine = 'seq' | 'par'

/** The explanation nests one level per part of a spine; deeper is refused, not overflowed. */
const MAX_DEPTH = 2500

/** The analysis of an e-class. */
export interface ClassData {
  readonly dom: TupleType
  readonly cod: TupleType
  /** The best linearity among the members (linear before multilinear before nonlinear). */
  linearity: Linearity
  /** The size variables the members' types name. */
  readonly dims: ReadonlySet<string>
  members: number[]
  parents: number[]
}

/** One explained step and the whole term after it. */
export interface Explained {
  readonly step: Step
  readonly after: Term
}

/** An explanation that cannot be written as steps (a one-way law crossed backwards). */
export class ExplainError extends Error {}

const rank: Record<Linearity, number> = { linear: 0, multilinear: 1, nonlinear: 2 }
const CHILD_FIELDS = new Set(['parts', 'body'])
const DERIVED = new Set(['dom', 'cod', 'linearity', 'poly'])

/** A stable key of constructor data (dims by their key, sub-terms left out at the top). */
const dataKey = (x: unknown, top = false): string => {
  if (x === undefined) return 'u'
  if (x === null || typeof x !== 'object') return JSON.stringify(x) ?? String(x)
  if (Array.isArray(x)) return `[${x.map((y) => dataKey(y)).join(',')}]`
  if (ArrayBuffer.isView(x)) return `#${Array.from(x as unknown as ArrayLike<number>).join(',')}`
  if (isDim(x)) return `d:${dimKey(x)}`
  const r = x as Record<string, unknown>
  const keys = Object.keys(r)
    .filter((k) => !(isTermNode(x) && DERIVED.has(k)) && !(top && CHILD_FIELDS.has(k)))
    .sort()
  return `{${keys.map((k) => `${k}:${dataKey(r[k])}`).join(',')}}`
}

const typeDims = (t: { readonly dom: TupleType; readonly cod: TupleType }): Set<string> => {
  const out = new Set<string>()
  for (const s of [...t.dom, ...t.cod]) for (const d of s) for (const [n] of dimVars(d)) out.add(n)
  return out
}

/** The parts a child occupies in a flattened parent of the same kind. */
const span = (parent: Term, child: Term): number =>
  (parent.kind === 'seq' || parent.kind === 'par') && child.kind === parent.kind
    ? child.parts.length
    : 1

const at = (path: ReadonlyArray<number>, range: Location['range']): Location =>
  range === undefined ? { path } : { path, range }

/** The structural normal-form conversion of `source` into `target` at the root. */
const normalFormStep = (source: Term, target: Term): Step => ({
  rule: 'structural/normal-form',
  direction: 'forward',
  location: { path: [] },
  bindings: new Map([
    ['t', { sort: 'term', value: source }],
    ['target', { sort: 'term', value: target }],
  ]),
})

/** The step at its sequence's own location when its range covers every part and it replays. */
const wholeLocation = (step: Step, before: Term, after: Term, laws: Catalogue): Step => {
  const range = step.location.range
  if (range === undefined || range[0] !== 0) return step
  let node: Term
  try {
    node = nodeAt(before, step.location.path)
  } catch (e) {
    if (e instanceof TermError) return step
    throw e
  }
  if ((node.kind !== 'seq' && node.kind !== 'par') || range[1] !== node.parts.length) return step
  const law = laws.get(step.rule)
  if (law === undefined) return step
  const location: Location = { path: step.location.path }
  const r = applyAt(law, before, location, step.direction, step.bindings)
  return E.isRight(r) && dataEquals(r.right.term, after) ? { ...step, location } : step
}

/**
 * The steps with every detour cut out: where a term of the chain comes back (a step and its
 * inverse, as explanations give where a child's path through the proof forest goes out and back
 * again), the steps between its two occurrences are dropped, so no term occurs twice. Each kept
 * step starts from a term equal (as data) to the one it was recorded on, so the chain still
 * replays. Terms are compared by a hash-consing of their own (an e-graph without merges: equal
 * terms get one node id).
 */
const withoutDetours = (start: Term, steps: ReadonlyArray<Explained>): Explained[] => {
  const ids = new EGraph()
  const at = new Map<number, number>([[ids.add(start), 0]])
  const chain: number[] = [ids.add(start)]
  const out: Explained[] = []
  for (const e of steps) {
    const id = ids.add(e.after)
    const seen = at.get(id)
    if (seen === undefined) {
      out.push(e)
      chain.push(id)
      at.set(id, out.length)
      continue
    }
    // Back at the term after step `seen`: the steps after it, and the terms they reached, go.
    for (const dropped of chain.splice(seen + 1)) at.delete(dropped)
    out.length = seen
  }
  return out
}

/** The sides of a rule in a direction. */
export const sidesOf = (r: Rule, d: Direction) =>
  d === 'forward' ? ([r.lhs, r.rhs] as const) : ([r.rhs, r.lhs] as const)

/**
 * The step of `r` at `location` of `from` (in `direction`) that gives exactly `to`, if any: every
 * match is tried with its bindings recorded, as `checkProof` will replay it.
 */
export const stepTo = (
  r: Rule,
  from: Term,
  location: Location,
  direction: Direction,
  to: Term,
): Step | undefined => {
  const [pattern] = sidesOf(r, direction)
  const candidates: Iterable<Bindings> =
    location.range === undefined
      ? matchAll(pattern, from)
      : matchWindow(pattern, from, location.range[0], location.range[1])
  let n = 0
  for (const b of candidates) {
    if (++n > 64) break
    const result = applyAt(r, from, location, direction, b)
    if (E.isRight(result) && dataEquals(result.right.term, to)) return result.right.step
  }
  return undefined
}

/**
 * An e-graph of terms.
 *
 * @example
 * ```ts
 * import { EGraph, seq, relu, tanh } from 'neural-circuit-diagrams'
 * const g = new EGraph()
 * const a = g.add(seq(relu('k'), tanh('k')))
 * const b = g.add(seq(tanh('k'), tanh('k')))
 * g.union(g.add(relu('k')), g.add(tanh('k')), { kind: 'normal-form' })
 * g.rebuild()
 * g.equal(a, b) // true (congruence)
 * ```
 */
export class EGraph {
  private readonly nodes: Node[] = []
  private readonly parent: number[] = []
  private readonly memo = new Map<string, number>()
  /**
   * The node id of each term object added or built ({@link EGraph.term}): terms are immutable, so
   * a term met again (a sub-term that a rewrite's instance shares with the matched term) is not
   * walked and keyed again.
   */
  private readonly added = new WeakMap<Term, number>()
  private readonly canon = new Map<string, number>()
  private readonly data = new Map<number, ClassData>()
  private readonly forest: Edge[][] = []
  private readonly stamps = new Map<number, number>()
  private clock = 0
  private pending: number[] = []
  /** Merges refused because the two classes have different types (an unsound rule). */
  refused = 0

  /** The number of node ids (e-nodes, one concrete term each). */
  get size(): number {
    return this.nodes.length
  }

  /** The number of e-classes. */
  get classes(): number {
    return this.data.size
  }

  /**
   * The term a node id stands for. A cons node's term (the flattened sequence or stack of its head
   * and its tail's parts) is built on first use, O(parts), and cached.
   */
  term(id: number): Term {
    const n = this.nodes[id] as Node
    if (n.term !== undefined) return n.term
    const parts: Term[] = []
    let x = id
    for (;;) {
      const m = this.nodes[x] as Node
      if (x !== id && m.term !== undefined) {
        parts.push(m.term)
        break
      }
      if (m.spine !== n.spine) {
        parts.push(this.term(x))
        break
      }
      parts.push(this.term(m.kids[0] as number))
      x = m.kids[1] as number
    }
    n.term = n.spine === 'seq' ? seq(...parts) : par(...parts)
    this.added.set(n.term, id)
    return n.term
  }

  /** The spine kind of a cons node ('seq' or 'par'), or undefined for any other node. */
  spine(id: number): Spine | undefined {
    return (this.nodes[id] as Node).spine
  }

  /** The e-graph's clock: the latest stamp given. */
  get now(): number {
    return this.clock
  }

  /** A stamp that grows whenever the class of `id` gains a node or merges. */
  stamp(id: number): number {
    return this.stamps.get(this.find(id)) ?? 0
  }

  /** The child node ids of a node. */
  kids(id: number): ReadonlyArray<number> {
    return (this.nodes[id] as Node).kids
  }

  /** The canonical id of a node's class. */
  find(id: number): number {
    let r = id
    while (this.parent[r] !== r) r = this.parent[r] as number
    let x = id
    while (this.parent[x] !== r) {
      const next = this.parent[x] as number
      this.parent[x] = r
      x = next
    }
    return r
  }

  /** Whether two nodes are in one class. */
  equal(a: number, b: number): boolean {
    return this.find(a) === this.find(b)
  }

  /** The analysis of a node's class. */
  classOf(id: number): ClassData {
    return this.data.get(this.find(id)) as ClassData
  }

  /** The canonical ids of every class. */
  classIds(): number[] {
    return [...this.data.keys()]
  }

  private canonicalKey(n: Node): string {
    return `${n.op}(${n.kids.map((k) => this.find(k)).join(',')})`
  }

  /**
   * Add a term (and its sub-terms); its node id. A sequence or stack becomes a cons chain (see the
   * design notes), the node of its first part's suffix standing for the whole term.
   */
  add(t: Term): number {
    const known = this.added.get(t)
    if (known !== undefined) return known
    let id: number
    if (t.kind === 'seq' || t.kind === 'par') {
      const parts = t.parts
      id = this.add(parts[parts.length - 1] as Term)
      for (let i = parts.length - 2; i >= 0; i--)
        id = this.cons(t.kind, this.add(parts[i] as Term), id, i === 0 ? t : undefined)
    } else {
      const kids = children(t).map((c) => this.add(c))
      const op = `${t.kind}:${dataKey(t, true)}`
      const key = `${op}(${kids.join(',')})`
      id =
        this.memo.get(key) ??
        this.fresh(
          { term: t, op, kids, spine: undefined, poly: t.poly },
          key,
          t.dom,
          t.cod,
          t.linearity,
        )
    }
    this.added.set(t, id)
    return id
  }

  /**
   * The cons node `head ; tail` (or `head ⊗ tail` for 'par'): the flattened term of `head` before
   * the parts of `tail`. `head` must not be a cons of the same kind; `term`, when known, is the
   * node's term. Throws a `TermError` when the types do not compose.
   */
  cons(kind: Spine, head: number, tail: number, term?: Term): number {
    const op = `${kind}:cons`
    const key = `${op}(${head},${tail})`
    const old = this.memo.get(key)
    if (old !== undefined) {
      const n = this.nodes[old] as Node
      if (n.term === undefined && term !== undefined) n.term = term
      return old
    }
    const h = this.classOf(head)
    const r = this.classOf(tail)
    const hp = (this.nodes[head] as Node).poly
    const rp = (this.nodes[tail] as Node).poly
    let dom: TupleType
    let cod: TupleType
    let poly: Poly
    if (kind === 'seq') {
      if (!typeEquals(h.cod, r.dom))
        return fail('type-mismatch', 'e-graph: a sequence whose parts do not compose', {
          expected: JSON.stringify(r.dom),
          got: JSON.stringify(h.cod),
        })
      dom = h.dom
      cod = r.cod
      poly = seqPoly(hp, rp)
    } else {
      dom = Object.freeze([...h.dom, ...r.dom])
      cod = Object.freeze([...h.cod, ...r.cod])
      poly = parPoly([
        { poly: hp, domLength: h.dom.length },
        { poly: rp, domLength: r.dom.length },
      ])
    }
    return this.fresh(
      { term, op, kids: [head, tail], spine: kind, poly },
      key,
      dom,
      cod,
      linearityOf(poly, dom.length),
    )
  }

  /**
   * The chain of `parts` (node ids, none a cons of `kind`) in front of the class `rest` (or
   * ending with the last part when `rest` is undefined): `parts[0] ; ... ; rest`.
   */
  chain(kind: Spine, parts: ReadonlyArray<number>, rest: number | undefined): number {
    let i = parts.length - 1
    let id = rest ?? (parts[i--] as number)
    for (; i >= 0; i--) id = this.cons(kind, parts[i] as number, id)
    return id
  }

  /**
   * The class of the chain `parts ; rest` if the graph already holds it up to congruence (each
   * cons looked up by the classes of its head and tail), without adding anything; else undefined.
   */
  lookupChain(
    kind: Spine,
    parts: ReadonlyArray<number>,
    rest: number | undefined,
  ): number | undefined {
    let i = parts.length - 1
    let id: number | undefined = rest ?? (parts[i--] as number)
    for (; i >= 0 && id !== undefined; i--) {
      const q = this.canon.get(`${kind}:cons(${this.find(parts[i] as number)},${this.find(id)})`)
      id = q === undefined ? undefined : this.find(q)
    }
    return id === undefined ? undefined : this.find(id)
  }

  /** The parts of a cons chain, the node of its last part at the end. */
  partsOf(id: number): number[] {
    const kind = this.spine(id)
    const out: number[] = []
    let x = id
    while (kind !== undefined && this.spine(x) === kind) {
      out.push(this.kids(x)[0] as number)
      x = this.kids(x)[1] as number
    }
    out.push(x)
    return out
  }

  private fresh(
    node: Node,
    key: string,
    dom: TupleType,
    cod: TupleType,
    linearity: Linearity,
  ): number {
    const id = this.nodes.length
    const kids = node.kids
    this.nodes.push(node)
    this.parent.push(id)
    this.forest.push([])
    this.memo.set(key, id)
    this.stamps.set(id, ++this.clock)
    this.data.set(id, {
      dom,
      cod,
      linearity,
      dims: typeDims({ dom, cod }),
      members: [id],
      parents: [],
    })
    for (const k of new Set(kids)) this.classOf(k).parents.push(id)
    const ck = this.canonicalKey(node)
    const same = this.canon.get(ck)
    if (same === undefined) this.canon.set(ck, id)
    else this.union(same, id, this.congruence(same, id))
    return id
  }

  private congruence(a: number, b: number): Justification {
    const ka = this.kids(a)
    const kb = this.kids(b)
    return { kind: 'congruence', pairs: ka.map((k, i) => [k, kb[i] as number] as const) }
  }

  /**
   * Merge the classes of two nodes for a reason; false when they were one class already or have
   * different types (counted in {@link EGraph.refused}). Call {@link EGraph.rebuild} after a batch.
   */
  union(a: number, b: number, why: Justification): boolean {
    let ra = this.find(a)
    let rb = this.find(b)
    if (ra === rb) return false
    const da = this.data.get(ra) as ClassData
    const db = this.data.get(rb) as ClassData
    if (!typeEquals(da.dom, db.dom) || !typeEquals(da.cod, db.cod)) {
      this.refused++
      return false
    }
    ;(this.forest[a] as Edge[]).push({ to: b, forward: true, justification: why })
    ;(this.forest[b] as Edge[]).push({ to: a, forward: false, justification: why })
    let big = da
    let small = db
    if (da.members.length < db.members.length) {
      ;[ra, rb] = [rb, ra]
      ;[big, small] = [db, da]
    }
    this.parent[rb] = ra
    this.data.delete(rb)
    this.stamps.delete(rb)
    this.stamps.set(ra, ++this.clock)
    big.members.push(...small.members)
    big.parents.push(...small.parents)
    if (rank[small.linearity] < rank[big.linearity]) big.linearity = small.linearity
    for (const d of small.dims) (big.dims as Set<string>).add(d)
    this.pending.push(ra)
    return true
  }

  /** Restore congruence (egg's rebuild): merge the parents whose canonical forms now agree. */
  rebuild(): void {
    while (this.pending.length > 0) {
      const todo = [...new Set(this.pending.map((c) => this.find(c)))]
      this.pending = []
      for (const c of todo) {
        const d = this.data.get(this.find(c))
        if (d === undefined) continue
        const seen = new Set<number>()
        for (const p of d.parents) {
          if (seen.has(p)) continue
          seen.add(p)
          const ck = this.canonicalKey(this.nodes[p] as Node)
          const q = this.canon.get(ck)
          if (q === undefined || this.find(q) === this.find(p)) this.canon.set(ck, p)
          else this.union(q, p, this.congruence(q, p))
        }
        d.parents = [...seen]
      }
    }
  }

  /**
   * The node of `id`'s term with child `i` replaced by the term of `member` (an equal node),
   * merged with `id` by congruence: how a child's new form reaches its parent's matches when the
   * parent is not a cons. For a cons node whose head class gained a chain of its own kind
   * (`f = g ; h`), the chain is spliced in front of the tail (`g ; h ; tail`), so heads stay
   * single parts; its explanation is the same congruence, read through flattening.
   */
  substitute(id: number, i: number, member: number): number | undefined {
    const kids = this.kids(id)
    const next = kids.map((k, j) => (j === i ? member : k))
    const kind = this.spine(id)
    let y: number
    try {
      if (kind !== undefined) {
        const [h, r] = next as [number, number]
        y = this.spine(h) === kind ? this.chain(kind, this.partsOf(h), r) : this.cons(kind, h, r)
      } else
        y = this.add(
          withChildren(
            this.term(id),
            next.map((k) => this.term(k)),
          ),
        )
    } catch (e) {
      if (e instanceof TermError) return undefined
      throw e
    }
    if (!this.equal(id, y))
      this.union(id, y, { kind: 'congruence', pairs: kids.map((k, j) => [k, next[j] as number]) })
    return y
  }

  /**
   * The cheapest term of `root`'s class by a cost that adds up along spines (greedy bottom-up
   * extraction, as in egg and Tensat): `cost(node)` for a node that is not a cons (its whole
   * concrete term; undefined when it is no candidate), and for a cons the cost of its head's class
   * plus its tail's, plus a tie-breaking epsilon (so no cycle is ever cheapest). The term is added
   * to the graph; its node id (in `root`'s class once rebuilt), or undefined when no member of the
   * class has a finite cost. Costs must not be negative.
   */
  extract(root: number, cost: (node: number) => number | undefined): number | undefined {
    this.rebuild()
    const EPS = 1e-6
    const local = new Map<number, number>()
    const best = new Map<number, number>()
    const choice = new Map<number, number>()
    for (let pass = 0, changed = true; changed && pass < 200; pass++) {
      changed = false
      for (let n = 0; n < this.nodes.length; n++) {
        const node = this.nodes[n] as Node
        let c: number
        if (node.spine !== undefined) {
          const h = best.get(this.find(node.kids[0] as number))
          const t = best.get(this.find(node.kids[1] as number))
          if (h === undefined || t === undefined) continue
          c = h + t + EPS
        } else {
          let l = local.get(n)
          if (l === undefined) {
            l = cost(n) ?? Infinity
            local.set(n, l)
          }
          c = l
        }
        if (!Number.isFinite(c)) continue
        const r = this.find(n)
        if (c < (best.get(r) ?? Infinity)) {
          best.set(r, c)
          choice.set(r, n)
          changed = true
        }
      }
    }
    const build = (cls: number): Term => {
      const parts: Term[] = []
      let x = choice.get(this.find(cls)) as number
      const kind = this.spine(x)
      if (kind === undefined) return this.term(x)
      for (;;) {
        const node = this.nodes[x] as Node
        if (node.spine !== kind) {
          parts.push(this.term(x))
          break
        }
        parts.push(build(node.kids[0] as number))
        x = choice.get(this.find(node.kids[1] as number)) as number
        if (this.spine(x) !== kind) {
          parts.push(build(x))
          break
        }
      }
      return kind === 'seq' ? seq(...parts) : par(...parts)
    }
    if (!choice.has(this.find(root))) return undefined
    let t: Term
    try {
      t = build(root)
    } catch (e) {
      if (e instanceof TermError || e instanceof RangeError) return undefined
      throw e
    }
    const id = this.add(t)
    this.rebuild()
    return id
  }

  private path(x: number, y: number): Array<{ from: number; edge: Edge }> {
    const back = new Map<number, { from: number; edge: Edge }>()
    const queue = [x]
    const seen = new Set([x])
    while (queue.length > 0) {
      const n = queue.shift() as number
      if (n === y) break
      for (const e of this.forest[n] as Edge[]) {
        if (seen.has(e.to)) continue
        seen.add(e.to)
        back.set(e.to, { from: n, edge: e })
        queue.push(e.to)
      }
    }
    const out: Array<{ from: number; edge: Edge }> = []
    for (let n = y; n !== x;) {
      const b = back.get(n)
      if (b === undefined) throw new ExplainError('the two nodes are not in one class')
      out.push(b)
      n = b.from
    }
    return out.reverse()
  }

  /**
   * The steps that rewrite the term of `x` into the term of `y` (equal nodes), each with the term
   * after it; `laws` must hold every law the graph's rule edges cite, and `normalForm` the law of
   * structural normal-form conversions. Throws {@link ExplainError} when a one-way law would be
   * read backwards, or when the steps exceed `maxSteps`.
   */
  explain(x: number, y: number, laws: Catalogue, maxSteps = 5000): Explained[] {
    const cache = new Map<string, Explained[]>()
    let total = 0
    const go = (a: number, b: number, depth: number): Explained[] => {
      if (a === b) return []
      const key = `${a},${b}`
      const hit = cache.get(key)
      if (hit !== undefined) return hit
      if (depth > MAX_DEPTH) throw new ExplainError('the explanation nests too deep')
      const out: Explained[] = []
      for (const { from, edge } of this.path(a, b)) {
        const j = edge.justification
        const source = this.term(from)
        const target = this.term(edge.to)
        if (j.kind === 'rule') {
          if (edge.forward) out.push({ step: j.step, after: target })
          else out.push({ step: this.reverse(j.step, source, target, laws), after: target })
        } else if (j.kind === 'normal-form') {
          out.push({ step: normalFormStep(source, target), after: target })
        } else {
          const pairs = edge.forward ? j.pairs : j.pairs.map(([p, q]) => [q, p] as const)
          for (const x of this.lift(from, source, pairs, (p, q) => go(p, q, depth + 1))) out.push(x)
        }
        total += 1
        if (total + out.length > maxSteps)
          throw new ExplainError(`the proof would be longer than ${maxSteps} steps`)
      }
      cache.set(key, out)
      return out
    }
    let steps: Explained[]
    try {
      steps = go(x, y, 0)
    } catch (e) {
      if (e instanceof RangeError) throw new ExplainError('the explanation nests too deep')
      throw e
    }
    // A window that covers every part of its sequence (the whole tail of a spine lifted to the
    // root) is written at the sequence itself, when the law replays there to the same term.
    let before = this.term(x)
    return withoutDetours(
      this.term(x),
      steps.map((e) => {
        const out = { step: wholeLocation(e.step, before, e.after, laws), after: e.after }
        before = e.after
        return out
      }),
    )
  }

  /** Child explanations lifted into the parent, left to right, with flattened locations. */
  private lift(
    node: number,
    template: Term,
    pairs: ReadonlyArray<readonly [number, number]>,
    explainChild: (p: number, q: number) => Explained[],
  ): Explained[] {
    const cur = pairs.map(([p]) => this.term(p))
    const out: Explained[] = []
    const flatKind = template.kind === 'seq' || template.kind === 'par'
    pairs.forEach(([p, q], i) => {
      for (const { step, after } of explainChild(p, q)) {
        const child = cur[i] as Term
        const l = step.location
        let location: Location
        if (flatKind && child.kind === template.kind) {
          let offset = 0
          for (let j = 0; j < i; j++) offset += span(template, cur[j] as Term)
          const width = span(template, child)
          if (l.path.length === 0) {
            const [s, e] = l.range ?? [0, width]
            location =
              e - s === 1 ? { path: [offset + s] } : { path: [], range: [offset + s, offset + e] }
          } else {
            const [head, ...rest] = l.path as number[]
            location = at([offset + (head as number), ...rest], l.range)
          }
        } else if (flatKind) {
          let offset = 0
          for (let j = 0; j < i; j++) offset += span(template, cur[j] as Term)
          location = at([offset, ...l.path], l.range)
        } else location = at([i, ...l.path], l.range)
        const spine = this.spine(node)
        const whole = (): Term =>
          spine === 'seq'
            ? seq(...cur)
            : spine === 'par'
              ? par(...cur)
              : withChildren(template, cur)
        // A conversion binds its whole redex to a metavariable, which no window matches: lifted
        // into a window of the parent (a tail of a spine), it is the conversion of the parent.
        const conversion =
          step.rule === 'structural/normal-form' && location.range !== undefined
            ? whole()
            : undefined
        cur[i] = after
        const next = whole()
        out.push(
          conversion === undefined
            ? { step: { ...step, location }, after: next }
            : { step: normalFormStep(conversion, next), after: next },
        )
      }
    })
    return out
  }

  /** A step of any law (either way it goes) that rewrites `to` at `location` into `from`. */
  private undo(to: Term, location: Location, from: Term, laws: Catalogue): Step | undefined {
    for (const law of laws.values()) {
      if (law.given.length > 0) continue
      for (const d of law.bidirectional
        ? (['forward', 'backward'] as const)
        : (['forward'] as const)) {
        const s = stepTo(law, to, location, d, from)
        if (s !== undefined) return s
      }
    }
    const conversion = laws.get('structural/normal-form')
    if (conversion === undefined) return undefined
    let same = false
    try {
      same = normalKey(to) === normalKey(from)
    } catch (e) {
      if (!(e instanceof TermError)) throw e
    }
    if (!same) return undefined
    const tried = applyAt(
      conversion,
      to,
      { path: [] },
      'forward',
      undefined,
      new Map([['target', { sort: 'term' as const, value: from }]]),
    )
    return E.isRight(tried) ? tried.right.step : undefined
  }

  /**
   * The step read backwards: from the term `to` (where `step` ends) back to `from`. A one-way law
   * has no backward step, but another law may undo it (`einsum/fusion` undoes
   * `linear/multilinear-outer`): each law of the catalogue is tried at the same location, then a
   * normal-form conversion of the whole node when the two normal forms agree.
   */
  private reverse(step: Step, to: Term, from: Term, laws: Catalogue): Step {
    // `to` here is the term the backwards step starts at; `from` where it must end.
    const r = laws.get(step.rule)
    if (r === undefined) throw new ExplainError(`no law is named ${step.rule}`)
    const direction: Direction = step.direction === 'forward' ? 'backward' : 'forward'
    let location: Location = { path: step.location.path }
    const range = step.location.range
    if (range !== undefined) {
      const n = (from as { parts?: ReadonlyArray<Term> }).parts?.length ?? 1
      const m = (to as { parts?: ReadonlyArray<Term> }).parts?.length ?? 1
      const width = m - (n - (range[1] - range[0]))
      location =
        range[0] === 0 && width === m
          ? { path: step.location.path }
          : width === 1
            ? { path: [...step.location.path, range[0]] }
            : { path: step.location.path, range: [range[0], range[0] + width] }
    }
    if (!r.bidirectional) {
      const undo = this.undo(to, location, from, laws)
      if (undo !== undefined) return undo
      throw new ExplainError(
        `${step.rule} is one-way (left to right only), and no law undoes it here`,
      )
    }
    const found =
      stepTo(r, to, location, direction, from) ??
      (() => {
        const tried = applyAt(r, to, location, direction, step.bindings)
        return E.isRight(tried) && dataEquals(tried.right.term, from) ? tried.right.step : undefined
      })()
    if (found === undefined)
      throw new ExplainError(`${step.rule} cannot be read backwards at this location`)
    return found
  }
}
