// The committed figures of docs/ are what `npm run figures` writes from the terms today, so a
// change to the drawing (or to a model) shows in review as a change to docs/.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { figures } from '../scripts/figures.js'
import { xmlProblems } from './xml.js'

describe('docs/ figures', () => {
  for (const [file, content] of figures())
    it(`${file} is current (npm run figures) and well formed`, () => {
      const committed = readFileSync(resolve(import.meta.dirname, '..', file), 'utf8')
      expect(xmlProblems(content)).toEqual([])
      expect(committed, `${file} is stale: run npm run figures`).toBe(
        content.endsWith('\n') ? content : `${content}\n`,
      )
    })
})
