/**
 * The WebAssembly matrix product (issue 12, section 3): the batched products of the einsum
 * kernel (src/eval/contract.ts) run in `gemm.wat`, a cache-blocked kernel with 128-bit SIMD,
 * when they are large enough to repay copying the operands into the module's memory.
 *
 * Its sums are the plain TypeScript kernel's, term by term in the same order (see the header of
 * `gemm.wat`), so switching kernels changes no evaluated number; test/wasm-kernel.test.ts checks
 * that bit for bit on random shapes that cross every edge of the blocking. Where WebAssembly or
 * its SIMD is missing, or a product is too small or too large, the TypeScript kernel runs.
 *
 * Memory: the operands of a run of batches (at most {@link CHUNK_ENTRIES} entries, or one batch)
 * are copied into the module's memory, multiplied, and the result copied out. A module whose
 * memory grew past {@link RETAINED_BYTES} is dropped after the call, so a large contraction does
 * not keep its copy alive.
 *
 * @packageDocumentation
 * @internal
 */
import { WASM_BASE64 } from './gemm-binary.js'
import { WASM_BASE64 as SHARED_BASE64 } from './gemm-shared-binary.js'

/** Which kernel runs the batched products: by size (default), always TypeScript, always wasm. */
export type MatmulKernel = 'auto' | 'typescript' | 'wasm'

let choice: MatmulKernel = 'auto'

/** The kernel choice of the batched products ({@link setMatmulKernel}). @internal */
export const matmulKernel = (): MatmulKernel => choice

/**
 * Choose the kernel of the batched products, returning the previous choice (tests and
 * benchmarks: `'wasm'` runs every product in WebAssembly when it is available, however small).
 * @internal
 */
export const setMatmulKernel = (kernel: MatmulKernel): MatmulKernel => {
  const old = choice
  choice = kernel
  return old
}

/**
 * Below this many multiply-adds per batch (`m k n`) the TypeScript kernel runs under `'auto'`,
 * where the copies in and out cost more than the faster loop saves: m k n about 1000 for the
 * dot-product kernel (summed axes last), about 200 for the rank-one-update kernel (summed axes
 * first), measured by `npm run bench` (its crossover table in bench/results.md).
 */
export const WASM_MIN_WORK = 1024

/** {@link WASM_MIN_WORK} where the TypeScript kernel would sum with the summed axes first. */
export const WASM_MIN_WORK_INNER_FIRST = 256

/** The most entries (A, B and C of a run of batches) copied into the module at once. */
export const CHUNK_ENTRIES = 2 ** 15

/** A batch whose A, B and C hold more entries than this stays in TypeScript. */
export const MAX_BATCH_ENTRIES = 2 ** 24

/** A module whose memory grew past this is dropped after the call. */
export const RETAINED_BYTES = 64 * 2 ** 20

interface GemmExports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number }
  readonly gemm: (
    m0: number,
    m: number,
    n: number,
    k: number,
    a: number,
    ad: number,
    b: number,
    bd: number,
    c: number,
    pa: number,
    pb: number,
    tile: number,
  ) => void
  readonly MR: { readonly value: number }
  readonly NR: { readonly value: number }
  readonly KC: { readonly value: number }
  readonly MC: { readonly value: number }
  readonly NC: { readonly value: number }
}

/** The part of the WebAssembly API used here (the project's lib has no DOM types). */
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown }
  readonly Memory: new (descriptor: {
    initial: number
    maximum: number
    shared: boolean
  }) => GemmExports['memory']
}

const PAGE = 65536

/**
 * The constructor of the views of the module's memory, taken when this module loads: a view
 * allocates nothing, and code that counts allocations by wrapping the global constructor (the
 * cost model's test, bench/run.ts) sees only the evaluator's own tensors.
 */
const View = Float64Array
const Words = Int32Array

/** The compiled module: undefined until first needed, null when this runtime cannot run it. */
let compiled: object | null | undefined
let live:
  | {
      exports: GemmExports
      tile: number
      ad: number
      bd: number
      pa: number
      pb: number
      base: number
      heap: Float64Array
      words: Int32Array
    }
  | undefined

const api = (): WasmApi | undefined => (globalThis as { WebAssembly?: WasmApi }).WebAssembly

const decode = (text: string): Uint8Array => {
  const raw = atob(text)
  const bytes = new Uint8Array(raw.length)
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i)
  return bytes
}

/** The module instance, made on first use; undefined when WebAssembly SIMD is unavailable. */
const instance = (): typeof live => {
  if (live !== undefined) return live
  const wasm = api()
  if (compiled === undefined) {
    try {
      compiled = wasm === undefined ? null : new wasm.Module(decode(WASM_BASE64))
    } catch {
      // No SIMD (an old engine): the TypeScript kernel serves.
      compiled = null
    }
  }
  if (compiled === null || wasm === undefined) return undefined
  const exports = new wasm.Instance(compiled, {}).exports as GemmExports
  const MR = exports.MR.value
  const NR = exports.NR.value
  const KC = exports.KC.value
  const MC = exports.MC.value
  const NC = exports.NC.value
  const tile = 0
  // The two operands' descriptors (six i32 each) after the tile, then the packing buffers.
  const ad = 8 * MR * NR
  const bd = ad + 32
  const pa = 16 * Math.ceil((bd + 32) / 16)
  const pb = pa + 8 * MC * KC
  const base = pb + 8 * KC * NC
  live = {
    exports,
    tile,
    ad,
    bd,
    pa,
    pb,
    base,
    heap: new View(exports.memory.buffer),
    words: new Words(exports.memory.buffer),
  }
  return live
}

/** Whether the WebAssembly kernel can run here (false on an engine without WebAssembly SIMD). */
export const wasmAvailable = (): boolean => instance() !== undefined

/**
 * Whether {@link wasmBatchedMatmul} can run a batched product of these extents here: the
 * kernel's choice is not `'typescript'`, the extents are not empty, a batch's operands fit in
 * {@link MAX_BATCH_ENTRIES}, and WebAssembly SIMD is available.
 */
const usable = (batch: number, m: number, k: number, n: number): boolean =>
  choice !== 'typescript' &&
  batch > 0 &&
  m > 0 &&
  n > 0 &&
  k > 0 &&
  m * k + k * n + m * n <= MAX_BATCH_ENTRIES &&
  instance() !== undefined

/**
 * The most lines of A or B (`m` or `n`) of a product left to TypeScript under `'auto'` however
 * large it is: a matrix times one or two vectors reads each matrix entry once or twice, so it is
 * bound by memory, and copying the matrix into the module's memory (and packing it) costs more
 * than the faster loop saves. The same holds of an outer product (one summed step, `k = 1`).
 * Measured on 512 x 1024 float64 matrices (one vector: 0.4-0.7 ms in TypeScript against 1.0 ms;
 * the transposed product 0.65 against 2.4 ms; two vectors 0.86 against 1.19 ms; four about even).
 */
export const WASM_MAX_THIN = 2

/**
 * Whether a batched product of these extents (`m k n` multiply-adds per batch), which the
 * TypeScript kernel would run with the summed axes first (`innerFirst`) or last, goes to
 * {@link wasmBatchedMatmul}: it can run here, and under `'auto'` it is large enough to repay the
 * copies ({@link WASM_MIN_WORK}) and not a product bound by memory ({@link WASM_MAX_THIN}).
 */
export const wasmWanted = (
  batch: number,
  m: number,
  k: number,
  n: number,
  innerFirst: boolean,
): boolean => {
  const least = innerFirst ? WASM_MIN_WORK_INNER_FIRST : WASM_MIN_WORK
  if (choice === 'auto' && (m * k * n < least || Math.min(m, n) <= WASM_MAX_THIN || k === 1))
    return false
  return usable(batch, m, k, n)
}

/**
 * Where an operand's entry (line, step) lies, in entries from the start of its batch: the line
 * index i = i1 n0 + i0 at i1 s1 + i0 s0 (`lines` = [s1, s0, n0]), the step (summed) index
 * p = p1 k0 + p0 at p1 t1 + p0 t0 (`steps` = [t1, t0, k0]). Lines are A's rows or B's columns.
 */
export interface OperandView {
  readonly lines: readonly [number, number, number]
  readonly steps: readonly [number, number, number]
}

/** The view of a dense `[lines, steps]` operand, or `[steps, lines]` when `stepsFirst`. */
export const denseView = (lines: number, steps: number, stepsFirst: boolean): OperandView =>
  stepsFirst
    ? { lines: [0, 1, lines], steps: [0, lines, steps] }
    : { lines: [0, steps, lines], steps: [0, 1, steps] }

/**
 * The batched product `C[t, i, j] = Σ_p A(t, i, p) B(t, p, j)` into a fresh `C[t, i, j]` from
 * `alloc`, in WebAssembly. Batch t of A is its `t`-th slice of `m k` entries, read through
 * `aView` (lines i, steps p); likewise B's slices of `k n` entries through `bView` (lines j,
 * steps p). Undefined when the TypeScript kernel should run it (the kernel's choice, the sizes,
 * no WebAssembly SIMD, or a memory that cannot grow).
 */
export const wasmBatchedMatmul = (
  a: Float64Array,
  aView: OperandView,
  b: Float64Array,
  bView: OperandView,
  batch: number,
  m: number,
  k: number,
  n: number,
  alloc: (entries: number, what: string) => Float64Array,
): Float64Array | undefined => {
  if (!usable(batch, m, k, n)) return undefined
  if (threads !== undefined && useThreads)
    return threadedMatmul(threads, a, aView, b, bView, batch, m, k, n, alloc)
  const per = m * k + k * n + m * n
  const mod = instance()
  if (mod === undefined) return undefined
  const chunk = Math.max(1, Math.min(batch, Math.floor(CHUNK_ENTRIES / per)))
  const needed = mod.base + 8 * chunk * per
  const memory = mod.exports.memory
  if (memory.buffer.byteLength < needed) {
    try {
      memory.grow(Math.ceil((needed - memory.buffer.byteLength) / PAGE))
    } catch {
      return undefined
    }
  }
  const c = alloc(batch * m * n, 'a contraction result')
  // The view of the module's memory, made again after the memory grew (which detaches it).
  if (mod.heap.length * 8 !== memory.buffer.byteLength) {
    mod.heap = new View(memory.buffer)
    mod.words = new Words(memory.buffer)
  }
  const heap = mod.heap
  const words = mod.words
  const [as1, as0, an0] = aView.lines
  const [at1, at0, ak0] = aView.steps
  const [bs1, bs0, bn0] = bView.lines
  const [bt1, bt0, bk0] = bView.steps
  const ad = mod.ad / 4
  const bd = mod.bd / 4
  words[ad] = as1
  words[ad + 1] = as0
  words[ad + 2] = an0
  words[ad + 3] = at1
  words[ad + 4] = at0
  words[ad + 5] = ak0
  words[bd] = bs1
  words[bd + 1] = bs0
  words[bd + 2] = bn0
  words[bd + 3] = bt1
  words[bd + 4] = bt0
  words[bd + 5] = bk0
  const aAt = mod.base
  const bAt = aAt + 8 * chunk * m * k
  const cAt = bAt + 8 * chunk * k * n
  const gemm = mod.exports.gemm
  for (let t0 = 0; t0 < batch; t0 += chunk) {
    const t1 = Math.min(batch, t0 + chunk)
    heap.set(a.subarray(t0 * m * k, t1 * m * k), aAt / 8)
    heap.set(b.subarray(t0 * k * n, t1 * k * n), bAt / 8)
    for (let t = 0; t < t1 - t0; t++)
      gemm(
        0,
        m,
        n,
        k,
        aAt + 8 * t * m * k,
        mod.ad,
        bAt + 8 * t * k * n,
        mod.bd,
        cAt + 8 * t * m * n,
        mod.pa,
        mod.pb,
        mod.tile,
      )
    c.set(heap.subarray(cAt / 8, cAt / 8 + (t1 - t0) * m * n), t0 * m * n)
  }
  if (memory.buffer.byteLength > RETAINED_BYTES) live = undefined
  return c
}

// ---------------------------------------------------------------------------------------------
// Two threads (issue 12, section 3, optional): off unless startMatmulThreads is called.

/**
 * The worker: the shared module on the same memory, waiting on the control words (`ctrl`, i32):
 * 0 the job's number, 1 the last job done, 3-18 the job (rows m0..m1 of `count` batches).
 */
const WORKER = String.raw`
import('node:worker_threads').then(({ parentPort, workerData }) => {
  const { module, memory } = workerData
  const { gemm } = new WebAssembly.Instance(module, { env: { memory } }).exports
  const ctrl = new Int32Array(memory.buffer, 0, 32)
  // The job number read before saying ready, so that a job posted at once is not missed.
  let seen = Atomics.load(ctrl, 0)
  parentPort.postMessage('ready')
  for (;;) {
    Atomics.wait(ctrl, 0, seen)
    seen = Atomics.load(ctrl, 0)
    const [m0, m1, n, k, a, ad, b, bd, c, pa, pb, tile, count, sa, sb, sc] = ctrl.subarray(3, 19)
    for (let t = 0; t < count; t++)
      gemm(m0, m1, n, k, a + t * sa, ad, b + t * sb, bd, c + t * sc, pa, pb, tile)
    Atomics.store(ctrl, 1, seen)
    Atomics.notify(ctrl, 1)
  }
})
`

interface Scratch {
  readonly tile: number
  readonly pa: number
  readonly pb: number
}

interface Threads {
  readonly memory: GemmExports['memory']
  readonly gemm: GemmExports['gemm']
  readonly ctrl: Int32Array
  readonly main: Scratch
  readonly other: Scratch
  readonly ad: number
  readonly bd: number
  readonly base: number
  readonly MR: number
  heap: Float64Array
  words: Int32Array
  failed: unknown
  readonly stop: () => Promise<void>
}

let threads: Threads | undefined
let useThreads = false

/** A run of batches copied at once with two threads (one handshake per run). */
const THREAD_CHUNK_ENTRIES = 2 ** 21

/**
 * Start a second thread for the products (Node's worker_threads, the shared-memory build of the
 * kernel, `gemm-shared`), and use it: batches are split between the two threads, or a single
 * batch's rows. Resolves to false where there are no worker threads or shared WebAssembly
 * memory. The numbers are the same bit for bit (each entry is still one thread's sum in the
 * order of p). @internal
 */
export const startMatmulThreads = async (): Promise<boolean> => {
  if (threads !== undefined) {
    useThreads = true
    return true
  }
  const wasm = api()
  if (wasm === undefined || instance() === undefined) return false
  let Worker: typeof import('node:worker_threads').Worker
  try {
    ;({ Worker } = await import('node:worker_threads'))
  } catch {
    return false
  }
  const module = new wasm.Module(decode(SHARED_BASE64))
  const probe = instance()?.exports as GemmExports
  const [MR, NR, KC, MC, NC] = [probe.MR, probe.NR, probe.KC, probe.MC, probe.NC].map(
    (g) => g.value,
  ) as [number, number, number, number, number]
  // Control words, then the descriptors, then each thread's tile and packing buffers.
  const ad = 128
  const bd = ad + 32
  const scratch = (at: number): Scratch => {
    const pa = 16 * Math.ceil((at + 8 * MR * NR) / 16)
    return { tile: at, pa, pb: pa + 8 * MC * KC }
  }
  const main = scratch(256)
  const other = scratch(main.pb + 8 * KC * NC)
  const base = other.pb + 8 * KC * NC
  let memory: GemmExports['memory']
  try {
    memory = new wasm.Memory({ initial: Math.ceil(base / PAGE) + 1, maximum: 32768, shared: true })
  } catch {
    return false
  }
  const exports = new wasm.Instance(module, { env: { memory } }).exports as GemmExports
  // The worker's code reads as a script or as a module (dynamic import only); no loader flags.
  const worker = new Worker(WORKER, { eval: true, execArgv: [], workerData: { module, memory } })
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve())
    worker.once('error', reject)
  })
  worker.unref()
  const state: Threads = {
    memory,
    gemm: exports.gemm,
    ctrl: new Int32Array(memory.buffer, 0, 32),
    main,
    other,
    ad,
    bd,
    base,
    MR,
    heap: new View(memory.buffer),
    words: new Words(memory.buffer),
    failed: undefined,
    stop: async () => {
      await worker.terminate()
    },
  }
  worker.on('error', (e) => (state.failed = e))
  threads = state
  useThreads = true
  return true
}

/** Use the second thread (when started) or not, returning the previous setting. @internal */
export const setMatmulThreads = (count: 1 | 2): 1 | 2 => {
  const old = useThreads ? 2 : 1
  useThreads = count === 2 && threads !== undefined
  return old
}

/** Stop the second thread. @internal */
export const stopMatmulThreads = async (): Promise<void> => {
  const t = threads
  threads = undefined
  useThreads = false
  await t?.stop()
}

const threadedMatmul = (
  T: Threads,
  a: Float64Array,
  aView: OperandView,
  b: Float64Array,
  bView: OperandView,
  batch: number,
  m: number,
  k: number,
  n: number,
  alloc: (entries: number, what: string) => Float64Array,
): Float64Array | undefined => {
  const per = m * k + k * n + m * n
  const chunk = Math.max(1, Math.min(batch, Math.floor(THREAD_CHUNK_ENTRIES / per)))
  const needed = T.base + 8 * chunk * per
  const memory = T.memory
  if (memory.buffer.byteLength < needed) {
    try {
      memory.grow(Math.ceil((needed - memory.buffer.byteLength) / PAGE))
    } catch {
      return undefined
    }
  }
  const c = alloc(batch * m * n, 'a contraction result')
  if (T.heap.length * 8 !== memory.buffer.byteLength) {
    T.heap = new View(memory.buffer)
    T.words = new Words(memory.buffer)
  }
  const { heap, words, ctrl } = T
  words.set(aView.lines, T.ad / 4)
  words.set(aView.steps, T.ad / 4 + 3)
  words.set(bView.lines, T.bd / 4)
  words.set(bView.steps, T.bd / 4 + 3)
  const aAt = T.base
  const bAt = aAt + 8 * chunk * m * k
  const cAt = bAt + 8 * chunk * k * n
  const [sa, sb, sc] = [8 * m * k, 8 * k * n, 8 * m * n]
  for (let t0 = 0; t0 < batch; t0 += chunk) {
    const count = Math.min(batch, t0 + chunk) - t0
    heap.set(a.subarray(t0 * m * k, (t0 + count) * m * k), aAt / 8)
    heap.set(b.subarray(t0 * k * n, (t0 + count) * k * n), bAt / 8)
    // The worker's part: the second half of the batches, or of one batch's rows (whole tiles).
    const half = Math.ceil(count / 2)
    const rows = Math.min(m, T.MR * Math.ceil(m / 2 / T.MR))
    const split = count > 1 ? { from: half, m0: 0, mine: m } : { from: 0, m0: rows, mine: rows }
    const job = split.m0 < m || count > 1
    if (job) {
      const from = split.from
      ctrl.set(
        [
          split.m0,
          m,
          n,
          k,
          aAt + from * sa,
          T.ad,
          bAt + from * sb,
          T.bd,
          cAt + from * sc,
          T.other.pa,
          T.other.pb,
          T.other.tile,
          count - from,
          sa,
          sb,
          sc,
        ],
        3,
      )
      Atomics.add(ctrl, 0, 1)
      Atomics.notify(ctrl, 0)
    }
    const seq = Atomics.load(ctrl, 0)
    const mineBatches = count > 1 ? half : 1
    for (let t = 0; t < mineBatches; t++)
      T.gemm(
        0,
        split.mine,
        n,
        k,
        aAt + t * sa,
        T.ad,
        bAt + t * sb,
        T.bd,
        cAt + t * sc,
        T.main.pa,
        T.main.pb,
        T.main.tile,
      )
    if (job)
      for (let waited = 0; ; waited++) {
        const done = Atomics.load(ctrl, 1)
        if (done === seq) break
        if (T.failed !== undefined || waited >= 60) {
          // Never hang an evaluation on a lost worker: give up the second thread and say so.
          threads = undefined
          useThreads = false
          void T.stop()
          throw new Error(
            `the kernel's second thread ${T.failed !== undefined ? `failed: ${String(T.failed)}` : 'did not answer in 60 s'}`,
          )
        }
        Atomics.wait(ctrl, 1, done, 1000)
      }
    c.set(heap.subarray(cAt / 8, cAt / 8 + count * m * n), t0 * m * n)
  }
  return c
}
