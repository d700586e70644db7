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
 * - **seq and par are n-ary, as terms are.** The smart constructors flatten nested sequences, so a
 *   term has one shape whatever bracketing the user wrote, and the catalogue's `seq`/`par`
 *   patterns already match modulo associativity, including windows of consecutive parts (see
 *   `match.ts`). The e-graph keeps that representation rather than binary nodes with
 *   associativity rules: binary nodes would need the associativity law in both directions, whose
 *   closure over n parts has Catalan(n) bracketings per sequence (the blow-up egg users meet with
 *   AC rules), while n-ary nodes with window matching have one node per sequence and O(n²)
 *   windows to try. The price is that a child class whose member is itself a sequence does not
 *   share the parent's node: substituting it gives another (flattened) node, merged with the
 *   parent by an explicit congruence edge (see {@link EGraph.substitute}).
 * - **Analyses** carry each class's type (domain and codomain, which every member shares: a
 *   merge of two types is refused as unsound), its dims, and its linearity (the best linearity a
 *   member shows). Side conditions of laws are checked on the concrete member a match binds, so
 *   that the recorded step replays in `checkProof`; the class analysis tells whether a better
 *   member exists.
 * - **Explanations.** Every merge records an edge of the proof forest between the two node ids
 *   that caused it: a rule step (law, direction, location within the first term, bindings) whose
 *   replay rewrites the first term into the second, a structural normal-form conversion, or a
 *   congruence (pairs of child ids, each pair explained recursively and lifted to the parent,
 *   with locations re-indexed where a child sequence is flattened into its parent). A path in the
 *   forest read edge by edge is a proof; a one-way law crossed backwards has no step, and the
 *   explanation says so.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { dimKey, dimVars } from '../../core/dim.js'
import { dataEquals, isDim } from '../../core/equal.js'
import { TermError } from '../../core/errors.js'
import { type Linearity, type Term, children, isTermNode } from '../../core/term.js'
import { type TupleType, typeEquals } from '../../core/types.js'
import { withChildren } from '../../core/update.js'
import { type Bindings, matchAll, matchWindow } from '../match.js'
import { normalKey } from '../normal.js'
import type { Location } from '../path.js'
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
  readonly term: Term
  readonly op: string
  readonly kids: ReadonlyArray<number>
}

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

const typeDims = (t: Term): Set<string> => {
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
  private readonly canon = new Map<string, number>()
  private readonly data = new Map<number, ClassData>()
  private readonly forest: Edge[][] = []
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

  /** The term a node id stands for. */
  term(id: number): Term {
    return (this.nodes[id] as Node).term
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

  /** Add a term (and its sub-terms); its node id. */
  add(t: Term): number {
    const kids = children(t).map((c) => this.add(c))
    const op = `${t.kind}:${dataKey(t, true)}`
    const key = `${op}(${kids.join(',')})`
    const old = this.memo.get(key)
    if (old !== undefined) return old
    const id = this.nodes.length
    const node: Node = { term: t, op, kids }
    this.nodes.push(node)
    this.parent.push(id)
    this.forest.push([])
    this.memo.set(key, id)
    this.data.set(id, {
      dom: t.dom,
      cod: t.cod,
      linearity: t.linearity,
      dims: typeDims(t),
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
   * parent is flattened (a sequence substituted into a sequence).
   */
  substitute(id: number, i: number, member: number): number | undefined {
    const kids = this.kids(id)
    const next = kids.map((k, j) => (j === i ? member : k))
    let t: Term
    try {
      t = withChildren(
        this.term(id),
        next.map((k) => this.term(k)),
      )
    } catch (e) {
      if (e instanceof TermError) return undefined
      throw e
    }
    const y = this.add(t)
    if (!this.equal(id, y))
      this.union(id, y, { kind: 'congruence', pairs: kids.map((k, j) => [k, next[j] as number]) })
    return y
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
      if (depth > 200) throw new ExplainError('the explanation nests too deep')
      const out: Explained[] = []
      for (const { from, edge } of this.path(a, b)) {
        const j = edge.justification
        const source = this.term(from)
        const target = this.term(edge.to)
        if (j.kind === 'rule') {
          if (edge.forward) out.push({ step: j.step, after: target })
          else out.push({ step: this.reverse(j.step, source, target, laws), after: target })
        } else if (j.kind === 'normal-form') {
          out.push({
            step: {
              rule: 'structural/normal-form',
              direction: 'forward',
              location: { path: [] },
              bindings: new Map([
                ['t', { sort: 'term', value: source }],
                ['target', { sort: 'term', value: target }],
              ]),
            },
            after: target,
          })
        } else {
          const pairs = edge.forward ? j.pairs : j.pairs.map(([p, q]) => [q, p] as const)
          out.push(...this.lift(source, pairs, (p, q) => go(p, q, depth + 1)))
        }
        total += 1
        if (total + out.length > maxSteps)
          throw new ExplainError(`the proof would be longer than ${maxSteps} steps`)
      }
      cache.set(key, out)
      return out
    }
    return go(x, y, 0)
  }

  /** Child explanations lifted into the parent, left to right, with flattened locations. */
  private lift(
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
        cur[i] = after
        out.push({ step: { ...step, location }, after: withChildren(template, cur) })
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
