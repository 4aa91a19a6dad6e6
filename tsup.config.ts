// Builds the npm package: ESM + CJS + .d.ts for every public entry, no runtime dependencies.
import { defineConfig } from "tsup";

export const entries: Record<string, string> = {
  mod: "mod.ts",
  redis: "src/redis/mod.ts",
  memcache: "src/memcache/mod.ts",
  etcd: "src/etcd/mod.ts",
  pegasus: "src/pegasus/mod.ts",
  tstorage: "src/tstorage/mod.ts",
  "transports/node": "transports/node.ts",
  "transports/deno": "transports/deno.ts",
  "transports/bun": "transports/bun.ts",
  "transports/memory": "transports/memory.ts",
  "transports/auto": "transports/auto.ts",
};

export default defineConfig({
  entry: entries,
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "es2022",
  platform: "neutral",
  splitting: true,
  treeshake: true,
  external: [/^node:/, /^cloudflare:/],
});
