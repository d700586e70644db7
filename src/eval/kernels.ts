/**
 * Numeric kernels of the named primitives, on dense row-major float64 data. Each acts on the last
 * axis (or on every entry) and treats all leading axes as independent rows, so the evaluator can
 * run them on batched data unchanged.
 *
 * @packageDocumentation
 * @internal
 */
import { absurd } from '../core/errors.js'
import type { AxisOpName, ScalarOp, Term } from '../core/term.js'
import { type Allocate, type SourceLoop, gather, mergeRuns } from './strided.js'

/*
 * The error function and its complement, ported from Sun's fdlibm `s_erf.c` (version 1.3,
 * 95/01/18; the algorithm of FreeBSD msun's and glibc's s_erf.c: our erf equals glibc 2.36's on
 * 19,757 of the 20,001 points of [-7, 7] of test/erf.test.ts, within 1 ulp of it on all): rational
 * approximations on the intervals |x| < 0.84375, < 1.25, < 1/0.35, < 6 (erf) or 28 (erfc), and
 * beyond. The coefficients are fdlibm's, each checked against the hexadecimal bits its source
 * gives. test/erf.test.ts checks every branch against glibc and against mpmath.
 *
 * - |x| < 0.84375: erf(x) = x + x R(x²), R = P/Q of degrees 4 and 5 (pp, qq), with
 *   |R - (erf(x) - x)/x| < 2^-57.90; for |x| < 2^-28, erf(x) = x + (2/√π - 1) x, scaled by 8
 *   below 2^-1015 so that the product does not underflow early.
 * - 0.84375 ≤ |x| < 1.25: erf(1 + s) = erx + P(s)/Q(s), s = |x| - 1, degrees 6 and 6 (pa, qa),
 *   erx = 0.845062911510467529297 (erf(1) rounded to 24 bits), |P/Q - (erf(x) - erx)| < 2^-59.06.
 * - 1.25 ≤ |x| < 28: erfc(x) = exp(-x² - 0.5625 + R(1/x²)/S(1/x²)) / x, with (ra, sa) below
 *   1/0.35 and (rb, sb) above; exp(-x²) is split as exp(-z² - 0.5625) exp((z - x)(z + x)) with z
 *   the x with the low 32 bits of its float64 cleared, so z² (42 bits) and -z² - 0.5625 are exact.
 *   erf = 1 - erfc there; erf(x) rounds to 1 for |x| ≥ 6 (erfc(6) < 2^-55), erfc(x) underflows to
 *   0 past 28 (erfc(28) < 2^-1133). erfc(-x) = 2 - erfc(x).
 */
const ERX = 8.45062911510467529297e-1 // 0x3FEB0AC1 60000000
const EFX = 1.28379167095512586316e-1 // 0x3FC06EBA 8214DB69: 2/√π - 1
const EFX8 = 1.02703333676410069053 // 0x3FF06EBA 8214DB69: 8 EFX
const PP0 = 1.28379167095512558561e-1 // 0x3FC06EBA 8214DB68
const PP1 = -3.2504210724700149937e-1 // 0xBFD4CD7D 691CB913
const PP2 = -2.84817495755985104766e-2 // 0xBF9D2A51 DBD7194F
const PP3 = -5.77027029648944159157e-3 // 0xBF77A291 236668E4
const PP4 = -2.37630166566501626084e-5 // 0xBEF8EAD6 120016AC
const QQ1 = 3.97917223959155352819e-1 // 0x3FD97779 CDDADC09
const QQ2 = 6.50222499887672944485e-2 // 0x3FB0A54C 5536CEBA
const QQ3 = 5.08130628187576562776e-3 // 0x3F74D022 C4D36B0F
const QQ4 = 1.32494738004321644526e-4 // 0x3F215DC9 221C1A10
const QQ5 = -3.9602282787753681232e-6 // 0xBED09C43 42A26120
const PA0 = -2.36211856075265944077e-3 // 0xBF6359B8 BEF77538
const PA1 = 4.14856118683748331666e-1 // 0x3FDA8D00 AD92B34D
const PA2 = -3.72207876035701323847e-1 // 0xBFD7D240 FBB8C3F1
const PA3 = 3.18346619901161753674e-1 // 0x3FD45FCA 805120E4
const PA4 = -1.10894694282396677476e-1 // 0xBFBC6398 3D3E28EC
const PA5 = 3.54783043256182359371e-2 // 0x3FA22A36 599795EB
const PA6 = -2.166375594868790843e-3 // 0xBF61BF38 0A96073F
const QA1 = 1.06420880400844228286e-1 // 0x3FBB3E66 18EEE323
const QA2 = 5.40397917702171048937e-1 // 0x3FE14AF0 92EB6F33
const QA3 = 7.18286544141962662868e-2 // 0x3FB2635C D99FE9A7
const QA4 = 1.26171219808761642112e-1 // 0x3FC02660 E763351F
const QA5 = 1.36370839120290507362e-2 // 0x3F8BEDC2 6B51DD1C
const QA6 = 1.1984499846799107417e-2 // 0x3F888B54 5735151D
const RA0 = -9.86494403484714822705e-3 // 0xBF843412 600D6435
const RA1 = -6.93858572707181764372e-1 // 0xBFE63416 E4BA7360
const RA2 = -1.05586262253232909814e1 // 0xC0251E04 41B0E726
const RA3 = -6.23753324503260060396e1 // 0xC04F300A E4CBA38D
const RA4 = -1.62396669462573470355e2 // 0xC0644CB1 84282266
const RA5 = -1.84605092906711035994e2 // 0xC067135C EBCCABB2
const RA6 = -8.12874355063065934246e1 // 0xC0545265 57E4D2F2
const RA7 = -9.81432934416914548592 // 0xC023A0EF C69AC25C
const SA1 = 1.96512716674392571292e1 // 0x4033A6B9 BD707687
const SA2 = 1.376577541435190426e2 // 0x4061350C 526AE721
const SA3 = 4.34565877475229228821e2 // 0x407B290D D58A1A71
const SA4 = 6.45387271733267880336e2 // 0x40842B19 21EC2868
const SA5 = 4.29008140027567833386e2 // 0x407AD021 57700314
const SA6 = 1.08635005541779435134e2 // 0x405B28A3 EE48AE2C
const SA7 = 6.57024977031928170135 // 0x401A47EF 8E484A93
const SA8 = -6.04244152148580987438e-2 // 0xBFAEEFF2 EE749A62
const RB0 = -9.86494292470009928597e-3 // 0xBF843412 39E86F4A
const RB1 = -7.99283237680523006574e-1 // 0xBFE993BA 70C285DE
const RB2 = -1.77579549177547519889e1 // 0xC031C209 555F995A
const RB3 = -1.60636384855821916062e2 // 0xC064145D 43C5ED98
const RB4 = -6.37566443368389627722e2 // 0xC083EC88 1375F228
const RB5 = -1.02509513161107724954e3 // 0xC0900461 6A2E5992
const RB6 = -4.83519191608651397019e2 // 0xC07E384E 9BDC383F
const SB1 = 3.03380607434824582924e1 // 0x403E568B 261D5190
const SB2 = 3.25792512996573918826e2 // 0x40745CAE 221B9F0A
const SB3 = 1.53672958608443695994e3 // 0x409802EB 189D5118
const SB4 = 3.19985821950859553908e3 // 0x40A8FFB7 688C246A
const SB5 = 2.55305040643316442583e3 // 0x40A3F219 CEDF3BE6
const SB6 = 4.74528541206955367215e2 // 0x407DA874 E79FE763
const SB7 = -2.24409524465858183362e1 // 0xC03670E2 42712D62

/** |x| < 1/0.35: the float64 whose high word is fdlibm's 0x4006DB6E, low word 0. */
const ERFC_SPLIT = 2.857143402099609375

/** A float64 and its two 32-bit words (little-endian: the low word first), to clear low bits. */
const bits = new Float64Array(1)
const words = new Uint32Array(bits.buffer)
const LOW = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1

/** erf(x) - x over x for |x| < 0.84375, x2 = x². */
const erfSmall = (x2: number): number => {
  const r = PP0 + x2 * (PP1 + x2 * (PP2 + x2 * (PP3 + x2 * PP4)))
  const s = 1 + x2 * (QQ1 + x2 * (QQ2 + x2 * (QQ3 + x2 * (QQ4 + x2 * QQ5))))
  return r / s
}

/** erf(1 + s) - erx for 0.84375 ≤ 1 + s < 1.25. */
const erfNearOne = (s: number): number => {
  const p = PA0 + s * (PA1 + s * (PA2 + s * (PA3 + s * (PA4 + s * (PA5 + s * PA6)))))
  const q = 1 + s * (QA1 + s * (QA2 + s * (QA3 + s * (QA4 + s * (QA5 + s * QA6)))))
  return p / q
}

/** erfc(a) for 1.25 ≤ a < 28. */
const erfcTail = (a: number): number => {
  const s = 1 / (a * a)
  let r: number
  if (a < ERFC_SPLIT) {
    r =
      (RA0 + s * (RA1 + s * (RA2 + s * (RA3 + s * (RA4 + s * (RA5 + s * (RA6 + s * RA7))))))) /
      (1 +
        s * (SA1 + s * (SA2 + s * (SA3 + s * (SA4 + s * (SA5 + s * (SA6 + s * (SA7 + s * SA8))))))))
  } else {
    r =
      (RB0 + s * (RB1 + s * (RB2 + s * (RB3 + s * (RB4 + s * (RB5 + s * RB6)))))) /
      (1 + s * (SB1 + s * (SB2 + s * (SB3 + s * (SB4 + s * (SB5 + s * (SB6 + s * SB7)))))))
  }
  bits[0] = a
  words[LOW] = 0
  const z = bits[0] as number
  return (Math.exp(-z * z - 0.5625) * Math.exp((z - a) * (z + a) + r)) / a
}

/**
 * The error function `erf(x) = 2/√π ∫_0^x e^(-t²) dt` (fdlibm's s_erf.c, above): within 0.70 ulps
 * of the exact value on the points of test/erf.test.ts (mpmath). Odd, `erf(-0) = -0` as in C99
 * (the previous series gave +0; -0 is 0, README "Number semantics"), `erf(±∞) = ±1`,
 * `erf(NaN) = NaN`. The primitives use erfc (`phi` below).
 */
export const erf = (x: number): number => {
  const a = Math.abs(x)
  if (a < 0.84375) {
    if (a >= 2 ** -28) return x + x * erfSmall(x * x)
    // 2/√π x: x + (2/√π - 1) x, scaled by 8 where (2/√π - 1) x would lose bits to underflow.
    return a < 2 ** -1015 ? 0.125 * (8 * x + EFX8 * x) : x + EFX * x
  }
  if (a < 1.25) return x < 0 ? -ERX - erfNearOne(a - 1) : ERX + erfNearOne(a - 1)
  if (a < 6) return x < 0 ? erfcTail(a) - 1 : 1 - erfcTail(a)
  // ±1 (erfc(6) < 2^-55), and NaN stays NaN.
  return x < 0 ? -1 : x > 0 ? 1 : x
}

/**
 * The complementary error function `erfc(x) = 1 - erf(x)` (fdlibm's s_erf.c, above): within 2.2
 * ulps of the exact value where it is a normal number (test/erf.test.ts, mpmath), also where
 * `1 - erf(x)` cancels; subnormal past x = 26.72, 0 past 27.23. `erfc(±0) = 1`, `erfc(-∞) = 2`,
 * `erfc(∞) = 0`, `erfc(NaN) = NaN`.
 */
export const erfc = (x: number): number => {
  const a = Math.abs(x)
  if (a < 0.84375) {
    if (a < 2 ** -56) return 1 - x
    const y = erfSmall(x * x)
    if (x < 0.25) return 1 - (x + x * y)
    return 0.5 - (x * y + (x - 0.5))
  }
  if (a < 1.25) return x < 0 ? 1 + (ERX + erfNearOne(a - 1)) : 1 - ERX - erfNearOne(a - 1)
  if (a < 28) {
    if (x < 0) return a < 6 ? 2 - erfcTail(a) : 2
    return erfcTail(a)
  }
  return x < 0 ? 2 : x > 0 ? 0 : x
}

/**
 * The standard normal distribution function `Φ(v) = erfc(-v/√2) / 2`, of normcdf and gelu
 * (`v Φ(v)`): `(1 + erf(v/√2)) / 2` without its cancellation for negative v, where 1 + erf keeps
 * an absolute error of an ulp of 1 and gives 0 below v = -8.3 (Φ(-10) = 7.6e-24). Its relative
 * error is at most (2κ + 8)u, κ = |v φ(v) / Φ(v)| ≤ 1 + v² its condition number (the quotient
 * v/√2 is rounded); test/erf.test.ts checks that down to v = -38, and an absolute error below
 * 2^-52.
 */
const phi = (v: number): number => 0.5 * erfc(-v / Math.SQRT2)

/** A unary scalar function. */
export const unaryFunction = (op: ScalarOp, factor: number): ((v: number) => number) => {
  switch (op) {
    case 'relu':
      // As mapUnary, np.maximum and torch.relu: NaN stays NaN (`v > 0 ? v : 0` gave 0).
      return (v) => Math.max(v, 0)
    case 'gelu':
      return (v) => v * phi(v)
    case 'exp':
      return Math.exp
    case 'log':
      return Math.log
    case 'tanh':
      return Math.tanh
    case 'sigmoid':
      return (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)))
    case 'sqrt':
      return Math.sqrt
    case 'reciprocal':
      // Numbers are reals (README, "Number semantics"): -0 is 0, so 1/±0 is +∞ (`v + 0` is +0
      // for v = -0). It is the one primitive whose IEEE result would show the sign of a zero.
      return (v) => 1 / (v + 0)
    case 'step':
      return (v) => (v > 0 ? 1 : 0)
    case 'normcdf':
      return phi
    case 'offset':
      return (v) => v + factor
    case 'scale':
      return (v) => factor * v
    case 'add':
    case 'mul':
      throw new Error(`${op} is binary`)
    default:
      return absurd(op)
  }
}

/**
 * Apply a unary function to every entry. Each op has its own loop, calling its function directly:
 * one loop calling whichever closure `unaryFunction` returned is a call site that sees every op,
 * which V8 cannot inline (`exp` ran at about 35 ns an entry that way, 5 ns in its own loop). The
 * entries are those of `unaryFunction(op, factor)`, bit for bit.
 */
export const mapUnary = (
  src: Float64Array,
  op: ScalarOp,
  factor: number,
  alloc: Allocate,
): Float64Array => {
  const out = alloc(src.length, op)
  const n = src.length
  switch (op) {
    case 'relu':
      for (let i = 0; i < n; i++) out[i] = Math.max(src[i] as number, 0)
      break
    case 'scale':
      for (let i = 0; i < n; i++) out[i] = factor * (src[i] as number)
      break
    case 'offset':
      for (let i = 0; i < n; i++) out[i] = (src[i] as number) + factor
      break
    case 'exp':
      for (let i = 0; i < n; i++) out[i] = Math.exp(src[i] as number)
      break
    case 'log':
      for (let i = 0; i < n; i++) out[i] = Math.log(src[i] as number)
      break
    case 'tanh':
      for (let i = 0; i < n; i++) out[i] = Math.tanh(src[i] as number)
      break
    case 'sqrt':
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(src[i] as number)
      break
    case 'reciprocal':
      for (let i = 0; i < n; i++) out[i] = 1 / ((src[i] as number) + 0)
      break
    case 'step':
      for (let i = 0; i < n; i++) out[i] = (src[i] as number) > 0 ? 1 : 0
      break
    case 'sigmoid':
      for (let i = 0; i < n; i++) {
        const v = src[i] as number
        out[i] = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v))
      }
      break
    case 'gelu':
      for (let i = 0; i < n; i++) {
        const v = src[i] as number
        out[i] = v * phi(v)
      }
      break
    case 'normcdf':
      for (let i = 0; i < n; i++) out[i] = phi(src[i] as number)
      break
    case 'add':
    case 'mul':
      throw new Error(`${op} is binary`)
    default:
      return absurd(op)
  }
  return out
}

/**
 * Entry-wise `a + b` or `a · b` of two arrays of one length. The product is strict in zero
 * (README, "Number semantics"): `0 · v = 0` for every `v`, `±∞` and NaN included, where IEEE
 * gives NaN. Every tangent rule of `jvp` multiplies the tangent by the slope with `mul`, so a
 * zero tangent stays zero where the slope is infinite (`sqrt'(0) · 0 = 0`): the derivative is a
 * linear map, and a linear map sends 0 to 0.
 */
export const mapBinary = (
  a: Float64Array,
  b: Float64Array,
  op: 'add' | 'mul',
  alloc: Allocate,
): Float64Array => {
  const out = alloc(a.length, op)
  if (op === 'add') for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) + (b[i] as number)
  else
    for (let i = 0; i < a.length; i++) {
      const x = a[i] as number
      const y = b[i] as number
      const p = x * y
      // A NaN product with a zero factor is 0 · ∞ or 0 · NaN: zero is absorbing.
      out[i] = p === p || (x !== 0 && y !== 0) ? p : 0
    }
  return out
}

/** An operation on the last axis (of length `n`) of every row. */
export const axisKernel = (
  src: Float64Array,
  n: number,
  op: AxisOpName,
  epsilon: number,
  alloc: Allocate,
): Float64Array => {
  const rows = src.length / n
  const reduces = op === 'max' || op === 'mean'
  const out = alloc(reduces ? rows : src.length, op)
  if (op === 'argmax') {
    for (let r = 0; r < rows; r++) {
      const o = r * n
      let at = 0
      for (let j = 1; j < n; j++) if ((src[o + j] as number) > (src[o + at] as number)) at = j
      out[o + at] = 1
    }
    return out
  }
  for (let r = 0; r < rows; r++) {
    const o = r * n
    switch (op) {
      case 'max': {
        let m = -Infinity
        for (let j = 0; j < n; j++) m = Math.max(m, src[o + j] as number)
        out[r] = m
        break
      }
      case 'mean': {
        let s = 0
        for (let j = 0; j < n; j++) s += src[o + j] as number
        out[r] = s / n
        break
      }
      case 'softmax': {
        let m = -Infinity
        for (let j = 0; j < n; j++) m = Math.max(m, src[o + j] as number)
        let s = 0
        for (let j = 0; j < n; j++) {
          const e = Math.exp((src[o + j] as number) - m)
          out[o + j] = e
          s += e
        }
        for (let j = 0; j < n; j++) out[o + j] = (out[o + j] as number) / s
        break
      }
      case 'layerNorm': {
        let s = 0
        for (let j = 0; j < n; j++) s += src[o + j] as number
        const mu = s / n
        let v = 0
        for (let j = 0; j < n; j++) v += ((src[o + j] as number) - mu) ** 2
        const inv = 1 / Math.sqrt(v / n + epsilon)
        for (let j = 0; j < n; j++) out[o + j] = ((src[o + j] as number) - mu) * inv
        break
      }
      default:
        return absurd(op)
    }
  }
  return out
}

/** The entry at `at` of every row of length `n`. */
export const indexKernel = (
  src: Float64Array,
  n: number,
  at: number,
  alloc: Allocate,
): Float64Array => {
  const rows = src.length / n
  const out = alloc(rows, 'index')
  for (let r = 0; r < rows; r++) out[r] = src[r * n + at] as number
  return out
}

/** The one-hot embedding: every entry placed at `at` of a row of length `n`, zeros elsewhere. */
export const oneHotKernel = (
  src: Float64Array,
  n: number,
  at: number,
  alloc: Allocate,
): Float64Array => {
  const out = alloc(src.length * n, 'oneHot')
  for (let r = 0; r < src.length; r++) out[r * n + at] = src[r] as number
  return out
}

/** The crop, the transpose of padding: the middle `n` entries of every row. */
export const cropKernel = (
  src: Float64Array,
  n: number,
  before: number,
  after: number,
  alloc: Allocate,
): Float64Array => {
  const m = n + before + after
  const rows = src.length / m
  const out = alloc(rows * n, 'crop')
  for (let r = 0; r < rows; r++) copyBlock(src, r * m + before, out, r * n, n)
  return out
}

/** Every row of length `n` padded with zeros. */
export const padKernel = (
  src: Float64Array,
  n: number,
  before: number,
  after: number,
  alloc: Allocate,
): Float64Array => {
  const rows = src.length / n
  const m = n + before + after
  const out = alloc(rows * m, 'pad')
  for (let r = 0; r < rows; r++) copyBlock(src, r * n, out, r * m + before, n)
  return out
}

/** The convolution tensor on every row of length `x` (eq. 4): `out[i, j] = in[s i + d j]`. */
export const convKernel = (
  src: Float64Array,
  x: number,
  y: number,
  k: number,
  stride: number,
  dilation: number,
  alloc: Allocate,
): Float64Array => {
  const rows = src.length / x
  const out = alloc(rows * y * k, 'convTensor')
  for (let r = 0; r < rows; r++) {
    const s0 = r * x
    const o0 = r * y * k
    for (let i = 0; i < y; i++)
      for (let j = 0; j < k; j++)
        out[o0 + i * k + j] = src[s0 + stride * i + dilation * j] as number
  }
  return out
}

/**
 * The transposed convolution tensor on every row of `y·k` entries: `out[s i + d j] += in[i, j]`
 * (the adjoint of {@link convKernel}).
 */
export const convAdjointKernel = (
  src: Float64Array,
  x: number,
  y: number,
  k: number,
  stride: number,
  dilation: number,
  alloc: Allocate,
): Float64Array => {
  const rows = src.length / (y * k)
  const out = alloc(rows * x, 'convTensorAdjoint')
  for (let r = 0; r < rows; r++) {
    const s0 = r * y * k
    const o0 = r * x
    for (let i = 0; i < y; i++)
      for (let j = 0; j < k; j++)
        out[o0 + stride * i + dilation * j] =
          (out[o0 + stride * i + dilation * j] as number) + (src[s0 + i * k + j] as number)
  }
  return out
}

/**
 * Rows joined end to end: row r of the output is row r of every source in turn (`lengths[i]`
 * the row length of source i; every source has the same number of rows).
 */
export const concatKernel = (
  sources: ReadonlyArray<Float64Array>,
  lengths: ReadonlyArray<number>,
  alloc: Allocate,
): Float64Array => {
  const m = lengths.reduce((a, b) => a + b, 0)
  const rows = (sources[0] as Float64Array).length / (lengths[0] as number)
  const out = alloc(rows * m, 'concat')
  let offset = 0
  sources.forEach((src, i) => {
    const n = lengths[i] as number
    for (let r = 0; r < rows; r++) copyBlock(src, r * n, out, r * m + offset, n)
    offset += n
  })
  return out
}

/** Every row cut into consecutive pieces of `lengths`: the transpose of {@link concatKernel}. */
export const splitKernel = (
  src: Float64Array,
  lengths: ReadonlyArray<number>,
  alloc: Allocate,
): Float64Array[] => {
  const m = lengths.reduce((a, b) => a + b, 0)
  const rows = src.length / m
  let offset = 0
  return lengths.map((n) => {
    const out = alloc(rows * n, 'split')
    for (let r = 0; r < rows; r++) copyBlock(src, r * m + offset, out, r * n, n)
    offset += n
    return out
  })
}

/**
 * Copy `block` entries of `src` from `from` to `out` at `to`: by a loop when short, by `set`
 * when long. Every kernel's per-row copy goes through it (pad, crop, concat, split and their
 * block forms): a `subarray` object per short row made the U-Net's channel concatenation
 * (Fig. 28: 4096 rows of two pieces of 8) and its split about twice as slow (a split 0.91 ms,
 * now 0.42 ms).
 */
const copyBlock = (
  src: Float64Array,
  from: number,
  out: Float64Array,
  to: number,
  block: number,
): void => {
  if (block >= 64) out.set(src.subarray(from, from + block), to)
  else copyRun(src, from, out, to, block)
}

/**
 * `out[to + t] = src[from + t]` for `t < n`, four entries a pass. On this project's 2-core
 * machine V8 spends about 3 ns an entry on the plain loop (0.3-0.9 ns in `set`), most of it the
 * loop's own counting: unrolled by four, conv2d's cut of the U-Net's largest image (Fig. 28,
 * 192 rows of 64 runs of 48 entries) took 1.24 ms where the plain loop took 2.09 ms
 * (node, 10th percentile of 100 after 30 warm-ups).
 */
const copyRun = (
  src: Float64Array,
  from: number,
  out: Float64Array,
  to: number,
  n: number,
): void => {
  let t = 0
  for (; t + 4 <= n; t += 4) {
    out[to + t] = src[from + t] as number
    out[to + t + 1] = src[from + t + 1] as number
    out[to + t + 2] = src[from + t + 2] as number
    out[to + t + 3] = src[from + t + 3] as number
  }
  for (; t < n; t++) out[to + t] = src[from + t] as number
}

/**
 * `out[to + t] += src[from + t]` for `t < n`, four entries a pass ({@link copyRun}): each entry
 * gets one addition, so the order of the sums into it is the caller's.
 */
const addRun = (
  src: Float64Array,
  from: number,
  out: Float64Array,
  to: number,
  n: number,
): void => {
  let t = 0
  for (; t + 4 <= n; t += 4) {
    out[to + t] = (out[to + t] as number) + (src[from + t] as number)
    out[to + t + 1] = (out[to + t + 1] as number) + (src[from + t + 1] as number)
    out[to + t + 2] = (out[to + t + 2] as number) + (src[from + t + 2] as number)
    out[to + t + 3] = (out[to + t + 3] as number) + (src[from + t + 3] as number)
  }
  for (; t < n; t++) out[to + t] = (out[to + t] as number) + (src[from + t] as number)
}

// The axis maps above on an axis followed by a contiguous block of `block` entries (the layout
// of a broadcast placed after the axis, `broadcast(f, axes, { at: 'last' })`): each entry of the
// one-axis kernel becomes a block, so the broadcast needs no transpose in or out. Rows are the
// leading `rows` slices; `x` and the output extents as in the one-axis kernels.

/** {@link convKernel} with a block after the axis: `out[r, i, j, :] = in[r, s i + d j, :]`. */
export const convBlockKernel = (
  src: Float64Array,
  x: number,
  y: number,
  k: number,
  stride: number,
  dilation: number,
  block: number,
  alloc: Allocate,
): Float64Array => {
  const rows = src.length / (x * block)
  const out = alloc(rows * y * k * block, 'convTensor')
  const kb = k * block
  for (let r = 0; r < rows; r++) {
    const s0 = r * x * block
    let o = r * y * kb
    // Undilated, a block's k entries are k consecutive blocks of the input: one run.
    if (dilation === 1)
      for (let i = 0; i < y; i++, o += kb) copyBlock(src, s0 + stride * i * block, out, o, kb)
    else
      for (let i = 0; i < y; i++)
        for (let j = 0; j < k; j++, o += block)
          copyBlock(src, s0 + (stride * i + dilation * j) * block, out, o, block)
  }
  return out
}

/**
 * {@link convAdjointKernel} with a block after the axes: `out[r, s i + d j, :] += in[r, i, j, :]`
 * (the sums in the order of i, then j, as there).
 */
export const convAdjointBlockKernel = (
  src: Float64Array,
  x: number,
  y: number,
  k: number,
  stride: number,
  dilation: number,
  block: number,
  alloc: Allocate,
): Float64Array => {
  const rows = src.length / (y * k * block)
  const out = alloc(rows * x * block, 'convTensorAdjoint')
  const kb = k * block
  for (let r = 0; r < rows; r++) {
    let s = r * y * kb
    const o0 = r * x * block
    // Undilated, the k blocks of one i land on k consecutive blocks, each entry once: one run,
    // and every output entry still sums its terms in the order of i.
    if (dilation === 1)
      for (let i = 0; i < y; i++, s += kb) addRun(src, s, out, o0 + stride * i * block, kb)
    else
      for (let i = 0; i < y; i++)
        for (let j = 0; j < k; j++, s += block)
          addRun(src, s, out, o0 + (stride * i + dilation * j) * block, block)
  }
  return out
}

/**
 * {@link convAdjointBlockKernel} on a strided source (`src` entry `Σ index · stride`): rows walk
 * the loops `rows` in order, the transposed axes step by `si` and `sj`, and the block walks
 * `block` (its loops merged where contiguous; more than one loop left after merging is gathered
 * first). Every output entry is the sum of the same terms in the same order as the dense
 * kernel's, so the result is the same bit for bit: it reads a convolution's input gradient where
 * the matrix product left it (`[a b p q c]`, src/eval/evaluate.ts viewOrder), where the
 * dense kernel needs it transposed to `[a p b q c]` first, which cost the U-Net's gradient
 * (Fig. 28) more than its products did.
 */
export const convAdjointStridedKernel = (
  src: Float64Array,
  rows: ReadonlyArray<SourceLoop>,
  axes: {
    readonly x: number
    readonly y: number
    readonly k: number
    readonly si: number
    readonly sj: number
  },
  block: ReadonlyArray<SourceLoop>,
  stride: number,
  dilation: number,
  alloc: Allocate,
): Float64Array => {
  const { x, y, k, si, sj } = axes
  const merged = mergeRuns(block)
  const nr = rows.reduce((m, l) => m * l.n, 1)
  if (merged.length > 1) {
    // A block that is not one strided run: gathered into the dense layout first.
    const loops = [...rows, { n: y, s: si }, { n: k, s: sj }, ...block]
    const dense = gather(
      src,
      loops.map((l) => l.n),
      loops.map((l) => l.s),
      alloc,
    )
    const b = block.reduce((m, l) => m * l.n, 1)
    return convAdjointBlockKernel(dense, x, y, k, stride, dilation, b, alloc)
  }
  const { n: b, s: sb } = merged[0] ?? { n: 1, s: 0 }
  const out = alloc(nr * x * b, 'convTensorAdjoint')
  if (out.length === 0 || y * k === 0) return out
  const idx = rows.map(() => 0)
  let base = 0
  for (let r = 0; r < nr; r++) {
    const o0 = r * x * b
    // As the dense kernel: undilated with the k blocks of one i consecutive in the source
    // (the channels after kw, `[a b p q c]`), one run of k b entries.
    if (sb === 1 && dilation === 1 && sj === b)
      for (let i = 0; i < y; i++) addRun(src, base + i * si, out, o0 + stride * i * b, k * b)
    else
      for (let i = 0; i < y; i++)
        for (let j = 0; j < k; j++) {
          const o = o0 + (stride * i + dilation * j) * b
          const e = base + i * si + j * sj
          if (sb === 1) addRun(src, e, out, o, b)
          else
            for (let t = 0, f = e; t < b; t++, f += sb)
              out[o + t] = (out[o + t] as number) + (src[f] as number)
        }
    // The next row: an odometer over the row loops.
    for (let a = rows.length - 1; a >= 0; a--) {
      const l = rows[a] as SourceLoop
      const next = (idx[a] as number) + 1
      base += l.s
      if (next < l.n) {
        idx[a] = next
        break
      }
      base -= next * l.s
      idx[a] = 0
    }
  }
  return out
}

/** {@link padKernel} with a block after the axis: `n` blocks padded with zero blocks. */
export const padBlockKernel = (
  src: Float64Array,
  n: number,
  before: number,
  after: number,
  block: number,
  alloc: Allocate,
): Float64Array => {
  const rows = src.length / (n * block)
  const m = n + before + after
  const out = alloc(rows * m * block, 'pad')
  for (let r = 0; r < rows; r++)
    copyBlock(src, r * n * block, out, (r * m + before) * block, n * block)
  return out
}

/** {@link cropKernel} with a block after the axis: the middle `n` blocks of every row. */
export const cropBlockKernel = (
  src: Float64Array,
  n: number,
  before: number,
  after: number,
  block: number,
  alloc: Allocate,
): Float64Array => {
  const m = n + before + after
  const rows = src.length / (m * block)
  const out = alloc(rows * n * block, 'crop')
  for (let r = 0; r < rows; r++)
    copyBlock(src, (r * m + before) * block, out, r * n * block, n * block)
  return out
}

/**
 * Whether the evaluator runs a broadcast with a block kernel on its input's own layout: a pad,
 * crop, convolution tensor or its transpose broadcast after its axes (`{ at: 'last' }`, both in
 * and out). The cost model (src/eval/cost.ts) asks the same, so that it counts what the evaluator
 * does.
 */
export const isBlockBroadcast = (t: Extract<Term, { kind: 'broadcast' }>): boolean =>
  (t.body.kind === 'pad' || t.body.kind === 'convTensor') &&
  t.inputs[0] === t.body.dom[0]?.length &&
  t.outputs[0] === t.body.cod[0]?.length
