#!/usr/bin/env bash
# Lays out the static site: the boards demo at /, the dbrs shim, msgpack,
# wasm_exec.js and dbrs.wasm, so that any plain static file server serving
# <outdir> runs the demo.
#
# Usage: web/demo/assemble.sh <outdir> <path/to/dbrs.wasm> [path/to/wasm_exec.js]
#
# wasm_exec.js must come from the Go release that built dbrs.wasm; by
# default it is taken from $WASM_EXEC, else from $(go env GOROOT)/lib/wasm
# (Go >= 1.24) or misc/wasm (older).
#
# Needs both builds first:
#   (cd js && npm ci && npm run build)
#   (cd web/demo && npm ci && npm run build)
#
# Result:
#   <outdir>/index.html, style.css        the demo page
#   <outdir>/app/*.js                     the demo (web/demo/dist)
#   <outdir>/dbrs/*.js                    the shim (js/dist, no .d.ts)
#   <outdir>/dbrs/dbrs.wasm               the engine (and .br, .gz: precompressed)
#   <outdir>/dbrs/wasm_exec.js            Go's loader (and .br, .gz)
#   <outdir>/vendor/msgpack/**/*.mjs      @msgpack/msgpack's ESM build
# index.html's import map points "dbrs" at ./dbrs/index.js and
# "@msgpack/msgpack" at ./vendor/msgpack/index.mjs. The shim finds
# dbrs.wasm and wasm_exec.js next to itself (its defaults), so other pages
# in the same folder can `import { open } from './dbrs/index.js'` with the
# same import map entry for @msgpack/msgpack.
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 <outdir> <dbrs.wasm> [wasm_exec.js]" >&2
  exit 2
fi
out=$1
wasm=$2
wasm_exec=${3:-${WASM_EXEC:-}}

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
msgpack="$repo/js/node_modules/@msgpack/msgpack/dist.esm"

die() { echo "assemble.sh: $*" >&2; exit 1; }

[ -f "$wasm" ] || die "no dbrs.wasm at $wasm"
if [ -z "$wasm_exec" ]; then
  goroot=$(go env GOROOT 2>/dev/null) || die "go not found; pass wasm_exec.js as the third argument or set WASM_EXEC"
  for c in "$goroot/lib/wasm/wasm_exec.js" "$goroot/misc/wasm/wasm_exec.js"; do
    if [ -f "$c" ]; then wasm_exec=$c; break; fi
  done
  [ -n "$wasm_exec" ] || die "wasm_exec.js not found under $goroot"
fi
[ -f "$wasm_exec" ] || die "no wasm_exec.js at $wasm_exec"
[ -f "$repo/js/dist/index.js" ] || die "js/dist is missing: run (cd js && npm ci && npm run build)"
[ -f "$msgpack/index.mjs" ] || die "@msgpack/msgpack is missing: run (cd js && npm ci)"
[ -f "$here/dist/main.js" ] || die "web/demo/dist is missing: run (cd web/demo && npm ci && npm run build)"

# Refuse to wipe a folder this script did not make.
case "$(cd "$(dirname "$out")" 2>/dev/null && pwd)/$(basename "$out")" in
  / | "$repo" | "$HOME") die "refusing to use $out as the output folder" ;;
esac
if [ -d "$out" ] && [ -n "$(ls -A "$out")" ] && [ ! -f "$out/.dbrs-site" ]; then
  die "$out exists, is not empty and was not made by this script; remove it first"
fi

rm -rf "$out"
mkdir -p "$out/app" "$out/dbrs" "$out/vendor/msgpack"
out=$(cd "$out" && pwd) # absolute: the msgpack copy below runs in another folder
touch "$out/.dbrs-site"

cp "$here/index.html" "$here/style.css" "$out/"
cp "$here"/dist/*.js "$out/app/"
cp "$repo"/js/dist/*.js "$out/dbrs/"
cp "$wasm" "$out/dbrs/dbrs.wasm"
cp "$wasm_exec" "$out/dbrs/wasm_exec.js"
(cd "$msgpack" && find . -name '*.mjs' -print0 | while IFS= read -r -d '' f; do
  mkdir -p "$out/vendor/msgpack/$(dirname "$f")"
  cp "$f" "$out/vendor/msgpack/$f"
done)
# The copied modules end with sourceMappingURL comments whose .map files we
# leave out; drop the comments so browsers do not request them.
find "$out/vendor/msgpack" -name '*.mjs' -exec sed -i.bak '/^\/\/# sourceMappingURL=/d' {} + 
find "$out/vendor/msgpack" -name '*.bak' -delete

# Precompressed siblings of the big files, as a production server would
# keep them: cmd/serve sends name.br or name.gz with its Content-Encoding.
# Node's zlib does both (Node is a build dependency anyway).
node -e '
const fs = require("fs"), zlib = require("zlib");
for (const f of process.argv.slice(1)) {
  const raw = fs.readFileSync(f);
  fs.writeFileSync(f + ".br", zlib.brotliCompressSync(raw, { params: {
    [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length } }));
  fs.writeFileSync(f + ".gz", zlib.gzipSync(raw, { level: 9 }));
}' "$out/dbrs/dbrs.wasm" "$out/dbrs/wasm_exec.js"

echo "assembled $out:"
(cd "$out" && find . -type f ! -name .dbrs-site | sort | sed 's/^\.\//  /')
