// Bundles src/main.ts into static/frontend/dist/ for Django's staticfiles (ESM; lazily imported modules as chunks).
import { build } from "esbuild";

await build({
  entryPoints: ["src/main.ts"],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  outdir: "static/frontend/dist",
  // Lazily imported modules (clipboard SVG/PNG, the export dialog, ...) become chunks loaded on first use.
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  logLevel: "warning",
});
