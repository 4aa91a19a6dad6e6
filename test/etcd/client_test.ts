// EtcdClient against the real etcd started by the harness (v3 JSON gateway): KV, txn,
// namespaces, leases, locks, elections, cluster calls, and etcdctl cross-checks.

import { after } from "node:test";
import assert from "node:assert/strict";
import { EtcdClient } from "../../src/etcd/client.ts";
import { EtcdError, EtcdLeaseLostError } from "../../src/etcd/errors.ts";
import { text } from "../../src/etcd/kv.ts";
import { etcdAddress } from "../_helpers/servers.ts";
import { type EtcdProtocol, perProtocol } from "../_helpers/etcd_protocols.ts";
import { etcdctl as runEtcdctl } from "../_helpers/etcdctl.ts";

const addr = await etcdAddress();
const endpoint = `${addr.host}:${addr.port}`;
// Each test runs once per protocol, with that protocol's client and keys of its own.
let etcd: EtcdClient;
let p: string;
let protocol: EtcdProtocol;
const runs = perProtocol(endpoint, `kvwire-test/${crypto.randomUUID()}/`, (run) => {
  ({ etcd, p, protocol } = run);
});
const each = runs.each;
after(async () => {
  await runs.close();
});

const etcdctl = (...args: string[]): Promise<string> => runEtcdctl(endpoint, ...args);

each("etcd: put, get, prevKv, binary keys and values, delete", async () => {
  const first = await etcd.put(`${p}a`, "1");
  assert.ok(first.revision > 0n);
  const second = await etcd.put(`${p}a`, "2", { prevKv: true });
  assert.equal(second.revision, first.revision + 1n);
  assert.equal(text(second.prevKv!.value), "1");
  const kv = await etcd.get(`${p}a`);
  assert.equal(text(kv!.value), "2");
  assert.equal(kv!.version, 2n);
  assert.equal(kv!.createRevision, first.revision);
  assert.equal(kv!.modRevision, second.revision);
  const binKey = new Uint8Array([...new TextEncoder().encode(p), 0, 255, 10, 13]);
  const binValue = new Uint8Array(256).map((_, i) => i);
  await etcd.put(binKey, binValue);
  assert.deepEqual((await etcd.get(binKey))!.value, binValue);
  const del = await etcd.delete(binKey, { prevKv: true });
  assert.equal(del.deleted, 1n);
  assert.deepEqual(del.prevKvs[0].value, binValue);
  assert.equal(await etcd.get(binKey), undefined);
  assert.equal(await etcd.getString(`${p}missing`), undefined);
});

each("etcd: ranges with prefix, limit, sort, revision, keysOnly, countOnly, fromKey", async () => {
  const r = `${p}range/`;
  const revs: bigint[] = [];
  for (const k of ["c", "a", "b", "d"]) {
    revs.push((await etcd.put(r + k, k.toUpperCase())).revision);
  }
  const all = await etcd.range({ key: r, prefix: true });
  assert.deepEqual(all.kvs.map((kv) => text(kv.key)), ["a", "b", "c", "d"].map((k) => r + k));
  assert.equal(all.count, 4n);
  const limited = await etcd.range({ key: r, prefix: true }, {
    limit: 2,
    sortOrder: "descend",
    sortTarget: "key",
  });
  assert.deepEqual(limited.kvs.map((kv) => text(kv.value)), ["D", "C"]);
  assert.equal(limited.more, true);
  assert.equal(limited.count, 4n);
  const old = await etcd.range({ key: r, prefix: true }, { revision: revs[1] });
  assert.deepEqual(old.kvs.map((kv) => text(kv.value)), ["A", "C"]);
  const keysOnly = await etcd.range({ key: r, prefix: true }, { keysOnly: true });
  assert.deepEqual(keysOnly.kvs.map((kv) => kv.value.length), [0, 0, 0, 0]);
  const counted = await etcd.range({ key: r, prefix: true }, { countOnly: true });
  assert.equal(counted.kvs.length, 0);
  assert.equal(counted.count, 4n);
  const between = await etcd.range({ key: r + "b", rangeEnd: r + "d" }, { serializable: true });
  assert.deepEqual(between.kvs.map((kv) => text(kv.value)), ["B", "C"]);
  const from = await etcd.namespace(r).range({ key: "c", fromKey: true });
  assert.deepEqual(from.kvs.map((kv) => text(kv.key)), ["c", "d"]);
  const paged: string[] = [];
  for await (const kv of etcd.iterate({ key: r, prefix: true }, { pageSize: 3 })) {
    paged.push(text(kv.value));
  }
  assert.deepEqual(paged, ["A", "B", "C", "D"]);
  const gone = await etcd.delete(r, { prefix: true });
  assert.equal(gone.deleted, 4n);
});

each("etcd: txn compares on value, version, revisions and lease; compareAndSwap", async () => {
  const k = `${p}txn`;
  const { revision } = await etcd.put(k, "v1");
  const ok = await etcd.txn({
    compare: [
      { key: k, target: "value", op: "==", value: "v1" },
      { key: k, target: "version", op: "==", value: 1n },
      { key: k, target: "createRevision", op: "==", value: revision },
      { key: k, target: "modRevision", op: "<", value: revision + 1n },
      { key: k, target: "lease", op: "==", value: 0n },
    ],
    success: [{ put: { key: k, value: "v2", prevKv: true } }, { get: { key: k } }],
    failure: [{ delete: { key: k } }],
  });
  assert.equal(ok.succeeded, true);
  assert.equal(ok.revision, revision + 1n);
  const [put, get] = ok.responses;
  assert.ok("put" in put && text(put.put.prevKv!.value) === "v1");
  assert.ok("get" in get && text(get.get.kvs[0].value) === "v2");
  const failed = await etcd.txn({
    compare: [{ key: k, target: "value", op: "!=", value: "v2" }],
    success: [{ put: { key: k, value: "never" } }],
    failure: [{ get: { key: k } }],
  });
  assert.equal(failed.succeeded, false);
  assert.equal(await etcd.getString(k), "v2");
  assert.equal(await etcd.compareAndSwap(k, "v1", "x"), false);
  assert.equal(await etcd.compareAndSwap(k, "v2", "v3"), true);
  assert.equal(await etcd.compareAndSwap(`${p}cas-new`, undefined, "n"), true);
  assert.equal(await etcd.compareAndSwap(`${p}cas-new`, undefined, "m"), false);
  assert.equal(await etcd.getString(k), "v3");
  await assert.rejects(
    etcd.txn({ compare: [{ key: k, target: "version", op: "==", value: "1" }] }),
    TypeError,
  );
});

each("etcd: namespaces prefix keys on the way in and strip them on the way out", async () => {
  const ns = etcd.namespace(`${p}ns/`);
  await ns.put("x", "1");
  assert.equal(await etcd.getString(`${p}ns/x`), "1");
  assert.deepEqual((await ns.getPrefix("")).map((kv) => text(kv.key)), ["x"]);
  await ns.close(); // a view does not close the shared connections
  assert.equal(await ns.getString("x"), "1");
});

each("etcd: server errors are EtcdError with the gRPC code", async () => {
  const error = await etcd.revoke(123456789n).catch((e) => e);
  assert.ok(error instanceof EtcdError);
  assert.equal(error.serverCode, "NOT_FOUND");
  assert.match(error.message, /lease not found/);
  const future = await etcd.get(`${p}a`, { revision: 1n << 40n }).catch((e) => e);
  assert.ok(future instanceof EtcdError);
  assert.equal(future.grpcCode, 11);
});

each("etcd: leases attach keys, keep alive, and report loss", async () => {
  const lease = await etcd.grant(2);
  await etcd.put(`${p}leased`, "x", { lease: lease.id });
  const info = await etcd.timeToLive(lease.id, { keys: true });
  assert.equal(info.grantedTtl, 2);
  assert.deepEqual(info.keys.map(text), [`${p}leased`]);
  assert.ok((await etcd.leases()).includes(lease.id));
  assert.equal(await lease.keepAliveOnce(), 2);
  // Another client revokes it: the keep-alive loop learns the lease is gone.
  const other = new EtcdClient({ endpoints: [endpoint], protocol });
  await other.revoke(lease.id);
  await other.close();
  const lost = await lease.lost;
  assert.ok(lost instanceof EtcdLeaseLostError);
  assert.equal(lost.leaseId, lease.id);
  assert.equal(lease.signal.aborted, true);
  assert.equal(await etcd.get(`${p}leased`), undefined);
  assert.equal((await etcd.timeToLive(lease.id)).ttl, -1);
  await assert.rejects(etcd.grant(0), RangeError);
});

each("etcd: a kept-alive lease outlives its TTL; revoke deletes its keys", async () => {
  await using lease = await etcd.grant(1);
  await etcd.put(`${p}alive`, "x", { lease: lease.id });
  const ttl = await lease.keepAliveOnce();
  assert.equal(ttl, 1);
  let beats = 0;
  while (beats < 4) {
    // each loop waits for a server-confirmed refresh through the lease's own loop
    const before = (await etcd.timeToLive(lease.id)).ttl;
    assert.ok(before >= 0, "the lease must still exist");
    await new Promise((r) => setTimeout(r, 400));
    beats++;
  }
  assert.equal(await etcd.getString(`${p}alive`), "x");
  await lease.revoke();
  assert.equal(await etcd.get(`${p}alive`), undefined);
  assert.equal(lease.stopped, true);
});

each("etcd: locks exclude each other and are released with await using", async () => {
  const name = `${p}lock`;
  const order: string[] = [];
  let second: Promise<void> | undefined;
  {
    await using lock = await etcd.lock(name, { ttl: 5 });
    order.push("first acquired");
    assert.ok(text(lock.key).startsWith(name));
    second = etcd.lock(name, { ttl: 5 }).then(async (l) => {
      order.push("second acquired");
      await l.release();
    });
    const waiting = await Promise.race([second.then(() => "acquired"), Promise.resolve("waiting")]);
    assert.equal(waiting, "waiting");
    order.push("first releasing");
  }
  await second;
  assert.deepEqual(order, ["first acquired", "first releasing", "second acquired"]);
  const abort = new AbortController();
  await using held = await etcd.lock(name, { ttl: 5 });
  const blocked = etcd.lock(name, { signal: abort.signal });
  abort.abort();
  await assert.rejects(blocked, /aborted/);
  assert.ok(held.lease.id > 0n);
});

each("etcd: election campaign, leader, proclaim, resign", async () => {
  const election = etcd.election(`${p}election`);
  assert.equal(await election.leaderValue(), undefined);
  const term = await election.campaign("node-1", { ttl: 5 });
  assert.equal(await election.leaderValue(), "node-1");
  await term.proclaim("node-1b");
  assert.equal(await election.leaderValue(), "node-1b");
  await term.resign();
  assert.equal(await election.leaderValue(), undefined);
});

each("etcd: members, status and alarms", async () => {
  const members = await etcd.members();
  assert.equal(members.length, 1);
  assert.ok(members[0].clientUrls.some((u) => u.endsWith(`:${addr.port}`)));
  const status = await etcd.status();
  assert.equal(status.version, "3.4.23");
  assert.equal(status.leader, members[0].id);
  assert.ok(status.dbSize > 0n);
  assert.deepEqual(await etcd.alarms(), []);
});

each("etcd: etcdctl reads what kvwire wrote, and the reverse", async () => {
  await etcd.put(`${p}ctl/from-kvwire`, "héllo");
  assert.equal(await etcdctl("get", "--print-value-only", `${p}ctl/from-kvwire`), "héllo\n");
  await etcdctl("put", `${p}ctl/from-etcdctl`, "wörld");
  assert.equal(await etcd.getString(`${p}ctl/from-etcdctl`), "wörld");
  const lease = await etcd.grant(30, { keepAlive: false });
  await etcdctl("put", `--lease=${lease.id.toString(16)}`, `${p}ctl/leased`, "v");
  assert.equal((await etcd.get(`${p}ctl/leased`))!.lease, lease.id);
  await lease.revoke();
  assert.equal(await etcdctl("get", "--print-value-only", `${p}ctl/leased`), "");
});
