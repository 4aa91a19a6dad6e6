// The C `redis-benchmark` (Debian redis-tools) as one more contender taking turns: each turn runs
// the scenario's command on one connection (-c 1) with the scenario's pipeline depth (-P), sized
// from the previous turn's rate to last about as long as the clients' turns; reads its --csv rps.

import { spawn } from "node:child_process";
import type { Worker } from "./isolate.ts";

/** A scenario as redis-benchmark runs it: `depth` commands in flight, the command's words. */
export interface CommandShape {
  depth: number;
  command: string[];
}

/**
 * A {@link Worker} that answers scenario `index` by running `redis-benchmark` with
 * `shapes[index]`; rejects for a scenario without a shape.
 */
export function redisBenchmarkWorker(
  host: string,
  port: number,
  shapes: readonly (CommandShape | undefined)[],
): Worker {
  const rates = new Map<number, number>();
  return {
    async run(index, ms) {
      const shape = shapes[index];
      if (!shape) throw new Error(`no redis-benchmark shape for scenario ${index}`);
      const { depth, command } = shape;
      const guess = rates.get(index) ?? depth * 200;
      const n = Math.max(depth, Math.round((guess * ms) / 1000 / depth) * depth);
      const rps = await runOnce(host, port, depth, n, command);
      rates.set(index, rps);
      return rps;
    },
    close: () => Promise.resolve(),
  };
}

function runOnce(
  host: string,
  port: number,
  depth: number,
  n: number,
  command: string[],
): Promise<number> {
  const args = ["-h", host, "-p", String(port), "-c", "1", "-P", String(depth), "-n", String(n)];
  const child = spawn("redis-benchmark", [...args, "--csv", ...command], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
  child.stderr.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      // The last line is `"<command>","<rps>",...`.
      const rps = Number(out.trim().split("\n").at(-1)?.split(",")[1]?.replaceAll('"', ""));
      if (code === 0 && rps > 0) resolve(rps);
      else reject(new Error(`redis-benchmark exited (${code}): ${out.slice(-300)}`));
    });
  });
}
