/**
 * `ncd codegen`: PyTorch or NumPy code of an example or a term document (src/codegen).
 *
 *   ncd codegen <example | term.json> --target pytorch|numpy [-o file.py] [--sizes a=2,b=3]
 *
 * @packageDocumentation
 */
import { writeFileSync } from 'node:fs'
import { toNumPy, toPyTorch } from '../codegen/python.js'
import { type Command, runCommand, stringOption, stringOptions, usageError } from './command.js'
import { subjectOf } from './derive.js'

/** `ncd codegen`. */
export const codegen: Command = {
  name: 'codegen',
  summary: 'the PyTorch module or NumPy function of a term',
  usage: '<example | term.json> [--target pytorch|numpy] [-o file.py] [--sizes a=2,b=3]',
  options: {
    target: { type: 'string', value: 'pytorch|numpy', help: 'the code to write (default pytorch)' },
    output: {
      type: 'string',
      short: 'o',
      value: 'file.py',
      help: 'write to this file, not stdout',
    },
    sizes: {
      type: 'string',
      multiple: true,
      value: 'a=2,b=3',
      help: "sizes to bake in as defaults (the example's own by default)",
    },
  },
  positionals: { min: 1, max: 1 },
  run: (p, io) => {
    const target = stringOption(p, 'target') ?? 'pytorch'
    if (target !== 'pytorch' && target !== 'numpy')
      usageError(`--target must be pytorch or numpy, not '${target}'`)
    const subject = subjectOf(p.positionals[0] as string, stringOptions(p, 'sizes'))
    const code = (target === 'numpy' ? toNumPy : toPyTorch)(subject.term, { sizes: subject.sizes })
    const file = stringOption(p, 'output')
    if (file === undefined) {
      io.out(code)
      return 0
    }
    try {
      writeFileSync(file, code)
    } catch (e) {
      return usageError(`cannot write ${file}: ${e instanceof Error ? e.message : String(e)}`)
    }
    io.out(`wrote ${file} (${target}, ${subject.name})`)
    return 0
  },
}

/** Run `ncd codegen` with its arguments; returns the exit code (2 for bad input). */
export const codegenCommand = (
  args: ReadonlyArray<string>,
  out: (s: string) => void,
  err: (s: string) => void,
): number => runCommand(codegen, args, { out, err })
