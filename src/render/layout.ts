/**
 * Terms to blocks (see `geometry.ts`): the compositional layout of the paper's notation. Every
 * block keeps the canonical port rows of its type, so `seq` places parts side by side (with a
 * labelled connector between them: the wire labels and the dashed tuple separators), `par` stacks
 * parts top to bottom (bending wires only where a part's rows are not at their canonical height),
 * and `broadcast` lays its body below the broadcast axes, which pass over it (Fig. 13-15). Each
 * node is laid once, so the layout is linear in the size of the term.
 *
 * @packageDocumentation
 */
import type { Dim } from '../core/dim.js'
import { dimKey } from '../core/dim.js'
import { show } from '../core/show.js'
import type { Term } from '../core/term.js'
import type { Shape, TupleType } from '../core/types.js'
import {
  BEND,
  type Block,
  type Frame,
  type Glyph,
  type GlyphKind,
  type IsWidth,
  type Items,
  type Label,
  type Placed,
  ROW,
  type Row,
  type SectionAxes,
  TEXT_SIZE,
  type Wire,
  block,
  dimText,
  noItems,
  rowsOf,
  segmentTops,
  textLabel,
  textWidth,
  typeSpan,
  wireLabel,
} from './geometry.js'

/** Which named boxes are drawn open. */
export type Expand = 'all' | 'none' | 'top' | ReadonlyArray<string>

/** Options of the layout. */
export interface LayoutOptions {
  /**
   * Which boxes (the models) are drawn expanded: `'all'`, `'none'`, `'top'` (the outermost boxes
   * open, the ones inside them collapsed; the default), or a list of box names (a name matches
   * the box's full name or the part before its first `(`: `'L'` opens every learned map).
   */
  readonly expand?: Expand
  /** Dims drawn overlined besides those marked `width` (by name). */
  readonly width?: ReadonlyArray<string>
  /** A sub-term to frame in yellow, by its path of child indexes (a proof step's location). */
  readonly highlight?: {
    readonly path: ReadonlyArray<number>
    readonly range?: readonly [number, number]
  }
}

/** The colours of named frames, picked by the name. */
const PALETTE = ['#c9b8e8', '#b8e0c8', '#f5e7a1', '#b8d4f0', '#f3c1c1', '#d9d2b0', '#c1e8ec']

const hash = (s: string): number => {
  let h = 7
  for (const ch of s) h = (h * 31 + ch.charCodeAt(0)) >>> 0
  return h
}

/** The colour of a named frame. */
export const frameColor = (name: string): string => PALETTE[hash(name) % PALETTE.length] as string

const STUB = 10
const PAD = 8
const TITLE = 16

/** The short name of a box: the part before its first `(`. */
const shortName = (name: string): string => {
  const i = name.indexOf('(')
  return (i > 0 ? name.slice(0, i) : name).trim()
}

const axesOf = (rows: ReadonlyArray<Row>): SectionAxes =>
  rows.filter((r) => !r.scalar).map((r) => ({ label: r.label, overline: r.overline }))

const line = (x0: number, y0: number, x1: number, y1: number, axis: string | undefined): Wire => ({
  shape: x0 === x1 || y0 === y1 ? 'line' : 'bend',
  x0,
  y0,
  x1,
  y1,
  axis,
})

const axisOfRow = (r: Row): string | undefined => (r.scalar ? undefined : r.label)

/** The number formatting of factors and exponents. */
const num = (v: number): string => {
  if (Number.isInteger(v)) return String(v)
  const half = v * 2
  if (Number.isInteger(half)) return `${half}/2`
  return String(Number(v.toPrecision(3)))
}

interface Ctx {
  readonly isWidth: IsWidth
  readonly expand: Expand
  readonly highlight: LayoutOptions['highlight']
}

/** A straight stretch of wires over a type, with labels and dashes: the joint of a `seq`. */
export const connector = (t: TupleType, isWidth: IsWidth, where: string): Block => {
  const rows = rowsOf(t, isWidth)
  let w = 16
  for (const r of rows) if (!r.scalar) w = Math.max(w, textWidth(r.label, 12) + 10)
  const items = noItems()
  for (const r of rows) {
    items.wires.push(line(0, r.y, w, r.y, axisOfRow(r)))
    if (!r.scalar) items.labels.push(wireLabel(4, r.y, r.label, r.overline))
  }
  const tops = segmentTops(t)
  // The dash runs between the last wire of a segment and the label above the next one's first
  // wire (which stands in the upper part of the gap), so the two never cross.
  for (let s = 1; s < tops.length; s++) {
    const y = (tops[s] as number) - ROW - 4
    items.dashes.push({ x0: 0, x1: w, y })
  }
  items.sections.push({ x: w / 2, axes: axesOf(rows), where })
  const span = Math.max(typeSpan(t), ROW)
  return block({ w, top: -ROW / 2 - 10, bottom: span - ROW / 2, dom: t, cod: t, items })
}

/** A column where wires go from the rows `from` to the rows `to` (same order of axes). */
const bends = (
  items: Items,
  x0: number,
  x1: number,
  from: ReadonlyArray<{ y: number; axis: string | undefined }>,
  to: ReadonlyArray<number>,
): void => {
  from.forEach((f, i) => {
    items.wires.push(line(x0, f.y, x1, to[i] as number, f.axis))
  })
}

/**
 * A leaf drawn as one glyph: wires from each input row to its left edge and from its right edge
 * to each output row, the glyph spanning the rows.
 */
const leaf = (
  t: Pick<Term, 'dom' | 'cod'>,
  ctx: Ctx,
  kind: GlyphKind,
  fields: Omit<Glyph, 'kind' | 'x' | 'y' | 'w' | 'h'> & { minW?: number },
): Block => {
  const din = rowsOf(t.dom, ctx.isWidth)
  const dout = rowsOf(t.cod, ctx.isWidth)
  const all = [...din, ...dout]
  const lo = all.length === 0 ? 0 : Math.min(...all.map((r) => r.y))
  const hi = all.length === 0 ? 0 : Math.max(...all.map((r) => r.y))
  const text = `${fields.text ?? ''}${fields.sup ?? ''}${fields.sub ?? ''}`
  const gw = Math.max(fields.minW ?? 22, textWidth(text, TEXT_SIZE) + 12)
  const extra = kind === 'softmax' ? 10 : 0
  const gh = hi - lo + ROW - 6 + extra
  const gx = STUB
  const gy = lo - ROW / 2 + 3 - extra
  const items = noItems()
  const { minW: _minW, ...rest } = fields
  void _minW
  const g: Glyph = { kind, x: gx, y: gy, w: gw, h: gh, ...rest }
  items.glyphs.push(g)
  for (const r of din) {
    items.wires.push(line(0, r.y, gx, r.y, axisOfRow(r)))
    items.anchors.push({ x: gx, y: r.y })
  }
  for (const r of dout) {
    items.wires.push(line(gx + gw, r.y, gx + gw + STUB, r.y, axisOfRow(r)))
    items.anchors.push({ x: gx + gw, y: r.y })
  }
  const band = { top: Math.min(gy, -ROW / 2), bottom: Math.max(gy + gh, ROW / 2) }
  return block({ w: gx + gw + STUB, ...band, dom: t.dom, cod: t.cod, items })
}

const straight = (t: TupleType, ctx: Ctx, w = 20): Block => {
  const items = noItems()
  const rows = rowsOf(t, ctx.isWidth)
  for (const r of rows) items.wires.push(line(0, r.y, w, r.y, axisOfRow(r)))
  const span = Math.max(typeSpan(t), ROW)
  return block({ w, top: -ROW / 2, bottom: span - ROW / 2, dom: t, cod: t, items })
}

/** Place children of a sequence side by side with connectors between them. */
const chain = (parts: ReadonlyArray<Block>, ctx: Ctx, what: string): Block =>
  side(
    parts.flatMap((b, i) =>
      i === 0
        ? [b]
        : [connector(b.dom, ctx.isWidth, `between parts ${i - 1} and ${i} of ${what}`), b],
    ),
  )

/** Blocks side by side (their types meet). */
const side = (parts: ReadonlyArray<Block>): Block => {
  const kids: Placed[] = []
  let x = 0
  let top = 0
  let bottom = 0
  parts.forEach((b) => {
    kids.push({ dx: x, dy: 0, block: b })
    x += b.w
    top = Math.min(top, b.top)
    bottom = Math.max(bottom, b.bottom)
  })
  const first = parts[0] as Block
  const last = parts[parts.length - 1] as Block
  return block({ w: x, top, bottom, dom: first.dom, cod: last.cod, kids })
}

/** Stack blocks top to bottom on consecutive tuple segments, bending where rows move. */
const stack = (parts: ReadonlyArray<Block>, ctx: Ctx, dom: TupleType, cod: TupleType): Block => {
  const domTops = segmentTops(dom)
  const codTops = segmentTops(cod)
  let si = 0
  let so = 0
  let cursor = -Infinity
  const placed: Array<{ dy: number; b: Block; dTop: number; cTop: number }> = []
  for (const b of parts) {
    const dTop = b.dom.length > 0 ? (domTops[si] as number) : NaN
    const cTop = b.cod.length > 0 ? (codTops[so] as number) : NaN
    si += b.dom.length
    so += b.cod.length
    const canon = Number.isNaN(dTop) ? cTop : dTop
    let dy = Number.isNaN(canon) ? 0 : canon
    if (!Number.isNaN(dTop) && !Number.isNaN(cTop) && dTop !== cTop) dy = Math.max(dTop, cTop)
    dy = Math.max(dy, cursor + 6 - b.top)
    if (placed.length === 0 && Number.isNaN(canon)) dy = 0
    placed.push({ dy, b, dTop, cTop })
    cursor = dy + b.bottom
  }
  const inner = Math.max(...parts.map((b) => b.w))
  const domRows = rowsOf(dom, ctx.isWidth)
  const codRows = rowsOf(cod, ctx.isWidth)
  const placedIn: number[] = []
  const placedOut: number[] = []
  for (const p of placed) {
    for (const r of rowsOf(p.b.dom, ctx.isWidth)) placedIn.push(r.y + p.dy)
    for (const r of rowsOf(p.b.cod, ctx.isWidth)) placedOut.push(r.y + p.dy)
  }
  const bendIn = domRows.some((r, i) => r.y !== placedIn[i])
  const bendOut = codRows.some((r, i) => r.y !== placedOut[i])
  const left = bendIn ? BEND : 0
  const items = noItems()
  const kids: Placed[] = []
  let top = 0
  let bottom = 0
  for (const p of placed) {
    kids.push({ dx: left, dy: p.dy, block: p.b, context: false })
    top = Math.min(top, p.dy + p.b.top)
    bottom = Math.max(bottom, p.dy + p.b.bottom)
    if (p.b.w < inner)
      for (const r of rowsOf(p.b.cod, ctx.isWidth)) {
        items.wires.push(line(left + p.b.w, r.y + p.dy, left + inner, r.y + p.dy, axisOfRow(r)))
        items.anchors.push({ x: left + inner, y: r.y + p.dy })
      }
  }
  for (let i = 1; i < placed.length; i++) {
    const a = placed[i - 1] as (typeof placed)[number]
    const b = placed[i] as (typeof placed)[number]
    const y = (a.dy + a.b.bottom + b.dy + b.b.top) / 2
    items.dashes.push({ x0: left, x1: left + inner, y })
  }
  if (bendIn)
    bends(
      items,
      0,
      left,
      domRows.map((r) => ({ y: r.y, axis: axisOfRow(r) })),
      placedIn,
    )
  const right = bendOut ? BEND : 0
  if (bendOut)
    bends(
      items,
      left + inner,
      left + inner + right,
      placedOut.map((y, i) => ({ y, axis: axisOfRow(codRows[i] as Row) })),
      codRows.map((r) => r.y),
    )
  top = Math.min(top, -ROW / 2)
  bottom = Math.max(bottom, typeSpan(dom) - ROW / 2, typeSpan(cod) - ROW / 2)
  return block({ w: left + inner + right, top, bottom, dom, cod, items, kids })
}

/** Insert the broadcast axes into a shape at a position. */
const rowsWithAxes = (
  shape: Shape,
  at: number | 'shared',
  n: number,
): Array<{ over: number } | { body: number }> => {
  const out: Array<{ over: number } | { body: number }> = shape.map((_, i) => ({ body: i }))
  if (at === 'shared') return out
  out.splice(at, 0, ...Array.from({ length: n }, (_, j) => ({ over: j })))
  return out
}

const layBroadcast = (t: Extract<Term, { kind: 'broadcast' }>, ctx: Ctx, path: string): Block => {
  const body = lay(t.body, ctx, `${path}/0`)
  const n = t.axes.length
  const axisRows = t.axes.map((d) => ({ label: dimText(d), overline: ctx.isWidth(d) }))
  // Axes placed last in every segment pass under the body, as the paper draws them (Fig. 23's
  // heads); otherwise over it.
  const under =
    t.body.dom.some((shape) => shape.length > 0) &&
    t.body.dom.every((shape, s) => {
      const at = t.inputs[s] ?? 'shared'
      return at === 'shared' || at === shape.length
    }) &&
    t.body.cod.every((shape, s) => (t.outputs[s] ?? 0) === shape.length)
  // A scalar map broadcast over axes (a scale or an element-wise op over [ȳ x̄]) sits on the
  // last axis's wire, as the paper draws `* k^-1/2` in Fig. 22, instead of below the axes with
  // wireless stubs.
  const onWire =
    !under &&
    n > 0 &&
    t.body.dom.length === 1 &&
    t.body.cod.length === 1 &&
    (t.body.dom[0] as Shape).length === 0 &&
    (t.body.cod[0] as Shape).length === 0 &&
    t.inputs[0] !== 'shared'
  const dy = under ? 0 : onWire ? (n - 1) * ROW : (n - 1) * ROW + 12 - body.top
  const ub = body.bottom + 14 + ROW / 2
  const overY = (j: number): number => (under ? ub + j * ROW : j * ROW)
  const items = noItems()
  const overW = Math.max(...axisRows.map((a) => textWidth(a.label, 12) + 14), 0)
  const mid = Math.max(body.w, overW)
  const L = BEND
  // Left: each input segment's wires to the over rows or to the body's rows.
  const domRows = rowsOf(t.dom, ctx.isWidth)
  const bodyIn = rowsOf(t.body.dom, ctx.isWidth)
  let k = 0
  const broadcastInputs = t.inputs.filter((p) => p !== 'shared').length
  t.body.dom.forEach((shape, s) => {
    const at = t.inputs[s] ?? 'shared'
    const bodyRowsOfSeg = bodyIn.filter((r) => r.segment === s)
    const layoutRows =
      shape.length === 0 && at === 'shared' ? [{ body: 0 }] : rowsWithAxes(shape, at, n)
    for (const lr of layoutRows) {
      const r = domRows[k++] as Row
      if ('over' in lr) items.wires.push(line(0, r.y, L, overY(lr.over), axisOfRow(r)))
      else {
        const br = bodyRowsOfSeg[lr.body] as Row
        items.wires.push(line(0, r.y, L, br.y + dy, axisOfRow(r)))
      }
    }
    if (at === 'shared') {
      const y0 = (bodyRowsOfSeg[0] as Row).y + dy
      const g: Glyph = {
        kind: 'shared',
        x: L - 9,
        y: y0 - 4,
        w: 6,
        h: 8,
        title: 'shared: not broadcast (inner broadcasting, Fig. 14)',
      }
      items.glyphs.push(g)
    }
  })
  if (broadcastInputs > 1)
    for (let j = 0; j < n; j++)
      items.glyphs.push({
        kind: 'dot',
        x: L - 3,
        y: overY(j) - 3,
        w: 6,
        h: 6,
        title: 'one index for every input',
      })
  // Over the body: the broadcast axes, labelled.
  for (let j = 0; j < n; j++) {
    const a = axisRows[j] as { label: string; overline: boolean }
    // On the wire, the body's own ports carry the last axis through it.
    if (onWire && j === n - 1) continue
    items.wires.push(line(L, overY(j), L + mid, overY(j), a.label))
    items.labels.push(wireLabel(L + 8, overY(j), a.label, a.overline))
  }
  if (body.w < mid)
    for (const r of rowsOf(t.body.cod, ctx.isWidth)) {
      items.wires.push(line(L + body.w, r.y + dy, L + mid, r.y + dy, axisOfRow(r)))
      items.anchors.push({ x: L + mid, y: r.y + dy })
    }
  // Right: the over rows to each output's placement, the body's outputs to theirs.
  const codRows = rowsOf(t.cod, ctx.isWidth)
  const bodyOut = rowsOf(t.body.cod, ctx.isWidth)
  k = 0
  t.body.cod.forEach((shape, s) => {
    const at = t.outputs[s] ?? 0
    const segRows = bodyOut.filter((r) => r.segment === s)
    for (const lr of rowsWithAxes(shape, at, n)) {
      const r = codRows[k++] as Row
      if ('over' in lr)
        items.wires.push(line(L + mid, overY(lr.over), L + mid + BEND, r.y, axisOfRow(r)))
      else
        items.wires.push(
          line(L + mid, (segRows[lr.body] as Row).y + dy, L + mid + BEND, r.y, axisOfRow(r)),
        )
    }
  })
  if (t.body.cod.length > 1)
    for (let j = 0; j < n; j++)
      items.glyphs.push({
        kind: 'dot',
        x: L + mid - 3,
        y: overY(j) - 3,
        w: 6,
        h: 6,
        title: 'one index for every output',
      })
  const frame: Frame = {
    kind: 'broadcast',
    title: '',
    color: '#f4d9f0',
    x: L - 2,
    y: under ? Math.min(body.top, -ROW / 2) + 2 : -ROW / 2 + 2,
    w: mid + 4,
    h: under
      ? overY(n - 1) + ROW / 2 - 2 - Math.min(body.top, -ROW / 2)
      : dy + body.bottom + ROW / 2 - 2,
  }
  items.frames.push(frame)
  const kids: Placed[] = [
    {
      dx: L,
      dy,
      block: body,
      context: under ? { above: [], below: axisRows } : { above: axisRows, below: [] },
    },
  ]
  const top = under ? Math.min(body.top - 2, -ROW / 2 - 10) : -ROW / 2 - 10
  const bottom = Math.max(
    under ? overY(n - 1) + ROW / 2 : dy + body.bottom + 2,
    typeSpan(t.dom) - ROW / 2,
    typeSpan(t.cod) - ROW / 2,
  )
  return block({ w: L + mid + BEND, top, bottom, dom: t.dom, cod: t.cod, items, kids })
}

/** The einsum: pass-through wires, contractions, merges and spreads in a middle column. */
const layEinsum = (t: Extract<Term, { kind: 'einsum' }>, ctx: Ctx): Block => {
  const din = rowsOf(t.dom, ctx.isWidth)
  const dout = rowsOf(t.cod, ctx.isWidth)
  const items = noItems()
  // Occurrences of each label among the inputs (row index into din) and the output.
  const ins = new Map<string, number[]>()
  let k = 0
  const scalarIns: number[] = []
  t.inputs.forEach((labels) => {
    if (labels.length === 0) scalarIns.push(k++)
    for (const l of labels) {
      const a = ins.get(l) ?? []
      a.push(k++)
      ins.set(l, a)
    }
  })
  const outs = new Map<string, number[]>()
  t.output.forEach((l, i) => {
    const a = outs.get(l) ?? []
    a.push(i)
    outs.set(l, a)
  })
  const outRow = (i: number): Row => dout[t.output.length === 0 ? 0 : i] as Row
  const W = 2 * BEND + 16
  const cx = BEND + 8
  interface Junction {
    kind: GlyphKind
    want: number
    ins: number[]
    outs: number[]
    label: string
    turn?: 'cup' | 'cap'
  }
  const junctions: Junction[] = []
  const passes: Array<{ from: number; to: number; label: string }> = []
  const labelOrder = [...new Set([...ins.keys(), ...outs.keys()])]
  for (const l of labelOrder) {
    const i = ins.get(l) ?? []
    const o = outs.get(l) ?? []
    if (i.length === 1 && o.length === 1)
      passes.push({ from: i[0] as number, to: o[0] as number, label: l })
    else if (o.length === 0 && i.length === 2 && (t.name === 'cup' || sameInput(t, i)))
      junctions.push({ kind: 'contract', want: 0, ins: i, outs: [], label: l, turn: 'cup' })
    else if (i.length === 0 && o.length === 2)
      junctions.push({ kind: 'spread', want: 0, ins: [], outs: o, label: l, turn: 'cap' })
    else
      junctions.push({
        kind: o.length === 0 ? 'contract' : i.length === 0 ? 'spread' : 'dot',
        want: 0,
        ins: i,
        outs: o,
        label: l,
      })
  }
  const named = t.name !== undefined
  if (named)
    for (const s of scalarIns) {
      const r = din[s] as Row
      items.wires.push(line(0, r.y, cx - 8, r.y, undefined))
      items.anchors.push({ x: cx - 8, y: r.y })
    }
  else
    for (const s of scalarIns)
      junctions.push({ kind: 'dot', want: 0, ins: [s], outs: [], label: '' })
  const ys = (j: Junction): number[] => [
    ...j.ins.map((i) => (din[i] as Row).y),
    ...j.outs.map((o) => outRow(o).y),
  ]
  for (const j of junctions) {
    const v = ys(j)
    j.want = v.length === 0 ? 0 : v.reduce((a, b) => a + b, 0) / v.length
  }
  // Scalar output: the result of the whole sum leaves from the first junction (or a new dot).
  junctions.sort((a, b) => a.want - b.want)
  let prev = -Infinity
  const placedY: number[] = []
  for (const j of junctions) {
    const y = Math.max(j.want, prev + 24)
    placedY.push(y)
    prev = y
  }
  let top = -ROW / 2
  let bottom = Math.max(typeSpan(t.dom), typeSpan(t.cod), ROW) - ROW / 2
  junctions.forEach((j, n) => {
    const y = placedY[n] as number
    const lab = t.dims[j.label]
    const title =
      j.label === ''
        ? 'a scalar factor'
        : `${j.kind === 'contract' ? 'sum over' : j.kind === 'spread' ? 'spread along' : 'diagonal of'} ${lab === undefined ? j.label : dimKey(lab)}`
    if (j.turn === 'cup') {
      const [a, b] = j.ins.map((i) => (din[i] as Row).y) as [number, number]
      items.wires.push(line(0, a, cx - 8, a, j.label), line(0, b, cx - 8, b, j.label))
      items.wires.push({ shape: 'turn', x0: cx - 8, y0: a, x1: cx + 4, y1: b, axis: j.label })
      return
    }
    if (j.turn === 'cap') {
      const [a, b] = j.outs.map((o) => outRow(o).y) as [number, number]
      items.wires.push(line(cx + 8, a, W, a, j.label), line(cx + 8, b, W, b, j.label))
      items.wires.push({ shape: 'turn', x0: cx + 8, y0: a, x1: cx - 4, y1: b, axis: j.label })
      return
    }
    const size = j.kind === 'contract' ? 20 : 6
    items.glyphs.push({
      kind: j.kind,
      x: cx - size / 2,
      y: y - size / 2,
      w: size,
      h: size,
      cy: y,
      title,
    })
    items.anchors.push({ x: cx, y })
    top = Math.min(top, y - size)
    bottom = Math.max(bottom, y + size)
    for (const i of j.ins)
      items.wires.push(line(0, (din[i] as Row).y, cx, y, axisOfRow(din[i] as Row)))
    for (const o of j.outs) items.wires.push(line(cx, y, W, outRow(o).y, j.label))
  })
  // A wire passing by bends on the side of the junction column where it does not run through a
  // glyph: before the column when its output row is clear of every glyph there, after it when
  // its input row is, across the whole width otherwise (K's x passing Attention's first
  // contraction, Fig. 22, no longer runs through the half-disc).
  const glyphSpans = items.glyphs.map((g) => [g.y - 4, g.y + g.h + 4] as const)
  const clear = (y: number): boolean => glyphSpans.every(([lo, hi]) => y < lo || y > hi)
  for (const p of passes) {
    const y0 = (din[p.from] as Row).y
    const y1 = outRow(p.to).y
    const axis = axisOfRow(din[p.from] as Row)
    const at = cx - 12
    if (y0 === y1 || glyphSpans.length === 0) items.wires.push(line(0, y0, W, y1, axis))
    else if (clear(y1)) items.wires.push(line(0, y0, at, y1, axis), line(at, y1, W, y1, axis))
    else if (clear(y0))
      items.wires.push(line(0, y0, cx + 12, y0, axis), line(cx + 12, y0, W, y1, axis))
    else items.wires.push(line(0, y0, W, y1, axis))
  }
  // A transpose: wires of one input tensor that cross on their way out (their order changes) are
  // marked by a green frame around the crossing, as the paper marks Kᵀ (Fig. 22).
  const segOf = (row: number): number => (din[row] as Row).segment
  const crossing = passes.filter((p) =>
    passes.some(
      (q) => q !== p && segOf(q.from) === segOf(p.from) && q.from < p.from !== q.to < p.to,
    ),
  )
  if (crossing.length > 0) {
    const ys = crossing.flatMap((p) => [(din[p.from] as Row).y, outRow(p.to).y])
    const lo = Math.min(...ys)
    const hi = Math.max(...ys)
    items.frames.push({
      kind: 'transpose',
      title: 'transpose',
      color: '#9fd9a8',
      x: 6,
      y: lo - ROW / 2 + 4,
      w: W - 12,
      h: hi - lo + ROW - 8,
    })
  }
  if (t.output.length === 0 && dout.length > 0) {
    const r = dout[0] as Row
    const j = junctions.findIndex((x) => x.turn === undefined)
    if (j >= 0) items.wires.push(line(cx, placedY[j] as number, W, r.y, undefined))
    else if (named) {
      items.wires.push(line(cx + 8, r.y, W, r.y, undefined))
      items.anchors.push({ x: cx + 8, y: r.y })
    } else {
      items.glyphs.push({
        kind: 'dot',
        x: cx - 3,
        y: r.y - 3,
        w: 6,
        h: 6,
        cy: r.y,
        title: 'a constant',
      })
      items.anchors.push({ x: cx, y: r.y })
      items.wires.push(line(cx, r.y, W, r.y, undefined))
    }
  }
  return block({ w: W, top, bottom, dom: t.dom, cod: t.cod, items })
}

const sameInput = (t: Extract<Term, { kind: 'einsum' }>, rows: number[]): boolean => {
  let k = 0
  const seg: number[] = []
  t.inputs.forEach((labels, s) => {
    const n = Math.max(1, labels.length)
    for (let i = 0; i < n; i++) seg[k++] = s
  })
  return rows.every((r) => seg[r] === seg[rows[0] as number])
}

/** Wires permuted: the tuple swap. */
const layPermutation = (t: Term, ctx: Ctx, perm: ReadonlyArray<number>): Block => {
  const din = rowsOf(t.dom, ctx.isWidth)
  const dout = rowsOf(t.cod, ctx.isWidth)
  const items = noItems()
  perm.forEach((to, from) => {
    const r = din[from] as Row
    items.wires.push(line(0, r.y, 2 * BEND, (dout[to] as Row).y, axisOfRow(r)))
  })
  return block({ w: 2 * BEND, ...bandFor(t), dom: t.dom, cod: t.cod, items })
}

const bandFor = (t: Term): { top: number; bottom: number } => ({
  top: -ROW / 2,
  bottom: Math.max(typeSpan(t.dom), typeSpan(t.cod), ROW) - ROW / 2,
})

const layCopy = (t: Extract<Term, { kind: 'copy' }>, ctx: Ctx): Block => {
  const din = rowsOf(t.dom, ctx.isWidth)
  const dout = rowsOf(t.cod, ctx.isWidth)
  const items = noItems()
  const cx = 12
  din.forEach((r, i) => {
    items.wires.push(line(0, r.y, cx, r.y, axisOfRow(r)))
    items.glyphs.push({ kind: 'dot', x: cx - 3, y: r.y - 3, w: 6, h: 6, cy: r.y, title: 'copy' })
    items.anchors.push({ x: cx, y: r.y })
    const a = dout[i] as Row
    const b = dout[i + din.length] as Row
    items.wires.push(line(cx, r.y, cx + 2 * BEND, a.y, axisOfRow(r)))
    items.wires.push(line(cx, r.y, cx + 2 * BEND, b.y, axisOfRow(r)))
  })
  return block({ w: cx + 2 * BEND, ...bandFor(t), dom: t.dom, cod: t.cod, items })
}

const layDrop = (t: Extract<Term, { kind: 'drop' }>, ctx: Ctx): Block => {
  const items = noItems()
  for (const r of rowsOf(t.dom, ctx.isWidth)) {
    items.wires.push(line(0, r.y, 14, r.y, axisOfRow(r)))
    items.glyphs.push({ kind: 'end', x: 14, y: r.y - 5, w: 3, h: 10, cy: r.y, title: 'drop' })
    items.anchors.push({ x: 14, y: r.y })
  }
  return block({ w: 20, ...bandFor(t), dom: t.dom, cod: t.cod, items })
}

const isExpanded = (name: string, ctx: Ctx, depth: number): boolean => {
  const e = ctx.expand
  if (e === 'all') return true
  if (e === 'none') return false
  if (e === 'top') return depth === 0 && !name.startsWith('L(')
  return e.includes(name) || e.includes(shortName(name))
}

/** The parts of an L box's name: `L(W: k -> h, +)`. */
const linearParts = (name: string): { param: string; bias: boolean } | undefined => {
  const m = /^L\(([^:]+):.*?(, \+)?\)$/.exec(name)
  return m === null ? undefined : { param: (m[1] as string).trim(), bias: m[2] !== undefined }
}

const layBox = (
  t: Extract<Term, { kind: 'box' }>,
  ctx: Ctx,
  path: string,
  depth: number,
): Block => {
  const lin = linearParts(t.name)
  // A box is opened when the highlight lies inside it, so that the rewritten region is drawn.
  const h = ctx.highlight === undefined ? undefined : `${pathKey(ctx.highlight.path)}/`
  const inside = h !== undefined && h.startsWith(`${path}/0/`)
  if (!inside && !isExpanded(t.name, ctx, depth)) {
    if (lin !== undefined)
      return leaf(t, ctx, 'linear', {
        text: 'L',
        sup: lin.param,
        ...(lin.bias ? { sub: '+' } : {}),
        title: t.name,
        minW: 26,
      })
    return leaf(t, ctx, 'box', { text: t.name, title: t.name, minW: 30 })
  }
  const body = lay(t.body, ctx, `${path}/0`, depth + 1)
  const title = textLabel(0, 0, t.name, 11, 'title')
  const inner = Math.max(body.w, title.box.w + 8)
  const w = inner + 2 * PAD
  const dx = PAD + (inner - body.w) / 2
  const items = noItems()
  for (const r of rowsOf(t.dom, ctx.isWidth)) {
    items.wires.push(line(0, r.y, dx, r.y, axisOfRow(r)))
  }
  for (const r of rowsOf(t.cod, ctx.isWidth)) {
    items.wires.push(line(dx + body.w, r.y, w, r.y, axisOfRow(r)))
  }
  const fy = body.top - TITLE - 2
  const fh = body.bottom + 4 - fy
  items.frames.push({
    kind: 'model',
    title: t.name,
    color: frameColor(shortName(t.name)),
    x: 2,
    y: fy,
    w: w - 4,
    h: fh,
  })
  const lab: Label = textLabel(PAD, fy + 13, t.name, 11, 'title')
  items.labels.push(lab)
  return block({
    w,
    top: fy - 2,
    bottom: fy + fh + 2,
    dom: t.dom,
    cod: t.cod,
    items,
    kids: [{ dx, dy: 0, block: body }],
  })
}

const scalarGlyph = (t: Extract<Term, { kind: 'scalar' }>, ctx: Ctx): Block => {
  switch (t.op) {
    case 'scale': {
      // The factor and the size raised to its power, the exponent as a superscript (Fig. 22).
      const c = t.bySize === undefined ? '' : dimKey(t.bySize.dim)
      const f = t.factor === 1 && c !== '' ? '' : num(t.factor)
      return leaf(t, ctx, 'scale', {
        text: `* ${f}${f !== '' && c !== '' ? ' ' : ''}${c}`,
        ...(t.bySize === undefined ? {} : { sup: num(t.bySize.power).replace('-', '−') }),
        title: 'scale',
      })
    }
    case 'offset':
      return leaf(t, ctx, 'box', { text: `+ ${num(t.factor)}`, title: 'offset' })
    case 'add':
      return leaf(t, ctx, 'add', { text: '+', title: 'add', minW: 18 })
    case 'mul':
      return leaf(t, ctx, 'mul', { text: '×', title: 'multiply', minW: 18 })
    case 'relu':
    case 'gelu':
    case 'exp':
    case 'log':
    case 'tanh':
    case 'sigmoid':
    case 'sqrt':
    case 'reciprocal':
    case 'step':
    case 'normcdf': {
      const short: Partial<Record<string, string>> = { relu: 'R', reciprocal: '1/x', normcdf: 'Φ' }
      return leaf(t, ctx, 'elementwise', { text: short[t.op] ?? t.op, title: t.op })
    }
  }
}

/** The key of a path as `lay` builds it: `''` for the root, `/1/0` below it. */
const pathKey = (p: ReadonlyArray<number>): string => p.map((i) => `/${i}`).join('')

/** Lay out one term at a path (for highlights). */
const lay = (t: Term, ctx: Ctx, path: string, depth = 0): Block => {
  const b = layRaw(t, ctx, path, depth)
  const h = ctx.highlight
  if (h !== undefined && h.range === undefined && pathKey(h.path) === path)
    return highlighted(b, 'rewritten')
  return b
}

const highlighted = (b: Block, title: string): Block => {
  const frame: Frame = {
    kind: 'highlight',
    title,
    color: '#ffe94d',
    x: 0,
    y: b.top,
    w: b.w,
    h: b.bottom - b.top,
  }
  return block({ ...b, items: { ...b.items, frames: [...b.items.frames, frame] } })
}

const layRaw = (t: Term, ctx: Ctx, path: string, depth: number): Block => {
  switch (t.kind) {
    case 'id':
      return straight(t.type, ctx)
    case 'seq': {
      if (ctx.highlight === undefined) {
        // A parameter contracted by the next einsum is a learned linear map: the bold L with the
        // parameter's name (Fig. 23's output layer L^O), not a parameter box and a half-disc.
        const parts: Block[] = []
        for (let i = 0; i < t.parts.length; i++) {
          const weight = learnedWeight(t.parts[i] as Term, t.parts[i + 1])
          if (weight !== undefined) {
            const next = t.parts[i + 1] as Term
            parts.push(
              leaf({ dom: (t.parts[i] as Term).dom, cod: next.cod }, ctx, 'linear', {
                text: 'L',
                sup: weight.replace(/\.weight$/, ''),
                title: `the learned linear map of parameter ${weight} (${show(next, { maxLength: 80 })})`,
                minW: 26,
              }),
            )
            i++
          } else parts.push(lay(t.parts[i] as Term, ctx, `${path}/${i}`, depth))
        }
        return chain(parts, ctx, path)
      }
      const parts = t.parts.map((p, i) => lay(p, ctx, `${path}/${i}`, depth))
      return chainHighlighted(parts, ctx, path)
    }
    case 'par': {
      const parts = t.parts.map((p, i) => lay(p, ctx, `${path}/${i}`, depth))
      const h = ctx.highlight
      const b = stack(parts, ctx, t.dom, t.cod)
      if (h !== undefined && h.range !== undefined && pathKey(h.path) === path)
        return highlighted(b, 'rewritten')
      return b
    }
    case 'swap': {
      const a = t.left.reduce((n, s) => n + Math.max(1, s.length), 0)
      const b = t.right.reduce((n, s) => n + Math.max(1, s.length), 0)
      const perm = Array.from({ length: a + b }, (_, i) => (i < a ? i + b : i - a))
      return layPermutation(t, ctx, perm)
    }
    case 'copy':
      return layCopy(t, ctx)
    case 'drop':
      return layDrop(t, ctx)
    case 'broadcast':
      return layBroadcast(t, ctx, path)
    case 'einsum':
      return layEinsum(t, ctx)
    case 'scalar':
      return scalarGlyph(t, ctx)
    case 'axisOp': {
      const a = dimKey(t.axis)
      if (t.op === 'softmax')
        return leaf(t, ctx, 'softmax', { text: 'SoftMax', title: `SoftMax over ${a}`, flip: true })
      if (t.op === 'layerNorm')
        return leaf(t, ctx, 'norm', { text: 'LN', title: `layer normalisation over ${a}` })
      return leaf(t, ctx, 'reduce', { text: t.op, title: `${t.op} over ${a}` })
    }
    case 'index':
      return leaf(t, ctx, 'ket', {
        text: t.adjoint === true ? `⟨${t.at}|` : `|${t.at}⟩`,
        title:
          t.adjoint === true
            ? `one-hot at ${t.at} of ${dimKey(t.axis)}`
            : `index ${t.at} of ${dimKey(t.axis)}`,
        ...(t.adjoint === true ? { transposed: true } : {}),
      })
    case 'view':
      return leaf(t, ctx, 'view', {
        text: 'view',
        title: `view ${t.from.map(dimKey).join(' ')} -> ${t.to.map(dimKey).join(' ')}`,
        minW: 14,
      })
    case 'pad':
      return leaf(t, ctx, 'pad', {
        text: t.adjoint === true ? `crop ${t.before},${t.after}` : `pad ${t.before},${t.after}`,
        title: t.adjoint === true ? 'crop (the transpose of pad)' : 'zero padding',
        ...(t.adjoint === true ? { transposed: true } : {}),
      })
    case 'convTensor':
      return leaf(t, ctx, 'star', {
        text: '★',
        sub: `${t.stride},${t.dilation}`,
        title: `convolution tensor, stride ${t.stride}, dilation ${t.dilation}${t.adjoint === true ? ', transposed' : ''}`,
        ...(t.adjoint === true ? { transposed: true } : {}),
        minW: 30,
      })
    case 'concat':
      return leaf(t, ctx, 'concat', {
        title: `${t.adjoint === true ? 'split' : 'concatenation'} of ${t.pieces.map(dimKey).join(', ')}`,
        ...(t.adjoint === true ? { transposed: true } : {}),
        minW: 14,
      })
    case 'zero':
      return leaf(t, ctx, 'zero', { text: '0', title: 'zero', minW: 18 })
    case 'param':
      return leaf(t, ctx, 'param', { text: t.name, title: `parameter ${t.name}` })
    case 'box':
      return layBox(t, ctx, path, depth)
    case 'generator':
      return leaf(t, ctx, 'box', {
        text: t.name,
        title: `generator ${t.name} (${t.declared})`,
        minW: 26,
      })
    case 'derivative': {
      const inner = t.body.kind === 'box' ? t.body.name : shortTerm(t.body)
      return leaf(t, ctx, 'derivative', {
        text: `D(${inner})`,
        title: 'the forward derivative (Fig. 32)',
      })
    }
  }
}

/**
 * The parameter's name when `p ; q` is `id ⊗ param(name) ; einsum` with the einsum contracting
 * the parameter with the other input (every axis of the parameter summed or kept): a learned
 * linear map drawn as its bold L.
 */
const learnedWeight = (p: Term, q: Term | undefined): string | undefined => {
  if (q?.kind !== 'einsum' || p.kind !== 'par' || p.parts.length !== 2) return undefined
  const [a, w] = p.parts as [Term, Term]
  if (a.kind !== 'id' || w.kind !== 'param' || q.inputs.length !== 2) return undefined
  const mine = new Set(q.inputs[1])
  const shared = (q.inputs[0] ?? []).some((l) => mine.has(l) && !q.output.includes(l))
  return shared ? w.name : undefined
}

const chainHighlighted = (parts: Block[], ctx: Ctx, path: string): Block => {
  const h = ctx.highlight
  if (h?.range !== undefined && pathKey(h.path) === path) {
    const [s, e] = h.range
    const inner = chain(parts.slice(s, e), ctx, path)
    return chain(
      [...parts.slice(0, s), highlighted(inner, 'rewritten'), ...parts.slice(e)],
      ctx,
      path,
    )
  }
  return chain(parts, ctx, path)
}

const shortTerm = (t: Term): string => {
  if (t.kind === 'scalar') return t.op
  if (t.kind === 'axisOp') return t.op
  if (t.kind === 'box') return t.name
  if (t.kind === 'einsum') return t.name ?? 'einsum'
  return t.kind
}

/** Whether a dim is drawn overlined. */
export const widthTest = (names: ReadonlyArray<string>): IsWidth => {
  // Asked for every row of every port: the answer is kept per dim (dims are frozen objects).
  const seen = new WeakMap<Dim, boolean>()
  return (d: Dim): boolean => {
    const hit = seen.get(d)
    if (hit !== undefined) return hit
    const w =
      (d.kind === 'var' && d.mark === 'width') || (names.length > 0 && names.includes(dimKey(d)))
    seen.set(d, w)
    return w
  }
}

/**
 * The layout of a term with labelled connectors at both ends.
 *
 * @example
 * ```ts
 * import { layout, relu } from 'neural-circuit-diagrams'
 * layout(relu('x')).w > 0 // true
 * ```
 */
export const layout = (t: Term, options: LayoutOptions = {}): Block => {
  const isWidth = widthTest(options.width ?? [])
  const ctx: Ctx = { isWidth, expand: options.expand ?? 'top', highlight: options.highlight }
  const b = lay(t, ctx, '')
  const start = connector(t.dom, isWidth, 'the input')
  const end = connector(t.cod, isWidth, 'the output')
  return side([start, b, end])
}

export type { Row }
