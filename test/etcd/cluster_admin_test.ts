// etcd.cluster against a real 3-member etcd 3.4 on both protocols, cross-checked with etcdctl: a
// learner added, started, promoted to a voter and removed; peer URLs updated; bad arguments refused.

import { after } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary, freePorts, startEtcdCluster } from "../../scripts/servers.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { EtcdError } from "../../src/etcd/errors.ts";
import { etcdctl as runEtcdctl } from "../_helpers/etcdctl.ts";
import { type EtcdProtocol, perProtocol } from "../_helpers/etcd_protocols.ts";

// One cluster for both protocols: each run's learner leaves it (and is killed) by the run's end.
const cluster = await startEtcdCluster(3, { enableV2: false });
let etcd: EtcdClient;
let protocol: EtcdProtocol;
const runs = perProtocol(cluster.endpoints, "", (run) => ({ etcd, protocol } = run));
const dir = mkdtempSync(join(tmpdir(), "kvwire-learner-"));
after(async () => {
  await runs.close();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** SIGKILLs `learner` unless it has exited already, and waits for it to exit. */
async function kill(learner: ChildProcess): Promise<void> {
  if (learner.exitCode !== null || learner.signalCode !== null) return;
  const exited = new Promise((resolve) => learner.once("exit", resolve));
  learner.kill("SIGKILL");
  await exited;
}

const etcdctl = (...args: string[]): Promise<string> => runEtcdctl(cluster.endpoints[0], ...args);

/** Member ids (hex, as etcdctl prints them) with their learner flag, from `member list`. */
async function ctlMembers(): Promise<Map<bigint, boolean>> {
  const out = await etcdctl("member", "list");
  return new Map(
    out.trim().split("\n").map((line) => {
      const fields = line.split(", ");
      return [BigInt(`0x${fields[0]}`), fields[5] === "true"];
    }),
  );
}

runs.each("cluster: list matches etcdctl member list", async () => {
  const members = await etcd.cluster.list();
  assert.equal(members.length, 3);
  const ctl = await ctlMembers();
  assert.deepEqual(new Set(members.map((m) => m.id)), new Set(ctl.keys()));
  assert.ok(members.every((m) => !m.isLearner && m.name.startsWith("m")));
  assert.deepEqual(await etcd.members(), members);
});

runs.each("cluster: a learner is added, started, promoted, updated and removed", async () => {
  const [clientPort, peerPort, peerPort2] = await freePorts(3);
  const peer = `http://127.0.0.1:${peerPort}`;
  const { member, members } = await etcd.cluster.add([peer], { learner: true });
  assert.equal(member.isLearner, true);
  assert.deepEqual(member.peerUrls, [peer]);
  assert.equal(members.length, 4);
  assert.equal((await ctlMembers()).get(member.id), true, "etcdctl sees a learner");
  await assert.rejects(etcd.cluster.promote(member.id), (error: Error) => {
    assert.ok(error instanceof EtcdError, error.message);
    assert.match(error.message, /learner/);
    return true;
  }, "a learner that has not started cannot be promoted");

  const current = (await etcd.cluster.list()).filter((m) => m.id !== member.id);
  const name = `learner-${protocol}`;
  const initial = [...current.map((m) => `${m.name}=${m.peerUrls[0]}`), `${name}=${peer}`];
  const url = `http://127.0.0.1:${clientPort}`;
  const learner = spawn(await findBinary("etcd"), [
    `--name=${name}`,
    `--data-dir=${join(dir, protocol)}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=${initial.join(",")}`,
    "--initial-cluster-state=existing",
    "--heartbeat-interval=50",
    "--election-timeout=500",
  ], { stdio: "ignore" });
  try {
    await promoteUpdateRemove(member.id, peerPort2);
  } finally {
    await kill(learner);
  }
}, { timeout: 60_000 });

/** Promotes the started learner `id`, moves its peer URL to `peerPort`, then removes it. */
async function promoteUpdateRemove(id: bigint, peerPort: number): Promise<void> {
  // Promotion succeeds once the learner has caught up with the leader's log.
  let promoted: Awaited<ReturnType<typeof etcd.cluster.promote>> | undefined;
  for (let tries = 0; promoted === undefined; tries++) {
    try {
      promoted = await etcd.cluster.promote(id);
    } catch (error) {
      if (!(error instanceof EtcdError) || tries > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200)); // retry pacing, not sync
    }
  }
  assert.equal(promoted.find((m) => m.id === id)?.isLearner, false);
  assert.equal((await ctlMembers()).get(id), false, "etcdctl sees a voter");

  const moved = `http://127.0.0.1:${peerPort}`;
  const updated = await etcd.cluster.update(id, [moved]);
  assert.deepEqual(updated.find((m) => m.id === id)?.peerUrls, [moved]);
  const left = await etcd.cluster.remove(id);
  assert.equal(left.length, 3);
  assert.ok(!left.some((m) => m.id === id));
  assert.equal((await ctlMembers()).has(id), false);
}

runs.each("cluster: bad arguments are refused before sending", async () => {
  await assert.rejects(etcd.cluster.add([]), TypeError);
  await assert.rejects(etcd.cluster.add(["127.0.0.1:2380"]), /peerUrls/);
  await assert.rejects(etcd.cluster.remove(0n), RangeError);
  await assert.rejects(etcd.cluster.promote(5 as unknown as bigint), RangeError);
});
