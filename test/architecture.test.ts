/**
 * The folder graph of `src` (DESIGN.md section 1: dependencies point one way; README,
 * "Architecture"). Every module of `src` is parsed with the TypeScript compiler and each of its
 * module references is read: `import ... from`, `import type ... from` (a type-only import
 * couples two folders' designs as much as a value import: changing the type changes both, and
 * the declaration files reference it), `export ... from`, side-effect imports, `import('...')`
 * and `typeof import('...')`, and `require('...')`. A relative reference from `src/A/...` to
 * `src/B/...` is an edge A -> B of the folder graph (subfolders such as `src/rewrite/egraph`
 * belong to their top folder). Asserted:
 *
 * - `src` references nothing outside `src` (not `laws`, `proofs`, `test`, `bench`), and no
 *   folder imports the entry points beside the folders (`src/index.ts`);
 * - the folder graph has no cycle;
 * - the README's Architecture list names every folder of `src`, and each folder imports only
 *   folders listed before it.
 *
 * A failure names each offending edge with the file, line and specifier that make it.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const srcDir = path.join(root, 'src')

/** One module reference in a source file: its specifier and the line it is on (1-based). */
interface Reference {
  readonly specifier: string
  readonly line: number
}

/** Every module reference of a TypeScript source, value and type-only alike. */
const referencesOf = (fileName: string, text: string): Reference[] => {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true)
  const out: Reference[] = []
  const add = (node: ts.Node | undefined) => {
    if (node !== undefined && ts.isStringLiteralLike(node))
      out.push({
        specifier: node.text,
        line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1,
      })
  }
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier)
    else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference)
    )
      add(node.moduleReference.expression)
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument))
      add(node.argument.literal)
    else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
    )
      add(node.arguments[0])
    ts.forEachChild(node, visit)
  }
  visit(source)
  return out
}

/** The TypeScript files under a directory, as paths relative to the repository root. */
const sourcesUnder = (dir: string): string[] =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? sourcesUnder(path.join(dir, e.name))
        : e.name.endsWith('.ts')
          ? [path.relative(root, path.join(dir, e.name))]
          : [],
    )
    .sort()

/** An import of one folder by another, with the reference that makes it. */
interface Edge {
  readonly from: string
  readonly to: string
  readonly file: string
  readonly line: number
  readonly specifier: string
}

const showEdge = (e: Edge): string =>
  `${e.from} -> ${e.to}: ${e.file}:${e.line} imports '${e.specifier}'`

/** The top folder of `src` a repository path is in, or undefined for a file beside them. */
const folderOf = (file: string): string | undefined => {
  const parts = path.relative('src', file).split(path.sep)
  return parts.length > 1 ? parts[0] : undefined
}

/** What the relative references of `src` point at. */
interface Scan {
  /** Folder to folder, one entry per reference (so every witness of an edge is kept). */
  readonly edges: ReadonlyArray<Edge>
  /** References from `src` to a file outside it, or from a folder to a file beside the folders. */
  readonly strays: ReadonlyArray<string>
  readonly folders: ReadonlyArray<string>
}

const scan = (): Scan => {
  const edges: Edge[] = []
  const strays: string[] = []
  const files = sourcesUnder(srcDir)
  for (const file of files) {
    const from = folderOf(file)
    for (const { specifier, line } of referencesOf(
      file,
      fs.readFileSync(path.join(root, file), 'utf8'),
    )) {
      if (!specifier.startsWith('.')) continue
      const target = path.relative(root, path.resolve(root, path.dirname(file), specifier))
      const where = `${file}:${line} imports '${specifier}'`
      if (target.startsWith('..') || path.relative('src', target).startsWith('..'))
        strays.push(`${where}, outside src`)
      else {
        const to = folderOf(target)
        if (to === undefined) {
          if (from !== undefined) strays.push(`${where}, an entry point beside the folders`)
        } else if (from !== undefined && to !== from)
          edges.push({ from, to, file, line, specifier })
      }
    }
  }
  const folders = [...new Set(files.map(folderOf).filter((f) => f !== undefined))].sort()
  return { edges, strays, folders }
}

/** The first witness of each folder edge, by `from -> to`. */
const firstEdges = (edges: ReadonlyArray<Edge>): Map<string, Edge> => {
  const first = new Map<string, Edge>()
  for (const e of edges)
    if (!first.has(`${e.from} -> ${e.to}`)) first.set(`${e.from} -> ${e.to}`, e)
  return first
}

/**
 * The cycles of the folder graph, each shown with one witness per edge: for every edge a -> b
 * inside a strongly connected component, the shortest way back from b to a closes a cycle
 * (rotations of one cycle are shown once). Empty exactly when the graph is acyclic.
 */
const cyclesOf = (edges: ReadonlyArray<Edge>): string[] => {
  const first = firstEdges(edges)
  const next = new Map<string, string[]>()
  for (const e of first.values()) next.set(e.from, [...(next.get(e.from) ?? []), e.to].sort())
  /** The shortest path from `a` to `b` (both included), by breadth-first search. */
  const shortestPath = (a: string, b: string): string[] | undefined => {
    const parent = new Map<string, string>([[a, a]])
    const queue = [a]
    while (queue.length > 0) {
      const v = queue.shift() as string
      if (v === b) {
        const way = [b]
        while (way[0] !== a) way.unshift(parent.get(way[0] as string) as string)
        return way
      }
      for (const w of next.get(v) ?? [])
        if (!parent.has(w)) {
          parent.set(w, v)
          queue.push(w)
        }
    }
    return undefined
  }
  const seen = new Set<string>()
  const out: string[] = []
  for (const e of first.values()) {
    const back = shortestPath(e.to, e.from)
    if (back === undefined) continue
    const cycle = [e.from, ...back] // from, to, ..., from
    const ring = cycle.slice(0, -1)
    const start = ring.indexOf([...ring].sort()[0] as string)
    const canonical = [...ring.slice(start), ...ring.slice(0, start)]
    const key = canonical.join(' ')
    if (seen.has(key)) continue
    seen.add(key)
    const steps = canonical.map(
      (f, i) => first.get(`${f} -> ${canonical[(i + 1) % canonical.length]}`) as Edge,
    )
    out.push(
      [
        `cycle ${[...canonical, canonical[0]].join(' -> ')}`,
        ...steps.map((s) => `  ${showEdge(s)}`),
      ].join('\n'),
    )
  }
  return out.sort()
}

/** The top folders of `src` in the order of the README's Architecture list (first mention). */
const readmeOrder = (): string[] => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
  const start = readme.indexOf('\n## Architecture\n')
  expect(start, 'README.md has a section "## Architecture"').toBeGreaterThanOrEqual(0)
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end < 0 ? undefined : end)
  const order: string[] = []
  for (const m of section.matchAll(/^- `src\/([^`/]+)/gm))
    if (!order.includes(m[1] as string)) order.push(m[1] as string)
  return order
}

describe('the folder graph of src', () => {
  const { edges, strays, folders } = scan()

  it('reads every kind of module reference, type-only ones included', () => {
    const text = [
      "import { a } from '../one/a.js'",
      "import type { B } from '../two/b.js'",
      "import {\n  type C,\n  c,\n} from '../three/c.js'",
      "import '../four/side-effect.js'",
      "export { d } from '../five/d.js'",
      "export type { E } from '../six/e.js'",
      "export * from '../seven/f.js'",
      "import g = require('../eight/g.js')",
      "const h = await import('../nine/h.js')",
      "type I = typeof import('../ten/i.js')",
      "const j = require('../eleven/j.js')",
      "// import { k } from '../comment/k.js'",
      'const l = "import { l } from \'../string/l.js\'"',
    ].join('\n')
    expect(referencesOf('probe.ts', text)).toEqual([
      { specifier: '../one/a.js', line: 1 },
      { specifier: '../two/b.js', line: 2 },
      { specifier: '../three/c.js', line: 6 },
      { specifier: '../four/side-effect.js', line: 7 },
      { specifier: '../five/d.js', line: 8 },
      { specifier: '../six/e.js', line: 9 },
      { specifier: '../seven/f.js', line: 10 },
      { specifier: '../eight/g.js', line: 11 },
      { specifier: '../nine/h.js', line: 12 },
      { specifier: '../ten/i.js', line: 13 },
      { specifier: '../eleven/j.js', line: 14 },
    ])
  })

  it('finds the imports of the real tree (the scan is not vacuous)', () => {
    const importers = new Set(edges.map((e) => e.from))
    // Every folder but the bottom one imports another; the command imports the most.
    expect(folders.filter((f) => !importers.has(f))).toEqual(['core'])
    expect(edges.some((e) => e.from === 'cli' && e.to === 'core')).toBe(true)
    expect(edges.length).toBeGreaterThan(100)
  })

  it('src references nothing outside src, and no folder imports the entry points', () => {
    expect(strays).toEqual([])
  })

  it('has no cycle', () => {
    expect(cyclesOf(edges)).toEqual([])
  })

  it("is ordered by the README's Architecture list: each folder imports only folders before it", () => {
    const order = readmeOrder()
    expect(
      folders.filter((f) => !order.includes(f)),
      'folders of src missing from the README list',
    ).toEqual([])
    expect(
      order.filter((f) => !folders.includes(f)),
      'folders in the README list that src does not have',
    ).toEqual([])
    const place = (f: string) => order.indexOf(f) + 1
    const upward = edges.filter((e) => place(e.to) >= place(e.from))
    const shown = [...firstEdges(upward).values()].map((e) => {
      const more = upward.filter((u) => u.from === e.from && u.to === e.to).length - 1
      return `${showEdge(e)}${more > 0 ? ` (and ${more} more)` : ''}, but src/${e.to} is item ${place(e.to)} of the list and src/${e.from} item ${place(e.from)}`
    })
    expect(shown).toEqual([])
  })
})
