// Builds the npm package: ESM + CJS + .d.ts for every public entry, no runtime dependencies;
// the kvwire-tunnel bin (ESM); and dist/workerd/, the Workers build that the package's
// "workerd" export condition selects: there transports/auto.ts is swapped for
// transports/auto_workerd.ts and Node built-ins are not external, so reaching one fails the build.
// `@opentelemetry/api` (an optional peer of the otel entry) stays external everywhere.
import { defineConfig } from "tsup";
import { workerdAutoPlugin } from "./scripts/workerd_bundle.ts";

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
  "transports/cloudflare": "transports/cloudflare.ts",
  "transports/websocket": "transports/websocket.ts",
  tunnel: "src/tunnel/mod.ts",
  "tunnel/server": "transports/tunnel_server.ts",
  otel: "otel/mod.ts",
  "diagnostics-channel": "instrumentation/diagnostics_channel.ts",
};

/** Entries of the Workers build: everything that can run in workerd. */
export const workerdEntries: Record<string, string> = Object.fromEntries(
  Object.entries(entries).filter(([name]) =>
    !["transports/node", "transports/deno", "transports/bun", "tunnel/server"].includes(name)
  ),
);

export default defineConfig([
  {
    entry: entries,
    format: ["esm", "cjs"],
    dts: true,
    clean: ["!workerd/**"],
    sourcemap: true,
    target: "es2022",
    platform: "neutral",
    splitting: true,
    treeshake: true,
    // Class names as written: `err.name` is `EtcdV2Error`, not esbuild's `_EtcdV2Error`.
    keepNames: true,
    // Keep `node:net` as written: tsup would strip the prefix, and neutral or edge bundlers
    // then fail on a bare `net` (scripts/workerd_bundle.ts checks every entry).
    removeNodeProtocol: false,
    external: [/^node:/, /^cloudflare:/],
  },
  {
    entry: { "bin/kvwire-tunnel": "scripts/tunnel.ts" },
    format: ["esm"],
    dts: false,
    clean: false,
    target: "es2022",
    platform: "node",
    splitting: false,
    treeshake: true,
    // Class names as written: `err.name` is `EtcdV2Error`, not esbuild's `_EtcdV2Error`.
    keepNames: true,
    removeNodeProtocol: false,
    external: [/^node:/],
  },
  {
    entry: workerdEntries,
    outDir: "dist/workerd",
    format: ["esm"],
    dts: false,
    clean: true,
    sourcemap: true,
    target: "es2022",
    platform: "neutral",
    splitting: true,
    treeshake: true,
    // Class names as written: `err.name` is `EtcdV2Error`, not esbuild's `_EtcdV2Error`.
    keepNames: true,
    // `node:diagnostics_channel` (Workers with `nodejs_compat`) is the one built-in allowed here:
    // only the diagnostics-channel entry reaches it.
    removeNodeProtocol: false,
    external: [/^cloudflare:/, "node:diagnostics_channel"],
    esbuildPlugins: [workerdAutoPlugin],
  },
]);
