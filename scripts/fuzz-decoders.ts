/**
 * Fuzz the decoders (issue 9, "Done when"): every decoder is fed `--runs` inputs (default 10,000
 * each): random JSON, and mutations of the documents of `proofs/json` and of the examples' terms
 * (types flipped, fields deleted, duplicated or added, huge and unsafe numbers, -0, NaN and
 * Infinity as strings and as numbers, deep nesting, long arrays and strings, kinds swapped, parts
 * grafted from elsewhere). Counted per decoder:
 *
 * - `thrown`: the decoder threw (it must return a `Left` instead);
 * - `slow`: decoding one input took over 2 s of CPU time (so that a loaded machine does not count);
 * - `invalid accepted`: a `Right` that is not what the input says. An accepted input must
 *   re-encode to itself (as canonical JSON, `-0` read as `0` as the README says), decode again
 *   to an equal value, and an accepted term must evaluate at small sizes without an error other
 *   than a `TermError` (a refusal such as sizes that do not fit); an accepted proof must be
 *   checkable without `checkProof` throwing, and a mutated proof that `checkProof` accepts must
 *   not be refuted by `equivalent`.
 *
 * Run: `npm run fuzz` (`-- --runs 1000 --seed 7` for a short run, `-- --only decodeTerm` for one
 * decoder). Exit code 1 when any count is not zero; the first examples of each kind are printed.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import {
  DIM_KINDS as ALL_DIM_KINDS,
  TERM_KINDS as ALL_TERM_KINDS,
  DimCodec,
  ProofDocumentCodec,
  ShapeCodec,
  TermCodec,
  TermError,
  TupleTypeCodec,
  checkProof,
  decodeDim,
  decodeShape,
  decodeTerm,
  decodeTermJson,
  decodeType,
  encodeDim,
  encodeShape,
  encodeTerm,
  encodeType,
  equivalent,
  evaluate,
  lawCatalogue,
  proofFromJson,
  proofToJson,
  randomInputs,
  randomParams,
  seededRandom,
  termEquals,
  termSize,
  type Term,
} from '../src/index.js'
import { examples } from '../src/cli/examples.js'
import { sizeBounds } from '../src/testing/sizes.js'

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${name}: expected an integer >= 0`)
  return v
}
const RUNS = arg('runs', 10_000)
const SEED = arg('seed', 1)
const SLOW_MS = 2000
let rand = seededRandom(SEED)
const int = (n: number): number => Math.floor(rand() * n)
const pick = <A>(xs: ReadonlyArray<A>): A => xs[int(xs.length)] as A

type Json = unknown

// ---------------------------------------------------------------------------------------------
// Seeds: the proof documents, their terms, bindings and dims, and the examples' terms.

const proofDir = join(import.meta.dirname, '..', 'proofs', 'json')
const proofDocs: ReadonlyArray<Json> = readdirSync(proofDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(proofDir, f), 'utf8')) as Json)

const isObj = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u)
const TERM_KINDS: ReadonlyArray<string> = ALL_TERM_KINDS
const DIM_KINDS: ReadonlyArray<string> = ALL_DIM_KINDS

const walk = (u: Json, visit: (v: Json) => void): void => {
  visit(u)
  if (Array.isArray(u)) u.forEach((x) => walk(x, visit))
  else if (isObj(u)) Object.values(u).forEach((x) => walk(x, visit))
}

const termSeeds: Json[] = examples().map((e) => encodeTerm(e.term))
const dimSeeds: Json[] = []
const shapeSeeds: Json[] = []
for (const d of proofDocs)
  walk(d, (v) => {
    if (
      isObj(v) &&
      TERM_KINDS.includes(v.kind as string) &&
      'kind' in v &&
      !('name' in v && 'rule' in v)
    )
      termSeeds.push(v)
    if (isObj(v) && DIM_KINDS.includes(v.kind as string)) dimSeeds.push(v)
    if (
      Array.isArray(v) &&
      v.length > 0 &&
      v.every((x) => isObj(x) && DIM_KINDS.includes(x.kind as string))
    )
      shapeSeeds.push(v)
  })
const typeSeeds: Json[] = []
for (const t of termSeeds)
  walk(t, (v) => {
    if (
      Array.isArray(v) &&
      v.length > 0 &&
      v.every((s) => Array.isArray(s) && shapeSeeds.includes(s))
    )
      typeSeeds.push(v)
  })
if (typeSeeds.length === 0) typeSeeds.push([[{ kind: 'var', name: 'k' }]], [])

// ---------------------------------------------------------------------------------------------
// Random JSON and mutations.

const STRINGS = [
  '',
  'k',
  'x',
  "k'",
  '1k',
  'NaN',
  'Infinity',
  '-0',
  'kind',
  '__proto__',
  'constructor',
]
const NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  2,
  7,
  1e21,
  1e308,
  -1e308,
  2 ** 53,
  2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_VALUE,
  5e-324,
  1e-320,
  Number.NaN,
  Infinity,
  -Infinity,
]

const randomJson = (depth: number): Json => {
  const r = int(depth <= 0 ? 4 : 7)
  switch (r) {
    case 0:
      return pick(NUMBERS.filter(Number.isFinite))
    case 1:
      return pick([...STRINGS, ...TERM_KINDS, ...DIM_KINDS])
    case 2:
      return pick([true, false, null])
    case 3:
      return int(100) - 50
    case 4:
      return Array.from({ length: int(5) }, () => randomJson(depth - 1))
    case 5: {
      const o: Record<string, Json> = {}
      if (rand() < 0.7) o.kind = pick([...TERM_KINDS, ...DIM_KINDS])
      const keys = [
        'name',
        'parts',
        'body',
        'axis',
        'axes',
        'type',
        'factor',
        'op',
        'size',
        'inputs',
        'output',
      ]
      for (let i = int(4); i > 0; i--) o[pick(keys)] = randomJson(depth - 1)
      return o
    }
    default: {
      const o: Record<string, Json> = {}
      for (let i = int(4); i > 0; i--) o[pick(STRINGS)] = randomJson(depth - 1)
      return o
    }
  }
}

/**
 * A deep copy of plain JSON data, iterative (structuredClone overflows the stack on a document
 * nested 5000 deep by an earlier mutation); an object reached twice is copied once and shared.
 */
const clone = (u: Json): Json => {
  if (typeof u !== 'object' || u === null) return u
  const copies = new Map<object, Json>()
  const copyOf = (x: object): Json => {
    const known = copies.get(x)
    if (known !== undefined) return known
    const c: Json = Array.isArray(x) ? [] : {}
    copies.set(x, c)
    work.push([x, c])
    return c
  }
  const work: Array<readonly [object, Json]> = []
  const top = copyOf(u)
  while (work.length > 0) {
    const [from, to] = work.pop() as readonly [object, Json]
    const entries = Object.entries(from)
    for (const [k, v] of entries) {
      const value = typeof v === 'object' && v !== null ? copyOf(v) : (v as Json)
      if (Array.isArray(to)) to.push(value)
      else
        Object.defineProperty(to, k, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        })
    }
  }
  return top
}

/** The places of a document: each with a getter and a setter on its parent. */
interface Place {
  readonly value: Json
  readonly set: (v: Json) => void
  readonly parent: Json
  readonly key: string | number
}
const places = (root: { v: Json }): Place[] => {
  const out: Place[] = []
  // Iterative: a document nested 5000 deep by an earlier mutation is walked too.
  // An object shared by a long array (a mutation repeats one element) is walked once, and at
  // most 20,000 places are listed.
  const stack: Array<readonly [Json, string | number, Json]> = [[root, 'v', root.v]]
  const seen = new Set<object>()
  for (let top = stack.pop(); top !== undefined && out.length < 20_000; top = stack.pop()) {
    const [parent, key, value] = top
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) continue
      seen.add(value)
    }
    out.push({
      value,
      parent,
      key,
      set: (v) => {
        ;(parent as Record<string | number, Json>)[key] = v
      },
    })
    if (Array.isArray(value)) value.forEach((x, i) => stack.push([value, i, x]))
    else if (isObj(value)) for (const [k, x] of Object.entries(value)) stack.push([value, k, x])
  }
  return out
}

/** The length of a value's JSON text, or 0 when it has none (nested too deep to print). */
const textLength = (u: Json): number => {
  try {
    return JSON.stringify(u)?.length ?? 0
  } catch {
    return 0
  }
}

const flipType = (u: Json): Json => {
  if (typeof u === 'number') return pick([String(u), [u], { value: u }, u > 0, null])
  if (typeof u === 'string') return pick([Number(u.length), [u], { [u]: u }, true, null])
  if (Array.isArray(u))
    return pick([Object.fromEntries(u.map((x, i) => [String(i), x])), u.length, 'array'])
  if (isObj(u)) return pick([Object.values(u), textLength(u), 'object', null])
  return pick([0, 'x', [], {}])
}

const MUTATIONS: ReadonlyArray<readonly [string, (root: { v: Json }, all: Place[]) => void]> = [
  [
    'flip type',
    (_, all) => {
      const p = pick(all.slice(1))
      if (p === undefined) return
      p.set(flipType(p.value))
    },
  ],
  [
    'delete field',
    (_, all) => {
      const objs = all.filter((p) => isObj(p.value) && Object.keys(p.value).length > 0)
      if (objs.length === 0) return
      const o = pick(objs).value as Record<string, Json>
      delete o[pick(Object.keys(o))]
    },
  ],
  [
    'duplicate field or element',
    (_, all) => {
      const p = pick(
        all.filter((q) => isObj(q.value) || (Array.isArray(q.value) && q.value.length > 0)),
      )
      if (p === undefined) return
      if (Array.isArray(p.value)) {
        const i = int(p.value.length)
        p.value.splice(i, 0, clone(p.value[i]))
      } else {
        const o = p.value as Record<string, Json>
        const k = pick(Object.keys(o))
        if (k !== undefined) o[`${k}${pick(['2', '_', 'S'])}`] = clone(o[k])
      }
    },
  ],
  [
    'unknown field',
    (_, all) => {
      const objs = all.filter((p) => isObj(p.value))
      if (objs.length === 0) return
      ;(pick(objs).value as Record<string, Json>)[
        pick(['zzz', 'dom', 'cod', 'linearity', 'size'])
      ] = randomJson(1)
    },
  ],
  [
    'odd number',
    (_, all) => {
      const nums = all.filter((p) => typeof p.value === 'number')
      const p = nums.length > 0 ? pick(nums) : pick(all.slice(1))
      if (p !== undefined) p.set(pick(NUMBERS))
    },
  ],
  [
    '-0',
    (_, all) => {
      const nums = all.filter((p) => typeof p.value === 'number')
      if (nums.length > 0) pick(nums).set(-0)
    },
  ],
  [
    'NaN string',
    (_, all) => {
      const nums = all.filter((p) => typeof p.value === 'number')
      const p = nums.length > 0 ? pick(nums) : pick(all.slice(1))
      if (p !== undefined) p.set(pick(['NaN', 'Infinity', '-Infinity', '1e999', '0x10', ' 1']))
    },
  ],
  [
    'deep nesting',
    (_, all) => {
      const p = pick(all.slice(1))
      if (p === undefined) return
      const depth = pick([10, 200, 499, 501, 999, 1001, 5000])
      const how = int(3)
      let v = p.value
      for (let i = 0; i < depth; i++)
        v =
          how === 0
            ? [v]
            : how === 1
              ? { kind: 'box', name: 'b', body: v }
              : { kind: 'derivative', body: v }
      p.set(v)
    },
  ],
  [
    'long array or string',
    (_, all) => {
      const p = pick(all.slice(1))
      if (p === undefined) return
      const n = pick([1000, 10_000, 100_000])
      if (Array.isArray(p.value) && p.value.length > 0) {
        const xs = p.value
        p.set(Array.from({ length: n }, (_x, i) => xs[i % xs.length]))
      } else if (typeof p.value === 'string')
        p.set(p.value.repeat(Math.max(1, Math.floor((n * 10) / Math.max(1, p.value.length)))))
      else p.set(Array.from({ length: n }, () => p.value))
    },
  ],
  [
    'swap kind',
    (_, all) => {
      const kinds = all.filter(
        (p) => p.key === 'kind' || p.key === 'op' || p.key === 'sort' || p.key === 'direction',
      )
      if (kinds.length === 0) return
      pick(kinds).set(
        pick([
          ...TERM_KINDS,
          ...DIM_KINDS,
          'relu',
          'scale',
          'term',
          'value',
          'dim',
          'forward',
          'backward',
          'bogus',
        ]),
      )
    },
  ],
  [
    'graft',
    (_, all) => {
      const p = pick(all.slice(1))
      const q = pick(all)
      if (p !== undefined && q !== undefined) p.set(clone(q.value))
    },
  ],
  [
    'rename',
    (_, all) => {
      const strs = all.filter((p) => typeof p.value === 'string')
      if (strs.length > 0) pick(strs).set(pick([...STRINGS, 'a', 'b', 'W', 'y']))
    },
  ],
  [
    'size',
    (_, all) => {
      const sizes = all.filter(
        (p) =>
          p.key === 'size' ||
          p.key === 'at' ||
          p.key === 'before' ||
          p.key === 'after' ||
          p.key === 'stride' ||
          p.key === 'dilation' ||
          p.key === 'value',
      )
      const p = sizes.length > 0 ? pick(sizes) : undefined
      if (p !== undefined) p.set(pick([0, -1, 1.5, 3, 1000, 2 ** 31, 2 ** 53 - 1, 1e9]))
    },
  ],
]

/**
 * About the length of a value's JSON text, counted without printing it (an object reached twice is
 * measured once and counted twice), stopping once past `cap`. Repeating and grafting can grow a
 * shared document whose text is beyond what V8 can hold as a string (the fuzz itself then ran out
 * of memory in `JSON.stringify`), so `mutate` keeps no mutation whose text would pass
 * {@link MAX_INPUT_CHARS}.
 */
const printedLength = (u: Json, cap: number): number => {
  const known = new Map<object, number>()
  const scalar = (v: Json): number =>
    typeof v === 'string' ? v.length + 2 : typeof v === 'number' ? String(v).length : 5
  if (typeof u !== 'object' || u === null) return scalar(u)
  const stack: Array<readonly [object, boolean]> = [[u, false]]
  while (stack.length > 0) {
    const [x, expanded] = stack.pop() as readonly [object, boolean]
    if (known.has(x)) continue
    const entries = Object.entries(x) as Array<[string, Json]>
    if (!expanded) {
      stack.push([x, true])
      for (const [, v] of entries)
        if (typeof v === 'object' && v !== null && !known.has(v)) stack.push([v, false])
      continue
    }
    let n = 2
    for (const [k, v] of entries) {
      n += 1 + (Array.isArray(x) ? 0 : k.length + 3)
      n += typeof v === 'object' && v !== null ? (known.get(v) ?? 0) : scalar(v)
      if (n > cap) return n
    }
    known.set(x, n)
  }
  return known.get(u) ?? 0
}

/** The longest JSON text a fuzz input may have: past the decoders' limits, within V8's strings. */
const MAX_INPUT_CHARS = 2 ** 27

interface Input {
  readonly json: Json
  readonly how: string
  readonly mutated: boolean
}

const mutate = (seed: Json): Input => {
  if (rand() < 0.15) return { json: randomJson(5), how: 'random JSON', mutated: true }
  const root = { v: clone(seed) }
  const hows: string[] = []
  for (let i = 1 + int(3); i > 0; i--) {
    const [name, m] = pick(MUTATIONS)
    const before = clone(root.v)
    try {
      m(root, places(root))
    } catch (e) {
      throw new Error(`mutation '${name}' after ${hows.join(' + ') || 'none'}: ${String(e)}`)
    }
    if (printedLength(root.v, MAX_INPUT_CHARS) > MAX_INPUT_CHARS) {
      root.v = before
      break
    }
    hows.push(name)
  }
  return { json: root.v, how: hows.join(' + '), mutated: true }
}

// ---------------------------------------------------------------------------------------------
// Judging.

/** Canonical JSON: sorted keys, -0 as 0 (the documented reading), so equal meanings compare equal. */
const canon = (u: Json): string =>
  JSON.stringify(u, (_k, v: unknown) =>
    isObj(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  )

/**
 * Whether everything the input says is in the re-encoding: the encoding may add fields the input
 * left to their defaults (an einsum's `dims`), but not drop or change any (-0 reads as 0).
 */
const says = (input: Json, encoded: Json): boolean => {
  if (Array.isArray(input))
    return (
      Array.isArray(encoded) &&
      input.length === encoded.length &&
      input.every((x, i) => says(x, encoded[i]))
    )
  if (isObj(input))
    return (
      isObj(encoded) && Object.keys(input).every((k) => k in encoded && says(input[k], encoded[k]))
    )
  return input === encoded
}

/**
 * The input as the constructors keep it: a `seq` or `par` part of the same kind is spliced into
 * its parent (both are associative, and terms are kept flattened, README "Terms"), so that
 * `par(f, par(g, h))` re-encoding as `par(f, g, h)` is not a change of meaning (nor `par()` as
 * `id([])`, nor `seq(f)` as `f`).
 */
const flattened = (u: Json): Json => {
  if (Array.isArray(u)) return u.map(flattened)
  if (!isObj(u)) return u
  const out: Record<string, Json> = {}
  for (const [k, v] of Object.entries(u)) out[k] = flattened(v)
  if ((u.kind === 'seq' || u.kind === 'par') && Array.isArray(out.parts))
    out.parts = out.parts.flatMap((p) =>
      isObj(p) && p.kind === u.kind && Array.isArray(p.parts) && Object.keys(p).length === 2
        ? (p.parts as Json[])
        : [p],
    )
  // The empty stack is the identity of the empty tuple; a stack or sequence of one part is it.
  if (u.kind === 'par' && Array.isArray(out.parts) && out.parts.length === 0)
    return { kind: 'id', type: [] }
  if ((u.kind === 'seq' || u.kind === 'par') && Array.isArray(out.parts) && out.parts.length === 1)
    return out.parts[0] as Json
  return out
}

const catalogue = lawCatalogue()

/** A term that was accepted must evaluate (or be refused with a TermError) at small sizes. */
const evaluates = (t: Term): string | undefined => {
  // Terms far beyond what a small evaluation can afford (a mutation repeats an einsum's inputs
  // 10^5 times) are judged by their round trip only.
  if (termSize(t) > 400 || t.dom.length + t.cod.length > 32) return undefined
  if (t.kind === 'einsum' && t.inputs.length > 32) return undefined
  let sizes: Record<string, number>
  try {
    sizes = Object.fromEntries(Object.entries(sizeBounds(t)).map(([k, v]) => [k, Math.max(2, v)]))
  } catch (e) {
    return e instanceof TermError ? undefined : `sizeBounds threw ${String(e)}`
  }
  try {
    evaluate(t, sizes, randomInputs(t.dom, sizes, 1), randomParams(t, sizes, 2), {
      memoryCap: 2 ** 16,
    })
  } catch (e) {
    if (e instanceof TermError) return undefined
    return `evaluate threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`
  }
  return undefined
}

const judgeTerm = (input: Json, t: Term): string | undefined => {
  const json = encodeTerm(t)
  const again = decodeTerm(json)
  if (E.isLeft(again)) return `its encoding is refused: ${again.left[0]?.message ?? ''}`
  if (!termEquals(again.right, t)) return 'its encoding decodes to another term'
  const body = isObj(input) && 'format' in input ? input.term : input
  if (!says(flattened(body), json))
    return `it re-encodes to another document: ${canon(json).slice(0, 200)}`
  return evaluates(t)
}

const judgeEncoded = (input: Json, json: Json): string | undefined =>
  says(input, json) ? undefined : `it re-encodes to ${canon(json).slice(0, 200)}`

let equivalentBudgetMs = 60_000

/**
 * The time of the last decode alone (the 2 s limit is the decoder's, not the checks'): the CPU
 * time of this process (user + system), which is the wall time on a quiet machine and does not
 * grow when other processes share the cores; the wall time is kept for the report.
 */
let decodeMs = 0
let decodeWallMs = 0
const timed = <A>(decode: () => A): A => {
  const start = performance.now()
  const cpu = process.cpuUsage()
  try {
    return decode()
  } finally {
    const used = process.cpuUsage(cpu)
    decodeMs = (used.user + used.system) / 1000
    decodeWallMs = performance.now() - start
  }
}
const judgeProof = (
  input: Json,
  original: Json,
  p: ReturnType<typeof proofFromJson> & { _tag: 'Right' },
): string | undefined => {
  const proof = p.right
  const text = proofToJson(proof)
  const again = proofFromJson(text)
  if (E.isLeft(again)) return `its encoding is refused: ${again.left[0]?.message ?? ''}`
  if (proofToJson(again.right) !== text) return 'its encoding decodes to another proof'
  if (!says(input, JSON.parse(text))) return `it re-encodes to another document`
  let checked
  try {
    checked = checkProof(proof, catalogue)
  } catch (e) {
    return `checkProof threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`
  }
  if (E.isRight(checked) && canon(input) !== canon(original) && equivalentBudgetMs > 0) {
    const start = performance.now()
    const e = equivalent(proof.lhs, proof.rhs, { trials: 3 })
    equivalentBudgetMs -= performance.now() - start
    if (e.kind === 'counterexample') return 'a mutated proof checks, but equivalent refutes it'
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// The decoders.

interface Target {
  readonly name: string
  readonly seeds: ReadonlyArray<Json>
  /** Decode; `undefined` for a refusal, else a problem with the accepted value or `null` if fine. */
  readonly run: (input: Input, seed: Json) => string | undefined | null
}

const viaText = (u: Json): string => {
  try {
    return JSON.stringify(u) ?? 'undefined'
  } catch (e) {
    return `(not printable: ${String(e)})`
  }
}

const termTarget = (
  name: string,
  decode: (u: Json) => E.Either<unknown, Term>,
  document = false,
): Target => ({
  name,
  seeds: document ? termSeeds.map((t) => ({ format: 'ncd-term', version: 1, term: t })) : termSeeds,
  run: (input) => {
    const r = timed(() => decode(input.json))
    return E.isLeft(r) ? undefined : (judgeTerm(input.json, r.right) ?? null)
  },
})

const targets: ReadonlyArray<Target> = [
  termTarget('decodeTerm', decodeTerm),
  termTarget('TermCodec.decode', (u) => TermCodec.decode(u)),
  termTarget('decodeTermJson (documents, as text)', (u) => decodeTermJson(viaText(u)), true),
  {
    name: 'proofFromJson (text)',
    seeds: proofDocs,
    run: (input, seed) => {
      const text = viaText(input.json)
      const r = timed(() => proofFromJson(text))
      return E.isLeft(r) ? undefined : (judgeProof(JSON.parse(text) as Json, seed, r) ?? null)
    },
  },
  {
    name: 'ProofDocumentCodec.decode',
    seeds: proofDocs,
    run: (input, seed) => {
      const r = timed(() => ProofDocumentCodec.decode(input.json))
      return E.isLeft(r) ? undefined : (judgeProof(input.json, seed, r as never) ?? null)
    },
  },
  {
    name: 'decodeDim / DimCodec.decode',
    seeds: dimSeeds,
    run: (input) => {
      const a = timed(() => decodeDim(input.json))
      const b = DimCodec.decode(input.json)
      if (E.isLeft(a) !== E.isLeft(b)) return 'decodeDim and DimCodec.decode disagree'
      return E.isLeft(a) ? undefined : (judgeEncoded(input.json, encodeDim(a.right)) ?? null)
    },
  },
  {
    name: 'decodeShape / ShapeCodec.decode',
    seeds: shapeSeeds,
    run: (input) => {
      const a = timed(() => decodeShape(input.json))
      const b = ShapeCodec.decode(input.json)
      if (E.isLeft(a) !== E.isLeft(b)) return 'decodeShape and ShapeCodec.decode disagree'
      return E.isLeft(a) ? undefined : (judgeEncoded(input.json, encodeShape(a.right)) ?? null)
    },
  },
  {
    name: 'decodeType / TupleTypeCodec.decode',
    seeds: typeSeeds,
    run: (input) => {
      const a = timed(() => decodeType(input.json))
      const b = TupleTypeCodec.decode(input.json)
      if (E.isLeft(a) !== E.isLeft(b)) return 'decodeType and TupleTypeCodec.decode disagree'
      return E.isLeft(a) ? undefined : (judgeEncoded(input.json, encodeType(a.right)) ?? null)
    },
  },
]

// ---------------------------------------------------------------------------------------------

interface Tally {
  inputs: number
  accepted: number
  thrown: number
  slow: number
  invalid: number
  examples: string[]
}

const describeInput = (i: Input): string => {
  const s = viaText(i.json)
  return `[${i.how}] ${s.length > 300 ? `${s.slice(0, 300)}... (${s.length} chars)` : s}`
}

const tallies = new Map<string, Tally>()
const totalStart = performance.now()
const only = process.argv.indexOf('--only')
const chosen = only >= 0 ? process.argv[only + 1] : undefined
for (const target of targets) {
  // `--only NAME` runs one decoder (its name's first word: decodeTerm, proofFromJson, ...); the
  // random draws are seeded per decoder (seed + its index), so a run of one decoder repeats its
  // part of a full run.
  const index = targets.indexOf(target)
  rand = seededRandom(SEED + index)
  if (chosen !== undefined && !target.name.startsWith(chosen)) continue
  const tally: Tally = { inputs: 0, accepted: 0, thrown: 0, slow: 0, invalid: 0, examples: [] }
  tallies.set(target.name, tally)
  // Up to 3 examples of each kind (thrown, slow checks, slow decode, invalid), so that a rare
  // kind is not crowded out by a common one.
  const shown = new Map<string, number>()
  const note = (what: string, input: Input): void => {
    const kind = what.split(' ').slice(0, 2).join(' ')
    const n = shown.get(kind) ?? 0
    if (n >= 3) return
    shown.set(kind, n + 1)
    tally.examples.push(`${what}: ${describeInput(input)}`)
  }
  const start = performance.now()
  for (let n = 0; n < RUNS; n++) {
    const seed = pick(target.seeds)
    // A few unmutated seeds (they must all be accepted), then mutations and random JSON.
    let input: Input
    try {
      input =
        n < Math.min(target.seeds.length, RUNS / 50)
          ? { json: clone(target.seeds[n]), how: 'seed', mutated: false }
          : mutate(seed)
    } catch (e) {
      throw new Error(`fuzz: the mutation itself failed (a bug of this script): ${String(e)}`)
    }
    tally.inputs++
    if (process.env.FUZZ_DEBUG !== undefined) {
      // The input about to be decoded, to find one that hangs.
      console.error(n, input.how, viaText(input.json).length)
      writeFileSync(process.env.FUZZ_DEBUG, viaText(input.json))
    }
    const t0 = performance.now()
    let verdict: string | undefined | null
    try {
      verdict = target.run(input, seed)
    } catch (e) {
      tally.thrown++
      note(
        `threw ${e instanceof Error ? `${e.name}: ${e.message.slice(0, 200)}` : String(e)}`,
        input,
      )
      continue
    }
    const ms = decodeMs
    if (performance.now() - t0 > 10 * SLOW_MS)
      note(`the checks took ${Math.round(performance.now() - t0)} ms`, input)
    if (ms > SLOW_MS) {
      tally.slow++
      note(`took ${Math.round(ms)} ms of CPU (${Math.round(decodeWallMs)} ms wall)`, input)
    }
    if (verdict !== undefined) tally.accepted++
    if (typeof verdict === 'string') {
      tally.invalid++
      note(`accepted, but ${verdict}`, input)
    }
  }
  console.log(
    `${target.name}: ${tally.inputs} inputs, ${tally.accepted} accepted; thrown ${tally.thrown}, over 2 s ${tally.slow}, invalid accepted ${tally.invalid} (${Math.round((performance.now() - start) / 1000)} s)`,
  )
  for (const e of tally.examples) console.log(`  ${e}`)
}
const sum = (k: 'inputs' | 'thrown' | 'slow' | 'invalid' | 'accepted'): number =>
  [...tallies.values()].reduce((s, t) => s + t[k], 0)
console.log(
  `fuzz (seed ${SEED}, ${RUNS} a decoder): ${sum('inputs')} inputs, ${sum('accepted')} accepted; uncaught exceptions ${sum('thrown')}, inputs over 2 s ${sum('slow')}, invalid inputs accepted ${sum('invalid')} (${Math.round((performance.now() - totalStart) / 1000)} s)`,
)
process.exitCode = sum('thrown') + sum('slow') + sum('invalid') > 0 ? 1 : 0
