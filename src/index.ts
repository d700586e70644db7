/**
 * neural-circuit-diagrams: an algebra engine for the neural circuit diagrams of Abbott (TMLR 2024).
 *
 * @packageDocumentation
 */
export * from './core/errors.js'
export * from './core/dim.js'
export * from './core/types.js'
export type * from './core/term.js'
export { TERM_KINDS, children, termSize } from './core/term.js'
export { paramsOf } from './core/params.js'
export { MAX_MONOMIALS } from './core/linearity.js'
export { show, showTyped, type ShowOptions } from './core/show.js'
export {
  id,
  seq,
  par,
  swap,
  copy,
  drop,
  broadcast,
  box,
  derivative,
  type BroadcastOptions,
  type TypeLike,
} from './core/construct.js'
export * from './core/primitives.js'
export {
  generator,
  generatorTranspose,
  isGenerator,
  type GeneratorOptions,
} from './core/generator.js'
export * from './linear/einsum.js'
export * from './linear/structural.js'
export * from './linear/layer.js'
export * from './linear/canonical.js'
export * from './linear/fuse.js'
export * from './linear/transpose-by-snake.js'
export * from './linear/subsample.js'
export {
  evaluate,
  DEFAULT_MEMORY_CAP,
  DEFAULT_TOTAL_MEMORY_CAP,
  type EvalOptions,
  type TensorData,
} from './eval/evaluate.js'
export { releaseBuffers } from './eval/pool.js'
export { evaluateWithErrorBounds, type ErrorBounds } from './eval/error-bound.js'
export type {
  GeneratorCall,
  GeneratorImplementation,
  GeneratorLike,
  Tensors,
} from './eval/generators.js'
export { randomInputs, randomParams, seededRandom, type RandomOptions } from './eval/random.js'
export * from './io/codec.js'
export * from './models/mlp.js'
export * from './models/attention.js'
export * from './models/conv.js'
export * from './models/resnet.js'
export * from './models/transformer.js'
export * from './models/unet.js'
export * from './models/vit.js'
export * from './models/registry.js'
export { withChildren, mapTerm } from './core/update.js'
export { rebuild, isTerm, type TermNode, type TermArgs } from './linear/rebuild.js'
export { termEquals, defaultSizesKey, dataKey } from './core/equal.js'
export * from './rewrite/pattern.js'
export {
  matchAll,
  matchFirst,
  matchWindow,
  instantiate,
  showBindings,
  type Bindings,
  type Bound,
} from './rewrite/match.js'
export * from './rewrite/path.js'
export * from './rewrite/rule.js'
export * from './rewrite/strategy.js'
export * from './rewrite/proof.js'
export * from './io/proof.js'
export * from './rewrite/rules/index.js'
export { normalize, normalKey, pushBroadcasts, wiring } from './derive/normal.js'
export { graph, type Apply, type Wire } from './core/dag.js'
export * from './derive/jvp.js'
export * from './derive/transpose.js'
export * from './derive/bend.js'
export * from './derive/jacobian.js'
export * from './derive/vjp.js'
export * from './rewrite/equivalent.js'
export * from './rewrite/optimize.js'
export * from './rewrite/egraph/index.js'
export * from './eval/cost.js'
export { toPyTorch, toNumPy, type CodegenOptions } from './codegen/python.js'
export { render, drawing, type RenderOptions } from './render/render.js'
export {
  layout,
  connector,
  frameColor,
  widthTest,
  type LayoutOptions,
  type Expand,
} from './render/layout.js'
export { toSvg, escapeXml } from './render/svg.js'
export { checkDrawing } from './render/check.js'
export { flatten, type Drawing, type Block } from './render/geometry.js'
export {
  renderProof,
  renderCounterexample,
  renderDerivation,
  renderTermPage,
  rewrittenRegion,
  type PageOptions,
  type Refutation,
} from './render/page.js'
