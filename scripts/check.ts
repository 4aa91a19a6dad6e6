// The quality gates CI runs before the tests: deno lint, deno fmt --check, deno check of every
// module, the layer boundary check, tsc over the npm entry points, and tsc of the Bun transport's
// type slice against bun-types.
// Usage: npm run check

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const bin = (name: string): string => join(root, "node_modules", ".bin", name);

const gates: [string, string, string[]][] = [
  ["deno lint", bin("deno"), ["lint"]],
  ["deno fmt --check", bin("deno"), ["fmt", "--check"]],
  ["deno check", bin("deno"), [
    "check",
    "mod.ts",
    "src/",
    "transports/",
    "otel/",
    "instrumentation/",
    "test/",
    "scripts/",
  ]],
  ["check_boundaries", bin("tsx"), ["scripts/check_boundaries.ts"]],
  ["tsc (npm build types)", bin("tsc"), ["--noEmit", "-p", "tsconfig.json"]],
  ["tsc (Bun's types fit transports/_bun_types.ts)", bin("tsc"), [
    "-p",
    "scripts/bun_types/tsconfig.json",
  ]],
];

let failed = 0;
for (const [name, cmd, args] of gates) {
  const started = performance.now();
  const result = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: process.env });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const ok = result.status === 0;
  if (!ok) failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name} (${seconds} s)`);
}
console.log(`${gates.length - failed} of ${gates.length} quality gates passed`);
process.exitCode = failed === 0 ? 0 : 1;
