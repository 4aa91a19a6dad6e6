// rediss:// and the tls option are honoured on every Redis path (client, lazy client, pool,
// pub/sub, duplicate) or refused loudly: a plain listener only ever sees a TLS ClientHello.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { KvError, TlsError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import type { Connect } from "../../src/core/transport.ts";
import { memoryConnector } from "../../transports/memory.ts";

/** A plain TCP listener recording the first byte each connection sends. */
const firstBytes: number[] = [];
let accepted = 0;
const waiters: (() => void)[] = [];
const sockets = new Set<Socket>();
const listener = createServer((socket) => {
  accepted++;
  sockets.add(socket);
  socket.once("data", (chunk: Uint8Array) => {
    firstBytes.push(chunk[0]);
    for (const wake of waiters.splice(0)) wake();
    socket.destroy();
  });
  socket.on("error", () => {});
  socket.on("close", () => sockets.delete(socket));
});
await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
const port = (listener.address() as { port: number }).port;
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => listener.close(() => resolve()));
});

async function bytesSeen(n: number): Promise<void> {
  while (firstBytes.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
}

const quiet = { reconnect: { enabled: false }, connectTimeout: 2000, commandTimeout: 2000 };

async function rejects(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (e: unknown) => e instanceof KvError);
}

test("redis tls audit: every path to a rediss:// address opens with a TLS ClientHello (0x16)", async () => {
  const url = `rediss://127.0.0.1:${port}`;
  const before = firstBytes.length;
  await rejects(RedisClient.connect(url, quiet));
  await rejects(new RedisClient({ ...quiet, url }).get("k"));
  await rejects(new RedisClient({ ...quiet, port, tls: true }).get("k"));
  await rejects(new RedisClient({ ...quiet, url, protocol: 2 }).blPop(["k"], 0.1));
  await rejects(new RedisClient({ ...quiet, url }).pubsub().subscribe("chan"));
  await rejects(new RedisClient({ ...quiet, url }).duplicate().get("k"));
  await rejects(new RedisClient({ ...quiet, url: `redis://127.0.0.1:${port}`, tls: {} }).get("k"));
  await bytesSeen(before + 7);
  assert.deepEqual(firstBytes.slice(before), Array(7).fill(0x16), "only ClientHellos");
  assert.equal(accepted, firstBytes.length, "no connection sent anything else first");
});

test("redis tls audit: a connector that cannot do TLS is refused before any byte is written", async () => {
  let received = 0;
  const memory = memoryConnector((server) => {
    server.read().then((chunk) => {
      if (chunk) received += chunk.length;
    }, () => {});
  });
  // A custom connector that silently ignores the tls option.
  const connect: Connect = (address, options) => memory(address, { ...options, tls: undefined });
  await assert.rejects(
    RedisClient.connect({ ...quiet, tls: true, connect }),
    (e: unknown) => e instanceof TlsError && /TLS was asked for/.test(e.message),
  );
  assert.equal(received, 0);
});

test("redis tls audit: rediss:// with tls: false is a contradiction refused at construction", () => {
  assert.throws(
    () => new RedisClient({ url: `rediss://127.0.0.1:${port}`, tls: false }),
    (e: unknown) => e instanceof TypeError && /rediss:\/\/ URL asks for TLS/.test(e.message),
  );
});
