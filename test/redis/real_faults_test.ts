// A real redis-server killed (-9), frozen (SIGSTOP/SIGCONT) and cut (CLIENT KILL, proxy reset)
// under auto-pipelined and pipelined INCR traffic: nothing unhandled, every call settles in
// time, acknowledged ≤ executed ≤ acknowledged + uncertain, and the same client recovers.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { KvError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisError } from "../../src/redis/errors.ts";
import { PipelineError } from "../../src/redis/pipeline_error.ts";
import { type ChaosProxy, startChaosProxy } from "../_helpers/chaos_proxy.ts";
import { collectUnhandledRejections } from "../_helpers/hostile_server.ts";
import { type RedisProcess, startRedisProcess } from "./_redis_process.ts";

const TIMEOUT = 300;
const MARGIN = 1000;
const WAVE = 100;

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** What the traffic saw: acknowledged INCRs, those that may have run, and every reply. */
class Tally {
  acknowledged = 0;
  uncertain = 0;
  failed = 0;
  slowest = 0;
  readonly values: number[] = [];
  #waiters: (() => void)[] = [];

  /** Records one call: its outcome and how long it took to settle. */
  record(outcome: PromiseSettledResult<unknown>, ms: number): void {
    this.slowest = Math.max(this.slowest, ms);
    if (outcome.status === "fulfilled") this.#answered(outcome.value);
    else if (outcome.reason instanceof PipelineError) {
      for (const r of outcome.reason.results) if (typeof r === "number") this.#answered(r);
      this.uncertain += outcome.reason.uncertain.length;
      this.failed += outcome.reason.results.length;
    } else {
      assert.ok(outcome.reason instanceof KvError, String(outcome.reason));
      if (outcome.reason.sent) this.uncertain++;
      this.failed++;
    }
    for (const wake of this.#waiters.splice(0)) wake();
  }

  #answered(value: unknown): void {
    if (Array.isArray(value)) {
      for (const v of value) this.#answered(v);
      return;
    }
    if (value instanceof RedisError) {
      // Refused, so not run: a restarted server answers LOADING while it reads its AOF.
      this.failed++;
      return;
    }
    assert.equal(typeof value, "number", `INCR answered ${value}`);
    this.values.push(value as number);
    this.acknowledged++;
  }

  /** Resolves once `check` holds, re-checked after every recorded call. */
  async until(check: (t: Tally) => boolean): Promise<void> {
    while (!check(this)) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}

/** Runs `call` repeatedly, WAVE at a time (auto-pipelined) or as one pipeline, until stopped. */
async function traffic(
  tally: Tally,
  running: () => boolean,
  call: () => Promise<unknown>,
  concurrent: number,
): Promise<void> {
  while (running()) {
    await Promise.all(Array.from({ length: concurrent }, async () => {
      const started = performance.now();
      const [outcome] = await Promise.allSettled([call()]);
      tally.record(outcome, performance.now() - started);
    }));
  }
}

interface Scenario {
  /** The address the client uses (the server, or a proxy in front of it). */
  address: { host: string; port: number };
  /** Injects the fault; resolves when the server can be reached again. */
  fault: (tally: Tally) => Promise<void>;
}

async function run(protocol: 2 | 3, scenario: Scenario): Promise<void> {
  const key = `faults:${crypto.randomUUID()}`;
  const redis = await RedisClient.connect({
    ...scenario.address,
    protocol,
    decode: true,
    commandTimeout: TIMEOUT,
    connectTimeout: 1000,
    reconnect: { initialDelay: 5, maxDelay: 50 },
  });
  cleanups.push(() => redis.destroy());
  const tally = new Tally();
  let recovered: unknown;
  const leaked = await collectUnhandledRejections(async () => {
    let running = true;
    const loops = [
      traffic(tally, () => running, () => redis.incr(key), WAVE),
      traffic(tally, () => running, () => redis.incr(key), WAVE),
      traffic(tally, () => running, () => {
        const pipe = redis.pipeline();
        for (let i = 0; i < WAVE; i++) pipe.incr(key);
        return pipe.exec();
      }, 1),
    ];
    await tally.until((t) => t.acknowledged >= 2000);
    await scenario.fault(tally);
    const before = tally.acknowledged;
    await tally.until((t) => t.acknowledged >= before + 1000); // recovered under traffic
    running = false;
    await Promise.all(loops);
    recovered = await redis.incr(key); // the same client, never recreated
  });
  assert.deepEqual(leaked, [], "no unhandled rejection");
  assert.equal(typeof recovered, "number");
  tally.acknowledged++;
  tally.values.push(recovered as number);
  assert.ok(tally.failed > 0, "the fault was felt");
  assert.ok(tally.slowest <= TIMEOUT + MARGIN, `slowest call settled in ${tally.slowest} ms`);
  assert.equal(new Set(tally.values).size, tally.values.length, "no reply went to two calls");
  const executed = Number(await redis.get(key));
  const { acknowledged, uncertain } = tally;
  assert.ok(
    acknowledged <= executed && executed <= acknowledged + uncertain,
    `acknowledged ${acknowledged} ≤ executed ${executed} ≤ acknowledged + uncertain ${uncertain}`,
  );
}

async function dedicated(args: string[] = []): Promise<RedisProcess> {
  const server = await startRedisProcess(args);
  cleanups.push(() => server.stop());
  return server;
}

test("redis real faults: kill -9 and restart mid-traffic (RESP3)", async () => {
  // appendfsync always: every acknowledged INCR is on disk before its reply leaves.
  const server = await dedicated(["--appendfsync", "always"]);
  await run(3, {
    address: { host: server.host, port: server.port },
    fault: async () => {
      server.signal("SIGKILL");
      await server.restart();
    },
  });
});

test("redis real faults: SIGSTOP until calls time out, then SIGCONT (RESP2)", async () => {
  const server = await dedicated();
  await run(2, {
    address: { host: server.host, port: server.port },
    fault: async (tally) => {
      server.signal("SIGSTOP");
      try {
        const failed = tally.failed;
        await tally.until((t) => t.failed >= failed + 2 * WAVE); // frozen long enough to tell
      } finally {
        server.signal("SIGCONT");
      }
    },
  });
});

test("redis real faults: CLIENT KILL of the client's connection mid-traffic (RESP3)", async () => {
  const server = await dedicated();
  const killer = await RedisClient.connect({ host: server.host, port: server.port });
  cleanups.push(() => killer.destroy());
  await run(3, {
    address: { host: server.host, port: server.port },
    fault: async () => {
      await killer.send("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
    },
  });
});

test("redis real faults: the connection cut by a proxy reset mid-traffic (RESP2)", async () => {
  const server = await dedicated();
  const proxy: ChaosProxy = await startChaosProxy({ host: server.host, port: server.port });
  cleanups.push(() => proxy.stop());
  await run(2, {
    address: { host: proxy.host, port: proxy.port },
    fault: () => {
      proxy.resetAll();
      return Promise.resolve();
    },
  });
});
