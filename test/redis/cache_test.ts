// Client-side caching against a real redis-server, RESP3 (invalidation pushes) and RESP2
// (a redirect connection): hits and misses, another client's writes seen after its ack plus
// one round trip of the reader, BCAST prefixes, OPTIN, LRU bounds, TTL, transactions, and
// reconnects of the data and the invalidation connection.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { AbortedError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import type { ClientSideCacheOptions } from "../../src/redis/client_cache.ts";
import { defaultConnect } from "../../src/core/default_connect.ts";
import type { Connect, Transport } from "../../src/core/transport.ts";
import { startRedis } from "../../scripts/servers.ts";
import { redisAddress } from "../_helpers/servers.ts";

const addr = await redisAddress();
const prefix = `cache:${crypto.randomUUID()}:`;
const key = (name: string): string => prefix + name;
const clients: RedisClient<unknown>[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

async function open(
  protocol: 2 | 3,
  clientSideCache?: ClientSideCacheOptions,
): Promise<RedisClient<string>> {
  const client = await RedisClient.connect({ ...addr, protocol, decode: true, clientSideCache });
  clients.push(client as RedisClient<unknown>);
  return client;
}

/** Resolves when one of the client's connections reports its loss. */
function disconnected(client: RedisClient<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const stop = client.on("disconnect", () => {
      stop();
      resolve();
    });
  });
}

/** Waits (by polling the server, not by sleeping) until `check` holds. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
  }
}

test("client cache: bad options are refused before connecting", () => {
  assert.throws(() => new RedisClient({ clientSideCache: { mode: "x" as "bcast" } }), RangeError);
  assert.throws(() => new RedisClient({ clientSideCache: { maxEntries: 0 } }), RangeError);
  assert.throws(() => new RedisClient({ clientSideCache: { maxBytes: 1.5 } }), RangeError);
  assert.throws(() => new RedisClient({ clientSideCache: { maxAge: -1 } }), RangeError);
  assert.throws(() => new RedisClient({ clientSideCache: { prefixes: ["a"] } }), TypeError);
  assert.equal(new RedisClient({}).cacheStats(), undefined);
});

for (const protocol of [3, 2] as const) {
  const name = `client cache RESP${protocol}`;

  test(`${name}: a miss then hits, counted; the server sees one read`, async () => {
    const reader = await open(protocol, {});
    const writer = await open(protocol);
    const k = key(`hit${protocol}`);
    await writer.set(k, "v1");
    assert.equal(await reader.get(k), "v1");
    assert.equal(await reader.get(k), "v1");
    assert.equal(await reader.get(k), "v1");
    const stats = reader.cacheStats()!;
    assert.equal(stats.misses, 1);
    assert.equal(stats.hits, 2);
    assert.equal(stats.entries, 1);
    assert.ok(stats.bytes > 0);
    assert.ok((await reader.clientTrackingInfo()).flags.includes("on"));
  });

  test(`${name}: another client's write is seen after its ack and one round trip`, async () => {
    const reader = await open(protocol, {});
    const writer = await open(protocol);
    const [s, h, set, l] = ["s", "h", "set", "l"].map((n) => key(`w${protocol}${n}`));
    await writer.set(s, "1");
    await writer.hSet(h, { f: "1" });
    await writer.sAdd(set, "a");
    await writer.rPush(l, "x");
    const read = () =>
      Promise.all([
        reader.get(s),
        reader.hGetAll(h),
        reader.sMembers(set),
        reader.lRange(l, 0, -1),
        reader.mGet(s, h),
      ]);
    await read();
    const cached = await read();
    assert.equal(reader.cacheStats()!.hits, 5);
    assert.deepEqual(cached, ["1", new Map([["f", "1"]]), ["a"], ["x"], ["1", null]]);
    await writer.set(s, "2");
    await writer.hSet(h, { f: "2" });
    await writer.sAdd(set, "b");
    await writer.rPush(l, "y");
    await reader.ping();
    const fresh = await read();
    assert.equal(fresh[0], "2");
    assert.deepEqual(fresh[1], new Map([["f", "2"]]));
    assert.deepEqual([...fresh[2]].sort(), ["a", "b"]);
    assert.deepEqual(fresh[3], ["x", "y"]);
    assert.deepEqual(fresh[4], ["2", null]);
    assert.ok(reader.cacheStats()!.invalidations >= 4);
  });

  test(`${name}: an aborted call is refused, not answered from the cache`, async () => {
    const redis = await open(protocol, {});
    const k = key(`abort${protocol}`);
    await redis.set(k, "v");
    await redis.get(k);
    assert.equal(await redis.get(k), "v");
    await assert.rejects(redis.with({ signal: AbortSignal.abort() }).get(k), AbortedError);
  });

  test(`${name}: the client's own write drops the entry at once`, async () => {
    const redis = await open(protocol, {});
    const k = key(`own${protocol}`);
    await redis.set(k, "a");
    assert.equal(await redis.get(k), "a");
    assert.equal(await redis.get(k), "a");
    await redis.set(k, "b");
    assert.equal(await redis.get(k), "b");
    await redis.pipeline().set(k, "c").exec();
    assert.equal(await redis.get(k), "c");
  });

  test(`${name}: cached bytes are copies; changing a reply does not change the cache`, async () => {
    const redis = await RedisClient.connect({ ...addr, protocol, clientSideCache: {} });
    clients.push(redis as RedisClient<unknown>);
    const k = key(`bytes${protocol}`);
    await redis.set(k, "abc");
    const first = (await redis.get(k))!;
    first[0] = 0x7a;
    const second = (await redis.get(k))!;
    assert.equal(new TextDecoder().decode(second), "abc");
    second[1] = 0x7a;
    assert.equal(new TextDecoder().decode((await redis.get(k))!), "abc");
    assert.equal(redis.cacheStats()!.hits, 2);
  });

  test(`${name}: BCAST caches and invalidates the prefixes only`, async () => {
    const p = key(`bc${protocol}:`);
    const reader = await open(protocol, { mode: "bcast", prefixes: [p] });
    const writer = await open(protocol);
    await writer.set(`${p}a`, "1");
    await writer.set(key(`other${protocol}`), "1");
    assert.equal(await reader.get(`${p}a`), "1");
    assert.equal(await reader.get(`${p}a`), "1");
    assert.equal(await reader.get(key(`other${protocol}`)), "1");
    assert.equal(await reader.get(key(`other${protocol}`)), "1");
    assert.deepEqual([reader.cacheStats()!.hits, reader.cacheStats()!.misses], [1, 1]);
    await writer.set(`${p}a`, "2");
    await reader.ping();
    assert.equal(await reader.get(`${p}a`), "2");
    const info = await reader.clientTrackingInfo();
    assert.ok(info.flags.includes("bcast"));
    assert.deepEqual(info.prefixes, [p]);
  });

  test(`${name}: OPTIN tracks the reads sent with CLIENT CACHING YES`, async () => {
    const reader = await open(protocol, { mode: "optin" });
    const writer = await open(protocol);
    const k = key(`optin${protocol}`);
    await writer.set(k, "1");
    assert.equal(await reader.get(k), "1");
    assert.equal(await reader.get(k), "1");
    assert.equal(reader.cacheStats()!.hits, 1);
    await writer.set(k, "2");
    await reader.ping();
    assert.equal(await reader.get(k), "2"); // without CACHING YES the server would not tell
    assert.ok((await reader.clientTrackingInfo()).flags.includes("optin"));
  });

  test(`${name}: the least recently used entry goes past maxEntries`, async () => {
    const redis = await open(protocol, { maxEntries: 3 });
    const keys = ["a", "b", "c", "d"].map((n) => key(`lru${protocol}${n}`));
    for (const k of keys) await redis.set(k, k);
    for (const k of keys.slice(0, 3)) await redis.get(k);
    await redis.get(keys[0]); // a is now the most recent: b goes first
    await redis.get(keys[3]);
    const stats = redis.cacheStats()!;
    assert.equal(stats.entries, 3);
    assert.equal(stats.evictions, 1);
    const before = stats.misses;
    await redis.get(keys[0]);
    await redis.get(keys[2]);
    assert.equal(redis.cacheStats()!.misses, before);
    await redis.get(keys[1]);
    assert.equal(redis.cacheStats()!.misses, before + 1);
  });

  test(`${name}: entries are bounded by maxBytes; one too big is never stored`, async () => {
    const redis = await open(protocol, { maxBytes: 4000 });
    const small = Array.from({ length: 6 }, (_, i) => key(`mb${protocol}${i}`));
    for (const k of small) await redis.set(k, "x".repeat(500));
    const big = key(`mbbig${protocol}`);
    await redis.set(big, "y".repeat(5000));
    for (const k of small) await redis.get(k);
    const stats = redis.cacheStats()!;
    assert.ok(stats.bytes <= 4000, `${stats.bytes} bytes`);
    assert.ok(stats.evictions >= 2, `${stats.evictions} evictions`);
    assert.ok(stats.entries < small.length);
    await redis.get(big);
    await redis.get(big);
    assert.equal(redis.cacheStats()!.hits, 0);
  });

  test(`${name}: an entry is served until its maxAge, then read again`, async () => {
    const maxAge = 40;
    const redis = await open(protocol, { maxAge });
    const k = key(`ttl${protocol}`);
    await redis.set(k, "v");
    await redis.get(k);
    const stored = Date.now();
    // Hits answer without a round trip; the first miss after them marks the expiry.
    while (redis.cacheStats()!.expirations === 0) await redis.get(k);
    assert.ok(Date.now() - stored >= maxAge - 1);
    assert.ok(redis.cacheStats()!.hits > 0);
    assert.equal(redis.cacheStats()!.misses, 2);
    assert.equal(await redis.get(k), "v");
  });

  test(`${name}: reads inside a transaction are not cached`, async () => {
    const redis = await open(protocol, {});
    const k = key(`tx${protocol}`);
    await redis.set(k, "v");
    assert.deepEqual(await redis.multi().get(k).exec(), ["v"]);
    assert.equal(await redis.send("MULTI"), "OK");
    assert.equal(await redis.get(k), "QUEUED");
    assert.deepEqual(await redis.send("EXEC"), ["v"]);
    assert.equal(redis.cacheStats()!.entries, 0);
    assert.equal(await redis.get(k), "v");
    assert.equal(await redis.get(k), "v");
    assert.equal(redis.cacheStats()!.hits, 1);
  });

  test(`${name}: transaction() and blocking commands run on uncached dedicated connections`, async () => {
    const redis = await open(protocol, {});
    const k = key(`pool${protocol}`);
    const list = key(`poollist${protocol}`);
    await redis.set(k, "0");
    assert.equal(await redis.get(k), "0");
    assert.equal(await redis.get(k), "0");
    await redis.transaction(async (conn) => {
      const current = Number(await conn.get(k));
      return conn.multi().set(k, current + 1);
    }, k);
    await redis.rPush(list, "x");
    assert.deepEqual(await redis.blPop(list, 1), [list, "x"]);
    await redis.ping(); // the dedicated connection wrote: the shared one hears of it
    assert.equal(await redis.get(k), "1");
    assert.equal(redis.stats().members.length, 1 + (protocol === 2 ? 1 : 0) + 1);
  });

  test(`${name}: the data connection killed: no stale read, tracking back on`, async () => {
    const reader = await open(protocol, {});
    const writer = await open(protocol);
    const k = key(`kill${protocol}`);
    await writer.set(k, "1");
    await reader.get(k);
    assert.equal(await reader.get(k), "1");
    const id = await reader.send("CLIENT", "ID");
    const lost = disconnected(reader as RedisClient<unknown>);
    assert.equal(await writer.send("CLIENT", "KILL", "ID", String(id)), 1);
    await writer.set(k, "2"); // the reader is disconnected: this invalidation is lost
    await lost;
    assert.equal(await reader.get(k), "2");
    assert.notEqual(await reader.send("CLIENT", "ID"), id);
    assert.equal(await reader.get(k), "2");
    await writer.set(k, "3");
    await reader.ping();
    assert.equal(await reader.get(k), "3");
  });
}

test("client cache RESP2: the invalidation connection killed: no stale read, then re-tracked", async () => {
  const reader = await open(2, {});
  const writer = await open(2);
  const k = key("redir");
  await writer.set(k, "1");
  await reader.get(k);
  assert.equal(await reader.get(k), "1");
  const redirect = await reader.send("CLIENT", "GETREDIR");
  assert.ok(typeof redirect === "number" && redirect > 0);
  const lost = disconnected(reader as RedisClient<unknown>);
  assert.equal(await writer.send("CLIENT", "KILL", "ID", String(redirect)), 1);
  await writer.set(k, "2"); // no invalidation connection: the server drops this one
  await lost;
  assert.equal(await reader.get(k), "2");
  await until(async () => {
    const now = await reader.send("CLIENT", "GETREDIR");
    return typeof now === "number" && now > 0 && now !== redirect;
  }, "tracking redirected to the new invalidation connection");
  await until(async () => {
    const hits = reader.cacheStats()!.hits;
    await reader.get(k);
    return reader.cacheStats()!.hits > hits;
  }, "hits again");
  await writer.set(k, "3");
  await reader.ping();
  assert.equal(await reader.get(k), "3");
});

test("client cache: a flush by another client or by this one empties the cache (dedicated server)", async () => {
  const server = await startRedis();
  try {
    for (const protocol of [3, 2] as const) {
      const options = { port: server.port, protocol, decode: true } as const;
      const reader = await RedisClient.connect({ ...options, clientSideCache: {} });
      const writer = await RedisClient.connect(options);
      await writer.mSet({ a: "1", b: "2" });
      await reader.mGet("a", "b");
      await reader.get("a");
      assert.equal((await reader.get("a")) ?? "", "1");
      await writer.flushAll();
      await reader.ping();
      assert.equal(await reader.get("a"), null, `RESP${protocol}: flushed by another client`);
      assert.deepEqual(await reader.mGet("a", "b"), [null, null]);
      await writer.set("a", "3");
      await reader.ping();
      assert.equal(await reader.get("a"), "3");
      await reader.flushDb();
      assert.equal(await reader.get("a"), null, `RESP${protocol}: flushed by the reader`);
      await Promise.all([reader.close(), writer.close()]);
    }
  } finally {
    await server.stop();
  }
});

/** A transport whose incoming bytes can be held back (the server's replies wait). */
class HeldTransport implements Transport {
  #held = false;
  #waiting: (() => void)[] = [];
  constructor(readonly inner: Transport) {}
  hold(): void {
    this.#held = true;
  }
  release(): void {
    this.#held = false;
    for (const resume of this.#waiting.splice(0)) resume();
  }
  async read(): Promise<Uint8Array | null> {
    const chunk = await this.inner.read();
    if (this.#held) await new Promise<void>((resume) => this.#waiting.push(resume));
    return chunk;
  }
  write(chunk: Uint8Array): boolean {
    return this.inner.write(chunk);
  }
  ready(): Promise<void> {
    return this.inner.ready();
  }
  get bufferedAmount(): number {
    return this.inner.bufferedAmount;
  }
  end(): Promise<void> {
    return this.inner.end();
  }
  close(reason?: Error): void {
    this.release();
    this.inner.close(reason);
  }
  get closed(): Promise<void> {
    return this.inner.closed;
  }
  get info(): Transport["info"] {
    return this.inner.info;
  }
}

test("client cache RESP2: an invalidation that overtakes a read's reply keeps the reply out of the cache", async () => {
  const transports: HeldTransport[] = [];
  const connect: Connect = async (address, options) => {
    const transport = new HeldTransport(await defaultConnect(address, options));
    transports.push(transport);
    return transport;
  };
  const reader = await RedisClient.connect({
    ...addr,
    protocol: 2,
    decode: true,
    clientSideCache: {},
    connect,
  });
  clients.push(reader as RedisClient<unknown>);
  const writer = await open(2);
  assert.equal(transports.length, 2, "the data connection, then the invalidation connection");
  const [data] = transports;
  const k = key("overtaken");
  await writer.set(k, "1");
  const readerId = await reader.send("CLIENT", "ID");
  data.hold();
  const read = reader.get(k); // runs on the server; its reply "1" is held back
  await until(async () => {
    const list = await writer.send("CLIENT", "LIST", "ID", String(readerId));
    return / cmd=get /.test(String(list));
  }, "the server ran the read");
  const invalidations = reader.cacheStats()!.invalidations;
  await writer.set(k, "2"); // its invalidation reaches the reader first
  await until(async () => {
    await writer.ping(); // a round trip lets the invalidation connection's bytes in
    return reader.cacheStats()!.invalidations > invalidations;
  }, "the invalidation");
  data.release();
  assert.equal(await read, "1", "the reply ran before the write");
  assert.equal(await reader.get(k), "2");
});

/** A small seeded generator, so that a failing interleaving can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

for (const protocol of [3, 2] as const) {
  test(`client cache RESP${protocol}: random interleavings of writes, cached reads and killed connections are never stale after ack + RTT`, async () => {
    const seed = Date.now() % 100_000;
    const next = random(seed);
    const reader = await open(protocol, { maxEntries: 4 });
    const writer = await open(protocol);
    const keys = Array.from({ length: 6 }, (_, i) => key(`prop${protocol}:${i}`));
    const latest = new Map<string, string>();
    for (const k of keys) {
      await writer.set(k, "0");
      latest.set(k, "0");
    }
    const inFlight: Promise<unknown>[] = [];
    let kills = 0;
    for (let step = 0; step < 300; step++) {
      const k = keys[Math.floor(next() * keys.length)];
      const action = next();
      if (action < 0.3) {
        // Reads in flight while the other client writes: their replies may be stale, but
        // they must not stay in the cache.
        inFlight.push(reader.get(k), reader.mGet(k, keys[0]));
        const value = String(step);
        await writer.set(k, value);
        latest.set(k, value);
      } else if (action < 0.4) {
        await writer.del(k);
        latest.set(k, "");
      } else if (action < 0.43 || step % 100 === 50) {
        // The data connection, or (RESP2) the invalidation connection, is killed; the write
        // that follows may find no one to invalidate.
        const target = protocol === 2 && next() < 0.5
          ? await reader.send("CLIENT", "GETREDIR")
          : await reader.send("CLIENT", "ID");
        const lost = disconnected(reader as RedisClient<unknown>);
        // (RESP2: while the invalidation connection is being replaced, GETREDIR may still name
        // the one that is gone, and KILL ID answers 0.)
        const killed = Number(target) > 0 &&
          (await writer.send("CLIENT", "KILL", "ID", String(target))) === 1;
        const value = `k${step}`;
        await writer.set(k, value);
        latest.set(k, value);
        if (killed) await lost;
        kills++;
      } else {
        await reader.ping();
        const got = await reader.get(k);
        assert.equal(got ?? "", latest.get(k), `seed ${seed}, step ${step}, key ${k}`);
      }
    }
    await Promise.allSettled(inFlight); // a kill may fail those in flight then
    await reader.ping();
    for (const k of keys) assert.equal((await reader.get(k)) ?? "", latest.get(k), `seed ${seed}`);
    assert.ok(reader.cacheStats()!.hits > 0);
    assert.ok(kills >= 3, `seed ${seed}: ${kills} kills`);
  });
}
