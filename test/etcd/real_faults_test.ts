// A real etcd killed (SIGKILL, then restarted on its data), frozen (SIGSTOP/SIGCONT) and cut (a
// proxy resets every connection) during concurrent puts and gets, on both protocols: nothing
// escapes, acknowledged ⊆ executed ⊆ acknowledged + reported-uncertain (`sent: true`), and the
// same client recovers.

import { after } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { startEtcd } from "../../scripts/servers.ts";
import { KvError } from "../../src/core/errors.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { text } from "../../src/etcd/kv.ts";
import { startChaosProxy } from "../_helpers/chaos_proxy.ts";
import { eachProtocol } from "../_helpers/etcd_protocols.ts";
import { restartable } from "../_helpers/etcd_restart.ts";
import { collectUnhandledRejections } from "../_helpers/hostile_server.ts";

// One server for every test and both protocols; each run writes under keys of its own.
const started = await startEtcd({ enableV2: false });
const endpoint = `127.0.0.1:${started.port}`;
const server = restartable(started);
after(() => server.stop());

interface Outcomes {
  acknowledged: Set<number>;
  uncertain: Set<number>;
  refused: Set<number>;
}

/**
 * Runs `total` puts of `prefix/i` (8 at a time) with a get of an earlier key after each, and
 * calls `fault` once `faultAt` puts were started. Every failure must be a KvError; a get must
 * never answer another key's value.
 */
async function traffic(
  etcd: EtcdClient,
  prefix: string,
  total: number,
  faultAt: number,
  fault: () => Promise<void>,
): Promise<Outcomes> {
  const out: Outcomes = { acknowledged: new Set(), uncertain: new Set(), refused: new Set() };
  let next = 0;
  let faulted: Promise<void> | undefined;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      if (i === faultAt) faulted = fault();
      try {
        await etcd.put(`${prefix}/${i}`, String(i));
        out.acknowledged.add(i);
      } catch (error) {
        assert.ok(error instanceof KvError, `put ${i} failed with a KvError: ${error}`);
        (error.sent ? out.uncertain : out.refused).add(i);
      }
      const j = Math.floor(Math.random() * (i + 1));
      try {
        const value = await etcd.getString(`${prefix}/${j}`);
        assert.ok(value === undefined || value === String(j), `get ${j} answered ${value}`);
      } catch (error) {
        assert.ok(error instanceof KvError, `get ${j} failed with a KvError: ${error}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await faulted;
  return out;
}

/** Waits until the client answers again (the same client, no recreation). */
async function recovered(etcd: EtcdClient, prefix: string): Promise<void> {
  const until = Date.now() + 20_000;
  for (;;) {
    try {
      await etcd.put(`${prefix}/after`, "ok", { timeout: 2000 });
      assert.equal(await etcd.getString(`${prefix}/after`, { timeout: 2000 }), "ok");
      return;
    } catch (error) {
      assert.ok(error instanceof KvError);
      if (Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** acknowledged ⊆ executed ⊆ acknowledged ∪ uncertain, by what etcd holds. */
async function checkLedger(etcd: EtcdClient, prefix: string, out: Outcomes): Promise<void> {
  const executed = new Set(
    (await etcd.getPrefix(`${prefix}/`)).map((kv) => text(kv.value)).filter((v) => v !== "ok")
      .map(Number),
  );
  for (const i of out.acknowledged) assert.ok(executed.has(i), `acknowledged put ${i} ran`);
  for (const i of executed) {
    assert.ok(
      out.acknowledged.has(i) || out.uncertain.has(i),
      `put ${i} ran, so it was acknowledged or reported as sent: true`,
    );
  }
}

eachProtocol(
  "real etcd frozen with SIGSTOP then SIGCONT: sent-accounting holds, the client recovers",
  async (protocol) => {
    const prefix = `frozen-${protocol}`;
    const rejections = await collectUnhandledRejections(async () => {
      await using etcd = new EtcdClient({ protocol, endpoints: [endpoint], requestTimeout: 1500 });
      await etcd.put(`${prefix}/warm`, "ok");
      const out = await traffic(etcd, prefix, 120, 40, async () => {
        process.kill(server.pid, "SIGSTOP");
        await new Promise((resolve) => setTimeout(resolve, 2500));
        process.kill(server.pid, "SIGCONT");
      });
      assert.ok(out.uncertain.size + out.refused.size > 0, "the freeze was felt");
      await recovered(etcd, prefix);
      await checkLedger(etcd, prefix, out);
    });
    assert.deepEqual(rejections, []);
  },
  { timeout: 60_000 },
);

eachProtocol(
  "real etcd cut (every connection reset mid-traffic): sent-accounting holds, recovery",
  async (protocol) => {
    const prefix = `cut-${protocol}`;
    const proxy = await startChaosProxy({ host: "127.0.0.1", port: started.port });
    try {
      const rejections = await collectUnhandledRejections(async () => {
        await using etcd = new EtcdClient({
          protocol,
          endpoints: [`127.0.0.1:${proxy.port}`],
          requestTimeout: 3000,
        });
        await etcd.put(`${prefix}/warm`, "ok");
        const out = await traffic(etcd, prefix, 160, 30, async () => {
          for (let k = 0; k < 3; k++) {
            proxy.resetAll();
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        });
        await recovered(etcd, prefix);
        await checkLedger(etcd, prefix, out);
      });
      assert.deepEqual(rejections, []);
    } finally {
      await proxy.stop();
    }
  },
  { timeout: 60_000 },
);

eachProtocol(
  "real etcd killed (SIGKILL) and restarted on its data: sent-accounting holds, recovery",
  async (protocol) => {
    const prefix = `killed-${protocol}`;
    const rejections = await collectUnhandledRejections(async () => {
      await using etcd = new EtcdClient({ protocol, endpoints: [endpoint], requestTimeout: 2000 });
      await etcd.put(`${prefix}/warm`, "ok");
      const out = await traffic(etcd, prefix, 120, 40, async () => {
        await server.kill();
        await server.restart();
      });
      assert.ok(out.uncertain.size + out.refused.size > 0, "the kill was felt");
      await recovered(etcd, prefix);
      await checkLedger(etcd, prefix, out);
    });
    assert.deepEqual(rejections, []);
  },
  { timeout: 60_000 },
);
