/**
 * The architectures of `npm run bench:derive` (bench/derive.ts) and `npm run
 * bench:derive-steps` (bench/derive-steps.ts): the MLP (with and without a batch), attention,
 * multi-head attention, a small CNN, pooling, and the paper-sized models of bench/paper-models.ts
 * with the loss `Σ out ⊙ R`.
 *
 * @packageDocumentation
 */
import {
  type Dim,
  type Sizes,
  type Term,
  attention,
  broadcast,
  conv2d,
  mlp,
  modelZoo,
  multiHeadAttention,
  pool2d,
  relu,
  seq,
} from '../src/index.js'
import { weightedSumLoss } from '../src/testing/losses.js'
import { paperSized } from './paper-models.js'

export interface Arch {
  readonly name: string
  readonly term: Term
  readonly sizes: Sizes
  /** The loss, when not the sum of the outputs (the zoo's softmax outputs sum to 1). */
  readonly loss?: Term
  /** Fixed inputs by position (the transformer's causal mask). */
  readonly inputs?: Readonly<Record<number, Float64Array>>
}

/** A model of src/models at the sizes of bench/models.ts, with the weighted-sum loss. */
const zoo = (name: string, term: Term, sizes: Sizes, inputs?: Arch['inputs']): Arch => ({
  name,
  term,
  sizes,
  loss: weightedSumLoss(term),
  ...(inputs !== undefined ? { inputs } : {}),
})

const cnn = (): Term => {
  const c1 = conv2d('C1', {
    h: 'h',
    w: 'w',
    kh: 'k',
    kw: 'k',
    cIn: 'c',
    cOut: 'd',
    padding: [
      [1, 1],
      [1, 1],
    ],
    bias: true,
  })
  const [yh, yw, d] = c1.cod[0] as [Dim, Dim, Dim]
  const pool = pool2d('max', { h: yh, w: yw, kh: 'p', kw: 'p', c: d, stride: [2, 2] })
  const [ph, pw] = pool.cod[0] as [Dim, Dim, Dim]
  const c2 = conv2d('C2', { h: ph, w: pw, kh: 'k', kw: 'k', cIn: d, cOut: 'e', bias: true })
  return seq(c1, relu(c1.cod[0]), pool, c2)
}

/** The architectures of bench:derive; `quick`: small sizes and the zoo defaults. */
export const benchArchitectures = (quick = false): ReadonlyArray<Arch> => [
  {
    name: 'MLP (Fig. 21)',
    term: mlp({ input: 'h w', hidden: ['n', 'n'], output: 'c' }),
    sizes: quick ? { h: 4, w: 4, n: 8, c: 3 } : { h: 32, w: 32, n: 512, c: 10 },
  },
  {
    // The workload of issue 12: the weights are shared by every row of the batch.
    name: 'MLP 784-128-10 over a batch (Fig. 21, broadcast over b)',
    term: broadcast(mlp({ input: 'x', hidden: ['h'], output: 'c' }), ['b']),
    sizes: quick ? { b: 3, x: 6, h: 4, c: 2 } : { b: 64, x: 784, h: 128, c: 10 },
  },
  {
    name: 'attention (Fig. 22)',
    term: attention({ y: 'y', x: 'x', k: 'k', v: 'v' }),
    sizes: quick ? { y: 4, x: 5, k: 3, v: 2 } : { y: 256, x: 256, k: 64, v: 64 },
  },
  {
    name: 'multi-head attention (Fig. 23)',
    term: multiHeadAttention({ y: 'y', x: 'x', m: 'm', k: 'k', h: 'h' }),
    sizes: quick ? { y: 3, x: 4, m: 6, k: 2, h: 3 } : { y: 64, x: 64, m: 128, k: 32, h: 4 },
  },
  {
    name: 'small CNN: conv 3x3 + relu + max pool 2x2 + conv 3x3 (Fig. 24-26)',
    term: cnn(),
    sizes: quick
      ? { h: 6, w: 6, k: 3, c: 2, d: 3, p: 2, e: 2 }
      : { h: 32, w: 32, k: 3, c: 8, d: 16, p: 2, e: 16 },
  },
  {
    name: 'max pooling 2x2, stride 2 (Fig. 25)',
    term: pool2d('max', { h: 'h', w: 'w', kh: 'p', kw: 'p', c: 'c', stride: [2, 2] }),
    sizes: quick ? { h: 4, w: 4, p: 2, c: 2 } : { h: 128, w: 128, p: 2, c: 16 },
  },
  {
    name: 'mean pooling 2x2, stride 2 (Fig. 25)',
    term: pool2d('mean', { h: 'h', w: 'w', kh: 'p', kw: 'p', c: 'c', stride: [2, 2] }),
    sizes: quick ? { h: 4, w: 4, p: 2, c: 2 } : { h: 128, w: 128, p: 2, c: 16 },
  },
  ...(quick
    ? modelZoo().map((m) =>
        zoo(`${m.names[0] as string} (${m.figure}, zoo defaults)`, m.build(), m.sizes),
      )
    : paperSized().map((w) =>
        zoo(`${w.name} (${w.figure}): ${w.config}`, w.build(), w.sizes, w.fixed?.(w.sizes)),
      )),
]
