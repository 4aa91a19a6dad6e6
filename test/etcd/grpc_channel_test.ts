// The gRPC channel behind EtcdClient (src/etcd/grpc/): the gateway's JSON mapped to and from
// protobuf, every call and stream of a client on one HTTP/2 connection to a real etcd,
// cross-checked with etcdctl, and the protocol option refused when misspelled.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { defaultConnect } from "../../src/core/default_connect.ts";
import { UnresponsiveError } from "../../src/core/errors.ts";
import type { Connect } from "../../src/core/transport.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { jsonFromProto, protoFromJson } from "../../src/etcd/grpc/json.ts";
import { GRPC_METHODS } from "../../src/etcd/grpc/methods.ts";
import { GrpcChannel } from "../../src/etcd/grpc/channel.ts";
import * as M from "../../src/etcd/proto/messages.ts";
import { decodeProto, encodeProto } from "../../src/etcd/proto/wire.ts";
import { startChaosProxy } from "../_helpers/chaos_proxy.ts";
import { etcdctl } from "../_helpers/etcdctl.ts";
import { etcdAddress } from "../_helpers/servers.ts";

const { host, port } = await etcdAddress();
const endpoint = `${host}:${port}`;
const prefix = `grpc-channel-${Math.random().toString(36).slice(2)}/`;
const te = new TextEncoder();

let connects = 0;
const counting: Connect = (address, options) => {
  connects++;
  return defaultConnect(address, options);
};
const etcd = new EtcdClient({ endpoints: [endpoint], connect: counting, protocol: "grpc" });
after(async () => {
  await etcd.delete(prefix, { prefix: true });
  await etcd.close();
});

test("grpc json: the gateway's names, base64 bytes, 64-bit strings, enums by name, defaults omitted", () => {
  assert.deepEqual(protoFromJson(M.LeaseGrantRequest, { TTL: "30", ID: 7 }), { ttl: 30n, id: 7n });
  const range = protoFromJson(M.RangeRequest, {
    key: "YQ==",
    range_end: "Yg==",
    sort_order: "DESCEND",
    sort_target: 3,
    serializable: true,
  });
  assert.deepEqual(range, {
    key: te.encode("a"),
    rangeEnd: te.encode("b"),
    sortOrder: 2,
    sortTarget: 3,
    serializable: true,
  });
  const watch = protoFromJson(M.WatchRequest, {
    create_request: { key: "YQ==", filters: ["NODELETE"], start_revision: "5" },
  });
  assert.deepEqual(watch, {
    createRequest: { key: te.encode("a"), filters: [1], startRevision: 5n },
  });
  const out = jsonFromProto(M.RangeResponse, {
    header: { clusterId: 1n, memberId: 0n, revision: 9n, raftTerm: 2n },
    kvs: [{
      key: te.encode("a"),
      createRevision: 3n,
      modRevision: 9n,
      version: 2n,
      value: te.encode(""),
      lease: 0n,
    }],
    more: false,
    count: 1n,
  });
  assert.deepEqual(out, {
    header: { cluster_id: "1", revision: "9", raft_term: "2" },
    kvs: [{ key: "YQ==", create_revision: "3", mod_revision: "9", version: "2" }],
    count: "1",
  });
  const event = jsonFromProto(M.Event, { type: 1, kv: { key: te.encode("k") } });
  assert.deepEqual(event, { type: "DELETE", kv: { key: "aw==" } });
  assert.deepEqual(jsonFromProto(M.Event, { type: 0 }), {}, "PUT is the default: omitted");
  const status = jsonFromProto(M.StatusResponse, {
    dbSize: 20480n,
    raftTerm: 2n,
    isLearner: false,
  });
  assert.deepEqual(status, { dbSize: "20480", raftTerm: "2" });
});

test("grpc json: a request the schema cannot carry is a TypeError naming the field", () => {
  assert.throws(() => protoFromJson(M.PutRequest, { key: "YQ==", lease: "x" }), /lease/);
  assert.throws(() => protoFromJson(M.PutRequest, { key: 5 }), /key/);
  assert.throws(() => protoFromJson(M.PutRequest, { key: "YQ==", nope: true }), /nope/);
  assert.throws(() => protoFromJson(M.RangeRequest, { sort_order: "SIDEWAYS" }), /sortOrder/);
  for (const [path, method] of Object.entries(GRPC_METHODS)) {
    assert.match(method.path, /^\/[a-z0-9]+\.[A-Za-z]+\/[A-Za-z]+$/, path);
  }
});

test("grpc channel: calls, a watch, a lease and a lock share one connection; etcdctl agrees", async () => {
  const before = connects;
  const watcher = etcd.watch(`${prefix}w`);
  await watcher.created;
  const lease = await etcd.grant(30);
  await Promise.all(
    Array.from(
      { length: 50 },
      (_, i) => etcd.put(`${prefix}k${i}`, String(i), { lease: lease.id }),
    ),
  );
  const got = await Promise.all(
    Array.from({ length: 50 }, (_, i) => etcd.getString(`${prefix}k${i}`)),
  );
  assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => String(i)));
  const lock = await etcd.lock(`${prefix}lock`);
  await etcd.put(`${prefix}w`, "seen");
  for await (const event of watcher) {
    assert.equal(new TextDecoder().decode(event.kv.value), "seen");
    break;
  }
  await lock.release();
  assert.equal(connects - before, before === 0 ? 1 : 0, "one connection carried everything");
  assert.equal(
    (await etcdctl(endpoint, "get", "--print-value-only", `${prefix}k7`)).trim(),
    "7",
  );
  const info = await etcd.timeToLive(lease.id, { keys: true });
  assert.equal(info.keys.length, 50);
  await etcdctl(endpoint, "put", `${prefix}ctl`, "from etcdctl");
  assert.equal(await etcd.getString(`${prefix}ctl`), "from etcdctl");
  await lease.revoke();
  assert.equal(await etcd.getString(`${prefix}k7`), undefined, "the lease's keys are gone");
});

test(
  "grpc channel: a silent connection is found by an unanswered PING; the watch restarts and resumes",
  {
    timeout: 20_000,
  },
  async () => {
    const proxy = await startChaosProxy({ host, port });
    const restarts: Error[] = [];
    let restarted!: () => void;
    const firstRestart = new Promise<void>((resolve) => (restarted = resolve));
    await using viaProxy = new EtcdClient({
      endpoints: [`${proxy.host}:${proxy.port}`],
      keepAliveInterval: 200,
    });
    try {
      await using watcher = viaProxy.watch(`${prefix}ping`, {
        onRestart: ({ reason }) => {
          restarts.push(reason);
          restarted();
        },
      });
      await watcher.created;
      proxy.stall(); // bytes held both ways, sockets open: only the PING can tell
      await firstRestart;
      proxy.pass();
      const put = await etcd.put(`${prefix}ping`, "after the stall");
      const seen = await watcher.next();
      assert.equal(seen.done, false);
      assert.equal(seen.value!.kv.modRevision, put.revision, "no event lost");
      assert.ok(
        restarts[0] instanceof UnresponsiveError ||
          (restarts[0] as Error & { cause?: unknown }).cause instanceof UnresponsiveError,
        String(restarts[0]),
      );
    } finally {
      proxy.pass();
      await proxy.stop();
    }
  },
);

test("grpc channel: openBidi carries a LeaseKeepAlive call on the client's connection", async () => {
  const channel = etcd.channel;
  assert.ok(channel instanceof GrpcChannel);
  await using lease = await etcd.grant(30);
  const before = connects;
  const stream = await channel.openBidi(M.Method.LeaseKeepAlive);
  assert.equal(stream.endpoint.port, port);
  for (let i = 0; i < 2; i++) {
    stream.write(encodeProto(M.LeaseId, { id: lease.id }));
    const next = await stream.items.next();
    assert.equal(next.done, false);
    const answer = decodeProto<M.LeaseKeepAliveResponseMsg>(M.LeaseKeepAliveResponse, next.value!);
    assert.deepEqual([answer.id, answer.ttl], [lease.id, 30n]);
  }
  stream.close();
  await assert.rejects(stream.items.next(), /closed/);
  assert.equal(connects, before, "no connection of its own");
});

test("grpc channel: a member that sends GOAWAY before running the call: it runs once, on the next endpoint", async () => {
  // SETTINGS, then GOAWAY with last stream id 0 (nothing processed) and NO_ERROR.
  const goAway = new Uint8Array([
    ...[0, 0, 0, 4, 0, 0, 0, 0, 0],
    ...[0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  ]);
  let accepted = 0;
  const leaving = net.createServer((socket) => {
    accepted++;
    socket.on("error", () => {});
    socket.once("data", () => socket.write(goAway));
  });
  await new Promise<void>((resolve) => leaving.listen(0, "127.0.0.1", resolve));
  const { port: leavingPort } = leaving.address() as net.AddressInfo;
  try {
    await using both = new EtcdClient({ endpoints: [`127.0.0.1:${leavingPort}`, endpoint] });
    const switches: string[] = [];
    both.on("endpointSwitch", (e) => switches.push(e.to));
    const before = (await etcd.status()).revision;
    const put = await both.put(`${prefix}goaway`, "once");
    assert.equal(put.revision, before + 1n, "the put ran once");
    assert.deepEqual(switches, [endpoint], "calls moved to the next endpoint");
    const tried = accepted; // 1, or 2 when its backoff ended before the retry
    assert.ok(tried >= 1);
    assert.equal(await both.getString(`${prefix}goaway`), "once");
    assert.equal(accepted, tried, "the next call went to the endpoint that answered");
  } finally {
    leaving.close();
  }
});

test("grpc channel: a misspelled protocol is a TypeError at construction", () => {
  assert.throws(
    () => new EtcdClient({ protocol: "http2" as "grpc" }),
    /protocol must be "grpc" or "gateway"/,
  );
});
