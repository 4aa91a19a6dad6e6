// LeaseKeepAliveStream against a real etcd over Driver + GrpcConnection: the keep-alives of
// several leases on one stream, matched by lease ID; an unknown lease; the stream lost and
// reopened; closed when idle.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { ConnectionClosedError } from "../../src/core/errors.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { LeaseKeepAliveStream } from "../../src/etcd/grpc/lease_stream.ts";
import * as M from "../../src/etcd/proto/messages.ts";
import { decodeProto } from "../../src/etcd/proto/wire.ts";
import { GrpcTestChannel } from "../_helpers/grpc_bidi.ts";
import { until } from "../_helpers/observe_recorder.ts";
import { etcdAddress } from "../_helpers/servers.ts";

const addr = await etcdAddress();
const etcd = new EtcdClient({ endpoints: [`${addr.host}:${addr.port}`] });
const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
  await etcd.close();
});

function leasesOn(idleTimeout?: number): { leases: LeaseKeepAliveStream; grpc: GrpcTestChannel } {
  const grpc = new GrpcTestChannel(addr);
  const leases = new LeaseKeepAliveStream({ open: grpc.open, idleTimeout });
  cleanup.push(async () => {
    leases.close();
    await grpc.close();
  });
  return { leases, grpc };
}

test("lease stream: keep-alives of several leases share one stream, answered by lease ID", async () => {
  const { leases, grpc } = leasesOn();
  const granted = await Promise.all(
    [20, 30, 40].map((ttl) => etcd.grant(ttl, { keepAlive: false })),
  );
  cleanup.push(() => Promise.all(granted.map((l) => l.revoke())).then(() => {}));
  const ids = granted.map((l) => l.id);
  // Twice each, interleaved: each answer goes to a request of its own lease.
  const ttls = await Promise.all([...ids, ...ids].map((id) => leases.keepAlive(id)));
  assert.deepEqual(ttls, [20n, 30n, 40n, 20n, 30n, 40n]);
  const answers = grpc.received.map((m) =>
    decodeProto<M.LeaseKeepAliveResponseMsg>(M.LeaseKeepAliveResponse, m)
  );
  assert.deepEqual(answers.map((a) => a.id).sort(), [...ids, ...ids].sort());
  assert.equal(grpc.streams, 1);
  assert.equal(leases.streamsOpened, 1);
  // A lease that does not exist (revoked): TTL 0.
  const gone = await etcd.grant(10, { keepAlive: false });
  await gone.revoke();
  assert.equal(await leases.keepAlive(gone.id), 0n);
  assert.equal(leases.streamsOpened, 1);
  await assert.rejects(leases.keepAlive(0n), TypeError);
});

test("lease stream: a keep-alive in flight when the connection dies is answered on a new stream", async () => {
  const { leases, grpc } = leasesOn();
  const lease = await etcd.grant(30, { keepAlive: false });
  cleanup.push(() => lease.revoke());
  assert.equal(await leases.keepAlive(lease.id), 30n);
  const pending = leases.keepAlive(lease.id);
  await grpc.destroy();
  assert.equal(await pending, 30n);
  assert.equal(leases.streamsOpened, 2);
  assert.equal(grpc.connections, 2);
  assert.equal(await leases.keepAlive(lease.id), 30n);
});

test("lease stream: closed when idle, reopened by the next keep-alive; close fails the rest", async () => {
  const { leases } = leasesOn(20);
  const lease = await etcd.grant(30, { keepAlive: false });
  cleanup.push(() => lease.revoke());
  assert.equal(await leases.keepAlive(lease.id), 30n);
  assert.equal(leases.isOpen, true);
  await until(() => !leases.isOpen);
  assert.equal(await leases.keepAlive(lease.id), 30n);
  assert.equal(leases.streamsOpened, 2);
  const last = leases.keepAlive(lease.id);
  leases.close();
  await assert.rejects(last, ConnectionClosedError);
  await assert.rejects(leases.keepAlive(lease.id), ConnectionClosedError);
});
