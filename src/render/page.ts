/**
 * Pages: proofs, counterexamples, derivations and single terms as self-contained HTML documents
 * (inline SVG, inline CSS, no script and no external reference), so a page is one file a reader
 * opens in any browser. A proof page shows the theorem (both sides drawn), then each step: the
 * law's name, the paper figure it cites, where it applies, and the diagram after the step with
 * the rewritten region framed in yellow.
 *
 * The HTML is also well-formed XML (self-closed void elements, escaped text), so the tests check
 * it with the same strict checker as the SVG.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { type Sizes, dimSize } from '../core/dim.js'
import { show } from '../core/show.js'
import type { Term } from '../core/term.js'
import { type Shape, showType } from '../core/types.js'
import { grad, vjp } from '../derive/vjp.js'
import { jvp } from '../derive/jvp.js'
import type { Counterexample } from '../rewrite/equivalent.js'
import { normalize } from '../derive/normal.js'
import { type Location, nodeAt, showLocation } from '../rewrite/path.js'
import type { Catalogue, Proof } from '../rewrite/proof.js'
import { type Step, applyAt, showStep } from '../rewrite/rule.js'
import { lawCatalogue } from '../rewrite/rules/index.js'
import { type Drawing, dimText } from './geometry.js'
import type { LayoutOptions } from './layout.js'
import { drawing } from './render.js'
import { escapeXml, toSvg } from './svg.js'

/** Options of the pages: the layout's (expand, width axes), a title and the laws to replay with. */
export interface PageOptions extends Omit<LayoutOptions, 'highlight'> {
  /** The page's title (default: the proof's name, or the term printed). */
  readonly title?: string
  /** The laws a proof's steps cite (default {@link lawCatalogue}). */
  readonly laws?: Catalogue
}

const STYLE = [
  'body{font-family:Helvetica,Arial,sans-serif;margin:0 auto;max-width:1180px;padding:16px 24px;color:#111;background:#fafafa}',
  'h1{font-size:22px;margin:8px 0 4px}h2{font-size:18px;margin:22px 0 6px}h3{font-size:15px;margin:0 0 4px}',
  'section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;margin:12px 0}',
  '.frame{overflow:hidden;padding:4px 0}',
  '.frame svg{display:block;max-width:100%;height:auto}',
  'pre,code{font-family:"DejaVu Sans Mono",Menlo,monospace;font-size:12px}',
  'pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:4px 0;color:#333}',
  '.law{color:#7a4b00}.cite{color:#555;font-weight:normal}',
  '.sides{display:grid;grid-template-columns:1fr;gap:8px}',
  'table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}',
  '.failed{border-color:#d33;background:#fff3f3}.ok{color:#185}.bad{color:#b00}',
  '.legend{font-size:12px;color:#555}.legend span{background:#ffe94d;padding:0 4px;border:1px dashed #e0b000}',
].join('')

const h = escapeXml

/** A page from its title and sections (already HTML). */
const page = (title: string, body: ReadonlyArray<string>): string =>
  [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8"/>',
    '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
    `<title>${h(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n')

/** A drawn term in its frame, with its text form below. */
const figure = (
  t: Term,
  d: Drawing,
  caption: string,
  extra: { readonly cls?: string; readonly id?: string } = {},
): string =>
  [
    `<figure class="diagram${extra.cls === undefined ? '' : ` ${extra.cls}`}"${extra.id === undefined ? '' : ` id="${h(extra.id)}"`}>`,
    `<div class="frame">${toSvg(d, { title: show(t, { maxLength: 200 }) })}</div>`,
    `<figcaption><pre>${h(caption)}</pre></figcaption>`,
    '</figure>',
  ].join('\n')

const typed = (t: Term): string =>
  `${show(t, { maxLength: 2000 })} : ${showType(t.dom)} -> ${showType(t.cod)}`

/**
 * The location of the rewritten region in the term after a step. A step rewrites the node at its
 * path (or parts `[s, e)` of the seq or par there); afterwards the replacement stands at the same
 * path, except that a seq (par) replacing parts of a seq (par) is flattened into it: the region
 * is then the parts it became, found from the change in the number of parts.
 */
export const rewrittenRegion = (before: Term, after: Term, loc: Location): Location => {
  const exists = (t: Term, path: ReadonlyArray<number>): Term | undefined => {
    try {
      return nodeAt(t, path)
    } catch {
      return undefined
    }
  }
  const parts = (t: Term | undefined): number | undefined =>
    t !== undefined && (t.kind === 'seq' || t.kind === 'par') ? t.parts.length : undefined
  const within = (path: ReadonlyArray<number>): Location => {
    let p = [...path]
    while (p.length > 0 && exists(after, p) === undefined) p = p.slice(0, -1)
    return { path: p }
  }
  const b = exists(before, loc.path)
  const a = exists(after, loc.path)
  if (loc.range !== undefined) {
    const nb = parts(b)
    const na = parts(a)
    if (nb === undefined || na === undefined || a?.kind !== b?.kind) return within(loc.path)
    const [s, e] = loc.range
    const end = e + na - nb
    if (end <= s) return within(loc.path)
    return end - s === na ? { path: loc.path } : { path: loc.path, range: [s, end] }
  }
  if (loc.path.length > 0) {
    const parent = loc.path.slice(0, -1)
    const i = loc.path[loc.path.length - 1] as number
    const pb = exists(before, parent)
    const pa = exists(after, parent)
    const nb = parts(pb)
    const na = parts(pa)
    if (nb !== undefined && na !== undefined && pa?.kind === pb?.kind && na !== nb) {
      const end = i + 1 + na - nb
      if (end <= i) return within(parent)
      return end - i === na ? { path: parent } : { path: parent, range: [i, end] }
    }
  }
  return within(loc.path)
}

/**
 * The drawing of a term with a region highlighted. A region inside something drawn as one symbol
 * (a collapsed box is opened; a `D(f)` is not) is highlighted at the nearest drawn enclosing
 * node, so the yellow frame is always there.
 */
const highlightedDrawing = (t: Term, loc: Location, options: LayoutOptions): Drawing => {
  let l = loc
  for (;;) {
    const d = drawing(t, {
      ...options,
      highlight: { path: l.path, ...(l.range === undefined ? {} : { range: l.range }) },
    })
    if (d.frames.some((f) => f.kind === 'highlight') || l.path.length === 0) return d
    l = l.range === undefined ? { path: l.path.slice(0, -1) } : { path: l.path }
  }
}

const layoutOf = (o: PageOptions): LayoutOptions => ({
  ...(o.expand === undefined ? {} : { expand: o.expand }),
  ...(o.width === undefined ? {} : { width: o.width }),
})

/** The terms of a proof after each step (replayed), up to the first step that fails. */
const replay = (
  proof: Proof,
  laws: Catalogue,
): { terms: Term[]; failure?: { step: number; reason: string } } => {
  const terms: Term[] = [proof.lhs]
  for (let i = 0; i < proof.steps.length; i++) {
    const s = proof.steps[i] as Step
    const r = laws.get(s.rule)
    if (r === undefined)
      return { terms, failure: { step: i + 1, reason: `no law is named ${s.rule}` } }
    const next = applyAt(r, terms[i] as Term, s.location, s.direction, s.bindings)
    if (E.isLeft(next)) return { terms, failure: { step: i + 1, reason: next.left.message } }
    terms.push(next.right.term)
  }
  return { terms }
}

/**
 * A proof as a self-contained HTML page: the theorem with both sides drawn, then every step with
 * its law, the figure of the paper the law cites, its location and bindings, and the diagram
 * after the step with the rewritten region highlighted. The steps are replayed with the
 * catalogue (`options.laws`); a step that does not replay is shown as failed with its reason, and
 * so is an end that is not the right side.
 *
 * @example
 * ```ts
 * import { renderProof, prove, lawCatalogue, seq, broadcast, unit, cup } from 'neural-circuit-diagrams'
 * const snake = lawCatalogue().get('compact/snake')!
 * const lhs = seq(broadcast(unit('a'), ['a']), broadcast(cup('a'), ['a'], { at: 'last' }))
 * const html = renderProof(prove('snake', lhs, [[snake, { path: [] }]]))
 * html.startsWith('<!DOCTYPE html>') // true
 * html.match(/<section class="step/g)?.length // 1
 * html.includes('class="highlight"') // true
 * ```
 */
export const renderProof = (proof: Proof, options: PageOptions = {}): string => {
  const laws = options.laws ?? lawCatalogue()
  const lay = layoutOf(options)
  const { terms, failure } = replay(proof, laws)
  const title = options.title ?? proof.name
  const body: string[] = [
    `<h1>${h(title)}</h1>`,
    `<p class="legend">${proof.steps.length} step${proof.steps.length === 1 ? '' : 's'}; after each step the rewritten region is <span>framed in yellow</span>.</p>`,
    '<section class="theorem">',
    '<h2>Theorem</h2>',
    '<div class="sides">',
    figure(proof.lhs, drawing(proof.lhs, lay), `left side: ${typed(proof.lhs)}`, { id: 'lhs' }),
    figure(proof.rhs, drawing(proof.rhs, lay), `right side: ${typed(proof.rhs)}`, { id: 'rhs' }),
    '</div>',
    '</section>',
  ]
  proof.steps.forEach((s, i) => {
    const r = laws.get(s.rule)
    const cite =
      r === undefined || r.source === '' ? '' : ` <span class="cite">(${h(r.source)})</span>`
    const head = `<h3>Step ${i + 1}: <code class="law">${h(s.rule)}</code> ${s.direction === 'forward' ? '→' : '←'}${cite}</h3>`
    const where = `<pre>${h(showStep(s))}</pre>`
    const before = terms[i]
    const after = terms[i + 1]
    if (before === undefined || after === undefined) {
      const reason = failure?.step === i + 1 ? failure.reason : 'an earlier step failed'
      body.push(
        `<section class="step failed" id="step-${i + 1}">`,
        head,
        where,
        `<p class="bad">does not replay: ${h(reason)}</p>`,
        '</section>',
      )
      return
    }
    const region = rewrittenRegion(before, after, s.location)
    const d = highlightedDrawing(after, region, lay)
    body.push(
      `<section class="step" id="step-${i + 1}">`,
      head,
      where,
      figure(after, d, `after step ${i + 1} (rewritten: ${showLocation(region)}): ${typed(after)}`),
      '</section>',
    )
  })
  const end = terms[terms.length - 1] as Term
  const reached = failure === undefined && terms.length === proof.steps.length + 1
  const same = reached && show(end) === show(proof.rhs)
  body.push(
    `<p class="${same ? 'ok' : 'bad'}">${same ? 'The steps end at the right side.' : failure !== undefined ? `Step ${failure.step} does not replay.` : 'The steps do not end at the right side.'}</p>`,
  )
  return page(title, body)
}

/** A flat index into a shape as one index per axis: `[y=1, k=2]`. */
const multiIndex = (shape: Shape, sizes: Sizes, flat: number): string => {
  const out: string[] = []
  let rest = flat
  for (let a = shape.length - 1; a >= 0; a--) {
    const d = shape[a] as Shape[number]
    const n = dimSize(d, sizes)
    out.unshift(`${dimText(d)}=${rest % n}`)
    rest = Math.floor(rest / n)
  }
  return `[${out.join(', ')}]`
}

/** The two sides of a refuted equation and where they differ. */
export interface Refutation {
  readonly lhs: Term
  readonly rhs: Term
  readonly counterexample: Counterexample
  /** A name for the page: 'relu does not commute with transpose'. */
  readonly name?: string
}

/**
 * A counterexample as a self-contained HTML page: the two sides drawn, the sizes of the trial,
 * and the first differing entry with the two values there.
 *
 * @example
 * ```ts
 * import { renderCounterexample, equivalent, seq, relu, exp } from 'neural-circuit-diagrams'
 * const lhs = seq(relu('k'), exp('k'))
 * const rhs = seq(exp('k'), relu('k'))
 * const e = equivalent(lhs, rhs, { limits: false })
 * const html = e.kind === 'counterexample' ? renderCounterexample({ lhs, rhs, counterexample: e.counterexample }) : ''
 * html.includes('first differing entry') // true
 * html.match(/<svg/g)?.length // 2
 * ```
 */
export const renderCounterexample = (r: Refutation, options: PageOptions = {}): string => {
  const lay = layoutOf(options)
  const c = r.counterexample
  const title =
    options.title ??
    r.name ??
    `${show(r.lhs, { maxLength: 60 })} ≠ ${show(r.rhs, { maxLength: 60 })}`
  const shape = r.lhs.cod[c.output]
  const at = shape === undefined ? `entry ${c.entry}` : multiIndex(shape, c.sizes, c.entry)
  const sizes = Object.entries(c.sizes)
    .map(([k, v]) => `<tr><td>${h(k)}</td><td>${v}</td></tr>`)
    .join('')
  return page(title, [
    `<h1>${h(title)}</h1>`,
    '<section class="theorem failed">',
    '<h2>Refuted: the two sides differ</h2>',
    '<div class="sides">',
    figure(r.lhs, drawing(r.lhs, lay), `left side: ${typed(r.lhs)}`, { id: 'lhs' }),
    figure(r.rhs, drawing(r.rhs, lay), `right side: ${typed(r.rhs)}`, { id: 'rhs' }),
    '</div>',
    '</section>',
    '<section class="counterexample">',
    '<h2>Counterexample</h2>',
    `<table><tr><th>size</th><th>value</th></tr>${sizes}</table>`,
    `<p>The first differing entry: output ${c.output}, ${h(at)} (flat index ${c.entry}): left <code>${c.left}</code>, right <code>${c.right}</code>.</p>`,
    `<p class="legend">Inputs drawn at random (${c.inputs.length} tensor${c.inputs.length === 1 ? '' : 's'}${Object.keys(c.params).length > 0 ? `, parameters ${h(Object.keys(c.params).join(', '))}` : ''}; generator seed ${c.generatorSeed}).</p>`,
    '</section>',
  ])
}

/**
 * A derivation as a self-contained HTML page: the term, its forward derivative `jvp` (Fig. 30-32),
 * its reverse derivative `vjp` (Fig. 35-37) and, for a scalar loss, its gradient, each
 * normalised and drawn.
 *
 * @example
 * ```ts
 * import { renderDerivation, seq, tanh, einsum } from 'neural-circuit-diagrams'
 * const html = renderDerivation(seq(tanh('k'), einsum('k ->')))
 * html.match(/<svg/g)?.length // 4
 * html.includes('<h2>grad</h2>') // true
 * ```
 */
export const renderDerivation = (t: Term, options: PageOptions = {}): string => {
  const lay = layoutOf(options)
  const title = options.title ?? `The derivatives of ${show(t, { maxLength: 80 })}`
  const scalar = t.cod.length === 1 && (t.cod[0] as Shape).length === 0
  const parts: Array<[string, string, Term | undefined]> = [
    ['the term', 'the function f', t],
    [
      'jvp',
      'the forward derivative D(f) expanded (Fig. 30-32): inputs then tangents',
      normalize(jvp(t)),
    ],
    [
      'vjp',
      'the reverse derivative: the transposed forward derivative (Fig. 35-37): inputs then cotangents',
      normalize(vjp(t)),
    ],
    [
      'grad',
      'the gradient of the scalar loss (Fig. 33-37)',
      scalar ? normalize(grad(t)) : undefined,
    ],
  ]
  return page(title, [
    `<h1>${h(title)}</h1>`,
    ...parts.map(([name, what, u]) =>
      u === undefined
        ? `<section class="derivation"><h2>${h(name)}</h2><p>${h(what)}: none, the term's output ${h(showType(t.cod))} is not one scalar (see vjp).</p></section>`
        : `<section class="derivation"><h2>${h(name)}</h2><p>${h(what)}</p>${figure(u, drawing(u, lay), typed(u))}</section>`,
    ),
  ])
}

/**
 * One term as a self-contained HTML page: its drawing and its text form with its type.
 *
 * @example
 * ```ts
 * import { renderTermPage, attention } from 'neural-circuit-diagrams'
 * const html = renderTermPage(attention({ y: 'y', x: 'x', k: 'k' }), { expand: 'all' })
 * html.includes('<title>Attention') // true
 * ```
 */
export const renderTermPage = (t: Term, options: PageOptions = {}): string => {
  const title = options.title ?? (t.kind === 'box' ? t.name : show(t, { maxLength: 80 }))
  return page(title, [
    `<h1>${h(title)}</h1>`,
    `<section class="term">${figure(t, drawing(t, layoutOf(options)), typed(t))}</section>`,
  ])
}
