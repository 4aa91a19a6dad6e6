// memcache under faults, through the TCP chaos proxy to the shared real memcached, on every
// protocol: one-byte fragments, cuts at random offsets in a 2,000-request pipeline, stalls,
// resets with requests replayed on the next connection.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { ConnectionClosedError, TimeoutError } from "../../src/core/errors.ts";
import { MemcacheClient } from "../../src/memcache/client.ts";
import { type ChaosProxy, startChaosProxy } from "../_helpers/chaos_proxy.ts";
import { memcachedAddress } from "../_helpers/servers.ts";

const target = await memcachedAddress();
const prefix = `faults:${crypto.randomUUID().slice(0, 8)}:`;
const proxies: ChaosProxy[] = [];
const clients: MemcacheClient[] = [];
after(async () => {
  for (const c of clients) c.destroy();
  await Promise.all(proxies.map((p) => p.stop()));
});

const direct = await MemcacheClient.connect([`${target.host}:${target.port}`]);
clients.push(direct);

async function throughProxy(
  protocol: "meta" | "text" | "binary",
): Promise<[MemcacheClient, ChaosProxy]> {
  const proxy = await startChaosProxy(target);
  proxies.push(proxy);
  // deadRetry 0: a failed reconnect is retried on the next request instead of waiting.
  const mc = await MemcacheClient.connect([`${proxy.host}:${proxy.port}`], {
    protocol,
    deadRetry: 0,
    commandTimeout: 10_000,
  });
  clients.push(mc);
  return [mc, proxy];
}

/** Polls `check` (yielding to I/O) until it holds; fails after `ms`. */
async function eventually(check: () => boolean, ms = 5000): Promise<void> {
  const giveUp = performance.now() + ms;
  while (!check()) {
    if (performance.now() > giveUp) throw new Error("Condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

for (const protocol of ["meta", "text", "binary"] as const) {
  const p = `${prefix}${protocol}:`;

  test(`memcache faults ${protocol}: replies fragmented to single bytes decode correctly`, async () => {
    const [mc, proxy] = await throughProxy(protocol);
    const value = "v".repeat(200) + "\r\nEND\r\n" + "é".repeat(20);
    await direct.setMulti([[`${p}f1`, value], [`${p}f2`, 42]]);
    proxy.fragment();
    assert.equal(await mc.get(`${p}f1`), value);
    assert.deepEqual(
      await mc.getMulti([`${p}f1`, `${p}f2`, `${p}none`]),
      new Map<string, unknown>([[`${p}f1`, value], [`${p}f2`, 42]]),
    );
    assert.equal(await mc.incr(`${p}f2`, 8), 50n);
    proxy.pass();
  });

  test(`memcache faults ${protocol}: cuts at random offsets in a 2,000-request pipeline settle everything, nothing runs twice`, async () => {
    const [mc, proxy] = await throughProxy(protocol);
    for (let round = 0; round < 3; round++) {
      const keys = Array.from({ length: 2000 }, (_, i) => `${p}cut:${round}:${i}`);
      assert.deepEqual(await direct.setMulti(keys.map((k) => [k, "0"] as const)), []);
      const offset = 1 + Math.floor(Math.random() * 40_000);
      const direction = round % 2 === 0 ? "toClient" : "toServer";
      proxy.dropAfter(offset, direction);
      const settled = await Promise.allSettled(keys.map((k) => mc.incr(k)));
      proxy.pass();
      for (const s of settled) {
        if (s.status === "fulfilled") assert.equal(s.value, 1n);
        else assert.ok(s.reason instanceof ConnectionClosedError, String(s.reason));
      }
      const values = await direct.getMulti(keys);
      keys.forEach((k, i) => {
        const v = values.get(k);
        assert.ok(v === "0" || v === "1", `${k} ran at most once (got ${v})`);
        if (settled[i].status === "fulfilled") assert.equal(v, "1");
        else if ((settled[i] as PromiseRejectedResult).reason.sent === false) {
          assert.equal(v, "0", `${k} was never sent, so never ran`);
        }
      });
      assert.equal(
        await mc.set(`${p}after:${round}`, "ok"),
        true,
        `usable after a cut at ${offset}`,
      );
    }
  });

  test(`memcache faults ${protocol}: a stalled server times requests out; they never run twice`, async () => {
    const [mc, proxy] = await throughProxy(protocol);
    const k = `${p}stall`;
    await direct.set(k, "0");
    const before = proxy.accepted;
    proxy.stall();
    await assert.rejects(mc.with({ timeout: 100 }).incr(k), (e: unknown) => {
      return e instanceof TimeoutError && e.sent === true;
    });
    proxy.pass();
    // The silent connection was dropped (liveness), so the timed-out incr ran at most once.
    const after = await mc.incr(k);
    assert.ok(after === 1n || after === 2n, `the timed-out incr ran at most once (got ${after})`);
    assert.equal(proxy.accepted, before + 1, "the next call went out on a new connection");
  });

  test(`memcache faults ${protocol}: after a reset, requests go out on a new connection`, async () => {
    const [mc, proxy] = await throughProxy(protocol);
    const k = `${p}reset`;
    await direct.set(k, "0");
    const before = proxy.accepted;
    proxy.resetAll();
    await eventually(() => !mc.servers[0].connected || proxy.accepted > before);
    const results = await Promise.all([mc.incr(k), mc.incr(k), mc.get(k)]);
    assert.deepEqual(results, [1n, 2n, "2"]);
    assert.equal(proxy.accepted, before + 1, "reconnected once");
  });
}
