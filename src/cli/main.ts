#!/usr/bin/env node
/**
 * `ncd`, the command line of neural-circuit-diagrams.
 *
 *   ncd <command> [arguments] [options]
 *
 * The commands are listed in {@link COMMANDS}; each answers `--help` and `-h`, refuses unknown
 * options and bad values, and reports bad input as one line on stderr with exit code 2
 * (`command.ts`).
 *
 * @packageDocumentation
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { check } from './check.js'
import { examplesCmd } from './check-examples.js'
import { codegen } from './codegen.js'
import { type Command, runCommand } from './command.js'
import { costCmd } from './cost.js'
import { derive } from './derive.js'
import { optimizeCmd, proveCmd } from './prove.js'
import { renderCmd } from './render.js'
import { wrapText } from './wrap.js'

export { type ExampleCheck, TOLERANCE, checkExample } from './check-examples.js'

/** The subcommands of `ncd`, in the order `ncd help` lists them. Add a command here. */
export const COMMANDS: ReadonlyArray<Command> = [
  examplesCmd,
  check,
  derive,
  costCmd,
  proveCmd,
  optimizeCmd,
  codegen,
  renderCmd,
]

/** The text of `ncd help`. */
export const helpText = (): string =>
  [
    'ncd: neural circuit diagrams',
    '',
    'usage: ncd <command> [arguments] [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) =>
      wrapText(c.summary, { first: `  ncd ${c.name.padEnd(10)}`, indent: ' '.repeat(16) }),
    ),
    '  ncd help      this text',
    '',
    "ncd <command> --help (or -h) prints a command's arguments and options.",
  ].join('\n')

/** Run the command line with its arguments; returns the exit code. */
export const main = (args: ReadonlyArray<string>): number => {
  const [name, ...rest] = args
  const io = { out: (s: string) => console.log(s), err: (s: string) => console.error(s) }
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined
    return topic !== undefined ? runCommand(topic, ['--help'], io) : (io.out(helpText()), 0)
  }
  const command = COMMANDS.find((c) => c.name === name)
  if (command === undefined) {
    io.err(
      `ncd: unknown command '${name}'; the commands are ${[...COMMANDS.map((c) => c.name), 'help'].join(', ')} (ncd help)`,
    )
    return 2
  }
  return runCommand(command, rest, io)
}

/**
 * Whether this module is the program Node was started with. Installed, `ncd` is a symlink in
 * `node_modules/.bin` (argv[1]) to this file, so both sides are compared as real paths.
 */
const isEntryPoint = (): boolean => {
  const invoked = process.argv[1]
  if (invoked === undefined) return false
  try {
    return realpathSync(invoked) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isEntryPoint()) {
  process.exitCode = main(process.argv.slice(2))
}
