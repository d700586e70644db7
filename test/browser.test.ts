/**
 * A real browser (issue 10, section 4): Debian's chromium, driven by playwright-core, opens
 * rendered proof pages from local files and checks what a reader sees: every step's SVG is
 * visible with a non-zero size, no SVG, caption or page overflows its frame, and no drawn
 * element of a diagram (as the browser lays out its text and shapes) lies outside the SVG's
 * own box. A screenshot of each page is saved to a temporary folder (printed; never committed).
 *
 * `.ci/run` installs chromium when it is missing, so CI runs this for real; elsewhere, without
 * chromium, the test is skipped with a message. As root, chromium needs `--no-sandbox`.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { proofFromJson } from '../src/io/proof.js'
import { renderProof } from '../src/render/page.js'

const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium'
const have = existsSync(CHROMIUM)
if (!have && process.env['CI'] === 'true')
  throw new Error(`the browser test needs chromium at ${CHROMIUM} in CI (.ci/run installs it)`)
if (!have) console.warn(`browser.test.ts: skipped, no chromium at ${CHROMIUM}`)

const PROOFS = ['snake-fig20', 'mha-heads-fig23', 'backprop-layer-fig33-37']
const out = mkdtempSync(join(tmpdir(), 'ncd-browser-'))

const pageFile = (name: string): string => {
  const text = readFileSync(
    resolve(import.meta.dirname, `../proofs/json/${name}.proof.json`),
    'utf8',
  )
  const p = proofFromJson(text)
  if (E.isLeft(p)) throw new Error(`${name} does not decode`)
  const file = join(out, `${name}.html`)
  writeFileSync(file, renderProof(p.right))
  return file
}

/** What the page reports about itself, measured in the browser. */
interface Report {
  readonly steps: number
  readonly stepSvgs: ReadonlyArray<{ w: number; h: number; visible: boolean }>
  readonly overflows: ReadonlyArray<string>
}

/**
 * The measurements, run in the page. Plain JavaScript in a string: the project type-checks
 * against Node's library only (no DOM types), and this code runs in the browser, not in Node.
 */
const MEASURE = `(() => {
  const overflows = []
  const r = (e) => e.getBoundingClientRect()
  const inside = (a, b, slack = 0.5) =>
    a.left >= b.left - slack &&
    a.right <= b.right + slack &&
    a.top >= b.top - slack &&
    a.bottom <= b.bottom + slack
  const doc = document.documentElement
  if (doc.scrollWidth > doc.clientWidth + 1)
    overflows.push(\`the page is \${doc.scrollWidth} px wide in \${doc.clientWidth}\`)
  document.querySelectorAll('.frame').forEach((frame, i) => {
    const svg = frame.querySelector('svg')
    if (svg === null) return
    if (!inside(r(svg), r(frame))) overflows.push(\`frame \${i}: its svg overflows it\`)
    if (frame.scrollWidth > frame.clientWidth + 1)
      overflows.push(
        \`frame \${i}: content \${frame.scrollWidth} px wide in \${frame.clientWidth}\`,
      )
    // Every drawn element inside the SVG's own box, as the browser lays it out.
    const box = r(svg)
    svg.querySelectorAll('text, rect, line, path, circle').forEach((el) => {
      if (!inside(r(el), box, 1))
        overflows.push(
          \`frame \${i}: a \${el.tagName} \${(el.textContent ?? '').slice(0, 20)} lies outside the drawing\`,
        )
    })
  })
  document.querySelectorAll('pre, h1, h3').forEach((el, i) => {
    if (el.scrollWidth > el.clientWidth + 1)
      overflows.push(
        \`text \${i} (\${el.tagName}) overflows: \${el.scrollWidth} > \${el.clientWidth}\`,
      )
  })
  const steps = [...document.querySelectorAll('section.step')]
  const stepSvgs = steps.map((s) => {
    const svg = s.querySelector('svg')
    if (svg === null) return { w: 0, h: 0, visible: false }
    const b = r(svg)
    const style = getComputedStyle(svg)
    return {
      w: b.width,
      h: b.height,
      visible: style.visibility === 'visible' && style.display !== 'none',
    }
  })
  return { steps: steps.length, stepSvgs, overflows }
})()`

describe.skipIf(!have)('proof pages in chromium', () => {
  let browser: Browser
  beforeAll(async () => {
    const root = typeof process.getuid === 'function' && process.getuid() === 0
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: root ? ['--no-sandbox'] : [],
    })
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
  })

  it('the measurements catch a label outside its drawing and a caption too wide', async () => {
    const html = readFileSync(pageFile('snake-fig20'), 'utf8')
    const broken = html
      .replace(/(<section class="step"[\s\S]*?<text x=")[^"]*"/, '$1-60"')
      .replace('pre{white-space:pre-wrap;', 'pre{white-space:pre;')
    const file = join(out, 'broken.html')
    writeFileSync(file, broken)
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await page.goto(pathToFileURL(file).href)
    const report = (await page.evaluate(MEASURE)) as Report
    await page.close()
    expect(report.overflows.join('\n')).toMatch(/a text .* lies outside the drawing/)
    expect(report.overflows.join('\n')).toMatch(/\(PRE\) overflows/)
  })

  for (const name of PROOFS)
    it(`${name}: every step drawn, visible, nothing overflows`, async () => {
      const file = pageFile(name)
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
      await page.goto(pathToFileURL(file).href)
      const report = (await page.evaluate(MEASURE)) as Report
      const expected = JSON.parse(
        readFileSync(resolve(import.meta.dirname, `../proofs/json/${name}.proof.json`), 'utf8'),
      ) as { steps: unknown[] }
      expect(report.steps).toBe(expected.steps.length)
      for (const s of report.stepSvgs) {
        expect(s.visible).toBe(true)
        expect(s.w).toBeGreaterThan(20)
        expect(s.h).toBeGreaterThan(10)
      }
      // Playwright's own visibility: non-empty box, not hidden.
      const svgs = page.locator('section.step svg')
      for (let i = 0; i < (await svgs.count()); i++)
        expect(await svgs.nth(i).isVisible()).toBe(true)
      expect(report.overflows).toEqual([])
      const shot = join(out, `${name}.png`)
      await page.screenshot({ path: shot, fullPage: true })
      expect(existsSync(shot)).toBe(true)
      console.log(`browser.test.ts: screenshot ${shot}`)
      await page.close()
    }, 120_000)
})
