// Election.observe against real etcd: leader, next leader after a resign, proclaims, waiting
// for a first leader, close and break, resumption after the connection is cut, typed errors.

import { after } from "node:test";
import assert from "node:assert/strict";
import { KvError } from "../../src/core/errors.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { text } from "../../src/etcd/kv.ts";
import type { Leader } from "../../src/etcd/lock.ts";
import type { ElectionObserver } from "../../src/etcd/observe.ts";
import { startChaosProxy } from "../_helpers/chaos_proxy.ts";
import { type EtcdProtocol, perProtocol } from "../_helpers/etcd_protocols.ts";
import { etcdAddress } from "../_helpers/servers.ts";

const addr = await etcdAddress();
const endpoint = `${addr.host}:${addr.port}`;
// Each test runs once per protocol, with that protocol's client and keys of its own.
let etcd: EtcdClient;
let p: string;
let protocol: EtcdProtocol;
const runs = perProtocol(endpoint, `kvwire-election/${crypto.randomUUID()}/`, (run) => {
  ({ etcd, p, protocol } = run);
});
const each = runs.each;
const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
  await runs.close();
});

/** The observer's next leader; fails the test if none comes within `ms`. */
async function nextLeader(observer: ElectionObserver, ms = 10_000): Promise<Leader> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no leader change within ${ms} ms`)), ms);
  });
  try {
    const result = await Promise.race([observer.next(), timeout]);
    assert.equal(result.done, false, "the observation ended");
    return result.value as Leader;
  } finally {
    clearTimeout(timer);
  }
}

each("election: observe sees leader A, B after A resigns, and every proclaim", async () => {
  const election = etcd.election(`${p}e1`);
  const a = await election.campaign("A", { ttl: 10 });
  await using observer = election.observe();
  const first = await nextLeader(observer);
  assert.equal(text(first.value), "A");
  assert.deepEqual(first.key.key, a.key.key);
  assert.equal(first.key.rev, a.key.rev);
  assert.equal(first.key.lease, a.lease.id);
  const bElected = election.campaign("B", { ttl: 10 }); // waits behind A
  bElected.catch(() => {}); // awaited below
  await a.proclaim("A2");
  const proclaimed = await nextLeader(observer);
  assert.equal(text(proclaimed.value), "A2");
  assert.deepEqual(proclaimed.key.key, a.key.key);
  assert.ok(proclaimed.modRevision > first.modRevision);
  await a.resign();
  const b = await bElected;
  const second = await nextLeader(observer);
  assert.equal(text(second.value), "B");
  assert.deepEqual(second.key.key, b.key.key);
  assert.equal(second.key.rev, b.key.rev);
  await b.proclaim("B2");
  assert.equal(text((await nextLeader(observer)).value), "B2");
  await b.resign();
});

each("election: observe waits for a first leader; close() ends the iteration", async () => {
  const election = etcd.election(`${p}e2`);
  const observer = election.observe();
  const pending = nextLeader(observer);
  const term = await election.campaign("solo", { ttl: 10 });
  const leader = await pending;
  assert.equal(text(leader.value), "solo");
  assert.deepEqual(leader.key.key, term.key.key);
  const waiting = observer.next();
  observer.close();
  assert.deepEqual(await waiting, { value: undefined, done: true });
  assert.deepEqual(await observer.next(), { value: undefined, done: true });
  await term.resign();
});

each("election: break and an aborted signal end the observation", async () => {
  const election = etcd.election(`${p}e3`);
  await using term = await election.campaign("x", { ttl: 10 });
  const observer = election.observe();
  for await (const leader of observer) {
    assert.equal(text(leader.value), "x");
    break;
  }
  assert.deepEqual(await observer.next(), { value: undefined, done: true });
  const controller = new AbortController();
  const signalled = election.observe({ signal: controller.signal });
  assert.equal(text((await nextLeader(signalled)).value), "x");
  const waiting = signalled.next();
  controller.abort();
  assert.deepEqual(await waiting, { value: undefined, done: true });
  await term.proclaim("y"); // nothing listens any more: no error anywhere
});

each("election: observe resumes after the connection is cut", async () => {
  const proxy = await startChaosProxy(addr);
  cleanup.push(() => proxy.stop());
  const viaProxy = new EtcdClient({ endpoints: [`${proxy.host}:${proxy.port}`], protocol });
  cleanup.push(() => viaProxy.close());
  const election = etcd.election(`${p}e4`);
  await using term = await election.campaign("v1", { ttl: 10 });
  await using observer = viaProxy.election(`${p}e4`).observe();
  assert.equal(text((await nextLeader(observer)).value), "v1");
  await term.proclaim("v2");
  assert.equal(text((await nextLeader(observer)).value), "v2"); // the watch is live
  proxy.resetAll();
  await term.proclaim("v3");
  const resumed = await nextLeader(observer);
  assert.equal(text(resumed.value), "v3");
  assert.deepEqual(resumed.key.key, term.key.key);
  assert.ok(observer.reconnects >= 1, `reconnects: ${observer.reconnects}`);
});

each("election: observe reports an unreachable cluster as a typed error", async () => {
  const proxy = await startChaosProxy(addr);
  const port = proxy.port;
  await proxy.stop(); // nothing listens on `port` any more
  const dead = new EtcdClient({ endpoints: [`127.0.0.1:${port}`], requestTimeout: 300, protocol });
  cleanup.push(() => dead.close());
  const observer = dead.election(`${p}e5`).observe();
  const error = await observer.next().catch((e) => e);
  // Refused at once (not at the 300 ms deadline): every endpoint refused the connection.
  assert.ok(error instanceof KvError && error.code === "CONNECT_FAILED", String(error));
  assert.equal(error.sent, false);
});
