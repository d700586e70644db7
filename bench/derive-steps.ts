/**
 * How many primitive steps an evaluation of the loss and of its raw gradient runs, for each
 * architecture of bench:derive (bench/archs.ts), by kind: element-wise (`scalar`: add, mul,
 * scale, exp, ...), einsum, axis operation (softmax, layerNorm, mean, max, argmax), and other
 * (parameters, zeros, indexes, paddings, convolution tensors, concatenations, generators). At
 * the sizes of these models a step costs 5-10 µs whatever its FLOPs (issue 12, section 2), so
 * the count, not the FLOPs, is what the raw gradient's time over the loss's mostly follows.
 *
 * The steps are counted from the term the way the evaluator compiles it (src/eval/evaluate.ts,
 * `compileProgram` and `markLive`, mirrored here: the evaluator does not export them): wiring
 * (`id`, `seq`, `par`, `swap`, `copy`, `drop`), `box`, `derivative` (through its `jvp`) and views
 * make no step; a broadcast runs its body once as batched steps (its body's steps are counted,
 * not the broadcast); a step none of whose outputs an output of the program reads, directly or
 * through later steps, is dead and skipped (`markLive`), and is not counted. Counts do not
 * depend on sizes or on the machine.
 *
 * Run: `npm run bench:derive-steps` (writes bench/derive-steps.md), `npx tsx
 * bench/derive-steps.ts --print` (prints only), `--arch=TEXT` (rows whose name contains TEXT),
 * `--list=TEXT` (prints the live steps of the gradient of the first architecture whose name
 * contains TEXT, one a line: `<depth> <kind>:<op or spec> ins <slots> outs <slots>`, a broadcast
 * after its body).
 *
 * @packageDocumentation
 */
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { format, resolveConfig } from 'prettier'
import { type Term, grad, jvp, randomParams, showDim, sumLoss } from '../src/index.js'
import { benchArchitectures } from './archs.js'

const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const archFilter = arg('arch')?.toLowerCase()
const listFilter = arg('list')?.toLowerCase()
const printOnly = process.argv.includes('--print') || listFilter !== undefined

/** One step of a compiled term: a primitive, or a broadcast with its body. */
interface Step {
  readonly t: Term
  readonly ins: ReadonlyArray<number>
  readonly outs: ReadonlyArray<number>
  readonly body?: Program
  /** A view: checked, never run. */
  readonly checkOnly: boolean
  live: boolean
}

interface Program {
  readonly steps: ReadonlyArray<Step>
  readonly outputs: ReadonlyArray<number>
  /** Which inputs the live steps read ({@link markLive}). */
  used: boolean[]
}

/** The steps of `term` on value slots, as `compileProgram` makes them (inputs: slots 0, 1, ...). */
const compileSteps = (term: Term): Program => {
  let slots = term.dom.length
  const steps: Step[] = []
  const emit = (t: Term, ins: ReadonlyArray<number>, n: number, body?: Program): number[] => {
    const outs = Array.from({ length: n }, () => slots++)
    steps.push({
      t,
      ins,
      outs,
      ...(body !== undefined ? { body } : {}),
      checkOnly: false,
      live: true,
    })
    return outs
  }
  const go = (t: Term, ins: ReadonlyArray<number>): number[] => {
    switch (t.kind) {
      case 'id':
        return [...ins]
      case 'seq':
        return t.parts.reduce<number[]>((rs, p) => go(p, rs), [...ins])
      case 'par': {
        let at = 0
        return t.parts.flatMap((p) => {
          const mine = ins.slice(at, at + p.dom.length)
          at += p.dom.length
          return go(p, mine)
        })
      }
      case 'swap':
        return [...ins.slice(t.left.length), ...ins.slice(0, t.left.length)]
      case 'copy':
        return [...ins, ...ins]
      case 'drop':
        return []
      case 'box':
        return go(t.body, ins)
      case 'derivative':
        return go(jvp(t.body), ins)
      case 'view': {
        const r = ins[0] as number
        steps.push({ t, ins, outs: [r], checkOnly: true, live: true })
        return [r]
      }
      case 'broadcast':
        return emit(t, ins, t.cod.length, compileSteps(t.body))
      case 'concat':
        return emit(t, ins, t.adjoint === true ? t.pieces.length : 1)
      case 'einsum':
      case 'scalar':
      case 'generator':
      case 'param':
      case 'zero':
      case 'axisOp':
      case 'index':
      case 'pad':
      case 'convTensor':
        return emit(t, ins, t.cod.length)
    }
  }
  const outputs = go(
    term,
    term.dom.map((_, i) => i),
  )
  return { steps, outputs, used: term.dom.map(() => true) }
}

/** The evaluator's `markLive`: the steps the wanted outputs read, directly or through others. */
const markLive = (prog: Program, wanted: ReadonlyArray<boolean>): void => {
  const read = new Set<number>()
  prog.outputs.forEach((r, i) => {
    if (wanted[i] === true) read.add(r)
  })
  for (let i = prog.steps.length - 1; i >= 0; i--) {
    const s = prog.steps[i] as Step
    const used = s.outs.map((r) => read.has(r))
    s.live = s.checkOnly || used.some((u) => u)
    if (!s.live) continue
    if (s.body !== undefined) markLive(s.body, used)
    s.ins.forEach((r, j) => {
      if (s.body === undefined || (s.body.used[j] as boolean)) read.add(r)
    })
  }
  prog.used = prog.used.map((_, i) => read.has(i))
}

const compileLive = (term: Term): Program => {
  const p = compileSteps(term)
  markLive(
    p,
    p.outputs.map(() => true),
  )
  return p
}

type Kind = 'element-wise' | 'einsum' | 'axis op' | 'other'

const kindOf = (t: Term): Kind =>
  t.kind === 'scalar'
    ? 'element-wise'
    : t.kind === 'einsum'
      ? 'einsum'
      : t.kind === 'axisOp'
        ? 'axis op'
        : 'other'

/** What a step runs: `scalar:add`, `einsum:ij,j->i`, `axisOp:softmax`, `param`. */
const opOf = (t: Term): string => {
  if (t.kind === 'scalar') {
    const by = t.bySize !== undefined ? `·${showDim(t.bySize.dim)}^${t.bySize.power}` : ''
    return `scalar:${t.op}${t.op === 'scale' || t.op === 'offset' ? `(${t.factor}${by})` : ''}`
  }
  if (t.kind === 'einsum')
    return `einsum:${t.inputs.map((i) => i.join('')).join(',')}->${t.output.join('')}`
  return t.kind === 'axisOp' ? `axisOp:${t.op}` : t.kind
}

interface Counts {
  total: number
  byKind: Record<Kind, number>
  byOp: Map<string, number>
}

/** The live primitive steps of a program, broadcast bodies included (each once). */
const count = (prog: Program, into?: Counts): Counts => {
  const c: Counts = into ?? {
    total: 0,
    byKind: { 'element-wise': 0, einsum: 0, 'axis op': 0, other: 0 },
    byOp: new Map(),
  }
  for (const s of prog.steps) {
    if (!s.live || s.checkOnly) continue
    if (s.body !== undefined) {
      count(s.body, c)
      continue
    }
    c.total++
    c.byKind[kindOf(s.t)]++
    const op = s.t.kind === 'scalar' ? opOf(s.t).replace(/\(.*$/, '') : opOf(s.t)
    c.byOp.set(op, (c.byOp.get(op) ?? 0) + 1)
  }
  return c
}

/** The live steps, one a line, a broadcast after its body (as /work/reports/vit-grad-steps.txt). */
const listing = (prog: Program, depth = 0, out: string[] = []): string[] => {
  for (const s of prog.steps) {
    if (!s.live || s.checkOnly) continue
    const tail = `ins ${s.ins.join(',')} outs ${s.outs.join(',')}`
    if (s.body !== undefined) {
      listing(s.body, depth + 1, out)
      out.push(
        `${depth} broadcast[${s.t.kind === 'broadcast' ? s.t.axes.map(showDim).join(' ') : ''}] ${tail}`,
      )
    } else out.push(`${depth} ${opOf(s.t)} ${tail}`)
  }
  return out
}

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) =>
  [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')

const main = async (): Promise<void> => {
  const loadBefore = os.loadavg()
  const rows: string[][] = []
  const details: string[] = []
  for (const a of benchArchitectures()) {
    const name = a.name.toLowerCase()
    if (listFilter !== undefined && !name.includes(listFilter)) continue
    if (archFilter !== undefined && !name.includes(archFilter)) continue
    process.stderr.write(`bench:derive-steps: ${a.name} ...\n`)
    const loss = a.loss ?? sumLoss(a.term)
    const params = Object.keys(randomParams(loss, a.sizes, 1))
    const g = grad(loss, { params })
    const pg = compileLive(g)
    if (listFilter !== undefined) {
      process.stdout.write(`${listing(pg).join('\n')}\n`)
      return
    }
    const [cl, cg] = [count(compileLive(loss)), count(pg)]
    const cell = (k: Kind): string => `${cl.byKind[k]} / ${cg.byKind[k]}`
    rows.push([
      a.name,
      `${cl.total} / ${cg.total}`,
      (cg.total / cl.total).toFixed(2),
      cell('element-wise'),
      cell('einsum'),
      cell('axis op'),
      cell('other'),
    ])
    const ops = [...new Set([...cl.byOp.keys(), ...cg.byOp.keys()])]
      .filter((op) => op.startsWith('scalar:') || op.startsWith('axisOp:'))
      .sort((x, y) => (cg.byOp.get(y) ?? 0) - (cg.byOp.get(x) ?? 0) || x.localeCompare(y))
    details.push(
      `- ${a.name}: ${ops.map((op) => `${op.replace(/^\w+:/, '')} ${cl.byOp.get(op) ?? 0} / ${cg.byOp.get(op) ?? 0}`).join(', ')}; einsums ${cl.byKind.einsum} / ${cg.byKind.einsum}`,
    )
  }
  const load = `load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min) before, ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} after (counts do not depend on it)`
  const text =
    table(
      [
        'architecture',
        'steps (loss / grad)',
        'grad / loss steps',
        'element-wise',
        'einsum',
        'axis op',
        'other',
      ],
      rows,
    ) + `\n\nElement-wise and axis operations by op (loss / grad):\n\n${details.join('\n')}\n`
  process.stdout.write(`\nNode ${process.version}; ${load}\n\n${text}`)
  if (printOnly || archFilter !== undefined) return
  const file = fileURLToPath(new URL('./derive-steps.md', import.meta.url))
  const markdown =
    `# Primitive steps of an evaluation: loss and raw gradient\n\n` +
    `Recorded ${new Date().toISOString().slice(0, 10)} with \`npm run bench:derive-steps\` (bench/derive-steps.ts; its header says how steps are counted). ` +
    `The gradient is \`grad(loss, { params })\` with respect to every input and parameter, as derived (not normalised). ` +
    `Node ${process.version}; ${load}.\n\n${text}`
  const options = (await resolveConfig(file)) ?? {}
  writeFileSync(file, await format(markdown, { ...options, filepath: file }))
  process.stderr.write(`bench:derive-steps: wrote ${file}\n`)
}

await main()
