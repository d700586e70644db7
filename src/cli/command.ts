/**
 * The frame every `ncd` subcommand runs in: its options are parsed by Node's `util.parseArgs`
 * (strict: an unknown flag, a missing value or a value given to a switch is refused), `--help`
 * and `-h` print its help, and any error becomes one line on stderr with exit code 2, never a
 * stack trace.
 *
 * A subcommand is a {@link Command}: a name, a one-line summary for `ncd help`, its options and
 * a `run` that gets the parsed values. `main.ts` lists the commands; adding one is adding a file
 * that exports a `Command` and one entry to that list.
 *
 * @packageDocumentation
 */
import { parseArgs } from 'node:util'
import { TermError } from '../core/errors.js'
import { wrapText } from './wrap.js'

/** Where a command writes: its output and its errors (stdout and stderr in `ncd`). */
export interface Io {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

/** One option of a command, as `util.parseArgs` takes it, with a line of help. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly short?: string
  /** A string option given several times: every value is kept, in order. */
  readonly multiple?: boolean
  /** The placeholder of the value in the help text (`n`, `a=2,b=3`). */
  readonly value?: string
  readonly help: string
}

/** What `run` gets: option values by name (strings, booleans, or lists of strings) and positionals. */
export interface Parsed {
  readonly values: Readonly<Record<string, string | boolean | ReadonlyArray<string> | undefined>>
  readonly positionals: ReadonlyArray<string>
}

/** A subcommand of `ncd`. */
export interface Command {
  readonly name: string
  /** One line for `ncd help`. */
  readonly summary: string
  /** The synopsis after `ncd <name>`, such as `<example | term.json> [--raw]`. */
  readonly usage: string
  /** Paragraphs printed by `--help` below the synopsis. */
  readonly description?: string
  readonly options: Readonly<Record<string, OptionSpec>>
  /** How many positional arguments it takes. */
  readonly positionals: { readonly min: number; readonly max: number }
  /** Runs with parsed arguments; returns the exit code. Throw {@link UsageError} for bad input. */
  readonly run: (parsed: Parsed, io: Io) => number
}

/** Bad input to a command: printed as one line on stderr, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Throw a {@link UsageError}. */
export const usageError = (message: string): never => {
  throw new UsageError(message)
}

/** The help text of a command (`ncd <name> --help`). */
export const commandHelp = (c: Command): string => {
  const rows = Object.entries(c.options).map(([name, o]) => {
    const flag = `${o.short !== undefined ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` <${o.value ?? 'value'}>` : ''}`
    return [flag, o.help] as const
  })
  rows.push(['-h, --help', 'this text'])
  const width = Math.max(...rows.map(([f]) => f.length)) + 2
  return [
    `usage: ncd ${c.name} ${c.usage}`.trimEnd(),
    '',
    wrapText(c.summary, { width: 100, indent: '  ', first: '  ' }),
    ...(c.description !== undefined
      ? [
          '',
          ...c.description
            .split('\n\n')
            .map((p) =>
              wrapText(p.replace(/\s*\n\s*/g, ' '), { width: 100, indent: '  ', first: '  ' }),
            )
            .flatMap((p, i) => (i === 0 ? [p] : ['', p])),
        ]
      : []),
    '',
    'options:',
    ...rows.map(([f, h]) =>
      wrapText(h, { width: 100, first: `  ${f.padEnd(width)}`, indent: ' '.repeat(width + 2) }),
    ),
  ].join('\n')
}

/** One line of an error: its summary, and what was expected and what came when it says. */
export const oneLine = (e: unknown): string => {
  const flat = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim()
  if (e instanceof TermError) {
    const { expected, got } = e.details
    return flat(
      [
        e.summary,
        expected !== undefined ? `expected ${expected}` : '',
        got !== undefined ? `got ${got}` : '',
      ]
        .filter((s) => s !== '')
        .join('; '),
    )
  }
  if (e instanceof RangeError && /call stack/i.test(e.message))
    return 'the input is nested too deeply to process (maximum call stack size exceeded)'
  if (e instanceof Error) return flat(e.message.split('\n')[0] ?? e.message)
  return flat(String(e))
}

const parseFailure = (e: unknown): string | undefined => {
  if (!(e instanceof Error) || !('code' in e)) return undefined
  const code = (e as { code: unknown }).code
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const m = /option '([^']*)'/i.exec(e.message)
    return `unknown option '${m?.[1] ?? '?'}'`
  }
  if (
    code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' ||
    code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
  )
    return (e.message.split('\n')[0] ?? e.message).replace(/^Option/, 'option')
  return undefined
}

/**
 * Run a command on its arguments (after the command word): parse them, answer `--help`/`-h`,
 * check the number of positionals, run, and turn every error into one line on `io.err` with exit
 * code 2. Set `NCD_DEBUG=1` to let unexpected errors through with their stack.
 */
export const runCommand = (c: Command, args: ReadonlyArray<string>, io: Io): number => {
  const fail = (message: string): number => {
    io.err(`ncd ${c.name}: ${message} (ncd ${c.name} --help for usage)`)
    return 2
  }
  let parsed: Parsed
  try {
    const options: Record<
      string,
      { type: 'string' | 'boolean'; short?: string; multiple?: boolean }
    > = {
      help: { type: 'boolean', short: 'h' },
    }
    for (const [name, o] of Object.entries(c.options))
      options[name] = {
        type: o.type,
        ...(o.short !== undefined ? { short: o.short } : {}),
        ...(o.multiple === true ? { multiple: true } : {}),
      }
    const r = parseArgs({ args: [...args], options, strict: true, allowPositionals: true })
    parsed = { values: r.values as Parsed['values'], positionals: r.positionals }
  } catch (e) {
    const message = parseFailure(e)
    if (message === undefined) throw e
    return fail(message)
  }
  if (parsed.values['help'] === true) {
    io.out(commandHelp(c))
    return 0
  }
  const n = parsed.positionals.length
  const { min, max } = c.positionals
  if (n < min)
    return fail(`expected ${min === max ? min : `at least ${min}`} argument(s), got ${n}`)
  if (n > max)
    return fail(
      max === 0
        ? `takes no arguments, got '${parsed.positionals.join(' ')}'`
        : `expected at most ${max} argument(s), got ${n}: ${parsed.positionals.join(' ')}`,
    )
  try {
    return c.run(parsed, io)
  } catch (e) {
    if (e instanceof UsageError) return fail(e.message)
    if (process.env['NCD_DEBUG'] === '1' && !(e instanceof TermError)) throw e
    io.err(`ncd ${c.name}: ${oneLine(e)}`)
    return 2
  }
}

/** The value of a string option (the last one if it was given several times). */
export const stringOption = (p: Parsed, name: string): string | undefined => {
  const v = p.values[name]
  if (typeof v === 'string') return v
  if (Array.isArray(v)) return v[v.length - 1] as string | undefined
  return undefined
}

/** Every value of a string option given with `multiple: true`. */
export const stringOptions = (p: Parsed, name: string): ReadonlyArray<string> => {
  const v = p.values[name]
  if (typeof v === 'string') return [v]
  if (Array.isArray(v)) return v as ReadonlyArray<string>
  return []
}

/** A non-negative integer option (`--seed 3`), refusing anything else. */
export const integerOption = (p: Parsed, name: string, fallback: number): number => {
  const v = stringOption(p, name)
  if (v === undefined) return fallback
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(Number(v)))
    return usageError(`--${name} must be a non-negative integer, not '${v}'`)
  return Number(v)
}
