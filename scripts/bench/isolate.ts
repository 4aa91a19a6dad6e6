// Runs one benchmark contender in a child process of the same runtime, so that clients never
// share a heap, a garbage collector or JIT state with each other (a user runs one of them).
// The parent alternates contenders round by round and keeps each one's median.

import { spawn } from "node:child_process";
import process from "node:process";

/** Arguments after the script name, as `--name=value` pairs. */
export function flag(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

/** Positional arguments (those not starting with `--`). */
export function positional(): string[] {
  return process.argv.slice(2).filter((a) => !a.startsWith("--"));
}

/** The command that runs `script` again on the current runtime (tsx's hooks included). */
function selfCommand(script: string): [string, string[]] {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (deno) return [deno.execPath(), ["run", "-A", "--unsafe-proto", script]];
  return [process.execPath, [...process.execArgv, script]];
}

/**
 * Runs this script as a worker with `args` and returns the figures it printed on its
 * `RESULT {json}` line. The worker's other output is passed through.
 */
export function runWorker(script: string, args: string[]): Promise<Record<string, number>> {
  const [cmd, base] = selfCommand(script);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...base, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      if (code !== 0 || !line) {
        reject(new Error(`benchmark worker ${args.join(" ")} failed (exit ${code}): ${out}`));
      } else resolve(JSON.parse(line.slice("RESULT ".length)));
    });
  });
}

/** Prints a worker's figures for the parent to read. */
export function reportResult(figures: Record<string, number>): void {
  console.log(`RESULT ${JSON.stringify(figures)}`);
}

/** The middle value. */
export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Ops per second of `run` (which returns the ops it did) over `ms`, after a 300 ms warm-up. */
export async function measure(run: () => Promise<number>, ms: number): Promise<number> {
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) await run();
  let ops = 0;
  const started = performance.now();
  const until = started + ms;
  while (performance.now() < until) ops += await run();
  return ops / ((performance.now() - started) / 1000);
}
