/**
 * Linearity, recorded on every term at construction (paper section 2.4, Fig. 16; 2.4.1).
 *
 * Each output segment is tracked as a sum of monomials in the input segments, each monomial of
 * degree at most one in every segment (a product of a set of segments, times structure), or as
 * "not such a polynomial". Constants (parameters) are the empty monomial. The analysis is sound:
 * it may call a linear term nonlinear (when a cancellation it cannot see makes it linear, or
 * beyond {@link MAX_MONOMIALS}), never the other way round. So `linearLayer`, whose weight is a
 * constant fed into a bilinear einsum, is linear in its input, while `param` alone is affine.
 *
 * @packageDocumentation
 */
import type { Linearity, Poly } from './term.js'

/** Past this many monomials in one output the analysis gives up (says nonlinear). */
export const MAX_MONOMIALS = 64

type Monomials = ReadonlyArray<string> | undefined

// Every level is frozen here, so `make` keeps a term's polynomial as it is (no copy).
const freeze = <A>(a: A[]): ReadonlyArray<A> => Object.freeze(a)

const sortedUnique = (xs: ReadonlyArray<string>): ReadonlyArray<string> =>
  freeze([...new Set(xs)].sort())

/**
 * The monomial list `[String(i)]` (the output is input segment i), one frozen array per i shared
 * by every term: identities and wiring on n segments then cost n references, not n new arrays
 * and strings.
 */
const segmentMonomials: Array<ReadonlyArray<string>> = []
const segment = (i: number): ReadonlyArray<string> => {
  for (let j = segmentMonomials.length; j <= i; j++) segmentMonomials.push(freeze([String(j)]))
  return segmentMonomials[i] as ReadonlyArray<string>
}

/** The identity's structure on n segments: output i is input i. */
export const identityPoly = (n: number): Poly =>
  freeze(Array.from({ length: n }, (_, i) => segment(i)))

/** Every output the product of all inputs (an einsum of n inputs), `outputs` times. */
export const multilinearPoly = (inputs: number, outputs = 1): Poly => {
  const mono = Array.from({ length: inputs }, (_, i) => String(i)).join(',')
  return freeze(Array.from({ length: outputs }, () => freeze([mono])))
}

/** Outputs that are not polynomials of the tracked kind. */
export const nonlinearPoly = (outputs: number): Poly =>
  freeze(Array.from({ length: outputs }, () => undefined))

/** Outputs that are the sum of all inputs (add). */
export const sumPoly = (inputs: number): Poly =>
  freeze([freeze(Array.from({ length: inputs }, (_, i) => String(i)))])

/** Constant outputs (parameters). */
export const constantPoly = (outputs: number): Poly =>
  freeze(Array.from({ length: outputs }, () => freeze([''])))

/** Zero outputs. */
export const zeroPoly = (outputs: number): Poly =>
  freeze(Array.from({ length: outputs }, () => freeze([] as string[])))

const IS_SEGMENT = /^\d+$/

const parseMono = (m: string): number[] => (m === '' ? [] : m.split(',').map(Number))

/** Side by side: the second's segments shifted past the first's inputs. */
export const parPoly = (parts: ReadonlyArray<{ poly: Poly; domLength: number }>): Poly => {
  const out: Monomials[] = []
  let shift = 0
  for (const p of parts) {
    for (const o of p.poly) {
      const first = o?.[0]
      // One input passed on (the wiring of identities and swaps): the shared monomial list.
      if (o !== undefined && o.length === 1 && first !== '' && !(first as string).includes(','))
        out.push(segment(Number(first) + shift))
      else
        out.push(
          o === undefined
            ? undefined
            : freeze(
                o.map((m) =>
                  parseMono(m)
                    .map((i) => i + shift)
                    .join(','),
                ),
              ),
        )
    }
    shift += p.domLength
  }
  return freeze(out)
}

/** Substitute the first's outputs into the second's inputs: `f ; g`. */
export const seqPoly = (f: Poly, g: Poly): Poly =>
  freeze(
    g.map((og): Monomials => {
      if (og === undefined) return undefined
      // An output that is one input passed on (wiring): that input's structure, as it is.
      if (og.length === 1 && IS_SEGMENT.test(og[0] as string)) return f[Number(og[0])]
      const sum: string[] = []
      for (const mono of og) {
        // Expand the product of the sums feeding each factor of this monomial.
        let partial: number[][] = [[]]
        for (const i of parseMono(mono)) {
          const fi = f[i]
          if (fi === undefined) return undefined
          const next: number[][] = []
          for (const left of partial)
            for (const right of fi) {
              const r = parseMono(right)
              if (r.some((s) => left.includes(s))) return undefined // degree 2 in a segment
              next.push([...left, ...r])
            }
          partial = next
          if (partial.length > MAX_MONOMIALS) return undefined
        }
        for (const m of partial) sum.push(m.sort((a, b) => a - b).join(','))
      }
      if (sum.length > MAX_MONOMIALS) return undefined
      return sortedUnique(sum)
    }),
  )

/** Read the linearity off the structure of a term with `inputs` segments. */
export const linearityOf = (poly: Poly, inputs: number): Linearity => {
  let linear = true
  for (const o of poly) {
    if (o === undefined) return 'nonlinear'
    for (const m of o) if (m === '' || m.includes(',')) linear = false
  }
  if (linear) return 'linear'
  if (inputs < 1) return 'nonlinear'
  // Multilinear: every monomial the product of all the inputs (joined only now: a wide linear
  // term would pay its width for nothing).
  const all = Array.from({ length: inputs }, (_, i) => String(i)).join(',')
  return poly.every((o) => (o as ReadonlyArray<string>).every((m) => m === all))
    ? 'multilinear'
    : 'nonlinear'
}
