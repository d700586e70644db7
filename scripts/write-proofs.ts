/**
 * Write every theorem of proofs/theorems.ts as a proof document under proofs/json/, for
 * `ncd check`; then the proofs the search finds for proofs/search.ts (`search-<slug>`), and the
 * proofs of `optimize` on the forward gradients of section 3.6 (`optimize-<name>`). Run with
 * `npm run proofs`.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { equivalent, forwardGradient, optimize, proofToJson } from '../src/index.js'
import { backpropShowcase, searchTheorems } from '../proofs/search.js'
import { theorems } from '../proofs/theorems.js'

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'proofs', 'json')
fs.mkdirSync(dir, { recursive: true })
for (const t of theorems) {
  const file = path.join(dir, `${t.slug}.proof.json`)
  fs.writeFileSync(file, `${proofToJson(t.proof(), { indent: 1 })}\n`)
  console.log(`wrote ${path.relative(process.cwd(), file)}`)
}
for (const t of searchTheorems) {
  const [a, b] = t.sides()
  const r = equivalent(a, b, {
    name: t.name,
    limits: { timeMs: 5000, ...t.limits },
    ...(t.via === undefined ? {} : { via: t.via() }),
  })
  if (r.kind !== 'proof') throw new Error(`${t.slug}: the search found no proof (${r.kind})`)
  const file = path.join(dir, `search-${t.slug}.proof.json`)
  fs.writeFileSync(file, `${proofToJson(r.proof, { indent: 1 })}\n`)
  console.log(`wrote ${path.relative(process.cwd(), file)} (${r.proof.steps.length} steps)`)
}
for (const [slug, title, f, sizes, limits] of backpropShowcase) {
  const r = optimize(forwardGradient(f()), {
    cost: 'flops',
    sizes,
    limits,
    name: `section 3.6: the forward gradient of ${title}, optimized under FLOPs at ${JSON.stringify(sizes)}`,
  })
  const file = path.join(dir, `optimize-${slug}.proof.json`)
  fs.writeFileSync(file, `${proofToJson(r.proof, { indent: 1 })}\n`)
  console.log(
    `wrote ${path.relative(process.cwd(), file)} (${r.score.before} -> ${r.score.after} FLOPs)`,
  )
}
