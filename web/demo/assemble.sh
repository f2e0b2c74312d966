#!/usr/bin/env bash
# Lays out the static site: the boards demo at / (as Vite built it), and the
# dbrs package laid out for pages without a bundler (the shim, dbrs.wasm,
# wasm_exec.js and @msgpack/msgpack), so that any plain static file server
# serving <outdir> runs the demo and the test pages.
#
# Usage: web/demo/assemble.sh <outdir>
#
# Needs both builds first (make site runs them):
#   make js-pkg                          js/dist: the shim, dbrs.wasm, wasm_exec.js
#   (cd web/demo && npm ci && npm run build)   web/demo/dist: the demo, by Vite
#
# Result:
#   <outdir>/index.html                   the demo page (web/demo/dist)
#   <outdir>/assets/*                     its bundle, CSS, wasm_exec chunk and dbrs-<hash>.wasm
#   <outdir>/dbrs/*.js                    the shim (js/dist, no .d.ts)
#   <outdir>/dbrs/dbrs.wasm               the engine
#   <outdir>/dbrs/wasm_exec.js            Go's loader
#   <outdir>/vendor/msgpack/**/*.mjs      @msgpack/msgpack's ESM build
# Every .wasm, .js, .mjs and .css file of 1 KiB or more gets precompressed
# siblings (.br, .gz). A page without a bundler loads the shim with an
# import map: "dbrs" → ./dbrs/index.js and "@msgpack/msgpack" →
# ./vendor/msgpack/index.mjs (the e2e tests' /e2e.html does; bench/browser
# bundles these files into one module first, as an app's build would).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 <outdir>" >&2
  exit 2
fi
out=$1

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
msgpack="$repo/js/node_modules/@msgpack/msgpack/dist.esm"

die() { echo "assemble.sh: $*" >&2; exit 1; }

for f in index.js dbrs.wasm wasm_exec.js; do
  [ -f "$repo/js/dist/$f" ] || die "js/dist/$f is missing: run make js-pkg"
done
[ -f "$msgpack/index.mjs" ] || die "@msgpack/msgpack is missing: run (cd js && npm ci)"
[ -f "$here/dist/index.html" ] || die "web/demo/dist is missing: run (cd web/demo && npm ci && npm run build)"

# Refuse to wipe a folder this script did not make.
case "$(cd "$(dirname "$out")" 2>/dev/null && pwd)/$(basename "$out")" in
  / | "$repo" | "$HOME") die "refusing to use $out as the output folder" ;;
esac
if [ -d "$out" ] && [ -n "$(ls -A "$out")" ] && [ ! -f "$out/.dbrs-site" ]; then
  die "$out exists, is not empty and was not made by this script; remove it first"
fi

rm -rf "$out"
mkdir -p "$out/dbrs" "$out/vendor/msgpack"
out=$(cd "$out" && pwd) # absolute: the msgpack copy below runs in another folder
touch "$out/.dbrs-site"

cp -R "$here"/dist/. "$out/"
cp "$repo"/js/dist/*.js "$repo/js/dist/dbrs.wasm" "$out/dbrs/"
(cd "$msgpack" && find . -name '*.mjs' -print0 | while IFS= read -r -d '' f; do
  mkdir -p "$out/vendor/msgpack/$(dirname "$f")"
  cp "$f" "$out/vendor/msgpack/$f"
done)
# The copied modules end with sourceMappingURL comments whose .map files we
# leave out; drop the comments so browsers do not request them.
find "$out/vendor/msgpack" -name '*.mjs' -exec sed -i.bak '/^\/\/# sourceMappingURL=/d' {} + 
find "$out/vendor/msgpack" -name '*.bak' -delete

# Precompressed siblings of the files worth it, as a production server
# would keep them: cmd/serve sends name.br or name.gz with its
# Content-Encoding. Node's zlib does both (Node is a build dependency anyway).
node -e '
const fs = require("fs"), path = require("path"), zlib = require("zlib"), crypto = require("crypto");
const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
const done = new Map(); // content hash → compressed forms: dbrs.wasm is there twice
for (const f of walk(process.argv[1])) {
  if (!/\.(wasm|js|mjs|css)$/.test(f)) continue;
  const raw = fs.readFileSync(f);
  if (raw.length < 1024) continue;
  const sum = crypto.createHash("sha256").update(raw).digest("hex");
  if (!done.has(sum)) done.set(sum, {
    br: zlib.brotliCompressSync(raw, { params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length } }),
    gz: zlib.gzipSync(raw, { level: 9 }),
  });
  fs.writeFileSync(f + ".br", done.get(sum).br);
  fs.writeFileSync(f + ".gz", done.get(sum).gz);
}' "$out"

echo "assembled $out:"
(cd "$out" && find . -type f ! -name .dbrs-site ! -name '*.br' ! -name '*.gz' | sort | sed 's/^\.\//  /')
