/**
 * Checks of a drawing on its own data, before any SVG: the wires at each recorded section are
 * those of the type there (count, order, labels), every wire end meets a port, an anchor or
 * another wire's end, and no two labels or symbols overlap.
 *
 * @packageDocumentation
 */
import type { Drawing, Rect, Wire } from './geometry.js'

const EPS = 0.01

/** The height of a wire piece at x, when it spans x. */
const heightAt = (w: Wire, x: number): number | undefined => {
  if (w.shape === 'turn') return undefined
  const lo = Math.min(w.x0, w.x1)
  const hi = Math.max(w.x0, w.x1)
  if (x <= lo + EPS || x >= hi - EPS) return undefined
  if (w.y0 === w.y1) return w.y0
  return undefined
}

const overlaps = (a: Rect, b: Rect): boolean =>
  a.x < b.x + b.w - EPS && b.x < a.x + a.w - EPS && a.y < b.y + b.h - EPS && b.y < a.y + a.h - EPS

/**
 * The problems of a drawing, each one sentence; empty when the drawing is sound.
 *
 * @example
 * ```ts
 * import { checkDrawing, drawing, relu } from 'neural-circuit-diagrams'
 * checkDrawing(drawing(relu('x'))) // []
 * ```
 */
export const checkDrawing = (d: Drawing): string[] => {
  const problems: string[] = []
  // Sections: sort wires by x-extent once, then scan.
  const wires = d.wires.filter((w) => w.axis !== undefined)
  const byStart = [...wires].sort((a, b) => Math.min(a.x0, a.x1) - Math.min(b.x0, b.x1))
  const sections = [...d.sections].sort((a, b) => a.x - b.x)
  let i = 0
  let live: Wire[] = []
  for (const s of sections) {
    while (i < byStart.length && Math.min((byStart[i] as Wire).x0, (byStart[i] as Wire).x1) < s.x)
      live.push(byStart[i++] as Wire)
    live = live.filter((w) => Math.max(w.x0, w.x1) > s.x)
    const here = live
      .map((w) => ({ w, y: heightAt(w, s.x) }))
      .filter((p): p is { w: Wire; y: number } => p.y !== undefined)
    // Only the wires in the vertical range of this section's own rows are compared when the
    // section lies inside a broadcast or a box: all wires crossing x are compared here.
    here.sort((a, b) => a.y - b.y)
    const got = here.map((p) => p.w.axis)
    const want = s.axes.map((a) => a.label)
    if (got.length !== want.length || got.some((g, k) => g !== want[k]))
      problems.push(
        `section at x = ${s.x.toFixed(1)} (${s.where}): wires [${got.join(' ')}], type [${want.join(' ')}]`,
      )
  }
  // Wire ends.
  const key = (x: number, y: number): string => `${Math.round(x * 10)},${Math.round(y * 10)}`
  const points = new Set<string>()
  for (const p of d.ports) points.add(key(p.x, p.y))
  for (const a of d.anchors) points.add(key(a.x, a.y))
  const ends = new Map<string, number>()
  for (const w of d.wires) {
    const e1 = key(w.x0, w.y0)
    const e2 = w.shape === 'turn' ? key(w.x0, w.y1) : key(w.x1, w.y1)
    ends.set(e1, (ends.get(e1) ?? 0) + 1)
    ends.set(e2, (ends.get(e2) ?? 0) + 1)
  }
  for (const w of d.wires) {
    const e =
      w.shape === 'turn' ? [key(w.x0, w.y0), key(w.x0, w.y1)] : [key(w.x0, w.y0), key(w.x1, w.y1)]
    for (const k of e)
      if (!points.has(k) && (ends.get(k) ?? 0) < 2)
        problems.push(`a wire of ${w.axis ?? 'a scalar'} ends at (${k}) on no port`)
  }
  // Overlaps of labels and glyphs: a sweep over x.
  const boxes: Array<{ r: Rect; what: string }> = [
    ...d.labels.map((l) => ({ r: l.box, what: `label '${l.text}'` })),
    ...d.glyphs.map((g) => ({
      r: g as Rect,
      what: `${g.kind}${g.text === undefined ? '' : ` '${g.text}'`}`,
    })),
  ].sort((a, b) => a.r.x - b.r.x)
  const open: Array<{ r: Rect; what: string }> = []
  for (const b of boxes) {
    for (let k = open.length - 1; k >= 0; k--)
      if ((open[k] as { r: Rect }).r.x + (open[k] as { r: Rect }).r.w <= b.r.x + EPS)
        open.splice(k, 1)
    for (const o of open)
      if (overlaps(o.r, b.r))
        problems.push(
          `${o.what} overlaps ${b.what} near (${b.r.x.toFixed(0)}, ${b.r.y.toFixed(0)})`,
        )
    open.push(b)
  }
  return problems
}
