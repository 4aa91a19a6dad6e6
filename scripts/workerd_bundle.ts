// Bundles code for Cloudflare Workers the way wrangler does (esbuild, ESM, "workerd" condition)
// and measures it: the e2e test's Worker, the tsup Workers build, and the size report.
// Usage: tsx scripts/workerd_bundle.ts   (after the build: prints the minified and gzipped size
// of a Worker importing each protocol entry and the otel and diagnostics-channel entries, fails
// if a Node built-in is reachable there, and fails if any built entry, ESM or CJS, needs a bare
// `net`/`tls`/... in a neutral bundle or reaches `@opentelemetry/api` outside the otel entry)

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
  options: { minify?: boolean; swapAuto?: boolean; external?: string[] } = {},
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
    external: ["cloudflare:*", ...(options.external ?? [])],
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

/**
 * Bundles every file the package exports (ESM, CJS and Workers builds, from package.json) the
 * way a neutral or edge bundler does, with only `node:*`, `cloudflare:*` and the optional peer
 * `@opentelemetry/api` external, and returns one line per problem: a bare built-in such as `net`
 * does not resolve there, and only the otel entry may reach `@opentelemetry/api`.
 *
 * @example
 * ```ts
 * const problems = await neutralBundleProblems(); // [] when every entry bundles
 * ```
 */
export async function neutralBundleProblems(): Promise<string[]> {
  const { readFileSync } = await import("node:fs");
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const files = new Set<string>();
  const collect = (value: unknown): void => {
    if (typeof value === "string") {
      if (/\.(c|m)?js$/.test(value)) files.add(value);
    } else if (value !== null && typeof value === "object") {
      for (const [key, inner] of Object.entries(value)) if (key !== "types") collect(inner);
    }
  };
  collect(pkg.exports);
  const problems: string[] = [];
  for (const file of [...files].sort()) {
    try {
      const { metafile } = await build({
        entryPoints: [join(root, file)],
        bundle: true,
        write: false,
        platform: "neutral",
        format: "esm",
        mainFields: ["module", "main"],
        external: ["node:*", "cloudflare:*", OTEL_API],
        metafile: true,
        logLevel: "silent",
        absWorkingDir: root,
      });
      const reachesApi = Object.values(metafile.inputs).some((input) =>
        input.imports.some((imported) => imported.external && imported.path === OTEL_API)
      );
      if (reachesApi && !/(^|\/)otel\.(c|m)?js$/.test(file)) {
        problems.push(`${file}: reaches ${OTEL_API}, which only the otel entry may import`);
      }
    } catch (error) {
      const errors = (error as { errors?: { text: string }[] }).errors ?? [{ text: String(error) }];
      for (const e of errors) problems.push(`${file}: ${e.text}`);
    }
  }
  return problems;
}

/** The optional peer dependency of the otel entry: external in every bundle. */
const OTEL_API = "@opentelemetry/api";

/**
 * The entries whose Worker bundle size the script prints: the export imported, and what may stay
 * external besides `cloudflare:*` (the OTel API is the user's; diagnostics_channel needs the
 * `nodejs_compat` flag).
 */
const measured: Record<string, { name: string; external?: string[] }> = {
  redis: { name: "RedisClient" },
  memcache: { name: "MemcacheClient" },
  etcd: { name: "EtcdClient" },
  pegasus: { name: "PegasusClient" },
  tstorage: { name: "TStorageClient" },
  otel: { name: "instrumentKvwire", external: [OTEL_API] },
  "diagnostics-channel": { name: "publishDiagnostics", external: ["node:diagnostics_channel"] },
};

if (import.meta.main ?? process.argv[1]?.endsWith("workerd_bundle.ts")) {
  const { mkdirSync, writeFileSync } = await import("node:fs");
  mkdirSync(join(root, ".tmp"), { recursive: true });
  const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
  for (const [name, { name: client, external = [] }] of Object.entries(measured)) {
    // What a Worker that imports one protocol entry from the built package gets.
    const entry = join(".tmp", `workerd_entry_${name}.mjs`);
    writeFileSync(
      join(root, entry),
      `import { ${client} } from "kvwire/${name}";\n` +
        `export default { fetch() { return new Response(String(${client}.name)); } };\n`,
    );
    try {
      const bundle = await bundleForWorkerd(entry, { minify: true, swapAuto: false, external });
      console.log(
        `workerd bundle of kvwire/${name}: ${kib(bundle.bytes)} minified, ` +
          `${kib(bundle.gzipBytes)} gzipped; externals: ${bundle.externals.join(", ") || "none"}`,
      );
      const node = bundle.externals.filter((e) =>
        !e.startsWith("cloudflare:") && !external.includes(e)
      );
      if (node.length > 0) {
        console.error(`Not allowed in a Worker bundle: ${node.join(", ")}`);
        process.exitCode = 1;
      }
    } catch (error) {
      console.error(
        `The workerd bundle of kvwire/${name} failed (a Node built-in reachable?): ${error}`,
      );
      process.exitCode = 1;
    }
  }
  const problems = await neutralBundleProblems();
  for (const problem of problems) console.error(`neutral bundle: ${problem}`);
  if (problems.length > 0) process.exitCode = 1;
  else {
    console.log(
      `neutral bundles: every exported file bundles (node:*, cloudflare:*, ${OTEL_API} external)`,
    );
  }
}
