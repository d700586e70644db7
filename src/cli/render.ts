/**
 * `ncd render`: a term drawn in the paper's notation, or a proof as a page (src/render).
 *
 *   ncd render <example | term.json | proof.json> [-o out.svg|out.html|out.png] [--expand a,b]
 *
 * A term (an example or an `ncd-term` document) is written as SVG, as an HTML page or as PNG
 * (rasterised by resvg); a proof document (`ncd-proof`) as its HTML page, each step drawn with the
 * rewritten region highlighted. Without `-o` the SVG (of a term) or the page (of a proof) goes to
 * stdout.
 *
 * @packageDocumentation
 */
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import * as E from 'fp-ts/lib/Either.js'
import { proofFromJson } from '../io/proof.js'
import type { Expand } from '../render/layout.js'
import { renderProof, renderTermPage } from '../render/page.js'
import { render } from '../render/render.js'
import { type Command, integerOption, stringOption, usageError } from './command.js'
import { subjectOf } from './derive.js'
import { readTextFile } from './select.js'

/** The formats `-o` may name, by extension. */
type Format = 'svg' | 'html' | 'png'

const formatOf = (file: string | undefined, proof: boolean): Format => {
  if (file === undefined) return proof ? 'html' : 'svg'
  const m = /\.(svg|html|png)$/i.exec(file)
  if (m === null)
    return usageError(`-o ${file}: the file must end in .svg, .html or .png (the format written)`)
  return (m[1] as string).toLowerCase() as Format
}

const expandOf = (text: string | undefined): Expand => {
  if (text === undefined) return 'top'
  const t = text.trim()
  if (t === 'all' || t === 'none' || t === 'top') return t
  const names = t
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  if (names.length === 0)
    return usageError(
      `--expand must be all, none, top or box names separated by commas, not '${text}'`,
    )
  return names
}

const listOf = (text: string | undefined): ReadonlyArray<string> =>
  text === undefined
    ? []
    : text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')

/** Whether a `.json` file is a proof document (its `format` says so). */
const isProofDocument = (text: string): boolean => {
  try {
    const json = JSON.parse(text) as unknown
    return (
      typeof json === 'object' &&
      json !== null &&
      (json as { format?: unknown }).format === 'ncd-proof'
    )
  } catch {
    return false
  }
}

/** SVG to PNG through resvg (a Rust rasteriser shipped as a prebuilt binary in its npm package). */
const toPng = (svg: string, scale: number): Buffer => {
  const require = createRequire(import.meta.url)
  const { Resvg } = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js')
  const r = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  })
  return r.render().asPng()
}

/** `ncd render`. */
export const renderCmd: Command = {
  name: 'render',
  summary: 'draw a term (SVG, HTML or PNG) or a proof (an HTML page, every step drawn)',
  usage: '<example | term.json | proof.json> [-o out.svg|out.html|out.png] [--expand a,b]',
  description:
    "The subject is one of the paper's examples (by figure, name or number, as in ncd cost), a term document (ncd-term JSON) or a proof document (ncd-proof JSON, such as proofs/json/snake-fig20.proof.json).\n\n" +
    'A term is written as SVG, as a page (.html) or as PNG (.png, rasterised by resvg); a proof as a page showing the theorem and each step with the rewritten region highlighted. Without -o the SVG of a term, or the page of a proof, goes to stdout.',
  options: {
    output: {
      type: 'string',
      short: 'o',
      value: 'file.svg|file.html|file.png',
      help: 'write to this file, in the format of its extension',
    },
    expand: {
      type: 'string',
      value: 'all|none|top|a,b',
      help: "which boxes to draw open: all, none, top (the outermost, the default) or box names ('MultiHeadAttention,L')",
    },
    width: {
      type: 'string',
      value: 'x,y',
      help: 'dims to draw as width axes (overlined), besides those marked in the term',
    },
    scale: { type: 'string', value: 'n', help: 'pixels per unit of a PNG (default 2)' },
  },
  positionals: { min: 1, max: 1 },
  run: (p, io) => {
    const what = p.positionals[0] as string
    const file = stringOption(p, 'output')
    const expand = expandOf(stringOption(p, 'expand'))
    const width = listOf(stringOption(p, 'width'))
    const scale = integerOption(p, 'scale', 2)
    if (scale < 1 || scale > 16) usageError(`--scale must be between 1 and 16, not ${scale}`)
    const text = what.endsWith('.json') ? readTextFile(what) : undefined
    const proof = text !== undefined && isProofDocument(text)
    const format = formatOf(file, proof)
    let content: string | Buffer
    let name: string
    if (proof) {
      if (format !== 'html')
        usageError(`${what} is a proof: it renders as a page, -o file.html (not .${format})`)
      const decoded = proofFromJson(text as string)
      if (E.isLeft(decoded)) {
        const [first] = decoded.left
        return usageError(
          `${what} is not a proof document: ${first !== undefined ? `${first.path}: ${first.message}` : 'no proof'}`,
        )
      }
      content = renderProof(decoded.right, { expand, width })
      name = decoded.right.name
    } else {
      const subject = subjectOf(what, [])
      name = subject.name
      const options = { expand, width }
      content =
        format === 'html'
          ? renderTermPage(subject.term, { ...options, title: subject.name })
          : format === 'png'
            ? toPng(render(subject.term, options), scale)
            : render(subject.term, options)
    }
    if (file === undefined) {
      if (typeof content !== 'string') return usageError('a PNG needs -o file.png')
      io.out(content)
      return 0
    }
    try {
      writeFileSync(file, content)
    } catch (e) {
      return usageError(`cannot write ${file}: ${e instanceof Error ? e.message : String(e)}`)
    }
    io.out(`wrote ${file} (${format}, ${name})`)
    return 0
  },
}
