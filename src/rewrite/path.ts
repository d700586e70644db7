/**
 * Paths and locations: where a rewrite happens. A path lists child indexes from the root (the
 * parts of a `seq` or `par`, the body of a broadcast or box). A location is a path, and for a
 * `seq` or `par` optionally a range of its parts: associativity means any consecutive parts form
 * a sub-term.
 *
 * @packageDocumentation
 */
import { par, seq, spliceParts } from '../core/construct.js'
import { fail } from '../core/errors.js'
import { show } from '../core/show.js'
import { type Term, children } from '../core/term.js'
import { withChildren } from '../core/update.js'

/** Child indexes from the root. */
export type Path = ReadonlyArray<number>

/** A sub-term: the node at `path`, or the parts `[start, end)` of the seq or par there. */
export interface Location {
  readonly path: Path
  readonly range?: readonly [number, number]
}

/** Print a location: `/2/0` or `/2[1..3)`; the root is `/`. */
export const showLocation = (l: Location): string =>
  `/${l.path.join('/')}${l.range === undefined ? '' : `[${l.range[0]}..${l.range[1]})`}`

/** The node at a path, refusing a path that leaves the term. */
export const nodeAt = (t: Term, path: Path): Term => {
  let node = t
  path.forEach((i, depth) => {
    const cs = children(node)
    const next = cs[i]
    if (next === undefined)
      fail('bad-argument', `path: step ${depth} asks for child ${i} of a ${node.kind}`, {
        expected: `a child index below ${cs.length}`,
        got: `/${path.join('/')}`,
        where: show(node, { maxLength: 100 }),
      })
    else node = next
  })
  return node
}

const checkRange = (node: Term, l: Location): readonly [number, number] | undefined => {
  if (l.range === undefined) return undefined
  const [start, end] = l.range
  if (node.kind !== 'seq' && node.kind !== 'par')
    return fail('bad-argument', `location: a range needs a seq or par, not a ${node.kind}`, {
      expected: 'a path to a seq or par',
      got: showLocation(l),
    })
  if (!(
    Number.isInteger(start) &&
    Number.isInteger(end) &&
    0 <= start &&
    start < end &&
    end <= node.parts.length
  ))
    return fail('bad-argument', `location: the range is not inside the ${node.kind}`, {
      expected: `0 <= start < end <= ${node.parts.length}`,
      got: showLocation(l),
    })
  return start === 0 && end === node.parts.length ? undefined : [start, end]
}

/**
 * The sub-term at a location.
 *
 * @example
 * ```ts
 * import { subtermAt, seq, relu, tanh, mean, show } from 'neural-circuit-diagrams'
 * const t = seq(relu('k'), tanh('k'), mean('k'))
 * show(subtermAt(t, { path: [], range: [1, 3] })) // 'tanh[k] ; mean(k)'
 * ```
 */
export const subtermAt = (t: Term, l: Location): Term => {
  const node = nodeAt(t, l.path)
  const range = checkRange(node, l)
  if (range === undefined || (node.kind !== 'seq' && node.kind !== 'par')) return node
  const parts = node.parts.slice(range[0], range[1])
  return node.kind === 'seq' ? seq(...parts) : par(...parts)
}

const replaceNode = (t: Term, path: Path, depth: number, f: (node: Term) => Term): Term => {
  if (depth === path.length) return f(t)
  const cs = children(t)
  const i = path[depth] as number
  const next = cs.map((c, n) => (n === i ? replaceNode(c, path, depth + 1, f) : c))
  return withChildren(t, next)
}

/**
 * The term with the sub-term at a location replaced (of the same type), re-type-checked; the
 * same object when the replacement is the same object.
 *
 * @example
 * ```ts
 * import { replaceAt, seq, relu, tanh, mean, show } from 'neural-circuit-diagrams'
 * const t = seq(relu('k'), tanh('k'), mean('k'))
 * show(replaceAt(t, { path: [1] }, relu('k'))) // 'relu[k] ; relu[k] ; mean(k)'
 * ```
 */
export const replaceAt = (t: Term, l: Location, replacement: Term): Term => {
  const node = nodeAt(t, l.path)
  const range = checkRange(node, l)
  return replaceNode(t, l.path, 0, (n) => {
    if (range === undefined || (n.kind !== 'seq' && n.kind !== 'par')) return replacement
    return spliceParts(n, range[0], range[1], replacement)
  })
}

/** Every path of a term, in pre-order (root first). */
export const allPaths = (t: Term): Path[] => {
  const out: Path[] = []
  const walk = (node: Term, path: number[]) => {
    out.push(path)
    children(node).forEach((c, i) => walk(c, [...path, i]))
  }
  walk(t, [])
  return out
}
