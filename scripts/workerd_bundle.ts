// Bundles code for Cloudflare Workers the way wrangler does (esbuild, ESM, "workerd" condition)
// and measures it: the e2e test's Worker, the tsup Workers build, and the size report.
// Usage: tsx scripts/workerd_bundle.ts   (bundles the built "kvwire/redis" for workerd, prints
// its minified and gzipped size, fails if a Node built-in is reachable)

import { build, type Plugin } from "esbuild";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import process from "node:process";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

/**
 * Swaps transports/auto.ts for transports/auto_workerd.ts: the lazy default connector of the
 * clients (src/core/default_connect.ts) then reaches only `cloudflare:sockets`.
 */
export const workerdAutoPlugin: Plugin = {
  name: "kvwire-workerd-auto",
  setup(b) {
    b.onResolve({ filter: /(^|\/)transports\/auto\.ts$/ }, (args) => ({
      path: join(args.resolveDir, args.path.replace(/auto\.ts$/, "auto_workerd.ts")),
    }));
  },
};

/** What {@link bundleForWorkerd} returns. */
export interface WorkerdBundle {
  code: string;
  /** Every module specifier left external (only `cloudflare:*` is allowed). */
  externals: string[];
  bytes: number;
  gzipBytes: number;
}

/**
 * Bundles an entry for workerd. Node built-ins are not external, so reaching one fails the
 * build; `cloudflare:*` stays external as wrangler leaves it.
 *
 * @example
 * ```ts
 * const { code } = await bundleForWorkerd("test/e2e/worker/worker.ts");
 * ```
 */
export async function bundleForWorkerd(
  entry: string,
  options: { minify?: boolean; swapAuto?: boolean } = {},
): Promise<WorkerdBundle> {
  const result = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser", "import"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*"],
    minify: options.minify ?? false,
    metafile: true,
    logLevel: "silent",
    plugins: options.swapAuto === false ? [] : [workerdAutoPlugin],
    absWorkingDir: root,
  });
  const code = result.outputFiles[0].text;
  const externals = new Set<string>();
  for (const input of Object.values(result.metafile.inputs)) {
    for (const imported of input.imports) if (imported.external) externals.add(imported.path);
  }
  const bytes = new TextEncoder().encode(code);
  return {
    code,
    externals: [...externals].sort(),
    bytes: bytes.length,
    gzipBytes: gzipSync(bytes).length,
  };
}

if (import.meta.main ?? process.argv[1]?.endsWith("workerd_bundle.ts")) {
  // What a Worker that imports "kvwire/redis" from the built package gets.
  const entry = join(".tmp", "workerd_entry.mjs");
  const { mkdirSync, writeFileSync } = await import("node:fs");
  mkdirSync(join(root, ".tmp"), { recursive: true });
  writeFileSync(
    join(root, entry),
    'import { RedisClient } from "kvwire/redis";\n' +
      "export default { async fetch() { const r = await RedisClient.connect(); " +
      "return new Response(String(await r.ping())); } };\n",
  );
  try {
    const bundle = await bundleForWorkerd(entry, { minify: true, swapAuto: false });
    const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
    console.log(
      `workerd bundle of kvwire/redis: ${kib(bundle.bytes)} minified, ` +
        `${kib(bundle.gzipBytes)} gzipped; externals: ${bundle.externals.join(", ") || "none"}`,
    );
    const node = bundle.externals.filter((e) => !e.startsWith("cloudflare:"));
    if (node.length > 0) {
      console.error(`Not allowed in a Worker bundle: ${node.join(", ")}`);
      process.exitCode = 1;
    }
  } catch (error) {
    console.error(`The workerd bundle failed (a Node built-in reachable?): ${error}`);
    process.exitCode = 1;
  }
}
