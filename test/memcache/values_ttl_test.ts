// MemcacheClient against the shared real memcached, every protocol: stored values that do not
// decode as their flags say reject with a KvError (the connection goes on); TTLs as memcached
// reads them (over 30 days a Unix time, at most 2^31-1), misread ones refused with RangeError.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { KvError, RemoteProtocolError } from "../../src/core/errors.ts";
import { MemcacheClient } from "../../src/memcache/client.ts";
import { ValueFlags } from "../../src/memcache/values.ts";
import { memcachedAddress } from "../_helpers/servers.ts";

const { host, port } = await memcachedAddress();
const run = crypto.randomUUID().slice(0, 8);
const clients: MemcacheClient[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

const corruptValue = (e: unknown): boolean =>
  e instanceof RemoteProtocolError && e instanceof KvError && e.code === "REMOTE_PROTOCOL" &&
  /does not decode/.test(e.message) && e.cause !== undefined;

for (const protocol of ["meta", "text", "binary"] as const) {
  const p = `values_ttl:${run}:${protocol}:`;

  test(`memcache ${protocol}: values that do not decode as their flags say reject with RemoteProtocolError`, async () => {
    const mc = await MemcacheClient.connect([`${host}:${port}`], { protocol });
    clients.push(mc);
    const cases: [string, string, number][] = [
      ["zlib", "not zlib at all", ValueFlags.Compressed | ValueFlags.Text],
      ["json", "{not json", ValueFlags.Json],
      ["int", "12x", ValueFlags.Integer],
      ["long", "9.5", ValueFlags.Long],
    ];
    for (const [name, bytes, flags] of cases) {
      assert.equal(await mc.set(`${p}${name}`, bytes, { flags }), true);
      await assert.rejects(mc.get(`${p}${name}`), corruptValue, `get ${name}`);
      await assert.rejects(mc.gets(`${p}${name}`), corruptValue, `gets ${name}`);
      await assert.rejects(
        mc.getMulti([`${p}${name}`, `${p}none`]),
        corruptValue,
        `getMulti ${name}`,
      );
    }
    assert.equal(await mc.set(`${p}fine`, "ok"), true);
    assert.equal(await mc.get(`${p}fine`), "ok", "the connection goes on");
  });

  test(`memcache ${protocol}: TTLs memcached would misread are a RangeError naming them`, async () => {
    const mc = await MemcacheClient.connect([`${host}:${port}`], { protocol });
    clients.push(mc);
    const thirtyOneDays = 31 * 86400;
    for (const ttl of [2 ** 31, 2 ** 32 - 1, thirtyOneDays]) {
      const named = (e: unknown): boolean =>
        e instanceof RangeError && e.message.includes(String(ttl));
      await assert.rejects(mc.set(`${p}ttl`, "v", { ttl }), named, `set ttl ${ttl}`);
      await assert.rejects(mc.touch(`${p}ttl`, ttl), named, `touch ttl ${ttl}`);
      await assert.rejects(mc.setMulti({ a: 1 }, { keyPrefix: p, ttl }), named, `setMulti ${ttl}`);
    }
    // What is accepted is kept: relative, absolute, and the largest absolute time.
    const now = Math.floor(Date.now() / 1000);
    for (
      const [name, ttl] of [["rel", 30 * 86400], ["abs", now + 3600], ["max", 2 ** 31 - 1]] as const
    ) {
      assert.equal(await mc.set(`${p}${name}`, name, { ttl }), true);
      assert.equal(await mc.get(`${p}${name}`), name, `ttl ${ttl} keeps the item`);
      assert.equal(await mc.touch(`${p}${name}`, ttl), true);
      assert.equal(await mc.get(`${p}${name}`), name, `touch ${ttl} keeps the item`);
    }
    assert.equal(await mc.set(`${p}gone`, "v", { ttl: -1 }), true);
    assert.equal(await mc.get(`${p}gone`), null, "-1 expires at once");
  });
}
