// Watches against real etcd: prefix, prevKv, filters, start revision, resume after the
// connection is cut (no gap, no duplicate), compaction reported with its revision, close,
// progress notifications (on a private server with a 100 ms notify interval).

import { after } from "node:test";
import assert from "node:assert/strict";
import { startEtcd } from "../../scripts/servers.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { EtcdCompactedError, EtcdError } from "../../src/etcd/errors.ts";
import { text } from "../../src/etcd/kv.ts";
import type { WatchEvent, WatchStream } from "../../src/etcd/watch.ts";
import { type ChaosProxy, startChaosProxy } from "../_helpers/chaos_proxy.ts";
import { etcdAddress } from "../_helpers/servers.ts";
import { type EtcdProtocol, perProtocol } from "../_helpers/etcd_protocols.ts";
import type { EtcdServer } from "../../scripts/servers.ts";

const addr = await etcdAddress();
const endpoint = `${addr.host}:${addr.port}`;
// Each test runs once per protocol, with that protocol's client and keys of its own.
let etcd: EtcdClient;
let p: string;
let protocol: EtcdProtocol;
const runs = perProtocol(endpoint, `kvwire-watch/${crypto.randomUUID()}/`, (run) => {
  ({ etcd, p, protocol } = run);
});
const each = runs.each;
const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
  await runs.close();
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

/** `promise`, or a failure after `ms`: waits for an event without a fixed sleep. */
async function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what()} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function take(watcher: WatchStream, n: number): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  if (n === 0) return out;
  for await (const event of watcher) {
    out.push(event);
    if (out.length === n) break;
  }
  return out;
}

each("watch: prefix with prevKv sees puts and deletes in order", async () => {
  await using watcher = etcd.watch(`${p}a/`, { prefix: true, prevKv: true });
  const start = await watcher.created;
  assert.ok(start > 0n);
  const r1 = await etcd.put(`${p}a/1`, "x");
  const r2 = await etcd.put(`${p}a/1`, "y");
  await etcd.put(`${p}b`, "outside");
  const r3 = await etcd.delete(`${p}a/1`);
  const events = await take(watcher, 3);
  assert.deepEqual(events.map((e) => [e.type, e.kv.modRevision]), [
    ["put", r1.revision],
    ["put", r2.revision],
    ["delete", r3.revision],
  ]);
  assert.equal(text(events[1].prevKv!.value), "x");
  assert.equal(text(events[2].prevKv!.value), "y");
  assert.equal(watcher.nextRevision, r3.revision + 1n);
});

each("watch: startRevision replays history; filters drop event kinds", async () => {
  const k = `${p}hist`;
  const a = await etcd.put(k, "1");
  await etcd.delete(k);
  const c = await etcd.put(k, "2");
  await using noDelete = etcd.watch(k, { startRevision: a.revision, filters: ["noDelete"] });
  const events = await take(noDelete, 2);
  assert.deepEqual(events.map((e) => [e.type, e.kv.modRevision, text(e.kv.value)]), [
    ["put", a.revision, "1"],
    ["put", c.revision, "2"],
  ]);
  await using noPut = etcd.watch(k, { startRevision: a.revision, filters: ["noPut"] });
  const [only] = await take(noPut, 1);
  assert.equal(only.type, "delete");
  assert.equal(only.kv.modRevision, a.revision + 1n);
});

each("watch: close() and break end the iteration", async () => {
  const watcher = etcd.watch(`${p}closing`);
  await watcher.created;
  const done = take(watcher, 1);
  watcher.close();
  assert.deepEqual(await done, []);
  const other = etcd.watch(`${p}closing`);
  await other.created;
  await etcd.put(`${p}closing`, "v");
  assert.equal((await take(other, 1)).length, 1); // take() breaks: cancels the stream
  assert.deepEqual(await other.next(), { value: undefined, done: true });
});

each("watch: resumes after the connection is cut, with no gap and no duplicate", async () => {
  const proxy: ChaosProxy = await startChaosProxy(addr);
  cleanup.push(() => proxy.stop());
  const viaProxy = new EtcdClient({ endpoints: [`${proxy.host}:${proxy.port}`], protocol });
  cleanup.push(() => viaProxy.close());
  await using watcher = viaProxy.watch(`${p}resume/`, { prefix: true });
  await watcher.created;
  const n = 150;
  const received = take(watcher, n);
  const written: bigint[] = [];
  for (let i = 0; i < n; i++) {
    written.push((await etcd.put(`${p}resume/${i % 7}`, String(i))).revision);
    if (i === 40 || i === 100) proxy.resetAll();
  }
  const events = await received;
  assert.deepEqual(events.map((e) => e.kv.modRevision), written);
  assert.deepEqual(events.map((e) => text(e.kv.value)), written.map((_, i) => String(i)));
  assert.ok(watcher.reconnects >= 1, `reconnects: ${watcher.reconnects}`);
});

each("watch: a compacted start revision is an EtcdCompactedError with the revision", async () => {
  // Compaction is global: this runs on a private server so other tests' watches are safe.
  const server = await ownServer();
  const own = new EtcdClient({ endpoints: [`${server.host}:${server.port}`], protocol });
  cleanup.push(() => own.close());
  const first = await own.put("k", "1");
  await own.put("k", "2");
  const third = await own.put("k", "3");
  await own.compact(third.revision, { physical: true });
  const old = await own.get("k", { revision: first.revision }).catch((e) => e);
  assert.ok(old instanceof EtcdError && /compacted/.test(old.message));
  const watcher = own.watch("k", { startRevision: first.revision });
  const error = await take(watcher, 1).catch((e) => e);
  assert.ok(error instanceof EtcdCompactedError, String(error));
  assert.equal(error.compactRevision, third.revision);
  const fine = own.watch("k", { startRevision: third.revision });
  const [event] = await take(fine, 1);
  assert.equal(text(event.kv.value), "3");
});

each("watch: progress notifications advance nextRevision on a quiet key", async () => {
  const server = await ownServer();
  const own = new EtcdClient({ endpoints: [`${server.host}:${server.port}`], protocol });
  cleanup.push(() => own.close());
  const progress: bigint[] = [];
  let target = -1n;
  let reached!: () => void;
  const caughtUp = new Promise<void>((resolve) => (reached = resolve));
  await using watcher = own.watch(`${p}quiet`, {
    progressNotify: true,
    onProgress: (revision) => {
      progress.push(revision);
      if (target > 0n && revision >= target) reached();
    },
  });
  const created = await watcher.created;
  assert.equal(watcher.nextRevision, created + 1n);
  const elsewhere = await own.put(`${p}elsewhere`, "x"); // the store moves, the key does not
  target = elsewhere.revision;
  if (progress.some((r) => r >= target)) reached();
  await within(caughtUp, 10_000, () => `no progress notification (saw ${progress})`);
  assert.ok(elsewhere.revision > created);
  assert.equal(watcher.nextRevision, elsewhere.revision + 1n, "no event, yet the watch moved on");
  assert.ok(progress.every((r, i) => i === 0 || r >= progress[i - 1]), `${progress}`);
  // The events after the notification are still delivered, once.
  const put = await own.put(`${p}quiet`, "now");
  const [event] = await take(watcher, 1);
  assert.equal(event.kv.modRevision, put.revision);
});

each("watch: an exception in onProgress ends the watch with it", async () => {
  const server = await ownServer();
  const own = new EtcdClient({ endpoints: [`${server.host}:${server.port}`], protocol });
  cleanup.push(() => own.close());
  const watcher = own.watch(`${p}quiet2`, {
    progressNotify: true,
    onProgress: () => {
      throw new RangeError("consumer bug");
    },
  });
  const error = await within(take(watcher, 1).catch((e) => e), 10_000, () => "no end");
  assert.ok(error instanceof RangeError, String(error));
  assert.equal(error.message, "consumer bug");
});
