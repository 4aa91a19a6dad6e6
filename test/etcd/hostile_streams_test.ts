// Watches, leases and locks against the hostile gateway: a lost or malformed watch stream is
// restarted and reported to onRestart; keep-alives and locks under faults leave no unhandled
// rejection; the limit and silence options take effect.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ConnectionClosedError, KvError, RemoteProtocolError } from "../../src/core/errors.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { EtcdLeaseLostError } from "../../src/etcd/errors.ts";
import type { WatchRestart } from "../../src/etcd/watch.ts";
import { collectUnhandledRejections, startHostileServer } from "../_helpers/hostile_server.ts";
import { etcdGateway, seededValue } from "./_hostile.ts";

const server = await startHostileServer(etcdGateway(["k1"]));
after(() => server.close());
const endpoint = `${server.host}:${server.port}`;

/** A watch answer: the head and the first chunk of a chunked body (never ended). */
function watchStart(line: string): Uint8Array {
  const body = `${line}\n`;
  return Buffer.from(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n`,
  );
}

const CREATED = JSON.stringify({ result: { header: { revision: "7" }, created: true } });

for (
  const [name, bytes, then, reason] of [
    ["its connection is cut", watchStart(CREATED), "close", KvError],
    ["a malformed message arrives", watchStart("{not json"), "continue", RemoteProtocolError],
    [
      "an event for a key outside the watched range arrives",
      watchStart(JSON.stringify({
        result: { events: [{ kv: { key: Buffer.from("other").toString("base64") } }] },
      })),
      "continue",
      RemoteProtocolError,
    ],
  ] as const
) {
  test(`watch: when ${name}, it restarts and onRestart says so`, async () => {
    const first = server.accepted;
    server.setFaults((i) =>
      i === first ? { kind: "replace", at: 0, bytes, then } : { kind: "none" }
    );
    const restarts: WatchRestart[] = [];
    const rejections = await collectUnhandledRejections(async () => {
      await using etcd = new EtcdClient({ protocol: "gateway", endpoints: [endpoint] });
      let restarted!: () => void;
      const once = new Promise<void>((resolve) => (restarted = resolve));
      await using watcher = etcd.watch("k1", {
        onRestart: (r) => {
          restarts.push(r);
          restarted();
        },
      });
      await once;
      assert.equal(typeof await watcher.created, "bigint", "created on the next connection");
      assert.equal(watcher.reconnects, 1);
    });
    assert.deepEqual(rejections, []);
    assert.equal(restarts.length, 1);
    assert.equal(restarts[0].attempt, 1);
    assert.ok(restarts[0].reason instanceof reason, String(restarts[0].reason));
  });
}

test("watch: an exception thrown by onRestart ends the watch with it", async () => {
  const first = server.accepted;
  server.setFaults((i) =>
    i === first
      ? { kind: "replace", at: 0, bytes: watchStart(CREATED), then: "close" }
      : { kind: "none" }
  );
  await using etcd = new EtcdClient({ protocol: "gateway", endpoints: [endpoint] });
  const boom = new Error("stop here");
  await using watcher = etcd.watch("k1", {
    onRestart: () => {
      throw boom;
    },
  });
  await assert.rejects(watcher.next(), (error) => error === boom);
});

test("lease: a keep-alive loop whose server goes silent loses the lease in time", async () => {
  const rejections = await collectUnhandledRejections(async () => {
    const gateway = etcdGateway();
    const silent = await startHostileServer(
      gateway,
      (i) => i === 0 ? { kind: "silent", after: 1 } : { kind: "silent" },
    );
    try {
      await using etcd = new EtcdClient({
        protocol: "gateway",
        endpoints: [`${silent.host}:${silent.port}`],
        maxConnections: 1,
      });
      const lease = await etcd.grant(1);
      const started = Date.now();
      const lost = await lease.lost;
      assert.ok(lost instanceof EtcdLeaseLostError);
      assert.ok(Date.now() - started < 3000, "lost when its TTL ran out");
      assert.equal(lease.signal.aborted, true);
    } finally {
      await silent.close();
    }
  });
  assert.deepEqual(rejections, []);
});

test("lock: waiting on a silent connection, then aborted: a typed error, nothing escapes", async () => {
  const rejections = await collectUnhandledRejections(async () => {
    await using etcd = new EtcdClient({
      protocol: "gateway",
      endpoints: [endpoint],
      requestTimeout: 1000,
    });
    const first = server.accepted;
    // The grant goes on the first connection; the lock's own connection goes silent.
    server.setFaults((i) => (i === first + 1 ? { kind: "silent" } : { kind: "none" }));
    try {
      await assert.rejects(
        etcd.lock("l", { ttl: 5, signal: AbortSignal.timeout(300) }),
        (error: unknown) => error instanceof KvError,
      );
    } finally {
      server.setFaults(() => ({ kind: "none" }));
    }
  });
  assert.deepEqual(rejections, []);
});

test("limits: maxResponseBytes refuses a larger answer; bad limits are a RangeError", async () => {
  await using etcd = new EtcdClient({
    protocol: "gateway",
    endpoints: [endpoint],
    maxResponseBytes: 40,
  });
  await assert.rejects(etcd.put("w", "v"), (error: unknown) => {
    assert.ok(error instanceof ConnectionClosedError && error.sent, String(error));
    assert.ok(error.cause instanceof RemoteProtocolError);
    assert.match(error.cause.message, /exceeds the limit of 40 bytes/);
    return true;
  });
  assert.throws(() => new EtcdClient({ protocol: "gateway", maxResponseBytes: 0 }), RangeError);
  assert.throws(
    () => new EtcdClient({ protocol: "gateway", silenceTimeout: -1 }),
    /silenceTimeout/,
  );
});

test("silenceTimeout: a silent connection is dropped early and the read runs on a new one", async () => {
  const first = server.accepted;
  server.setFaults((i) => (i === first ? { kind: "silent" } : { kind: "none" }));
  await using etcd = new EtcdClient({
    protocol: "gateway",
    endpoints: [endpoint],
    requestTimeout: 10_000,
    silenceTimeout: 150,
  });
  const started = Date.now();
  assert.equal(await etcd.getString("k1"), seededValue("k1"));
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms, not the deadline`);
});

test("observe: its watch cut mid-stream restarts, onRestart says so, nothing escapes", async () => {
  const restarts: WatchRestart[] = [];
  const rejections = await collectUnhandledRejections(async () => {
    await using etcd = new EtcdClient({ protocol: "gateway", endpoints: [endpoint] });
    const first = server.accepted;
    // Connection `first` answers the candidates' range; `first + 1` carries the watch.
    server.setFaults((i) =>
      i === first + 1
        ? { kind: "replace", at: 0, bytes: watchStart(CREATED), then: "close" }
        : { kind: "none" }
    );
    let restarted!: () => void;
    const once = new Promise<void>((resolve) => (restarted = resolve));
    await using observer = etcd.election("e").observe({
      onRestart: (r) => {
        restarts.push(r);
        restarted();
      },
    });
    await once;
    assert.ok(observer.reconnects >= 1);
  });
  assert.deepEqual(rejections, []);
  assert.equal(restarts.length, 1);
  assert.ok(restarts[0].reason instanceof KvError, String(restarts[0].reason));
  assert.equal(restarts[0].attempt, 1);
});
