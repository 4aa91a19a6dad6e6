// PegasusClient observability against the simulator: connection events across a real restart,
// partitionUpdate and leaderChange provoked by moving primaries and the meta leader, stats(),
// one operation per call (names, table, replica, error codes, retries, redirections, scanner
// streams), listeners and hooks that throw, and no key or value in any event, operation or log.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import {
  CheckType,
  type Operation,
  PegasusClient,
  type PegasusClientOptions,
  PegasusError,
  type PegasusEvents,
  TimeoutError,
} from "../../src/pegasus/mod.ts";
import { type PegasusSimulator, startPegasusSimulator } from "../fixtures/pegasus/simulator.ts";
import {
  eventWaiter,
  recordEvents,
  recordLog,
  recordOperations,
} from "../_helpers/observe_recorder.ts";

const sims: PegasusSimulator[] = [];
const clients: PegasusClient<string>[] = [];
after(async () => {
  for (const c of clients) c.destroy();
  await Promise.all(sims.map((s) => s.close()));
});

const EVENTS = [
  "connect",
  "ready",
  "disconnect",
  "reconnecting",
  "error",
  "partitionUpdate",
  "leaderChange",
] as const;

/** A simulator and a client (not yet connected) recording its operations, log and events. */
async function setup(options: Partial<PegasusClientOptions> = {}, sim?: PegasusSimulator) {
  sim ??= await startPegasusSimulator();
  sims.push(sim);
  const ops = recordOperations();
  const log = recordLog();
  const client = new PegasusClient<string>({
    metaServers: sim.metaServers,
    table: "temp",
    decode: true,
    timeout: 3000,
    reconnect: { initialDelay: 5, maxDelay: 50 },
    instrumentation: ops.hook,
    logger: log.logger,
    ...options,
  });
  clients.push(client);
  const events = recordEvents<PegasusEvents>(client, EVENTS);
  const nextEvent = eventWaiter<PegasusEvents>(client);
  return { sim, client, ops, log, events, nextEvent };
}

/** `host:port` of the replica serving `hashKey`'s partition. */
function replicaOf(sim: PegasusSimulator, hashKey: string): string {
  return sim.replicaServers[sim.partitions()[sim.partitionOf(hashKey)].primary];
}

const portOf = (address: string): number => Number(address.split(":")[1]);

test("pegasus observe: connection events in order across a real cluster restart", async () => {
  const { sim, client, events, nextEvent } = await setup();
  await client.set("life", "s", "v");
  const replica = replicaOf(sim, "life");
  const down = nextEvent("disconnect", (e) => e.address === replica);
  const ports = [...sim.metaServers, ...sim.replicaServers].map(portOf);
  await sim.close();
  assert.equal((await down).willReconnect, true);
  // An attempt failed while the cluster was down, then it comes back on the same ports.
  await nextEvent("reconnecting", (e) => e.address === replica && e.attempt >= 2);
  const up = nextEvent("ready", (e) => e.address === replica && e.reconnect);
  const restarted = await startPegasusSimulator({
    metaPorts: ports.slice(0, 3),
    replicaPorts: ports.slice(3),
  });
  sims.push(restarted);
  await up;
  await client.set("life", "s", "w");
  assert.equal(await client.get("life", "s"), "w");

  const mine = events.filter(([, e]) => (e as { address?: string }).address === replica);
  const names = mine.map(([name]) => name);
  assert.deepEqual(names.slice(0, 4), ["connect", "ready", "disconnect", "reconnecting"]);
  assert.deepEqual(mine[1][1], { address: replica, reconnect: false });
  assert.deepEqual(mine[3][1], { address: replica, attempt: 1, delay: 0 });
  const failed = mine.find(([name]) => name === "error")?.[1] as { source: string };
  assert.equal(failed?.source, "connect", "a refused attempt is reported");
  const last = mine.findLastIndex(([name]) => name === "ready");
  assert.deepEqual(mine[last][1], { address: replica, reconnect: true });
  assert.equal(mine[last - 1][0], "connect");

  const member = client.stats().members.find((m) => m.address === replica)!;
  assert.equal(member.state, "ready");
  assert.equal(member.reconnects, 1);
  assert.match(member.lastError ?? "", /Error/);
});

test("pegasus observe: stats() lists every session with bytes, in-flight requests and state", async () => {
  const { sim, client } = await setup();
  assert.deepEqual(client.stats().members, []);
  assert.equal(client.stats().state, "idle");
  await client.set("stats", "s", "v");
  const first = client.stats();
  const addresses = first.members.map((m) => m.address).sort();
  assert.deepEqual(addresses, [sim.metaServers[0], replicaOf(sim, "stats")].sort());
  assert.equal(first.state, "ready");
  assert.ok(first.bytesOut > 0 && first.bytesIn > 0, JSON.stringify(first));
  const pending = client.get("stats", "s");
  assert.equal(client.stats().inFlight, 1, "the get is written and waits for its reply");
  assert.equal(await pending, "v");
  const second = client.stats();
  assert.equal(second.inFlight, 0);
  assert.ok(second.bytesIn > first.bytesIn && second.bytesOut > first.bytesOut);
  assert.equal(
    second.bytesIn,
    second.members.reduce((sum, m) => sum + m.bytesIn, 0),
    "the totals are the members' sums",
  );
  await client.close();
  assert.equal(client.stats().state, "closed");
  assert.ok(client.stats().members.every((m) => m.state === "closed"));
});

test("pegasus observe: a moved primary is a partitionUpdate and a redirection; a meta leader switch a leaderChange", async () => {
  const { sim, client, ops, events } = await setup();
  await client.set("moved", "s", "v");
  const updates = () => events.filter(([name]) => name === "partitionUpdate").map(([, e]) => e);
  assert.deepEqual(updates(), [{ table: "temp", partitionCount: 8, reason: "connect" }]);

  const index = sim.partitionOf("moved");
  const from = sim.partitions()[index].primary;
  const to = (from + 1) % 3;
  sim.movePrimary(index, to, "ERR_INVALID_STATE");
  ops.ended.length = 0;
  assert.equal(await client.get("moved", "s"), "v");
  assert.deepEqual(updates()[1], {
    table: "temp",
    partitionCount: 8,
    partitions: [index],
    reason: "ERR_INVALID_STATE",
    address: sim.replicaServers[from],
  });
  const [get] = ops.ended;
  assert.equal(get.operation, "get");
  assert.equal(get.redirections, 1);
  assert.equal(get.retries, 0);
  assert.equal(get.serverAddress, "127.0.0.1");
  assert.equal(get.serverPort, portOf(sim.replicaServers[to]), "the replica that answered");

  // A re-query that finds nothing new announces nothing.
  sim.injectError("RPC_RRDB_RRDB_GET", "ERR_OBJECT_NOT_FOUND", 1);
  assert.equal(await client.get("moved", "s"), "v");
  assert.equal(updates().length, 2);

  sim.switchMetaLeader(1);
  sim.movePrimary(index, from, "ERR_OBJECT_NOT_FOUND");
  assert.equal(await client.get("moved", "s"), "v");
  const leader = events.find(([name]) => name === "leaderChange")?.[1];
  assert.deepEqual(leader, { address: sim.metaServers[1], previous: sim.metaServers[0] });
  assert.equal((updates()[2] as { reason: string }).reason, "ERR_OBJECT_NOT_FOUND");
  assert.equal(sim.misrouted, 0);
});

test("pegasus observe: every call is one operation named by its RPC, on the table and its replica", async () => {
  const { sim, client, ops } = await setup();
  await client.set("hk", "a", "1");
  await client.get("hk", "a");
  await client.ttl("hk", "a");
  await client.exist("hk", "a");
  await client.remove("hk", "a");
  await client.multiSet("hk", [["b", "2"], ["c", "3"]]);
  await client.multiGet("hk");
  await client.multiGetOpt("hk", "a", "z");
  await client.getSortKeys("hk");
  await client.sortKeyCount("hk");
  await client.multiDel("hk", ["b"]);
  await client.incr("hk", "n", 1);
  await client.checkAndSet("hk", "c", CheckType.ValueExist, "", "d", "4");
  await client.checkAndMutate("hk", "c", CheckType.ValueExist, "", [{
    op: "delete",
    sortKey: "d",
  }]);
  await client.batchGet([["hk", "c"], ["other", "x"], ["third", "y"]]);
  await client.batchSet([["hk", "e", "5"], ["other", "x", "6"]]);
  await client.batchDel([["hk", "e"]]);
  assert.deepEqual(ops.ended.map((op) => op.operation), [
    "set",
    "get",
    "ttl",
    "exist",
    "del",
    "multi_set",
    "multi_get",
    "multi_get",
    "multi_get",
    "sortkey_count",
    "multi_del",
    "incr",
    "check_and_set",
    "check_and_mutate",
    "batch_get",
    "batch_set",
    "batch_del",
  ]);
  assert.deepEqual(ops.started, ops.ended, "each operation started once and ended once");
  const port = portOf(replicaOf(sim, "hk"));
  for (const op of ops.ended) {
    assert.equal(op.protocol, "pegasus");
    assert.equal(op.kind, "request");
    assert.equal(op.namespace, "temp");
    assert.equal(op.serverAddress, "127.0.0.1");
    assert.equal(op.error, undefined, op.operation);
    assert.equal(op.retries + op.redirections, 0, op.operation);
    assert.ok(op.duration! >= 0 && op.endTime! >= op.startTime, op.operation);
    if (!op.operation.startsWith("batch")) assert.equal(op.serverPort, port, op.operation);
  }
  assert.deepEqual(
    ops.ended.filter((op) => op.batchSize !== undefined).map((op) => op.batchSize),
    [3, 2, 1],
  );
});

test("pegasus observe: error codes for a server error and a timeout; retries after a transient error", async () => {
  const { sim, client, ops } = await setup();
  await client.set("err", "text", "not a number");
  await assert.rejects(client.incr("err", "text", 1), PegasusError);
  sim.injectError("RPC_RRDB_RRDB_GET", "ERR_BUSY", 1);
  await assert.rejects(client.get("err", "text"), PegasusError);
  sim.delayReplies(300);
  await assert.rejects(client.get("err", "text", { timeout: 50 }), TimeoutError);
  sim.delayReplies(0);
  sim.injectError("RPC_RRDB_RRDB_PUT", "ERR_NOT_ENOUGH_MEMBER", 2);
  await client.set("err", "s", "v");
  const [, incr, busy, slow, retried] = ops.ended;
  assert.equal(incr.operation, "incr");
  assert.equal(incr.errorCode, "SERVER");
  assert.equal((incr.error as PegasusError).status, 4, "the RocksDB status is on the error");
  assert.equal(busy.errorCode, "SERVER");
  assert.equal((busy.error as PegasusError).serverCode, "ERR_BUSY");
  assert.equal(slow.errorCode, "TIMEOUT");
  assert.ok(slow.duration! >= 40 && slow.duration! < 250, String(slow.duration));
  assert.equal(retried.operation, "set");
  assert.equal(retried.error, undefined);
  assert.equal(retried.retries, 2);
  assert.equal(retried.redirections, 0);
});

test("pegasus observe: a scanner is one stream operation, ended when exhausted, closed or failed", async () => {
  const { sim, client, ops } = await setup();
  await client.multiSet("scan", Array.from({ length: 10 }, (_, i) => [`k${i}`, `v${i}`] as const));
  ops.ended.length = ops.started.length = 0;
  const streams = () => ops.ended.filter((op) => op.kind === "stream");

  const scanner = client.getScanner("scan", "", "", { batchSize: 3 });
  for (let i = 0; i < 4; i++) assert.ok(await scanner.next());
  assert.deepEqual(ops.started.map((op) => [op.operation, op.kind]), [["scan", "stream"]]);
  assert.equal(streams().length, 0, "still open after two round trips");
  let rest = 0;
  for await (const _ of scanner) rest++;
  assert.equal(rest, 6);
  const [done] = streams();
  assert.equal(done.operation, "scan");
  assert.equal(done.error, undefined);
  assert.equal(done.namespace, "temp");
  assert.equal(done.serverPort, portOf(replicaOf(sim, "scan")));

  const early = client.getScanner("scan", "", "", { batchSize: 3 });
  await early.next();
  await early.close();
  assert.equal(streams().length, 2, "closing early ends it");

  const failing = client.getScanner("scan", "", "", { batchSize: 3 });
  await failing.next();
  sim.injectError("RPC_RRDB_RRDB_SCAN", "ERR_BUSY", 1);
  await assert.rejects(async () => {
    for await (const _ of failing) { /* drain */ }
  }, PegasusError);
  assert.equal(streams()[2].errorCode, "SERVER");

  const [full] = await client.getUnorderedScanners(1);
  let all = 0;
  for await (const _ of full) all++;
  assert.equal(all, 10);
  assert.equal(streams().length, 4);
  assert.equal(ops.started.length, ops.ended.length);
});

test("pegasus observe: a throwing listener and a throwing hook change nothing for the caller", async () => {
  const ops = recordOperations();
  const throwing: Operation[] = [];
  const { client, events } = await setup({
    instrumentation: [{
      onStart: (op) => {
        throwing.push(op);
        throw new Error("hook start");
      },
      onEnd: () => {
        throw new Error("hook end");
      },
    }, ops.hook],
  });
  client.on("ready", () => {
    throw new Error("listener boom");
  });
  client.on("partitionUpdate", () => {
    throw new Error("listener boom");
  });
  await client.set("throw", "s", "v");
  assert.equal(await client.get("throw", "s"), "v");
  assert.deepEqual(ops.ended.map((op) => [op.operation, op.error]), [
    ["set", undefined],
    ["get", undefined],
  ]);
  assert.equal(throwing.length, 2);
  const reported = events.filter(([name]) => name === "error").map(([, e]) => e) as {
    error: Error;
    source: string;
  }[];
  assert.ok(reported.length >= 3, "two ready events and a partitionUpdate");
  assert.ok(reported.every((e) => e.source === "listener" && e.error.message === "listener boom"));
});

test("pegasus observe: no key or value in any event, operation or log line", async () => {
  const { sim, client, ops, log, events } = await setup();
  const [hk, sk, value] = ["hk-91c2f", "sk-5d0e7", "value-7f3a9"];
  await client.set(hk, sk, value);
  assert.equal(await client.get(hk, sk), value);
  await client.multiSet(hk, [[`${sk}-2`, `${value}-2`]]);
  await client.multiGet(hk);
  await assert.rejects(client.incr(hk, sk, 1), PegasusError);
  for await (const _ of client.getScanner(hk, "", "")) { /* all of it */ }
  const index = sim.partitionOf(hk);
  sim.movePrimary(index, (sim.partitions()[index].primary + 1) % 3);
  await client.batchGet([[hk, sk]]);
  sim.dropConnections();
  await client.get(hk, sk);
  sim.delayReplies(200);
  await assert.rejects(client.get(hk, sk, { timeout: 30 }), TimeoutError);
  sim.delayReplies(0);
  await client.close();

  const texts = [
    ...events.map((e) => JSON.stringify(e)),
    ...ops.ended.map((op) => JSON.stringify(op)),
    ...ops.ended.flatMap((op) => op.error ? [String(op.error), String(op.error.cause)] : []),
    ...log.lines,
  ];
  assert.ok(events.length > 5 && log.lines.length > 5 && ops.ended.length >= 9);
  for (const text of texts) {
    for (const secret of [hk, sk, value]) assert.ok(!text.includes(secret), text);
  }
});
