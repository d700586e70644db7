/**
 * Choosing a subject for `ncd cost` and `ncd derive`: the paper's examples by name, figure or
 * number, and sizes from the command line.
 *
 * @packageDocumentation
 */
import type { Sizes } from '../core/dim.js'
import { type Example, examples } from './examples.js'

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

/** Find an example by name, figure (`Fig. 21`) or position (1-based). */
export const findExample = (query: string): Example | undefined => {
  const all = namedExamples()
  const n = Number(query)
  if (Number.isInteger(n) && n >= 1 && n <= all.length) return all[n - 1]?.example
  const q = slug(query)
  return all.find((e) => e.names.includes(q))?.example
}

/** Parse `--sizes a=2,b=3`; a message when it is not that. */
export const parseSizes = (text: string): Sizes | string => {
  const out: Record<string, number> = {}
  for (const part of text.split(',').filter((p) => p.trim() !== '')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_']*)\s*=\s*(\d+)\s*$/.exec(part)
    if (m === null || Number(m[2]) < 1)
      return `--sizes: '${part}' is not name=size (a positive integer)`
    out[m[1] as string] = Number(m[2])
  }
  return out
}
