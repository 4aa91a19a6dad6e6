// Runs each benchmark contender in a child process of the same runtime, so that clients never
// share a heap, a garbage collector or JIT state with each other (a user runs one of them).
// The parent asks the workers for short turns, one at a time, alternating contenders for many
// rounds, and keeps each one's median: a burst of load on a shared machine hits all alike.

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
export function selfCommand(script: string): [string, string[]] {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (deno) return [deno.execPath(), ["run", "-A", "--unsafe-proto", script]];
  return [process.execPath, [...process.execArgv, script]];
}

/** A contender running in a child process, measuring one scenario at a time on request. */
export interface Worker {
  /** Runs scenario `index` for `ms` milliseconds (after a short warm-up); resolves ops/s. */
  run(index: number, ms: number): Promise<number>;
  /** Asks the worker to close its client and exit. */
  close(): Promise<void>;
}

/**
 * Starts this script again as a worker with `args`. The worker answers `RUN <index> <ms>`
 * lines on its stdin with `RESULT <ops/s>` lines (see {@link serveWorker}); its other output
 * is passed through.
 */
export async function startWorker(script: string, args: string[]): Promise<Worker> {
  const [cmd, base] = selfCommand(script);
  const child = spawn(cmd, [...base, ...args], { stdio: ["pipe", "pipe", "inherit"] });
  const waiting: ((line: string) => void)[] = [];
  let buffered = "";
  let failure: Error | undefined;
  const fail = (error: Error): void => {
    failure = error;
    for (const w of waiting.splice(0)) w(`ERROR ${error.message}`);
  };
  child.stdout.on("data", (d: Uint8Array) => {
    buffered += new TextDecoder().decode(d);
    for (let nl = buffered.indexOf("\n"); nl !== -1; nl = buffered.indexOf("\n")) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith("RESULT ") || line === "READY") waiting.shift()?.(line);
      else if (line) console.log(line);
    }
  });
  child.on("error", fail);
  child.on(
    "close",
    (code) => fail(new Error(`benchmark worker ${args.join(" ")} exited (${code})`)),
  );
  const next = (): Promise<string> =>
    failure
      ? Promise.reject(failure)
      : new Promise((resolve, reject) =>
        waiting.push((line) => (line.startsWith("ERROR ") ? reject(failure) : resolve(line)))
      );
  await next(); // READY: connected
  return {
    async run(index, ms) {
      const answer = next();
      child.stdin.write(`RUN ${index} ${ms}\n`);
      return Number((await answer).slice("RESULT ".length));
    },
    async close() {
      const exited = new Promise((resolve) => child.once("close", resolve));
      child.stdin.end("QUIT\n");
      await exited;
    },
  };
}

/**
 * Starts one worker per name with `start`, into `workers` (a map the caller closes); a name
 * whose worker fails to start is reported and left out. Resolves with the names that run.
 */
export async function startWorkers(
  names: readonly string[],
  workers: Map<string, Worker>,
  start: (name: string) => Promise<Worker> | Worker,
): Promise<string[]> {
  for (const name of names) {
    try {
      workers.set(name, await start(name));
    } catch (error) {
      console.log(`${name} did not start: ${error instanceof Error ? error.message : error}`);
    }
  }
  return names.filter((n) => workers.has(n));
}

/**
 * The worker side: announces READY, then measures each requested scenario of `scenarios`
 * (functions returning the ops they did) and prints `RESULT <ops/s>` (or, with `measureWith`
 * {@link cpuPerOp}, the process's CPU microseconds per op); `QUIT` ends it.
 */
export async function serveWorker(
  scenarios: (() => Promise<number>)[],
  close: () => Promise<unknown> | void,
  measureWith: (run: () => Promise<number>, ms: number) => Promise<number> = measure,
): Promise<void> {
  const { createInterface } = await import("node:readline");
  console.log("READY");
  for await (const line of createInterface({ input: process.stdin })) {
    const [verb, index, ms] = line.split(" ");
    if (verb === "QUIT") break;
    console.log(`RESULT ${await measureWith(scenarios[Number(index)], Number(ms))}`);
  }
  await close();
}

/**
 * Runs scenario `index` on each named worker, one turn of `ms` each per round for `rounds`
 * rounds (the order rotating each round), and returns each one's median ops/s. A worker whose
 * turn fails is recorded in `broken` with its error and gets no more turns nor a result.
 */
export async function medianTurns(
  workers: Map<string, Worker>,
  names: string[],
  index: number,
  rounds: number,
  ms: number,
  broken = new Map<string, string>(),
): Promise<Map<string, number>> {
  const samples = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of turnOrder(names, round)) {
      if (broken.has(name)) continue;
      try {
        samples.get(name)!.push(await workers.get(name)!.run(index, ms));
      } catch (error) {
        broken.set(name, error instanceof Error ? error.message : String(error));
      }
    }
  }
  return new Map(names.filter((n) => !broken.has(n)).map((n) => [n, median(samples.get(n)!)]));
}

/**
 * Runs every scenario on every running worker ({@link medianTurns}), printing each one's
 * results with `ours`'s ratios, the workers that broke, then the summary table.
 */
export async function compareScenarios(
  workers: Map<string, Worker>,
  running: string[],
  scenarios: readonly string[],
  rounds: number,
  ms: number,
  ours: string,
  unit = "ops/s",
): Promise<void> {
  const broken = new Map<string, string>();
  const rows = [];
  for (const [index, scenario] of scenarios.entries()) {
    const results = await medianTurns(workers, running, index, rounds, ms, broken);
    printRatios(scenario, results, ours, unit);
    rows.push({ scenario, results });
  }
  for (const [name, why] of broken) console.log(`\n${name} failed: ${why}`);
  printSummary(rows, ours, running.filter((n) => n !== ours), unit);
}

/** A step of `depth` calls in flight at once (`call` gets a running count); resolves the ops. */
export function concurrentStep(
  depth: number,
  call: (n: number) => Promise<unknown>,
): () => Promise<number> {
  let n = 0;
  if (depth === 1) return async () => (await call(n++), 1);
  return async () => {
    const batch = new Array(depth);
    for (let i = 0; i < depth; i++) batch[i] = call(n++);
    await Promise.all(batch);
    return depth;
  };
}

/** Prints one scenario: each client's ops/s (or another `unit`), and `ours`'s ratio to each of
 * the others. */
export function printRatios(
  title: string,
  results: Map<string, number>,
  ours: string,
  unit = "ops/s",
): void {
  const mine = results.get(ours)!;
  console.log(`\n${title}`);
  for (const [name, ops] of results) {
    const ratio = name === ours ? "" : `   ${ours}/${name} = ${(mine / ops).toFixed(2)}x`;
    console.log(`  ${name.padEnd(16)} ${figure(ops).padStart(10)} ${unit}${ratio}`);
  }
}

/** A measured figure: whole numbers with separators, small ones (µs per op) to 0.01. */
function figure(value: number): string {
  return value < 100 ? value.toFixed(2) : Math.round(value).toLocaleString("en-US");
}

/**
 * Prints a markdown table of `ours`'s ops/s and its ratio to each peer, one row per scenario
 * (a dash where a peer has no result for that scenario).
 */
export function printSummary(
  rows: { scenario: string; results: Map<string, number> }[],
  ours: string,
  peers: string[],
  unit = "ops/s",
): void {
  const header = ["Scenario", `${ours} ${unit}`, ...peers.map((p) => `vs ${p}`)];
  const lines = rows.map(({ scenario, results }) => {
    const mine = results.get(ours) ?? NaN;
    const ratios = peers.map((p) => {
      const theirs = results.get(p);
      return theirs ? `${(mine / theirs).toFixed(2)}×` : "–";
    });
    return [scenario, figure(mine), ...ratios];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(`
${row(header)}
${row(widths.map((w) => "-".repeat(w)))}`);
  for (const l of lines) console.log(row(l));
}

/**
 * The order of turns in round `round`: rotated each round, so that no client always follows
 * the same one (and inherits its leftover load).
 *
 * @example
 * ```ts
 * import { turnOrder } from "./isolate.ts";
 * turnOrder(["a", "b", "c"], 1); // ["b", "c", "a"]
 * ```
 */
export function turnOrder<T>(items: T[], round: number): T[] {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * The middle value.
 *
 * @example
 * ```ts
 * import { median } from "./isolate.ts";
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Ops per second of `run` (which returns the ops it did) over `ms`, after a 100 ms warm-up. */
export async function measure(run: () => Promise<number>, ms: number): Promise<number> {
  const { ops, elapsed } = await timed(run, ms);
  return ops / (elapsed / 1000);
}

/**
 * CPU time (user + system, every thread of the process) per op of `run`, in microseconds: what
 * a client costs, which a machine shared with other jobs disturbs far less than ops/s.
 */
export async function cpuPerOp(run: () => Promise<number>, ms: number): Promise<number> {
  const { ops, cpu } = await timed(run, ms);
  return cpu / ops;
}

async function timed(
  run: () => Promise<number>,
  ms: number,
): Promise<{ ops: number; elapsed: number; cpu: number }> {
  const warmUntil = performance.now() + 100;
  while (performance.now() < warmUntil) await run();
  let ops = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const until = started + ms;
  while (performance.now() < until) ops += await run();
  const elapsed = performance.now() - started;
  const { user, system } = process.cpuUsage(cpuBefore);
  return { ops, elapsed, cpu: user + system };
}
