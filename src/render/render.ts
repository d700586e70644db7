/**
 * `render`: a term drawn as a standalone SVG in the notation of the paper (wires per axis,
 * dashed tuple separators, broadcast axes passing over the operation, the paper's symbols,
 * models as titled frames). See `layout.ts` for the layout and `geometry.ts` for its data.
 *
 * @packageDocumentation
 */
import type { Term } from '../core/term.js'
import { show } from '../core/show.js'
import { type Drawing, flatten } from './geometry.js'
import { type LayoutOptions, layout, widthTest } from './layout.js'
import { toSvg } from './svg.js'

/** Options of {@link render}. */
export interface RenderOptions extends LayoutOptions {
  /** The SVG's title (a tooltip); default the term printed. */
  readonly title?: string
}

/**
 * The drawing's data (before SVG), for checks and for other back ends.
 *
 * @example
 * ```ts
 * import { drawing, relu } from 'neural-circuit-diagrams'
 * drawing(relu('x')).inputs.map((p) => p.label) // ['x']
 * ```
 */
export const drawing = (t: Term, options: LayoutOptions = {}): Drawing =>
  flatten(layout(t, options), widthTest(options.width ?? []))

/**
 * A term as a standalone SVG document.
 *
 * @example
 * ```ts
 * import { render, attention } from 'neural-circuit-diagrams'
 * const svg = render(attention({ y: 'y', x: 'x', k: 'k' }), { expand: 'all', width: ['x', 'y'] })
 * svg.startsWith('<svg') // true
 * ```
 */
export const render = (t: Term, options: RenderOptions = {}): string =>
  toSvg(drawing(t, options), { title: options.title ?? show(t, { maxLength: 200 }) })
