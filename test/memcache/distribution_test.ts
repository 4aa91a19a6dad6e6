// Tests of the placement hashes and kinds (src/memcache/hashes.ts, distribution.ts): vectors
// taken from the real python-memcached and libmemcached (through pylibmc), and the failover rules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemcacheClient } from "../../src/memcache/client.ts";
import { createPlacement } from "../../src/memcache/distribution.ts";
import { crc32, oneAtATime, pythonMemcacheHash } from "../../src/memcache/hashes.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const THREE = [11311, 11312, 11313].map((port, i) => ({ host: "127.0.0.1", port, weight: 3 - i }));

test("hashes: CRC-32, python-memcached's cmemcache_hash, libmemcached's one-at-a-time", () => {
  assert.equal(crc32(enc("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  // memcache.cmemcache_hash(...) under /usr/bin/python3.
  for (
    const [key, hash] of [["", 1], ["a", 26807], ["hello", 13840], ["user:42", 25711]] as const
  ) {
    assert.equal(pythonMemcacheHash(enc(key)), hash, key);
  }
  // pylibmc.Client(<65,521 servers>).hash(key) = one_at_a_time(key) % 65521 (modula): bytes
  // at or above 0x80 are widened as signed chars.
  const cases: [number[], number][] = [
    [[0x61], 28072],
    [[...enc("hello")], 57235],
    [[...enc("héllo")], 38391],
    [[0xff, 0x80, 0x41], 28174],
  ];
  for (const [bytes, index] of cases) {
    assert.equal(oneAtATime(Uint8Array.from(bytes)) % 65521, index, String(bytes));
  }
});

test("placement: python rehashes a dead server's keys; all dead gives the first choice", () => {
  const python = createPlacement("python", THREE);
  const keys = Array.from({ length: 2000 }, (_, i) => enc(`k${i}`));
  const moved = keys.filter((k) => python.place(k) === 0);
  assert.ok(moved.length > 500, "weight 3 of 6 owns about half the keys");
  // Ten tries each hitting the dead half of the buckets: about 1 key in 1,024 finds no server.
  const stuck = moved.filter((k) => python.place(k, (i) => i === 0) === 0);
  assert.ok(stuck.length <= moved.length / 100, `${stuck.length} of ${moved.length} stuck`);
  // Keys of live servers stay where they are.
  for (const key of keys) {
    if (python.place(key) !== 0) assert.equal(python.place(key, (i) => i === 0), python.place(key));
  }
  for (const key of keys.slice(0, 50)) {
    assert.equal(python.place(key, () => true), python.place(key));
  }
});

test("placement: modula never moves a key; ketama uses the ring of live servers", () => {
  const modula = createPlacement("modula", THREE);
  const keys = Array.from({ length: 2000 }, (_, i) => enc(`k${i}`));
  for (const key of keys) assert.equal(modula.place(key, () => true), modula.place(key));
  // Equal weights: the live ring keeps the live servers' points, so only the dead one's keys move.
  const equal = createPlacement("ketama", THREE.map((s) => ({ ...s, weight: 1 })));
  let moved = 0;
  for (const key of keys) {
    const before = equal.place(key);
    const after = equal.place(key, (i) => i === 1);
    assert.notEqual(after, 1);
    if (before === 1) moved++;
    else assert.equal(after, before);
  }
  assert.ok(moved > 0);
  // Weights 2, 1, 4 without the second: libmemcached's rebuilt ring gives the others new
  // point counts, and some of their keys move between them too.
  for (const kind of ["ketama", "ketama-weighted"] as const) {
    const ring = createPlacement(kind, THREE.map((s, i) => ({ ...s, weight: [2, 1, 4][i] })));
    const shifted = keys.filter((k) =>
      ring.place(k) !== 1 && ring.place(k, (i) => i === 1) !== ring.place(k)
    );
    assert.ok(shifted.length > 0, kind);
    for (const key of keys) assert.notEqual(ring.place(key, (i) => i === 1), 1, kind);
  }
  assert.equal(createPlacement("ketama", THREE.slice(0, 1)).place(enc("k")), 0);
});

test("placement: equal weights use the 100-point unweighted ring for ketama", () => {
  const equal = THREE.map((s) => ({ ...s, weight: 1 }));
  const unweighted = createPlacement("ketama", equal);
  const weighted = createPlacement("ketama", equal.map((s, i) => ({ ...s, weight: i + 1 })));
  const keys = Array.from({ length: 500 }, (_, i) => enc(`k${i}`));
  assert.ok(keys.some((k) => unweighted.place(k) !== weighted.place(k)));
});

test("placement: an unknown distribution is a TypeError; serverFor names the server", () => {
  assert.throws(
    () => new MemcacheClient({ distribution: "crc" as "python" }),
    (e: Error) => e instanceof TypeError && /distribution/.test(e.message),
  );
  const mc = new MemcacheClient({ servers: ["10.0.0.1", "10.0.0.2"], distribution: "modula" });
  const index = oneAtATime(enc("user:42")) % 2;
  assert.equal(mc.serverFor("user:42"), ["10.0.0.1:11211", "10.0.0.2:11211"][index]);
  mc.destroy();
});
