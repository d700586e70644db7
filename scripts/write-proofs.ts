/**
 * Write every theorem of proofs/theorems.ts as a proof document under proofs/json/, for
 * `ncd check`. Run with `npm run proofs`.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { proofToJson } from '../src/index.js'
import { theorems } from '../proofs/theorems.js'

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'proofs', 'json')
fs.mkdirSync(dir, { recursive: true })
for (const t of theorems) {
  const file = path.join(dir, `${t.slug}.proof.json`)
  fs.writeFileSync(file, `${proofToJson(t.proof(), { indent: 1 })}\n`)
  console.log(`wrote ${path.relative(process.cwd(), file)}`)
}
