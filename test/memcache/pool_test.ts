// A MemcacheClient over a pool of three real memcached processes: ketama placement, multi-key
// calls split per server, a server killed mid-run, deadRetry, failover and flushOnReconnect.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { ConnectError, ConnectionClosedError } from "../../src/core/errors.ts";
import { MemcacheClient } from "../../src/memcache/client.ts";
import { ServerDeadError } from "../../src/memcache/errors.ts";
import { KetamaRing } from "../../src/memcache/ketama.ts";
import { type MemcachedServer, startMemcached } from "../../scripts/servers.ts";
import { type ChaosProxy, startChaosProxy } from "../_helpers/chaos_proxy.ts";

const servers: MemcachedServer[] = await Promise.all([0, 1, 2].map(() => startMemcached()));
const proxies: ChaosProxy[] = [];
const clients: MemcacheClient[] = [];
after(async () => {
  for (const c of clients) c.destroy();
  await Promise.all(proxies.map((p) => p.stop()));
  await Promise.all(servers.map((s) => s.stop()));
});

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const addr = (s: { host: string; port: number }): string => `${s.host}:${s.port}`;

async function pool(
  addresses: string[],
  options: Parameters<typeof MemcacheClient.connect>[1] = {},
): Promise<MemcacheClient> {
  const mc = await MemcacheClient.connect(addresses, options);
  clients.push(mc);
  return mc;
}

/** Keys grouped by the server (index into `addresses`) ketama gives them. */
function keysByServer(addresses: string[], keys: string[]): string[][] {
  const ring = new KetamaRing(addresses.map((a) => {
    const [host, port] = a.split(":");
    return { host, port: Number(port) };
  }));
  const out: string[][] = addresses.map(() => []);
  for (const key of keys) out[ring.lookup(enc(key))].push(key);
  return out;
}

/** Polls `check` (yielding to I/O) until it holds; fails after `ms`. */
async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const giveUp = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > giveUp) throw new Error("Condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("memcache pool: keys land on their ketama server; multi-key calls split per server", async () => {
  const addresses = servers.map(addr);
  const mc = await pool(addresses);
  const keys = Array.from({ length: 300 }, (_, i) => `pool:place:${i}`);
  const expected = keysByServer(addresses, keys);
  for (const group of expected) assert.ok(group.length > 50, `balanced: ${group.length}`);
  assert.deepEqual(await mc.setMulti(keys.map((k, i) => [k, i] as const)), []);
  for (const [i, address] of addresses.entries()) {
    const direct = await pool([address]);
    const found = await direct.getMulti(keys);
    assert.deepEqual([...found.keys()].sort(), [...expected[i]].sort(), `keys on ${address}`);
  }
  const all = await mc.getMulti([...keys, "pool:place:missing"]);
  assert.equal(all.size, 300);
  keys.forEach((k, i) => assert.equal(all.get(k), i));
  // python-memcached's (hashKey, key) pairs keep related keys on one server.
  const pairs = Array.from({ length: 20 }, (_, i) => ["user:7", `pool:user7:${i}`] as const);
  assert.deepEqual(await mc.setMulti(pairs.map((pair) => [pair, "x"] as const)), []);
  const home = keysByServer(addresses, ["user:7"]).findIndex((g) => g.length === 1);
  const direct = await pool([addresses[home]]);
  assert.equal((await direct.getMulti(pairs.map(([, key]) => key))).size, 20);
  assert.equal(await mc.deleteMulti(keys), true);
  assert.equal((await mc.getMulti(keys)).size, 0);
  const stats = await mc.serverStats();
  assert.deepEqual([...stats.keys()].sort(), [...addresses].sort());
});

test("memcache pool: a server killed mid-run fails its keys fast; others are unaffected", async () => {
  const victim = await startMemcached();
  const addresses = [addr(servers[0]), addr(servers[1]), addr(victim)];
  const mc = await pool(addresses, { deadRetry: 60_000 });
  const keys = Array.from({ length: 200 }, (_, i) => `pool:kill:${i}`);
  const [onA, onB, onVictim] = keysByServer(addresses, keys);
  assert.deepEqual(await mc.setMulti(keys.map((k) => [k, k] as const)), []);
  // Traffic to every server while the victim dies.
  const inFlight = keys.map((k) => mc.get(k).then((v) => ({ k, v }), (e) => ({ k, e })));
  await victim.stop();
  const during = await Promise.all(inFlight);
  for (const r of during) {
    if (onVictim.includes(r.k)) {
      if ("e" in r) {
        assert.ok(
          r.e instanceof ConnectionClosedError || r.e instanceof ConnectError,
          `victim key failed as lost or unreachable: ${r.e}`,
        );
      } else assert.equal(r.v, r.k, "answered before the kill");
    } else assert.deepEqual(r, { k: r.k, v: r.k }, "other servers are unaffected");
  }
  // The victim is marked dead (after at most one failed reconnect): its keys fail at once.
  await eventually(async () => {
    try {
      await mc.get(onVictim[0]);
      return false;
    } catch (error) {
      return error instanceof ServerDeadError;
    }
  });
  const started = performance.now();
  await assert.rejects(mc.get(onVictim[1]), ServerDeadError);
  await assert.rejects(mc.set(onVictim[1], "x"), /is marked dead for \d+ ms more/);
  assert.ok(performance.now() - started < 100, "failed fast, without a connection attempt");
  assert.equal(mc.servers[2].dead, true);
  // Multi-key calls: partial results, failed keys reported.
  const got = await mc.getMulti(keys);
  assert.deepEqual([...got.keys()].sort(), [...onA, ...onB].sort());
  const failed = await mc.setMulti(keys.map((k) => [k, "again"] as const));
  assert.deepEqual(failed.sort(), [...onVictim].sort());
  assert.equal(await mc.deleteMulti(keys), false, "one server did not answer");
  for (const k of onA.slice(0, 5)) assert.equal(await mc.get(k), null, "deleted elsewhere");
});

test("memcache pool: a dead server is left alone for deadRetry, then tried again", async () => {
  const proxy = await startChaosProxy(servers[1]);
  proxies.push(proxy);
  const addresses = [addr(servers[0]), addr(proxy), addr(servers[2])];
  const deadRetry = 400;
  const mc = await pool(addresses, { deadRetry });
  const key =
    keysByServer(addresses, Array.from({ length: 50 }, (_, i) => `pool:retry:${i}`))[1][0];
  assert.equal(await mc.set(key, "v1"), true);
  proxy.dropAfter(0); // the server now accepts and drops every connection
  // Losing the connection marks the server dead (python-memcached's mark_dead on a socket
  // error): no reconnect until deadRetry has passed.
  await assert.rejects(mc.get(key), (e: unknown) => e instanceof ConnectionClosedError);
  const deadSince = performance.now();
  const accepted = proxy.accepted;
  for (let i = 0; i < 20; i++) await assert.rejects(mc.get(key), ServerDeadError);
  assert.equal(proxy.accepted, accepted, "no connection attempts while dead");
  proxy.pass();
  await eventually(async () => (await mc.get(key).catch(() => undefined)) === "v1");
  const back = performance.now() - deadSince;
  assert.ok(back >= deadRetry - 20, `tried again after ${back.toFixed(0)} ms`);
  assert.equal(proxy.accepted, accepted + 1, "exactly one new connection");
  assert.equal(mc.servers[1].dead, false);
});

test("memcache pool: failover sends a dead server's keys to the next one, then back", async () => {
  const proxy = await startChaosProxy(servers[1]);
  proxies.push(proxy);
  const addresses = [addr(servers[0]), addr(proxy), addr(servers[2])];
  const mc = await pool(addresses, { deadRetry: 300, failover: true });
  const keys = keysByServer(addresses, Array.from({ length: 60 }, (_, i) => `pool:fo:${i}`))[1];
  assert.equal(await mc.set(keys[0], "home"), true);
  proxy.dropAfter(0);
  // A request in flight when the connection drops may have run: it fails, never moves.
  await eventually(async () => {
    await mc.get(keys[0]).catch((e) => assert.ok(e instanceof ConnectionClosedError && e.sent));
    return mc.servers[1].dead;
  });
  // Requests that can't reach the dead server are sent to a live one instead.
  assert.deepEqual(await Promise.all(keys.map((k) => mc.set(k, "moved"))), keys.map(() => true));
  assert.equal(await mc.get(keys[0]), "moved");
  assert.equal(mc.servers[1].dead, true);
  const survivors = [await pool([addresses[0]]), await pool([addresses[2]])];
  const placed = await Promise.all(survivors.map((s) => s.getMulti(keys)));
  assert.equal(placed[0].size + placed[1].size, keys.length, "stored on the live servers");
  proxy.pass();
  await eventually(async () => (await mc.get(keys[0])) === "home", 3000);
  assert.equal(mc.servers[1].dead, false);
  assert.equal(await mc.get(keys[1]), null, "the keys went home to the revived server");
});

test("memcache pool: flushOnReconnect keeps a revived server from serving stale data", async () => {
  for (const flushOnReconnect of [false, true]) {
    const proxy = await startChaosProxy(servers[1]);
    proxies.push(proxy);
    const addresses = [addr(servers[0]), addr(proxy), addr(servers[2])];
    const mc = await pool(addresses, { deadRetry: 200, failover: true, flushOnReconnect });
    const key = keysByServer(
      addresses,
      Array.from({ length: 50 }, (_, i) => `pool:st:${flushOnReconnect}:${i}`),
    )[1][0];
    assert.equal(await mc.set(key, "old"), true);
    proxy.dropAfter(0);
    await mc.set(key, "new").catch(() => {}); // lost in flight or failed over
    assert.equal(await mc.set(key, "new"), true, "written to the failover server");
    assert.equal(await mc.get(key), "new");
    proxy.pass();
    await eventually(async () => (await mc.get(key)) !== "new", 3000);
    assert.equal(
      await mc.get(key),
      flushOnReconnect ? null : "old",
      flushOnReconnect ? "flushed on reconnect" : "without the option, the stale value shows",
    );
  }
});

test("memcache pool: a Unix-socket server in a pool with TCP ones; setServers swaps the pool", async () => {
  const local = await startMemcached({ unixSocket: true });
  try {
    const addresses = [addr(servers[0]), `unix:${local.socketPath}`];
    const mc = await pool(addresses);
    const keys = Array.from({ length: 40 }, (_, i) => `pool:unix:${i}`);
    const [, onSocket] = keysByServer([addr(servers[0]), `${local.socketPath}:0`], keys);
    assert.ok(onSocket.length > 0, "some keys live behind the socket");
    assert.deepEqual(await mc.setMulti(keys.map((k) => [k, k] as const)), []);
    const direct = await pool([`unix:${local.socketPath}`]);
    assert.deepEqual([...(await direct.getMulti(keys)).keys()].sort(), [...onSocket].sort());
    await mc.setServers([`unix:${local.socketPath}`]);
    assert.deepEqual(mc.servers.map((s) => s.label), [local.socketPath]);
    const seen = await mc.getMulti(keys);
    assert.deepEqual([...seen.keys()].sort(), [...onSocket].sort(), "only the socket's keys now");
  } finally {
    await local.stop();
  }
});
