// WatchHub and LeaseKeepAliveStream against a scripted peer (an in-memory OpenBidi playing
// etcd): answers nobody asked for, keys outside the range, replayed events, oversized
// fragments, a fatal stream status, a throwing onRestart. None may be delivered or hang.

import { test } from "node:test";
import assert from "node:assert/strict";
import { RemoteProtocolError } from "../../src/core/errors.ts";
import { StreamQueue } from "../../src/core/stream_queue.ts";
import { GrpcError } from "../../src/grpc/status.ts";
import type { BidiStream, OpenBidi } from "../../src/etcd/grpc/bidi.ts";
import { LeaseKeepAliveStream } from "../../src/etcd/grpc/lease_stream.ts";
import { WatchHub } from "../../src/etcd/grpc/watch_hub.ts";
import { Keys, text } from "../../src/etcd/kv.ts";
import * as M from "../../src/etcd/proto/messages.ts";
import {
  decodeProto,
  encodeProto,
  type MessageSpec,
  type ProtoObject,
} from "../../src/etcd/proto/wire.ts";
import { until } from "../_helpers/observe_recorder.ts";

const te = new TextEncoder();

interface FakeStream {
  items: StreamQueue<Uint8Array>;
  writes: Uint8Array[];
  closed: boolean;
}

/** Every stream the code under test opened; the test answers on the latest. */
class ScriptedPeer {
  readonly streams: FakeStream[] = [];

  readonly open: OpenBidi = (): Promise<BidiStream> => {
    const fake: FakeStream = { items: new StreamQueue(), writes: [], closed: false };
    this.streams.push(fake);
    return Promise.resolve({
      items: fake.items,
      endpoint: { host: "fake", port: 1 },
      write: (message) => void fake.writes.push(message),
      close: () => {
        fake.closed = true;
        fake.items.end();
      },
    });
  };

  get current(): FakeStream {
    return this.streams[this.streams.length - 1];
  }

  /** Waits for the `n`th write (1-based) on the current stream, decoded. */
  async write<T>(spec: MessageSpec, n: number): Promise<T> {
    await until(() => this.streams.length > 0 && this.current.writes.length >= n);
    return decodeProto<T>(spec, this.current.writes[n - 1]);
  }

  send(spec: MessageSpec, message: ProtoObject): void {
    this.current.items.push(encodeProto(spec, message));
  }
}

const kv = (key: string, rev: bigint): ProtoObject => ({
  key: te.encode(key),
  value: te.encode(`v${rev}`),
  createRevision: rev,
  modRevision: rev,
  version: 1n,
});
const header = (revision: bigint): ProtoObject => ({ revision });

/** A hub with one watch of prefix `a/` created at revision 10 on the peer's first stream. */
async function createdHub(options: { maxFragmentBytes?: number } = {}) {
  const peer = new ScriptedPeer();
  const restarts: bigint[] = [];
  const hub = new WatchHub({ open: peer.open, keys: new Keys(), ...options });
  const watch = hub.watch({ key: "a/", prefix: true }, {
    onRestart: ({ revision }) => restarts.push(revision!),
  });
  await peer.write(M.WatchRequest, 1);
  peer.send(M.WatchResponse, { header: header(10n), watchId: 7n, created: true });
  assert.equal(await watch.created, 10n);
  return { peer, hub, watch, restarts };
}

test("hostile hub: an answer for a watch id nobody owns drops the stream; resume is exact", async () => {
  const { peer, hub, watch, restarts } = await createdHub();
  peer.send(M.WatchResponse, {
    header: header(11n),
    watchId: 7n,
    events: [{ kv: kv("a/x", 11n) }],
  });
  assert.equal((await watch.next()).value!.kv.modRevision, 11n);
  peer.send(M.WatchResponse, {
    header: header(12n),
    watchId: 99n,
    events: [{ kv: kv("a/y", 12n) }],
  });
  await until(() => peer.streams.length === 2);
  assert.equal(peer.streams[0].closed, true);
  assert.deepEqual(restarts, [12n]);
  const again = await peer.write<M.WatchRequestMsg>(M.WatchRequest, 1);
  assert.equal(again.createRequest!.startRevision, 12n);
  peer.send(M.WatchResponse, { header: header(12n), watchId: 1n, created: true });
  // A replay of an event already delivered is dropped; the next one comes through once.
  peer.send(M.WatchResponse, {
    header: header(12n),
    watchId: 1n,
    events: [{ kv: kv("a/x", 11n) }, { kv: kv("a/z", 12n) }],
  });
  const next = await watch.next();
  assert.equal(text(next.value!.kv.key), "a/z");
  assert.equal(watch.buffered, 0);
  assert.equal(watch.nextRevision, 13n);
  hub.close();
});

test("hostile hub: an event outside the watched range or a malformed message is never delivered", async () => {
  const { peer, hub, watch } = await createdHub();
  peer.send(M.WatchResponse, {
    header: header(11n),
    watchId: 7n,
    events: [{ kv: kv("b/x", 11n) }],
  });
  await until(() => peer.streams.length === 2);
  assert.equal(watch.buffered, 0);
  await peer.write(M.WatchRequest, 1);
  peer.send(M.WatchResponse, { header: header(11n), watchId: 3n, created: true });
  peer.current.items.push(new Uint8Array([0x0a, 0xff])); // a header field cut short
  await until(() => peer.streams.length === 3);
  assert.equal(watch.buffered, 0);
  assert.equal(watch.reconnects, 2);
  hub.close();
});

test("hostile hub: a created reply nobody asked for, or a progress reply, drops the stream", async () => {
  const { peer, hub } = await createdHub();
  peer.send(M.WatchResponse, { header: header(10n), watchId: 8n, created: true });
  await until(() => peer.streams.length === 2);
  await peer.write(M.WatchRequest, 1);
  peer.send(M.WatchResponse, { header: header(10n), watchId: 1n, created: true });
  peer.send(M.WatchResponse, { header: header(10n), watchId: -1n });
  await until(() => peer.streams.length === 3);
  hub.close();
});

test("hostile hub: a stream status retrying cannot fix ends every watch with it", async () => {
  const { peer, hub, watch } = await createdHub();
  const other = hub.watch({ key: "c" });
  await peer.write(M.WatchRequest, 2);
  peer.current.items.end(new GrpcError(7, "etcdserver: permission denied"));
  for (const w of [watch, other]) {
    const error = await w.next().catch((e) => e);
    assert.ok(error instanceof GrpcError && error.status === "PERMISSION_DENIED", String(error));
  }
  assert.equal(hub.size, 0);
  assert.equal(peer.streams.length, 1);
});

test("hostile hub: fragments over the limit end that watch; the others go on", async () => {
  const { peer, hub, watch } = await createdHub({ maxFragmentBytes: 100 });
  const other = hub.watch({ key: "a/", prefix: true });
  await peer.write(M.WatchRequest, 2);
  peer.send(M.WatchResponse, { header: header(10n), watchId: 8n, created: true });
  await other.created;
  for (let i = 0; i < 5; i++) {
    peer.send(M.WatchResponse, {
      header: header(11n),
      watchId: 7n,
      fragment: true,
      events: [{ kv: kv("a/x", 11n) }],
    });
  }
  const error = await watch.next().catch((e) => e);
  assert.ok(error instanceof RemoteProtocolError, String(error));
  peer.send(M.WatchResponse, {
    header: header(11n),
    watchId: 8n,
    events: [{ kv: kv("a/x", 11n) }],
  });
  assert.equal((await other.next()).value!.kv.modRevision, 11n);
  assert.equal(peer.streams.length, 1);
  hub.close();
});

test("hostile hub: an onRestart that throws ends only its watch", async () => {
  const peer = new ScriptedPeer();
  const hub = new WatchHub({ open: peer.open, keys: new Keys() });
  const failing = hub.watch({ key: "a" }, {
    onRestart: () => {
      throw new Error("no restarts here");
    },
  });
  const fine = hub.watch({ key: "b" });
  await peer.write(M.WatchRequest, 2);
  peer.current.items.end(new GrpcError(14, "etcdserver: no leader"));
  await assert.rejects(failing.next(), /no restarts here/);
  await until(() => peer.streams.length === 2);
  const create = await peer.write<M.WatchRequestMsg>(M.WatchRequest, 1);
  assert.equal(text(create.createRequest!.key), "b");
  peer.send(M.WatchResponse, { header: header(5n), watchId: 0n, created: true });
  assert.equal(await fine.created, 5n);
  hub.close();
});

test("hostile lease stream: an answer for a lease not asked about drops the stream; the ask is resent", async () => {
  const peer = new ScriptedPeer();
  const leases = new LeaseKeepAliveStream({ open: peer.open });
  const pending = leases.keepAlive(5n);
  const asked = await peer.write<M.LeaseIdMsg>(M.LeaseId, 1);
  assert.equal(asked.id, 5n);
  peer.send(M.LeaseKeepAliveResponse, { header: header(1n), id: 6n, ttl: 30n });
  await until(() => peer.streams.length === 2);
  assert.equal((await peer.write<M.LeaseIdMsg>(M.LeaseId, 1)).id, 5n);
  peer.send(M.LeaseKeepAliveResponse, { header: header(1n), id: 5n, ttl: 30n });
  assert.equal(await pending, 30n);
  leases.close();
});

test("hostile lease stream: a keep-alive with no answer times out, its late answer is no surprise", async () => {
  const peer = new ScriptedPeer();
  const leases = new LeaseKeepAliveStream({ open: peer.open });
  await assert.rejects(
    leases.keepAlive(5n, { timeout: 20 }),
    (error: unknown) => (error as { sent?: boolean }).sent === true,
  );
  const second = leases.keepAlive(5n);
  await peer.write(M.LeaseId, 2);
  peer.send(M.LeaseKeepAliveResponse, { header: header(1n), id: 5n, ttl: 7n }); // the late one
  peer.send(M.LeaseKeepAliveResponse, { header: header(1n), id: 5n, ttl: 9n });
  assert.equal(await second, 9n);
  assert.equal(peer.streams.length, 1);
  leases.close();
});
