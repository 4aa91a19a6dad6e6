// MemcacheClient against the shared real memcached, on the meta, text and binary protocols:
// python-memcached's doctests, storage semantics, key validation, values, flags, compression.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { MemcacheClient } from "../../src/memcache/client.ts";
import { MemcacheError } from "../../src/memcache/errors.ts";
import { ValueFlags } from "../../src/memcache/values.ts";
import { memcachedAddress } from "../_helpers/servers.ts";

const { host, port } = await memcachedAddress();
const run = crypto.randomUUID().slice(0, 8);
const clients: MemcacheClient[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

async function client(
  protocol: "meta" | "text" | "binary",
  options: Parameters<typeof MemcacheClient.connect>[1] = {},
): Promise<MemcacheClient> {
  const mc = await MemcacheClient.connect([`${host}:${port}`], { protocol, ...options });
  clients.push(mc);
  return mc;
}

for (const protocol of ["meta", "text", "binary"] as const) {
  const p = `client:${run}:${protocol}:`; // every key of this file and protocol

  test(`memcache ${protocol}: python-memcached's get_multi/set_multi doctests`, async () => {
    const mc = await client(protocol);
    assert.equal(await mc.set(`${p}foo`, "bar"), true);
    assert.equal(await mc.set(`${p}baz`, 42), true);
    assert.deepEqual(
      await mc.getMulti([`${p}foo`, `${p}baz`, `${p}foobar`]),
      new Map<string, unknown>([[`${p}foo`, "bar"], [`${p}baz`, 42]]),
    );
    assert.deepEqual(await mc.setMulti({ k1: 1, k2: 2 }, { keyPrefix: `${p}pfx_` }), []);
    assert.deepEqual(
      await mc.getMulti(["k1", "k2", "nonexist"], { keyPrefix: `${p}pfx_` }),
      new Map([["k1", 1], ["k2", 2]]),
    );
    assert.equal(await mc.get(`${p}pfx_k1`), 1, "stored under the prefixed key");
    assert.deepEqual(
      await mc.setMulti(
        new Map([[42, "douglass adams"], [46, "and 2 just ahead of me"]]),
        { keyPrefix: `${p}numkeys_` },
      ),
      [],
    );
    assert.deepEqual(
      await mc.getMulti([46, 42], { keyPrefix: `${p}numkeys_` }),
      new Map([[46, "and 2 just ahead of me"], [42, "douglass adams"]]),
    );
  });

  test(`memcache ${protocol}: incr/decr doctests; decr floors at 0; a missing key is null`, async () => {
    const mc = await client(protocol);
    assert.equal(await mc.set(`${p}counter`, "20"), true);
    assert.equal(await mc.incr(`${p}counter`), 21n);
    assert.equal(await mc.incr(`${p}counter`), 22n);
    assert.equal(await mc.get(`${p}counter`), "22", "still a string after incr");
    assert.equal(await mc.decr(`${p}counter`, 2), 20n);
    assert.equal(await mc.decr(`${p}counter`, 100n), 0n, "floors at 0");
    assert.equal(await mc.incr(`${p}missing`), null);
    assert.equal(await mc.decr(`${p}missing`), null);
    await mc.set(`${p}big`, "18446744073709551614");
    assert.equal(await mc.incr(`${p}big`), 18446744073709551615n, "unsigned 64-bit");
    await mc.set(`${p}word`, "abc");
    await assert.rejects(mc.incr(`${p}word`), MemcacheError);
    await assert.rejects(mc.incr(`${p}counter`, -1), RangeError);
    if (protocol === "text") {
      await assert.rejects(mc.incr(`${p}viv`, 1, { initial: 5 }), /text protocol cannot create/);
    } else {
      assert.equal(await mc.incr(`${p}viv`, 1, { initial: 5, ttl: 60 }), 5n, "created");
      assert.equal(await mc.incr(`${p}viv`, 1, { initial: 5 }), 6n);
    }
  });

  test(`memcache ${protocol}: delete_multi doctest`, async () => {
    const mc = await client(protocol);
    assert.deepEqual(await mc.setMulti({ a1: "val1", a2: "val2" }, { keyPrefix: p }), []);
    assert.deepEqual(
      await mc.getMulti(["a1", "a2"], { keyPrefix: p }),
      new Map([["a1", "val1"], ["a2", "val2"]]),
    );
    assert.equal(await mc.deleteMulti(["a1", "a2", "never-set"], { keyPrefix: p }), true);
    assert.deepEqual(await mc.getMulti(["a1", "a2"], { keyPrefix: p }), new Map());
  });

  test(`memcache ${protocol}: add, replace, append, prepend, cas, touch, delete`, async () => {
    const mc = await client(protocol);
    const key = `${p}ops`;
    assert.equal(await mc.replace(key, "x"), false, "replace needs the key");
    assert.equal(await mc.append(key, "x"), false, "append needs the key");
    assert.equal(await mc.add(key, "mid"), true);
    assert.equal(await mc.add(key, "again"), false, "add needs the key missing");
    assert.equal(await mc.append(key, ">"), true);
    assert.equal(await mc.prepend(key, "<"), true);
    assert.equal(await mc.get(key), "<mid>");
    const item = await mc.gets<string>(key);
    assert.equal(item?.value, "<mid>");
    assert.equal(typeof item?.cas, "bigint");
    assert.equal(await mc.cas(key, "first", item!.cas), true);
    assert.equal(await mc.cas(key, "second", item!.cas), false, "the token is stale now");
    assert.equal(await mc.get(key), "first");
    assert.equal(await mc.cas(`${p}nope`, "v", 1n), false);
    assert.equal(await mc.touch(key, 300), true);
    assert.equal(await mc.touch(`${p}nope`, 300), false);
    assert.equal(await mc.replace(key, "replaced", { ttl: 300 }), true);
    assert.equal(await mc.delete(key), true);
    assert.equal(await mc.delete(key), false);
    assert.equal(await mc.get(key), null);
    assert.equal(await mc.set(key, "gone", { ttl: -1 }), true);
    assert.equal(await mc.get(key), null, "a negative TTL expires at once");
  });

  test(`memcache ${protocol}: bad keys are refused before sending and can't inject commands`, async () => {
    const mc = await client(protocol);
    await mc.set(`${p}survivor`, "still here");
    await assert.rejects(
      mc.get(`${p}has space`),
      (e: unknown) => e instanceof TypeError && e.message.includes(`"${p}has space"`),
    );
    await assert.rejects(mc.set(`${p}x\r\nflush_all`, "v"), TypeError);
    await assert.rejects(mc.get("k".repeat(251)), RangeError);
    await assert.rejects(mc.get(""), RangeError);
    await assert.rejects(mc.getMulti([`${p}ok`, "bad key"]), TypeError, "all keys checked first");
    await assert.rejects(mc.deleteMulti([`${p}survivor`, "k".repeat(300)]), RangeError);
    const binaryKey = new TextEncoder().encode(`${p}bin\r\nflush_all\0`);
    if (protocol === "text") await assert.rejects(mc.set(binaryKey, "v"), TypeError);
    else {
      assert.equal(await mc.set(binaryKey, "binary key"), true);
      assert.equal(await mc.get(binaryKey), "binary key");
    }
    assert.equal(await mc.get(`${p}survivor`), "still here", "nothing was flushed or deleted");
    const utf8 = `${p}${"é".repeat(60)}`; // 120+ bytes of UTF-8, echoed in VALUE lines
    assert.equal(await mc.set(utf8, "accents"), true);
    assert.deepEqual(
      await mc.getMulti([utf8, `${p}survivor`]),
      new Map([[utf8, "accents"], [`${p}survivor`, "still here"]]),
    );
  });

  test(`memcache ${protocol}: value types, explicit flags, byte-exact large values`, async () => {
    const mc = await client(protocol);
    const bytes = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) & 255);
    const values: unknown[] = [
      "héllo wörld €",
      bytes,
      12,
      -5,
      2n ** 63n,
      { a: [1, null] },
      true,
      "",
    ];
    await Promise.all(values.map((v, i) => mc.set(`${p}type${i}`, v)));
    const got = await mc.getMulti(values.map((_, i) => `${p}type${i}`));
    assert.deepEqual([...got.values()], values);
    await mc.set(`${p}raw`, new Uint8Array([1, 2, 3]), { flags: 1 << 20 });
    const raw = await mc.getRaw(`${p}raw`);
    assert.equal(raw?.flags, 1 << 20);
    assert.deepEqual(await mc.get(`${p}raw`), new Uint8Array([1, 2, 3]), "unknown flags: bytes");
  });

  test(`memcache ${protocol}: compression above minCompressLen`, async () => {
    const mc = await client(protocol, { minCompressLen: 100 });
    const text = "compress me ".repeat(1000);
    await mc.set(`${p}z`, text);
    const raw = await mc.getRaw(`${p}z`);
    assert.equal(raw!.flags, ValueFlags.Text | ValueFlags.Compressed);
    assert.ok(raw!.value.length < text.length / 10, `stored ${raw!.value.length} bytes`);
    assert.equal(await mc.get(`${p}z`), text);
    assert.deepEqual(await mc.getMulti([`${p}z`]), new Map([[`${p}z`, text]]));
    await mc.set(`${p}small`, "tiny");
    assert.equal((await mc.getRaw(`${p}small`))!.flags, ValueFlags.Text, "below the threshold");
    await mc.set(`${p}random`, crypto.getRandomValues(new Uint8Array(500)));
    assert.equal((await mc.getRaw(`${p}random`))!.flags, ValueFlags.Bytes, "kept when larger");
  });

  test(`memcache ${protocol}: values over the size limit fail clearly, the connection goes on`, async () => {
    const mc = await client(protocol);
    await assert.rejects(
      mc.set(`${p}huge`, new Uint8Array(1024 * 1024 + 1)),
      (e: unknown) =>
        e instanceof RangeError && /1048577 bytes; the limit is 1048576/.test(e.message),
    );
    const lenient = await client(protocol, { maxValueSize: 4 * 1024 * 1024 });
    await assert.rejects(lenient.set(`${p}huge`, new Uint8Array(2 * 1024 * 1024)), MemcacheError);
    assert.equal(await lenient.set(`${p}after`, "fine"), true);
    assert.equal(await lenient.get(`${p}after`), "fine", "replies still line up");
  });

  test(`memcache ${protocol}: 1,000 concurrent requests keep their replies in order`, async () => {
    const mc = await client(protocol);
    await Promise.all(Array.from({ length: 100 }, (_, i) => mc.set(`${p}c${i}`, i)));
    const got = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => mc.get(`${p}c${i % 100}`)),
    );
    got.forEach((v, i) => assert.equal(v, i % 100));
  });

  test(`memcache ${protocol}: stats and version per server; noreply`, async () => {
    const mc = await client(protocol);
    const version = await mc.version();
    assert.match(version.get(`${host}:${port}`) ?? "", /^\d+\.\d+\.\d+/);
    const stats = (await mc.serverStats()).get(`${host}:${port}`)!;
    assert.ok(Number(stats.curr_connections) >= 1);
    assert.equal(stats.version, version.get(`${host}:${port}`));
    const settings = (await mc.serverStats("settings")).get(`${host}:${port}`)!;
    assert.equal(settings.item_size_max, "1048576");
    assert.equal(await mc.set(`${p}nr`, "quick", { noreply: true }), true);
    assert.equal(await mc.get(`${p}nr`), "quick", "the noreply set ran before the get");
    assert.deepEqual(mc.servers.map((s) => [s.label, s.dead]), [[`${host}:${port}`, false]]);
  });
}

test("memcache meta: vivify-on-miss and recache wins, stale after invalidation", async () => {
  const mc = await client("meta");
  const key = `client:${run}:meta:vivify`;
  const first = await mc.metaGet(key, { vivify: 30 });
  assert.equal(first?.win, true, "the first reader wins the right to fill it");
  assert.deepEqual(first?.value, new Uint8Array(0));
  const second = await mc.metaGet(key, { vivify: 30 });
  assert.equal(second?.win, false);
  assert.equal(second?.alreadyWon, true, "others see that someone is on it");
  await mc.set(key, "fresh", { ttl: 100 });
  const recache = await mc.metaGet<string>(key, { recache: 200 });
  assert.equal(recache?.value, "fresh");
  assert.equal(recache?.win, true, "less TTL left than asked: win a refresh");
  assert.ok(recache!.ttl! > 0 && recache!.ttl! <= 100);
  await mc.meta("md", key, ["I", "T30"]);
  const stale = await mc.metaGet<string>(key);
  assert.equal(stale?.stale, true);
  assert.equal(stale?.value, "fresh", "stale data is still served");
  assert.equal(await mc.metaGet(`client:${run}:meta:none`), null);
  const debug = await mc.meta("me", key);
  assert.ok(debug?.debug?.exp !== undefined);
  await mc.set(`client:${run}:meta:q`, "v");
  assert.equal(await mc.meta("md", `client:${run}:meta:q`, ["q"]), null, "quiet success");
  assert.equal((await mc.meta("md", `client:${run}:meta:q`, ["q"]))?.code, "NF", "failures speak");
  await assert.rejects(mc.meta("mg", key, ["O5"]), /reserved/);
});

test("memcache: meta commands need the meta protocol", async () => {
  const mc = await client("text");
  await assert.rejects(mc.metaGet(`client:${run}:x`), /meta protocol/);
});
