// etcd.maintenance against a real etcd 3.4 on both protocols (single member, and a 3-member
// cluster for moveLeader), cross-checked with etcdctl: status, alarms, defragment, hash, snapshot;
// hashKV, which the gateway does not expose, is refused there with a TypeError.

import { after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EtcdCluster, startEtcd, startEtcdCluster } from "../../scripts/servers.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { etcdctl } from "../_helpers/etcdctl.ts";
import { type EtcdProtocol, perProtocol } from "../_helpers/etcd_protocols.ts";

// One server (and one cluster, for moveLeader) for both protocols; keys under each run's `p`.
const server = await startEtcd({ enableV2: false });
const endpoint = `${server.host}:${server.port}`;
let etcd: EtcdClient;
let p: string;
let protocol: EtcdProtocol;
const runs = perProtocol(endpoint, "m/", (run) => ({ etcd, p, protocol } = run));
const dir = mkdtempSync(join(tmpdir(), "kvwire-snap-"));
let cluster: Promise<EtcdCluster> | undefined;
after(async () => {
  await runs.close();
  await server.stop();
  await (await cluster)?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A 64-bit integer field of etcdctl's JSON output (JSON.parse would round it). */
function field(json: string, name: string): bigint {
  const match = new RegExp(`"${name}":(\\d+)`).exec(json);
  assert.ok(match, `no ${name} in ${json}`);
  return BigInt(match[1]);
}

runs.each(
  "maintenance: hashKV agrees with etcdctl endpoint hashkv; the gateway refuses it",
  async () => {
    if (protocol === "gateway") {
      await assert.rejects(etcd.maintenance.hashKV(), (error: unknown) => {
        assert.ok(error instanceof TypeError, String(error));
        assert.match(error.message, /hashKV needs protocol: "grpc"/);
        return true;
      });
      return;
    }
    await etcd.put(`${p}hkv`, "1");
    const ours = await etcd.maintenance.hashKV();
    const ctl = await etcdctl(endpoint, "endpoint", "hashkv", "-w", "json");
    assert.equal(BigInt(ours.hash), field(ctl, "hash"));
    assert.equal(ours.compactRevision, -1n, "nothing compacted on this server");
    const before = await etcd.maintenance.hashKV(ours.revision);
    assert.equal(before.hash, ours.hash, "the hash up to a revision is stable");
    await etcd.put(`${p}hkv`, "2");
    assert.notEqual((await etcd.maintenance.hashKV()).hash, ours.hash, "a write changes it");
    assert.equal((await etcd.maintenance.hashKV(ours.revision)).hash, ours.hash);
    await assert.rejects(etcd.maintenance.hashKV(-1n), RangeError);
  },
);

runs.each("maintenance: status agrees with etcdctl; hash follows writes", async () => {
  await etcd.put(`${p}a`, "1");
  const status = await etcd.maintenance.status();
  const ctl = await etcdctl(endpoint, "endpoint", "status", "-w", "json");
  assert.equal(status.memberId, field(ctl, "member_id"));
  assert.equal(status.leader, field(ctl, "leader"));
  assert.equal(status.version, JSON.parse(ctl)[0].Status.version);
  const hash = await etcd.maintenance.hash();
  assert.ok(Number.isSafeInteger(hash) && hash > 0);
  assert.equal(await etcd.maintenance.hash(), hash, "no write: the same hash");
  await etcd.put(`${p}b`, "2");
  assert.notEqual(await etcd.maintenance.hash(), hash, "a write changes it");
});

runs.each("maintenance: defragment runs, and the database stays readable", async () => {
  for (let i = 0; i < 20; i++) await etcd.put(`${p}defrag/${i}`, "x".repeat(1000));
  await etcd.maintenance.defragment();
  assert.equal(await etcd.getString(`${p}defrag/7`), "x".repeat(1000));
});

runs.each("maintenance: alarms list and disarm (a NOSPACE alarm raised by etcdctl)", async () => {
  assert.deepEqual(await etcd.maintenance.alarms(), []);
  const { memberId } = await etcd.maintenance.status();
  // etcdctl has no "alarm activate": raise one through the gateway as an operator tool would.
  const raised = await etcd.channel.call("/v3/maintenance/alarm", {
    action: "ACTIVATE",
    memberID: String(memberId),
    alarm: "NOSPACE",
  });
  assert.deepEqual(raised.alarms, [{ memberID: String(memberId), alarm: "NOSPACE" }]);
  assert.deepEqual(await etcd.maintenance.alarms(), [{ memberId, alarm: "NOSPACE" }]);
  assert.match(await etcdctl(endpoint, "alarm", "list"), /alarm:NOSPACE/);
  await etcd.maintenance.disarm({ alarm: "CORRUPT" }); // not that one
  assert.equal((await etcd.maintenance.alarms()).length, 1);
  await etcd.maintenance.disarm();
  assert.deepEqual(await etcd.maintenance.alarms(), []);
  assert.equal(await etcdctl(endpoint, "alarm", "list"), "");
  await etcd.put(`${p}after-alarm`, "writable");
  await assert.rejects(etcd.maintenance.disarm({ alarm: "BOGUS" as "NONE" }), RangeError);
});

runs.each("maintenance: snapshot streams chunks that etcdctl snapshot status accepts", async () => {
  for (let i = 0; i < 50; i++) await etcd.put(`${p}snap/${i}`, "y".repeat(2000));
  const chunks: Uint8Array[] = [];
  for await (const chunk of etcd.maintenance.snapshot()) chunks.push(chunk);
  assert.ok(chunks.length > 1, `${chunks.length} chunk(s)`);
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) (bytes.set(c, at), at += c.length);
  const file = join(dir, "kvwire.db");
  writeFileSync(file, bytes);
  const status = JSON.parse(await etcdctl(endpoint, "snapshot", "status", file, "-w", "json"));
  assert.ok(status.totalKey >= 50, `totalKey ${status.totalKey}`);
  assert.equal(total, status.totalSize + 32, "the database, then its SHA-256");
});

runs.each("maintenance: a snapshot stopped early (break, abort) closes its stream", async () => {
  for await (const chunk of etcd.maintenance.snapshot()) {
    assert.ok(chunk.length > 0);
    assert.equal(etcd.stats().members[0].inFlight, 1, "the snapshot stream is open");
    break;
  }
  assert.equal(etcd.stats().members[0].inFlight, 0, "closed by break");
  const controller = new AbortController();
  await assert.rejects(
    (async () => {
      for await (const _ of etcd.maintenance.snapshot({ signal: controller.signal })) {
        controller.abort();
      }
    })(),
    { name: "AbortedError" },
  );
  assert.equal(etcd.stats().members[0].inFlight, 0, "closed by abort");
  assert.equal(await etcd.getString(`${p}a`), "1");
});

runs.each(
  "maintenance: moveLeader hands the leadership to another member (3 members)",
  async () => {
    const { endpoints } = await (cluster ??= startEtcdCluster(3, { enableV2: false }));
    const probe = new EtcdClient({ endpoints });
    const { leader } = await probe.maintenance.status();
    const members = await probe.members();
    await probe.close();
    const leaderMember = members.find((m) => m.id === leader)!;
    const target = members.find((m) => m.id !== leader)!;
    const at = leaderMember.clientUrls[0].replace(/^http:\/\//, "");
    await using onLeader = new EtcdClient({ protocol, endpoints: [at] });
    await onLeader.maintenance.moveLeader(target.id);
    assert.equal((await onLeader.maintenance.status()).leader, target.id);
    assert.equal(field(await etcdctl(at, "endpoint", "status", "-w", "json"), "leader"), target.id);
  },
  { timeout: 60_000 },
);
