/**
 * The e-graph of proof search (issue 13): {@link EGraph} (union-find, hash-consed nodes,
 * congruence by rebuilding, class analyses, explanations) and {@link saturate} (equality
 * saturation with the law catalogue's own rules, bounded, with a report). The design notes are in
 * `egraph.ts`.
 *
 * @packageDocumentation
 */
export {
  EGraph,
  ExplainError,
  type ClassData,
  type Explained,
  type Justification,
} from './egraph.js'
export {
  defaultLimits,
  saturate,
  type IterationReport,
  type SaturationLimits,
  type SaturationReport,
  type StopPhase,
  type StopReason,
} from './saturate.js'
