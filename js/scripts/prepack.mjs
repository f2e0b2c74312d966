// Refuses to pack (npm pack, npm publish) a package that lacks a part:
// the compiled shim comes from `npm run build`, dbrs.wasm and Go's
// wasm_exec.js from the Go build (`make js-pkg` at the repository root
// copies both into dist/).
import { existsSync } from 'node:fs';

const need = {
  'dist/index.js': 'run npm run build',
  'dist/index.d.ts': 'run npm run build',
  'dist/dbrs.wasm': 'run make js-pkg at the repository root',
  'dist/wasm_exec.js': 'run make js-pkg at the repository root',
};
const missing = Object.entries(need).filter(([f]) => !existsSync(new URL('../' + f, import.meta.url)));
if (missing.length > 0) {
  for (const [f, fix] of missing) console.error(`dbrs: cannot pack: ${f} is missing (${fix})`);
  process.exit(1);
}
