// Malformed answers on every decode path (kv, txn, leases, election, lock, maintenance, cluster,
// v2) are a RemoteProtocolError with `sent: true`, the connection that carried them is dropped,
// and the next call succeeds on a new one; answers meant for another request are refused. Faults
// protobuf can carry run on both protocols; JSON-only ones (bad base64, a string for a number)
// on the gateway alone: gRPC answers are decoded against their schema before any of that.

import { test } from "node:test";
import assert from "node:assert/strict";
import { RemoteProtocolError } from "../../src/core/errors.ts";
import type { Transport } from "../../src/core/transport.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { etcdErrorFromJson, EtcdV2Error } from "../../src/etcd/errors.ts";
import { protoFromJson } from "../../src/etcd/grpc/json.ts";
import * as M from "../../src/etcd/proto/messages.ts";
import { encodeProto, type MessageSpec } from "../../src/etcd/proto/wire.ts";
import { EtcdV2Client } from "../../src/etcd/v2.ts";
import { memoryConnector } from "../../transports/memory.ts";
import { eachProtocol, type EtcdProtocol } from "../_helpers/etcd_protocols.ts";
import { b64, etcdGateway, httpResponse, seededValue } from "./_hostile.ts";
import { grpcGateway } from "./_hostile_grpc.ts";

/**
 * An in-memory etcd whose first answer on connection 0 is `first` (when given: the HTTP response
 * on the gateway, the protobuf message on gRPC); every other answer comes from the tiny gateway
 * of _hostile.ts (through its gRPC face on gRPC).
 */
function fakeEtcd(
  protocol: EtcdProtocol,
  first?: Uint8Array,
): { connect: ReturnType<typeof memoryConnector>; accepted: () => number } {
  const gateway = etcdGateway(["k1", "k2", "k3"]);
  if (protocol === "grpc") return grpcGateway(gateway, first);
  let accepted = 0;
  const connect = memoryConnector((server: Transport) => {
    const index = accepted++;
    void (async () => {
      let buffer = new Uint8Array(0);
      let answered = 0;
      for (let chunk; (chunk = await server.read()) !== null;) {
        const joined = new Uint8Array(buffer.length + chunk.length);
        joined.set(buffer);
        joined.set(chunk, buffer.length);
        buffer = joined;
        for (let parsed; (parsed = gateway.parse(buffer)) !== undefined;) {
          buffer = buffer.slice(parsed.length);
          const bytes = index === 0 && answered === 0 && first !== undefined
            ? first
            : gateway.respond(parsed.request, { index, state: new Map() }).bytes;
          answered++;
          server.write(bytes);
        }
      }
    })().catch(() => {});
  });
  return { connect, accepted: () => accepted };
}

const kv = (key: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  key: b64(key),
  value: b64(seededValue(key)),
  create_revision: "2",
  mod_revision: "2",
  version: "1",
  ...extra,
});

/** The protobuf of a gateway JSON answer `body`, as `spec` (the same fault, said in protobuf). */
const proto = (spec: MessageSpec, body: string): Uint8Array =>
  encodeProto(spec, protoFromJson(spec, JSON.parse(body)));

type Op = (etcd: EtcdClient) => Promise<unknown>;
/** A bad answer: the gateway's JSON `body` and, where protobuf can carry the fault, `grpc`'s. */
const CASES: { name: string; op: Op; body: string; grpc?: Uint8Array }[] = [
  {
    name: "get: undecodable (not JSON; a protobuf field past its end)",
    op: (e) => e.get("k1"),
    body: "{nope",
    grpc: new Uint8Array([0x12, 0x40, 0x0a]),
  },
  { name: "get: a JSON array", op: (e) => e.get("k1"), body: "[1,2]" },
  {
    name: "get: bad base64 key",
    op: (e) => e.get("k1"),
    body: JSON.stringify({ kvs: [{ key: "!!" }] }),
  },
  {
    name: "get: kvs of the wrong type (a string; a varint)",
    op: (e) => e.get("k1"),
    body: JSON.stringify({ kvs: "x" }),
    grpc: new Uint8Array([0x10, 0x01]),
  },
  {
    name: "get: bad integer revision",
    op: (e) => e.get("k1"),
    body: JSON.stringify({ kvs: [kv("k1", { mod_revision: "1.5" })] }),
  },
  {
    name: "get: another key's answer",
    op: (e) => e.getString("k2"),
    body: JSON.stringify({ header: { revision: "9" }, kvs: [kv("k1")], count: "1" }),
    grpc: proto(M.RangeResponse, JSON.stringify({ kvs: [kv("k1")], count: "1" })),
  },
  {
    name: "put: a range answer",
    op: (e) => e.put("w", "v"),
    body: JSON.stringify({ header: { revision: "9" }, kvs: [kv("k1")], count: "1" }),
  },
  {
    name: "put: bad header revision",
    op: (e) => e.put("w", "v"),
    body: '{"header":{"revision":"x"}}',
  },
  { name: "delete: bad deleted count", op: (e) => e.delete("w"), body: '{"deleted":"many"}' },
  {
    name: "txn: responses not an array",
    op: (e) => e.txn({}),
    body: '{"succeeded":true,"responses":7}',
  },
  { name: "status: bad dbSize", op: (e) => e.status(), body: '{"dbSize":"big"}' },
  { name: "members: bad id", op: (e) => e.members(), body: '{"members":[{"ID":"x"}]}' },
  { name: "leases: bad id", op: (e) => e.leases(), body: '{"leases":[{"ID":{}}]}' },
  { name: "timeToLive: bad key", op: (e) => e.timeToLive(1n), body: '{"TTL":"5","keys":["%"]}' },
  { name: "alarms: not an array", op: (e) => e.alarms(), body: '{"alarms":{}}' },
  { name: "grant: bad lease id", op: (e) => e.grant(5, { keepAlive: false }), body: '{"ID":"q"}' },
  {
    name: "grant: TTL not a number",
    op: (e) => e.grant(5, { keepAlive: false }),
    body: '{"ID":"1","TTL":"x"}',
  },
  {
    name: "election leader: bad value",
    op: (e) => e.election("e").leader(),
    body: '{"kv":{"key":"ZQ==","value":"***"}}',
  },
];

for (const c of CASES) {
  const title =
    `decode: ${c.name} → RemoteProtocolError (sent: true), connection dropped, next call works`;
  const run = async (protocol: EtcdProtocol): Promise<void> => {
    const fake = fakeEtcd(protocol, protocol === "grpc" ? c.grpc : httpResponse(c.body));
    await using etcd = new EtcdClient({ protocol, connect: fake.connect, requestTimeout: 2000 });
    await assert.rejects(c.op(etcd), (error: unknown) => {
      assert.ok(error instanceof RemoteProtocolError, `${c.name}: ${error}`);
      assert.equal(error.sent, true);
      return true;
    });
    assert.equal(await etcd.getString("k3"), seededValue("k3"));
    assert.equal(fake.accepted(), 2, "the connection that carried the bad answer was replaced");
  };
  if (c.grpc) eachProtocol(title, run);
  else test(title, () => run("gateway"));
}

eachProtocol(
  "decode: coalesced reads answered by a malformed txn are each sent again, alone",
  async (protocol) => {
    const short = '{"succeeded":true,"responses":[]}';
    const first = protocol === "grpc" ? proto(M.TxnResponse, short) : httpResponse(short);
    const fake = fakeEtcd(protocol, first);
    await using etcd = new EtcdClient({ protocol, connect: fake.connect, requestTimeout: 2000 });
    const values = await Promise.all(["k1", "k2", "k3"].map((k) => etcd.getString(k)));
    assert.deepEqual(values, ["k1", "k2", "k3"].map(seededValue));
    assert.ok(fake.accepted() >= 2, "the connection that carried the bad txn answer was dropped");
  },
);

test("decode: a lock whose answer has a bad key is a RemoteProtocolError", async () => {
  const gateway = etcdGateway();
  let calls = 0;
  const connect = memoryConnector((server: Transport) => {
    void (async () => {
      let buffer = new Uint8Array(0);
      for (let chunk; (chunk = await server.read()) !== null;) {
        buffer = new Uint8Array([...buffer, ...chunk]);
        for (let parsed; (parsed = gateway.parse(buffer)) !== undefined;) {
          buffer = buffer.slice(parsed.length);
          calls++;
          server.write(
            parsed.request.path === "/v3/lock/lock"
              ? httpResponse('{"result":{"key":"#"}}')
              : gateway.respond(parsed.request, { index: 0, state: new Map() }).bytes,
          );
        }
      }
    })().catch(() => {});
  });
  await using etcd = new EtcdClient({ protocol: "gateway", connect, requestTimeout: 2000 });
  await assert.rejects(etcd.lock("l", { ttl: 5 }), (error: unknown) => {
    assert.ok(error instanceof RemoteProtocolError, String(error));
    assert.equal(error.sent, true);
    return true;
  });
  assert.ok(calls >= 3, "grant, lock, then the revoke of the lock's own lease");
});

test("decode: v2 answers that are not JSON or mistyped are RemoteProtocolError", async () => {
  for (const body of ["<html>", '{"node":{"nodes":5}}', '{"node":{"createdIndex":"x"}}']) {
    const fake = fakeEtcd("gateway", httpResponse(body));
    await using v2 = new EtcdV2Client({ connect: fake.connect, requestTimeout: 2000 });
    await assert.rejects(v2.read("/a"), (error: unknown) => {
      assert.ok(error instanceof RemoteProtocolError, `${body}: ${error}`);
      assert.equal(error.sent, true);
      return true;
    });
  }
});

test("errors: one word for an unknown outcome — sent — on v3 and v2 server errors", () => {
  const unknown = etcdErrorFromJson({ error: "etcdserver: request timed out", code: 14 }, 503);
  assert.equal(unknown.sent, true);
  assert.equal("unknownOutcome" in unknown, false, "the old name is gone");
  assert.equal(etcdErrorFromJson({ error: "etcdserver: no leader", code: 14 }).sent, false);
  assert.equal(etcdErrorFromJson({ message: "x", code: "not a number" }).grpcCode, 2);
  const v2 = EtcdV2Error.from({
    errorCode: 300,
    message: "Raft Internal Error",
    cause: "etcdserver: request timed out",
  });
  assert.equal(v2.sent, true);
  assert.equal(EtcdV2Error.from({ errorCode: 100, message: "Key not found" }).sent, false);
});
