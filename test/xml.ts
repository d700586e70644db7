// A small strict XML well-formedness checker for the renderer's output (SVG and XHTML-like
// pages): one root element, tags nest and close in order, attributes are quoted and unique,
// `&` only starts a known entity or a character reference, no `<` in text or attribute values.
// Written here (about 60 lines) rather than adding a parser dependency: the renderer emits a
// small subset of XML (no DTD, no CDATA, no processing instructions but the prolog), and a
// checker that refuses anything else is stricter than a lenient general parser.

/** The problems of a document, empty when it is well formed. */
export const xmlProblems = (doc: string): string[] => {
  const problems: string[] = []
  const stack: string[] = []
  let roots = 0
  let i = 0
  const text = (s: string, where: number): void => {
    if (s.includes('<')) problems.push(`'<' in text at ${where}`)
    for (const m of s.matchAll(/&([^;\s]*);?/g))
      if (!/^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);$/.test(m[0]))
        problems.push(`bad entity '${m[0]}' at ${where + (m.index ?? 0)}`)
  }
  if (doc.startsWith('<?xml')) i = doc.indexOf('?>') + 2
  while (i < doc.length) {
    const lt = doc.indexOf('<', i)
    const chunk = lt < 0 ? doc.slice(i) : doc.slice(i, lt)
    if (stack.length === 0 && chunk.trim() !== '') problems.push(`text outside the root at ${i}`)
    text(chunk, i)
    if (lt < 0) break
    if (doc.startsWith('<!--', lt)) {
      const end = doc.indexOf('-->', lt)
      if (end < 0) return [...problems, 'unclosed comment']
      i = end + 3
      continue
    }
    if (doc.startsWith('<!DOCTYPE html>', lt) && lt < 20) {
      i = lt + 15
      continue
    }
    const gt = doc.indexOf('>', lt)
    if (gt < 0) return [...problems, `unclosed tag at ${lt}`]
    const tag = doc.slice(lt + 1, gt)
    i = gt + 1
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim()
      const open = stack.pop()
      if (open !== name) problems.push(`</${name}> closes <${open ?? 'nothing'}> at ${lt}`)
      continue
    }
    const selfClosing = tag.endsWith('/')
    const body = selfClosing ? tag.slice(0, -1) : tag
    const m = /^([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"]*")*)\s*$/.exec(body)
    if (m === null) {
      problems.push(`malformed tag <${tag.slice(0, 40)}> at ${lt}`)
      continue
    }
    const names = [...(m[2] ?? '').matchAll(/([\w:.-]+)="([^"]*)"/g)]
    const seen = new Set<string>()
    for (const a of names) {
      if (seen.has(a[1] as string)) problems.push(`attribute ${a[1]} twice at ${lt}`)
      seen.add(a[1] as string)
      text(a[2] as string, lt)
    }
    if (stack.length === 0) roots++
    if (!selfClosing) stack.push(m[1] as string)
  }
  if (stack.length > 0) problems.push(`unclosed <${stack.join('> <')}>`)
  if (roots !== 1) problems.push(`${roots} root elements`)
  return problems
}
