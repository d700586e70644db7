#!/usr/bin/env bash
# The package as a user gets it (issue 9, "The command line"): `npm pack` the built package, install
# the tarball into an empty project, and check that
#   - `npx ncd help` prints the help and exits 0 (the bin is a symlink into node_modules),
#   - require() of it is refused (ESM only, as the README says),
#   - both entries, `neural-circuit-diagrams` and `neural-circuit-diagrams/testing` (with its peer
#     dependency fast-check), import from plain Node ESM and work,
#   - a consumer .ts type-checks with tsc under moduleResolution node16 and bundler,
#   - the tarball holds LICENSE and README.md (which points at nothing outside it), and every
#     source map's sources are in it.
# Needs `npm run build` first (CI runs it after the build). Installs from the npm cache when it can.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
fail() {
  echo "test-packed: $*" >&2
  exit 1
}
[ -f dist/src/index.js ] && [ -f dist/src/cli/main.js ] || fail "no dist/src: run 'npm run build' first"
tsc="$repo/node_modules/typescript/bin/tsc"
[ -f "$tsc" ] || fail "no TypeScript in node_modules: run 'npm ci' first"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ncd-packed.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tarball=$(npm pack --silent --pack-destination "$tmp")
tarball="$tmp/$tarball"

# What is in the tarball.
listing=$(tar -tzf "$tarball")
for f in package/LICENSE package/README.md package/package.json package/dist/src/index.js \
  package/dist/src/index.d.ts package/dist/src/testing/arbitraries.js; do
  grep -qxF "$f" <<<"$listing" || fail "the tarball lacks ${f#package/}"
done
# The README is read on its own (on the registry's page, in node_modules): no link out of the package.
if tar -xzOf "$tarball" package/README.md | grep -n '\.\./'; then
  fail "the README points at files outside the package (above)"
fi

app="$tmp/app"
mkdir "$app"
cd "$app"
cat >package.json <<'JSON'
{ "name": "ncd-consumer", "version": "0.0.0", "private": true, "type": "module" }
JSON
fcrange=$(node -p "require('$repo/package.json').peerDependencies['fast-check']")
npm install --prefer-offline --no-audit --no-fund --loglevel=error "$tarball" "fast-check@$fcrange" >/dev/null
for dep in fp-ts io-ts immer fast-check; do
  [ -f "node_modules/$dep/package.json" ] || fail "the install lacks the dependency $dep"
done
pkg="$app/node_modules/neural-circuit-diagrams"

# Every source map points at files the package ships.
node --input-type=module - "$pkg" <<'JS'
import { readFileSync, readdirSync, existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
const root = process.argv[2]
const maps = readdirSync(join(root, 'dist'), { recursive: true }).filter((f) => f.endsWith('.map'))
const missing = []
for (const m of maps) {
  const file = join(root, 'dist', m)
  const map = JSON.parse(readFileSync(file, 'utf8'))
  for (const s of map.sources) {
    const p = resolve(dirname(file), map.sourceRoot ?? '', s)
    if (!existsSync(p)) missing.push(`${m} -> ${s}`)
  }
}
if (maps.length === 0) {
  console.error('test-packed: the package has no source maps (the check below would pass vacuously)')
  process.exit(1)
}
if (missing.length > 0) {
  console.error(`test-packed: ${missing.length} source map sources are not in the package, e.g. ${missing[0]}`)
  process.exit(1)
}
console.log(`test-packed: ${maps.length} source maps, every source shipped`)
JS

# The installed command: a symlink in node_modules/.bin.
out=$(npx --no ncd help) || fail "'npx ncd help' exited $?"
grep -q 'ncd examples' <<<"$out" || fail "'npx ncd help' printed no help: '$out'"
set +e
npx --no ncd no-such-command >/dev/null 2>"$tmp/err"
code=$?
set -e
[ "$code" -eq 2 ] || fail "'npx ncd no-such-command' exited $code, not 2"
echo "test-packed: npx ncd help prints the help (exit 0), an unknown command exits 2"

# Both entries from plain Node ESM.
cat >use.mjs <<'JS'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { evaluate, equivalent, id, relu, scale, seq, showTyped } from 'neural-circuit-diagrams'
import { sizesArb } from 'neural-circuit-diagrams/testing'
const f = seq(scale(2, 'k'), relu('k'))
assert.equal(showTyped(f), showTyped(seq(scale(2, 'k'), relu('k'))))
const [y] = evaluate(f, { k: 3 }, [Float64Array.from([-1, 0.5, 2])])
assert.deepEqual(Array.from(y), [0, 1, 4])
assert.equal(equivalent(seq(relu('k'), id(['k'])), relu('k')).kind, 'proof')
assert.equal(equivalent(scale(2, 'k'), scale(3, 'k')).kind, 'counterexample')
const [s] = fc.sample(sizesArb(['a', 'b'], { max: 3 }), { numRuns: 1, seed: 1 })
assert.deepEqual(Object.keys(s).sort(), ['a', 'b'])
console.log('test-packed: both entries import and run from plain Node ESM')
JS
node use.mjs

# ESM only, as the README says: require() of the package is refused.
if node -e "require('neural-circuit-diagrams')" 2>"$tmp/err"; then
  fail "require('neural-circuit-diagrams') worked: the README says the package is ESM only"
fi
grep -q ERR_PACKAGE_PATH_NOT_EXPORTED "$tmp/err" || fail "require() failed otherwise: $(head -c 300 "$tmp/err")"

# A TypeScript consumer, under both module resolutions a user is likely to have.
cat >consumer.ts <<'TS'
import fc from 'fast-check'
import { evaluate, relu, seq, scale, showTyped, type Term } from 'neural-circuit-diagrams'
import { sizesArb } from 'neural-circuit-diagrams/testing'
const f: Term = seq(scale(2, 'k'), relu('k'))
const text: string = showTyped(f)
const out: ReadonlyArray<Float64Array> = evaluate(f, { k: 3 }, [new Float64Array(3)])
const sizes: fc.Arbitrary<Readonly<Record<string, number>>> = sizesArb(['a'])
export { text, out, sizes }
TS
for res in node16 bundler; do
  mod=$([ "$res" = node16 ] && echo node16 || echo esnext)
  cat >"tsconfig.$res.json" <<JSON
{
  "compilerOptions": {
    "target": "ES2022", "module": "$mod", "moduleResolution": "$res", "lib": ["ES2022"],
    "types": [], "strict": true, "noEmit": true
  },
  "files": ["consumer.ts"]
}
JSON
  node "$tsc" -p "tsconfig.$res.json" || fail "the consumer does not type-check under moduleResolution $res"
done
echo "test-packed: a consumer type-checks under moduleResolution node16 and bundler"
echo "test-packed: ok"
