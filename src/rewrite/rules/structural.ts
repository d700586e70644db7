/**
 * The structural law decided by the normal form (DESIGN.md section 5): `t = target` when their
 * structural normal forms agree. It lives here, apart from `equivalent.ts`, so that the catalogue
 * and the search that uses it import no cycle.
 *
 * @packageDocumentation
 */
import { fail } from '../../core/errors.js'
import { showTyped } from '../../core/show.js'
import type { Term } from '../../core/term.js'
import { normalKey } from '../../derive/normal.js'
import { v } from '../pattern.js'
import { type Rule, rule } from '../rule.js'

/**
 * `t = target` when their structural normal forms agree (section 5). The step supplies the
 * target; checking it recomputes both normal forms.
 */
export const normalFormConversion: Rule = rule(
  'structural/normal-form',
  v.term('t'),
  v.build('the target, when its normal form is that of ?t', (b) => {
    const t = b.get('t')?.value as Term
    const given = b.get('target')
    // The step supplies the target: a recorded step (a decoded document) may hold anything.
    if (given?.sort !== 'term')
      return fail('bad-argument', 'structural/normal-form: the target must be a term', {
        expected: 'a term binding for ?target',
        got: given === undefined ? 'no ?target' : `a ${given.sort}`,
      })
    const target = given.value as Term
    if (normalKey(t) !== normalKey(target))
      return fail('type-mismatch', 'structural/normal-form: the normal forms differ', {
        expected: `a target with the normal form of ${showTyped(t)}`,
        got: showTyped(target),
      })
    return target
  }),
  { given: ['target'], source: 'DESIGN.md section 5' },
)

/** The structural laws decided by the normal form. */
export const structuralRules: ReadonlyArray<Rule> = Object.freeze([normalFormConversion])
