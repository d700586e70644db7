/**
 * The models of src/models at sizes near the paper's, shared by `npm run bench:models`
 * (bench/models.ts) and `npm run bench:derive` (bench/derive.ts).
 *
 * @packageDocumentation
 */
import {
  type Sizes,
  type Term,
  causalMask,
  dimProduct,
  idResNet,
  transformer,
  unet,
  visionTransformer,
} from '../src/index.js'

/** A model of src/models at a given size, as the benchmarks build it. */
export interface Workload {
  readonly name: string
  readonly figure: string
  readonly config: string
  readonly build: () => Term
  readonly sizes: Sizes
  /** Inputs that are not random (the transformer's causal mask), by input position. */
  readonly fixed?: (sizes: Sizes) => Readonly<Record<number, Float64Array>>
}

/** Sizes near the paper's (issue 14: 32x32x3 for IdResNet, 64x64 for U-Net, 16 tokens of 64). */
export const paperSized = (): ReadonlyArray<Workload> => [
  {
    name: 'idresnet',
    figure: 'Fig. 27',
    config: '32x32x3 image (x = 8), batch 2, widths [16, 64, 128, 256], N = 1, 10 classes',
    build: () =>
      idResNet({ x: 'x', b: 'b', channels: 3, classes: 10, widths: [16, 64, 128, 256], units: 1 }),
    sizes: { x: 8, b: 2 },
  },
  {
    name: 'unet',
    figure: 'Fig. 28',
    config: '64x64x1 image, depth 2, channels 1 -> 8 -> 16 -> 32, 2 outputs',
    build: () =>
      unet({
        h: dimProduct(4, 'm'),
        w: dimProduct(4, 'n'),
        channels: ['c0', 'c1', 'c2', 'c3'],
        out: 'y',
      }),
    sizes: { m: 16, n: 16, c0: 1, c1: 8, c2: 16, c3: 32, y: 2 },
  },
  {
    name: 'vit',
    figure: 'Fig. 29',
    config:
      '32x32x3 image in 8x8 patches (16 tokens + class), m 64, 4 heads of 16, f 128, 2 layers',
    build: () =>
      visionTransformer({
        gh: 'a',
        gw: 'b',
        p: 8,
        c: 3,
        m: 'm',
        k: 'k',
        h: 'h',
        f: 'f',
        classes: 10,
        layers: 2,
      }),
    sizes: { a: 4, b: 4, m: 64, k: 16, h: 4, f: 128 },
  },
  {
    name: 'transformer',
    figure: 'Fig. 38',
    config: '16 source and 16 target tokens, vocabularies 32, m 64, 4 heads of 16, f 128, N = 2',
    build: () =>
      transformer({
        x: 'x',
        y: 'y',
        vs: 'vs',
        vt: 'vt',
        m: 'm',
        k: 'k',
        h: 'h',
        f: 'f',
        layers: 2,
      }),
    sizes: { x: 16, y: 16, vs: 32, vt: 32, m: 64, k: 16, h: 4, f: 128 },
    fixed: (s) => ({ 2: causalMask(s['y'] as number) }),
  },
]
