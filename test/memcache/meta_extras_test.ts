// The rest of the meta protocol against the shared real memcached: noop, noreply touch,
// get-and-touch on get/getMulti (every protocol), invalidate, and getOrSet's anti-dogpile
// (one loader per miss, stale-while-revalidate, recache, a failed loader releasing the key).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { MemcacheClient } from "../../src/memcache/client.ts";
import { memcachedAddress } from "../_helpers/servers.ts";

const { host, port } = await memcachedAddress();
const run = crypto.randomUUID().slice(0, 8);
const clients: MemcacheClient[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

async function client(protocol: "meta" | "text" | "binary" = "meta"): Promise<MemcacheClient> {
  const mc = await MemcacheClient.connect([`${host}:${port}`], { protocol });
  clients.push(mc);
  return mc;
}

/** Seconds left to live, read with a meta get. */
async function ttlOf(key: string): Promise<number | undefined> {
  return (await (await client()).metaGet(key, { noBump: true }))?.ttl;
}

for (const protocol of ["meta", "text", "binary"] as const) {
  const p = `extras:${run}:${protocol}:`;

  test(`memcache ${protocol}: noop answers after noreply writes; noreply touch, setMulti, deleteMulti`, async () => {
    const mc = await client(protocol);
    assert.equal(await mc.set(`${p}nr`, "v", { noreply: true }), true);
    assert.equal(await mc.touch(`${p}nr`, 777, { noreply: true }), true);
    assert.equal(await mc.noop(), undefined);
    assert.equal(await mc.get(`${p}nr`), "v");
    const ttl = await ttlOf(`${p}nr`);
    assert.ok(ttl !== undefined && ttl > 700 && ttl <= 777, `ttl ${ttl}`);
    assert.deepEqual(await mc.setMulti({ a: 1, b: 2 }, { keyPrefix: p, noreply: true }), []);
    await mc.noop();
    assert.deepEqual(
      await mc.getMulti(["a", "b"], { keyPrefix: p }),
      new Map([["a", 1], ["b", 2]]),
    );
    assert.equal(await mc.deleteMulti(["a", "b"], { keyPrefix: p, noreply: true }), true);
    await mc.noop();
    assert.deepEqual(await mc.getMulti(["a", "b"], { keyPrefix: p }), new Map());
  });

  test(`memcache ${protocol}: get-and-touch on get and getMulti`, async () => {
    const mc = await client(protocol);
    await mc.set(`${p}gat1`, "one", { ttl: 1000 });
    await mc.set(`${p}gat2`, 2, { ttl: 1000 });
    assert.equal(await mc.get(`${p}gat1`, { touch: 500 }), "one");
    const one = await ttlOf(`${p}gat1`);
    assert.ok(one !== undefined && one > 400 && one <= 500, `ttl ${one}`);
    assert.deepEqual(
      await mc.getMulti(["gat1", "gat2", "none"], { keyPrefix: p, touch: 300 }),
      new Map<string, unknown>([["gat1", "one"], ["gat2", 2]]),
    );
    for (const key of ["gat1", "gat2"]) {
      const ttl = await ttlOf(p + key);
      assert.ok(ttl !== undefined && ttl > 200 && ttl <= 300, `${key} ttl ${ttl}`);
    }
    assert.equal(await mc.get(`${p}none`, { touch: 10 }), null);
  });
}

const p = `extras:${run}:swr:`;

test("memcache meta: invalidate serves the value stale and hands out one win", async () => {
  const mc = await client();
  await mc.set(`${p}inv`, "old", { ttl: 100 });
  assert.equal(await mc.invalidate(`${p}inv`, { staleTtl: 30 }), true);
  const first = await mc.metaGet<string>(`${p}inv`);
  assert.deepEqual([first?.value, first?.stale, first?.win], ["old", true, true]);
  const second = await mc.metaGet<string>(`${p}inv`);
  assert.deepEqual([second?.value, second?.stale, second?.win, second?.alreadyWon], [
    "old",
    true,
    false,
    true,
  ]);
  assert.equal(await mc.invalidate(`${p}missing`), false);
});

test("memcache meta: getOrSet runs one loader for concurrent misses, across clients", async () => {
  const [a, b] = [await client(), await client()];
  let calls = 0;
  const loader = (): { n: number } => ({ n: ++calls });
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).getOrSet(`${p}miss`, loader, { ttl: 60 })),
  );
  assert.equal(calls, 1);
  assert.deepEqual(results, Array.from({ length: 20 }, () => ({ n: 1 })));
  assert.deepEqual(await a.get(`${p}miss`), { n: 1 });
  // A hit doesn't load.
  assert.deepEqual(await a.getOrSet(`${p}miss`, loader), { n: 1 });
  assert.equal(calls, 1);
});

test("memcache meta: getOrSet after invalidate: one refresh, the others served stale", async () => {
  const mc = await client();
  await mc.set(`${p}stale`, "old", { ttl: 100 });
  await mc.invalidate(`${p}stale`, { staleTtl: 30 });
  let calls = 0;
  const results = await Promise.all(
    Array.from({ length: 5 }, () => mc.getOrSet(`${p}stale`, () => (calls++, "new"), { ttl: 100 })),
  );
  assert.equal(calls, 1);
  assert.deepEqual([...results].sort(), ["new", "old", "old", "old", "old"]);
  assert.equal(await mc.get(`${p}stale`), "new");
});

test("memcache meta: getOrSet with staleTtl refreshes a value about to expire", async () => {
  const mc = await client();
  await mc.set(`${p}recache`, "a", { ttl: 10 });
  assert.equal(await mc.getOrSet(`${p}recache`, () => "b", { ttl: 100, staleTtl: 20 }), "b");
  const ttl = await ttlOf(`${p}recache`);
  assert.ok(ttl !== undefined && ttl > 90, `ttl ${ttl}`);
  assert.equal(await mc.getOrSet(`${p}recache`, () => "c", { ttl: 100, staleTtl: 20 }), "b");
});

test("memcache meta: a failed loader releases the key at once", async () => {
  const mc = await client();
  await assert.rejects(
    mc.getOrSet(`${p}fail`, () => Promise.reject(new Error("db down")), { lockTtl: 30 }),
    /db down/,
  );
  // Without the release, this caller would find the placeholder and poll for 30 s.
  const other = await client();
  const first = await other.metaGet(`${p}fail`, { vivify: 30 });
  assert.equal(first?.win, true, "no placeholder left behind");
  await other.delete(`${p}fail`);
  assert.equal(await other.getOrSet(`${p}fail`, () => "ok", { lockTtl: 30 }), "ok");
});

test("memcache: getOrSet checks its options and needs the meta protocol", async () => {
  const mc = await client();
  await assert.rejects(mc.getOrSet(`${p}x`, () => 1, { ttl: -1 }), RangeError);
  await assert.rejects(mc.getOrSet(`${p}x`, () => 1, { staleTtl: 1.5 }), /staleTtl/);
  await assert.rejects(mc.getOrSet(`${p}x`, null as never), TypeError);
  const text = await client("text");
  await assert.rejects(text.getOrSet(`${p}x`, () => 1), /meta protocol/);
  await assert.rejects(text.invalidate(`${p}x`), /meta protocol/);
});
