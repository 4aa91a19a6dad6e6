// etcd over TLS against real etcd servers (server TLS, and mutual TLS with --client-cert-auth)
// with certificates made at test time; a fake listener proves an https:// endpoint never gets
// a byte that is not a TLS ClientHello.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import * as tls from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTlsFiles, startEtcd, type TlsFiles } from "../../scripts/servers.ts";
import { KvError, TlsError } from "../../src/core/errors.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { text } from "../../src/etcd/kv.ts";
import { EtcdV2Client } from "../../src/etcd/v2.ts";
import { cloudflareConnector, type CloudflareSocketConnect } from "../../transports/cloudflare.ts";
import { memoryConnector } from "../../transports/memory.ts";
import { websocketConnector } from "../../transports/websocket.ts";
import { srvResolver } from "../../transports/auto.ts";
import { startDnsServer } from "../_helpers/dns_server.ts";

const dir = mkdtempSync(join(tmpdir(), "kvwire-etcd-tls-"));
const files = await createTlsFiles(mkdtempSync(join(dir, "ca-")));
const foreign = await createTlsFiles(mkdtempSync(join(dir, "foreign-"))); // another CA
const pem = (f: TlsFiles): { ca: string; cert: string; key: string } => ({
  ca: readFileSync(f.caFile, "utf8"),
  cert: readFileSync(f.certFile, "utf8"),
  key: readFileSync(f.keyFile, "utf8"),
});
const { ca, cert, key } = pem(files);
const [server, mutual] = await Promise.all([
  startEtcd({ tls: files }),
  startEtcd({ tls: { ...files, clientCertAuth: true } }),
]);
// SRV records of the TLS server: etcd's SSL name and aio_etcd's name.
const secure = [{ priority: 0, weight: 0, port: server.port, target: "127.0.0.1" }];
const dns = await startDnsServer({
  "_etcd-client-ssl._tcp.secure.test": secure,
  "_etcd._tcp.secure.test": secure,
});
const resolveSrv = srvResolver({ nameServer: { host: "127.0.0.1", port: dns.port } });
const closers: { close(): unknown }[] = [dns];
after(async () => {
  for (const c of closers) await c.close();
  await Promise.all([server.stop(), mutual.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

function v3(options: ConstructorParameters<typeof EtcdClient>[0]): EtcdClient {
  const client = new EtcdClient({ requestTimeout: 5000, ...options });
  closers.push(client);
  return client;
}

function v2(options: ConstructorParameters<typeof EtcdV2Client>[0]): EtcdV2Client {
  const client = new EtcdV2Client({ requestTimeout: 5000, ...options });
  closers.push(client);
  return client;
}

const p = `kvwire-tls/${crypto.randomUUID()}/`;
const PROTOCOLS = ["grpc", "gateway"] as const;

test("etcd tls: an https:// endpoint gets a TLS ClientHello first, never plaintext", async () => {
  const firstBytes: Uint8Array[] = [];
  const listener = net.createServer((socket) => {
    let got = new Uint8Array(0);
    socket.on("data", (chunk: Uint8Array) => {
      got = new Uint8Array([...got, ...chunk]);
      // Wait for the whole first record (5-byte header + its length), then hang up.
      if (got.length < 5 || got.length < 5 + ((got[3] << 8) | got[4])) return;
      firstBytes.push(got);
      socket.destroy();
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const { port } = listener.address() as net.AddressInfo;
  try {
    const endpoint = `https://127.0.0.1:${port}`;
    const v3client = v3({ endpoints: [endpoint], requestTimeout: 300, coalesceReads: false });
    const v2client = v2({ endpoints: [endpoint], requestTimeout: 300 });
    await assert.rejects(v3client.put("secret-key", "secret-value"), KvError);
    await assert.rejects(v2client.write("/secret-key", "secret-value"), KvError);
    assert.ok(firstBytes.length >= 2, `connections seen: ${firstBytes.length}`);
    for (const bytes of firstBytes) {
      // A TLS record of type handshake (0x16), version 3.x, carrying a ClientHello (type 1).
      assert.equal(bytes[0], 0x16, `first byte ${bytes[0]} (${JSON.stringify(text(bytes))})`);
      assert.equal(bytes[1], 0x03);
      assert.ok(bytes[2] >= 0x01 && bytes[2] <= 0x04, `version 3.${bytes[2]}`);
      assert.equal(bytes[5], 0x01);
      // Nothing but that record: the client waits for the ServerHello before anything else.
      assert.equal(bytes.length, 5 + ((bytes[3] << 8) | bytes[4]));
      assert.ok(!text(bytes).includes("secret") && !text(bytes).includes("HTTP/1.1"));
    }
  } finally {
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  }
});

for (const protocol of PROTOCOLS) {
  test(`etcd tls [${protocol}]: put, get and watch over https:// with the server's CA`, async () => {
    const etcd = v3({ endpoints: [server.url], tls: { ca }, protocol });
    await using watcher = etcd.watch(`${p}w${protocol}`);
    await watcher.created;
    await etcd.put(`${p}w${protocol}`, "over tls");
    assert.equal(await etcd.getString(`${p}w${protocol}`), "over tls");
    for await (const event of watcher) {
      assert.equal(event.type, "put");
      assert.equal(text(event.kv.value), "over tls");
      break;
    }
    // A bare host:port endpoint with the tls option speaks TLS too.
    const bare = v3({ endpoints: [`127.0.0.1:${server.port}`], tls: { ca }, protocol });
    assert.equal(await bare.getString(`${p}w${protocol}`), "over tls");
    // The certificate names localhost too: verified against the name.
    const named = v3({ endpoints: [`https://localhost:${server.port}`], tls: { ca }, protocol });
    assert.equal(await named.getString(`${p}w${protocol}`), "over tls");
  });
}

test("etcd tls: without the server's CA, verification fails with TlsError", async () => {
  const etcd = v3({ endpoints: [server.url] });
  await assert.rejects(etcd.put(`${p}nope`, "v"), (e: unknown) => {
    assert.ok(e instanceof TlsError, `${e}`);
    assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${server.port}`));
    return true;
  });
  const other = v3({ endpoints: [server.url], tls: { ca: pem(foreign).ca } });
  await assert.rejects(other.getString(`${p}nope`), TlsError);
  await assert.rejects(v2({ endpoints: [server.url] }).read("/nope"), TlsError);
});

test("etcd tls: serverName is what is verified; turning verification off must be spelled out", async () => {
  const named = v3({ endpoints: [server.url], tls: { ca, serverName: "localhost" } });
  await named.put(`${p}sni`, "named");
  const wrongName = v3({ endpoints: [server.url], tls: { ca, serverName: "etcd.example.com" } });
  await assert.rejects(wrongName.getString(`${p}sni`), TlsError);
  const unverified = v3({ endpoints: [server.url], tls: { rejectUnauthorized: false } });
  if ((globalThis as { Deno?: unknown }).Deno === undefined) {
    assert.equal(await unverified.getString(`${p}sni`), "named");
  } else {
    // Deno has no per-connection switch: refused, never silently verified or not.
    await assert.rejects(unverified.getString(`${p}sni`), /cannot turn off TLS certificate/);
  }
});

test("etcd tls: the v2 client writes and reads over https://", async () => {
  const client = v2({ endpoints: [server.url], tls: { ca } });
  await client.write(`/${p}v2`, "v2 over tls");
  assert.equal((await client.read(`/${p}v2`)).value, "v2 over tls");
});

for (const protocol of PROTOCOLS) {
  test(`etcd tls [${protocol}]: srvDomain's _etcd-client-ssl targets are spoken to with TLS (v3, v2)`, async () => {
    const asked = dns.questions.length;
    const etcd = v3({ srvDomain: "secure.test", resolveSrv, tls: { ca }, protocol });
    await etcd.put(`${p}srv${protocol}`, "found in dns");
    assert.equal(await etcd.getString(`${p}srv${protocol}`), "found in dns");
    // A tls option asks for the SSL name only.
    assert.deepEqual(dns.questions.slice(asked), ["_etcd-client-ssl._tcp.secure.test"]);
    // Without one, TLS is still used (with the system's roots, which do not trust this CA).
    await assert.rejects(
      v3({ srvDomain: "secure.test", resolveSrv, protocol }).getString("k"),
      TlsError,
    );
    const client = v2({ srvDomain: "secure.test", protocol: "https", resolveSrv, tls: { ca } });
    await client.write(`/${p}srv2${protocol}`, "v2 found in dns");
    assert.equal((await client.read(`/${p}srv2${protocol}`)).value, "v2 found in dns");
  });
}

for (const protocol of PROTOCOLS) {
  test(`etcd mtls [${protocol}]: a client certificate signed by the trusted CA is let in`, async () => {
    const etcd = v3({ endpoints: [mutual.url], tls: { ca, cert, key }, protocol });
    await using watcher = etcd.watch(`${p}m${protocol}`);
    await watcher.created;
    await etcd.put(`${p}m${protocol}`, "mutual");
    assert.equal(await etcd.getString(`${p}m${protocol}`), "mutual");
    for await (const event of watcher) {
      assert.equal(text(event.kv.value), "mutual");
      break;
    }
    const client = v2({ endpoints: [mutual.url], tls: { ca, cert, key } });
    await client.write(`/${p}mv2${protocol}`, "mutual v2");
    assert.equal((await client.read(`/${p}mv2${protocol}`)).value, "mutual v2");
  });
}

test("etcd mtls: no client certificate, or one from another CA, is refused", async () => {
  const noCert = v3({ endpoints: [mutual.url], tls: { ca }, requestTimeout: 2000 });
  await assert.rejects(noCert.put(`${p}refused`, "v"), KvError);
  const { cert: otherCert, key: otherKey } = pem(foreign);
  const wrong = v3({
    endpoints: [mutual.url],
    tls: { ca, cert: otherCert, key: otherKey },
    requestTimeout: 2000,
  });
  await assert.rejects(wrong.put(`${p}refused`, "v"), KvError);
  const v2NoCert = v2({ endpoints: [mutual.url], tls: { ca }, requestTimeout: 2000 });
  await assert.rejects(v2NoCert.write(`/${p}refused`, "v"), KvError);
  const admitted = v3({ endpoints: [mutual.url], tls: { ca, cert, key } });
  assert.equal(await admitted.getString(`${p}refused`), undefined);
});

test("etcd mtls: a certificate without its key is refused, not ignored", async () => {
  const etcd = v3({ endpoints: [mutual.url], tls: { ca, cert } });
  await assert.rejects(etcd.put(`${p}half`, "v"), (e: unknown) => {
    assert.ok(e instanceof TypeError, `${e}`);
    assert.match(e.message, /tls\.cert was given without tls\.key/);
    return true;
  });
});

test("etcd tls: connectors that cannot honour a TLS setting refuse it, never ignore it", async () => {
  const modes: unknown[] = [];
  const workersSocket: CloudflareSocketConnect = (_address, options) => {
    modes.push(options?.secureTransport);
    throw new Error("no Workers runtime here");
  };
  const workers = cloudflareConnector({ connect: workersSocket });
  const endpoints = ["https://etcd.example.com:2379"];
  const refusedBy = async (client: EtcdClient | EtcdV2Client, what: RegExp): Promise<void> => {
    const call = client instanceof EtcdClient ? client.put("k", "v") : client.write("/k", "v");
    await assert.rejects(call, (e: unknown) => {
      assert.ok(e instanceof TypeError, `${e}`);
      assert.match(e.message, what);
      return true;
    });
  };
  await refusedBy(v3({ endpoints, connect: workers, tls: { cert, key } }), /mutual TLS/);
  await refusedBy(v2({ endpoints, connect: workers, tls: { cert, key } }), /mutual TLS/);
  await refusedBy(v3({ endpoints, connect: workers, tls: { ca } }), /tls\.ca is not used/);
  // gRPC over TLS needs ALPN, which Workers sockets cannot negotiate: refused, saying so.
  await refusedBy(v3({ endpoints, connect: workers }), /cannot negotiate ALPN.*"gateway"/);
  assert.deepEqual(modes, []);
  const gateway = v3({ endpoints, connect: workers, protocol: "gateway", requestTimeout: 200 });
  await assert.rejects(gateway.put("k", "v"));
  assert.equal(modes[0], "on");
  const tunnel = websocketConnector({ url: "ws://127.0.0.1:9/" });
  await refusedBy(v3({ endpoints, connect: tunnel, tls: { cert, key } }), /relay's to configure/);
  await refusedBy(v3({ endpoints, connect: memoryConnector(() => {}) }), /has no TLS/);
});

test("etcd tls [grpc]: a TLS server that does not select h2 by ALPN is refused, naming the fix", async () => {
  const plain = tls.createServer({ cert, key }, (socket) => socket.on("error", () => {}));
  await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
  const { port } = plain.address() as net.AddressInfo;
  try {
    const etcd = v3({
      endpoints: [`https://127.0.0.1:${port}`],
      tls: { ca },
      requestTimeout: 1000,
    });
    await assert.rejects(etcd.put(`${p}alpn`, "v"), (e: unknown) => {
      assert.ok(e instanceof KvError, String(e));
      assert.match(String(e.message), /did not select HTTP\/2 over TLS \(ALPN none\).*"gateway"/);
      return true;
    });
  } finally {
    plain.close();
  }
});
