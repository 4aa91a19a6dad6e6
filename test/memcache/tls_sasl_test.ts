// MemcacheClient over TLS to a real `memcached -Z` (verification on by default) and with SASL
// PLAIN to a real `memcached -S` (binary protocol), on every runtime.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TlsError } from "../../src/core/errors.ts";
import { MemcacheClient } from "../../src/memcache/client.ts";
import { MemcacheError } from "../../src/memcache/errors.ts";
import { createTlsFiles, startMemcached } from "../../scripts/servers.ts";

const dir = mkdtempSync(join(tmpdir(), "kvwire-mc-tls-"));
const files = await createTlsFiles(dir);
const ca = readFileSync(files.caFile, "utf8");
const [tlsServer, saslServer] = await Promise.all([
  startMemcached({ tls: files }),
  startMemcached({ sasl: { username: "kvwire", password: "s3cret-pw" } }),
]);
after(async () => {
  await Promise.all([tlsServer.stop(), saslServer.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

for (const protocol of ["meta", "text", "binary"] as const) {
  test(`memcache tls (${protocol}): works with the server's CA; fails verification without`, async () => {
    const address = `127.0.0.1:${tlsServer.tlsPort}`;
    const mc = await MemcacheClient.connect([address], { protocol, tls: { ca } });
    try {
      const value = "x".repeat(200_000);
      assert.equal(await mc.set(`tls:${protocol}`, value), true);
      assert.equal(await mc.get(`tls:${protocol}`), value);
      assert.deepEqual(
        await mc.getMulti([`tls:${protocol}`, "tls:none"]),
        new Map([[`tls:${protocol}`, value]]),
      );
    } finally {
      await mc.close();
    }
    await assert.rejects(
      MemcacheClient.connect([address], { protocol, tls: true }),
      (e: unknown) => e instanceof TlsError && e.message.includes(address),
    );
  });
}

test("memcache tls: the plain port of the same server still speaks plain text", async () => {
  const mc = await MemcacheClient.connect([`127.0.0.1:${tlsServer.port}`]);
  try {
    assert.equal(typeof await mc.get("tls:meta"), "string", "the same data, unencrypted");
  } finally {
    await mc.close();
  }
});

test("memcache sasl: PLAIN over the binary protocol with the right password", async () => {
  const mc = await MemcacheClient.connect([`127.0.0.1:${saslServer.port}`], {
    username: "kvwire",
    password: "s3cret-pw",
  });
  try {
    assert.equal(mc.protocol, "binary", "credentials pick the binary protocol");
    assert.equal(await mc.set("sasl:k", { ok: true }), true);
    assert.deepEqual(await mc.get("sasl:k"), { ok: true });
    assert.equal(await mc.incr("sasl:n", 1, { initial: 7 }), 7n);
  } finally {
    await mc.close();
  }
});

test("memcache sasl: a wrong password is refused without leaking it", async () => {
  await assert.rejects(
    MemcacheClient.connect([`127.0.0.1:${saslServer.port}`], {
      username: "kvwire",
      password: "not-the-password",
    }),
    (e: unknown) =>
      e instanceof MemcacheError && e.serverCode === "AUTH_ERROR" &&
      /SASL authentication failed/.test(e.message) && !e.message.includes("not-the-password"),
  );
});

test("memcache sasl: without credentials the server refuses data commands", async () => {
  const mc = await MemcacheClient.connect([`127.0.0.1:${saslServer.port}`], {
    protocol: "binary",
  });
  try {
    await assert.rejects(
      mc.get("sasl:k"),
      (e: unknown) => e instanceof MemcacheError && e.serverCode === "AUTH_ERROR",
    );
  } finally {
    await mc.close();
  }
});

test("memcache sasl: credentials need the binary protocol", () => {
  assert.throws(
    () => new MemcacheClient({ protocol: "meta", username: "u", password: "p" }),
    /needs the binary protocol/,
  );
  assert.throws(() => new MemcacheClient({ username: "u" }), /both a username and a password/);
});
