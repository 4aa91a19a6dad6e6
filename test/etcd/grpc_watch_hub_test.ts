// WatchHub against a real etcd over Driver + GrpcConnection: many watches on one Watch stream,
// cancel by id, fragment reassembly, compaction, stream loss mid-traffic (no gap, no
// duplicate), a slow consumer's bounded queue, and 1,000 watchers on one connection.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { startEtcd } from "../../scripts/servers.ts";
import type { EtcdServer } from "../../scripts/servers.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { EtcdCompactedError } from "../../src/etcd/errors.ts";
import type { HubWatch } from "../../src/etcd/grpc/hub_watch.ts";
import { WatchHub } from "../../src/etcd/grpc/watch_hub.ts";
import { Keys, text } from "../../src/etcd/kv.ts";
import * as M from "../../src/etcd/proto/messages.ts";
import { decodeProto } from "../../src/etcd/proto/wire.ts";
import type { WatchEvent } from "../../src/etcd/watch.ts";
import { GrpcTestChannel } from "../_helpers/grpc_bidi.ts";
import { heapUsedAfterGc } from "../_helpers/hostile_server.ts";
import { until } from "../_helpers/observe_recorder.ts";
import { etcdAddress } from "../_helpers/servers.ts";

const addr = await etcdAddress();
const p = `kvwire-hub/${crypto.randomUUID()}/`;
const etcd = new EtcdClient({ endpoints: [`${addr.host}:${addr.port}`] });
const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
  await etcd.close();
});

/** A hub on its own test channel (connection), closed after the file. */
function hubOn(address = addr): { hub: WatchHub; grpc: GrpcTestChannel } {
  const grpc = new GrpcTestChannel(address);
  const hub = new WatchHub({ open: grpc.open, keys: new Keys() });
  cleanup.push(async () => {
    hub.close();
    await grpc.close();
  });
  return { hub, grpc };
}

async function take(watch: HubWatch, n: number): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  for await (const event of watch) {
    out.push(event);
    if (out.length === n) break;
  }
  return out;
}

const responses = (grpc: GrpcTestChannel): M.WatchResponseMsg[] =>
  grpc.received.map((m) => decodeProto<M.WatchResponseMsg>(M.WatchResponse, m));

test("hub: 20 watches share one stream; a cancelled one stops, the others go on", async () => {
  const { hub, grpc } = hubOn();
  const watches = Array.from({ length: 20 }, (_, i) => hub.watch({ key: `${p}many/${i}` }));
  await Promise.all(watches.map((w) => w.created));
  for (let i = 0; i < 20; i++) await etcd.put(`${p}many/${i}`, `v${i}`);
  for (let i = 0; i < 20; i++) {
    const [event] = await take(watches[i], 1);
    assert.equal(text(event.kv.key), `${p}many/${i}`);
    assert.equal(text(event.kv.value), `v${i}`);
  }
  // take() left each loop with break, which stops that watch: start two fresh ones.
  assert.equal(hub.size, 0);
  const kept = hub.watch({ key: `${p}many/x` });
  const dropped = hub.watch({ key: `${p}many/x` });
  await Promise.all([kept.created, dropped.created]);
  const droppedId = responses(grpc).filter((r) => r.created).at(-1)!.watchId;
  dropped.close();
  await until(() => responses(grpc).some((r) => r.canceled && r.watchId === droppedId));
  const put = await etcd.put(`${p}many/x`, "after");
  const [event] = await take(kept, 1);
  assert.equal(event.kv.modRevision, put.revision);
  assert.deepEqual(await dropped.next(), { value: undefined, done: true });
  assert.equal(grpc.connections, 1);
  assert.equal(hub.streamsOpened, 2); // the first closed when its last watch stopped
  assert.equal(grpc.streams, 2);
});

test("hub: a response etcd splits in fragments is delivered whole, in order", async () => {
  const { hub, grpc } = hubOn();
  // Three 1 MiB values in three revisions: a catching-up watch gets them in one response,
  // over etcd's 1.5 MiB request limit, so etcd fragments it.
  const big = (i: number): Uint8Array => new Uint8Array(1024 * 1024).fill(65 + i);
  const revisions: bigint[] = [];
  for (let i = 0; i < 3; i++) {
    const put = await grpc.call<M.PutResponseMsg>(M.Method.Put, M.PutRequest, M.PutResponse, {
      key: new TextEncoder().encode(`${p}frag/${i}`),
      value: big(i),
    });
    revisions.push(put.header!.revision);
  }
  const watch = hub.watch({ key: `${p}frag/`, prefix: true }, {
    startRevision: revisions[0],
    fragment: true,
  });
  const events = await take(watch, 3);
  assert.deepEqual(events.map((e) => e.kv.modRevision), revisions);
  assert.deepEqual(events.map((e) => e.kv.value.length), [1 << 20, 1 << 20, 1 << 20]);
  assert.deepEqual(events.map((e) => e.kv.value[0]), [65, 66, 67]);
  const parts = responses(grpc).filter((r) => r.events.length > 0);
  assert.ok(parts.length >= 2, `fragments: ${parts.length}`);
  assert.ok(parts.slice(0, -1).every((r) => r.fragment) && !parts.at(-1)!.fragment);
  await etcd.delete(`${p}frag/`, { prefix: true });
});

// Compaction is global and the progress interval a server flag: those tests use this server.
let privateServer: Promise<EtcdServer> | undefined;
function ownServer(): Promise<EtcdServer> {
  if (!privateServer) {
    privateServer = startEtcd({
      enableV2: false,
      args: ["--experimental-watch-progress-notify-interval=100ms"],
    });
    cleanup.push(async () => await (await privateServer!).stop());
  }
  return privateServer;
}

test("hub: a compacted start revision ends that watch with EtcdCompactedError only", async () => {
  const server = await ownServer();
  const own = new EtcdClient({ endpoints: [`${server.host}:${server.port}`] });
  cleanup.push(() => own.close());
  const first = await own.put("k", "1");
  await own.put("k", "2");
  const third = await own.put("k", "3");
  await own.compact(third.revision, { physical: true });
  const { hub } = hubOn(server);
  const live = hub.watch({ key: "k" });
  await live.created;
  const old = hub.watch({ key: "k" }, { startRevision: first.revision });
  const error = await take(old, 1).catch((e) => e);
  assert.ok(error instanceof EtcdCompactedError, String(error));
  assert.equal(error.compactRevision, third.revision);
  const put = await own.put("k", "4");
  const [event] = await take(live, 1);
  assert.equal(event.kv.modRevision, put.revision);
  assert.equal(hub.streamsOpened, 1);
});

test("hub: the connection destroyed mid-traffic; every watch resumes with no gap, no duplicate", async () => {
  const { hub, grpc } = hubOn();
  const restarts: bigint[] = [];
  const watches = Array.from({ length: 5 }, () =>
    hub.watch({ key: `${p}loss/`, prefix: true }, {
      onRestart: ({ revision }) => restarts.push(revision!),
    }));
  await Promise.all(watches.map((w) => w.created));
  const total = 200;
  const seen = watches.map(() => [] as bigint[]);
  const readers = watches.map(async (w, i) => {
    for await (const event of w) {
      seen[i].push(event.kv.modRevision);
      if (seen[i].length === total) break;
    }
  });
  const written: bigint[] = [];
  for (let n = 0; n < total; n++) {
    written.push((await etcd.put(`${p}loss/${n % 7}`, String(n))).revision);
    if (n === 60) {
      await until(() => seen[0].length > 20);
      await grpc.destroy();
    }
  }
  await Promise.all(readers);
  for (const s of seen) assert.deepEqual(s, written);
  assert.equal(hub.streamsOpened, 2);
  assert.equal(grpc.connections, 2);
  assert.equal(restarts.length, 5);
  assert.ok(watches.every((w) => w.reconnects === 1));
});

test("hub: a slow consumer's watch is suspended at its high-water mark, then resumes exactly", async () => {
  const { hub, grpc } = hubOn();
  const slow = hub.watch({ key: `${p}slow/`, prefix: true }, { highWaterMark: 8 });
  const fast = hub.watch({ key: `${p}slow/`, prefix: true });
  await Promise.all([slow.created, fast.created]);
  const slowId = responses(grpc).filter((r) => r.created)[0].watchId;
  const written: bigint[] = [];
  for (let n = 0; n < 100; n++) written.push((await etcd.put(`${p}slow/k`, String(n))).revision);
  // The fast watch is not held up by the slow one's full queue.
  assert.deepEqual((await take(fast, 100)).map((e) => e.kv.modRevision), written);
  await until(() => responses(grpc).some((r) => r.canceled && r.watchId === slowId));
  assert.ok(slow.buffered <= 8, `buffered: ${slow.buffered}`);
  assert.deepEqual((await take(slow, 100)).map((e) => e.kv.modRevision), written);
  assert.equal(hub.streamsOpened, 1);
});

test("hub: prevKv, filters and progress notifications per watch on one stream", async () => {
  const server = await ownServer();
  const own = new EtcdClient({ endpoints: [`${server.host}:${server.port}`] });
  cleanup.push(() => own.close());
  const { hub } = hubOn(server);
  const progress: bigint[] = [];
  const withPrev = hub.watch({ key: "f/", prefix: true }, { prevKv: true });
  const noPut = hub.watch({ key: "f/", prefix: true }, { filters: ["noPut"] });
  const quiet = hub.watch({ key: "quiet/", prefix: true }, {
    progressNotify: true,
    onProgress: (revision) => progress.push(revision),
  });
  await Promise.all([withPrev.created, noPut.created, quiet.created]);
  await own.put("f/a", "1");
  const second = await own.put("f/a", "2");
  const gone = await own.delete("f/a");
  const [put1, put2, del] = await take(withPrev, 3);
  assert.deepEqual([put1.type, put2.type, del.type], ["put", "put", "delete"]);
  assert.equal(put1.prevKv, undefined);
  assert.equal(text(put2.prevKv!.value), "1");
  assert.equal(text(del.prevKv!.value), "2");
  const [onlyDelete] = await take(noPut, 1);
  assert.equal(onlyDelete.type, "delete");
  assert.equal(onlyDelete.kv.modRevision, gone.revision);
  await until(() => progress.some((r) => r >= gone.revision));
  assert.ok(quiet.nextRevision! > second.revision, `next: ${quiet.nextRevision}`);
  assert.equal(quiet.buffered, 0);
  assert.equal(hub.streamsOpened, 1);
});

test("hub: progress requests answer with the store revision on the shared stream", async () => {
  const { hub } = hubOn();
  const watch = hub.watch({ key: `${p}progress` });
  await watch.created;
  const put = await etcd.put(`${p}other`, "x");
  const revision = await hub.requestProgress();
  assert.ok(revision >= put.revision, `${revision} < ${put.revision}`);
  watch.close();
  await assert.rejects(hub.requestProgress(), /No watch stream is open/);
});

test("hub: 1,000 concurrent watchers on one connection and one stream", async () => {
  const { hub, grpc } = hubOn();
  const before = await heapUsedAfterGc();
  const watches = Array.from(
    { length: 1000 },
    (_, i) => hub.watch({ key: `${p}thousand/`, prefix: true }, { prevKv: i % 2 === 0 }),
  );
  await Promise.all(watches.map((w) => w.created));
  const put = await etcd.put(`${p}thousand/k`, "v");
  const firsts = await Promise.all(watches.map((w) => w.next()));
  assert.ok(firsts.every((r) => !r.done && r.value.kv.modRevision === put.revision));
  const during = await heapUsedAfterGc();
  console.log(
    `# 1,000 watchers: ${grpc.connections} connection, ${hub.streamsOpened} stream, heap ` +
      `${(before / 1048576).toFixed(1)} MiB before, ${(during / 1048576).toFixed(1)} MiB with ` +
      `them (+${((during - before) / 1024).toFixed(0)} KiB, ` +
      `${((during - before) / 1000 / 1024).toFixed(1)} KiB per watcher)`,
  );
  assert.equal(grpc.connections, 1);
  assert.equal(hub.streamsOpened, 1);
  assert.equal(grpc.streams, 1);
  assert.ok(during - before < 64 * 1024 * 1024, `heap grew by ${during - before} bytes`);
  for (const w of watches) w.close();
  assert.equal(hub.size, 0);
});
