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

/** The kernels: the text's file name under src/eval/wasm, without `.wat`. */
export const WASM_KERNELS = ['gemm'] as const

const dir = new URL('../src/eval/wasm/', import.meta.url)

/** The binary of one kernel, compiled from its text (SIMD enabled, no names section). */
export const compileWat = async (name: string): Promise<Uint8Array> => {
  const wabt = await wabtInit()
  const file = new URL(`${name}.wat`, dir)
  const mod = wabt.parseWat(`${name}.wat`, readFileSync(file, 'utf8'), { simd: true })
  try {
    mod.validate()
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
    ` * The binary of \`${name}.wat\` (${bytes.length} bytes, base64), written by \`npm run build:wasm\``,
    ` * (scripts/build-wasm.ts) from the text beside it: do not edit.`,
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
