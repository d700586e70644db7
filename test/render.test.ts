// The renderer (issue 10): every example and model draws, collapsed and expanded, as well-formed
// SVG whose layout data passes the geometric checks (wires per section = the type's axes, wire
// ends on ports, no overlapping labels or symbols); the checks themselves catch broken drawings;
// the drawing grows linearly; three small diagrams are kept as snapshots for review.
import { describe, expect, it } from 'vitest'
import { examples } from '../src/cli/examples.js'
import { broadcast, par, seq } from '../src/core/construct.js'
import { add, relu, scale, softmax } from '../src/core/primitives.js'
import { einsum } from '../src/linear/einsum.js'
import type { Term } from '../src/core/term.js'
import { attention, multiHeadAttention } from '../src/models/attention.js'
import { conv1d, conv2d, convTranspose1d, pool1d } from '../src/models/conv.js'
import { mlp } from '../src/models/mlp.js'
import { modelZoo } from '../src/models/registry.js'
import { checkDrawing } from '../src/render/check.js'
import { drawing, render } from '../src/render/render.js'
import { xmlProblems } from './xml.js'

const models: ReadonlyArray<[string, Term]> = [
  ['mlp', mlp({ input: 'h w', hidden: ['n', 'n'], output: 'c' })],
  ['attention', attention({ y: 'y', x: 'x', k: 'k' })],
  ['multi-head attention', multiHeadAttention({ y: 'y', x: 'x', m: 'm', k: 'k', h: 'h' })],
  [
    'conv1d',
    conv1d('C', { x: 'x', k: 'k', cIn: 'a', cOut: 'b', stride: 2, padding: [1, 1], bias: true }),
  ],
  ['conv2d', conv2d('C', { h: 'h', w: 'w', kh: 'p', kw: 'q', cIn: 'a', cOut: 'b', bias: true })],
  ['pool1d', pool1d('max', { x: 'x', k: 'k', c: 'c', stride: 2 })],
  ['convTranspose1d', convTranspose1d('T', { x: 'x', k: 'k', cIn: 'a', cOut: 'b', stride: 2 })],
]

const all: ReadonlyArray<[string, Term]> = [
  ...examples().map((e): [string, Term] => [e.title, e.term]),
  ...models,
  ...modelZoo().map((m): [string, Term] => [`${m.figure} ${m.names[0]}`, m.build()]),
]

describe('render', () => {
  for (const [name, term] of all)
    for (const expand of ['none', 'all'] as const)
      it(`${name} (${expand === 'none' ? 'collapsed' : 'expanded'})`, () => {
        const d = drawing(term, { expand })
        expect(checkDrawing(d)).toEqual([])
        expect(d.sections.length).toBeGreaterThanOrEqual(2)
        const svg = render(term, { expand })
        expect(xmlProblems(svg)).toEqual([])
        expect(svg).toContain(`width="${Math.round(d.width * 10) / 10}"`)
      })

  it('draws the input and output ports of the type, labelled, width axes overlined', () => {
    const t = seq(broadcast(softmax('x'), ['y']), relu('y x'))
    const d = drawing(t, { width: ['y'] })
    expect(d.inputs.map((p) => [p.label, p.overline])).toEqual([
      ['y', true],
      ['x', false],
    ])
    expect(d.outputs.map((p) => p.label)).toEqual(['y', 'x'])
    expect(d.labels.filter((l) => l.text === 'y').every((l) => l.overline)).toBe(true)
    expect(render(t, { width: ['y'] })).toContain('class="over"')
  })

  it('marks the shared segment of an inner broadcast and the symbols of the notation', () => {
    const inner = broadcast(add(['k']), ['x'], { inputs: [0, 'shared'] })
    const d = drawing(inner)
    expect(d.glyphs.map((g) => g.kind)).toContain('shared')
    const att = drawing(attention({ y: 'y', x: 'x', k: 'k' }), { expand: 'all' })
    const kinds = new Set(att.glyphs.map((g) => g.kind))
    for (const k of ['contract', 'scale', 'softmax']) expect(kinds).toContain(k)
    const mha = drawing(multiHeadAttention({ y: 'y', x: 'x', m: 'm', k: 'k', h: 'h' }), {
      expand: ['MultiHeadAttention'],
    })
    expect(mha.glyphs.filter((g) => g.kind === 'linear').map((g) => g.sup)).toEqual([
      'Q',
      'K',
      'V',
      'O',
    ])
    expect(mha.frames.filter((f) => f.kind === 'model').map((f) => f.title)).toEqual([
      'MultiHeadAttention',
    ])
  })

  it('draws a broadcast scalar map on the last axis wire, as Fig. 22 draws * k^-1/2', () => {
    const d = drawing(broadcast(scale(0.5), ['y', 'x']))
    const box = d.glyphs.find((g) => g.kind === 'scale')!
    const mid = box.y + box.h / 2
    const xs = d.wires.filter((w) => w.axis === 'x')
    // The x wire enters at the box's middle height, on both sides, and does not pass over it.
    expect(xs.every((w) => w.y0 === mid && w.y1 === mid)).toBe(true)
    const into = d.wires.filter((w) => w.y1 === mid && Math.abs(w.x1 - box.x) < 1e-9)
    const out = d.wires.filter((w) => w.y0 === mid && Math.abs(w.x0 - (box.x + box.w)) < 1e-9)
    expect([into.length, out.length]).toEqual([1, 1])
    const over = d.wires.filter(
      (w) =>
        w.x0 < box.x + box.w - 1e-6 &&
        w.x1 > box.x + 1e-6 &&
        w.y0 >= box.y &&
        w.y0 <= box.y + box.h,
    )
    expect(over).toEqual([])
    // The y wire passes above it.
    expect(d.wires.filter((w) => w.axis === 'y').every((w) => w.y0 < box.y)).toBe(true)
    expect(checkDrawing(d)).toEqual([])
  })

  it('marks a transpose (the wires of one tensor crossing) with a green frame, and nothing else', () => {
    const frames = (t: Term) => drawing(t).frames.filter((f) => f.kind === 'transpose')
    expect(frames(einsum('a b -> b a'))).toHaveLength(1)
    expect(frames(einsum('a b c -> a c b'))).toHaveLength(1)
    // The same order, or wires of two tensors side by side: no transpose.
    expect(frames(einsum('a b -> a b'))).toHaveLength(0)
    expect(frames(einsum('a, b -> b a'))).toHaveLength(0)
    expect(render(einsum('a b -> b a'))).toContain('class="frame transpose"')
  })

  it('the checks catch a missing wire, a dangling wire and an overlap', () => {
    const d = drawing(seq(relu('a b'), relu('a b')))
    expect(checkDrawing(d)).toEqual([])
    const someWire = d.wires.findIndex((w) => w.axis === 'b' && w.y0 === w.y1 && w.x1 - w.x0 > 10)
    const missing = { ...d, wires: d.wires.filter((_, i) => i !== someWire) }
    expect(checkDrawing(missing).join('\n')).toMatch(/section|no port/)
    const moved = {
      ...d,
      wires: d.wires.map((w, i) => (i === someWire ? { ...w, y1: w.y1 + 3 } : w)),
    }
    expect(checkDrawing(moved).join('\n')).toMatch(/no port/)
    const l = d.labels[0]!
    const overlap = { ...d, labels: [...d.labels, { ...l, box: { ...l.box, x: l.box.x + 1 } }] }
    expect(checkDrawing(overlap).join('\n')).toMatch(/overlaps/)
  })

  it('width grows linearly with the composition, height with the tuple', () => {
    const chain = (n: number): Term => seq(...Array.from({ length: n }, () => relu('a')))
    const w = (n: number) => drawing(chain(n)).width
    expect(w(40) - w(20)).toBeCloseTo(2 * (w(20) - w(10)), 6)
    expect(w(20)).toBeGreaterThan(w(10))
    const stackOf = (n: number): Term => par(...Array.from({ length: n }, () => relu('a')))
    const h = (n: number) => drawing(stackOf(n)).height
    expect(h(40) - h(20)).toBeCloseTo(2 * (h(20) - h(10)), 6)
    expect(h(20)).toBeGreaterThan(h(10))
    expect(drawing(stackOf(20)).width).toBe(drawing(stackOf(2)).width)
  })

  it('snapshots: the snake, the inner broadcast of Fig. 14, attention', async () => {
    const snake = examples().find((e) => e.title.startsWith('the snake'))!.term
    await expect(render(snake)).toMatchFileSnapshot('__snapshots__/snake.svg')
    const fig14 = broadcast(add(['k']), ['x'], { inputs: [0, 'shared'] })
    await expect(render(fig14, { width: ['x'] })).toMatchFileSnapshot(
      '__snapshots__/inner-broadcast.svg',
    )
    await expect(
      render(attention({ y: 'y', x: 'x', k: 'k' }), { expand: 'all', width: ['x', 'y'] }),
    ).toMatchFileSnapshot('__snapshots__/attention.svg')
  })
})
