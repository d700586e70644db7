/**
 * Compile the WebAssembly kernels from their text (`src/eval/wasm/*.wat`) with wabt, and write
 * each binary as a TypeScript module (`src/eval/wasm/<name>-binary.ts`, base64) that the evaluator
 * instantiates synchronously, so the package needs no file access or bundler support for `.wasm`.
 *
 * Run: `npm run build:wasm` after editing a `.wat`. test/wasm-kernel.test.ts regenerates the
 * modules from the text and fails if they differ from the committed ones, so the binary cannot
 * drift from its source.
 *
 * @packageDocumentation
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { format, resolveConfig } from 'prettier'
import wabtInit from 'wabt'

/**
 * The kernels: `gemm` from `gemm.wat`, and `gemm-shared`, the same text with its memory imported
 * as a shared memory (for two threads, src/eval/wasm/gemm.ts).
 */
export const WASM_KERNELS = ['gemm', 'gemm-shared'] as const

const dir = new URL('../src/eval/wasm/', import.meta.url)

const OWN_MEMORY = '(memory (export "memory") 1)'
const SHARED_MEMORY = '(import "env" "memory" (memory 1 32768 shared))'

/** The text of a kernel. */
const textOf = (name: string): string => {
  const shared = name.endsWith('-shared')
  const text = readFileSync(new URL(`${shared ? name.slice(0, -7) : name}.wat`, dir), 'utf8')
  if (!shared) return text
  if (!text.includes(OWN_MEMORY)) throw new Error(`build:wasm: ${name}: no line ${OWN_MEMORY}`)
  return text.replace(OWN_MEMORY, SHARED_MEMORY)
}

/** The binary of one kernel, compiled from its text (SIMD enabled, no names section). */
export const compileWat = async (name: string): Promise<Uint8Array> => {
  const wabt = await wabtInit()
  const features = { simd: true, threads: true }
  const mod = wabt.parseWat(`${name}.wat`, textOf(name), features)
  try {
    // The typings omit validate's features argument (wabt.js reads it, as parseWat does).
    const checked = mod as unknown as { validate(features: object): void }
    checked.validate(features)
    return mod.toBinary({ log: false, write_debug_names: false }).buffer
  } finally {
    mod.destroy()
  }
}

/** The TypeScript module holding a kernel's binary, formatted as the repository formats code. */
export const binaryModule = async (name: string): Promise<{ file: string; text: string }> => {
  const bytes = await compileWat(name)
  const file = fileURLToPath(new URL(`${name}-binary.ts`, dir))
  const text = [
    `/**`,
    ` * The binary of \`${name}\` (${bytes.length} bytes, base64), written by \`npm run build:wasm\``,
    ` * (scripts/build-wasm.ts) from the text beside it (\`gemm.wat\`): do not edit.`,
    ` *`,
    ` * @packageDocumentation`,
    ` * @internal`,
    ` */`,
    `export const WASM_BASE64 =`,
    `  '${Buffer.from(bytes).toString('base64')}'`,
    ``,
  ].join('\n')
  const options = (await resolveConfig(file)) ?? {}
  return { file, text: await format(text, { ...options, filepath: file }) }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const name of WASM_KERNELS) {
    const { file, text } = await binaryModule(name)
    writeFileSync(file, text)
    process.stderr.write(`build:wasm: wrote ${file}\n`)
  }
}
