// The one test command: builds dist/, starts real servers, runs the suite on Deno, Bun and Node
// (plus the built package under plain Node, ESM and CJS), and ends with "N passed, N failed".
// Usage: npm test [-- --only=deno,bun,node,dist] [--exclude=substr,...] [file-filter]

import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import process from "node:process";
import { startServers } from "./servers.ts";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const ANSI_COLOR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
const bin = (name: string): string => join(root, "node_modules", ".bin", name);

interface RunResult {
  runtime: string;
  passed: number;
  failed: number;
  exitCode: number;
  seconds: number;
}

function findTests(dir: string, filter: string | undefined, exclude: string[]): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path, filter, exclude));
    else if (
      name.endsWith("_test.ts") && (!filter || path.includes(filter)) &&
      !exclude.some((e) => path.includes(e))
    ) {
      out.push(relative(root, path));
    }
  }
  return out;
}

/** Runs a command, echoing its output, and returns the output with colours stripped. */
function run(cmd: string, args: string[], env: Record<string, string>): Promise<[number, string]> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, ...env, NO_COLOR: "1", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let text = "";
    const take = (chunk: Uint8Array, sink: NodeJS.WriteStream): void => {
      sink.write(chunk);
      text += new TextDecoder().decode(chunk);
    };
    child.stdout.on("data", (c) => take(c, process.stdout));
    child.stderr.on("data", (c) => take(c, process.stderr));
    child.on("close", (code) => resolve([code ?? 1, text.replace(ANSI_COLOR, "")]));
  });
}

function count(text: string, pattern: RegExp): number {
  let total = 0;
  for (const match of text.matchAll(pattern)) total += Number(match[1]);
  return total;
}

const counters: Record<string, (out: string) => [number, number]> = {
  deno: (out) => [count(out, /\| (\d+) passed/g), count(out, /\| (\d+) failed/g)],
  bun: (out) => [count(out, /^\s*(\d+) pass$/gm), count(out, /^\s*(\d+) fail$/gm)],
  // Node counts tests cancelled by a hang or a leaked handle apart from failures: they fail.
  node: (out) => [
    count(out, /^ℹ pass (\d+)$/gm),
    count(out, /^ℹ fail (\d+)$/gm) + count(out, /^ℹ cancelled (\d+)$/gm),
  ],
};

async function runRuntime(
  runtime: string,
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<RunResult> {
  console.log(`\n==== ${runtime}: ${[cmd.replace(root + "/", ""), ...args].join(" ")}`);
  const started = performance.now();
  const [exitCode, out] = await run(cmd, args, { ...env, KVWIRE_TEST_RUNTIME: runtime });
  const [passed, failed] = counters[runtime.split(" ")[0]](out);
  const seconds = (performance.now() - started) / 1000;
  return { runtime, passed, failed, exitCode, seconds };
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const onlyArg = argv.find((a) => a.startsWith("--only="));
  const only = onlyArg
    ? onlyArg.slice("--only=".length).split(",")
    : ["deno", "bun", "node", "dist"];
  const filter = argv.find((a) => !a.startsWith("--"));
  const excludeArg = argv.find((a) => a.startsWith("--exclude="));
  const exclude = excludeArg ? excludeArg.slice("--exclude=".length).split(",") : [];
  const files = findTests(join(root, "test"), filter, exclude);
  if (files.length === 0) {
    console.error(`No test files match ${JSON.stringify(filter)}`);
    return 1;
  }

  if (only.includes("dist")) {
    console.log("==== building dist/ with tsup");
    const [code] = await run(bin("tsup"), [], {});
    if (code !== 0) return code;
  }

  const servers = await startServers(["redis", "memcached", "etcd"]);
  const env: Record<string, string> = {};
  for (const s of servers) env[`KVWIRE_${s.kind.toUpperCase()}`] = `${s.host}:${s.port}`;
  console.log(`servers: ${servers.map((s) => `${s.kind} ${s.host}:${s.port}`).join(", ")}`);

  const results: RunResult[] = [];
  try {
    if (only.includes("deno")) {
      results.push(
        await runRuntime(
          "deno",
          bin("deno"),
          // Two files at a time, as Node runs them (the tests wait on servers more than on CPU).
          ["test", "-A", "--parallel", "--v8-flags=--expose-gc", ...files],
          { ...env, DENO_JOBS: "2" },
        ),
      );
    }
    if (only.includes("bun")) {
      results.push(
        // Bun's default of 5 s per test is too short for the load tests on a busy 2-core machine.
        await runRuntime("bun", bin("bun"), [
          "test",
          "--timeout=30000",
          ...files.map((f) => `./${f}`),
        ], env),
      );
    }
    if (only.includes("node")) {
      const args = [
        "--expose-gc",
        "--test",
        "--test-reporter=spec",
        "--test-concurrency=2",
        ...files,
      ];
      results.push(await runRuntime("node", bin("tsx"), args, env));
    }
    if (only.includes("dist")) {
      const distTests = ["test/dist/esm_import.mjs", "test/dist/cjs_require.cjs"];
      const args = ["--test", "--test-reporter=spec", ...distTests];
      results.push(await runRuntime("node (built dist/)", process.execPath, args, env));
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }

  console.log("\n==== summary");
  let passed = 0;
  let failed = 0;
  let crashed = false;
  for (const r of results) {
    const broken = r.exitCode !== 0 && r.failed === 0;
    crashed ||= broken || (r.passed === 0 && r.failed === 0);
    passed += r.passed;
    failed += r.failed;
    const note = broken ? ` (runner exited with ${r.exitCode})` : "";
    console.log(
      `${r.runtime.padEnd(20)} ${r.passed} passed, ${r.failed} failed in ${
        r.seconds.toFixed(1)
      } s${note}`,
    );
  }
  if (crashed) failed += 1;
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
