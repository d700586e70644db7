/**
 * Drawings to SVG: plain SVG 1.1 elements (lines, paths, rectangles, text with drawn overlines),
 * no scripts and no external references, so a figure is a standalone file.
 *
 * @packageDocumentation
 */
import type { Drawing, Glyph, Label, Wire } from './geometry.js'
import { textWidth } from './geometry.js'

/** Escape text for XML content and attribute values. */
export const escapeXml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  )

const r = (v: number): string => String(Math.round(v * 10) / 10)

const wireSvg = (w: Wire): string => {
  // A scalar (a 1-length axis, R¹) is the paper's arrow ↣ (Fig. 15): a thin line whose right end
  // is an arrowhead; an axis is a plain wire.
  const cls = w.axis === undefined ? 'class="wire scalar"' : 'class="wire"'
  if (w.shape === 'line' && w.axis === undefined) {
    const x = Math.max(w.x0, w.x1)
    const y = w.x1 >= w.x0 ? w.y1 : w.y0
    const head =
      Math.abs(w.x1 - w.x0) >= 8 ? `<path class="head" d="M${r(x)} ${r(y)}l-5 -2.5v5z"/>` : ''
    return `<line ${cls} x1="${r(w.x0)}" y1="${r(w.y0)}" x2="${r(w.x1)}" y2="${r(w.y1)}"/>${head}`
  }
  if (w.shape === 'line')
    return `<line ${cls} x1="${r(w.x0)}" y1="${r(w.y0)}" x2="${r(w.x1)}" y2="${r(w.y1)}"/>`
  if (w.shape === 'bend') {
    const m = (w.x0 + w.x1) / 2
    return `<path ${cls} d="M${r(w.x0)} ${r(w.y0)}C${r(m)} ${r(w.y0)} ${r(m)} ${r(w.y1)} ${r(w.x1)} ${r(w.y1)}"/>`
  }
  // A turn: a half loop from (x0, y0) to (x0, y1) bulging by x1 - x0.
  const b = w.x1 - w.x0
  return `<path ${cls} d="M${r(w.x0)} ${r(w.y0)}C${r(w.x0 + b * 1.33)} ${r(w.y0)} ${r(w.x0 + b * 1.33)} ${r(w.y1)} ${r(w.x0)} ${r(w.y1)}"/>`
}

const text = (x: number, y: number, s: string, size: number, extra = ''): string =>
  `<text x="${r(x)}" y="${r(y)}" font-size="${size}"${extra}>${escapeXml(s)}</text>`

const labelSvg = (l: Label): string => {
  const style =
    l.role === 'title' ? ' font-weight="bold"' : l.role === 'wire' ? ' font-style="italic"' : ''
  let out = text(l.x, l.y, l.text, l.size, style)
  if (l.overline) {
    const y = l.y - l.size + 1
    out += `<line class="over" x1="${r(l.x)}" y1="${r(y)}" x2="${r(l.x + textWidth(l.text, l.size))}" y2="${r(y)}"/>`
  }
  return out
}

const title = (g: Glyph): string =>
  g.title === undefined ? '' : `<title>${escapeXml(g.title)}</title>`

const centred = (g: Glyph, s: string, size = 12, extra = ''): string =>
  text(g.x + g.w / 2, g.y + g.h / 2 + size * 0.35, s, size, ` text-anchor="middle"${extra}`)

const rect = (g: Glyph, fill: string, rx = 3, stroke = '#444'): string =>
  `<rect x="${r(g.x)}" y="${r(g.y)}" width="${r(g.w)}" height="${r(g.h)}" rx="${rx}" fill="${fill}" stroke="${stroke}"/>`

const glyphSvg = (g: Glyph): string => {
  const cx = g.x + g.w / 2
  const cy = g.cy ?? g.y + g.h / 2
  const t = title(g)
  const T = g.transposed === true ? text(g.x + g.w - 1, g.y + 9, 'T', 9) : ''
  const body = ((): string => {
    switch (g.kind) {
      case 'box':
        return rect(g, '#dfe8f5') + centred(g, g.text ?? '')
      case 'linear':
        return (
          rect(g, '#ffffff', 2, '#999') +
          text(g.x + 5, g.y + g.h / 2 + 6, g.text ?? 'L', 17, ' font-weight="bold"') +
          text(g.x + 16, g.y + g.h / 2 - 3, g.sup ?? '', 10) +
          (g.sub === undefined
            ? ''
            : text(g.x + 16, g.y + g.h / 2 + 10, g.sub, 11, ' font-weight="bold"'))
        )
      case 'elementwise':
        return rect(g, '#f2b8e6') + centred(g, g.text ?? '')
      case 'scale': {
        // `* k` with the exponent raised: one text, the superscript a smaller tspan.
        const sup =
          g.sup === undefined ? '' : `<tspan dy="-5" font-size="8">${escapeXml(g.sup)}</tspan>`
        return (
          rect(g, '#fff3a8', 1) +
          `<text x="${r(cx)}" y="${r(g.y + g.h / 2 + 4)}" font-size="11" text-anchor="middle">${escapeXml(g.text ?? '')}${sup}</text>`
        )
      }
      case 'softmax': {
        // The triangle points against the flow (Fig. 22), its name above it.
        const h = 14
        const y0 = g.y + g.h - h - 2
        return (
          rect(g, '#cdeed6', 2, '#9c9') +
          text(cx, g.y + 10, g.text ?? '', 9, ' text-anchor="middle"') +
          `<path d="M${r(cx - 9)} ${r(y0 + h / 2)}L${r(cx + 9)} ${r(y0)}L${r(cx + 9)} ${r(y0 + h)}Z" fill="#fff" stroke="#222"/>`
        )
      }
      case 'norm':
        return (
          rect(g, '#f2b8e6') +
          `<circle cx="${r(cx)}" cy="${r(g.y + g.h / 2)}" r="6" fill="none" stroke="#222"/>`
        )
      case 'reduce':
        return rect(g, '#f2b8e6') + centred(g, g.text ?? '', 11)
      case 'contract':
        // The half disc of Fig. 19 with its arrow.
        return (
          `<path d="M${r(g.x)} ${r(g.y)}A${r(g.w / 2)} ${r(g.h / 2)} 0 0 1 ${r(g.x)} ${r(g.y + g.h)}Z" fill="#fff" stroke="#222"/>` +
          `<path d="M${r(g.x + g.w + 5)} ${r(cy)}l-5 -3v6z" fill="#222"/>`
        )
      case 'dot':
        return `<circle cx="${r(cx)}" cy="${r(cy)}" r="${r(g.w / 2)}" fill="#222"/>`
      case 'end':
        return `<rect x="${r(g.x)}" y="${r(g.y)}" width="${r(g.w)}" height="${r(g.h)}" fill="#222"/>`
      case 'spread':
        return `<circle cx="${r(cx)}" cy="${r(cy)}" r="${r(g.w / 2)}" fill="#fff" stroke="#222"/>`
      case 'add':
        return (
          `<circle cx="${r(cx)}" cy="${r(g.y + g.h / 2)}" r="${r(Math.min(g.w, g.h) / 2 - 1)}" fill="#fff" stroke="#222"/>` +
          centred(g, '+', 14)
        )
      case 'mul':
        return (
          `<circle cx="${r(cx)}" cy="${r(g.y + g.h / 2)}" r="${r(Math.min(g.w, g.h) / 2 - 1)}" fill="#fff" stroke="#222"/>` +
          centred(g, '×', 13)
        )
      case 'star':
        return (
          rect(g, '#ffffff', 2, '#bbb') +
          centred(g, '★', 14) +
          text(g.x + g.w - 2, g.y + g.h - 2, g.sub ?? '', 8, ' text-anchor="end"')
        )
      case 'ket':
        return rect(g, '#ffffff', 2, '#bbb') + centred(g, g.text ?? '')
      case 'view':
        return rect(g, '#e8e8e8', 1) + centred(g, g.text ?? '', 9)
      case 'pad':
        return rect(g, '#e8e8e8', 1) + centred(g, g.text ?? '', 10)
      case 'concat':
        // Fig. 28: an orange band with the black bar the joined wires meet at.
        return (
          rect(g, '#fcd29f', 1) +
          `<rect x="${r(cx - 2)}" y="${r(g.y + 3)}" width="4" height="${r(Math.max(1, g.h - 6))}" fill="#222"/>`
        )
      case 'zero':
        return rect(g, '#ffffff', 2, '#bbb') + centred(g, '0')
      case 'param':
        return rect(g, '#fdf0d5', 8) + centred(g, g.text ?? '', 11)
      case 'derivative':
        return rect(g, '#d8f0f0', 3, '#3a8') + centred(g, g.text ?? '', 11, ' font-weight="bold"')
      case 'shared':
        return `<rect x="${r(g.x)}" y="${r(g.y)}" width="${r(g.w)}" height="${r(g.h)}" fill="#1f5fd1"/>`
    }
  })()
  return `<g class="glyph ${g.kind}">${t}${body}${T}</g>`
}

/**
 * An SVG document of a drawing.
 *
 * @example
 * ```ts
 * import { layout, relu, toSvg, flatten, widthTest } from 'neural-circuit-diagrams'
 * toSvg(flatten(layout(relu('x')), widthTest([]))).startsWith('<svg') // true
 * ```
 */
export const toSvg = (d: Drawing, options: { title?: string } = {}): string => {
  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${r(d.width)}" height="${r(d.height)}" viewBox="0 0 ${r(d.width)} ${r(d.height)}" font-family="Helvetica, Arial, sans-serif">`,
  )
  if (options.title !== undefined) out.push(`<title>${escapeXml(options.title)}</title>`)
  out.push(
    '<style>.wire{fill:none;stroke:#111;stroke-width:1.2}.scalar{stroke-width:0.8}.head{fill:#111}.over{stroke:#111;stroke-width:0.9}.dash{stroke:#111;stroke-width:1.4;stroke-dasharray:5 4}</style>',
  )
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`)
  for (const f of d.frames) {
    if (f.kind === 'highlight')
      out.push(
        `<rect class="highlight" x="${r(f.x)}" y="${r(f.y)}" width="${r(f.w)}" height="${r(f.h)}" fill="${f.color}" fill-opacity="0.45" stroke="#e0b000" stroke-dasharray="3 2"/>`,
      )
    else
      out.push(
        `<rect class="frame ${f.kind}" x="${r(f.x)}" y="${r(f.y)}" width="${r(f.w)}" height="${r(f.h)}" rx="4" fill="${f.color}" fill-opacity="${f.kind === 'model' ? 0.35 : 0.4}"${f.kind === 'model' ? ` stroke="${f.color}"` : ''}/>`,
      )
  }
  for (const dash of d.dashes)
    out.push(
      `<line class="dash" x1="${r(dash.x0)}" y1="${r(dash.y)}" x2="${r(dash.x1)}" y2="${r(dash.y)}"/>`,
    )
  for (const w of d.wires) out.push(wireSvg(w))
  for (const g of d.glyphs) out.push(glyphSvg(g))
  for (const l of d.labels) out.push(labelSvg(l))
  out.push('</svg>')
  return out.join('\n')
}
