/**
 * The rendered figures of docs/ (issue 10, section 5): scaled dot-product attention (Fig. 22),
 * multi-head attention (Fig. 23), the snake (Fig. 20), and the proof page of Fig. 20's snake
 * identities, each drawn from its term by src/render. Run with `npm run figures`;
 * test/figures.test.ts checks that the committed files are what this writes.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import {
  attention,
  broadcast,
  cup,
  multiHeadAttention,
  proofFromJson,
  render,
  renderProof,
  seq,
  unit,
} from '../src/index.js'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')

/** The figures: a path under the repository and its content. */
export const figures = (): ReadonlyArray<readonly [string, string]> => {
  const snakeProof = proofFromJson(
    fs.readFileSync(path.join(root, 'proofs/json/snake-fig20.proof.json'), 'utf8'),
  )
  if (E.isLeft(snakeProof)) throw new Error('proofs/json/snake-fig20.proof.json does not decode')
  const width = ['x', 'y']
  return [
    ['docs/attention.svg', render(attention({ y: 'y', x: 'x', k: 'k' }), { expand: 'all', width })],
    [
      'docs/multi-head-attention.svg',
      render(multiHeadAttention({ y: 'y', x: 'x', m: 'm', k: 'k', h: 'h' }), {
        expand: ['MultiHeadAttention', 'Attention'],
        width,
      }),
    ],
    [
      'docs/snake.svg',
      render(seq(broadcast(unit('a'), ['a']), broadcast(cup('a'), ['a'], { at: 'last' }))),
    ],
    ['docs/proof-snake-fig20.html', renderProof(snakeProof.right)],
  ]
}

if (
  process.argv[1] !== undefined &&
  fileURLToPath(import.meta.url) === path.resolve(process.argv[1])
) {
  for (const [file, content] of figures()) {
    const full = path.join(root, file)
    fs.mkdirSync(path.dirname(full), { recursive: true })
    fs.writeFileSync(full, content.endsWith('\n') ? content : `${content}\n`)
    console.log(`wrote ${file}`)
  }
}
