// Enforces the layer rules of DESIGN.md §1: code under src/ names no runtime API (Deno, Bun,
// process, Buffer, WebSocket, node:*, cloudflare:*) and imports no transport statically.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import process from "node:process";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

const forbidden: { pattern: RegExp; why: string }[] = [
  { pattern: /\b(Deno|Bun|process|Buffer|WebSocket)\b/, why: "names a runtime global" },
  { pattern: /["'](node|cloudflare|bun):/, why: "imports a runtime module" },
  {
    pattern: /from\s+["'][./]*\/transports\/(?!auto\.ts)/,
    why: "imports a transport (only transports/auto.ts, lazily, via core/default_connect.ts)",
  },
];

/** Blanks out comments so that prose may mention runtimes; keeps line numbers. */
export function stripComments(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, (block) => block.replace(/[^\n]/g, " "))
    .replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

/** Returns one message per violation found in the .ts files under `dir`. */
export function checkTree(dir: string): string[] {
  const problems: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      problems.push(...checkTree(path));
      continue;
    }
    if (!name.endsWith(".ts")) continue;
    const lines = stripComments(readFileSync(path, "utf8")).split("\n");
    lines.forEach((line, index) => {
      for (const { pattern, why } of forbidden) {
        const match = pattern.exec(line);
        if (match) {
          problems.push(`${relative(root, path)}:${index + 1}: ${why}: ${match[0].trim()}`);
        }
      }
    });
  }
  return problems;
}

if (import.meta.main ?? process.argv[1]?.endsWith("check_boundaries.ts")) {
  const problems = checkTree(join(root, "src"));
  for (const p of problems) console.error(p);
  console.log(
    problems.length === 0
      ? "check_boundaries: src/ is runtime-neutral"
      : `check_boundaries: ${problems.length} violation(s); only transports/ may name runtime APIs`,
  );
  process.exitCode = problems.length === 0 ? 0 : 1;
}
