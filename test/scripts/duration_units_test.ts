// Every duration option of every client says its unit in its JSDoc: milliseconds, except the
// few kept in seconds for seed compatibility, which say "seconds" (README "Units" lists them).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;

/** Options in seconds on purpose (redis-py's Lock): `file:name`. */
const seconds = new Set([
  "src/redis/lock.ts:timeout",
  "src/redis/lock.ts:sleep",
  "src/redis/lock.ts:blockingTimeout",
]);

/** Names that are a time to live or an expiry: seconds, as every server counts them. */
const ttlNames = new Set(["ttl", "ex", "expiresIn", "grantedTtl"]);

/** A property that holds a duration by its name. */
const duration =
  /^\s+(?:readonly\s+)?(\w*(?:[Tt]imeout|Delay|[Rr]etry|[Ii]nterval)|budgetWindow|sleep|ttl|ex|expiresIn|grantedTtl)\??:\s*number\b/;

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The JSDoc block that ends right above line `index`, or "". */
function docAbove(lines: string[], index: number): string {
  if (!lines[index - 1]?.trim().endsWith("*/")) return "";
  let start = index - 1;
  while (start > 0 && !lines[start].includes("/**")) start--;
  return lines.slice(start, index).join(" ");
}

test("every duration option's JSDoc names its unit: milliseconds, or seconds where listed", () => {
  const wrong: string[] = [];
  let checked = 0;
  for (const file of [...sources("src"), ...sources("transports")]) {
    const lines = readFileSync(join(root, file), "utf8").split("\n");
    lines.forEach((line, i) => {
      const name = duration.exec(line)?.[1];
      if (name === undefined) return;
      const doc = docAbove(lines, i);
      if (doc === "") return; // not a documented option (a local type or a class field)
      checked++;
      const inSeconds = seconds.has(`${file}:${name}`) || ttlNames.has(name);
      const unit = inSeconds ? /\bseconds?\b/i : /\bmilliseconds?\b|\bms\b/i;
      if (!unit.test(doc)) wrong.push(`${file}:${i + 1} ${name}: ${doc.trim()}`);
    });
  }
  assert.ok(checked > 20, `found the duration options (${checked})`);
  assert.deepEqual(wrong, []);
});
