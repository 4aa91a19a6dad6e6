// python-memcached's last seed features against the shared real memcached, on every protocol:
// cacheCas/resetCas (bounded), checkKeys: false (never on a text command line), delete with a
// time (text only; memcached 1.6 refuses it), and getSlabs parsed per slab class.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { CasCache } from "../../src/memcache/cas_cache.ts";
import { MemcacheClient } from "../../src/memcache/client.ts";
import type { MemcacheClientOptions } from "../../src/memcache/client_options.ts";
import { MemcacheError } from "../../src/memcache/errors.ts";
import { parseSlabStats } from "../../src/memcache/slabs.ts";
import { memcachedAddress } from "../_helpers/servers.ts";

const { host, port } = await memcachedAddress();
const server = `${host}:${port}`;
const run = crypto.randomUUID().slice(0, 8);
const clients: MemcacheClient[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

async function client(options: MemcacheClientOptions): Promise<MemcacheClient> {
  const mc = await MemcacheClient.connect([server], options);
  clients.push(mc);
  return mc;
}

test("memcache CasCache: bounded, oldest forgotten first, take forgets", () => {
  const key = (s: string) => new TextEncoder().encode(s);
  const cache = new CasCache(2);
  cache.remember(key("a"), 1n);
  cache.remember(key("b"), 2n);
  cache.remember(key("a"), 3n); // refreshed: now the newest
  cache.remember(key("c"), 4n); // over the bound: "b" goes
  assert.equal(cache.size, 2);
  assert.equal(cache.take(key("b")), undefined);
  assert.equal(cache.take(key("a")), 3n);
  assert.equal(cache.take(key("a")), undefined);
  cache.clear();
  assert.equal(cache.take(key("c")), undefined);
  assert.equal(new CasCache().limit, 10_000);
});

test("memcache options: cacheCas and checkKeys are checked", () => {
  assert.throws(() => new MemcacheClient({ cacheCas: 0 }), /cacheCas/);
  assert.throws(() => new MemcacheClient({ cacheCas: 1.5 }), RangeError);
  assert.throws(
    () => new MemcacheClient({ checkKeys: "no" as unknown as boolean }),
    (e: unknown) => e instanceof TypeError && /checkKeys/.test(e.message),
  );
});

test("memcache parseSlabStats: stats slabs and stats items joined per class", () => {
  const s = parseSlabStats(
    {
      "1:chunk_size": "96",
      "1:used_chunks": "0",
      "7:chunk_size": "384",
      "7:chunks_per_page": "2730",
      "7:total_pages": "1",
      "7:used_chunks": "1",
      "7:free_chunks": "2729",
      "7:cmd_set": "1",
      active_slabs: "2",
      total_malloced: "2097152",
    },
    { "items:7:number": "1", "items:7:age": "12", "items:7:evicted": "3", "items:7:x": "" },
  );
  assert.deepEqual([...s.classes.keys()], [1, 7]);
  const c = s.classes.get(7)!;
  assert.equal(c.chunkSize, 384);
  assert.equal(c.chunksPerPage, 2730);
  assert.equal(c.freeChunks, 2729);
  assert.equal(c.number, 1);
  assert.equal(c.age, 12);
  assert.equal(c.evicted, 3);
  assert.equal(c.outOfMemory, 0);
  assert.equal(c.slabs.cmd_set, 1);
  assert.deepEqual(c.items, { number: 1, age: 12, evicted: 3 });
  assert.equal(s.classes.get(1)!.number, 0);
  assert.equal(s.activeSlabs, 2);
  assert.equal(s.totalMalloced, 2097152);
});

for (const protocol of ["meta", "text", "binary"] as const) {
  const p = `seed:${run}:${protocol}:`;

  test(`memcache ${protocol}: cacheCas remembers gets tokens; cas without one; resetCas`, async () => {
    const mc = await client({ protocol, cacheCas: true });
    const other = await client({ protocol });
    await mc.set(`${p}n`, 1);
    assert.equal((await mc.gets(`${p}n`))?.value, 1);
    assert.equal(await mc.cas(`${p}n`, 2), true);
    assert.equal(await other.get(`${p}n`), 2);
    // The token was used: a second cas has none.
    await assert.rejects(mc.cas(`${p}n`, 3), (e: unknown) => e instanceof TypeError);
    // Changed by someone else since gets: refused.
    await mc.gets(`${p}n`);
    await other.set(`${p}n`, 10);
    assert.equal(await mc.cas(`${p}n`, 4), false);
    assert.equal(await other.get(`${p}n`), 10);
    // resetCas forgets; an explicit token still works.
    await mc.gets(`${p}n`);
    mc.resetCas();
    await assert.rejects(mc.cas(`${p}n`, 5), /gets first/);
    const item = await mc.gets(`${p}n`);
    assert.equal(await mc.cas(`${p}n`, 6, item!.cas), true);
    // Without cacheCas a token is required.
    await other.gets(`${p}n`);
    await assert.rejects(other.cas(`${p}n`, 7), /cacheCas/);
  });

  test(`memcache ${protocol}: cacheCas: 2 keeps the last two tokens only`, async () => {
    const mc = await client({ protocol, cacheCas: 2 });
    for (const k of ["a", "b", "c"]) await mc.set(`${p}bound:${k}`, k);
    for (const k of ["a", "b", "c"]) await mc.gets(`${p}bound:${k}`);
    await assert.rejects(mc.cas(`${p}bound:a`, "A"), TypeError);
    assert.equal(await mc.cas(`${p}bound:b`, "B"), true);
    assert.equal(await mc.cas(`${p}bound:c`, "C"), true);
    assert.equal(await mc.get(`${p}bound:a`), "a");
  });

  test(`memcache ${protocol}: delete with a time`, async () => {
    const mc = await client({ protocol });
    await mc.set(`${p}dt`, "v");
    await assert.rejects(mc.delete(`${p}dt`, { time: -5 }), RangeError);
    if (protocol === "text") {
      // memcached 1.6 answers CLIENT_ERROR ("Usage: delete <key> [noreply]").
      await assert.rejects(mc.delete(`${p}dt`, { time: 10 }), (e: unknown) => {
        assert.ok(e instanceof MemcacheError);
        assert.equal(e.serverCode, "CLIENT_ERROR");
        assert.match(e.message, /refuses a delete with a time/);
        return true;
      });
    } else {
      await assert.rejects(mc.delete(`${p}dt`, { time: 10 }), (e: unknown) => {
        assert.ok(e instanceof RangeError);
        assert.match(e.message, /time: 10\).*text protocol/);
        return true;
      });
    }
    assert.equal(await mc.get(`${p}dt`), "v"); // nothing was deleted
    assert.equal(await mc.delete(`${p}dt`, { time: 0 }), true);
    assert.equal(await mc.get(`${p}dt`), null);
  });

  test(`memcache ${protocol}: checkKeys: false`, async () => {
    const loose = await client({ protocol, checkKeys: false });
    const strict = await client({ protocol });
    const odd = `${p}with space\nand newline`;
    await assert.rejects(strict.set(odd, "v"), TypeError);
    await strict.set(`${p}canary`, "alive");
    if (protocol === "text") {
      // Never on a command line: refused before sending, the connection unharmed.
      const inject = `${p}x 0 0 1\r\nflush_all\r\nget`;
      await assert.rejects(loose.set(inject, "v"), (e: unknown) => {
        assert.ok(e instanceof TypeError);
        assert.match(e.message, /text protocol cannot carry/);
        return true;
      });
      await assert.rejects(loose.get(odd), TypeError);
      assert.equal(await loose.get(`${p}canary`), "alive");
    } else {
      assert.equal(await loose.set(odd, "v"), true);
      assert.equal(await loose.get(odd), "v");
      assert.deepEqual(
        await loose.getMulti([odd, `${p}canary`]),
        new Map([[odd, "v"], [`${p}canary`, "alive"]]),
      );
      assert.equal(await loose.delete(odd), true);
      assert.equal(await strict.get(`${p}canary`), "alive");
    }
    // The length limit still applies.
    await assert.rejects(loose.set("k".repeat(251), "v"), RangeError);
  });

  test(`memcache ${protocol}: getSlabs parses stats slabs and items per class`, async () => {
    const mc = await client({ protocol });
    await mc.set(`${p}slab`, "x".repeat(300));
    const all = await mc.getSlabs();
    assert.deepEqual([...all.keys()], [server]);
    const stats = all.get(server)!;
    assert.ok(stats.activeSlabs >= 1 && stats.totalMalloced > 0);
    const ids = [...stats.classes.keys()];
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    const holding = [...stats.classes.values()].filter((c) => c.number >= 1 && c.chunkSize > 300);
    assert.ok(holding.length >= 1, JSON.stringify(ids));
    const c = holding[0];
    assert.ok(c.usedChunks >= 1 && c.chunksPerPage > 0 && c.totalPages >= 1);
    assert.equal(typeof c.items.number_hot, "number");
  });
}
