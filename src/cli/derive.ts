/**
 * `ncd derive`: the derived forward and reverse derivatives of a term, printed in text form and
 * checked numerically (paper section 3.6, Fig. 31-37).
 *
 *   ncd derive <example | term.json> [--raw] [--sizes a=2,b=3] [--seed n]
 *
 * The term is one of the paper's examples (by figure, such as "Fig. 22", by a word of its title,
 * such as "MLP", or by its number in `ncd examples`), or a term document (`ncd-term` JSON). The
 * command prints the term, `jvp(f)` and `vjp(f)` (in normal form unless `--raw`), and two checks
 * at seeded inputs: `jvp` against central finite differences, and `<ȳ, Df(x) dx> = <Df(x)ᵀ ȳ, dx>`
 * between `jvp` and `vjp`.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { showTyped } from '../core/show.js'
import type { Term } from '../core/term.js'
import type { Sizes } from '../core/dim.js'
import { jvp } from '../derive/jvp.js'
import { vjp } from '../derive/vjp.js'
import { evaluate } from '../eval/evaluate.js'
import { randomInputs, randomParams } from '../eval/random.js'
import { decodeTermJson } from '../io/codec.js'
import { normalize } from '../derive/normal.js'
import { examples } from './examples.js'
import {
  type Command,
  UsageError,
  integerOption,
  runCommand,
  stringOptions,
  usageError,
} from './command.js'
import { findExample, readTextFile, requireSizes, sizesFor } from './select.js'
import { wrapText } from './wrap.js'

/** A term to derive, with sizes to check it at. */
export interface Subject {
  readonly name: string
  readonly term: Term
  readonly sizes: Sizes
}

/**
 * Read the subject of `ncd derive`, `ncd cost` or `ncd codegen`: an example, or a term document
 * on disk (its sizes from `--sizes a=2,b=3`, else every dim's default); a message when it is
 * neither. See {@link subjectOf} for the checked version the commands use.
 */
export const readSubject = (what: string, sizes: Sizes = {}): Subject | string => {
  try {
    return subjectOf(what, [], sizes)
  } catch (e) {
    if (e instanceof UsageError) return e.message
    throw e
  }
}

/**
 * The subject of a command: an example (by name, figure or number) or a term document (a path
 * ending in `.json`, read only if it is a regular file), with the sizes of the `--sizes` texts on
 * top of `sizes`. Throws a {@link UsageError} for a missing or malformed file, an unknown example,
 * or a `--sizes` name that is not a dim of the term.
 */
export const subjectOf = (
  what: string,
  sizeTexts: ReadonlyArray<string>,
  sizes: Sizes = {},
): Subject => {
  if (what.endsWith('.json')) {
    const decoded = decodeTermJson(readTextFile(what))
    if (E.isLeft(decoded)) {
      const [p] = decoded.left
      return usageError(
        `${what} is not a term document: ${p !== undefined ? `${p.path}: ${p.message}` : 'no term'}`,
      )
    }
    return {
      name: what,
      term: decoded.right,
      sizes: { ...sizes, ...sizesFor(decoded.right, sizeTexts) },
    }
  }
  const e = findExample(what)
  if (e === undefined)
    return usageError(
      `no example matches '${what}'; try a figure ("Fig. 22"), a number (1-${examples().length}) or a name (ncd cost lists them)`,
    )
  return {
    name: `${e.figure} ${e.title}`,
    term: e.term,
    sizes: { ...e.sizes, ...sizes, ...sizesFor(e.term, sizeTexts) },
  }
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

/** `ncd derive`. */
export const derive: Command = {
  name: 'derive',
  summary: 'print the derived jvp and vjp of a term, checked against finite differences',
  usage: '<example | term.json> [--raw] [--sizes a=2,b=3] [--seed n]',
  description: `Print the term, its forward derivative jvp(f) : A × A -> B × B and its reverse
derivative vjp(f) : A × B -> B × A (derived: linearise, then transpose), in normal form unless
--raw, and check them at seeded inputs: jvp against central finite differences, vjp against jvp.

The term is one of the paper's examples (by figure, such as "Fig. 22", by name, such as mlp, or by
its number in ncd examples) or a term document (ncd-term JSON), whose dims need sizes (--sizes)
unless they have defaults.`,
  options: {
    raw: { type: 'boolean', help: 'print the derivatives as derived, not in normal form' },
    sizes: {
      type: 'string',
      multiple: true,
      value: 'a=2,b=3',
      help: "the sizes of the dims to check at (the example's own by default)",
    },
    seed: { type: 'string', value: 'n', help: 'the seed of the random inputs (default 1)' },
  },
  positionals: { min: 1, max: 1 },
  run: (p, io) => {
    const seed = integerOption(p, 'seed', 1)
    const subject = subjectOf(p.positionals[0] as string, stringOptions(p, 'sizes'))
    requireSizes(subject.name, subject.term, subject.sizes)
    const raw = p.values['raw'] === true
    const { term } = subject
    const shown = (label: string, t: Term) =>
      io.out(
        wrapText(showTyped(t), { first: `  ${label} = `, indent: '        ', structured: true }),
      )
    io.out(`${subject.name}`)
    shown('f  ', term)
    shown('jvp', raw ? jvp(term) : normalize(jvp(term)))
    shown('vjp', raw ? vjp(term) : normalize(vjp(term)))
    const checks = checkDerivatives(term, subject.sizes, seed)
    const ok = checks.jvpError < 1e-5 && checks.vjpError < 1e-9
    io.out(wrapText(`  at ${JSON.stringify(subject.sizes)}:`, { indent: '    ' }))
    io.out(
      `  jvp vs central differences ${checks.jvpError.toExponential(1)} (tolerance 1e-5), <ȳ, J dx> - <Jᵀȳ, dx> ${checks.vjpError.toExponential(1)} (tolerance 1e-9): ${ok ? 'ok' : 'FAIL'}`,
    )
    return ok ? 0 : 1
  },
}

/**
 * Run `ncd derive` with its arguments, printing with `print` (and errors with `printError`);
 * returns the exit code (1 when a check fails, 2 on bad arguments).
 */
export const deriveCommand = (
  args: ReadonlyArray<string>,
  print: (line: string) => void,
  printError: (line: string) => void = print,
): number => runCommand(derive, args, { out: print, err: printError })
