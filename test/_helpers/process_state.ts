// Test helpers for faults on real server processes: whether SIGSTOP took effect on every thread,
// and a wait for an asynchronous condition (a request that succeeds again, a port that opens).

import { readdirSync, readFileSync } from "node:fs";

/** True once every thread of process `pid` is stopped (a SIGSTOP took effect; Linux /proc). */
export function stopped(pid: number): boolean {
  return readdirSync(`/proc/${pid}/task`).every((tid) =>
    /^\S+ \(.*\) T /.test(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"))
  );
}

/** Resolves once `check()` resolves true, trying again every 20 ms; rejects after `ms`. */
export async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  ms = 20_000,
): Promise<void> {
  const giveUp = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > giveUp) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
