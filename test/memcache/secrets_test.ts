// The SASL password and a TLS client key never show through util.inspect / Deno.inspect /
// Bun.inspect (what console.log uses), JSON.stringify, String() or an error's cause chain, on
// the client, its views, pool, server nodes, credentials or errors; and a TLS-configured client
// sends a plain listener nothing but a TLS ClientHello (issue 13).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { inspect } from "node:util";
import { MemcacheClient } from "../../src/memcache/client.ts";
import { SaslCredentials } from "../../src/memcache/credentials.ts";
import { startMemcached } from "../../scripts/servers.ts";

const PASSWORD = "pw-7f3a9c-never-shown";
const TLS_KEY = "-----BEGIN PRIVATE KEY-----\nkey-5b1e0d-never-shown\n-----END PRIVATE KEY-----";
const SECRETS = [PASSWORD, "key-5b1e0d-never-shown"];

const saslServer = await startMemcached({ sasl: { username: "kvwire", password: PASSWORD } });
after(() => saslServer.stop());

interface Inspectors {
  inspect?: (value: unknown, options?: Record<string, unknown>) => string;
}
const deno = (globalThis as { Deno?: Inspectors }).Deno;
const bun = (globalThis as { Bun?: Inspectors }).Bun;

/** Every printable form of `value`, and of each error down its cause chain. */
function renderings(value: unknown): string[] {
  const out: string[] = [];
  for (let v = value, depth = 0; v !== undefined && depth < 10; depth++) {
    out.push(inspect(v, { depth: Infinity, showHidden: true, getters: true }));
    if (deno?.inspect) {
      out.push(deno.inspect(v, { depth: Infinity, showHidden: true, getters: true }));
    }
    if (bun?.inspect) out.push(bun.inspect(v));
    try {
      out.push(JSON.stringify(v) ?? "");
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // a cycle: nothing printed
    }
    out.push(String(v));
    v = v instanceof Error ? v.cause : undefined;
  }
  return out;
}

function assertHidden(what: string, value: unknown): void {
  for (const text of renderings(value)) {
    for (const secret of SECRETS) {
      assert.ok(!text.includes(secret), `${what} shows a secret: ${text.slice(0, 300)}`);
    }
  }
}

test("memcache secrets: client, views, pool, nodes and credentials never show the password or TLS key", () => {
  const mc = new MemcacheClient({
    servers: ["127.0.0.1:1", "127.0.0.1:2"],
    username: "kvwire",
    password: PASSWORD,
    tls: { cert: "-----BEGIN CERTIFICATE-----\nc\n-----END CERTIFICATE-----", key: TLS_KEY },
  });
  const shared = (mc as unknown as { shared: { pool: { nodes: unknown[] } } }).shared;
  assertHidden("client", mc);
  assertHidden("view", mc.with({ timeout: 5 }));
  assertHidden("shared state", shared);
  assertHidden("pool", shared.pool);
  shared.pool.nodes.forEach((node, i) => assertHidden(`node ${i}`, node));
  assertHidden("servers", mc.servers);
  assert.match(inspect(mc), /MemcacheClient .*127\.0\.0\.1:1/, "the summary names the servers");
  const sasl = new SaslCredentials("kvwire", PASSWORD);
  assertHidden("credentials", sasl);
  assert.equal(sasl.password, PASSWORD, "readable on purpose only");
  mc.destroy();
});

test("memcache secrets: errors of a refused login and of an unreachable server never show them", async () => {
  const wrong = `${PASSWORD}-wrong`;
  const refused = await MemcacheClient.connect([`127.0.0.1:${saslServer.port}`], {
    username: "kvwire",
    password: wrong,
  }).then(() => undefined, (error: unknown) => error);
  assert.ok(refused instanceof Error, "the wrong password is refused");
  assertHidden("login error", refused);
  assert.ok(!renderings(refused).some((t) => t.includes(wrong)));

  const mc = await MemcacheClient.connect([`127.0.0.1:${saslServer.port}`], {
    username: "kvwire",
    password: PASSWORD,
  });
  assert.equal(await mc.set("secrets:k", "v"), true, "the right password works");
  assertHidden("connected client", mc);
  await mc.close();

  const down = new MemcacheClient({ servers: ["127.0.0.1:1"], username: "u", password: PASSWORD });
  const error = await down.get("k").then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof Error, "an unreachable server fails the call");
  assertHidden("connect error", error);
  down.destroy();
});

for (const protocol of ["meta", "text", "binary"] as const) {
  test(`memcache tls (${protocol}): a plain listener sees only a TLS ClientHello`, async () => {
    const first: Uint8Array[] = [];
    const server = net.createServer((socket) => {
      socket.once("data", (chunk: Uint8Array) => {
        first.push(new Uint8Array(chunk));
        socket.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    const credentials = protocol === "binary" ? { username: "u", password: PASSWORD } : {};
    await assert.rejects(
      MemcacheClient.connect([`127.0.0.1:${port}`], {
        protocol,
        tls: true,
        connectTimeout: 2000,
        ...credentials,
      }),
    );
    await new Promise<void>((resolve) => server.close(() => resolve()));
    assert.equal(first.length, 1, "the client wrote to the listener");
    assert.equal(first[0][0], 0x16, "a TLS handshake record");
    const text = new TextDecoder("latin1").decode(first[0]);
    for (const plain of ["version", "mg ", PASSWORD]) assert.ok(!text.includes(plain), plain);
  });
}

test("memcache tls: settings that would be ignored are refused loudly", () => {
  const bad: unknown[] = [
    { servername: "x" },
    { rejectUnauthorised: false },
    { ca: 5 },
    { rejectUnauthorized: "no" },
    "yes",
  ];
  for (const tls of bad) {
    assert.throws(() => new MemcacheClient({ tls: tls as never }), TypeError, JSON.stringify(tls));
  }
  new MemcacheClient({ tls: { ca: ["a"], serverName: "s", rejectUnauthorized: true } }).destroy();
});
