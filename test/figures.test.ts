// The committed figures of docs/ are what `npm run figures` writes from the terms today, so a
// change to the drawing (or to a model) shows in review as a change to docs/; and the README's
// Drawing section shows the attention diagram next to the very term and options that draw it.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { attention } from '../src/models/attention.js'
import { render } from '../src/render/render.js'
import { figures } from '../scripts/figures.js'
import { xmlProblems } from './xml.js'

const ROOT = resolve(import.meta.dirname, '..')

describe('docs/ figures', () => {
  for (const [file, content] of figures())
    it(`${file} is current (npm run figures) and well formed`, () => {
      const committed = readFileSync(resolve(ROOT, file), 'utf8')
      expect(xmlProblems(content)).toEqual([])
      expect(committed, `${file} is stale: run npm run figures`).toBe(
        content.endsWith('\n') ? content : `${content}\n`,
      )
    })

  it("the README's attention term is the one drawn in docs/attention.svg", () => {
    const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('## Drawing'))
    const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? ''
    const call =
      "render(attention({ y: 'y', x: 'x', k: 'k' }), { expand: 'all', width: ['x', 'y'] })"
    expect(code).toContain(call)
    const image = section.indexOf('](docs/attention.svg)')
    expect(image).toBeGreaterThan(section.indexOf(call))
    const svg = render(attention({ y: 'y', x: 'x', k: 'k' }), { expand: 'all', width: ['x', 'y'] })
    expect(readFileSync(resolve(ROOT, 'docs/attention.svg'), 'utf8')).toBe(`${svg}\n`)
  })
})
