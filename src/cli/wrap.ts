/**
 * Wrapping the long lines the command line prints (terms, titles, table cells) so that no line is
 * wider than a terminal: 120 characters by default.
 *
 * @packageDocumentation
 */

/** The widest line `ncd` prints. */
export const LINE_WIDTH = 120

/** Options of {@link wrapText}. */
export interface WrapOptions {
  /** The widest line, prefixes included (default {@link LINE_WIDTH}). */
  readonly width?: number
  /** The prefix of the first line (default ''). */
  readonly first?: string
  /** The prefix of every further line (default: as many spaces as `first` is long). */
  readonly indent?: string
  /**
   * Break where the bracket depth is lowest first (for the text of terms), not just at the last
   * space that fits (for prose). Default false.
   */
  readonly structured?: boolean
}

const OPEN = '([{⟨'
const CLOSE = ')]}⟩'

/**
 * Break a text into lines of at most `width` characters, at spaces: the last space that fits.
 * With `structured`, for the text of a term, the break goes where the structure is shallowest: before a `;` (then), a `⊗` (beside) or the `:` of
 * a type, else after a comma, else at any space, and at the lowest bracket depth first, so that a
 * continuation line starts with the operator it continues. A run without spaces longer than a line
 * is cut.
 *
 * For example `wrapText('relu[n] ; L(L1: n -> n, +) ; relu[n]', { width: 24, first: 'f = ', structured: true })`
 * gives the three lines `f = relu[n]`, `    ; L(L1: n -> n, +)` and `    ; relu[n]`.
 */
export const wrapText = (text: string, options: WrapOptions = {}): string => {
  const width = options.width ?? LINE_WIDTH
  const first = options.first ?? ''
  const indent = options.indent ?? ' '.repeat(first.length)
  // Depth of every position, and the rank of breaking at each space (lower is better).
  const depth: number[] = []
  let d = 0
  for (const ch of text) {
    if (CLOSE.includes(ch)) d = Math.max(0, d - 1)
    depth.push(d)
    if (OPEN.includes(ch)) d += 1
    if (ch.length === 2) depth.push(d)
  }
  const structured = options.structured ?? false
  const rank = (i: number): number => {
    if (!structured) return 0
    const next = text[i + 1]
    const kind =
      (next === ';' || next === '⊗' || next === ':') && text[i + 2] === ' '
        ? 0
        : text[i - 1] === ','
          ? 1
          : 2
    return (depth[i] as number) * 3 + kind
  }
  const lines: string[] = []
  let start = 0
  let prefix = first
  while (start < text.length) {
    const room = Math.max(8, width - prefix.length)
    if (text.length - start <= room) {
      lines.push(prefix + text.slice(start))
      break
    }
    let best = -1
    for (const lower of [Math.floor(room / 4), 1])
      for (let i = start + lower; i <= start + room && best < 0; i++) {
        if (text[i] !== ' ') continue
        let j = i
        for (let k = i; k <= start + room; k++) if (text[k] === ' ' && rank(k) <= rank(j)) j = k
        best = j
      }
    const cut = best > start ? best : start + room
    lines.push(prefix + text.slice(start, cut).trimEnd())
    start = best > start ? cut + 1 : cut
    prefix = indent
  }
  return lines.length === 0 ? first.trimEnd() : lines.join('\n')
}
