/**
 * Lowering a term to Python (DESIGN.md section 7): straight-line code over NumPy arrays or torch
 * tensors that computes what the evaluator computes. It mirrors the evaluator's vectorised
 * broadcasting (`src/eval/evaluate.ts`): every value carries one flag per enclosing broadcast
 * (does it vary along that broadcast's axes?), stored as leading axes, so einsums take the
 * broadcast axes as extra labels, element-wise maps apply unchanged, and a broadcast costs one
 * lowering of its body (paper Fig. 13, 14).
 *
 * @packageDocumentation
 * @internal
 */
import { type Dim, dimKey } from '../core/dim.js'
import { absurd, fail } from '../core/errors.js'
import { show } from '../core/show.js'
import type { Term } from '../core/term.js'
import { type Shape, showShape } from '../core/types.js'
import { jvp } from '../derive/jvp.js'
import { type NativeOp, nativeOpOf } from './native.js'

/** The two dialects of the generated code. */
export type Target = 'pytorch' | 'numpy'

interface Val {
  readonly name: string
  readonly levels: ReadonlyArray<boolean>
}

/** What a lowering produces: the lines of the body, the parameters read, the outputs. */
export interface Lowered {
  readonly lines: ReadonlyArray<string>
  readonly params: ReadonlyMap<string, Shape>
  readonly outputs: ReadonlyArray<string>
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'

/** A Python expression for the size of a dim, read from the sizes dict `n`. */
export const dimPy = (d: Dim): string => {
  switch (d.kind) {
    case 'var':
      return `n[${JSON.stringify(d.name)}]`
    case 'const':
      return String(d.value)
    case 'product':
      return `(${d.factors.map(dimPy).join(' * ')})`
    case 'padded':
      return `(${dimPy(d.base)} + ${d.before + d.after})`
    case 'conv':
      return `((${dimPy(d.input)} - ${d.dilation} * (${dimPy(d.kernel)} - 1) - 1) // ${d.stride} + 1)`
    case 'cropped':
      return `(${dimPy(d.base)} - ${d.before + d.after})`
    case 'sum':
      return `(${d.parts.map(dimPy).join(' + ')})`
    case 'convT':
      return `((${dimPy(d.input)} - 1) * ${d.stride} + ${d.dilation} * (${dimPy(d.kernel)} - 1) + ${1 + d.outputPadding})`
    case 'named':
      return dimPy(d.of)
    default:
      return absurd(d)
  }
}

const pyNumber = (x: number): string =>
  Number.isInteger(x) ? `${x}.0` : Number.isFinite(x) ? String(x) : `float('${x}')`

/** The Python lines of `term` applied to the named inputs, in the chosen dialect. */
export const lower = (term: Term, target: Target, inputs: ReadonlyArray<string>): Lowered => {
  const lines: string[] = []
  const params = new Map<string, Shape>()
  const torch = target === 'pytorch'
  const lib = torch ? 'torch' : 'np'
  let counter = 0
  const fresh = (): string => `t${++counter}`
  const levelAxes: Shape[] = []
  const nb = (v: Val): number =>
    v.levels.reduce((s, on, l) => (on ? s + (levelAxes[l] as Shape).length : s), 0)
  const emit = (t: Term, expr: string, levels: ReadonlyArray<boolean>, row: Shape): Val => {
    const name = fresh()
    const batch = levels.flatMap((on, l) => (on ? (levelAxes[l] as Shape).map(dimKey) : []))
    const layout = `${batch.length > 0 ? `(${batch.join(' ')}) ` : ''}${showShape(row)}`
    lines.push(`${name} = ${expr}  # ${show(t, { maxLength: 60 })} -> ${layout}`)
    return { name, levels }
  }
  const refuse = (t: Term, why: string): never =>
    fail('bad-argument', `codegen: cannot lower ${t.kind} to ${target}`, {
      expected: 'a term of the kinds src/codegen lowers',
      got: why,
      where: show(t, { maxLength: 160 }),
    })
  const zeros = (shape: string): string =>
    torch ? `torch.zeros(${shape}, **o)` : `np.zeros(${shape})`
  const tuple = (xs: ReadonlyArray<string>): string =>
    xs.length === 1 ? `(${xs[0]},)` : `(${xs.join(', ')})`
  const extents = (s: Shape): string => tuple(s.map(dimPy))

  const einsumCall = (spec: string, args: ReadonlyArray<string>): string =>
    torch
      ? `torch.einsum('${spec}', ${args.join(', ')})`
      : `np.einsum('${spec}', ${args.join(', ')}, optimize=True)`

  const run = (t: Term, ins: ReadonlyArray<Val>): Val[] => {
    switch (t.kind) {
      case 'id':
        return [...ins]
      case 'seq':
        return t.parts.reduce<Val[]>((vs, p) => run(p, vs), [...ins])
      case 'par': {
        let at = 0
        return t.parts.flatMap((p) => {
          const group = ins.slice(at, at + p.dom.length)
          at += p.dom.length
          return run(p, group)
        })
      }
      case 'swap':
        return [...ins.slice(t.left.length), ...ins.slice(0, t.left.length)]
      case 'copy':
        return [...ins, ...ins]
      case 'drop':
        return []
      case 'box': {
        const native = torch ? nativeOpOf(t) : undefined
        if (native !== undefined) return [lowerNative(t, native, ins[0] as Val)]
        lines.push(`# ${t.name}`)
        return run(t.body, ins)
      }
      case 'derivative':
        return run(jvp(t.body), ins)
      case 'zero':
        return t.type.map((s) =>
          emit(
            t,
            zeros(extents(s)),
            levelAxes.map(() => false),
            s,
          ),
        )
      case 'param': {
        params.set(t.name, t.shape)
        const expr = torch ? `p[${JSON.stringify(t.name)}]` : `params[${JSON.stringify(t.name)}]`
        return [
          emit(
            t,
            expr,
            levelAxes.map(() => false),
            t.shape,
          ),
        ]
      }
      case 'scalar': {
        const [a, b] = ins as [Val, Val | undefined]
        if (t.op === 'add' || t.op === 'mul') {
          const right = b as Val
          const mask = a.levels.map((on, l) => on || (right.levels[l] as boolean))
          const align = (v: Val): string => {
            if (v.levels.every((on, l) => on === mask[l])) return v.name
            const idx = mask.flatMap((on, l) =>
              on ? (levelAxes[l] as Shape).map(() => (v.levels[l] ? ':' : 'None')) : [],
            )
            return `${v.name}[${idx.join(', ')}]`
          }
          const op = t.op === 'add' ? '+' : '*'
          return [emit(t, `${align(a)} ${op} ${align(right)}`, mask, [])]
        }
        const x = a.name
        const factor =
          t.bySize === undefined
            ? pyNumber(t.factor)
            : `${pyNumber(t.factor)} * ${dimPy(t.bySize.dim)} ** ${pyNumber(t.bySize.power)}`
        const expr = ((): string => {
          switch (t.op) {
            case 'relu':
              return torch ? `torch.relu(${x})` : `np.maximum(${x}, 0.0)`
            case 'gelu':
              // As the evaluator: gelu(v) = v Φ(v), Φ(v) = erfc(-v/√2)/2 (no cancellation below 0).
              return torch ? `F.gelu(${x})` : `${x} * (0.5 * _erfc(-${x} / math.sqrt(2.0)))`
            case 'exp':
            case 'log':
            case 'tanh':
            case 'sqrt':
              return `${lib}.${t.op}(${x})`
            case 'sigmoid':
              return torch ? `torch.sigmoid(${x})` : `np.exp(-np.logaddexp(0.0, -${x}))`
            case 'reciprocal':
              return `1.0 / ${x}`
            case 'step':
              return torch ? `(${x} > 0).to(${x}.dtype)` : `(${x} > 0).astype(np.float64)`
            case 'normcdf':
              return `0.5 * ${torch ? 'torch.erfc' : '_erfc'}(-${x} / math.sqrt(2.0))`
            case 'scale':
              return `(${factor}) * ${x}`
            case 'offset':
              return `${x} + ${factor}`
            default:
              return absurd(t.op)
          }
        })()
        return [emit(t, expr, a.levels, [])]
      }
      case 'axisOp': {
        const v = ins[0] as Val
        const x = v.name
        const size = dimPy(t.axis)
        const op = t.op
        const expr = ((): string => {
          switch (op) {
            case 'softmax':
              return torch ? `torch.softmax(${x}, dim=-1)` : `_softmax(${x})`
            case 'layerNorm':
              return torch
                ? `F.layer_norm(${x}, (${size},), eps=${pyNumber(t.epsilon)})`
                : `_layer_norm(${x}, ${pyNumber(t.epsilon)})`
            case 'max':
              return torch ? `torch.amax(${x}, dim=-1)` : `${x}.max(axis=-1)`
            case 'mean':
              return `${x}.mean(${torch ? 'dim' : 'axis'}=-1)`
            case 'argmax':
              return torch
                ? `F.one_hot(${x}.argmax(dim=-1), ${size}).to(${x}.dtype)`
                : `np.eye(${size})[${x}.argmax(axis=-1)]`
            default:
              return absurd(op)
          }
        })()
        return [emit(t, expr, v.levels, t.cod[0] as Shape)]
      }
      case 'index': {
        const v = ins[0] as Val
        const n = dimPy(t.axis)
        const expr =
          t.adjoint === true
            ? `${v.name}[..., None] * ${torch ? `torch.eye(${n}, **o)` : `np.eye(${n})`}[${t.at}]`
            : `${v.name}[..., ${t.at}]`
        return [emit(t, expr, v.levels, t.cod[0] as Shape)]
      }
      case 'view': {
        const v = ins[0] as Val
        const lead = nb(v)
        const to = t.to.map(dimPy)
        const expr = torch
          ? `${v.name}.reshape(${[...(lead > 0 ? [`*${v.name}.shape[:${lead}]`] : []), ...to, ...(lead + to.length === 0 ? ['()'] : [])].join(', ')})`
          : `${v.name}.reshape(${lead > 0 ? `${v.name}.shape[:${lead}] + ` : ''}${tuple(to)})`
        return [
          emit(
            t,
            to.length === 0 && torch && lead === 0 ? `${v.name}.reshape(())` : expr,
            v.levels,
            t.to,
          ),
        ]
      }
      case 'pad': {
        const v = ins[0] as Val
        const n = dimPy(t.axis)
        const expr =
          t.adjoint === true
            ? `${v.name}[..., ${t.before}:${t.before} + ${n}]`
            : torch
              ? `F.pad(${v.name}, (${t.before}, ${t.after}))`
              : `np.pad(${v.name}, [(0, 0)] * (${v.name}.ndim - 1) + [(${t.before}, ${t.after})])`
        return [emit(t, expr, v.levels, t.cod[0] as Shape)]
      }
      case 'convTensor': {
        const v = ins[0] as Val
        const y = dimPy((t.adjoint === true ? t.dom : t.cod)[0]?.[0] as Dim)
        const table = `_conv_index(${y}, ${dimPy(t.kernel)}, ${t.stride}, ${t.dilation})`
        const expr =
          t.adjoint !== true
            ? `${v.name}[..., ${table}]`
            : torch
              ? `torch.einsum('...ij,ijl->...l', ${v.name}, _conv_matrix(${dimPy(t.input)}, ${table}, o))`
              : `np.einsum('...ij,ijl->...l', ${v.name}, _conv_matrix(${dimPy(t.input)}, ${table}))`
        return [emit(t, expr, v.levels, t.cod[0] as Shape)]
      }
      case 'concat':
        return lowerConcat(t, ins)
      case 'einsum':
        return [lowerEinsum(t, ins)]
      case 'broadcast':
        return lowerBroadcast(t, ins)
      case 'generator':
        // An opaque map has no code: emitting anything would be code of another function.
        return refuse(
          t,
          `generator ${show(t)} is opaque (its implementation is JavaScript, or a random interpretation)`,
        )
      default:
        return absurd(t)
    }
  }

  const lowerEinsum = (t: Extract<Term, { kind: 'einsum' }>, ins: ReadonlyArray<Val>): Val => {
    const letters = new Map<string, string>()
    const letter = (key: string): string => {
      let l = letters.get(key)
      if (l === undefined) {
        l = LETTERS[letters.size]
        if (l === undefined) return refuse(t, 'more than 52 distinct axes in one einsum')
        letters.set(key, l)
      }
      return l
    }
    const batch = (levels: ReadonlyArray<boolean>): string =>
      levels
        .flatMap((on, l) => (on ? (levelAxes[l] as Shape).map((_, a) => letter(`#${l}.${a}`)) : []))
        .join('')
    const mask = levelAxes.map((_, l) => ins.some((v) => v.levels[l] as boolean))
    const subs = ins.map(
      (v, i) => batch(v.levels) + (t.inputs[i] ?? []).map((x) => letter(`:${x}`)).join(''),
    )
    const args = ins.map((v) => v.name)
    const inputLabels = new Set(t.inputs.flat())
    const seen = new Set<string>()
    const out = t.output.map((x) => {
      const d = t.dims[x] as Dim
      if (!seen.has(x)) {
        seen.add(x)
        if (!inputLabels.has(x) && t.output.filter((y) => y === x).length === 1) {
          subs.push(letter(`:${x}`))
          args.push(torch ? `torch.ones(${dimPy(d)}, **o)` : `np.ones(${dimPy(d)})`)
        }
        return letter(`:${x}`)
      }
      // A repeated output label embeds on the diagonal: one more identity matrix.
      const copy = letter(`:${x}'${counter}.${seen.size}.${subs.length}`)
      subs.push(letter(`:${x}`) + copy)
      args.push(torch ? `torch.eye(${dimPy(d)}, **o)` : `np.eye(${dimPy(d)})`)
      return copy
    })
    const spec = `${subs.join(',')}->${batch(mask)}${out.join('')}`
    return emit(t, einsumCall(spec, args), mask, t.cod[0] as Shape)
  }

  /**
   * A concatenation on the last axis (`torch.cat`, `np.concatenate`), its parts first expanded to
   * the broadcast levels any of them varies along; a split as slices of the last axis.
   */
  const lowerConcat = (t: Extract<Term, { kind: 'concat' }>, ins: ReadonlyArray<Val>): Val[] => {
    const lengths = t.pieces.map(dimPy)
    if (t.adjoint === true) {
      const v = ins[0] as Val
      let offset = '0'
      return t.pieces.map((d, i) => {
        const n = lengths[i] as string
        const from = offset
        offset = offset === '0' ? n : `${offset} + ${n}`
        return emit(t, `${v.name}[..., ${from}:${from === '0' ? n : `${from} + ${n}`}]`, v.levels, [
          d,
        ])
      })
    }
    const mask = levelAxes.map((_, l) => ins.some((v) => v.levels[l] as boolean))
    const batch = mask.flatMap((on, l) => (on ? (levelAxes[l] as Shape).map(dimPy) : []))
    const full = ins.map((v, i) => {
      if (v.levels.every((on, l) => on === mask[l])) return v.name
      const idx = mask.flatMap((on, l) =>
        on ? (levelAxes[l] as Shape).map(() => (v.levels[l] ? ':' : 'None')) : [],
      )
      const at = `${v.name}[${[...idx, '...'].join(', ')}]`
      return torch
        ? `${at}.expand(${[...batch, lengths[i] as string].join(', ')})`
        : `np.broadcast_to(${at}, ${tuple([...batch, lengths[i] as string])})`
    })
    const expr = torch
      ? `torch.cat([${full.join(', ')}], dim=-1)`
      : `np.concatenate([${full.join(', ')}], axis=-1)`
    return [emit(t, expr, mask, t.cod[0] as Shape)]
  }

  /** A convolution or pooling box as one native call (`./native.ts`), channels last. */
  const lowerNative = (t: Extract<Term, { kind: 'box' }>, op: NativeOp, v: Val): Val => {
    const ints = (xs: ReadonlyArray<number>): string => tuple(xs.map(String))
    const pads = `[${op.padding.map((p) => `(${p[0]}, ${p[1]})`).join(', ')}]`
    const at = `${v.name}, ${nb(v)}`
    if (op.kind === 'conv') {
      const read = (q: { readonly name: string; readonly shape: Shape }): string => {
        params.set(q.name, q.shape)
        return `p[${JSON.stringify(q.name)}]`
      }
      const bias = op.bias === undefined ? 'None' : read(op.bias)
      const expr = `_native_conv(${at}, ${read(op.weight)}, ${bias}, ${ints(op.stride)}, ${pads}, ${ints(op.dilation)})`
      return emit(t, expr, v.levels, t.cod[0] as Shape)
    }
    const kind = op.reduce === 'max' ? "'max'" : "'avg'"
    const expr = `_native_pool(${kind}, ${at}, ${tuple(op.kernel.map(dimPy))}, ${ints(op.stride)}, ${pads}, ${ints(op.dilation)})`
    return emit(t, expr, v.levels, t.cod[0] as Shape)
  }

  const permuteCall = (x: string, order: ReadonlyArray<number>): string =>
    torch ? `${x}.permute(${order.join(', ')})` : `np.transpose(${x}, ${tuple(order.map(String))})`

  const lowerBroadcast = (
    t: Extract<Term, { kind: 'broadcast' }>,
    ins: ReadonlyArray<Val>,
  ): Val[] => {
    const p = t.axes.length
    const depth = levelAxes.length
    const enter = ins.map((v, i): Val => {
      const at = t.inputs[i] as number | 'shared'
      if (at === 'shared') return { name: v.name, levels: [...v.levels, false] }
      const lead = nb(v)
      const rank = lead + (t.body.dom[i] as Shape).length + p
      if (at === 0) return { name: v.name, levels: [...v.levels, true] }
      const order = [
        ...range(0, lead),
        ...range(lead + at, lead + at + p),
        ...range(lead, lead + at),
        ...range(lead + at + p, rank),
      ]
      const name = fresh()
      lines.push(
        `${name} = ${permuteCall(v.name, order)}  # broadcast axes ${showShape(t.axes)} first`,
      )
      return { name, levels: [...v.levels, true] }
    })
    levelAxes.push(t.axes)
    const outs = run(t.body, enter)
    levelAxes.pop()
    return outs.map((w, i): Val => {
      const at = t.outputs[i] as number
      const levels = w.levels.slice(0, depth)
      const lead = nb({ name: w.name, levels })
      const row = t.body.cod[i] as Shape
      const name = fresh()
      if (w.levels[depth] === true) {
        if (at === 0) return { name: w.name, levels }
        const order = [
          ...range(0, lead),
          ...range(lead + p, lead + p + at),
          ...range(lead, lead + p),
          ...range(lead + p + at, lead + p + row.length),
        ]
        lines.push(
          `${name} = ${permuteCall(w.name, order)}  # broadcast axes ${showShape(t.axes)} back`,
        )
        return { name, levels }
      }
      // Constant along the broadcast axes: a stride-0 view, as the evaluator's gather.
      const idx = [...range(0, lead + at).map(() => ':'), ...t.axes.map(() => 'None'), '...']
      const shape = [
        ...levels.flatMap((on, l) => (on ? (levelAxes[l] as Shape).map(dimPy) : [])),
        ...row.slice(0, at).map(dimPy),
        ...t.axes.map(dimPy),
        ...row.slice(at).map(dimPy),
      ]
      const expr = torch
        ? `${w.name}[${idx.join(', ')}].expand(${shape.join(', ')})`
        : `np.broadcast_to(${w.name}[${idx.join(', ')}], ${tuple(shape)})`
      lines.push(`${name} = ${expr}  # constant along ${showShape(t.axes)}`)
      return { name, levels }
    })
  }

  const outs = run(
    term,
    inputs.map((name) => ({ name, levels: [] })),
  )
  return { lines, params, outputs: outs.map((v) => v.name) }
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i)
