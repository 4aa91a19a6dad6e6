// MemcacheClient against a real memcached of its own per test, killed (and restarted on the same
// port), frozen (SIGSTOP/SIGCONT) and cut (through the chaos proxy) during concurrent incr/set
// traffic, on every protocol: no unhandled rejection, every failure a KvError, acknowledged ≤
// executed ≤ acknowledged + reported-uncertain (`sent: true`), recovery on the same client.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import process from "node:process";
import { KvError } from "../../src/core/errors.ts";
import { MemcacheClient } from "../../src/memcache/client.ts";
import { findBinary, type MemcachedServer, startMemcached } from "../../scripts/servers.ts";
import { type ChaosProxy, startChaosProxy } from "../_helpers/chaos_proxy.ts";
import { collectUnhandledRejections } from "../_helpers/hostile_server.ts";

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function pidOf(server: MemcachedServer): number {
  return Number.parseInt(readFileSync(join(server.dir, "memcached.pid"), "utf8"), 10);
}

/** Starts memcached on a given port (after a kill), stopped at the end of the file. */
async function restartOn(port: number): Promise<ChildProcess> {
  const args = ["-l", "127.0.0.1", "-p", String(port), "-U", "0"];
  if (process.getuid?.() === 0) args.push("-u", "root");
  const child = spawn(await findBinary("memcached"), args, { stdio: "ignore" });
  cleanups.push(() => child.kill("SIGKILL"));
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (up) return child;
    await wait(10);
  }
  throw new Error(`memcached did not come back on port ${port}`);
}

/** Counts of a run of incr traffic. */
interface Tally {
  acknowledged: number;
  uncertain: number;
  notSent: number;
}

/**
 * Incr/set traffic from `workers` loops until `stop()`; every failure must be a KvError. Only
 * the incrs are tallied; with `missing`, an incr may find no counter (after a kill).
 */
function traffic(mc: MemcacheClient, key: string, missing = false): { stop: () => Promise<Tally> } {
  const tally: Tally = { acknowledged: 0, uncertain: 0, notSent: 0 };
  let running = true;
  const loops = Array.from({ length: 8 }, async (_, w) => {
    while (running) {
      const [incr, set] = await Promise.allSettled([mc.incr(key), mc.set(`${key}:${w}`, "v")]);
      for (const result of [incr, set]) {
        if (result.status === "rejected") {
          assert.ok(result.reason instanceof KvError, `a failure is a KvError: ${result.reason}`);
        }
      }
      if (incr.status === "fulfilled") {
        if (!missing) assert.equal(typeof incr.value, "bigint", "the counter exists throughout");
        tally.acknowledged++;
      } else if ((incr.reason as KvError).sent) tally.uncertain++;
      else tally.notSent++;
      // A dead server fails calls at once: let the event loop turn between rounds.
      if (incr.status === "rejected" || set.status === "rejected") await wait(5);
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return tally;
    },
  };
}

/** Waits until a call on the same client succeeds again. */
async function recovered(mc: MemcacheClient, key: string): Promise<string | null> {
  const giveUp = performance.now() + 10_000;
  for (;;) {
    try {
      return await mc.get<string>(key);
    } catch (error) {
      assert.ok(error instanceof KvError, String(error));
      if (performance.now() > giveUp) throw error;
      await wait(20);
    }
  }
}

async function client(
  address: string,
  protocol: "meta" | "text" | "binary",
): Promise<MemcacheClient> {
  const mc = await MemcacheClient.connect([address], {
    protocol,
    commandTimeout: 300,
    connectTimeout: 300,
    deadRetry: 100,
  });
  cleanups.push(() => mc.destroy());
  return mc;
}

/** Runs traffic around `fault` and checks the accounting against the counter. */
async function accounted(
  mc: MemcacheClient,
  key: string,
  fault: () => Promise<void>,
): Promise<Tally> {
  let tally: Tally | undefined;
  const leaked = await collectUnhandledRejections(async () => {
    assert.equal(await mc.set(key, "0"), true);
    const run = traffic(mc, key);
    await wait(150);
    await fault();
    assert.equal(typeof await recovered(mc, key), "string", "the same client works again");
    await wait(150);
    tally = await run.stop();
  });
  assert.deepEqual(leaked, [], "no unhandled rejection");
  const executed = Number(await recovered(mc, key));
  const { acknowledged, uncertain } = tally!;
  assert.ok(acknowledged > 0, "traffic ran");
  assert.ok(
    acknowledged <= executed && executed <= acknowledged + uncertain,
    `acknowledged ${acknowledged} ≤ executed ${executed} ≤ acknowledged + uncertain ${
      acknowledged + uncertain
    }`,
  );
  return tally!;
}

for (const protocol of ["meta", "text", "binary"] as const) {
  test(`memcache real ${protocol}: memcached frozen (SIGSTOP) past the timeout, then resumed`, async () => {
    const server = await startMemcached();
    cleanups.push(() => server.stop());
    const mc = await client(`127.0.0.1:${server.port}`, protocol);
    const pid = pidOf(server);
    const tally = await accounted(mc, `real:${protocol}:stop`, async () => {
      process.kill(pid, "SIGSTOP");
      await wait(700);
      process.kill(pid, "SIGCONT");
    });
    // The freeze was felt: calls failed (usually timed out after they were sent, sent: true).
    assert.ok(tally.uncertain + tally.notSent > 0, `the freeze was felt: ${JSON.stringify(tally)}`);
  });

  test(`memcache real ${protocol}: connections cut mid-pipeline`, async () => {
    const server = await startMemcached();
    cleanups.push(() => server.stop());
    const proxy: ChaosProxy = await startChaosProxy({ host: "127.0.0.1", port: server.port });
    cleanups.push(() => proxy.stop());
    const mc = await client(`${proxy.host}:${proxy.port}`, protocol);
    await accounted(mc, `real:${protocol}:cut`, async () => {
      for (let i = 0; i < 3; i++) {
        proxy.dropAfter(1 + Math.floor(Math.random() * 2000), i % 2 ? "toServer" : "toClient");
        await wait(100);
        proxy.pass();
        await wait(150);
      }
    });
  });

  test(`memcache real ${protocol}: memcached killed, then restarted on the same port`, async () => {
    const server = await startMemcached();
    cleanups.push(() => server.stop());
    const mc = await client(`127.0.0.1:${server.port}`, protocol);
    const key = `real:${protocol}:kill`;
    const leaked = await collectUnhandledRejections(async () => {
      assert.equal(await mc.set(key, "0"), true);
      const run = traffic(mc, key, true);
      await wait(150);
      process.kill(pidOf(server), "SIGKILL");
      await wait(200);
      await restartOn(server.port);
      // The data died with the server: recreate the counter through the same client.
      const giveUp = performance.now() + 10_000;
      while (!(await mc.set(key, "0").catch(() => false))) {
        assert.ok(performance.now() < giveUp, "the client reconnects to the new memcached");
        await wait(20);
      }
      await wait(150);
      const tally = await run.stop();
      assert.ok(
        tally.acknowledged > 0 && tally.notSent + tally.uncertain > 0,
        JSON.stringify(tally),
      );
    });
    assert.deepEqual(leaked, [], "no unhandled rejection");
    assert.equal(await mc.get(`${key}:0`), "v", "sets land on the new server");
  });
}
