// Runs the `@example` blocks of the TSDoc comments in `src/` (STYLE.md, "Docs and hygiene").
//
// 1. Extraction. Every `/** ... */` comment of `src/**/*.ts` is read (comments are found through the
//    TypeScript AST, so strings that merely look like comments are not). An `@example` tag followed
//    by a fenced block (```ts) is a runnable example; its lines lose their leading ` * `. A one-line
//    `@example` without a fence (`@example \`relu('y k')\` : [y k] -> [y k]`) is listed as not
//    runnable, never run.
// 2. Instrumentation, on the TypeScript AST of the example:
//    - imports are rebound to modules this file imports statically: `'neural-circuit-diagrams'` is
//      `src/index.ts`, and fp-ts and fast-check are what they are (`MODULES`). An import of a module
//      or name the runner does not provide is a failure, so an example cannot drift from the entry.
//    - an expectation is a `//` comment that starts with a literal: a string ('...' or "..."), a
//      number, true/false/null/undefined, an array or object of literals (`[['y', 'k']]`,
//      `{ a: 3 }`), or `Float64Array [1, 2]`. Prose after the literal, separated by a space, is
//      ignored (`// 'nonlinear' (affine: the bias)`); a comment that does not start with a literal is
//      prose (`// E.right(f), structurally`).
//    - the first comment after a statement, on the statement's last line or alone on the next line,
//      is that statement's expectation. An expression statement `expr` with an expectation becomes
//      `__check(n, (expr))`; everything else (declarations, try/catch) runs as written. An
//      expectation after a declaration, or attached to no statement, is a failure: it would
//      silently check nothing.
// 3. Running. The instrumented code is transpiled by `ts.transpileModule` and run as an async
//    function. Every check must hold and must be reached at least once (a check in a `catch` that
//    never runs is a failure). Strings, arrays and objects compare with `toEqual`, numbers and
//    `Float64Array`s element-wise within 1e-12. An example without any check fails unless one of
//    its comments says `// side effects only`.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { inspect } from 'node:util'
import * as FC from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import * as F from 'fp-ts/lib/function.js'
import * as O from 'fp-ts/lib/Option.js'
import * as RA from 'fp-ts/lib/ReadonlyArray.js'
import ts from 'typescript'
import { afterAll, describe, expect, it } from 'vitest'
import * as N from '../src/index.js'
import * as T from '../src/testing/arbitraries.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const srcDir = path.join(root, 'src')

/** The modules an example may import, by specifier. */
type Modules = ReadonlyMap<string, Readonly<Record<string, unknown>>>

const MODULES: Modules = new Map<string, Readonly<Record<string, unknown>>>([
  ['neural-circuit-diagrams', N],
  ['neural-circuit-diagrams/testing', T],
  ['fp-ts/lib/Either.js', E],
  ['fp-ts/lib/function.js', F],
  ['fp-ts/lib/Option.js', O],
  ['fp-ts/lib/ReadonlyArray.js', RA],
  ['fast-check', FC],
])

// ---------------------------------------------------------------------------------------------
// Extraction

/** A runnable example: fenced code after an `@example` tag. */
interface Example {
  /** Path relative to the repository, e.g. `src/core/show.ts`. */
  readonly file: string
  /** The documented declaration's name, or `line N` when the comment documents no declaration. */
  readonly owner: string
  /** 1-based line in `file` of the first code line. */
  readonly line: number
  readonly code: string
  /** Set when the example is malformed (an unclosed fence): it fails without running. */
  readonly problem: string | undefined
}

/** An `@example` that is not a fenced code block: listed, never run. */
interface OneLiner {
  readonly file: string
  readonly owner: string
  readonly line: number
  readonly text: string
}

type Found =
  | {
      readonly kind: 'code'
      readonly index: number
      readonly code: string
      readonly closed: boolean
    }
  | { readonly kind: 'text'; readonly index: number; readonly text: string }

/** The body lines of a `/** ... *\/` comment, without the delimiters and the leading ` * `. */
const docLines = (comment: string): string[] =>
  comment
    .slice(3, -2)
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .map((l, i) => (i === 0 ? l.replace(/^ /, '') : l.replace(/^\s*\*(?: |$)/, '')))

const fence = /^\s*```(\w*)\s*$/
const isTag = (line: string): boolean => /^\s*@\w/.test(line)

/** The `@example`s of one doc comment, by body line index. */
const examplesInDoc = (lines: readonly string[]): Found[] => {
  const found: Found[] = []
  let i = 0
  while (i < lines.length) {
    const line = lines[i] ?? ''
    if (fence.test(line)) {
      // A fence in prose, outside any `@example`: skip it whole, so `@example` inside is not a tag.
      i += 1
      while (i < lines.length && !fence.test(lines[i] ?? '')) i += 1
      i += 1
      continue
    }
    const at = line.indexOf('@example')
    if (at < 0) {
      i += 1
      continue
    }
    const rest = line.slice(at + '@example'.length).trim()
    if (rest !== '') {
      found.push({ kind: 'text', index: i, text: rest })
      i += 1
      continue
    }
    let j = i + 1
    while (j < lines.length && (lines[j] ?? '').trim() === '') j += 1
    const open = fence.exec(lines[j] ?? '')
    if (open === null) {
      let k = j
      while (k < lines.length && !isTag(lines[k] ?? '')) k += 1
      found.push({ kind: 'text', index: i, text: lines.slice(j, k).join(' ').trim() })
      i = Math.max(k, i + 1)
      continue
    }
    let k = j + 1
    while (k < lines.length && !/^\s*```\s*$/.test(lines[k] ?? '')) k += 1
    const code = lines.slice(j + 1, k).join('\n')
    if (['ts', 'typescript', ''].includes(open[1] ?? ''))
      found.push({ kind: 'code', index: j + 1, code, closed: k < lines.length })
    else found.push({ kind: 'text', index: j, text: `(\`\`\`${open[1] ?? ''} block) ${code}` })
    i = k + 1
  }
  return found
}

/** The name a doc comment in front of `node` documents, if `node` declares something. */
const declarationName = (node: ts.Node): string | undefined => {
  if (ts.isVariableStatement(node))
    return node.declarationList.declarations.map((d) => d.name.getText()).join(', ')
  if (ts.isSourceFile(node) || ts.isExpressionStatement(node)) return undefined
  const name = ts.getNameOfDeclaration(node as ts.Declaration)
  return name?.getText()
}

/** The examples of one source file, given its path relative to the repository and its text. */
const examplesInFile = (
  file: string,
  text: string,
): { examples: Example[]; oneLiners: OneLiner[] } => {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const examples: Example[] = []
  const oneLiners: OneLiner[] = []
  const seen = new Set<number>()
  const visit = (node: ts.Node): void => {
    // Pre-order: the outermost node starting after a comment (the statement, not its `export`
    // keyword) is the one it documents.
    for (const range of ts.getLeadingCommentRanges(text, node.pos) ?? []) {
      if (seen.has(range.pos)) continue
      seen.add(range.pos)
      const comment = text.slice(range.pos, range.end)
      if (range.kind !== ts.SyntaxKind.MultiLineCommentTrivia || !comment.startsWith('/**'))
        continue
      const first = sf.getLineAndCharacterOfPosition(range.pos).line + 1
      const owner = declarationName(node) ?? `line ${first}`
      for (const f of examplesInDoc(docLines(comment))) {
        const line = first + f.index
        if (f.kind === 'text') oneLiners.push({ file, owner, line, text: f.text })
        else
          examples.push({
            file,
            owner,
            line,
            code: f.code,
            problem: f.closed ? undefined : `${file}:${line}: the code fence is never closed`,
          })
      }
    }
    ts.forEachChild(node, visit)
  }
  // Not `visit(sf)`: the file node starts where its first statement does, and would take its doc.
  ts.forEachChild(sf, visit)
  return { examples, oneLiners }
}

const sourceFiles = (dir: string): string[] =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) return sourceFiles(p)
      return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : []
    })
    .sort()

const relative = (p: string): string => path.relative(root, p).split(path.sep).join('/')

const collect = (): { examples: Example[]; oneLiners: OneLiner[] } => {
  const all = sourceFiles(srcDir).map((p) =>
    examplesInFile(relative(p), fs.readFileSync(p, 'utf8')),
  )
  return {
    examples: all.flatMap((r) => r.examples),
    oneLiners: all.flatMap((r) => r.oneLiners),
  }
}

// ---------------------------------------------------------------------------------------------
// Expectations

type Expected =
  | { readonly kind: 'value'; readonly value: unknown; readonly text: string }
  | { readonly kind: 'float64'; readonly values: readonly number[]; readonly text: string }

class NotLiteral extends Error {}

/**
 * The expectation a `//` comment states, or `undefined` when the comment is prose. The literal is
 * read with the TypeScript scanner; what follows it after a space (or a comma) is prose.
 */
const parseExpectation = (comment: string): Expected | undefined => {
  const text = comment.replace(/^\/\/\s*/, '').trim()
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text)
  scanner.scan()
  const tok = (): ts.SyntaxKind => scanner.getToken()
  const next = (): void => void scanner.scan()
  const fail = (): never => {
    throw new NotLiteral()
  }
  const expect = (kind: ts.SyntaxKind): void => (tok() === kind ? next() : fail())
  const number = (): number => {
    const sign = tok() === ts.SyntaxKind.MinusToken ? -1 : 1
    if (sign === -1) next()
    const t = scanner.getTokenText()
    if (tok() === ts.SyntaxKind.NumericLiteral) {
      next()
      return sign * Number(t.replace(/_/g, ''))
    }
    if (tok() === ts.SyntaxKind.Identifier && (t === 'Infinity' || t === 'NaN')) {
      next()
      return sign * Number(t)
    }
    return fail()
  }
  const list = <T>(close: ts.SyntaxKind, item: () => T): T[] => {
    const items: T[] = []
    while (tok() !== close) {
      items.push(item())
      if (tok() === ts.SyntaxKind.CommaToken) next()
      else if (tok() !== close) fail()
    }
    next()
    return items
  }
  const value = (): unknown => {
    const kind = tok()
    if (kind === ts.SyntaxKind.StringLiteral) {
      if (scanner.isUnterminated()) fail()
      const v = scanner.getTokenValue()
      next()
      return v
    }
    if (kind === ts.SyntaxKind.NumericLiteral || kind === ts.SyntaxKind.MinusToken) return number()
    if (kind === ts.SyntaxKind.TrueKeyword || kind === ts.SyntaxKind.FalseKeyword) {
      next()
      return kind === ts.SyntaxKind.TrueKeyword
    }
    if (kind === ts.SyntaxKind.NullKeyword) {
      next()
      return null
    }
    if (kind === ts.SyntaxKind.UndefinedKeyword) {
      next()
      return undefined
    }
    if (kind === ts.SyntaxKind.Identifier) return number()
    if (kind === ts.SyntaxKind.OpenBracketToken) {
      next()
      return list(ts.SyntaxKind.CloseBracketToken, value)
    }
    if (kind === ts.SyntaxKind.OpenBraceToken) {
      next()
      const entries = list(ts.SyntaxKind.CloseBraceToken, (): [string, unknown] => {
        const k = tok()
        const key =
          k === ts.SyntaxKind.StringLiteral || k === ts.SyntaxKind.NumericLiteral
            ? scanner.getTokenValue()
            : k === ts.SyntaxKind.Identifier ||
                (k >= ts.SyntaxKind.FirstKeyword && k <= ts.SyntaxKind.LastKeyword)
              ? scanner.getTokenText()
              : fail()
        next()
        expect(ts.SyntaxKind.ColonToken)
        return [key, value()]
      })
      return Object.fromEntries(entries)
    }
    return fail()
  }
  try {
    let expected: Expected
    if (tok() === ts.SyntaxKind.Identifier && scanner.getTokenText() === 'Float64Array') {
      next()
      expect(ts.SyntaxKind.OpenBracketToken)
      expected = { kind: 'float64', values: list(ts.SyntaxKind.CloseBracketToken, number), text }
    } else expected = { kind: 'value', value: value(), text }
    if (tok() === ts.SyntaxKind.EndOfFileToken) return expected
    const start = scanner.getTokenStart()
    const separated = /\s/.test(text[start - 1] ?? '') || /^[,;]/.test(text.slice(start))
    return separated ? { ...expected, text: text.slice(0, start).trim() } : undefined
  } catch (e) {
    if (e instanceof NotLiteral) return undefined
    throw e
  }
}

const close = (a: number, b: number): boolean =>
  a === b ||
  (Number.isNaN(a) && Number.isNaN(b)) ||
  Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b))

const showValue = (v: unknown): string =>
  v instanceof Float64Array
    ? `Float64Array [${Array.from(v).join(', ')}]`
    : inspect(v, { depth: 8, breakLength: Infinity })

/** `undefined` when `actual` meets `expected`, else how `actual` prints. */
const mismatch = (actual: unknown, expected: Expected): string | undefined => {
  if (expected.kind === 'float64') {
    const ok =
      actual instanceof Float64Array &&
      actual.length === expected.values.length &&
      Array.from(actual).every((v, i) => close(v, expected.values[i] ?? Number.NaN))
    return ok ? undefined : showValue(actual)
  }
  if (typeof expected.value === 'number' && typeof actual === 'number')
    return close(actual, expected.value) ? undefined : showValue(actual)
  try {
    expect(actual).toEqual(expected.value)
    return undefined
  } catch {
    return showValue(actual)
  }
}

// ---------------------------------------------------------------------------------------------
// Instrumentation and running

interface Check {
  readonly loc: string
  readonly expr: string
  readonly expected: Expected
}

interface Instrumented {
  /** The example as JavaScript, calling `__check(n, value)` and `__bind(module, name)`. */
  readonly js: string
  readonly checks: readonly Check[]
  /** Why the example cannot be run faithfully; non-empty fails it without running. */
  readonly problems: readonly string[]
  readonly sideEffectsOnly: boolean
  /** Whether it imports from `'neural-circuit-diagrams'`, as STYLE.md asks of every example. */
  readonly importsEntry: boolean
}

const inStatementList = (node: ts.Node): boolean =>
  ts.isSourceFile(node.parent) ||
  ts.isBlock(node.parent) ||
  ts.isModuleBlock(node.parent) ||
  ts.isCaseClause(node.parent) ||
  ts.isDefaultClause(node.parent)

const instrument = (ex: Example, modules: Modules): Instrumented => {
  const code = ex.code
  const sf = ts.createSourceFile('example.ts', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const lineOf = (pos: number): number => sf.getLineAndCharacterOfPosition(pos).line
  const loc = (pos: number): string => `${ex.file}:${ex.line + lineOf(pos)}`
  const problems: string[] = ex.problem === undefined ? [] : [ex.problem]
  const checks: Check[] = []
  const edits: { start: number; end: number; text: string }[] = []
  const used = new Set<number>()

  for (const d of ts.transpileModule(code, { reportDiagnostics: true }).diagnostics ?? [])
    problems.push(
      `${loc(d.start ?? 0)}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')} (in the example's code)`,
    )

  // Imports: bind each name from a module the test provides.
  for (const s of sf.statements) {
    if (!ts.isImportDeclaration(s)) continue
    const spec = ts.isStringLiteral(s.moduleSpecifier) ? s.moduleSpecifier.text : ''
    const mod = modules.get(spec)
    const clause = s.importClause
    const binds: string[] = []
    const bind = (local: string, name: string): void => {
      if (mod === undefined) return
      if (name !== '*' && !(name in mod))
        problems.push(`${loc(s.getStart(sf))}: '${spec}' does not export ${name}`)
      binds.push(`const ${local} = __bind(${JSON.stringify(spec)}, ${JSON.stringify(name)});`)
    }
    if (mod === undefined)
      problems.push(`${loc(s.getStart(sf))}: the runner does not provide module '${spec}'`)
    if (clause !== undefined && !clause.isTypeOnly) {
      if (clause.name !== undefined) bind(clause.name.text, 'default')
      const nb = clause.namedBindings
      if (nb !== undefined && ts.isNamespaceImport(nb)) bind(nb.name.text, '*')
      if (nb !== undefined && ts.isNamedImports(nb))
        for (const el of nb.elements)
          if (!el.isTypeOnly) bind(el.name.text, (el.propertyName ?? el.name).text)
    }
    edits.push({ start: s.getStart(sf), end: s.end, text: binds.join(' ') })
  }

  /** The expectation stated by the first comment after `stmt`, on its last line or the next. */
  const expectationAfter = (
    stmt: ts.Node,
  ): { readonly pos: number; readonly expected: Expected } | undefined => {
    // Leading ranges at `stmt.end` skip the rest of its line, which the trailing ranges hold.
    const [first] = [
      ...(ts.getTrailingCommentRanges(code, stmt.end) ?? []),
      ...(ts.getLeadingCommentRanges(code, stmt.end) ?? []),
    ]
    if (first === undefined || first.kind !== ts.SyntaxKind.SingleLineCommentTrivia)
      return undefined
    if (lineOf(first.pos) - lineOf(stmt.end) > 1) return undefined
    const expected = parseExpectation(code.slice(first.pos, first.end))
    return expected === undefined ? undefined : { pos: first.pos, expected }
  }

  // Post-order, so that in `if (c) f() // 1` the expression statement takes the comment.
  const visit = (node: ts.Node): void => {
    ts.forEachChild(node, visit)
    if (
      !ts.isExpressionStatement(node) &&
      !(inStatementList(node) && !ts.isImportDeclaration(node))
    )
      return
    const found = expectationAfter(node)
    if (found === undefined || used.has(found.pos)) return
    used.add(found.pos)
    if (!ts.isExpressionStatement(node)) {
      problems.push(
        `${loc(found.pos)}: the expectation ${found.expected.text} follows a ` +
          `${ts.isVariableStatement(node) ? 'declaration' : 'compound statement'}, not an expression: ` +
          'it would check nothing',
      )
      return
    }
    const e = node.expression
    edits.push({ start: e.getStart(sf), end: e.getStart(sf), text: `__check(${checks.length}, (` })
    edits.push({ start: e.end, end: e.end, text: '))' })
    checks.push({ loc: loc(e.getStart(sf)), expr: e.getText(sf), expected: found.expected })
  }
  sf.statements.forEach(visit)

  // Every comment of the example: an expectation that no statement took is a mistake.
  const comments = new Map<number, ts.CommentRange>()
  const gather = (node: ts.Node): void => {
    for (const r of [
      ...(ts.getLeadingCommentRanges(code, node.pos) ?? []),
      ...(ts.getTrailingCommentRanges(code, node.end) ?? []),
    ])
      comments.set(r.pos, r)
    ts.forEachChild(node, gather)
  }
  gather(sf)
  gather(sf.endOfFileToken)
  let sideEffectsOnly = false
  for (const r of comments.values()) {
    const text = code.slice(r.pos, r.end)
    if (/side[- ]effects? only/i.test(text)) sideEffectsOnly = true
    if (r.kind !== ts.SyntaxKind.SingleLineCommentTrivia || used.has(r.pos)) continue
    const expected = parseExpectation(text)
    if (expected !== undefined)
      problems.push(
        `${loc(r.pos)}: the expectation ${expected.text} follows no statement ` +
          '(it must end the line of an expression, or stand alone on the next line)',
      )
  }
  if (checks.length === 0 && !sideEffectsOnly)
    problems.push(
      `${ex.file}:${ex.line}: the example checks nothing: end an expression with \`// <expected>\`, ` +
        'or say `// side effects only`',
    )

  let source = code
  for (const ed of [...edits].sort((a, b) => b.start - a.start || b.end - a.end))
    source = source.slice(0, ed.start) + ed.text + source.slice(ed.end)
  const out = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS },
    reportDiagnostics: true,
  })
  for (const d of out.diagnostics ?? [])
    problems.push(
      `${ex.file}:${ex.line}: instrumented code does not compile: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
    )
  return {
    js: out.outputText,
    checks,
    problems,
    sideEffectsOnly: checks.length === 0 && sideEffectsOnly,
    importsEntry: sf.statements.some(
      (s) =>
        ts.isImportDeclaration(s) &&
        ts.isStringLiteral(s.moduleSpecifier) &&
        s.moduleSpecifier.text.startsWith('neural-circuit-diagrams'),
    ),
  }
}

interface Outcome {
  readonly checks: number
  readonly failures: readonly string[]
  readonly sideEffectsOnly: boolean
  readonly importsEntry: boolean
}

type AsyncFn = (...args: unknown[]) => Promise<unknown>
const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (
  ...args: string[]
) => AsyncFn

/** Instrument and run one example; `failures` says every check that failed or never ran. */
const runExample = async (ex: Example, modules: Modules = MODULES): Promise<Outcome> => {
  const inst = instrument(ex, modules)
  const base = {
    checks: inst.checks.length,
    sideEffectsOnly: inst.sideEffectsOnly,
    importsEntry: inst.importsEntry,
  }
  if (inst.problems.length > 0) return { ...base, failures: inst.problems }
  const reached = inst.checks.map(() => 0)
  const failures: string[] = []
  const check = (i: number, actual: unknown): void => {
    const c = inst.checks[i]
    if (c === undefined) throw new Error(`no check ${i}`)
    reached[i] = (reached[i] ?? 0) + 1
    const got = mismatch(actual, c.expected)
    if (got !== undefined)
      failures.push(`${c.loc}: ${c.expr}\n    expected ${c.expected.text}\n    got      ${got}`)
  }
  const bind = (spec: string, name: string): unknown => {
    const mod = modules.get(spec)
    return name === '*' ? mod : mod?.[name]
  }
  try {
    await new AsyncFunction('__check', '__bind', inst.js)(check, bind)
  } catch (e) {
    failures.push(
      `${ex.file}:${ex.line}: the example throws ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
    )
  }
  inst.checks.forEach((c, i) => {
    if (reached[i] === 0)
      failures.push(`${c.loc}: ${c.expr} // ${c.expected.text} is never reached`)
  })
  return { ...base, failures }
}

// ---------------------------------------------------------------------------------------------
// The examples of src/

const { examples, oneLiners } = collect()

const titles = new Map<string, number>()
for (const ex of examples) {
  const t = `${ex.file}: ${ex.owner}`
  titles.set(t, (titles.get(t) ?? 0) + 1)
}
const title = (ex: Example): string => {
  const t = `${ex.file}: ${ex.owner}`
  return (titles.get(t) ?? 0) > 1 ? `${t} (line ${ex.line})` : t
}

describe('the @examples of src/ run, and what they state holds', () => {
  const totals = { examples: 0, checks: 0, sideEffectsOnly: 0 }
  afterAll(() => {
    console.info(
      `doc examples: ${totals.examples} run, ${totals.checks} checks, ` +
        `${totals.sideEffectsOnly} side effects only, ${oneLiners.length} one-line (not runnable)`,
    )
  })

  it('finds the examples (a runner that finds none could not fail)', () => {
    expect(examples.length).toBeGreaterThan(20)
    expect(examples.map(title)).toContain('src/core/show.ts: show')
  })

  for (const ex of examples)
    it(title(ex), async () => {
      const out = await runExample(ex)
      totals.examples += 1
      totals.checks += out.checks
      if (out.sideEffectsOnly) totals.sideEffectsOnly += 1
      const failures = out.importsEntry
        ? out.failures
        : [
            `${ex.file}:${ex.line}: the example does not import from 'neural-circuit-diagrams'`,
            ...out.failures,
          ]
      if (failures.length > 0) throw new Error(failures.join('\n'))
    })

  it('lists the one-line @examples, which are not run', () => {
    if (oneLiners.length > 0)
      console.info(
        `one-line @examples (not runnable):\n${oneLiners.map((o) => `  ${o.file}:${o.line} ${o.owner}: ${o.text}`).join('\n')}`,
      )
    // A one-liner with a fence in it would be an example the extractor misread.
    expect(oneLiners.filter((o) => o.text.includes('```'))).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// The runner itself: each of its checks must be able to fail.

const synthetic = (code: string): Example => ({
  file: 'synthetic.ts',
  owner: 'synthetic',
  line: 1,
  code,
  problem: undefined,
})
const entry = "import { showTyped, relu, evaluate } from 'neural-circuit-diagrams'\n"

describe('the example runner', () => {
  it('catches a wrong expected value, and passes the right one', async () => {
    const wrong = await runExample(
      synthetic(`${entry}showTyped(relu('k')) // 'relu[k] : [k] -> [j]'`),
    )
    expect(wrong.checks).toBe(1)
    expect(wrong.failures).toHaveLength(1)
    expect(wrong.failures[0]).toContain('synthetic.ts:2')
    const right = await runExample(
      synthetic(`${entry}showTyped(relu('k')) // 'relu[k] : [k] -> [k]'`),
    )
    expect(right).toEqual({ checks: 1, failures: [], sideEffectsOnly: false, importsEntry: true })
  })

  it('reads an expectation alone on the line after a multi-line expression', async () => {
    const code = `${entry}showTyped(\n  relu('k'),\n)\n// 'relu[k] : [k] -> [j]'\n`
    const out = await runExample(synthetic(code))
    expect(out.checks).toBe(1)
    expect(out.failures).toHaveLength(1)
    const ok = await runExample(synthetic(code.replace('[j]', '[k]')))
    expect(ok.failures).toEqual([])
  })

  it('compares Float64Arrays element-wise within 1e-12, and only Float64Arrays', async () => {
    const run = async (line: string): Promise<number> =>
      (await runExample(synthetic(`${entry}${line}`))).failures.length
    expect(await run('new Float64Array([1 + 1e-14, 2]) // Float64Array [1, 2]')).toBe(0)
    expect(await run('new Float64Array([1.001, 2]) // Float64Array [1, 2]')).toBe(1)
    expect(await run('new Float64Array([1]) // Float64Array [1, 2]')).toBe(1)
    expect(await run('[1, 2] // Float64Array [1, 2]')).toBe(1)
    expect(await run("evaluate(relu(['k']), { k: 2 }, [[-1, 3]])[0] // Float64Array [0, 3]")).toBe(
      0,
    )
  })

  it('runs try/catch as written, and fails a check that is never reached', async () => {
    const caught =
      "try {\n  throw new Error('boom')\n} catch (e) {\n  ;(e as Error).message // 'boom'\n}"
    expect((await runExample(synthetic(caught))).failures).toEqual([])
    const never = "try {\n  1\n} catch (e) {\n  ;(e as Error).message // 'boom'\n}"
    const out = await runExample(synthetic(never))
    expect(out.failures).toEqual([expect.stringContaining('never reached')])
  })

  it('fails an example that throws, or imports what the entry lacks', async () => {
    expect((await runExample(synthetic(`${entry}relu(42 as never) // 1`))).failures).toEqual([
      expect.stringContaining('the example throws'),
      expect.stringContaining('never reached'),
    ])
    const missing = "import { noSuchExport } from 'neural-circuit-diagrams'\nnoSuchExport // 1"
    expect((await runExample(synthetic(missing))).failures).toEqual([
      expect.stringContaining('does not export noSuchExport'),
    ])
    const relative = "import { show } from '../src/index.js'\nshow // 1"
    expect((await runExample(synthetic(relative))).failures).toEqual([
      expect.stringContaining('does not provide'),
    ])
  })

  it('fails an expectation that would check nothing, and an example without checks', async () => {
    const decl = await runExample(synthetic('const x = 1 // 2'))
    expect(decl.failures).toEqual([
      expect.stringContaining('follows a declaration'),
      expect.stringContaining('checks nothing'),
    ])
    const loose = await runExample(synthetic('1 // 1\n// prose\n// 2'))
    expect(loose.failures).toEqual([expect.stringContaining('follows no statement')])
    const none = await runExample(synthetic('const x = 1 // E.right(x), structurally'))
    expect(none.failures).toEqual([expect.stringContaining('checks nothing')])
    const marked = await runExample(synthetic('// side effects only\nconst x = [1]\nx.push(2)'))
    expect(marked).toEqual({ checks: 0, failures: [], sideEffectsOnly: true, importsEntry: false })
  })

  it('reads literals as expectations, and anything else as prose', () => {
    const value = (c: string): unknown => {
      const e = parseExpectation(c)
      return e?.kind === 'value' ? e.value : e
    }
    expect(value("// 'nonlinear' (affine: the bias)")).toBe('nonlinear')
    expect(value('// "a b"')).toBe('a b')
    expect(value('// -0.5')).toBe(-0.5)
    expect(value('// 4')).toBe(4)
    expect(value('// true')).toBe(true)
    expect(value('// undefined')).toBeUndefined()
    expect(value("// [['y', 'k'], ['x', 'k']]")).toEqual([
      ['y', 'k'],
      ['x', 'k'],
    ])
    expect(value("// { kind: 'var', name: 'y', size: 7 }")).toEqual({
      kind: 'var',
      name: 'y',
      size: 7,
    })
    expect(parseExpectation('// Float64Array [1.5, -2]')).toMatchObject({
      kind: 'float64',
      values: [1.5, -2],
    })
    expect(parseExpectation('// undefined')).toBeDefined()
    for (const prose of [
      '// E.right(f), structurally',
      '// Fig. 10: a row of a [a b] table.',
      '// [y k] -> [y k]',
      "// 'unterminated",
      "// 'a'.length",
      '// x = 5, k = 3',
    ])
      expect(parseExpectation(prose), prose).toBeUndefined()
  })

  it('extracts fenced examples and one-liners from doc comments', () => {
    const text = [
      '/**',
      ' * Summary.',
      ' *',
      ' * @example',
      ' * ```ts',
      " * f() // 'a'",
      ' *   g()',
      ' * ```',
      ' */',
      'export const f = () => 1',
      '/** One. @example `g()` : [k] -> [k] */',
      'export function g() {}',
    ].join('\n')
    const { examples: exs, oneLiners: ones } = examplesInFile('x.ts', text)
    expect(exs).toEqual([
      { file: 'x.ts', owner: 'f', line: 6, code: "f() // 'a'\n  g()", problem: undefined },
    ])
    expect(ones).toEqual([{ file: 'x.ts', owner: 'g', line: 11, text: '`g()` : [k] -> [k]' }])
  })
})

// ---------------------------------------------------------------------------------------------
// Which exports have docs

interface ExportDoc {
  readonly name: string
  readonly file: string
  readonly isValue: boolean
  readonly summary: string
  readonly hasExample: boolean
  readonly internal: boolean
}

const exportDocs = (): ExportDoc[] => {
  const index = path.join(srcDir, 'index.ts')
  const program = ts.createProgram([index], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  })
  const checker = program.getTypeChecker()
  const sf = program.getSourceFile(index)
  const moduleSymbol = sf === undefined ? undefined : checker.getSymbolAtLocation(sf)
  if (moduleSymbol === undefined) throw new Error('src/index.ts is not a module')
  return checker.getExportsOfModule(moduleSymbol).map((sym) => {
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym
    const decl = target.declarations?.[0]
    const tags = target.getJsDocTags(checker).map((t) => t.name)
    return {
      name: sym.name,
      file: decl === undefined ? '?' : relative(decl.getSourceFile().fileName),
      isValue: (target.flags & ts.SymbolFlags.Value) !== 0,
      summary: ts.displayPartsToString(target.getDocumentationComment(checker)).trim(),
      hasExample: tags.includes('example'),
      internal: tags.includes('internal'),
    }
  })
}

describe('the docs of the exports of src/index.ts', () => {
  const docs = exportDocs()

  it('every export of src/core, src/linear and src/eval has at least a summary', () => {
    expect(docs.length).toBeGreaterThan(50)
    const undocumented = docs
      .filter((d) => /^src\/(core|linear|eval)\//.test(d.file))
      .filter((d) => d.summary === '' && !d.hasExample)
      .map((d) => `${d.file}: ${d.name}`)
    expect(undocumented).toEqual([])
  })

  it('lists the exported functions and constants without an @example (informational)', () => {
    const missing = docs.filter((d) => d.isValue && !d.hasExample && !d.internal)
    console.info(
      `${missing.length} of ${docs.filter((d) => d.isValue).length} exported values have no @example:\n` +
        missing.map((d) => `  ${d.file}: ${d.name}`).join('\n'),
    )
    // The listing is computed from real docs: `show` has an example, so it is not listed.
    expect(docs.find((d) => d.name === 'show')?.hasExample).toBe(true)
    expect(missing.map((d) => d.name)).not.toContain('show')
  })
})
