/**
 * The drawing's data, before any SVG: wires, ports, glyphs (the paper's symbols), labels, frames
 * and dashed tuple separators, each with its geometry, so that tests check the picture on data
 * (wire counts per section, wire ends on ports, no overlaps) rather than on pixels.
 *
 * A {@link Block} is the layout of one term in its own coordinates: its input ports stand on its
 * left edge (x = 0) and its output ports on its right edge (x = w), at the *canonical* heights of
 * its type (one row per axis, a gap between tuple segments, the first row at y = 0). Because
 * every block keeps that contract, a sequence is laid by placing parts side by side with no
 * routing, and routing (bends) happens only inside the blocks that move wires (swap, copy, par,
 * broadcast, einsum). Blocks nest by offsets and are flattened once, so layout is linear in the
 * size of the term.
 *
 * @packageDocumentation
 */
import type { Dim } from '../core/dim.js'
import { showDim } from '../core/dim.js'
import type { TupleType } from '../core/types.js'

/** The vertical pitch of the wires of one tensor. */
export const ROW = 24
/** The extra space between two tuple segments (where the dashed line runs). */
export const GAP = 14
/** The width of a column in which wires bend from one height to another. */
export const BEND = 30
/** The font size of wire labels. */
export const LABEL_SIZE = 12
/** The font size of text in glyphs. */
export const TEXT_SIZE = 12

/** An axis-aligned rectangle. */
export interface Rect {
  readonly x: number
  readonly y: number
  readonly w: number
  readonly h: number
}

/** One end of a wire on the boundary of a block: an axis (labelled) or a scalar segment. */
export interface Port {
  readonly x: number
  readonly y: number
  /** The dim's text, `''` for a scalar segment. */
  readonly label: string
  readonly overline: boolean
  readonly scalar: boolean
}

/**
 * A wire piece from `(x0, y0)` to `(x1, y1)`: straight, an S-bend with horizontal ends, or a
 * turn (the cap and cup of Fig. 20: a half circle from `(x0, y0)` to `(x0, y1)` bulging by
 * `x1 - x0`, to the right when positive).
 */
export interface Wire {
  readonly shape: 'line' | 'bend' | 'turn'
  readonly x0: number
  readonly y0: number
  readonly x1: number
  readonly y1: number
  /** The axis carried (the dim's text), `undefined` for a scalar (drawn dotted). */
  readonly axis: string | undefined
}

/** The symbols of the notation. */
export type GlyphKind =
  | 'box' // a collapsed named box or an opaque operation: rounded rectangle with its name
  | 'linear' // the bold L of a learned linear map, parameter as superscript, + for a bias
  | 'elementwise' // a scalar map broadcast over axes that pass over it (Fig. 15)
  | 'scale' // the small box `* c`
  | 'softmax' // the triangle pointing against the flow
  | 'norm' // normalisation: a circle in a pink box
  | 'reduce' // max, mean, argmax over one axis
  | 'contract' // the half-disc where summed wires meet, with its arrow (Fig. 19)
  | 'dot' // copy, or wires merging on a diagonal
  | 'end' // drop: a wire ends
  | 'spread' // a constant spread along an axis: a wire begins
  | 'add' // the sum of two tensors
  | 'mul' // the element-wise product of two tensors
  | 'star' // the convolution tensor, stride and dilation beside it
  | 'ket' // an index |i> or its transpose <i|
  | 'view' // a reshape of tandem axes: the bar of Fig. 21's flatten
  | 'pad' // zero padding, or its transpose the crop
  | 'concat' // concatenation: the bar where the parts' wires join (Fig. 28), or the split
  | 'zero' // the zero map
  | 'param' // a named parameter
  | 'derivative' // D(f)
  | 'shared' // the mark of a segment that an inner broadcast does not broadcast (Fig. 14)

/** A symbol with its bounding box (the layout keeps bounding boxes of glyphs apart). */
export interface Glyph extends Rect {
  readonly kind: GlyphKind
  /** Main text (a name, an operation), when the symbol has one. */
  readonly text?: string
  /** Superscript (the parameter of an L, the exponent of a scale). */
  readonly sup?: string
  /** Subscript (the + of a biased L). */
  readonly sub?: string
  /** Which way the symbol points, for the triangle. */
  readonly flip?: boolean
  /** Marked as a transpose (a superscript T is drawn). */
  readonly transposed?: boolean
  /** The height of the wire the symbol sits on, when it sits on one (the triangle, the star). */
  readonly cy?: number
  /** A longer description, shown as the SVG element's title (a tooltip). */
  readonly title?: string
}

/** A piece of text with its bounding box. */
export interface Label {
  /** Left end and baseline. */
  readonly x: number
  readonly y: number
  readonly text: string
  readonly overline: boolean
  readonly size: number
  readonly box: Rect
  readonly role: 'wire' | 'title' | 'note'
}

/**
 * A frame: a named component (coloured, titled), a broadcast's region, the green mark of a
 * transpose (wires of one tensor crossing), or a highlight.
 */
export interface Frame extends Rect {
  readonly kind: 'model' | 'broadcast' | 'transpose' | 'highlight'
  readonly title: string
  readonly color: string
}

/** A dashed line between two tuple segments. */
export interface Dash {
  readonly x0: number
  readonly x1: number
  readonly y: number
}

/** A vertical section where the wires must be those of a known type, top to bottom. */
export interface Section {
  readonly x: number
  /** The expected wires, top to bottom: dim text and overline (scalars are not wires). */
  readonly axes: ReadonlyArray<{ readonly label: string; readonly overline: boolean }>
  /** What lies there, for messages: 'after part 2 of seq'. */
  readonly where: string
}

/** The drawn items of one block, in its own coordinates. */
export interface Items {
  readonly wires: Wire[]
  readonly glyphs: Glyph[]
  readonly labels: Label[]
  readonly frames: Frame[]
  readonly dashes: Dash[]
  /** Points where wires may end besides ports: the attachment points of glyphs and joins. */
  readonly anchors: Array<{ readonly x: number; readonly y: number }>
  readonly sections: Section[]
}

/** The layout of one term: see the module comment. */
export interface Block {
  readonly w: number
  /** The extent above the first row (negative) and below it. */
  readonly top: number
  readonly bottom: number
  readonly dom: TupleType
  readonly cod: TupleType
  readonly items: Items
  readonly kids: ReadonlyArray<Placed>
}

/** The expected wires of a section, top to bottom. */
export type SectionAxes = Section['axes']

/** A block placed at an offset inside its parent. */
export interface Placed {
  readonly dx: number
  readonly dy: number
  readonly block: Block
  /**
   * The wires that run straight above and below the child at its sections (the broadcast axes
   * over a body, the identities beside a part of a par), or `false` when the child's sections
   * do not hold in the parent (other wires bend beside it).
   */
  readonly context?: { readonly above: SectionAxes; readonly below: SectionAxes } | false
}

/** The flattened drawing of a term: everything in one coordinate system. */
export interface Drawing {
  readonly width: number
  readonly height: number
  /** The offset added to every item so that the drawing starts at (0, 0). */
  readonly wires: ReadonlyArray<Wire>
  readonly glyphs: ReadonlyArray<Glyph>
  readonly labels: ReadonlyArray<Label>
  readonly frames: ReadonlyArray<Frame>
  readonly dashes: ReadonlyArray<Dash>
  readonly ports: ReadonlyArray<Port>
  readonly anchors: ReadonlyArray<{ readonly x: number; readonly y: number }>
  readonly sections: ReadonlyArray<Section>
  /** The diagram's own input and output ports. */
  readonly inputs: ReadonlyArray<Port>
  readonly outputs: ReadonlyArray<Port>
}

/** Empty item lists. */
export const noItems = (): Items => ({
  wires: [],
  glyphs: [],
  labels: [],
  frames: [],
  dashes: [],
  anchors: [],
  sections: [],
})

/** The text of a dim on a wire: the name, a tandem product as `h×w`. */
export const dimText = (d: Dim): string =>
  d.kind === 'product' ? d.factors.map(dimText).join('×') : showDim(d)

/** The estimated advance of a text in the sans-serif font of the drawing. */
export const textWidth = (text: string, size: number): number => {
  let w = 0
  for (const ch of text) w += /[mwMW]/.test(ch) ? 0.85 : /[il.,:;|'!]/.test(ch) ? 0.3 : 0.58
  return w * size
}

/** One row of a canonical port column. */
export interface Row {
  readonly y: number
  readonly segment: number
  readonly label: string
  readonly overline: boolean
  readonly scalar: boolean
}

/** Whether a dim is drawn overlined: marked `width`, or named in the options' width axes. */
export type IsWidth = (d: Dim) => boolean

/**
 * The canonical rows of a type: one per axis, one for a scalar segment, `ROW` apart, `GAP` more
 * between segments, the first at y = 0.
 */
export const rowsOf = (t: TupleType, isWidth: IsWidth): Row[] => {
  const out: Row[] = []
  let y = 0
  t.forEach((shape, segment) => {
    if (segment > 0) y += GAP
    if (shape.length === 0) {
      out.push({ y, segment, label: '', overline: false, scalar: true })
      y += ROW
    }
    for (const d of shape) {
      out.push({ y, segment, label: dimText(d), overline: isWidth(d), scalar: false })
      y += ROW
    }
  })
  return out
}

/** The first row of each segment of a type (its canonical offset). */
export const segmentTops = (t: TupleType): number[] => {
  const out: number[] = []
  let y = 0
  t.forEach((shape, s) => {
    if (s > 0) y += GAP
    out.push(y)
    y += ROW * Math.max(1, shape.length)
  })
  return out
}

/** The height of the canonical rows of a type (0 for the empty tuple). */
export const typeSpan = (t: TupleType): number =>
  t.length === 0 ? 0 : t.reduce((n, s) => n + ROW * Math.max(1, s.length), 0) + GAP * (t.length - 1)

/** The default vertical extent of a block whose glyphs stay within their rows. */
export const bandOf = (dom: TupleType, cod: TupleType): { top: number; bottom: number } => ({
  top: -ROW / 2,
  bottom: Math.max(typeSpan(dom), typeSpan(cod), ROW) - ROW / 2,
})

/** A block from its parts. */
export const block = (
  fields: Omit<Block, 'items' | 'kids'> & { items?: Items; kids?: ReadonlyArray<Placed> },
): Block => ({ items: fields.items ?? noItems(), kids: fields.kids ?? [], ...fields })

/** A wire label: the dim's text just above the wire at x. */
export const wireLabel = (x: number, y: number, text: string, overline: boolean): Label => {
  const w = textWidth(text, LABEL_SIZE)
  const base = y - 4
  const h = LABEL_SIZE + (overline ? 3 : 0)
  return {
    x,
    y: base,
    text,
    overline,
    size: LABEL_SIZE,
    box: { x, y: base - h + 2, w, h },
    role: 'wire',
  }
}

/** A title or note: text with its box, baseline at y. */
export const textLabel = (
  x: number,
  y: number,
  text: string,
  size: number,
  role: Label['role'],
): Label => ({
  x,
  y,
  text,
  overline: false,
  size,
  box: { x, y: y - size + 1, w: textWidth(text, size), h: size + 2 },
  role,
})

const moveRect = <R extends Rect>(r: R, dx: number, dy: number): R => ({
  ...r,
  x: r.x + dx,
  y: r.y + dy,
})

const portAt = (r: Row, x: number, y: number): Port => ({
  x,
  y,
  label: r.label,
  overline: r.overline,
  scalar: r.scalar,
})

/** Flatten a block into one drawing, translated so that its bounding box starts at (0, 0). */
export const flatten = (root: Block, isWidth: IsWidth, margin = 8): Drawing => {
  const wires: Wire[] = []
  const glyphs: Glyph[] = []
  const labels: Label[] = []
  const frames: Frame[] = []
  const dashes: Dash[] = []
  const ports: Port[] = []
  const anchors: Array<{ x: number; y: number }> = []
  const sections: Section[] = []
  const ox = margin
  const oy = margin - root.top
  type Context = { above: SectionAxes; below: SectionAxes } | false
  const walk = (b: Block, dx: number, dy: number, context: Context): void => {
    const it = b.items
    for (const w of it.wires)
      // Written out, not spread: the walk copies every item of the drawing, and object literals
      // of one shape are several times faster than spreads in V8 (bench/render.md).
      wires.push({
        shape: w.shape,
        x0: w.x0 + dx,
        y0: w.y0 + dy,
        x1: w.x1 + dx,
        y1: w.y1 + dy,
        axis: w.axis,
      })
    for (const g of it.glyphs)
      glyphs.push(
        g.cy === undefined ? moveRect(g, dx, dy) : { ...moveRect(g, dx, dy), cy: g.cy + dy },
      )
    for (const l of it.labels)
      labels.push({
        x: l.x + dx,
        y: l.y + dy,
        text: l.text,
        overline: l.overline,
        size: l.size,
        box: { x: l.box.x + dx, y: l.box.y + dy, w: l.box.w, h: l.box.h },
        role: l.role,
      })
    for (const f of it.frames) frames.push(moveRect(f, dx, dy))
    for (const d of it.dashes) dashes.push({ x0: d.x0 + dx, x1: d.x1 + dx, y: d.y + dy })
    for (const a of it.anchors) anchors.push({ x: a.x + dx, y: a.y + dy })
    if (context !== false)
      for (const s of it.sections)
        sections.push({ ...s, x: s.x + dx, axes: [...context.above, ...s.axes, ...context.below] })
    for (const r of rowsOf(b.dom, isWidth)) ports.push(portAt(r, dx, r.y + dy))
    for (const r of rowsOf(b.cod, isWidth)) ports.push(portAt(r, b.w + dx, r.y + dy))
    for (const k of b.kids) {
      const c = k.context ?? { above: [], below: [] }
      const inner: Context =
        context === false || c === false
          ? false
          : { above: [...context.above, ...c.above], below: [...c.below, ...context.below] }
      walk(k.block, dx + k.dx, dy + k.dy, inner)
    }
  }
  walk(root, ox, oy, { above: [], below: [] })
  // Larger frames first, so that nested frames are drawn over the ones that hold them.
  frames.sort((a, b) => b.w * b.h - a.w * a.h)
  const edge = (t: TupleType, x: number): Port[] =>
    rowsOf(t, isWidth).map((r) => ({ ...r, x, y: r.y + oy }))
  return {
    width: root.w + 2 * margin,
    height: root.bottom - root.top + 2 * margin,
    wires,
    glyphs,
    labels,
    frames,
    dashes,
    ports,
    anchors,
    sections,
    inputs: edge(root.dom, ox),
    outputs: edge(root.cod, ox + root.w),
  }
}
