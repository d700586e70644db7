/**
 * `ncd codegen`: PyTorch or NumPy code of an example or a term document (src/codegen).
 *
 *   ncd codegen <example | term.json> --target pytorch|numpy [-o file.py] [--sizes a=2,b=3]
 *
 * @packageDocumentation
 */
import { writeFileSync } from 'node:fs'
import { TermError } from '../core/errors.js'
import { toNumPy, toPyTorch } from '../codegen/python.js'
import { readSubject } from './derive.js'
import { parseSizes } from './select.js'

const flag = (args: ReadonlyArray<string>, ...names: ReadonlyArray<string>): string | undefined => {
  const i = args.findIndex((a) => names.includes(a))
  return i >= 0 ? (args[i + 1] ?? '') : undefined
}

/** Run `ncd codegen` with its arguments; returns the exit code (2 for bad input). */
export const codegenCommand = (
  args: ReadonlyArray<string>,
  out: (s: string) => void,
  err: (s: string) => void,
): number => {
  const what = args[0]
  const target = flag(args, '--target') ?? 'pytorch'
  if (what === undefined || what.startsWith('-')) {
    err(
      'ncd codegen: which term? usage: ncd codegen <example | term.json> --target pytorch|numpy [-o file.py]',
    )
    return 2
  }
  if (target !== 'pytorch' && target !== 'numpy') {
    err(`ncd codegen: --target must be pytorch or numpy, not '${target}'`)
    return 2
  }
  const sizesText = flag(args, '--sizes')
  const sizes = sizesText === undefined ? {} : parseSizes(sizesText)
  if (typeof sizes === 'string') {
    err(`ncd codegen: ${sizes}`)
    return 2
  }
  const subject = readSubject(what, sizes)
  if (typeof subject === 'string') {
    err(`ncd codegen: ${subject.split('\n')[0] ?? subject}`)
    return 2
  }
  let code: string
  try {
    code = (target === 'numpy' ? toNumPy : toPyTorch)(subject.term, { sizes: subject.sizes })
  } catch (e) {
    if (!(e instanceof TermError)) throw e
    err(`ncd codegen: ${e.summary}`)
    return 2
  }
  const file = flag(args, '-o', '--output')
  if (file === undefined) {
    out(code)
    return 0
  }
  try {
    writeFileSync(file, code)
  } catch (e) {
    err(`ncd codegen: cannot write ${file}: ${e instanceof Error ? e.message : String(e)}`)
    return 2
  }
  out(`wrote ${file} (${target}, ${subject.name})`)
  return 0
}
