// PegasusClient against the simulator (test/fixtures/pegasus, Apache thrift codec): the seed's
// sample, every API of pypegasus and beyond, validation, and routing by the spec's hash.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import {
  CheckType,
  ConnectionClosedError,
  FilterType,
  PegasusClient,
  PegasusError,
  TimeoutError,
} from "../../src/pegasus/mod.ts";
import { startPegasusSimulator } from "../fixtures/pegasus/simulator.ts";

const sim = await startPegasusSimulator();
const client = await PegasusClient.connect({
  metaServers: sim.metaServers,
  table: "temp",
  decode: true,
});
after(async () => {
  await client.close();
  await sim.close();
});
const te = new TextEncoder();

test("pegasus seed sample: set then get (pypegasus README)", async () => {
  await client.set("hkey1", "skey1", "value", { ttl: 0 });
  assert.equal(await client.get("hkey1", "skey1"), "value");
  assert.equal(await client.get("hkey1", "missing"), undefined);
});

test("pegasus routing: each key lands on the partition crc64 says", async () => {
  assert.equal(client.partitionCount, 8);
  const keys = Array.from({ length: 64 }, (_, i) => `route-${i}`);
  await Promise.all(keys.map((k) => client.set(k, "s", k)));
  for (const k of keys) {
    const records = sim.records(sim.partitionOf(k));
    assert.ok(records.some(([h, , v]) => h === k && v === k), `${k} in its partition`);
  }
  assert.equal(sim.misrouted, 0);
  // An empty hash key routes by the sort key.
  await client.set("", "only-sort-key", "x");
  assert.ok(sim.records(sim.partitionOf("only-sort-key")).some(([, s]) => s === "only-sort-key"));
  assert.equal(await client.get("", "only-sort-key"), "x");
});

test("pegasus exist, ttl and remove; TTL expiry on the simulated clock", async () => {
  await client.set("t", "forever", "1");
  await client.set("t", "short", "2", { ttl: 30 });
  assert.equal(await client.exist("t", "forever"), true);
  assert.equal(await client.ttl("t", "forever"), -1);
  const left = await client.ttl("t", "short");
  assert.ok(left !== undefined && left > 25 && left <= 30, `ttl ${left}`);
  assert.equal(await client.ttl("t", "none"), undefined);
  sim.advanceTime(31);
  assert.equal(await client.get("t", "short"), undefined);
  assert.equal(await client.exist("t", "short"), false);
  await client.remove("t", "forever");
  assert.equal(await client.exist("t", "forever"), false);
  await client.remove("t", "never-there");
});

test("pegasus binary keys and values round-trip unchanged", async () => {
  const raw = new PegasusClient({ metaServers: sim.metaServers, table: "temp" });
  try {
    const value = new Uint8Array([0, 255, 1, 128]);
    await raw.set(new Uint8Array([0xff, 0]), new Uint8Array([]), value);
    assert.deepEqual(await raw.get(new Uint8Array([0xff, 0]), new Uint8Array([])), value);
  } finally {
    await raw.close();
  }
});

test("pegasus multiSet, multiGet (keys, limits, noValue) and multiDel", async () => {
  await client.multiSet("m", { a: "1", b: "2", c: "3", d: "4" });
  await client.multiSet("m", [["e", "5"]], { ttl: 100 });
  assert.deepEqual((await client.multiGet("m", ["b", "zz", "a"])).entries, [["b", "2"], [
    "a",
    "1",
  ]]);
  const all = await client.multiGet("m");
  assert.deepEqual(all.entries.map(([k]) => k), ["a", "b", "c", "d", "e"]);
  assert.equal(all.complete, true);
  const limited = await client.multiGet("m", [], { maxKvCount: 2 });
  assert.deepEqual(limited.entries, [["a", "1"], ["b", "2"]]);
  assert.equal(limited.complete, false);
  const keysOnly = await client.multiGet("m", ["a"], { noValue: true });
  assert.deepEqual(keysOnly.entries, [["a", ""]]);
  assert.equal(await client.sortKeyCount("m"), 5n);
  assert.deepEqual((await client.getSortKeys("m")).sortKeys, ["a", "b", "c", "d", "e"]);
  // The server counts the sort keys it was asked to remove, not those that existed.
  assert.equal(await client.multiDel("m", ["a", "b", "nope"]), 3n);
  assert.equal(await client.sortKeyCount("m"), 3n);
  assert.equal(await client.sortKeyCount("empty-hash"), 0n);
});

test("pegasus multiGetOpt: ranges, inclusive bounds, filters, reverse", async () => {
  await client.multiSet("r", { k1: "1", k2: "2", k3: "3", x4: "4", k5x: "5" });
  const keys = async (start: string, stop: string, o = {}): Promise<string[]> =>
    (await client.multiGetOpt("r", start, stop, o)).entries.map(([k]) => k);
  assert.deepEqual(await keys("k1", "k3"), ["k1", "k2"]);
  assert.deepEqual(await keys("k1", "k3", { startInclusive: false, stopInclusive: true }), [
    "k2",
    "k3",
  ]);
  assert.deepEqual(await keys("", ""), ["k1", "k2", "k3", "k5x", "x4"]);
  // Reverse walks from the stop key (so a limit keeps the last ones); the server still returns
  // them in sort-key order (pegasus_server_impl.cpp on_multi_get reverses its reverse_kvs).
  assert.deepEqual(await keys("", "", { reverse: true }), ["k1", "k2", "k3", "k5x", "x4"]);
  assert.deepEqual(await keys("", "", { reverse: true, maxKvCount: 2 }), ["k5x", "x4"]);
  const f = (type: FilterType, pattern: string) =>
    keys("", "", { sortKeyFilterType: type, sortKeyFilterPattern: pattern });
  assert.deepEqual(await f(FilterType.MatchPrefix, "x"), ["x4"]);
  assert.deepEqual(await f(FilterType.MatchPostfix, "x"), ["k5x"]);
  assert.deepEqual(await f(FilterType.MatchAnywhere, "5"), ["k5x"]);
  assert.deepEqual(
    (await client.multiGetOpt("r", "", "", { noValue: true, maxKvCount: 1 })).entries,
    [["k1", ""]],
  );
});

test("pegasus getScanner: batches, bounds, prefix filter, early close", async () => {
  const n = 25;
  await client.multiSet(
    "scan",
    Array.from({ length: n }, (_, i) => [`s${String(i).padStart(2, "0")}`, `v${i}`] as const),
  );
  const seen: string[] = [];
  for await (const e of client.getScanner("scan", "", "", { batchSize: 4 })) {
    assert.equal(e.hashKey, "scan");
    seen.push(`${e.sortKey}=${e.value}`);
  }
  assert.equal(seen.length, n);
  assert.equal(seen[0], "s00=v0");
  assert.equal(seen[24], "s24=v24");
  const ranged: string[] = [];
  const sc = client.getScanner("scan", "s05", "s08", {
    batchSize: 2,
    startInclusive: false,
    stopInclusive: true,
  });
  for (let e = await sc.next(); e; e = await sc.next()) ranged.push(e.sortKey);
  assert.deepEqual(ranged, ["s06", "s07", "s08"]);
  const prefixed: string[] = [];
  for await (
    const e of client.getScanner("scan", "", "", {
      sortKeyFilterType: FilterType.MatchPrefix,
      sortKeyFilterPattern: "s1",
    })
  ) {
    prefixed.push(e.sortKey);
  }
  assert.equal(prefixed.length, 10);
  assert.deepEqual((await arrayOf(client.getScanner("scan", "s09", "s01"))).length, 0);
  // Leaving early releases the server context with a one-way clear_scanner.
  const before = sim.calls.get("RPC_RRDB_RRDB_CLEAR_SCANNER") ?? 0;
  for await (const _ of client.getScanner("scan", "", "", { batchSize: 2 })) break;
  // The clear is one-way: a read of the same hash key goes down the same session after it, so
  // once it is answered the server has seen the clear.
  await client.get("scan", "s00");
  assert.equal(sim.calls.get("RPC_RRDB_RRDB_CLEAR_SCANNER"), before + 1);
});

async function arrayOf<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test("pegasus getUnorderedScanners: disjoint scanners cover the whole table once", async () => {
  const local = await startPegasusSimulator({ tables: [{ name: "full", partitionCount: 8 }] });
  const c = await PegasusClient.connect({
    metaServers: local.metaServers,
    table: "full",
    decode: true,
  });
  try {
    const items = Array.from({ length: 120 }, (_, i) => [`h${i}`, `s${i % 3}`, `v${i}`] as const);
    await c.batchSet(items);
    const scanners = await c.getUnorderedScanners(3, { batchSize: 7 });
    assert.equal(scanners.length, 3);
    const got = (await Promise.all(scanners.map(arrayOf))).flat().map((e) =>
      `${e.hashKey}/${e.sortKey}=${e.value}`
    );
    assert.equal(got.length, 120);
    assert.deepEqual(new Set(got), new Set(items.map(([h, s, v]) => `${h}/${s}=${v}`)));
    assert.equal((await c.getUnorderedScanners(100)).length, 8);
    assert.equal(local.misrouted, 0);
  } finally {
    await c.close();
    await local.close();
  }
});

test("pegasus incr: from missing, from a number, non-integers fail", async () => {
  assert.equal(await client.incr("i", "n", 5), 5n);
  assert.equal(await client.incr("i", "n", -2n), 3n);
  assert.equal(await client.get("i", "n"), "3");
  assert.equal(await client.incr("i", "n", 9007199254740993n), 9007199254740996n);
  await client.set("i", "text", "abc");
  await assert.rejects(
    client.incr("i", "text", 1),
    (e: unknown) => e instanceof PegasusError && e.status === 4,
  );
});

test("pegasus checkAndSet: passes, fails, returns the check value, other sort key", async () => {
  const first = await client.checkAndSet("c", "k", CheckType.ValueNotExist, "", "k", "v1");
  assert.deepEqual(first, { succeeded: true });
  const second = await client.checkAndSet("c", "k", CheckType.ValueNotExist, "", "k", "v2", {
    returnCheckValue: true,
  });
  assert.deepEqual(second, { succeeded: false, checkValueExist: true, checkValue: "v1" });
  assert.equal(await client.get("c", "k"), "v1");
  const other = await client.checkAndSet("c", "k", CheckType.BytesEqual, "v1", "other", "x");
  assert.equal(other.succeeded, true);
  assert.equal(await client.get("c", "other"), "x");
  await client.set("c", "num", "10");
  assert.equal(
    (await client.checkAndSet("c", "num", CheckType.IntGreater, "9", "num", "11")).succeeded,
    true,
  );
  assert.equal(
    (await client.checkAndSet("c", "num", CheckType.IntLess, "5", "num", "0")).succeeded,
    false,
  );
  await assert.rejects(
    client.checkAndSet("c", "k", CheckType.IntLess, "5", "k", "0"),
    PegasusError,
  );
});

test("pegasus checkAndMutate: puts and deletes atomically when the check passes", async () => {
  await client.set("cm", "ver", "1");
  await client.set("cm", "old", "gone soon");
  const ok = await client.checkAndMutate("cm", "ver", CheckType.BytesEqual, "1", [
    { op: "put", sortKey: "ver", value: "2" },
    { op: "put", sortKey: "new", value: "n" },
    { op: "delete", sortKey: "old" },
  ], { returnCheckValue: true });
  assert.deepEqual(ok, { succeeded: true, checkValueExist: true, checkValue: "1" });
  assert.deepEqual((await client.multiGet("cm")).entries, [["new", "n"], ["ver", "2"]]);
  const no = await client.checkAndMutate("cm", "ver", CheckType.BytesEqual, "1", [{
    op: "delete",
    sortKey: "ver",
  }]);
  assert.equal(no.succeeded, false);
  assert.equal(await client.get("cm", "ver"), "2");
});

test("pegasus batchGet/batchSet/batchDel span partitions", async () => {
  const items = Array.from({ length: 30 }, (_, i) => [`b${i}`, "s", `v${i}`] as const);
  await client.batchSet(items);
  assert.deepEqual(await client.batchGet(items.map(([h, s]) => [h, s])), items.map(([, , v]) => v));
  await client.batchDel(items.slice(0, 10).map(([h, s]) => [h, s]));
  const after = await client.batchGet(items.map(([h, s]) => [h, s]));
  assert.equal(after.filter((v) => v === undefined).length, 10);
});

test("pegasus validation: clear errors, nothing sent", async () => {
  const before = [...sim.calls.values()].reduce((a, b) => a + b, 0);
  await assert.rejects(client.get("x".repeat(0xffff), "s"), RangeError);
  await assert.rejects(client.set(42 as unknown as string, "s", "v"), TypeError);
  await assert.rejects(client.set("h", "s", "v", { ttl: -1 }), RangeError);
  await assert.rejects(client.multiGet("", []), TypeError);
  await assert.rejects(client.multiSet("h", {}), RangeError);
  await assert.rejects(client.multiDel("h", []), RangeError);
  await assert.rejects(client.checkAndMutate("h", "s", CheckType.NoCheck, "", []), RangeError);
  await assert.rejects(client.getUnorderedScanners(0), RangeError);
  assert.throws(() => client.getScanner("", "", ""), TypeError);
  assert.throws(() => new PegasusClient({ metaServers: [], table: "t" }), TypeError);
  const afterCount = [...sim.calls.values()].reduce((a, b) => a + b, 0);
  assert.equal(afterCount, before);
  assert.ok(te.encode("x".repeat(0xfffe)).length < 0xffff);
  await client.set("x".repeat(0xfffe), "s", "longest hash key");
  assert.equal(await client.get("x".repeat(0xfffe), "s"), "longest hash key");
});

test("pegasus unknown table fails with ERR_OBJECT_NOT_FOUND", async () => {
  await assert.rejects(
    PegasusClient.connect({ metaServers: sim.metaServers, table: "nope" }),
    (e: unknown) => e instanceof PegasusError && e.serverCode === "ERR_OBJECT_NOT_FOUND",
  );
});

test("pegasus options: a tls option is refused loudly (rDSN sessions are plaintext)", () => {
  assert.throws(
    () =>
      new PegasusClient(
        {
          metaServers: ["127.0.0.1:34601"],
          table: "temp",
          tls: true,
        } as unknown as ConstructorParameters<typeof PegasusClient>[0],
      ),
    /Pegasus has no TLS/,
  );
});

test("pegasus options: maxFrameLength and silenceTimeout reach the sessions", async () => {
  const small = await PegasusClient.connect({
    metaServers: sim.metaServers,
    table: "temp",
    decode: true,
    maxFrameLength: 8192, // meta replies fit; the 20 KB value does not
    silenceTimeout: 2000,
  });
  try {
    await small.set("big", "s", "x".repeat(20_000));
    // Each session that meets the 20 KB frame is replaced; the (idempotent) get is retried on
    // a new one until its deadline, and the error says why.
    const error = await small.get("big", "s", { timeout: 1500 }).catch((e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.ok(error.cause instanceof ConnectionClosedError && error.cause.sent, String(error));
    assert.match(error.message, /frame length \d+ is out of range \(16 to 8192\)/);
    assert.equal(await small.get("missing", "s"), undefined, "the next call works");
  } finally {
    small.destroy();
  }
});
