// The v2 keys API against the harness's etcd (--enable-v2): the seed's (aio_etcd) examples —
// write/read/delete, CAS (numeric prevValue too), update (of a directory too), watch with
// waitIndex and timeout, refresh, append, Lock, machines, leader.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import {
  EtcdAlreadyExistError,
  EtcdCompareFailedError,
  EtcdKeyNotFoundError,
  EtcdNotFileOrDirError,
} from "../../src/etcd/errors.ts";
import { TimeoutError } from "../../src/core/errors.ts";
import { EtcdV2Client, V2Lock } from "../../src/etcd/v2.ts";
import { etcdAddress } from "../_helpers/servers.ts";

const addr = await etcdAddress();
const client = new EtcdV2Client({
  endpoints: [`${addr.host}:${addr.port}`],
  lockPrefix: `/kvwire-locks-${crypto.randomUUID()}/`,
});
const d = `/kvwire-v2/${crypto.randomUUID()}`;
after(() => client.close());

test("v2: write, read, set/get aliases, ttl, delete, typed not-found", async () => {
  const w = await client.write(`${d}/nodes/n1`, 1);
  assert.equal(w.action, "set");
  assert.equal((await client.read(`${d}/nodes/n1`)).value, "1");
  await client.set(`${d}/nodes/n2`, 2, { ttl: 4 });
  const n2 = await client.get(`${d}/nodes/n2`);
  assert.equal(n2.value, "2");
  assert.ok(n2.ttl! > 0 && n2.ttl! <= 4);
  assert.ok(n2.etcdIndex >= n2.modifiedIndex);
  const del = await client.delete(`${d}/nodes/n1`);
  assert.equal(del.action, "delete");
  assert.equal(del.prevNode?.value, "1");
  await assert.rejects(client.read(`${d}/invalid/path`), EtcdKeyNotFoundError);
});

test("v2: recursive directory listing with children; dir delete rules", async () => {
  await client.write(`${d}/tree/a`, "A");
  await client.write(`${d}/tree/sub/b`, "B");
  const tree = await client.read(`${d}/tree`, { recursive: true, sorted: true });
  assert.equal(tree.dir, true);
  assert.deepEqual(tree.children.map((c) => [c.key, c.value]), [
    [`${d}/tree/a`, "A"],
    [`${d}/tree/sub/b`, "B"],
  ]);
  await client.write(`${d}/emptydir`, "", { dir: true });
  await assert.rejects(client.delete(`${d}/tree`, { dir: true }), EtcdNotFileOrDirError);
  await client.delete(`${d}/emptydir`, { dir: true });
  const gone = await client.delete(`${d}/tree`, { recursive: true });
  assert.equal(gone.action, "delete");
  await assert.rejects(client.read(`${d}/tree`), EtcdKeyNotFoundError);
});

test("v2: compare-and-swap with prevValue, prevExist, prevIndex, testAndSet, update", async () => {
  const k = `${d}/cas`;
  await client.write(k, 4);
  await client.write(k, 2, { prevValue: "4" });
  await assert.rejects(client.write(k, 3, { prevValue: "4" }), EtcdCompareFailedError);
  await assert.rejects(client.write(k, 3, { prevExist: false }), EtcdAlreadyExistError);
  await client.write(`${d}/cas-new`, 1, { prevExist: false });
  const current = await client.read(k);
  await client.write(k, 5, { prevIndex: current.modifiedIndex });
  await assert.rejects(
    client.write(k, 6, { prevIndex: current.modifiedIndex }),
    EtcdCompareFailedError,
  );
  await client.testAndSet(k, "7", "5");
  assert.equal((await client.read(k)).value, "7");
  await client.write(`${d}/foo`, "bar");
  const result = await client.read(`${d}/foo`);
  result.value += "bar";
  const updated = await client.update(result);
  assert.equal(updated.value, "barbar");
  await assert.rejects(client.update(result), EtcdCompareFailedError, "stale result");
});

test("v2: watch waits for the next change and replays from waitIndex", async () => {
  const k = `${d}/watched`;
  const first = await client.write(k, "0");
  // waitIndex makes the wait independent of when the long poll reaches the server; it runs
  // on its own connection, so the write below is not queued behind it.
  const waiting = client.watch(k, { index: first.modifiedIndex + 1 });
  const second = await client.write(k, "1");
  const seen = await waiting;
  assert.equal(seen.value, "1");
  assert.equal(seen.modifiedIndex, second.modifiedIndex);
  const replay = await client.read(k, { wait: true, waitIndex: first.modifiedIndex });
  assert.equal(replay.value, "0");
  const history: string[] = [];
  for await (const event of client.watchIter(k, { index: first.modifiedIndex })) {
    history.push(event.value!);
    if (history.length === 2) break;
  }
  assert.deepEqual(history, ["0", "1"]);
  const abort = new AbortController();
  const cancelled = client.watch(`${d}/never`, { signal: abort.signal });
  abort.abort();
  await assert.rejects(cancelled, /abort/i);
});

test("v2: refresh changes the TTL without notifying watchers", async () => {
  const k = `${d}/refresh`;
  const set = await client.write(k, "v", { ttl: 30 });
  const waiting = client.watch(k, { index: set.modifiedIndex + 1 });
  const refreshed = await client.refresh(k, 600);
  assert.ok(refreshed.ttl! > 30);
  assert.equal(refreshed.value, "v");
  const changed = await client.write(k, "w");
  const seen = await waiting;
  assert.equal(seen.modifiedIndex, changed.modifiedIndex, "the refresh did not wake the watch");
});

test("v2: in-order keys with append, listed in order", async () => {
  const x = await client.write(`${d}/queue`, "value1", { append: true });
  await client.write(`${d}/queue`, "value2", { append: true });
  assert.equal(x.action, "create");
  assert.ok(x.key.startsWith(`${d}/queue/`));
  const dir = await client.get(`${d}/queue`, { sorted: true });
  assert.deepEqual(dir.children.map((c) => c.value), ["value1", "value2"]);
});

test("v2: Lock excludes, renews, releases; machines and leader", async () => {
  await using lock = new V2Lock(client, "customer1");
  assert.equal(await lock.acquire({ ttl: 60 }), true);
  assert.equal(lock.isAcquired, true);
  const other = new V2Lock(client, "customer1");
  assert.equal(await other.acquire({ blocking: false }), false);
  const waiter = other.acquire({ ttl: 60 });
  assert.equal(await lock.acquire({ ttl: 60 }), true, "renew");
  await lock.release();
  assert.equal(lock.isAcquired, false);
  assert.equal(await waiter, true);
  await other.release();
  const machines = await client.machines();
  assert.deepEqual(machines, [`http://${addr.host}:${addr.port}`]);
  const leader = await client.leader();
  assert.deepEqual(leader.clientURLs, machines);
});

test("v2: a held Lock is kept alive past its TTL; isAcquired and held() follow the server", {
  timeout: 20_000,
}, async () => {
  await using lock = new V2Lock(client, `alive-${crypto.randomUUID()}`);
  assert.equal(await lock.acquire({ ttl: 1 }), true);
  const key = lock.key!;
  // Let two TTLs pass: only the keep-alive keeps the key.
  await new Promise((resolve) => setTimeout(resolve, 2200));
  assert.equal((await client.read(key)).value, "1", "the key outlived its TTL");
  assert.equal(lock.isAcquired, true);
  assert.equal(await lock.held(), true);
  await client.delete(key); // lost behind its back (an operator, a partition)
  assert.equal(await lock.held(), false, "held() re-reads the server");
  assert.equal(lock.isAcquired, false);
  assert.equal(await lock.acquire({ ttl: 1, blocking: false }), true, "a new key is made");
  assert.notEqual(lock.key, key);
  await assert.rejects(lock.acquire({ ttl: 0.5 }), RangeError);
});

test("v2: members, serverStats, version, pop (seed leftovers)", async () => {
  const members = await client.members();
  assert.equal(members.length, 1);
  assert.deepEqual(members[0].clientURLs, [`http://${addr.host}:${addr.port}`]);
  assert.equal((await client.leader()).id, members[0].id);
  const self = await client.serverStats("self");
  assert.equal(self.id, members[0].id);
  assert.equal(typeof (await client.serverStats("store")).setsSuccess, "number");
  await assert.rejects(client.serverStats("bogus" as "self"), RangeError);
  const version = await client.version();
  assert.match(version.etcdserver, /^3\.\d+\.\d+/);
  assert.match(version.etcdcluster, /^3\.\d+\.\d+/);
  await client.write(`${d}/pop`, "popped");
  const popped = await client.pop(`${d}/pop`);
  assert.equal(popped.value, "popped");
  await assert.rejects(client.read(`${d}/pop`), EtcdKeyNotFoundError);
});

test("v2: Lock acquire with a timeout gives up, deleting its key; the holder keeps it", async () => {
  const name = `timeout-${crypto.randomUUID()}`;
  await using holder = new V2Lock(client, name);
  assert.equal(await holder.acquire({ ttl: 30 }), true);
  await using waiter = new V2Lock(client, name);
  const started = Date.now();
  assert.equal(await waiter.acquire({ ttl: 30, timeout: 300 }), false);
  assert.ok(Date.now() - started < 3000, `gave up after ${Date.now() - started} ms`);
  assert.equal(waiter.isAcquired, false);
  const dir = await client.read(`${client.lockPrefix}${name}`);
  assert.deepEqual(dir.nodes.map((n) => n.key), [holder.key], "the waiter's key is gone");
  assert.equal(await holder.held(), true);
  await assert.rejects(waiter.acquire({ timeout: 0 }), RangeError);
});

test("v2: seed forms: numeric prevValue and testAndSet, update of a directory, wait with timeout", async () => {
  const k = `${d}/numeric`;
  await client.write(k, 4);
  assert.equal((await client.write(k, 2, { prevValue: 4 })).value, "2"); // prevValue = 4
  assert.equal((await client.testAndSet(k, 3, 2)).value, "3"); // test_and_set(key, 3, 2)
  await assert.rejects(client.testAndSet(k, 5, 2), EtcdCompareFailedError);
  await assert.rejects(client.delete(k, { prevValue: 2 }), EtcdCompareFailedError);
  await client.delete(k, { prevValue: 3 });
  // update() of a directory changes its TTL (etcd refuses prevIndex on a directory).
  const dirKey = `${d}/dir-ttl`;
  await client.write(dirKey, "", { dir: true, ttl: 30 });
  const dir = await client.read(dirKey);
  dir.ttl = 600;
  const updated = await client.update(dir);
  assert.equal(updated.dir, true);
  assert.ok(updated.ttl! > 30, `ttl ${updated.ttl}`);
  await client.delete(dirKey, { dir: true });
  await assert.rejects(client.update(dir), EtcdKeyNotFoundError, "a directory gone stays gone");
  // asyncio.wait_for(client.read(key, wait=True), timeout) is the timeout option.
  const started = Date.now();
  await assert.rejects(client.read(`${d}/quiet`, { wait: true, timeout: 300 }), TimeoutError);
  assert.ok(Date.now() - started < 3000, `gave up after ${Date.now() - started} ms`);
});
