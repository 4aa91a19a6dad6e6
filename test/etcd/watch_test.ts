// Watches against real etcd: prefix, prevKv, filters, start revision, resume after the
// connection is cut (no gap, no duplicate), compaction reported with its revision, close.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { startEtcd } from "../../scripts/servers.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { EtcdCompactedError, EtcdError } from "../../src/etcd/errors.ts";
import { text } from "../../src/etcd/kv.ts";
import type { Watcher, WatchEvent } from "../../src/etcd/watch.ts";
import { type ChaosProxy, startChaosProxy } from "../_helpers/chaos_proxy.ts";
import { etcdAddress } from "../_helpers/servers.ts";

const addr = await etcdAddress();
const endpoint = `${addr.host}:${addr.port}`;
const p = `kvwire-watch/${crypto.randomUUID()}/`;
const etcd = new EtcdClient({ endpoints: [endpoint] });
const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
  await etcd.close();
});

async function take(watcher: Watcher, n: number): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  if (n === 0) return out;
  for await (const event of watcher) {
    out.push(event);
    if (out.length === n) break;
  }
  return out;
}

test("watch: prefix with prevKv sees puts and deletes in order", async () => {
  await using watcher = etcd.watch(`${p}a/`, { prefix: true, prevKv: true });
  const start = await watcher.created;
  assert.ok(start > 0n);
  const r1 = await etcd.put(`${p}a/1`, "x");
  const r2 = await etcd.put(`${p}a/1`, "y");
  await etcd.put(`${p}b`, "outside");
  const r3 = await etcd.delete(`${p}a/1`);
  const events = await take(watcher, 3);
  assert.deepEqual(events.map((e) => [e.type, e.kv.modRevision]), [
    ["put", r1.revision],
    ["put", r2.revision],
    ["delete", r3.revision],
  ]);
  assert.equal(text(events[1].prevKv!.value), "x");
  assert.equal(text(events[2].prevKv!.value), "y");
  assert.equal(watcher.nextRevision, r3.revision + 1n);
});

test("watch: startRevision replays history; filters drop event kinds", async () => {
  const k = `${p}hist`;
  const a = await etcd.put(k, "1");
  await etcd.delete(k);
  const c = await etcd.put(k, "2");
  await using noDelete = etcd.watch(k, { startRevision: a.revision, filters: ["noDelete"] });
  const events = await take(noDelete, 2);
  assert.deepEqual(events.map((e) => [e.type, e.kv.modRevision, text(e.kv.value)]), [
    ["put", a.revision, "1"],
    ["put", c.revision, "2"],
  ]);
  await using noPut = etcd.watch(k, { startRevision: a.revision, filters: ["noPut"] });
  const [only] = await take(noPut, 1);
  assert.equal(only.type, "delete");
  assert.equal(only.kv.modRevision, a.revision + 1n);
});

test("watch: close() and break end the iteration", async () => {
  const watcher = etcd.watch(`${p}closing`);
  await watcher.created;
  const done = take(watcher, 1);
  watcher.close();
  assert.deepEqual(await done, []);
  const other = etcd.watch(`${p}closing`);
  await other.created;
  await etcd.put(`${p}closing`, "v");
  assert.equal((await take(other, 1)).length, 1); // take() breaks: cancels the stream
  assert.deepEqual(await other.next(), { value: undefined, done: true });
});

test("watch: resumes after the connection is cut, with no gap and no duplicate", async () => {
  const proxy: ChaosProxy = await startChaosProxy(addr);
  cleanup.push(() => proxy.stop());
  const viaProxy = new EtcdClient({ endpoints: [`${proxy.host}:${proxy.port}`] });
  cleanup.push(() => viaProxy.close());
  await using watcher = viaProxy.watch(`${p}resume/`, { prefix: true });
  await watcher.created;
  const n = 150;
  const received = take(watcher, n);
  const written: bigint[] = [];
  for (let i = 0; i < n; i++) {
    written.push((await etcd.put(`${p}resume/${i % 7}`, String(i))).revision);
    if (i === 40 || i === 100) proxy.resetAll();
  }
  const events = await received;
  assert.deepEqual(events.map((e) => e.kv.modRevision), written);
  assert.deepEqual(events.map((e) => text(e.kv.value)), written.map((_, i) => String(i)));
  assert.ok(watcher.reconnects >= 1, `reconnects: ${watcher.reconnects}`);
});

test("watch: a compacted start revision is an EtcdCompactedError with the revision", async () => {
  // Compaction is global: this runs on a private server so other tests' watches are safe.
  const server = await startEtcd({ enableV2: false });
  cleanup.push(() => server.stop());
  const own = new EtcdClient({ endpoints: [`${server.host}:${server.port}`] });
  cleanup.push(() => own.close());
  const first = await own.put("k", "1");
  await own.put("k", "2");
  const third = await own.put("k", "3");
  await own.compact(third.revision, { physical: true });
  const old = await own.get("k", { revision: first.revision }).catch((e) => e);
  assert.ok(old instanceof EtcdError && /compacted/.test(old.message));
  const watcher = own.watch("k", { startRevision: first.revision });
  const error = await take(watcher, 1).catch((e) => e);
  assert.ok(error instanceof EtcdCompactedError, String(error));
  assert.equal(error.compactRevision, third.revision);
  const fine = own.watch("k", { startRevision: third.revision });
  const [event] = await take(fine, 1);
  assert.equal(text(event.kv.value), "3");
});
