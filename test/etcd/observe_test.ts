// Observability of the etcd clients against real etcd, each test on both protocols (v2's on its
// one): lifecycle events across a kill and restart, endpointSwitch/leaderChange/watchRestart when
// a cluster's leader is killed, stats() while frozen, one Operation per call (names, server,
// retries, redirections, error codes, streams), leaseLost, throwing listeners and hooks, and
// secrets kept out of everything.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import process from "node:process";
import {
  type EtcdCluster,
  type EtcdServer,
  startEtcd,
  startEtcdCluster,
} from "../../scripts/servers.ts";
import type { Observable } from "../../src/core/events.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import type { EtcdEvents } from "../../src/etcd/events.ts";
import { EtcdV2Client } from "../../src/etcd/v2.ts";
import { etcdAddress } from "../_helpers/servers.ts";
import { recordEvents, recordLog, recordOperations } from "../_helpers/observe_recorder.ts";
import { eventually, stopped } from "../_helpers/process_state.ts";
import { eachProtocol, runningProtocol } from "../_helpers/etcd_protocols.ts";
import { clusterLeader, type Restartable, restartable } from "../_helpers/etcd_restart.ts";

const shared = await etcdAddress();
const sharedEndpoint = `${shared.host}:${shared.port}`;
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const EVENTS: (keyof EtcdEvents)[] = [
  "connect",
  "ready",
  "disconnect",
  "reconnecting",
  "error",
  "endpointSwitch",
  "leaderChange",
  "watchRestart",
  "leaseLost",
];

type Seen = [string, Record<string, unknown>][];

/** Every event of `client` as [name, payload], in order. */
const record = (client: Observable<EtcdEvents>): Seen => recordEvents(client, EVENTS) as Seen;

/** A client of the running test's protocol, closed after the file. */
function client(options: ConstructorParameters<typeof EtcdClient>[0]): EtcdClient {
  const etcd = new EtcdClient({ protocol: runningProtocol(), ...options });
  cleanups.push(() => etcd.close());
  return etcd;
}

/**
 * Started on first use and shared by both protocols' runs: a server that tests kill, restart
 * and freeze, and a 3-member cluster whose leader a run kills (restarted before the next run).
 */
let faulty: Promise<[EtcdServer, Restartable]> | undefined;
function faultyServer(): Promise<[EtcdServer, Restartable]> {
  return faulty ??= startEtcd({ enableV2: false }).then((server) => {
    const etcd = restartable(server);
    cleanups.push(() => etcd.stop());
    return [server, etcd];
  });
}
let sharedCluster: Promise<[EtcdCluster, Restartable[]]> | undefined;
let killedMember: Restartable | undefined;

eachProtocol(
  "etcd events: kill and restart go disconnect (willReconnect), reconnecting, then ready (reconnect)",
  async () => {
    const [server, etcdProcess] = await faultyServer();
    const address = `127.0.0.1:${server.port}`;
    const etcd = client({ endpoints: [address], requestTimeout: 1000 });
    const seen = record(etcd);
    await etcd.put("life", "1");
    assert.deepEqual(seen.slice(0, 2).map(([name]) => name), ["connect", "ready"]);
    assert.equal(seen[1][1].reconnect, false);
    await etcdProcess.kill();
    await eventually("the endpoint to be skipped", async () => {
      await etcd.put("life", "2").catch(() => {});
      return seen.some(([name]) => name === "disconnect");
    });
    assert.equal(etcd.stats().members[0].state, "reconnecting");
    // While the server is down, a call after the endpoint's delay tries it again and is refused.
    await eventually("a refused connect to be reported", async () => {
      await etcd.put("life", "2").catch(() => {});
      return seen.some(([name, e]) => name === "error" && e.source === "connect");
    });
    await etcdProcess.restart();
    await eventually(
      "a put to succeed again",
      () => etcd.put("life", "3", { timeout: 1000 }).then(() => true, () => false),
    );
    const names = seen.map(([name]) => name);
    const lost = names.indexOf("disconnect");
    assert.equal(seen[lost][1].willReconnect, true);
    assert.equal(seen[lost][1].address, address);
    assert.ok(seen[lost][1].error instanceof Error);
    const reconnecting = seen.find(([name], i) => name === "reconnecting" && i > lost)!;
    // Full jitter: the first delay is anywhere in [0, 100) ms, 0 included.
    const { delay, attempt } = reconnecting[1] as { delay: number; attempt: number };
    assert.ok(delay >= 0 && delay < 100 && attempt >= 1, `delay ${delay}, attempt ${attempt}`);
    assert.ok(
      seen.some(([name, e]) => name === "error" && e.source === "connect"),
      "a refused connect is reported",
    );
    const ready = names.lastIndexOf("ready");
    assert.ok(ready > lost, names.join());
    assert.equal(seen[ready][1].reconnect, true);
    assert.ok(names.lastIndexOf("connect") > lost);
    const stats = etcd.stats();
    assert.equal(stats.state, "ready");
    // One reconnect, or more when a put timed out on the restarted server while it was still
    // electing itself leader (the unanswered call takes its connection down): stats count the
    // reconnects the events showed.
    const readied = seen.filter(([name, e]) => name === "ready" && e.reconnect === true).length;
    assert.ok(stats.reconnects >= 1);
    assert.equal(stats.reconnects, readied);
    assert.match(stats.members[0].lastError ?? "", /Error/);
    await etcd.close();
    assert.deepEqual(seen.at(-1), ["disconnect", { address, willReconnect: false }]);
    assert.equal(etcd.stats().state, "closed");
  },
  { timeout: 60_000 },
);

eachProtocol(
  "etcd cluster: killing the leader shows endpointSwitch, leaderChange, watchRestart; a read counts a redirection",
  async (protocol) => {
    const [cluster, members] =
      await (sharedCluster ??= startEtcdCluster(3, { enableV2: false }).then(
        (started) => {
          const members = started.members.map(restartable);
          cleanups.push(() => Promise.all(members.map((m) => m.stop())));
          return [started, members];
        },
      ));
    await killedMember?.restart();
    const { index: leaderIndex, id: leader, term } = await clusterLeader(cluster);
    const order = [leaderIndex, ...[0, 1, 2].filter((i) => i !== leaderIndex)];
    const { hook, ended: ops } = recordOperations();
    const etcd = client({
      endpoints: order.map((i) => cluster.endpoints[i]),
      requestTimeout: 20_000,
      instrumentation: hook,
    });
    const seen = record(etcd);
    await etcd.status();
    const first = seen.find(([name]) => name === "leaderChange")![1];
    assert.equal(first.leader, String(leader));
    assert.equal(first.term, Number(term));
    const p = `obs/fo/${protocol}/`;
    const watcher = etcd.watch(p, { prefix: true });
    await watcher.created;
    await (killedMember = members[leaderIndex]).kill();
    await etcd.get(`${p}1`, { timeout: 20_000 }); // idempotent: moves to another member
    const read = ops.findLast((op) => op.operation === "Range")!;
    assert.ok(read.redirections >= 1, `moved to another member: ${JSON.stringify(read)}`);
    assert.notEqual(read.serverPort, cluster.members[leaderIndex].port);
    assert.equal(read.errorCode, undefined);
    // A write's outcome may be unknown while a leader is elected: write until one is acknowledged.
    await eventually(
      "a put to be acknowledged",
      () => etcd.put(`${p}1`, "after").then(() => true, () => false),
    );
    const event = await watcher.next();
    assert.equal(event.done, false);
    const after = await etcd.status();
    assert.notEqual(after.leader, leader);
    const switched = seen.find(([name]) => name === "endpointSwitch")![1];
    assert.equal(switched.from, cluster.endpoints[leaderIndex]);
    assert.notEqual(switched.to, cluster.endpoints[leaderIndex]);
    assert.equal(typeof switched.reason, "string");
    const last = seen.findLast(([name]) => name === "leaderChange")![1];
    assert.equal(last.leader, String(after.leader));
    assert.ok((last.term as number) > (first.term as number), "a newer term");
    const restart = seen.find(([name]) => name === "watchRestart")![1];
    assert.equal(restart.address, cluster.endpoints[leaderIndex]);
    assert.equal(typeof restart.revision, "string");
    assert.ok(restart.reason instanceof Error);
    assert.equal(restart.attempt, 1);
    watcher.close();
    const watch = ops.findLast((op) => op.operation === "Watch")!;
    assert.equal(watch.kind, "stream");
    assert.equal(watch.errorCode, undefined);
    assert.ok(watch.redirections >= 1, "the watch moved to another member");
    const down = etcd.stats().members.find((m) => m.address === cluster.endpoints[leaderIndex])!;
    assert.equal(down.state, "reconnecting");
  },
  { timeout: 90_000 },
);

eachProtocol(
  "etcd operations: one per call, named by its gRPC method, with the endpoint it went to",
  async () => {
    const { hook, ended: ops } = recordOperations();
    const etcd = client({ endpoints: [sharedEndpoint], instrumentation: hook });
    const p = `obs/${crypto.randomUUID()}/`;
    const put = await etcd.put(`${p}a`, "1");
    await Promise.all([etcd.get(`${p}a`), etcd.get(`${p}b`)]); // coalesced: one Range of 2
    await etcd.get(`${p}a`, { timeout: 5000 });
    await etcd.delete(`${p}a`);
    await etcd.compareAndSwap(`${p}c`, undefined, "1");
    await etcd.compact(put.revision);
    const lease = await etcd.grant(10, { keepAlive: false });
    await lease.keepAliveOnce();
    await etcd.timeToLive(lease.id);
    await etcd.leases();
    await lease.revoke();
    await etcd.status();
    await etcd.members();
    await etcd.alarms();
    const lease2 = await etcd.grant(10, { keepAlive: false });
    const lock = await etcd.lock(`${p}lock`, { lease: lease2 });
    await lock.release();
    await lease2.revoke();
    const watcher = etcd.watch(`${p}w`);
    await watcher.created;
    await watcher.return();
    const stream = ops.at(-1)!;
    assert.deepEqual(ops.map((op) => op.operation), [
      "Put",
      "Range",
      "Range",
      "DeleteRange",
      "Txn",
      "Compact",
      "LeaseGrant",
      "LeaseKeepAlive",
      "LeaseTimeToLive",
      "LeaseLeases",
      "LeaseRevoke",
      "Status",
      "MemberList",
      "Alarm",
      "LeaseGrant",
      "Lock",
      "Unlock",
      "LeaseRevoke",
      "Watch",
    ]);
    assert.equal(ops[1].batchSize, 2, "two reads in one request");
    assert.equal(ops[2].batchSize, undefined);
    for (const op of ops) {
      assert.equal(op.protocol, "etcd");
      assert.equal(op.serverAddress, shared.host, op.operation);
      assert.equal(op.serverPort, shared.port, op.operation);
      assert.equal(op.errorCode, undefined, op.operation);
      assert.equal(op.retries + op.redirections, 0, op.operation);
    }
    assert.equal(stream.kind, "stream");
    assert.ok(ops.slice(0, -1).every((op) => op.kind === "request"));
    await assert.rejects(etcd.revoke(1n));
    assert.equal(ops.at(-1)!.operation, "LeaseRevoke");
    assert.equal(ops.at(-1)!.errorCode, "SERVER");
    const stats = etcd.stats();
    assert.deepEqual(stats.members.map((m) => m.address), [sharedEndpoint]);
    assert.ok(stats.bytesIn > 0 && stats.bytesOut > 0);
  },
);

eachProtocol(
  "etcd stats and timeouts: a frozen server shows the call in flight; it ends with TIMEOUT",
  async () => {
    const [server, etcdProcess] = await faultyServer();
    const { hook, ended: ops } = recordOperations();
    const etcd = client({
      endpoints: [`127.0.0.1:${server.port}`],
      instrumentation: hook,
    });
    await etcd.put("frozen", "1");
    const before = etcd.stats();
    assert.equal(before.inFlight, 0);
    const watcher = etcd.watch("frozen");
    await watcher.created;
    assert.equal(etcd.stats().inFlight, 1, "a watch is a stream in flight");
    const pid = etcdProcess.pid;
    process.kill(pid, "SIGSTOP");
    await eventually("the server to be stopped", () => stopped(pid));
    try {
      const waiting = etcd.put("frozen", "2", { timeout: 400 });
      await eventually("the put to be in flight", () => etcd.stats().inFlight >= 2);
      await assert.rejects(waiting, (e: Error & { code?: string }) => e.code === "TIMEOUT");
    } finally {
      process.kill(pid, "SIGCONT");
    }
    watcher.close();
    const put = ops.findLast((op) => op.operation === "Put")!;
    assert.equal(put.errorCode, "TIMEOUT");
    assert.ok(put.duration! >= 350, String(put.duration));
    const after = etcd.stats();
    assert.ok(after.bytesOut > before.bytesOut, "bytes out grew");
  },
  { timeout: 30_000 },
);

eachProtocol(
  "etcd leaseLost: a lease revoked behind the client's back is lost at its next keep-alive",
  async () => {
    const etcd = client({ endpoints: [sharedEndpoint] });
    const lost = new Promise<EtcdEvents["leaseLost"]>((resolve) => etcd.on("leaseLost", resolve));
    const lease = await etcd.grant(2);
    await etcd.revoke(lease.id);
    const event = await lost;
    assert.equal(event.lease, String(lease.id));
    assert.equal(event.error.name, "EtcdLeaseLostError");
    assert.equal((await lease.lost).message, event.error.message);
  },
);

test("etcd v2: on() and stats() of its endpoints; operations named by the keys API method", async () => {
  const { hook, ended: ops } = recordOperations();
  const v2 = new EtcdV2Client({ endpoints: [sharedEndpoint], instrumentation: hook });
  cleanups.push(() => v2.close());
  const seen = record(v2);
  const d = `/kvwire-obs/${crypto.randomUUID()}`;
  await v2.write(`${d}/a`, "1");
  await v2.read(`${d}/a`);
  await v2.write(d, "x", { append: true });
  await v2.delete(`${d}/a`);
  const first = await v2.write(`${d}/b`, "1");
  const changed = v2.watch(`${d}/b`, { index: first.modifiedIndex + 1 });
  await v2.write(`${d}/b`, "2");
  assert.equal((await changed).value, "2");
  await v2.machines();
  assert.deepEqual(ops.map((op) => op.operation).sort(), [
    "create",
    "delete",
    "get",
    "machines",
    "set",
    "set",
    "set",
    "watch",
  ]);
  for (const op of ops) assert.ok(!JSON.stringify(op).includes(d), "no key in an operation");
  assert.deepEqual(seen.slice(0, 2).map(([name]) => name), ["connect", "ready"]);
  const stats = v2.stats();
  assert.equal(stats.state, "ready");
  assert.ok(stats.bytesIn > 0);
});

eachProtocol("etcd: a throwing listener or hook changes nothing for the caller", async () => {
  const reported: EtcdEvents["error"][] = [];
  const etcd = client({
    endpoints: [sharedEndpoint],
    instrumentation: {
      onStart: () => {
        throw new Error("hook start");
      },
      onEnd: () => {
        throw new Error("hook end");
      },
    },
  });
  etcd.on("ready", () => {
    throw new Error("listener");
  });
  etcd.on("error", (e) => reported.push(e));
  await etcd.put("obs/throw", "1");
  assert.equal(await etcd.getString("obs/throw"), "1");
  assert.equal(reported.length, 1);
  assert.equal(reported[0].source, "listener");
});

const PASSWORD = "pw-etcd-obs-8b3e-never-shown";
/** A server with auth on (user root, `PASSWORD`) and 1 s tokens, shared by both protocols. */
let authed: Promise<string> | undefined;
function authedEndpoint(): Promise<string> {
  return authed ??= (async () => {
    const server = await startEtcd({ enableV2: false, args: ["--auth-token-ttl=1"] });
    cleanups.push(() => server.stop());
    const endpoint = `127.0.0.1:${server.port}`;
    const etcdctl = (...args: string[]): Promise<void> =>
      new Promise((resolve, reject) =>
        execFile("etcdctl", [`--endpoints=http://${endpoint}`, ...args], {
          env: { ETCDCTL_API: "3", PATH: "/usr/bin:/bin:/usr/local/bin" },
        }, (error, _out, stderr) => (error ? reject(new Error(stderr)) : resolve()))
      );
    await etcdctl("user", "add", `root:${PASSWORD}`);
    await etcdctl("auth", "enable");
    return endpoint;
  })();
}

eachProtocol(
  "etcd secrets: no event, operation or log line shows the password, a key or a value; a renewed token is a retry",
  async () => {
    const endpoint = await authedEndpoint();
    const { logger, lines } = recordLog();
    const { hook, ended: ops } = recordOperations();
    const payloads: string[] = [];
    const make = (password: string): EtcdClient => {
      const etcd = client({
        endpoints: [endpoint],
        auth: { username: "root", password },
        logger,
        instrumentation: hook,
      });
      for (const name of EVENTS) etcd.on(name, (e) => payloads.push(JSON.stringify(e)));
      return etcd;
    };
    const etcd = make(PASSWORD);
    await etcd.put("secret-key-4f2a", "secret-value-9c1d");
    await etcd.status();
    // Simple tokens expire after --auth-token-ttl=1 s unused: the next call renews it once.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(await etcd.getString("secret-key-4f2a"), "secret-value-9c1d");
    const renewed = ops.findLast((op) => op.operation === "Range")!;
    assert.equal(renewed.retries, 1, "sent again after the token was refused");
    assert.equal(renewed.redirections, 0);
    assert.equal(ops.filter((op) => op.operation === "Authenticate").length, 2);
    await assert.rejects(make(`${PASSWORD}-wrong`).get("secret-key-4f2a"));
    assert.ok(payloads.length >= 3 && lines.length >= 3 && ops.length >= 5);
    for (const text of [...payloads, ...lines, ...ops.map((op) => JSON.stringify(op))]) {
      for (const secret of [PASSWORD, "secret-key-4f2a", "secret-value-9c1d"]) {
        assert.ok(!text.includes(secret), `shows ${secret}: ${text}`);
      }
    }
  },
  { timeout: 30_000 },
);
