// RedisClusterClient against a fake one-node cluster (the hostile-server kit): TRYAGAIN and
// CLUSTERDOWN retried within the deadline, MOVED loops bounded, a write on a lost connection
// never repeated while a read is, natMap, cross-slot refusal sending nothing, refused SSUBSCRIBE.
import { after, test } from "node:test";
import { inspect } from "node:util";
import assert from "node:assert/strict";
import { ConnectionClosedError, KvError } from "../../src/core/errors.ts";
import { RedisClusterClient } from "../../src/redis/cluster/client.ts";
import { RedisError } from "../../src/redis/errors.ts";
import {
  collectUnhandledRejections,
  type Fault,
  type HostileServer,
  startHostileServer,
} from "../_helpers/hostile_server.ts";
import { redisHostileProtocol } from "./_hostile.ts";

const servers: HostileServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/**
 * A fake cluster of one node owning every slot, announced as `announce` (default: its own
 * address). `script(name, count)` may replace the answer to the `count`-th command `name`.
 */
async function fakeNode(
  script: (name: string, count: number) => string | undefined = () => undefined,
  options: { announce?: string; replica?: string; faults?: (connection: number) => Fault } = {},
): Promise<{ server: HostileServer; seen: Map<string, number> }> {
  const base = redisHostileProtocol();
  const seen = new Map<string, number>();
  let self = "";
  const encoder = new TextEncoder();
  const server = await startHostileServer({
    ...base,
    respond(request, session) {
      const name = request[0].toUpperCase();
      const count = (seen.get(name) ?? 0) + 1;
      seen.set(name, count);
      if (name === "CLUSTER") {
        const [host, port] = (options.announce ?? self).split(":");
        const node = (h: string, p: string): string => `*2\r\n$${h.length}\r\n${h}\r\n:${p}\r\n`;
        const replica = options.replica
          ? node(...(options.replica.split(":") as [string, string]))
          : "";
        const slots = `*1\r\n*${options.replica ? 4 : 3}\r\n:0\r\n:16383\r\n${
          node(host, port)
        }${replica}`;
        return {
          bytes: encoder.encode(request[1] === "SLOTS" ? slots : "-ERR unknown subcommand\r\n"),
        };
      }
      const scripted = name === "READONLY" ? "+OK\r\n" : script(name, count);
      return scripted === undefined
        ? base.respond(request, session)
        : { bytes: encoder.encode(scripted) };
    },
  }, options.faults);
  self = `${server.host}:${server.port}`;
  servers.push(server);
  return { server, seen };
}

test("redis cluster faults: TRYAGAIN is retried until the command succeeds", async () => {
  const { server, seen } = await fakeNode((name, n) =>
    name === "GET" && n <= 2
      ? "-TRYAGAIN Multiple keys request during rehashing of slot\r\n"
      : undefined
  );
  const cluster = await RedisClusterClient.connect({
    nodes: [`${server.host}:${server.port}`],
    decode: true,
  });
  assert.equal(await cluster.get("k"), "value-of:k");
  assert.equal(seen.get("GET"), 3);
  await cluster.close();
});

test("redis cluster faults: CLUSTERDOWN is retried with backoff until the deadline, then reported", async () => {
  const { server, seen } = await fakeNode((name) =>
    name === "GET" ? "-CLUSTERDOWN The cluster is down\r\n" : undefined
  );
  const cluster = await RedisClusterClient.connect({
    nodes: [`${server.host}:${server.port}`],
    commandTimeout: 300,
  });
  const started = performance.now();
  await assert.rejects(
    cluster.get("k"),
    (e: Error) => e instanceof RedisError && e.serverCode === "CLUSTERDOWN",
  );
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 150 && elapsed < 1000, `gave up after ${elapsed} ms`);
  assert.ok(seen.get("GET")! >= 3, `${seen.get("GET")} attempts`);
  await cluster.close();
});

test("redis cluster faults: a MOVED loop stops after maxRedirections", async () => {
  let self = "";
  const { server, seen } = await fakeNode((name) =>
    name === "GET" ? `-MOVED 1 ${self}\r\n` : undefined
  );
  self = `${server.host}:${server.port}`;
  const cluster = await RedisClusterClient.connect({ nodes: [self], maxRedirections: 4 });
  await assert.rejects(
    cluster.get("k"),
    (e: Error) => e instanceof RedisError && e.serverCode === "MOVED",
  );
  assert.equal(seen.get("GET"), 5);
  await cluster.close();
});

test("redis cluster faults: a write on a lost connection is not repeated (sent: true), a read is", async () => {
  // Connection 0 closes when its third request (after CLUSTER SHARDS, CLUSTER SLOTS) arrives.
  const { server, seen } = await fakeNode(undefined, {
    faults: (c) => c === 0 ? { kind: "close", at: 2 } : { kind: "none" },
  });
  const cluster = await RedisClusterClient.connect({
    nodes: [`${server.host}:${server.port}`],
    decode: true,
  });
  const leaked = await collectUnhandledRejections(async () => {
    await assert.rejects(
      cluster.incr("n"),
      (e: Error) => e instanceof ConnectionClosedError && e.sent === true,
    );
  });
  assert.deepEqual(leaked, []);
  assert.equal(seen.get("INCR"), 1, "the write was sent once");
  assert.equal(await cluster.get("n"), "1", "it did run; the caller was told it may have");
  await cluster.close();
  const again = await fakeNode(undefined, {
    faults: (c) => c === 0 ? { kind: "close", at: 2 } : { kind: "none" },
  });
  const reader = await RedisClusterClient.connect({
    nodes: [`${again.server.host}:${again.server.port}`],
    decode: true,
  });
  assert.equal(await reader.get("r"), "value-of:r", "the read was sent again on a new connection");
  assert.equal(again.seen.get("GET"), 2);
  await reader.close();
});

test("redis cluster faults: natMap translates announced addresses", async () => {
  const { server } = await fakeNode(undefined, { announce: "10.255.255.1:7000" });
  const here = `${server.host}:${server.port}`;
  const cluster = await RedisClusterClient.connect({
    nodes: [here],
    natMap: { "10.255.255.1:7000": here },
    decode: true,
    connectTimeout: 500,
  });
  assert.equal(await cluster.get("x"), "value-of:x");
  assert.deepEqual(cluster.masters.map((o) => o.address), [{
    host: server.host,
    port: server.port,
  }]);
  await cluster.close();
});

test("redis cluster faults: a cross-slot command is refused before anything is sent", async () => {
  const { server } = await fakeNode();
  const cluster = await RedisClusterClient.connect({ nodes: [`${server.host}:${server.port}`] });
  const before = server.requests;
  await assert.rejects(cluster.sUnion("a", "b"), RangeError);
  await assert.rejects(cluster.multi().set("a", "1").set("b", "2").exec(), RangeError);
  assert.equal(server.requests, before);
  await cluster.close();
});

test("redis cluster faults: an SSUBSCRIBE the server refuses leaves no shard channel behind", async () => {
  const { server, seen } = await fakeNode((name) =>
    name === "SSUBSCRIBE"
      ? "-NOPERM this user has no permissions to access one of the channels\r\n"
      : undefined
  );
  await using cluster = await RedisClusterClient.connect({
    nodes: [`${server.host}:${server.port}`],
  });
  await using sub = cluster.shardPubsub();
  await assert.rejects(
    sub.ssubscribe("a", "b", "c"), // three slots: three SSUBSCRIBEs, all refused
    (e: Error) => e instanceof RedisError && e.serverCode === "NOPERM",
  );
  assert.equal(seen.get("SSUBSCRIBE"), 3, "refused at once, not retried");
  assert.deepEqual(sub.shardChannels, []);
});

test("redis cluster faults: a replica still LOADING hands the read to the master", async () => {
  const replica = await fakeNode((name) =>
    name === "GET" ? "-LOADING Redis is loading the dataset in memory\r\n" : undefined
  );
  const replicaAddress = `${replica.server.host}:${replica.server.port}`;
  const { server, seen } = await fakeNode(undefined, { replica: replicaAddress });
  const cluster = await RedisClusterClient.connect({
    nodes: [`${server.host}:${server.port}`],
    readFrom: "replica",
    decode: true,
  });
  assert.equal(await cluster.get("k"), "value-of:k");
  assert.equal(replica.seen.get("READONLY"), 1);
  assert.equal(replica.seen.get("GET"), 1);
  assert.equal(seen.get("GET"), 1);
  await cluster.close();
});

test("redis cluster faults: the password stays out of inspect, JSON and the node options", async () => {
  const { server } = await fakeNode();
  const secret = "hunter2-cluster-secret";
  const cluster = await RedisClusterClient.connect({
    nodes: [`${server.host}:${server.port}`],
    password: secret,
  });
  assert.equal(await cluster.ping(), "PONG");
  for (
    const shown of [
      inspect(cluster, { depth: 10 }),
      JSON.stringify(cluster),
      String(cluster),
      inspect(cluster.masters, { depth: 10 }),
      JSON.stringify(cluster.masters),
    ]
  ) {
    assert.ok(!shown.includes(secret), shown);
  }
  await cluster.close();
});

test("redis cluster faults: connect skips a dead seed and asks the next one", async () => {
  const { server } = await fakeNode();
  const cluster = await RedisClusterClient.connect({
    nodes: ["127.0.0.1:1", `${server.host}:${server.port}`],
    decode: true,
  });
  assert.equal(await cluster.get("s"), "value-of:s");
  await cluster.close();
  await assert.rejects(
    RedisClusterClient.connect({ nodes: ["127.0.0.1:1"] }),
    (e: Error) => e instanceof KvError,
  );
  assert.throws(() => new RedisClusterClient({ nodes: [] }), TypeError);
  assert.throws(() => new RedisClusterClient({ nodes: ["nope"] }), TypeError);
  assert.throws(
    () => new RedisClusterClient({ nodes: ["h:1"], readFrom: "any" as never }),
    TypeError,
  );
});

test("redis cluster faults: refreshes are single-flight on MOVED storms, and periodic", async () => {
  let self = "";
  const { server, seen } = await fakeNode((name, n) =>
    name === "GET" && n <= 200 ? `-MOVED 1 ${self}\r\n` : undefined
  );
  self = `${server.host}:${server.port}`;
  const cluster = await RedisClusterClient.connect({ nodes: [self], refreshInterval: 0 });
  const before = seen.get("CLUSTER")!;
  await Promise.all(Array.from({ length: 200 }, (_, i) => cluster.get(`k${i}`)));
  const storm = seen.get("CLUSTER")! - before;
  assert.ok(storm >= 1 && storm <= 4, `${storm} CLUSTER requests for 200 MOVED replies`);
  await cluster.close();
  const periodic = await RedisClusterClient.connect({ nodes: [self], refreshInterval: 20 });
  const start = seen.get("CLUSTER")!;
  while (seen.get("CLUSTER")! < start + 6) await new Promise((resolve) => setTimeout(resolve, 10));
  await periodic.close();
  const after = seen.get("CLUSTER")!;
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(seen.get("CLUSTER"), after, "no refresh after close");
});
