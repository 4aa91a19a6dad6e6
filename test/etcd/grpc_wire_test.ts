// End to end: the HTTP/2 + gRPC machines under the core Driver, over the runtime's transport,
// talking h2c to a real etcd: KV, Txn, leases (unary and the LeaseKeepAlive stream), Watch,
// server errors as GrpcError, grpc-timeout honoured by the server, several calls multiplexed.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Driver } from "../../src/core/driver.ts";
import { GrpcConnection, type GrpcReply, type GrpcSend } from "../../src/grpc/connection.ts";
import { GrpcError } from "../../src/grpc/status.ts";
import * as M from "../../src/etcd/proto/messages.ts";
import {
  decodeProto,
  encodeProto,
  type MessageSpec,
  type ProtoObject,
} from "../../src/etcd/proto/wire.ts";
import { connect } from "../../transports/auto.ts";
import { etcdAddress } from "../_helpers/servers.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const prefix = `grpc-wire-${Math.random().toString(36).slice(2)}/`;
const key = (k: string): Uint8Array => te.encode(prefix + k);

let driver: Driver<GrpcSend, GrpcReply, Uint8Array>;

before(async () => {
  const { host, port } = await etcdAddress();
  const transport = await connect({ host, port });
  driver = new Driver(new GrpcConnection({ authority: `${host}:${port}` }), transport);
});

after(async () => {
  await driver.close();
});

async function call<T>(
  path: string,
  reqSpec: MessageSpec,
  resSpec: MessageSpec,
  req: ProtoObject,
  timeout?: number,
): Promise<T> {
  const reply = await driver.request({ path, message: encodeProto(reqSpec, req), timeout });
  assert.ok(reply instanceof Uint8Array);
  return decodeProto<T>(resSpec, reply);
}

test("etcd over gRPC: Put, Range, DeleteRange", async () => {
  const put = await call<M.PutResponseMsg>(M.Method.Put, M.PutRequest, M.PutResponse, {
    key: key("a"),
    value: te.encode("1"),
  });
  assert.ok(put.header!.revision > 0n);
  const put2 = await call<M.PutResponseMsg>(M.Method.Put, M.PutRequest, M.PutResponse, {
    key: key("a"),
    value: te.encode("2"),
    prevKv: true,
  });
  assert.equal(td.decode(put2.prevKv!.value), "1");
  await call(M.Method.Put, M.PutRequest, M.PutResponse, { key: key("b"), value: te.encode("3") });
  const range = await call<M.RangeResponseMsg>(M.Method.Range, M.RangeRequest, M.RangeResponse, {
    key: key(""),
    rangeEnd: key("\xff"),
  });
  assert.deepEqual(range.kvs.map((kv) => [td.decode(kv.key), td.decode(kv.value), kv.version]), [
    [prefix + "a", "2", 2n],
    [prefix + "b", "3", 1n],
  ]);
  assert.equal(range.count, 2n);
  assert.equal(range.kvs[0].modRevision, put2.header!.revision);
  const del = await call<M.DeleteRangeResponseMsg>(
    M.Method.DeleteRange,
    M.DeleteRangeRequest,
    M.DeleteRangeResponse,
    { key: key("a"), prevKv: true },
  );
  assert.equal(del.deleted, 1n);
  assert.equal(td.decode(del.prevKvs[0].value), "2");
});

test("etcd over gRPC: Txn compares and runs the matching branch", async () => {
  await call(M.Method.Put, M.PutRequest, M.PutResponse, { key: key("t"), value: te.encode("x") });
  const txn = await call<M.TxnResponseMsg>(M.Method.Txn, M.TxnRequest, M.TxnResponse, {
    compare: [{ key: key("t"), target: 3, result: 0, value: te.encode("x") }],
    success: [
      { requestPut: { key: key("t"), value: te.encode("y") } },
      { requestRange: { key: key("t") } },
    ],
    failure: [{ requestDeleteRange: { key: key("t") } }],
  });
  assert.equal(txn.succeeded, true);
  assert.ok(txn.responses[0].responsePut);
  assert.equal(td.decode(txn.responses[1].responseRange!.kvs[0].value), "y");
  // A version-0 compare (the key does not exist) must reach the server although it is a default.
  const absent = await call<M.TxnResponseMsg>(M.Method.Txn, M.TxnRequest, M.TxnResponse, {
    compare: [{ key: key("t"), target: 0, result: 0, version: 0n }],
    success: [],
    failure: [],
  });
  assert.equal(absent.succeeded, false);
});

test("etcd over gRPC: LeaseGrant, TimeToLive, KeepAlive stream, Revoke", async () => {
  const grant = await call<M.LeaseGrantResponseMsg>(
    M.Method.LeaseGrant,
    M.LeaseGrantRequest,
    M.LeaseGrantResponse,
    { ttl: 30n },
  );
  assert.ok(grant.id > 0n);
  assert.equal(grant.ttl, 30n);
  await call(M.Method.Put, M.PutRequest, M.PutResponse, {
    key: key("l"),
    value: te.encode("v"),
    lease: grant.id,
  });
  const ttl = await call<M.LeaseTimeToLiveResponseMsg>(
    M.Method.LeaseTimeToLive,
    M.LeaseTimeToLiveRequest,
    M.LeaseTimeToLiveResponse,
    { id: grant.id, keys: true },
  );
  assert.equal(ttl.grantedTtl, 30n);
  assert.deepEqual(ttl.keys.map((k) => td.decode(k)), [prefix + "l"]);
  // The bidirectional shape: two keep-alives sent over time on one stream, two answers.
  const tag = {};
  const stream = driver.stream({
    path: M.Method.LeaseKeepAlive,
    stream: true,
    tag,
    message: encodeProto(M.LeaseId, { id: grant.id }),
  });
  const it = stream[Symbol.asyncIterator]();
  const first = decodeProto<M.LeaseKeepAliveResponseMsg>(
    M.LeaseKeepAliveResponse,
    (await it.next()).value,
  );
  assert.deepEqual([first.id, first.ttl], [grant.id, 30n]);
  const written = await driver.request({
    write: tag,
    message: encodeProto(M.LeaseId, { id: grant.id }),
  });
  assert.ok(!(written instanceof Uint8Array) && written.type === "written");
  const second = decodeProto<M.LeaseKeepAliveResponseMsg>(
    M.LeaseKeepAliveResponse,
    (await it.next()).value,
  );
  assert.equal(second.id, grant.id);
  await it.return!();
  await call(M.Method.LeaseRevoke, M.LeaseId, M.HeaderOnly, { id: grant.id });
  const gone = await call<M.RangeResponseMsg>(M.Method.Range, M.RangeRequest, M.RangeResponse, {
    key: key("l"),
  });
  assert.equal(gone.kvs.length, 0);
});

test("etcd over gRPC: a Watch stream receives the events of a Put, then is cancelled", async () => {
  const tag = {};
  const stream = driver.stream({
    path: M.Method.Watch,
    stream: true,
    tag,
    message: encodeProto(M.WatchRequest, { createRequest: { key: key("w"), prevKv: true } }),
  });
  const it = stream[Symbol.asyncIterator]();
  const created = decodeProto<M.WatchResponseMsg>(M.WatchResponse, (await it.next()).value);
  assert.equal(created.created, true);
  await call(M.Method.Put, M.PutRequest, M.PutResponse, { key: key("w"), value: te.encode("1") });
  await call(M.Method.Put, M.PutRequest, M.PutResponse, { key: key("w"), value: te.encode("2") });
  const seen: string[] = [];
  while (seen.length < 2) {
    const msg = decodeProto<M.WatchResponseMsg>(M.WatchResponse, (await it.next()).value);
    assert.equal(msg.watchId, created.watchId);
    for (const ev of msg.events) {
      seen.push(
        `${ev.type}:${td.decode(ev.kv!.value)}:${td.decode(ev.prevKv?.value ?? new Uint8Array())}`,
      );
    }
  }
  assert.deepEqual(seen, ["0:1:", "0:2:1"]);
  // Cancel by watch id on the same stream: the server confirms with canceled.
  await driver.request({
    write: tag,
    message: encodeProto(M.WatchRequest, { cancelRequest: { watchId: created.watchId } }),
  });
  const canceled = decodeProto<M.WatchResponseMsg>(M.WatchResponse, (await it.next()).value);
  assert.equal(canceled.canceled, true);
  await it.return!();
});

test("etcd over gRPC: server errors are GrpcError with the status name", async () => {
  const future = call(M.Method.Range, M.RangeRequest, M.RangeResponse, {
    key: key("a"),
    revision: 1n << 40n,
  });
  await assert.rejects(future, (error: unknown) => {
    assert.ok(error instanceof GrpcError);
    assert.equal(error.status, "OUT_OF_RANGE");
    assert.match(error.grpcMessage, /future revision/);
    assert.equal(error.sent, false);
    return true;
  });
  // A method etcd does not have: a trailers-only answer.
  await assert.rejects(
    driver.request({ path: "/etcdserverpb.KV/Nope", message: new Uint8Array(0) }),
    (error: unknown) => error instanceof GrpcError && error.status === "UNIMPLEMENTED",
  );
  // Authenticate on a server without auth: FAILED_PRECONDITION, and the password never shows.
  await assert.rejects(
    call(M.Method.Authenticate, M.AuthenticateRequest, M.AuthenticateResponse, {
      name: "root",
      password: "pw-never-shown",
    }),
    (error: unknown) => {
      assert.ok(error instanceof GrpcError);
      assert.equal(error.status, "FAILED_PRECONDITION");
      assert.ok(!JSON.stringify(error).includes("pw-never") && !String(error).includes("pw-never"));
      return true;
    },
  );
  // The connection stays usable after errors.
  await call(M.Method.Range, M.RangeRequest, M.RangeResponse, { key: key("a") });
});

test("etcd over gRPC: grpc-timeout is honoured by the server (DEADLINE_EXCEEDED)", async () => {
  await assert.rejects(
    call(M.Method.Range, M.RangeRequest, M.RangeResponse, { key: key("a") }, 0.001),
    (error: unknown) => {
      assert.ok(error instanceof GrpcError, String(error));
      // grpc-go answers DEADLINE_EXCEEDED when its timer fires first; etcd 3.4 reports its
      // own context's expiry as UNKNOWN "context deadline exceeded". Both are the deadline.
      if (error.status !== "DEADLINE_EXCEEDED") {
        assert.equal(error.status, "UNKNOWN");
        assert.match(error.grpcMessage, /deadline exceeded/);
      }
      assert.equal(error.sent, true);
      return true;
    },
  );
  const ok = await call<M.RangeResponseMsg>(M.Method.Range, M.RangeRequest, M.RangeResponse, {
    key: key("a"),
  }, 5000);
  assert.ok(ok.header!.revision > 0n);
});

test("etcd over gRPC: 200 concurrent calls share one connection; Status and MemberList", async () => {
  const puts = Array.from(
    { length: 200 },
    (_, i) =>
      call(M.Method.Put, M.PutRequest, M.PutResponse, {
        key: key(`m${i}`),
        value: te.encode(String(i)),
      }),
  );
  await Promise.all(puts);
  const range = await call<M.RangeResponseMsg>(M.Method.Range, M.RangeRequest, M.RangeResponse, {
    key: key("m"),
    rangeEnd: key("n"),
    countOnly: true,
  });
  assert.equal(range.count, 200n);
  const status = await call<M.StatusResponseMsg>(M.Method.Status, M.Empty, M.StatusResponse, {});
  assert.match(status.version, /^3\./);
  const members = await call<M.MemberListResponseMsg>(
    M.Method.MemberList,
    M.MemberListRequest,
    M.MemberListResponse,
    {},
  );
  assert.equal(members.members.length, 1);
  assert.ok(members.members[0].clientUrls.length > 0);
  await call(M.Method.DeleteRange, M.DeleteRangeRequest, M.DeleteRangeResponse, {
    key: key(""),
    rangeEnd: key("\xff"),
  });
});
