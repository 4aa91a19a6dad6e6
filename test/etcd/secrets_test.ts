// etcd secrets (the auth password, the token, the TLS client key) never show through inspect,
// console.log, JSON.stringify, String() or an error's cause chain, on both protocols: of the
// clients, views, leases, locks, elections, watchers, or the errors of a refused or garbled
// authenticate.

import { after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { createTlsFiles, startEtcd } from "../../scripts/servers.ts";
import { KvError, RemoteProtocolError, TlsError } from "../../src/core/errors.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import { EtcdError } from "../../src/etcd/errors.ts";
import { EtcdV2Client } from "../../src/etcd/v2.ts";
import { eachProtocol, runningProtocol } from "../_helpers/etcd_protocols.ts";
import { etcdGateway } from "./_hostile.ts";
import { grpcGateway } from "./_hostile_grpc.ts";
import { requestLog } from "../_helpers/request_log.ts";

const PASSWORD = "pw-Secret-7f3a9c";
const dir = mkdtempSync(join(tmpdir(), "kvwire-etcd-secrets-"));
const files = await createTlsFiles(dir);
const ca = readFileSync(files.caFile, "utf8");
const cert = readFileSync(files.certFile, "utf8");
const key = readFileSync(files.keyFile, "utf8");
/** The base64 body of the private key: any part of it showing is a leak. */
const KEY_BODY = key.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
// Server TLS only: with --client-cert-auth and auth on, etcd 3.4's gateway refuses requests
// whose certificate has a CommonName. The client still holds a key (and offers it if asked).
const server = await startEtcd({ tls: files, enableV2: true });
const tls = { ca, cert, key };
const closers: { close(): unknown }[] = [];
after(async () => {
  for (const c of closers.reverse()) await c.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

// Auth on: a root user with the root role (set up before auth is enabled).
{
  const admin = new EtcdClient({ endpoints: [server.url], tls });
  await admin.channel.call("/v3/auth/user/add", { name: "root", password: PASSWORD });
  await admin.channel.call("/v3/auth/role/add", { name: "root" });
  await admin.channel.call("/v3/auth/user/grant", { user: "root", role: "root" });
  await admin.channel.call("/v3/auth/enable", {});
  await admin.close();
}

function client(options: ConstructorParameters<typeof EtcdClient>[0] = {}): EtcdClient {
  const etcd = new EtcdClient({
    protocol: runningProtocol(),
    endpoints: [server.url],
    tls,
    auth: { username: "root", password: PASSWORD },
    requestTimeout: 5000,
    ...options,
  });
  closers.push(etcd);
  return etcd;
}

/** Every way a value gets printed or serialized, its error cause chain included. */
function renderings(value: unknown, seen = new Set<unknown>()): string[] {
  if (seen.has(value)) return [];
  seen.add(value);
  const runtime = globalThis as {
    Deno?: { inspect(v: unknown, o?: object): string };
    Bun?: { inspect(v: unknown, o?: object): string };
  };
  const out = [inspect(value, { depth: Infinity, showHidden: true, getters: true })];
  out.push(
    runtime.Deno?.inspect(value, { depth: Infinity, showHidden: true, getters: true }) ?? "",
  );
  out.push(runtime.Bun?.inspect(value, { depth: Infinity }) ?? "");
  try {
    out.push(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? String(v) : v)) ?? "");
  } catch (error) {
    out.push(String(error));
  }
  out.push(String(value));
  if (value instanceof Error) {
    out.push(value.message, value.stack ?? "");
    if (value.cause !== undefined) out.push(...renderings(value.cause, seen));
    if (value instanceof AggregateError) {
      for (const e of value.errors) out.push(...renderings(e, seen));
    }
  }
  return out;
}

/** Fails naming the rendering that shows one of `secrets`. */
function assertNoSecrets(what: string, value: unknown, secrets: string[]): void {
  for (const text of renderings(value)) {
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), `${what} shows a secret: ${text.slice(0, 600)}`);
    }
  }
}

eachProtocol(
  "etcd secrets: clients, views, leases, locks, elections and watchers never show them",
  async () => {
    const log = requestLog();
    const etcd = client({ connect: log.connect });
    await etcd.put("secrets/k", "v");
    // The gateway's header, or gRPC's metadata (decoded by the log).
    const token = /\r\n(?:Authorization|token): (\S+)\r\n/.exec(log.written.join(""))?.[1];
    assert.ok(token !== undefined && token.length > 8, "the client sent a token");
    assert.ok(log.written.join("").includes(PASSWORD), "the password went out (inside TLS)");
    const secrets = [PASSWORD, token, KEY_BODY.slice(0, 40), KEY_BODY.slice(-40)];

    const lease = await etcd.grant(30);
    const lock = await etcd.lock("secrets/lock");
    const election = etcd.election("secrets/election");
    const leadership = await election.campaign("me");
    const observer = election.observe();
    const watcher = etcd.watch("secrets/w");
    await watcher.created;
    const v2 = new EtcdV2Client({ endpoints: [server.url], tls });
    closers.push(v2, observer, watcher);
    const objects: Record<string, unknown> = {
      client: etcd,
      view: etcd.namespace("ns/"),
      channel: etcd.channel,
      lease,
      lock,
      election,
      leadership,
      observer,
      watcher,
      v2,
    };
    for (const [what, value] of Object.entries(objects)) assertNoSecrets(what, value, secrets);

    // What they do show: endpoints, TLS, the user name.
    const summary = {
      endpoints: [`127.0.0.1:${server.port}`],
      tls: true,
      clientCertificate: true,
      username: "root",
    };
    assert.deepEqual(JSON.parse(JSON.stringify(etcd)), summary);
    assert.match(inspect(etcd), /^EtcdClient \{.*"username":"root"/);
    assert.match(inspect(v2), /^EtcdV2Client \{.*"clientCertificate":true/);
    const runtime = globalThis as { Deno?: { inspect(v: unknown): string } };
    if (runtime.Deno) assert.match(runtime.Deno.inspect(etcd), /^EtcdClient \{.*"tls":true/);

    await leadership.resign();
    await lock.release();
    await lease.revoke();
  },
);

eachProtocol(
  "etcd secrets: a refused authenticate names neither the password nor the key",
  async () => {
    const wrong = "wrong-" + PASSWORD;
    const refused = await client({ auth: { username: "root", password: wrong } }).get("k")
      .catch((e: unknown) => e);
    assert.ok(refused instanceof EtcdError, String(refused));
    assert.match(refused.message, /authentication failed/);
    assertNoSecrets("refused authenticate", refused, [wrong, PASSWORD, KEY_BODY.slice(0, 40)]);

    // The certificate is refused without the CA: the TLS error carries no key material.
    const untrusted = await client({ tls: { cert, key } }).get("k").catch((e: unknown) => e);
    assert.ok(untrusted instanceof TlsError, String(untrusted));
    assertNoSecrets("TLS failure", untrusted, [
      PASSWORD,
      KEY_BODY.slice(0, 40),
      KEY_BODY.slice(-40),
    ]);
  },
);

/** A refused authenticate answer's error: a protocol error that quotes neither secret. */
function assertGarbled(error: unknown, token: string): void {
  assert.ok(error instanceof KvError, String(error));
  assert.ok(
    error instanceof RemoteProtocolError || error.cause instanceof RemoteProtocolError,
    String(error),
  );
  assertNoSecrets("garbled authenticate", error, [token, PASSWORD]);
}

eachProtocol(
  "etcd secrets: a garbled authenticate answer does not quote the token",
  async (protocol) => {
    const token = "FakeTokenSecret.42";
    const options = { tls: undefined, requestTimeout: 500 };
    if (protocol === "grpc") {
      // An AuthenticateResponse whose token field (2) declares more bytes than follow.
      const bytes = new TextEncoder().encode(token);
      const fake = grpcGateway(etcdGateway(), new Uint8Array([0x12, bytes.length + 10, ...bytes]));
      const etcd = client({ ...options, endpoints: ["fake:2379"], connect: fake.connect });
      assertGarbled(await etcd.get("k").catch((e: unknown) => e), token);
      return;
    }
    const body = `{"header":{},"token":"${token}"`; // cut short: not JSON
    const sockets = new Set<net.Socket>();
    const fake = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.once("data", () => {
        socket.write(
          `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}` +
            `\r\n\r\n${body}`,
        );
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
    const { port } = fake.address() as net.AddressInfo;
    try {
      const etcd = client({ ...options, endpoints: [`127.0.0.1:${port}`] });
      assertGarbled(await etcd.get("k").catch((e: unknown) => e), token);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => fake.close(() => resolve()));
    }
  },
);
