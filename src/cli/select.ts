/**
 * Choosing a subject for `ncd cost` and `ncd derive`: the paper's examples by name, figure or
 * number, and sizes from the command line.
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs'
import { type Dim, type Sizes, dimVars } from '../core/dim.js'
import { type Term, children } from '../core/term.js'
import { usageError } from './command.js'
import { type Example, examples } from './examples.js'
import { findModel } from '../models/registry.js'

/** What a command can be given by name: an example, or a model of the zoo (without a reference). */
export type Named = Pick<Example, 'figure' | 'title' | 'term' | 'sizes'>

/** An example and the names `ncd cost` knows it by (the first is its own). */
export interface NamedExample {
  readonly names: ReadonlyArray<string>
  readonly example: Example
}

const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9-]/g, '')

/**
 * The examples with their names: a boxed model by its box name (`mlp`, `attention`,
 * `multiheadattention`, `conv2d`, `maxpool2d`), any other by its figure (`fig10`, `fig18-19`,
 * `eq4-5`; a repeated figure gets `-2`, `-3`). The figure is also an alias of a boxed model.
 */
export const namedExamples = (): ReadonlyArray<NamedExample> => {
  const used = new Map<string, number>()
  const unique = (s: string): string => {
    const n = (used.get(s) ?? 0) + 1
    used.set(s, n)
    return n === 1 ? s : `${s}-${n}`
  }
  return examples().map((example) => {
    const figure = unique(slug(example.figure))
    const t = example.term
    const own = t.kind === 'box' ? slug(t.name.split('(')[0] as string) : undefined
    return { names: own !== undefined ? [own, figure] : [figure], example }
  })
}

/**
 * Find an example by name, figure (`Fig. 21`) or position (1-based), else a model of the zoo
 * (`src/models/registry.ts`) by name or figure (`idresnet`, `vit`, `Fig. 38`), built at its
 * small default configuration.
 */
export const findExample = (query: string): Named | undefined => {
  const all = namedExamples()
  const n = Number(query)
  if (Number.isInteger(n) && n >= 1 && n <= all.length) return all[n - 1]?.example
  const q = slug(query)
  const found = all.find((e) => e.names.includes(q))?.example
  if (found !== undefined) return found
  const model = findModel(query)
  return model === undefined
    ? undefined
    : { figure: model.figure, title: model.title, term: model.build(), sizes: model.sizes }
}

/** Parse `--sizes a=2,b=3`; a message when it is not that. */
export const parseSizes = (text: string): Sizes | string => {
  const out: Record<string, number> = {}
  for (const part of text.split(',').filter((p) => p.trim() !== '')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_']*)\s*=\s*(\d+)\s*$/.exec(part)
    if (m === null || Number(m[2]) < 1 || !Number.isSafeInteger(Number(m[2])))
      return `--sizes: '${part}' is not name=size (a positive integer)`
    out[m[1] as string] = Number(m[2])
  }
  return out
}

/**
 * Read a text file given on the command line: refused with one line unless it is a regular file
 * (a FIFO or a device would block or never end) of at most `maxBytes` (default 64 MiB).
 */
export const readTextFile = (file: string, maxBytes = 64 * 2 ** 20): string => {
  let stat: fs.Stats
  try {
    stat = fs.statSync(file)
  } catch (e) {
    return usageError(`cannot read ${file}: ${errorText(e)}`)
  }
  if (stat.isDirectory()) return usageError(`${file} is a folder, not a file`)
  if (!stat.isFile()) return usageError(`${file} is not a regular file (a FIFO, socket or device)`)
  if (stat.size > maxBytes)
    return usageError(
      `${file} has ${stat.size} bytes, more than the ${maxBytes} a document may have`,
    )
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (e) {
    return usageError(`cannot read ${file}: ${errorText(e)}`)
  }
}

const errorText = (e: unknown): string =>
  e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e)

/** The names of the dims a term is written in (every variable of every type, size and spec). */
export const termDimNames = (term: Term): ReadonlySet<string> => {
  const names = new Set<string>()
  const seen = new Set<Term>()
  const visitDim = (d: Dim) => {
    for (const name of dimVars(d).keys()) names.add(name)
  }
  const stack: Term[] = [term]
  while (stack.length > 0) {
    const t = stack.pop() as Term
    if (seen.has(t)) continue
    seen.add(t)
    for (const s of [...t.dom, ...t.cod]) s.forEach(visitDim)
    if (t.kind === 'scalar' && t.bySize !== undefined) visitDim(t.bySize.dim)
    if (t.kind === 'einsum') Object.values(t.dims).forEach(visitDim)
    if (t.kind === 'param') t.shape.forEach(visitDim)
    stack.push(...children(t))
  }
  return names
}

/** The dims of a term that have no size: neither in `sizes` nor a default. */
export const unsizedDims = (term: Term, sizes: Sizes): ReadonlyArray<string> => {
  const out = new Set<string>()
  const seen = new Set<Term>()
  const visitDim = (d: Dim) => {
    for (const [name, v] of dimVars(d))
      if (v.size === undefined && !Object.prototype.hasOwnProperty.call(sizes, name)) out.add(name)
  }
  const stack: Term[] = [term]
  while (stack.length > 0) {
    const t = stack.pop() as Term
    if (seen.has(t)) continue
    seen.add(t)
    for (const s of [...t.dom, ...t.cod]) s.forEach(visitDim)
    if (t.kind === 'scalar' && t.bySize !== undefined) visitDim(t.bySize.dim)
    if (t.kind === 'einsum') Object.values(t.dims).forEach(visitDim)
    stack.push(...children(t))
  }
  return [...out].sort()
}

/**
 * The sizes of `--sizes` options (given once or several times, merged), refusing a name that is
 * not a dim of the term.
 */
export const sizesFor = (term: Term, texts: ReadonlyArray<string>): Sizes => {
  let sizes: Sizes = {}
  for (const text of texts) {
    const parsed = parseSizes(text)
    if (typeof parsed === 'string') return usageError(parsed)
    sizes = { ...sizes, ...parsed }
  }
  const known = termDimNames(term)
  const unknown = Object.keys(sizes).filter((k) => !known.has(k))
  if (unknown.length > 0)
    return usageError(
      `--sizes: the term has no dim ${unknown.map((k) => `'${k}'`).join(', ')}; its dims are ${[...known].sort().join(', ') || 'none'}`,
    )
  return sizes
}

/** Refuse a term some of whose dims have no size, naming them. */
export const requireSizes = (what: string, term: Term, sizes: Sizes): void => {
  const missing = unsizedDims(term, sizes)
  if (missing.length > 0)
    usageError(
      `${what} has dims without a size: ${missing.join(', ')}; give them with --sizes ${missing.map((k) => `${k}=<n>`).join(',')}`,
    )
}
