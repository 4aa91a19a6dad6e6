// Backup requests against the simulator: a read the delayed primary has not answered goes to a
// secondary (v1 header, is_backup_request), writes never do, and the race helper's outcomes.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import {
  Cluster,
  firstAnswer,
  PegasusClient,
  PegasusError,
  readOperation,
  setOperation,
} from "../../src/pegasus/mod.ts";
import type { Operation } from "../../src/core/instrument.ts";
import { startPegasusSimulator } from "../fixtures/pegasus/simulator.ts";

const sim = await startPegasusSimulator();
const HASH_KEY = "backup";
const index = sim.partitionOf(HASH_KEY);
const primary = sim.partitions()[index].primary;
const secondaries = sim.replicaServers.map((_, i) => i).filter((i) => i !== primary);
const PRIMARY_DELAY = 400;
const ended: Operation[] = [];
const client = await PegasusClient.connect({
  metaServers: sim.metaServers,
  table: "temp",
  decode: true,
  timeout: 3000,
  backupRequestDelay: 30,
  instrumentation: { onEnd: (op) => ended.push(op) },
});
const plain = await PegasusClient.connect({
  metaServers: sim.metaServers,
  table: "temp",
  decode: true,
  timeout: 3000,
});
await client.set(HASH_KEY, "a", "1");
await client.set(HASH_KEY, "b", "2");
after(async () => {
  await client.close();
  await plain.close();
  await sim.close();
});

/** Runs `fn` with the primary's replies delayed; returns its result and the ms it took. */
async function withSlowPrimary<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  sim.delayReplies(PRIMARY_DELAY, primary);
  const start = performance.now();
  try {
    const value = await fn();
    return { value, ms: performance.now() - start };
  } finally {
    sim.delayReplies(0, primary);
  }
}

test("pegasus backup: reads the delayed primary has not answered are served by a secondary", async () => {
  const before = sim.backupReads;
  const reads: [string, () => Promise<unknown>, unknown][] = [
    ["get", () => client.get(HASH_KEY, "a"), "1"],
    ["exist", () => client.exist(HASH_KEY, "b"), true],
    ["ttl", () => client.ttl(HASH_KEY, "a"), -1],
    ["multiGet", async () => (await client.multiGet(HASH_KEY, ["a", "b"])).entries, [["a", "1"], [
      "b",
      "2",
    ]]],
    ["sortKeyCount", () => client.sortKeyCount(HASH_KEY), 2n],
    ["batchGet", () => client.batchGet([[HASH_KEY, "a"], [HASH_KEY, "b"]]), ["1", "2"]],
  ];
  for (const [name, read, expected] of reads) {
    const { value, ms } = await withSlowPrimary(read);
    assert.deepEqual(value, expected, name);
    assert.ok(ms >= 25 && ms < PRIMARY_DELAY - 50, `${name} took ${ms} ms`);
  }
  assert.equal(sim.backupReads - before, 7, "one backup request per read (2 for the batch)");
  const get = ended.find((op) => op.operation === "get")!;
  assert.equal(get.retries, 1, "the backup request counts as a retry");
  const ports = secondaries.map((i) => Number(sim.replicaServers[i].split(":")[1]));
  assert.ok(ports.includes(get.serverPort!), "the operation names the secondary that answered");
});

test("pegasus backup: without the option a read waits for the primary", async () => {
  const before = sim.backupReads;
  const { value, ms } = await withSlowPrimary(() => plain.get(HASH_KEY, "a"));
  assert.equal(value, "1");
  assert.ok(ms >= PRIMARY_DELAY - 20, `took ${ms} ms`);
  assert.equal(sim.backupReads, before);
});

test("pegasus backup: a write is never sent to a secondary, even with the primary slow", async () => {
  const puts = (): number =>
    secondaries.reduce((n, i) => n + (sim.callsAt(i).get("RPC_RRDB_RRDB_PUT") ?? 0), 0);
  const before = puts();
  const { ms } = await withSlowPrimary(() => client.set(HASH_KEY, "c", "3"));
  assert.ok(ms >= PRIMARY_DELAY - 20, `took ${ms} ms`);
  assert.equal(puts(), before);
  assert.equal(await client.get(HASH_KEY, "c"), "3");
});

test("pegasus simulator: a secondary refuses a plain read and any write with ERR_INVALID_STATE", async () => {
  const cluster = new Cluster({ metaServers: sim.metaServers });
  try {
    const config = await cluster.queryConfig("temp", performance.now() + 2000);
    assert.deepEqual(
      config.partitions[index].secondaries.sort(),
      secondaries.map((i) => sim.replicaServers[i]).sort(),
      "meta names the secondaries",
    );
    const session = cluster.session(sim.replicaServers[secondaries[0]]);
    const send = (op: ReturnType<typeof readOperation>, backupRequest: boolean) =>
      session.request({
        rpc: op.rpc,
        args: op.args,
        decode: op.decode,
        appId: config.appId,
        partitionIndex: index,
        partitionHash: op.hash,
        timeoutMs: 1000,
        backupRequest,
      }, { timeout: 1000 });
    const invalidState = (e: unknown) =>
      e instanceof PegasusError && e.serverCode === "ERR_INVALID_STATE";
    await assert.rejects(send(readOperation("get", HASH_KEY, "a"), false), invalidState);
    await assert.rejects(send(setOperation(HASH_KEY, "a", "x", 0), true), invalidState);
    const reply = await send(readOperation("get", HASH_KEY, "a"), true);
    assert.equal((reply.value as { error: number }).error, 0);
  } finally {
    await cluster.close();
  }
});

test("pegasus firstAnswer: a failed backup leaves the primary to answer", async () => {
  let release!: (v: string) => void;
  const primary = new Promise<string>((resolve) => (release = resolve));
  let backupFailed!: () => void;
  const failed = new Promise<void>((resolve) => (backupFailed = resolve));
  const race = firstAnswer(
    () => primary,
    () => Promise.reject(new Error("secondary down")).finally(() => queueMicrotask(backupFailed)),
    0,
  );
  await failed;
  release("primary");
  assert.equal(await race, "primary");
});

test("pegasus firstAnswer: a failed primary waits for the backup; both failing rejects with the primary's error", async () => {
  let answer!: (v: string) => void;
  const won = firstAnswer(
    () => Promise.reject(new Error("primary")),
    () => new Promise<string>((resolve) => (answer = resolve)),
    0,
  );
  // The primary fails at once, before the backup timer: nothing waits, its error stands.
  await assert.rejects(won, /primary/);
  let failPrimary!: (e: Error) => void;
  let failBackup!: (e: Error) => void;
  let started!: () => void;
  const backupStarted = new Promise<void>((resolve) => (started = resolve));
  const both = firstAnswer(
    () => new Promise<string>((_, reject) => (failPrimary = reject)),
    () => new Promise<string>((_, reject) => (failBackup = reject)),
    0,
    undefined,
    () => queueMicrotask(started),
  );
  await backupStarted;
  failPrimary(new Error("primary error"));
  failBackup(new Error("backup error"));
  await assert.rejects(both, /primary error/);
  let failFirst!: (e: Error) => void;
  let startedSecond!: () => void;
  const secondStarted = new Promise<void>((resolve) => (startedSecond = resolve));
  const rescued = firstAnswer(
    () => new Promise<string>((_, reject) => (failFirst = reject)),
    () => new Promise<string>((resolve) => (answer = resolve)),
    0,
    undefined,
    () => queueMicrotask(startedSecond),
  );
  await secondStarted;
  failFirst(new Error("primary error"));
  answer("secondary");
  assert.equal(await rescued, "secondary");
});

test("pegasus firstAnswer: the winner aborts the loser", async () => {
  let loserSignal: AbortSignal | undefined;
  const value = await firstAnswer(
    (signal) => {
      loserSignal = signal;
      return new Promise<string>((_, reject) =>
        signal.addEventListener("abort", () => reject(new Error("aborted")))
      );
    },
    () => Promise.resolve("backup"),
    0,
  );
  assert.equal(value, "backup");
  assert.equal(loserSignal?.aborted, true);
});

test("pegasus backup: backupRequestDelay must be a number of ms ≥ 0", () => {
  for (const bad of [-1, Number.NaN, Infinity, "20"]) {
    assert.throws(
      () =>
        new PegasusClient({
          metaServers: sim.metaServers,
          table: "temp",
          backupRequestDelay: bad as number,
        }),
      (e: unknown) => e instanceof RangeError && /backupRequestDelay/.test(e.message),
      String(bad),
    );
  }
});
