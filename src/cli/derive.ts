/**
 * `ncd derive`: the derived forward and reverse derivatives of a term, printed in text form and
 * checked numerically (paper section 3.6, Fig. 31-37).
 *
 *   ncd derive <example | term.json> [--raw] [--seed n]
 *
 * The term is one of the paper's examples (by figure, such as "Fig. 22", by a word of its title,
 * such as "MLP", or by its number in `ncd examples`), or a term document (`ncd-term` JSON). The
 * command prints the term, `jvp(f)` and `vjp(f)` (in normal form unless `--raw`), and two checks
 * at seeded inputs: `jvp` against central finite differences, and `<ȳ, Df(x) dx> = <Df(x)ᵀ ȳ, dx>`
 * between `jvp` and `vjp`.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs'
import * as E from 'fp-ts/lib/Either.js'
import { showTyped } from '../core/show.js'
import type { Term } from '../core/term.js'
import type { Sizes } from '../core/dim.js'
import { jvp } from '../derive/jvp.js'
import { vjp } from '../derive/vjp.js'
import { evaluate } from '../eval/evaluate.js'
import { randomInputs, randomParams } from '../eval/random.js'
import { decodeTermJson } from '../io/codec.js'
import { normalize } from '../rewrite/normal.js'
import { examples } from './examples.js'
import { findExample, parseSizes } from './select.js'

/** A term to derive, with sizes to check it at. */
export interface Subject {
  readonly name: string
  readonly term: Term
  readonly sizes: Sizes
}

/**
 * Read the subject of `ncd derive` or `ncd cost`: an example, or a term document on disk (its
 * sizes from `--sizes a=2,b=3`, else every dim's default).
 */
export const readSubject = (what: string, sizes: Sizes = {}): Subject | string => {
  if (what.endsWith('.json')) {
    let text: string
    try {
      text = readFileSync(what, 'utf8')
    } catch (e) {
      return `cannot read ${what}: ${e instanceof Error ? e.message : String(e)}`
    }
    const decoded = decodeTermJson(text)
    if (E.isLeft(decoded))
      return `${what} is not a term document:\n${decoded.left.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`
    return { name: what, term: decoded.right, sizes }
  }
  const e = findExample(what)
  if (e === undefined)
    return `no example matches '${what}'; try a figure ("Fig. 22"), a number (1-${examples().length}) or a name (ncd cost lists them)`
  return { name: `${e.figure} ${e.title}`, term: e.term, sizes: { ...e.sizes, ...sizes } }
}

const flag = (args: ReadonlyArray<string>, name: string): string | undefined => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

const dot = (a: ReadonlyArray<Float64Array>, b: ReadonlyArray<Float64Array>): number =>
  a.reduce(
    (s, x, i) => s + x.reduce((t, v, j) => t + v * ((b[i] as Float64Array)[j] as number), 0),
    0,
  )

/** The numeric checks of a derived jvp and vjp at seeded inputs. */
export interface DeriveChecks {
  /** The largest |jvp - central difference| relative to 1 + |difference|. */
  readonly jvpError: number
  /** |<ȳ, J dx> - <Jᵀ ȳ, dx>| relative to 1 + the larger of the two. */
  readonly vjpError: number
}

/**
 * Check `jvp(f)` against finite differences and `vjp(f)` against `jvp(f)` at seeded inputs.
 * `derived` replaces the derived terms (to show that a wrong one is caught).
 */
export const checkDerivatives = (
  f: Term,
  sizes: Sizes,
  seed = 1,
  derived: { readonly jvp?: Term; readonly vjp?: Term } = {},
): DeriveChecks => {
  const params = randomParams(f, sizes, seed)
  const x = randomInputs(f.dom, sizes, seed + 1)
  const dx = randomInputs(f.dom, sizes, seed + 2)
  const ybar = randomInputs(f.cod, sizes, seed + 3)
  const m = f.cod.length
  const tangent = evaluate(derived.jvp ?? jvp(f), sizes, [...x, ...dx], params).slice(m)
  const h = 1e-6
  const shifted = (sign: number) =>
    evaluate(
      f,
      sizes,
      x.map((v, i) => v.map((a, j) => a + sign * h * ((dx[i] as Float64Array)[j] as number))),
      params,
    )
  const plus = shifted(1)
  const minus = shifted(-1)
  let jvpError = 0
  tangent.forEach((t, i) =>
    t.forEach((v, j) => {
      const fd =
        (((plus[i] as Float64Array)[j] as number) - ((minus[i] as Float64Array)[j] as number)) /
        (2 * h)
      jvpError = Math.max(jvpError, Math.abs(v - fd) / (1 + Math.abs(fd)))
    }),
  )
  const xbar = evaluate(derived.vjp ?? vjp(f), sizes, [...x, ...ybar], params).slice(m)
  const left = dot(ybar, tangent)
  const right = dot(xbar, dx)
  const vjpError = Math.abs(left - right) / (1 + Math.max(Math.abs(left), Math.abs(right)))
  return { jvpError, vjpError }
}

const HELP = `ncd derive <example | term.json> [--raw] [--sizes a=2,b=3] [--seed n]

  Print the term, its forward derivative jvp(f) : A × A -> B × B and its reverse derivative
  vjp(f) : A × B -> B × A (derived: linearise, then transpose), in normal form unless --raw,
  and check them at seeded inputs: jvp against central finite differences, vjp against jvp.
`

/**
 * Run `ncd derive` with its arguments, printing with `print`; returns the exit code (1 when a
 * check fails, 2 on bad arguments).
 */
export const deriveCommand = (
  args: ReadonlyArray<string>,
  print: (line: string) => void,
): number => {
  const what = args[0]
  if (what === undefined || what === '--help') {
    print(HELP)
    return what === undefined ? 2 : 0
  }
  const sizesText = flag(args, '--sizes')
  const sizes = sizesText === undefined ? {} : parseSizes(sizesText)
  if (typeof sizes === 'string') {
    print(sizes)
    return 2
  }
  const subject = readSubject(what, sizes)
  if (typeof subject === 'string') {
    print(subject)
    return 2
  }
  const raw = args.includes('--raw')
  const seed = Number(flag(args, '--seed') ?? '1')
  const { term } = subject
  const shown = (t: Term) => showTyped(raw ? t : normalize(t))
  print(`${subject.name}`)
  print(`  f   = ${showTyped(term)}`)
  print(`  jvp = ${shown(jvp(term))}`)
  print(`  vjp = ${shown(vjp(term))}`)
  const checks = checkDerivatives(term, subject.sizes, seed)
  const ok = checks.jvpError < 1e-5 && checks.vjpError < 1e-9
  print(
    `  at ${JSON.stringify(subject.sizes)}: jvp vs central differences ${checks.jvpError.toExponential(1)} (tolerance 1e-5), <ȳ, J dx> - <Jᵀȳ, dx> ${checks.vjpError.toExponential(1)} (tolerance 1e-9): ${ok ? 'ok' : 'FAIL'}`,
  )
  return ok ? 0 : 1
}
