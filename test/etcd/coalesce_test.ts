// Read coalescing of EtcdClient against the real etcd, on both protocols: reads made in the same
// turn go out as read-only txns (counted at the transport) and answer what plain ranges answer.

import { after } from "node:test";
import assert from "node:assert/strict";
import { ConnectionClosedError } from "../../src/core/errors.ts";
import { AbortedError } from "../../src/core/errors.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { EtcdError } from "../../src/etcd/errors.ts";
import { text } from "../../src/etcd/kv.ts";
import type { RangeResult } from "../../src/etcd/kv.ts";
import { requestLog } from "../_helpers/request_log.ts";
import { etcdAddress } from "../_helpers/servers.ts";
import { type EtcdProtocol, perProtocol } from "../_helpers/etcd_protocols.ts";

const addr = await etcdAddress();
const endpoint = `${addr.host}:${addr.port}`;
const base = `kvwire-test/${crypto.randomUUID()}/`;
// Each test runs once per protocol, with that protocol's client (its requests in `log`).
const log = requestLog();
let etcd: EtcdClient;
let p: string;
let protocol: EtcdProtocol;
const runs = perProtocol(endpoint, base, (run) => {
  ({ etcd, p, protocol } = run);
}, { connect: log.connect });
const each = runs.each;
const plain = new EtcdClient({ endpoints: [endpoint], coalesceReads: false });
after(async () => {
  await plain.delete(base, { prefix: true });
  await runs.close();
  await plain.close();
});

const r = `${base}co/`;
const revs: bigint[] = [];
for (const k of ["a", "b", "c", "d"]) revs.push((await plain.put(r + k, k.toUpperCase())).revision);

/** What a caller sees of a range, the revision aside (other test files write concurrently). */
function seen(result: RangeResult): object {
  return { kvs: result.kvs, count: result.count, more: result.more };
}

const READS: [string, (c: EtcdClient) => Promise<RangeResult>][] = [
  ["one key", (c) => c.range({ key: r + "a" })],
  ["a missing key", (c) => c.range({ key: r + "missing" })],
  ["a prefix", (c) => c.range({ key: r, prefix: true })],
  [
    "a prefix, limit 2, descending",
    (c) => c.range({ key: r, prefix: true }, { limit: 2, sortOrder: "descend" }),
  ],
  ["[b, d)", (c) => c.range({ key: r + "b", rangeEnd: r + "d" })],
  ["count only", (c) => c.range({ key: r, prefix: true }, { countOnly: true })],
  ["keys only", (c) => c.range({ key: r, prefix: true }, { keysOnly: true })],
  ["at an old revision", (c) => c.range({ key: r, prefix: true }, { revision: revs[1] })],
  ["min mod revision", (c) => c.range({ key: r, prefix: true }, { minModRevision: revs[2] })],
  ["namespace, from key", (c) => c.namespace(r).range({ key: "c", fromKey: true })],
  ["namespace, one key", (c) => c.namespace(r).range({ key: "b" })],
  ["serializable key", (c) => c.range({ key: r + "d" }, { serializable: true })],
  [
    "serializable prefix",
    (c) => c.range({ key: r, prefix: true }, { serializable: true, limit: 1 }),
  ],
];

each(
  "coalesce: concurrent reads of keys, prefixes and limits answer what plain ranges answer",
  async () => {
    const expected: RangeResult[] = [];
    for (const [, read] of READS) expected.push(await read(plain));
    log.take();
    const results = await Promise.all(READS.map(([, read]) => read(etcd)));
    assert.deepEqual(
      log.take(),
      ["/v3/kv/txn", "/v3/kv/txn"],
      "one txn for the linearizable reads, one for the serializable ones",
    );
    for (let i = 0; i < READS.length; i++) {
      assert.deepEqual(seen(results[i]), seen(expected[i]), READS[i][0]);
      assert.ok(results[i].revision >= expected[i].revision, READS[i][0]);
    }
    const linearizable = new Set(results.slice(0, -2).map((x) => x.revision));
    assert.equal(linearizable.size, 1, "the batch read the store at one revision");
    assert.deepEqual(results[2].kvs.map((kv) => text(kv.value)), ["A", "B", "C", "D"]);
    assert.deepEqual(results[3].kvs.map((kv) => text(kv.value)), ["D", "C"]);
    assert.equal(results[3].more, true);
    assert.equal(results[3].count, 4n);
    assert.deepEqual(results[9].kvs.map((kv) => text(kv.key)), ["c", "d"]);
  },
);

each("coalesce: reads in separate turns are sent alone, as plain ranges", async () => {
  log.take();
  assert.equal(await etcd.getString(r + "a"), "A");
  assert.equal(await etcd.getString(r + "b"), "B");
  assert.deepEqual(log.take(), ["/v3/kv/range", "/v3/kv/range"]);
});

each("coalesce: a read failing in a batch fails alone; the others get their values", async () => {
  log.take();
  const settled = await Promise.allSettled([
    etcd.getString(r + "a"),
    etcd.get(r + "a", { revision: 1n << 40n }),
    etcd.getPrefix(r),
  ]);
  assert.deepEqual(settled[0], { status: "fulfilled", value: "A" });
  assert.equal(settled[1].status, "rejected");
  const error = (settled[1] as PromiseRejectedResult).reason;
  assert.ok(error instanceof EtcdError, String(error));
  assert.equal(error.grpcCode, 11);
  assert.match(error.message, /future revision/);
  assert.equal(settled[2].status, "fulfilled");
  const kvs = (settled[2] as PromiseFulfilledResult<{ value: Uint8Array }[]>).value;
  assert.deepEqual(kvs.map((kv) => text(kv.value)), ["A", "B", "C", "D"]);
  assert.deepEqual(
    log.take(),
    ["/v3/kv/range", "/v3/kv/range", "/v3/kv/range", "/v3/kv/txn"],
    "the failed txn was followed by one range per read",
  );
});

each("coalesce: 300 concurrent gets are split into txns of at most 128 ranges", async () => {
  const many = `${p}many/`;
  for (let i = 0; i < 300; i += 100) {
    const success = [];
    for (let j = i; j < i + 100; j++) success.push({ put: { key: `${many}${j}`, value: `v${j}` } });
    await etcd.txn({ success });
  }
  log.take();
  const order = Array.from({ length: 300 }, (_, i) => (i * 7) % 300);
  const values = await Promise.all(order.map((i) => etcd.getString(`${many}${i}`)));
  assert.deepEqual(values, order.map((i) => `v${i}`));
  assert.deepEqual(log.take(), ["/v3/kv/txn", "/v3/kv/txn", "/v3/kv/txn"]);
});

each(
  "coalesce: a read with its own signal or timeout is sent alone; an abort rejects only it",
  async () => {
    log.take();
    const aborted = new AbortController();
    aborted.abort();
    const settled = await Promise.allSettled([
      etcd.getString(r + "a"),
      etcd.getString(r + "b", { timeout: 5000 }),
      etcd.getString(r + "c", { signal: aborted.signal }),
      etcd.getString(r + "d"),
    ]);
    assert.deepEqual(settled[0], { status: "fulfilled", value: "A" });
    assert.deepEqual(settled[1], { status: "fulfilled", value: "B" });
    assert.equal(settled[2].status, "rejected");
    assert.ok((settled[2] as PromiseRejectedResult).reason instanceof AbortedError);
    assert.deepEqual(settled[3], { status: "fulfilled", value: "D" });
    assert.deepEqual(log.take(), ["/v3/kv/range", "/v3/kv/txn"]);
  },
);

each("coalesce: with coalesceReads false each read is its own range request", async () => {
  const own = requestLog();
  const c = new EtcdClient({
    protocol,
    endpoints: [endpoint],
    connect: own.connect,
    coalesceReads: false,
  });
  try {
    const keys = ["a", "b", "c", "d", "missing"];
    const values = await Promise.all(keys.map((k) => c.getString(r + k)));
    assert.deepEqual(values, ["A", "B", "C", "D", undefined]);
    assert.deepEqual(own.take(), Array(5).fill("/v3/kv/range"));
  } finally {
    await c.close();
  }
});

each(
  "coalesce: reads queued when the client closes each fail with ConnectionClosedError",
  async () => {
    const c = new EtcdClient({ protocol, endpoints: [endpoint] });
    await c.put(r + "closing", "x");
    const pending = [c.get(r + "a"), c.get(r + "b"), c.get(r + "c")];
    await c.close();
    const settled = await Promise.allSettled(pending);
    const reasons = settled.map((s) => s.status === "rejected" ? s.reason : s);
    for (const reason of reasons) {
      assert.ok(
        reason instanceof ConnectionClosedError,
        String(reason),
      );
    }
    assert.equal(new Set(reasons).size, 3, "each caller gets an error of its own");
  },
);
