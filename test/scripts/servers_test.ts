// Tests of scripts/servers.ts against the real binaries: each kind answers its protocol over raw
// sockets, stop() frees the port and is idempotent, options (password, TLS, unix sockets) work.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import * as tls from "node:tls";
import { fileURLToPath } from "node:url";
import {
  createTlsFiles,
  freePorts,
  startEtcd,
  startMemcached,
  startRedis,
  startServers,
} from "../../scripts/servers.ts";

type Target = { host: string; port: number } | { path: string };

/** Writes `request`, collects the reply until `done(text)`; rejects on close, error or 10 s. */
function exchange(
  target: Target | (() => net.Socket),
  request: string,
  done: (text: string) => boolean,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = typeof target === "function" ? target() : net.connect(target);
    const decoder = new TextDecoder();
    let text = "";
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(text);
    };
    const timer = setTimeout(() => finish(new Error(`No full reply in 10 s: ${text}`)), 10_000);
    socket.on(typeof target === "function" ? "secureConnect" : "connect", () => {
      socket.write(request);
    });
    socket.on("data", (chunk: Uint8Array) => {
      text += decoder.decode(chunk, { stream: true });
      if (done(text)) finish();
    });
    socket.on("error", (error) => finish(error));
    socket.on(
      "close",
      () => finish(new Error(`Closed before a full reply: ${JSON.stringify(text)}`)),
    );
  });
}

/** Resolves with the connect error code, or "connected". */
function tryConnect(target: Target): Promise<string> {
  return new Promise<string>((resolve) => {
    const socket = net.connect(target);
    socket.on("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.on("error", (error: Error & { code?: string }) => resolve(error.code ?? error.message));
  });
}

interface HttpReply {
  status: number;
  body: string;
}

/** One HTTP/1.1 request with `Connection: close`; handles content-length and chunked bodies. */
async function http(port: number, method: string, url: string, body = ""): Promise<HttpReply> {
  const bytes = new TextEncoder().encode(body).length;
  const request = `${method} ${url} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${bytes}\r\n\r\n${body}`;
  const text = await new Promise<string>((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => socket.write(request));
    const decoder = new TextDecoder();
    let received = "";
    socket.on("data", (chunk: Uint8Array) => (received += decoder.decode(chunk, { stream: true })));
    socket.on("error", reject);
    socket.on("close", () => resolve(received));
  });
  const split = text.indexOf("\r\n\r\n");
  assert.ok(split > 0, `Not an HTTP response: ${JSON.stringify(text)}`);
  const head = text.slice(0, split);
  let rest = text.slice(split + 4);
  if (/^transfer-encoding:\s*chunked/im.test(head)) {
    let decoded = "";
    for (;;) {
      const eol = rest.indexOf("\r\n");
      const size = parseInt(rest.slice(0, eol), 16);
      if (!(size > 0)) break;
      decoded += rest.slice(eol + 2, eol + 2 + size);
      rest = rest.slice(eol + 2 + size + 2);
    }
    rest = decoded;
  }
  return { status: Number(head.split(" ")[1]), body: rest };
}

const b64 = (s: string): string => btoa(s);

test("servers: redis answers PING, SET and GET; stop frees the port and is idempotent", async () => {
  const redis = await startRedis();
  assert.equal(redis.kind, "redis");
  assert.equal(redis.host, "127.0.0.1");
  assert.ok(fs.statSync(redis.dir).isDirectory());
  const target = { host: redis.host, port: redis.port };
  assert.equal(await exchange(target, "PING\r\n", (t) => t.endsWith("\r\n")), "+PONG\r\n");
  const reply = await exchange(
    target,
    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
    (t) => t.endsWith("hello\r\n"),
  );
  assert.equal(reply, "+OK\r\n$5\r\nhello\r\n");
  await redis.stop();
  assert.equal(await tryConnect(target), "ECONNREFUSED");
  assert.equal(fs.existsSync(redis.dir), false);
  await redis.stop();
  await Promise.all([redis.stop(), redis.stop()]);
});

test("servers: redis with a password wants AUTH", async () => {
  const redis = await startRedis({ password: "s3cret" });
  try {
    const target = { host: redis.host, port: redis.port };
    assert.match(await exchange(target, "PING\r\n", (t) => t.endsWith("\r\n")), /^-NOAUTH/);
    const reply = await exchange(target, "AUTH s3cret\r\nPING\r\n", (t) => t.endsWith("PONG\r\n"));
    assert.equal(reply, "+OK\r\n+PONG\r\n");
  } finally {
    await redis.stop();
  }
});

test("servers: redis listens on a unix socket too", async () => {
  const redis = await startRedis({ unixSocket: true });
  try {
    assert.ok(redis.socketPath?.startsWith(redis.dir));
    const reply = await exchange({ path: redis.socketPath! }, "PING\r\n", (t) => t.endsWith("\n"));
    assert.equal(reply, "+PONG\r\n");
  } finally {
    await redis.stop();
  }
});

test("servers: redis TLS port answers PING with a verified certificate", async () => {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), "kvwire-tls-test-"));
  const files = await createTlsFiles(dir);
  const redis = await startRedis({ tls: files });
  try {
    assert.ok(redis.tlsPort && redis.tlsPort !== redis.port);
    const ca = fs.readFileSync(files.caFile, "utf8");
    const connect = (): net.Socket => tls.connect({ host: "127.0.0.1", port: redis.tlsPort!, ca });
    assert.equal(await exchange(connect, "PING\r\n", (t) => t.endsWith("\n")), "+PONG\r\n");
  } finally {
    await redis.stop();
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
});

test("servers: memcached answers set and get; stop frees the port", async () => {
  const mc = await startMemcached();
  const target = { host: mc.host, port: mc.port };
  const reply = await exchange(
    target,
    "set k 5 0 3\r\nabc\r\nget k\r\n",
    (t) => t.endsWith("END\r\n"),
  );
  assert.equal(reply, "STORED\r\nVALUE k 5 3\r\nabc\r\nEND\r\n");
  await mc.stop();
  assert.equal(await tryConnect(target), "ECONNREFUSED");
  await mc.stop();
});

test("servers: memcached on a unix socket", async () => {
  const mc = await startMemcached({ unixSocket: true });
  try {
    assert.equal(mc.port, 0);
    const reply = await exchange({ path: mc.socketPath! }, "version\r\n", (t) => t.endsWith("\n"));
    assert.match(reply, /^VERSION \d/);
  } finally {
    await mc.stop();
  }
});

test("servers: etcd v3 gateway puts and ranges; v2 keys work; stop frees the port", async () => {
  const etcd = await startEtcd();
  assert.equal(etcd.url, `http://127.0.0.1:${etcd.port}`);
  const put = await http(
    etcd.port,
    "POST",
    "/v3/kv/put",
    JSON.stringify({ key: b64("foo"), value: b64("bar") }),
  );
  assert.equal(put.status, 200, put.body);
  const range = await http(etcd.port, "POST", "/v3/kv/range", JSON.stringify({ key: b64("foo") }));
  assert.equal(range.status, 200, range.body);
  assert.equal(JSON.parse(range.body).kvs[0].value, b64("bar"));
  const v2put = await http(etcd.port, "PUT", "/v2/keys/foo", "value=baz");
  assert.equal(v2put.status, 201, v2put.body);
  assert.equal(JSON.parse(v2put.body).node.value, "baz");
  const v2get = await http(etcd.port, "GET", "/v2/keys/foo");
  assert.equal(JSON.parse(v2get.body).node.value, "baz");
  await etcd.stop();
  assert.equal(await tryConnect({ host: etcd.host, port: etcd.port }), "ECONNREFUSED");
  assert.equal(await tryConnect({ host: etcd.host, port: etcd.peerPort }), "ECONNREFUSED");
  await etcd.stop();
});

test("servers: etcd with enableV2 false has no v2 keys API", async () => {
  const etcd = await startEtcd({ enableV2: false });
  try {
    const reply = await http(etcd.port, "PUT", "/v2/keys/foo", "value=baz");
    assert.equal(reply.status, 404);
  } finally {
    await etcd.stop();
  }
});

test("servers: startServers starts every kind on distinct ports", async () => {
  const servers = await startServers(["redis", "memcached", "etcd"]);
  try {
    assert.deepEqual(servers.map((s) => s.kind), ["redis", "memcached", "etcd"]);
    assert.equal(new Set(servers.map((s) => s.port)).size, 3);
    const [redis, mc, etcd] = servers;
    assert.equal(await exchange(redis, "PING\r\n", (t) => t.endsWith("\n")), "+PONG\r\n");
    assert.match(await exchange(mc, "version\r\n", (t) => t.endsWith("\n")), /^VERSION/);
    assert.match((await http(etcd.port, "GET", "/version")).body, /"etcdserver":"3\./);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
});

test("servers: a server that cannot start fails with its log", async () => {
  await assert.rejects(
    startRedis({ args: ["--no-such-directive", "1"] }),
    (error: Error) =>
      /exited before it was ready/.test(error.message) && /Log:/.test(error.message),
  );
});

test("servers: freePorts returns distinct bindable ports", async () => {
  const ports = await freePorts(3);
  assert.equal(new Set(ports).size, 3);
  for (const port of ports) assert.ok(port > 0 && port < 65536);
});

test("servers: the CLI prints addresses (a Redis Cluster too), serves until SIGTERM, then stops", async () => {
  const script = fileURLToPath(new URL("../../scripts/servers.ts", import.meta.url));
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  const [cmd, args] = g.Deno
    ? [process.execPath, ["run", "-A", script, "redis", "redis-cluster"]]
    : g.Bun
    ? [process.execPath, [script, "redis", "redis-cluster"]]
    : [path.join(root, "node_modules/.bin/tsx"), [script, "redis", "redis-cluster"]];
  const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  const exit = new Promise<number | null>((resolve) =>
    child.once("close", (code) => resolve(code))
  );
  let out = "";
  let err = "";
  child.stderr.on("data", (c: Uint8Array) => (err += new TextDecoder().decode(c)));
  // Up once it printed the exports (stdout) and then its "up" line (stderr).
  const line = await new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const m = /^export KVWIRE_REDIS=(\S+)$/m.exec(out);
      if (m && err.includes("# servers are up")) resolve(m[1]);
    };
    child.stdout.on("data", (c: Uint8Array) => {
      out += new TextDecoder().decode(c);
      check();
    });
    child.stderr.on("data", check);
    void exit.then((code) => reject(new Error(`CLI exited with ${code}: ${out}${err}`)));
  });
  try {
    assert.match(out, /^redis 127\.0\.0\.1:\d+$/m);
    const [host, port] = line.split(":");
    const target = { host, port: Number(port) };
    assert.equal(await exchange(target, "PING\r\n", (t) => t.endsWith("\n")), "+PONG\r\n");
    const nodes = /^export KVWIRE_REDIS_CLUSTER=(\S+)$/m.exec(out)?.[1].split(",") ?? [];
    assert.equal(nodes.length, 6, out);
    const [clusterHost, clusterPort] = nodes[5].split(":");
    const node = { host: clusterHost, port: Number(clusterPort) };
    const info = await exchange(node, "CLUSTER INFO\r\n", (t) => t.includes("cluster_known_nodes"));
    assert.match(info, /cluster_state:ok/);
    child.kill("SIGTERM");
    const code = await exit;
    assert.match(err, /# SIGTERM: stopping\n# stopped\n/);
    // Deno's node:child_process reports the signal we sent, not the child's own exit(0).
    if (!g.Deno) assert.equal(code, 0, err);
    assert.equal(await tryConnect(target), "ECONNREFUSED");
    assert.equal(await tryConnect(node), "ECONNREFUSED");
  } finally {
    child.kill("SIGKILL");
  }
});
