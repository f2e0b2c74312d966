// Vite builds the demo from index.html into dist/, with relative asset
// URLs (base './') so that the folder runs from any path of any static
// server. dbrs.wasm and wasm_exec.js come from the dbrs package: Vite
// emits the first as an asset (the shim asks for it with
// new URL('./dbrs.wasm', import.meta.url)) and the second as a chunk.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // dbrs.wasm is an asset of its own, never inlined as a data: URL.
    assetsInlineLimit: 0,
    target: 'es2022',
  },
  // Dev server (npm run dev): serve dbrs as it is, not pre-bundled, so
  // that dbrs.wasm stays beside the shim (see js/README.md, Bundlers).
  optimizeDeps: { exclude: ['dbrs'] },
});
