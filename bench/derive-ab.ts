/**
 * The raw gradient's evaluation time in two checkouts of the repository, side by side in one
 * process: each checkout's library is imported from its own path (two copies of every module),
 * each builds the loss `Σ out ⊙ R` of a paper-sized model (bench/paper-models.ts) and its
 * `grad(loss, { params })`, and single evaluations of old loss, old grad, new loss and new grad
 * alternate, so that load from other processes hits both alike. Prints the 10th percentile and
 * the median of each (wall time of one evaluation), grad / loss on each side and new grad / old
 * grad. A change of a few percent that `bench:derive`'s medians do not resolve on a loaded
 * machine shows here (the two losses, the same code when only src/derive changed, agree to
 * 1-3%).
 *
 * Run: `npx tsx bench/derive-ab.ts OLD_CHECKOUT NEW_CHECKOUT vit [alternations]` (or
 * `transformer`, `idresnet`, `unet`), e.g. an old commit checked out with `git worktree add
 * --detach /tmp/old COMMIT` and this repository's node_modules linked into it. A benchmark,
 * never a test.
 *
 * @packageDocumentation
 */
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import path from 'node:path'
import type * as Library from '../src/index.js'
import type { Workload } from './paper-models.js'

const [oldRoot, newRoot, arch, count] = process.argv.slice(2)
if (oldRoot === undefined || newRoot === undefined || arch === undefined) {
  process.stderr.write(
    'usage: npx tsx bench/derive-ab.ts OLD_CHECKOUT NEW_CHECKOUT vit|transformer|idresnet|unet [alternations]\n',
  )
  process.exit(2)
}
const alternations = Number(count ?? 600)

/** One checkout's loss and gradient of the model, ready to evaluate. */
const setup = async (root: string): Promise<{ loss: () => unknown; grad: () => unknown }> => {
  const lib = (await import(path.resolve(root, 'src/index.ts'))) as typeof Library
  const models = (await import(path.resolve(root, 'bench/paper-models.ts'))) as {
    paperSized: () => ReadonlyArray<Workload>
  }
  const w = models.paperSized().find((x) => x.name === arch)
  if (w === undefined) throw new Error(`no paper-sized model named ${arch} in ${root}`)
  const net = w.build()
  const shape = net.cod[0] as Library.Shape
  const labels = shape.map((_, i) => `a${i}`).join(' ')
  const dims = Object.fromEntries(shape.map((d, i) => [`a${i}`, d] as const))
  const loss = lib.seq(
    net,
    lib.par(lib.id([shape]), lib.param('R', shape)),
    lib.einsum(`${labels}, ${labels} -> `, { dims }),
  )
  const params = Object.keys(lib.randomParams(loss, w.sizes, 1))
  const g = lib.grad(loss, { params })
  const inputs = lib.randomInputs(loss.dom, w.sizes, 1)
  for (const [i, x] of Object.entries(w.fixed?.(w.sizes) ?? {})) inputs[Number(i)] = x
  const ps = lib.randomParams(loss, w.sizes, 2)
  return {
    loss: () => lib.evaluate(loss, w.sizes, inputs, ps),
    grad: () => lib.evaluate(g, w.sizes, inputs, ps),
  }
}

const a = await setup(oldRoot)
const b = await setup(newRoot)
const fns: ReadonlyArray<readonly [string, () => unknown]> = [
  ['old loss', a.loss],
  ['old grad', a.grad],
  ['new loss', b.loss],
  ['new grad', b.grad],
]
for (let i = 0; i < 100; i++) for (const [, f] of fns) f()
const times = new Map<string, number[]>(fns.map(([k]) => [k, []]))
for (let i = 0; i < alternations; i++)
  for (const [k, f] of fns) {
    const start = performance.now()
    f()
    ;(times.get(k) as number[]).push(performance.now() - start)
  }
const at = (k: string, p: number): number => {
  const xs = [...(times.get(k) as number[])].sort((x, y) => x - y)
  return xs[Math.floor(p * (xs.length - 1))] as number
}
const ratio = (x: string, y: string): string =>
  `${(at(x, 0.1) / at(y, 0.1)).toFixed(3)} / ${(at(x, 0.5) / at(y, 0.5)).toFixed(3)}`
const load = os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ')
process.stdout.write(
  `${arch} (${alternations} alternations; load ${load}): p10 / median ms\n` +
    fns.map(([k]) => `  ${k}: ${at(k, 0.1).toFixed(3)} / ${at(k, 0.5).toFixed(3)}\n`).join('') +
    `  grad / loss old: ${ratio('old grad', 'old loss')}; new: ${ratio('new grad', 'new loss')}; new grad / old grad: ${ratio('new grad', 'old grad')}\n`,
)
