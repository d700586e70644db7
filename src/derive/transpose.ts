/**
 * Transposition of linear maps and linearity in chosen inputs (paper section 2.4 and 3.6, Fig.
 * 20, 35-37; DESIGN.md section 6).
 *
 * A term `f` is split with respect to a mask of its inputs (`true`: linear, `false`: primal) into
 *
 * - `forward : N_in -> N_out`, the outputs that depend on the primal inputs only, and
 * - `backward : N_in × L_out -> L_in`, the transpose of the linear part at the given primal
 *   values: the cotangents of the linear outputs in, the cotangents of the linear inputs out.
 *
 * The split goes by structure: `seq` reverses, `par` stacks, a broadcast transposes its body
 * (summing over the axes the cotangent of a shared linear input), copy becomes add, drop becomes
 * zero, an einsum is transposed with respect to its one linear input (its other inputs are
 * primal), an index becomes a one-hot embedding, a view its inverse, a padding a crop, the
 * convolution tensor its transpose, a concatenation the split. Anything else that reads a linear input is not linear, and
 * is refused with the reason and the sub-term.
 *
 * @packageDocumentation
 */
import { broadcast, copy, drop, id, par, seq } from '../core/construct.js'
import {
  type Apply,
  type Node,
  type Wire,
  fromDagNested,
  graph,
  hashConsedNodes,
  walkStructure,
  wireKey,
  wiring,
} from '../core/dag.js'
import { TermError, absurd, fail } from '../core/errors.js'
import { add, mul, scaleBySize } from '../core/primitives.js'
import { show } from '../core/show.js'
import type { Placement, Term } from '../core/term.js'
import { type Shape, type TupleType, showType } from '../core/types.js'
import { einsumOf } from '../linear/einsum.js'
import { concatPieces, flipAdjoint, splitPieces, view, zero } from '../linear/structural.js'
import { termEquals } from '../core/equal.js'
import { normalize } from './normal.js'
import { jvp } from './jvp.js'
import { generatorNode, generatorTranspose } from '../core/generator.js'

/** A term split into its primal part and the transpose of its linear part. */
export interface Split {
  /** `N_in -> N_out`: the outputs computed from the primal inputs alone. */
  readonly forward: Term
  /** `N_in × L_out -> L_in`: cotangents of the linear outputs to those of the linear inputs. */
  readonly backward: Term
  /** For each output: whether it is linear in the linear inputs (else it is primal). */
  readonly linearOutputs: ReadonlyArray<boolean>
  /** For each output: whether it is known to be zero (then linear and primal alike). */
  readonly zeroOutputs?: ReadonlyArray<boolean>
}

/**
 * The known-zero outputs of a split (none when it does not say).
 *
 * @example
 * ```ts
 * import { splitLinear, zeroOutputsOf, par, zero, id } from 'neural-circuit-diagrams'
 * zeroOutputsOf(splitLinear(par(zero([['a']]), id([['a']])), [true])) // [true, false]
 * ```
 */
export const zeroOutputsOf = (s: Split): ReadonlyArray<boolean> =>
  s.zeroOutputs ?? s.linearOutputs.map(() => false)

/**
 * How a split's backward puts its nodes into an enclosing graph, when it was built as a graph:
 * the enclosing graph (the next `seq` out, `vjp`, `grad`) takes the nodes as they are, so a
 * backward is read back into a term once, by the outermost graph, and not once per level of
 * nesting (the read-back, with its wiring between layers, is the dearest part of building a
 * derivative). Its `backward` term is built only when asked for.
 */
const backwardWires = new WeakMap<Split, BackwardWires>()

/** A backward's nodes applied to given wires (primal inputs, then cotangents). */
type BackwardWires = (ins: ReadonlyArray<Wire>, apply: Apply) => Wire[]

/**
 * A split whose backward is `term()`, built when first read, and whose nodes enclosing graphs
 * take from `wires` (which must give what applying `term()` gives).
 */
const lazySplit = (
  forward: Term,
  term: () => Term,
  wires: BackwardWires,
  linearOutputs: ReadonlyArray<boolean>,
  zeroOutputs: ReadonlyArray<boolean>,
): Split => {
  let built: Term | undefined
  const s: Split = {
    forward,
    get backward(): Term {
      return (built ??= term())
    },
    linearOutputs,
    zeroOutputs,
  }
  backwardWires.set(s, wires)
  return s
}

/**
 * Apply a split's backward to wires of a graph: its nodes directly when it was built as a
 * graph, else its term. @internal
 */
export const applyBackward = (s: Split, ins: ReadonlyArray<Wire>, apply: Apply): Wire[] => {
  const wires = backwardWires.get(s)
  return wires === undefined ? apply(s.backward, ...ins) : wires(ins, apply)
}

const pick = <A>(xs: ReadonlyArray<A>, mask: ReadonlyArray<boolean>, want: boolean): A[] =>
  xs.filter((_, i) => mask[i] === want)

/** Why a term is not linear where it was asked to be, and where. */
const notLinear = (root: Term, sub: Term, reason: string): never =>
  fail('not-linear', `not linear: ${reason}`, {
    expected: 'a term linear in the chosen inputs',
    got: show(sub, { maxLength: 120 }),
    where: show(root, { highlight: sub, maxLength: 240 }),
  })

const memo = new WeakMap<Term, Map<string, Split>>()

/**
 * Split `f` with respect to the inputs marked linear (see the module comment). Refuses, with the
 * sub-term and the reason, a term that is not linear in those inputs.
 *
 * @example
 * ```ts
 * import { splitLinear, mul, showTyped } from 'neural-circuit-diagrams'
 * // x ⊙ w is linear in w for a fixed x: its transpose is ȳ ↦ x ⊙ ȳ.
 * const s = splitLinear(mul('k'), [false, true])
 * showTyped(s.backward) // 'mul[k] : [k] × [k] -> [k]'
 * ```
 */
export const splitLinear = (
  f: Term,
  linear: ReadonlyArray<boolean>,
  root: Term = f,
  zeros: ReadonlyArray<boolean> = linear.map(() => false),
): Split => {
  if (linear.length !== f.dom.length)
    fail('bad-arity', `splitLinear: the mask has ${linear.length} entries`, {
      expected: `one per input segment of ${showType(f.dom)} (${f.dom.length})`,
      got: String(linear.length),
    })
  const key = linear.map((b, i) => (zeros[i] === true ? 'z' : b ? '1' : '0')).join('')
  let byMask = memo.get(f)
  const hit = byMask?.get(key)
  if (hit !== undefined) return hit
  const out = splitOrClean(f, linear, root, zeros)
  if (byMask === undefined) memo.set(f, (byMask = new Map()))
  byMask.set(key, out)
  return out
}

/**
 * A term none of whose inputs is linear: its outputs are primal, except those the linearity
 * analysis knows to be zero (no monomial), which are linear in anything (their cotangents vanish).
 */
const primalOnly = (f: Term): Split => {
  const linear = f.dom.map(() => false)
  if (f.cod.some((_, j) => f.poly[j]?.length === 0)) return atZero(f, linear)
  const none = f.cod.map(() => false)
  return { forward: f, backward: drop(f.dom), linearOutputs: none, zeroOutputs: none }
}

/**
 * Whether `f` is the tangent (or cotangent) form of a generator whose tangents (cotangents), its
 * last inputs, are all known zero: `DF(x)·0 = 0`, whatever the point. Its linearity polynomial is
 * that of a nonlinear map (the form is linear in those inputs only), so {@link atZero} would
 * compute the output forward as a constant, and a tangent of a constant through `dF` (a
 * nonlinear generator applied to a parameter) was called primal: `grad` refused the constant
 * function `drop ; param(W) ; F ; Σ` ("not linear in the tangents") and `Σ F(W) ⊙ x` ("adds a
 * primal value to a linear one").
 */
const tangentOfZero = (f: Term, zeros: ReadonlyArray<boolean>): boolean => {
  if (f.kind !== 'generator' || (f.form !== 'tangent' && f.form !== 'cotangent')) return false
  const n = f.form === 'tangent' ? f.from.length : f.to.length
  return n > 0 && range(n).every((k) => zeros[f.dom.length - n + k] === true)
}

/**
 * A term read where every linear input is known to be zero (the tangent of a constant), or whose
 * outputs are all zero: its outputs whose every monomial multiplies a linear input (or that have
 * none) are zero, linear in anything, their cotangents vanishing; the others are constants,
 * computed forward with zeros for the linear inputs. The cotangents of its linear inputs are zero.
 */
const atZero = (f: Term, linear: ReadonlyArray<boolean>, allZero = false): Split => {
  const zeroIn = new Set(range(f.dom.length).filter((i) => linear[i] === true))
  const zeroOut = f.cod.map((_, j) => {
    const monomials = f.poly[j]
    return (
      allZero ||
      (monomials !== undefined &&
        monomials.every((m) => m !== '' && m.split(',').some((x) => zeroIn.has(Number(x)))))
    )
  })
  const primalTypes = pick(f.dom, linear, false)
  const forward = graph(primalTypes, (ins, apply) => {
    let at = 0
    const args = f.dom.map((s, i) =>
      linear[i] === true ? (apply(zero([s]))[0] as Wire) : (ins[at++] as Wire),
    )
    return apply(f, ...args).filter((_, j) => !(zeroOut[j] as boolean))
  })
  // Everything in dropped; zeros out for the linear inputs.
  const gone = drop([...primalTypes, ...pick(f.cod, zeroOut, true)])
  const linearTypes = pick(f.dom, linear, true)
  const backward = linearTypes.length === 0 ? gone : seq(gone, zero(linearTypes))
  return { forward, backward, linearOutputs: zeroOut, zeroOutputs: zeroOut }
}

/** A wiring (output j is input sources[j]) with a mask: cotangents flow back, summed. */
const splitWiring = (
  f: Term,
  sources: ReadonlyArray<number>,
  linear: ReadonlyArray<boolean>,
  zeros: ReadonlyArray<boolean>,
): Split => {
  const linearOutputs = sources.map((s) => linear[s] as boolean)
  const primalIn = f.dom.map((_, i) => i).filter((i) => !(linear[i] as boolean))
  // Where each primal input stands among the primal inputs (a map: wide wirings stay linear).
  const primalAt = new Map(primalIn.map((i, k) => [i, k] as const))
  const primalSources = sources
    .filter((s) => !(linear[s] as boolean))
    .map((s) => primalAt.get(s) as number)
  const forward = wiring(pick(f.dom, linear, false), primalSources)
  const linearOutIdx = sources.map((_, j) => j).filter((j) => linearOutputs[j])
  const primalTypes = pick(f.dom, linear, false)
  const dom = [...primalTypes, ...linearOutIdx.map((j) => f.cod[j] as Shape)]
  const zeroOutputs = sources.map((j) => zeros[j] === true)
  const linearIn = f.dom.map((_, i) => i).filter((i) => linear[i] as boolean)
  // The cotangent of a linear input: the sum of those of the outputs that read it.
  const wires: BackwardWires = (ins, apply) => {
    const cot = ins.slice(primalIn.length)
    const reads = new Map<number, Wire[]>()
    linearOutIdx.forEach((j, k) => {
      const i = sources[j] as number
      const rs = reads.get(i)
      if (rs === undefined) reads.set(i, [cot[k] as Wire])
      else rs.push(cot[k] as Wire)
    })
    return linearIn.map((i) => sumWires(f.dom[i] as Shape, reads.get(i) ?? [], apply))
  }
  const term = (): Term => {
    // Each linear input read exactly once (a permutation, a swap, the steps of a wide wiring):
    // the cotangents go back by the inverse permutation, built directly (no graph to read back).
    const readBy = new Map<number, number>()
    let once = true
    linearOutIdx.forEach((j, k) => {
      const i = sources[j] as number
      if (readBy.has(i)) once = false
      readBy.set(i, k)
    })
    if (!once || !linearIn.every((i) => readBy.has(i))) return graph(dom, wires)
    const back = wiring(
      linearOutIdx.map((j) => f.cod[j] as Shape),
      linearIn.map((i) => readBy.get(i) as number),
    )
    return primalTypes.length === 0 ? back : par(drop(primalTypes), back)
  }
  return lazySplit(forward, term, wires, linearOutputs, zeroOutputs)
}

const sumWires = (
  s: Shape,
  ws: ReadonlyArray<Wire>,
  apply: (op: Term, ...ins: Wire[]) => Wire[],
): Wire => {
  if (ws.length === 0) return apply(zero([s]))[0] as Wire
  return ws.slice(1).reduce((acc, w) => apply(add(s), acc, w)[0] as Wire, ws[0] as Wire)
}

const onlyWiringMemo = new WeakMap<Term, boolean>()

/** Whether a term is only wiring: identities, swaps, copies and drops in sequence and side by side. */
const onlyWiring = (t: Term): boolean => {
  if (t.kind === 'id' || t.kind === 'swap' || t.kind === 'copy' || t.kind === 'drop') return true
  if (t.kind !== 'seq' && t.kind !== 'par') return false
  let known = onlyWiringMemo.get(t)
  if (known === undefined) onlyWiringMemo.set(t, (known = t.parts.every(onlyWiring)))
  return known
}

/**
 * The sources of a term that is only wiring (see {@link onlyWiring}): output j is input
 * `sources[j]`. Undefined for any other term. The test is memoised per sub-term, so asking at
 * every level of a nested term costs its size once.
 */
const wiringSources = (f: Term): ReadonlyArray<number> | undefined => {
  if (!onlyWiring(f)) return undefined
  return walkStructure(
    f,
    f.dom.map((_, i) => ({ node: -1 - i, out: 0 })),
    (op) =>
      fail('internal', 'wiringSources: a wiring term has a node', {
        expected: 'identities, swaps, copies and drops',
        got: show(op, { maxLength: 80 }),
      }),
  ).map((w) => -1 - w.node)
}

/** `A × B -> B × A` as sources. */
const swapSources = (left: number, right: number): number[] => [
  ...Array.from({ length: right }, (_, i) => left + i),
  ...Array.from({ length: left }, (_, i) => i),
]

const COMPOSITE: ReadonlySet<Term['kind']> = new Set([
  'seq',
  'par',
  'broadcast',
  'box',
  'derivative',
])

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

/**
 * Split by structure; when that refuses, the nonlinear part may be dead (its output dropped, as
 * in a term the linearity analysis calls linear): split the normal form, where dead code is gone,
 * and refuse only if that fails too.
 */
const splitOrClean = (
  f: Term,
  linear: ReadonlyArray<boolean>,
  root: Term,
  zeros: ReadonlyArray<boolean>,
): Split => {
  try {
    return split(f, linear, root, zeros)
  } catch (e) {
    if (!(e instanceof TermError) || e.code !== 'not-linear') throw e
    const clean = normalize(f)
    // Already in normal form (equal, though a new object): nothing more to try.
    if (termEquals(clean, f)) throw e
    try {
      return split(clean, linear, clean, zeros)
    } catch (again) {
      // Not linear after all: report it where the user's term shows it.
      if (again instanceof TermError && again.code === 'not-linear') throw e
      throw again
    }
  }
}

const split = (
  f: Term,
  linear: ReadonlyArray<boolean>,
  root: Term,
  zeros: ReadonlyArray<boolean>,
): Split => {
  if (f.kind === 'zero')
    // The zero map is linear in anything: its outputs count as linear (their cotangents vanish).
    return {
      forward: id([]),
      backward: drop(f.cod),
      linearOutputs: f.cod.map(() => true),
      zeroOutputs: f.cod.map(() => true),
    }
  if (!linear.some((b) => b)) return primalOnly(f)
  // The zero map (the linearity analysis sees every output is zero): nothing flows back.
  if (f.cod.length > 0 && f.cod.every((_, j) => f.poly[j]?.length === 0)) return atZero(f, linear)
  // A product with a known zero factor is zero, whatever the other factors (a tangent times the
  // zero value of a constant, as in D(W h0) with h0 = 0).
  if ((f.kind === 'einsum' || (f.kind === 'scalar' && f.op === 'mul')) && zeros.some((z) => z))
    return atZero(f, linear)
  // A primitive whose every linear input is zero (the tangent of a constant); composites pass the
  // zeros on to their parts, where the linearity analysis is exact.
  if (!COMPOSITE.has(f.kind) && linear.every((b, i) => !b || zeros[i] === true))
    return atZero(f, linear, tangentOfZero(f, zeros))
  switch (f.kind) {
    case 'id':
      // Cotangents pass straight back; primal inputs go forward.
      return {
        forward: id(pick(f.dom, linear, false)),
        backward: par(drop(pick(f.dom, linear, false)), id(pick(f.dom, linear, true))),
        linearOutputs: linear,
        zeroOutputs: zeros,
      }
    case 'swap':
      return splitWiring(f, swapSources(f.left.length, f.right.length), linear, zeros)
    case 'copy':
      return splitWiring(f, [...range(f.type.length), ...range(f.type.length)], linear, zeros)
    case 'drop':
      return splitWiring(f, [], linear, zeros)
    case 'box':
      return splitLinear(f.body, linear, root, zeros)
    case 'derivative':
      return splitLinear(jvp(f.body), linear, root, zeros)
    case 'seq':
    case 'par': {
      // A whole wiring (a permutation such as the interleaving of points and tangents) splits
      // as one: two wirings built from its sources, instead of a split and a read-back per swap.
      const sources = wiringSources(f)
      if (sources !== undefined) return splitWiring(f, sources, linear, zeros)
      return f.kind === 'seq'
        ? splitSeq(f.parts, linear, root, zeros)
        : splitPar(f.parts, linear, root, zeros)
    }
    case 'broadcast':
      return splitBroadcast(f, linear, root, zeros)
    case 'einsum':
      return splitEinsum(f, linear, root)
    case 'scalar': {
      const op = f.op
      switch (op) {
        case 'scale':
          return { forward: id([]), backward: f, linearOutputs: [true] }
        case 'add':
          if (linear.every((b) => b))
            return { forward: id([]), backward: copy([[]]), linearOutputs: [true] }
          return notLinear(root, f, 'adds a primal value to a linear one (affine, not linear)')
        case 'mul':
          if (linear.every((b) => b))
            return notLinear(root, f, 'multiplies two linear inputs (quadratic)')
          // Linear in one factor: the other is primal, read by the transpose, not passed on.
          return { forward: drop([[]]), backward: mul(), linearOutputs: [true] }
        case 'relu':
        case 'gelu':
        case 'exp':
        case 'log':
        case 'tanh':
        case 'sigmoid':
        case 'sqrt':
        case 'reciprocal':
        case 'step':
        case 'normcdf':
          return notLinear(root, f, `${op} is not linear`)
        case 'offset':
          return notLinear(root, f, 'adds a constant (affine, not linear)')
        default:
          return absurd(op)
      }
    }
    case 'axisOp':
      if (f.op === 'mean')
        return {
          forward: id([]),
          backward: seq(
            einsumOf({ inputs: [[]], output: ['a'] }, { dims: { a: f.axis } }),
            scaleBySize(f.axis, -1, [f.axis]),
          ),
          linearOutputs: [true],
        }
      return notLinear(root, f, `${f.op} is not linear`)
    case 'index':
    case 'pad':
    case 'convTensor':
      return { forward: id([]), backward: flipAdjoint(f), linearOutputs: [true] }
    case 'view':
      return { forward: id([]), backward: view(f.to, f.from), linearOutputs: [true] }
    case 'concat':
      // A split has one input (linear here); a concatenation is linear only in all its parts.
      if (f.adjoint === true)
        return {
          forward: id([]),
          backward: concatPieces(f.pieces),
          linearOutputs: f.pieces.map(() => true),
        }
      if (linear.every((b) => b))
        return { forward: id([]), backward: splitPieces(f.pieces), linearOutputs: [true] }
      return notLinear(root, f, 'joins a primal part to a linear one (affine, not linear)')
    case 'param':
      // No inputs: handled as primal above.
      return primalOnly(f)
    case 'generator':
      return splitGenerator(f, linear, root)
    default:
      return absurd(f)
  }
}

/**
 * A generator by its declared linearity (paper Fig. 20): a linear F transposes to `Fᵀ` (and
 * back); a multilinear F, linear in one input, to its transpose in that input; the tangent map of
 * a nonlinear F, linear in its tangents, to the cotangent form and back. Anything else is refused.
 */
const splitGenerator = (
  f: Extract<Term, { kind: 'generator' }>,
  linear: ReadonlyArray<boolean>,
  root: Term,
): Split => {
  const all = linear.every((b) => b)
  const lin = range(linear.length).filter((i) => linear[i] as boolean)
  const whole = (backward: Term): Split => ({
    forward: drop(pick(f.dom, linear, false)),
    backward,
    linearOutputs: f.cod.map(() => true),
  })
  if (f.linearity === 'linear') {
    if (!all)
      return notLinear(
        root,
        f,
        `generator ${f.name} is linear in all its inputs together, not in some of them (affine)`,
      )
    return whole(generatorTranspose(f))
  }
  if (f.linearity === 'multilinear') {
    if (lin.length > 1)
      return notLinear(
        root,
        f,
        `multiplies linear inputs ${lin.join(' and ')} (generator ${f.name} is multilinear: linear in one input at a time)`,
      )
    const l = lin[0] as number
    if (f.form === 'map') return whole(generatorTranspose(f, l))
    // G = Fᵀ@s : A_{-s} × B -> A_s, linear in its input l: a map of the other inputs of G and
    // the cotangent of A_s, which is F (l is B) or Fᵀ@i (l stands for F's input i).
    const s = f.slot as number
    const n = f.from.length
    const dom = [...pick(f.dom, linear, false), ...f.cod]
    const fromIndex = (k: number): number => (k < s ? k : k + 1)
    const backward = graph(dom, (ins, apply) => {
      const primal = ins.slice(0, n - 1)
      const cot = ins[n - 1] as Wire
      // The wires of F's inputs (and of B, at index n), by position in G's domain.
      const byInput = new Map<number, Wire>()
      let at = 0
      range(n).forEach((k) => {
        if (k === l) return
        byInput.set(k === n - 1 ? n : fromIndex(k), primal[at++] as Wire)
      })
      byInput.set(s, cot)
      const xs = (skip: number): Wire[] =>
        range(n).flatMap((i) => (i === skip ? [] : [byInput.get(i) as Wire]))
      const base = generatorNode(f.name, f.declared, f.from, f.to, 'map')
      if (l === n - 1) return apply(base, ...xs(-1))
      const i = fromIndex(l)
      return apply(generatorTranspose(base, i), ...xs(i), byInput.get(n) as Wire)
    })
    return whole(backward)
  }
  const n = f.from.length
  const tail = range(linear.length).every((i) => (linear[i] as boolean) === i >= n)
  if (f.form === 'tangent' && tail)
    return whole(generatorNode(f.name, f.declared, f.from, f.to, 'cotangent'))
  if (f.form === 'cotangent' && tail)
    return whole(generatorNode(f.name, f.declared, f.from, f.to, 'tangent'))
  return notLinear(
    root,
    f,
    f.form === 'map'
      ? `generator ${f.name} is declared nonlinear`
      : `the ${f.form} map of generator ${f.name} is linear in all its ${f.form === 'tangent' ? 'tangents' : 'cotangents'} together, not in its points`,
  )
}

const splitSeq = (
  parts: ReadonlyArray<Term>,
  linear: ReadonlyArray<boolean>,
  root: Term,
  zeros: ReadonlyArray<boolean>,
): Split => {
  const splits: Split[] = []
  const masks: Array<ReadonlyArray<boolean>> = [linear]
  let zs = zeros
  for (const p of parts) {
    const s = splitLinear(p, masks[masks.length - 1] as ReadonlyArray<boolean>, root, zs)
    splits.push(s)
    masks.push(s.linearOutputs)
    zs = zeroOutputsOf(s)
  }
  const first = parts[0] as Term
  const last = parts[parts.length - 1] as Term
  const linearOutputs = masks[masks.length - 1] as ReadonlyArray<boolean>
  const forward = seq(...splits.map((s) => s.forward))
  const primalIn = pick(first.dom, linear, false)
  const cotIn = pick(last.cod, linearOutputs, true)
  const wires: BackwardWires = (ins, apply) => {
    // Forward: the primal values before each part; backward: cotangents from the end.
    const primals: Wire[][] = [ins.slice(0, primalIn.length)]
    splits.forEach((s, i) => {
      if (i < splits.length - 1) primals.push(apply(s.forward, ...(primals[i] as Wire[])))
    })
    let cot = ins.slice(primalIn.length)
    for (let i = splits.length - 1; i >= 0; i--)
      cot = applyBackward(splits[i] as Split, [...(primals[i] as Wire[]), ...cot], apply)
    return cot
  }
  const dom = [...primalIn, ...cotIn]
  return lazySplit(forward, () => graph(dom, wires), wires, linearOutputs, zs)
}

const splitPar = (
  parts: ReadonlyArray<Term>,
  linear: ReadonlyArray<boolean>,
  root: Term,
  zeros: ReadonlyArray<boolean>,
): Split => {
  let at = 0
  const splits = parts.map((p) => {
    const mask = linear.slice(at, at + p.dom.length)
    const zs = zeros.slice(at, at + p.dom.length)
    at += p.dom.length
    return { part: p, mask, split: splitLinear(p, mask, root, zs) }
  })
  const linearOutputs = splits.flatMap((s) => s.split.linearOutputs)
  const forward = par(...splits.map((s) => s.split.forward))
  const primalIns = splits.map((s) => pick(s.part.dom, s.mask, false))
  const cots = splits.map((s) => pick(s.part.cod, s.split.linearOutputs, true))
  // The primal inputs and the cotangents regrouped by part (one permutation), then each part's
  // backward side by side: built directly, as a graph would read it back (wide stacks stay
  // linear in their width).
  const nPrimal = primalIns.reduce((n, t) => n + t.length, 0)
  const sources: number[] = []
  let p = 0
  let c = nPrimal
  splits.forEach((_, i) => {
    const np = (primalIns[i] as TupleType).length
    const nc = (cots[i] as TupleType).length
    for (let j = 0; j < np; j++) sources.push(p + j)
    for (let j = 0; j < nc; j++) sources.push(c + j)
    p += np
    c += nc
  })
  const term = (): Term => {
    const regroup = wiring([...primalIns.flat(), ...cots.flat()], sources)
    const backs = par(...splits.map((s) => s.split.backward))
    return regroup.kind === 'id' ? backs : seq(regroup, backs)
  }
  // In a graph: each part's backward on its own primal inputs and cotangents (no wiring).
  const wires: BackwardWires = (ins, apply) => {
    let p = 0
    let c = nPrimal
    return splits.flatMap((s, i) => {
      const np = (primalIns[i] as TupleType).length
      const nc = (cots[i] as TupleType).length
      const own = [...ins.slice(p, p + np), ...ins.slice(c, c + nc)]
      p += np
      c += nc
      return applyBackward(s.split, own, apply)
    })
  }
  const zeroOutputs = splits.flatMap((s) => zeroOutputsOf(s.split))
  return lazySplit(forward, term, wires, linearOutputs, zeroOutputs)
}

const splitBroadcast = (
  f: Extract<Term, { kind: 'broadcast' }>,
  linear: ReadonlyArray<boolean>,
  root: Term,
  zeros: ReadonlyArray<boolean>,
): Split => {
  const s = splitLinear(f.body, linear, root, zeros)
  const lo = s.linearOutputs
  const nIn = pick(f.inputs, linear, false)
  const nOut = pick(f.outputs, lo, false)
  const cotPlaces = pick(f.outputs, lo, true)
  // A shared linear input gets one cotangent per index of the axes: placed first, then summed.
  const linIn = pick(f.inputs, linear, true)
  const linOut = linIn.map((p) => (p === 'shared' ? 0 : p))
  // A shared segment has the same type outside the broadcast as inside.
  const linTypes = pick(f.dom, linear, true)
  const sums = linIn.map((p: Placement, k) =>
    p === 'shared' ? sumLeading(f.axes, linTypes[k] as Shape) : id([linTypes[k] as Shape]),
  )
  // A shared linear input's cotangent summed over the axes: normalised at once, so that the sum
  // fuses into the contraction that makes it (a weight's gradient over a batch is one einsum
  // over the batch, not a tensor per row then summed).
  const summed = (inner: Term): Term =>
    sums.some((t) => t.kind !== 'id') ? normalize(seq(inner, par(...sums))) : inner
  const r = residualSplitOf(
    s,
    pick(f.body.dom, linear, false),
    pick(f.body.cod, lo, true),
    nIn.map((p) => p !== 'shared'),
  )
  if (r === undefined) {
    const forward =
      s.forward.cod.length === 0
        ? drop(pick(f.dom, linear, false))
        : broadcast(bare(s.forward), f.axes, { inputs: nIn, outputs: nOut })
    const inner = broadcast(bare(s.backward), f.axes, {
      inputs: [...nIn, ...cotPlaces],
      outputs: linOut,
    })
    return { forward, backward: summed(inner), linearOutputs: lo, zeroOutputs: zeroOutputsOf(s) }
  }
  // The body's forward values that its backward reads and that vary along the axes are computed
  // once, by the forward broadcast, and handed to the backward broadcast (residuals, leading
  // axes first: no data moves at the boundary). Recomputing them inside the backward broadcast
  // would compute them twice: an opaque broadcast is one node of the enclosing graph, so the
  // graph cannot see that the two broadcasts share them (softmax in attention, the
  // pre-activations of a layer over a batch).
  const nR = r.residuals.length
  const fwd = broadcast(r.forward, f.axes, {
    inputs: nIn,
    outputs: [...nOut, ...r.residuals.map(() => 0)],
  })
  const outTypes = fwd.cod.slice(0, fwd.cod.length - nR)
  const resTypes = fwd.cod.slice(fwd.cod.length - nR)
  const forward =
    outTypes.length === 0 ? seq(fwd, drop(resTypes)) : seq(fwd, par(id(outTypes), drop(resTypes)))
  const back = summed(
    broadcast(r.backward, f.axes, {
      inputs: [
        ...r.residuals.map(() => 0),
        ...r.reads.map((i) => nIn[i] as Placement),
        ...cotPlaces,
      ],
      outputs: linOut,
    }),
  )
  const primalTypes = pick(f.dom, linear, false)
  const wires: BackwardWires = (ins, apply) => {
    const res = apply(fwd, ...ins.slice(0, primalTypes.length)).slice(outTypes.length)
    return apply(
      back,
      ...res,
      ...r.reads.map((i) => ins[i] as Wire),
      ...ins.slice(primalTypes.length),
    )
  }
  const dom = [...primalTypes, ...pick(f.cod, lo, true)]
  return lazySplit(forward, () => graph(dom, wires), wires, lo, zeroOutputsOf(s))
}

/**
 * A term that is only wiring around one primitive reading the term's inputs once each, in
 * order, and giving its outputs in order, as that primitive; any other term as it is. The
 * forward of the product rule's split is such a term (copies and swaps of the points and
 * tangents, the product of the points, drops of the tangents): broadcast as it is, the
 * evaluator runs it as a broadcast of a one-step body; bare, a broadcast element-wise product
 * runs as the op on whole tensors and fuses with the element-wise steps around it
 * (src/eval/evaluate.ts, `elementwiseBody`, `fuseElementwise`). The same function: wiring computes
 * nothing.
 */
const bare = (t: Term): Term => {
  if (t.kind !== 'seq' && t.kind !== 'par' && t.kind !== 'box') return t
  let only: { readonly op: Term; readonly ins: ReadonlyArray<Wire> } | undefined
  let many = false
  const outs = walkStructure(
    t,
    t.dom.map((_, i) => ({ node: -1 - i, out: 0 })),
    (op, ins) => {
      if (only !== undefined) many = true
      only = { op, ins }
      return op.cod.map((_, out) => ({ node: 0, out }))
    },
  )
  const p = only as { readonly op: Term; readonly ins: ReadonlyArray<Wire> } | undefined
  if (many || p === undefined) return t
  const inOrder =
    p.ins.length === t.dom.length &&
    p.ins.every((w, i) => w.node === -1 - i) &&
    outs.length === p.op.cod.length &&
    outs.every((w, j) => w.node === 0 && w.out === j)
  return inOrder ? p.op : t
}

/**
 * A move of data that makes no smaller a tensor than it reads: a padding, or the unfolding of an
 * axis into windows (`convTensor`, paper Fig. 24-26) whose kernel is at least its stride, or a
 * sequence of them, or one broadcast over other axes. The
 * gradient keeps such a value's input rather than the value for its backward reads (see
 * {@link recutPerReader}): the unfolded image of a 3x3 convolution is 9 times its image.
 */
export const isCut = (t: Term): boolean =>
  (t.kind === 'broadcast' && isCut(t.body)) ||
  (t.kind === 'seq' && t.parts.every(isCut)) ||
  (t.kind === 'pad' && t.adjoint !== true) ||
  (t.kind === 'convTensor' &&
    t.adjoint !== true &&
    t.kernel.kind === 'const' &&
    t.kernel.value >= t.stride)

const residualMemo = new WeakMap<Split, Map<string, ResidualSplit | undefined>>()

/**
 * {@link residualSplit}, once per split of a body and placement of its inputs (the types follow
 * from the split's term and mask): a wide stack of one element-wise map broadcast n times cuts
 * the shared body's split once, not n times.
 */
const residualSplitOf = (
  s: Split,
  primalTypes: TupleType,
  cotTypes: TupleType,
  varyingIn: ReadonlyArray<boolean>,
): ResidualSplit | undefined => {
  const key = varyingIn.map((b) => (b ? '1' : '0')).join('')
  let byKey = residualMemo.get(s)
  if (byKey === undefined) residualMemo.set(s, (byKey = new Map()))
  if (byKey.has(key)) return byKey.get(key)
  const r = residualSplit(s, primalTypes, cotTypes, varyingIn)
  byKey.set(key, r)
  return r
}

/** A split whose backward reads forward values (residuals) instead of recomputing them. */
interface ResidualSplit {
  /** `N_in -> N_out × R`: the forward, also giving the residuals. */
  readonly forward: Term
  /** `R × N_reads × L_out -> L_in`: the backward from the residuals and some primal inputs. */
  readonly backward: Term
  /** The residuals' types. */
  readonly residuals: TupleType
  /** The primal inputs the backward reads (indices into N_in, increasing). */
  readonly reads: ReadonlyArray<number>
}

/**
 * The split `s` of a broadcast's body as one DAG (forward and backward on the same primal
 * wires, equal nodes merged), cut in two: the nodes that do not depend on a cotangent go forward;
 * those that do go backward, reading the forward values they need as residuals. A forward value
 * that does not vary along the broadcast (it depends on shared inputs only: a parameter, a
 * constant) is recomputed by the backward instead, so that no residual is spread along the axes.
 * Undefined when the backward needs no residual (it then reads the primal inputs only).
 */
const residualSplit = (
  s: Split,
  primalTypes: TupleType,
  cotTypes: TupleType,
  varyingIn: ReadonlyArray<boolean>,
): ResidualSplit | undefined => {
  const { nodes, node } = hashConsedNodes()
  const nP = primalTypes.length
  const ins: Wire[] = [...primalTypes, ...cotTypes].map((_, i) => ({ node: -1 - i, out: 0 }))
  const outs = walkStructure(s.forward, ins.slice(0, nP), node)
  const cots = applyBackward(s, ins, (op, ...args) => walkStructure(op, args, node))
  // Nodes are made after their inputs: one pass in order classifies them.
  const tainted: boolean[] = []
  const varying: boolean[] = []
  // Element-wise maps of the inputs (chains of scalar operations) are recomputed by the backward
  // (a pass over data it reads anyway), not held: a cheap operation is rematerialised, as JAX's
  // policies do, and the derivative of a broadcast element-wise map stays as it was.
  const cheap: boolean[] = []
  nodes.forEach((n, k) => {
    cheap[k] = n.op.kind === 'scalar' && n.inputs.every((w) => w.node < 0 || cheap[w.node] === true)
    tainted[k] = n.inputs.some((w) => (w.node < 0 ? -1 - w.node >= nP : tainted[w.node]))
    varying[k] = n.inputs.some((w) =>
      w.node < 0 ? varyingIn[-1 - w.node] === true : varying[w.node],
    )
  })
  // What the backward needs of the forward side: residuals, recomputed nodes, primal inputs.
  const residuals: Wire[] = []
  const residualAt = new Map<number | string, number>()
  const recompute = new Set<number>()
  const reads = new Set<number>()
  const need = (w: Wire): void => {
    if (w.node < 0) {
      if (-1 - w.node < nP) reads.add(-1 - w.node)
      return
    }
    if (tainted[w.node] === true || recompute.has(w.node)) return
    const n = nodes[w.node] as Node
    // A cut (a padded or unfolded image) is made again from its input by the backward: the
    // input is held, not the cut, up to 9 times larger for a 3x3 convolution.
    if (varying[w.node] === true && cheap[w.node] !== true && !isCut(n.op)) {
      const k = wireKey(w)
      if (!residualAt.has(k)) {
        residualAt.set(k, residuals.length)
        residuals.push(w)
      }
      return
    }
    recompute.add(w.node)
    n.inputs.forEach(need)
  }
  // The nodes the cotangents depend on (a backward applied as nodes may leave some dead).
  const live: boolean[] = []
  const stack = [...cots]
  while (stack.length > 0) {
    const w = stack.pop() as Wire
    if (w.node < 0 || live[w.node] === true) continue
    live[w.node] = true
    stack.push(...(nodes[w.node] as Node).inputs)
  }
  const backwardNode = (k: number): boolean => tainted[k] === true && live[k] === true
  nodes.forEach((n, k) => {
    if (backwardNode(k)) n.inputs.forEach(need)
  })
  cots.forEach(need)
  if (residuals.length === 0) return undefined
  const typeOf = (w: Wire): Shape =>
    (w.node < 0
      ? [...primalTypes, ...cotTypes][-1 - w.node]
      : (nodes[w.node] as Node).op.cod[w.out]) as Shape
  // The forward: every node free of cotangents, giving N_out and the residuals.
  const fwdIds = new Map<number, number>()
  const fwdNodes: Node[] = []
  nodes.forEach((n, k) => {
    if (tainted[k] === true) return
    fwdIds.set(k, fwdNodes.length)
    fwdNodes.push({
      op: n.op,
      inputs: n.inputs.map((w) =>
        w.node < 0 ? w : { node: fwdIds.get(w.node) as number, out: w.out },
      ),
    })
  })
  const inFwd = (w: Wire): Wire =>
    w.node < 0 ? w : { node: fwdIds.get(w.node) as number, out: w.out }
  const fwdOuts = [...outs, ...residuals]
  const forward = fromDagNested({
    dom: primalTypes,
    cod: fwdOuts.map(typeOf),
    nodes: fwdNodes,
    outputs: fwdOuts.map(inFwd),
  })
  // The backward: the nodes that read cotangents, and the recomputed ones.
  const readList = [...reads].sort((a, b) => a - b)
  const nR = residuals.length
  const bwdDom: Shape[] = [
    ...residuals.map(typeOf),
    ...readList.map((i) => primalTypes[i] as Shape),
    ...cotTypes,
  ]
  const bwdIds = new Map<number, number>()
  const bwdNodes: Node[] = []
  const inBwd = (w: Wire): Wire => {
    if (w.node < 0) {
      const i = -1 - w.node
      const at = i < nP ? nR + readList.indexOf(i) : nR + readList.length + (i - nP)
      return { node: -1 - at, out: 0 }
    }
    const r = residualAt.get(wireKey(w))
    if (r !== undefined && tainted[w.node] !== true && !recompute.has(w.node))
      return { node: -1 - r, out: 0 }
    return { node: bwdIds.get(w.node) as number, out: w.out }
  }
  nodes.forEach((n, k) => {
    if (!backwardNode(k) && !recompute.has(k)) return
    bwdIds.set(k, bwdNodes.length)
    bwdNodes.push({ op: n.op, inputs: n.inputs.map(inBwd) })
  })
  // Read back releasing early, the recomputed cuts made just before their readers (as `grad`).
  const backward = fromDagNested(
    { dom: bwdDom, cod: cots.map(typeOf), nodes: bwdNodes, outputs: cots.map(inBwd) },
    { releaseEarly: true, defer: isCut },
  )
  return { forward, backward, residuals: residuals.map(typeOf), reads: readList }
}

/** `[axes… s] -> [s]`: the sum over the leading axes. */
const sumLeading = (axes: Shape, s: Shape): Term => {
  const lead = axes.map((_, i) => `b${i}`)
  const rest = s.map((_, i) => `a${i}`)
  const dims = Object.fromEntries([
    ...axes.map((d, i) => [`b${i}`, d] as const),
    ...s.map((d, i) => [`a${i}`, d] as const),
  ])
  return einsumOf({ inputs: [[...lead, ...rest]], output: rest }, { dims })
}

const splitEinsum = (
  f: Extract<Term, { kind: 'einsum' }>,
  linear: ReadonlyArray<boolean>,
  root: Term,
): Split => {
  const lin = range(f.inputs.length).filter((i) => linear[i] as boolean)
  if (lin.length > 1)
    return notLinear(
      root,
      f,
      `multiplies linear inputs ${lin.join(' and ')} (an einsum is linear in one input at a time)`,
    )
  const l = lin[0] as number
  const primal = range(f.inputs.length).filter((i) => i !== l)
  const name = f.name === 'unit' ? 'cup' : f.name === 'cup' ? 'unit' : undefined
  const backward = einsumOf(
    {
      inputs: [...primal.map((i) => f.inputs[i] as ReadonlyArray<string>), f.output],
      output: f.inputs[l] as ReadonlyArray<string>,
    },
    name === undefined ? { dims: f.dims } : { dims: f.dims, name },
  )
  return { forward: drop(primal.map((i) => f.dom[i] as Shape)), backward, linearOutputs: [true] }
}

/**
 * The transpose of a linear term `f : A -> B`: `fᵀ : B -> A` with `<f x, y> = <x, fᵀ y>`
 * (paper Fig. 20). Parameters inside stay constants, so a linear layer transposes to its
 * transposed weight. A term that is not linear is refused with the reason and the sub-term.
 *
 * @example
 * ```ts
 * import { transpose, einsum, pad, show } from 'neural-circuit-diagrams'
 * show(transpose(einsum('y x -> x y'))) // 'einsum(x y -> y x)'
 * show(transpose(pad('x', 1, 2))) // 'crop(x,1,2)'
 * ```
 */
export const transpose = (f: Term): Term => {
  const s = splitLinear(
    f,
    f.dom.map(() => true),
  )
  const zeros = zeroOutputsOf(s)
  const constant = s.linearOutputs.findIndex((b, j) => !b && zeros[j] !== true)
  if (constant >= 0)
    fail('not-linear', `transpose: output ${constant} does not depend on the inputs (affine)`, {
      expected: 'a linear term: every output linear in the inputs',
      got: show(f, { maxLength: 160 }),
      hint: 'a parameter or constant on an output makes the term affine',
    })
  if (s.linearOutputs.every((b) => b)) return s.backward
  // Outputs known to be zero but computed as constants: their cotangents are dropped.
  return graph(f.cod, (cots, apply) => {
    cots.forEach((w, j) => {
      if (!(s.linearOutputs[j] as boolean)) apply(drop([f.cod[j] as Shape]), w)
    })
    return apply(s.backward, ...cots.filter((_, j) => s.linearOutputs[j] as boolean))
  })
}

/** In which inputs a term is linear, each with the reason when it is not. */
export interface InputLinearity {
  readonly input: number
  readonly linear: boolean
  /** Why not, naming the sub-term (`>>…<<` marks it in `where`). */
  readonly reason?: string
  readonly where?: string
}

/**
 * For each input segment: whether `f` is linear in it (the others held fixed), and if not, why,
 * pointing at the sub-term that breaks it.
 *
 * @example
 * ```ts
 * import { linearityIn, linearLayer, seq, relu } from 'neural-circuit-diagrams'
 * linearityIn(linearLayer('W', 'x', 'y'))[0]!.linear // true
 * linearityIn(seq(linearLayer('W', 'x', 'y'), relu('y')))[0]!.reason // 'not linear: relu is not linear'
 * ```
 */
export const linearityIn = (f: Term): ReadonlyArray<InputLinearity> =>
  f.dom.map((_, i): InputLinearity => {
    try {
      const s = splitLinear(
        f,
        f.dom.map((_, j) => j === i),
      )
      const constant = s.linearOutputs.findIndex((b) => !b)
      return constant < 0
        ? { input: i, linear: true }
        : {
            input: i,
            linear: false,
            reason: `output ${constant} does not depend on input ${i} (a constant part: affine)`,
          }
    } catch (e) {
      if (!(e instanceof TermError) || e.code !== 'not-linear') throw e
      return {
        input: i,
        linear: false,
        reason: e.summary,
        ...(e.details.where !== undefined ? { where: e.details.where } : {}),
      }
    }
  })
