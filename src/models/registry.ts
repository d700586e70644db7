/**
 * The model zoo by name (issue 14): each of the paper's architectures with a default small
 * configuration and sizes, so that the command line (`ncd cost idresnet`, `ncd codegen vit`,
 * `ncd derive transformer`) and scripts can take a model by name.
 *
 * @packageDocumentation
 */
import { dimProduct } from '../core/dim.js'
import type { Sizes } from '../core/dim.js'
import type { Term } from '../core/term.js'
import { idResNet } from './resnet.js'
import { transformer } from './transformer.js'
import { unet } from './unet.js'
import { visionTransformer } from './vit.js'

/** A model of the zoo: its names, where the paper shows it, and a small default instance. */
export interface ZooModel {
  /** Its name (lower case), then aliases. */
  readonly names: ReadonlyArray<string>
  /** Where the paper shows it. */
  readonly figure: string
  readonly title: string
  /** The configuration the term is built with, as text (for listings). */
  readonly config: string
  /** Build the term (small default configuration). */
  readonly build: () => Term
  /** Small default sizes of its dims. */
  readonly sizes: Sizes
}

/**
 * The zoo's models, in the paper's order, each small enough for `ncd derive` to check its
 * derivatives in seconds. Their builders are the public constructors; bench/models.ts builds them
 * at sizes near the paper's.
 *
 * @example
 * ```ts
 * import { modelZoo, showType } from 'neural-circuit-diagrams'
 * modelZoo().map((m) => m.names[0]) // ['idresnet', 'unet', 'vit', 'transformer']
 * const resnet = modelZoo()[0]!
 * showType(resnet.build().dom) // '[(2*x) (2*x) 3 b]'
 * ```
 */
export const modelZoo = (): ReadonlyArray<ZooModel> => [
  {
    names: ['idresnet', 'resnet'],
    figure: 'Fig. 27',
    title: 'the identity ResNet with full pre-activation (IdResNet)',
    config: 'widths [4, 8, 8], N = 1, 3 channels, 10 classes',
    build: () =>
      idResNet({ x: 'x', b: 'b', channels: 3, classes: 10, widths: [4, 8, 8], units: 1 }),
    sizes: { x: 2, b: 2 },
  },
  {
    names: ['unet', 'u-net'],
    figure: 'Fig. 28',
    title: 'the U-Net with padded convolutions, saved values concatenated on the way up',
    config: 'depth 2, channels c0 -> c1 -> c2 -> c3, y outputs',
    build: () =>
      unet({
        h: dimProduct(4, 'm'),
        w: dimProduct(4, 'n'),
        channels: ['c0', 'c1', 'c2', 'c3'],
        out: 'y',
      }),
    sizes: { m: 2, n: 2, c0: 1, c1: 2, c2: 3, c3: 4, y: 2 },
  },
  {
    names: ['vit', 'visiontransformer'],
    figure: 'Fig. 29',
    title: 'the vision transformer: patches, class token, pre-norm encoder layers, head',
    config: '2x2 patches, 3 channels, 1 layer, 10 classes',
    build: () =>
      visionTransformer({
        gh: 'a',
        gw: 'b',
        p: 2,
        c: 3,
        m: 'm',
        k: 'k',
        h: 'h',
        f: 'f',
        classes: 10,
        layers: 1,
      }),
    sizes: { a: 2, b: 2, m: 8, k: 4, h: 2, f: 16 },
  },
  {
    names: ['transformer'],
    figure: 'Fig. 38',
    title: 'the transformer: encoder and decoder stacks, masked attention, embeddings',
    config: 'N = 1, post-norm',
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
        layers: 1,
      }),
    sizes: { x: 4, y: 3, vs: 7, vt: 7, m: 8, k: 4, h: 2, f: 16 },
  },
]

/**
 * A model of the zoo by one of its names or its figure (`Fig. 27`, `fig27`), ignoring case and
 * punctuation; `undefined` when none has it.
 *
 * @example
 * ```ts
 * import { findModel } from 'neural-circuit-diagrams'
 * findModel('ViT')?.figure // 'Fig. 29'
 * findModel('Fig. 38')?.names[0] // 'transformer'
 * findModel('lenet') // undefined
 * ```
 */
export const findModel = (query: string): ZooModel | undefined => {
  const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '')
  const q = slug(query)
  return modelZoo().find((m) => m.names.some((n) => slug(n) === q) || slug(m.figure) === q)
}
