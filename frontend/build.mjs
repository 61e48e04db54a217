// Bundles src/main.ts into static/frontend/dist/ for Django's staticfiles (ESM, one file).
import { build } from "esbuild";

await build({
  entryPoints: ["src/main.ts"],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  outdir: "static/frontend/dist",
  logLevel: "warning",
});
