// The WebSocket transport through a real relay (transports/websocket.ts, tunnel_server.ts):
// the transport conformance cases (DESIGN.md §8), TLS to the target, and a real redis-server
// through the tunnel on this runtime.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ConnectionClosedError, TlsError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { createTunnelToken } from "../../src/tunnel/token.ts";
import { serveTunnel, type TunnelServer } from "../../transports/tunnel_server.ts";
import { websocketConnector, type WebSocketConstructor } from "../../transports/websocket.ts";
import { connectNode } from "../../transports/node.ts";
import type { Connect } from "../../transports/types.ts";
import { redisAddress } from "../_helpers/servers.ts";
import { SECRET, webSocketClass } from "../tunnel/_helpers.ts";
import { testCerts } from "./_helpers/certs.ts";
import {
  assertChunksKept,
  assertSameBytes,
  concat,
  decode,
  encode,
  readChunks,
  replyAfterEof,
  slowChecksumSink,
  source,
  writeAll,
} from "./_helpers/streams.ts";
import {
  echo,
  fnv1a,
  FNV_START,
  type Handler,
  type NetServerOptions,
  patternBytes,
  serveNet,
  silent,
  type TestServer,
  within,
} from "./_helpers/servers.ts";

const GUARD_MS = 20_000;
let relay: TunnelServer;
let connect: Connect;
let WebSocket: WebSocketConstructor;
const open = new Set<TestServer>();

before(async () => {
  WebSocket = await webSocketClass();
  const { ca } = testCerts();
  relay = await serveTunnel({
    secrets: [SECRET],
    allow: ["127.0.0.1:*", "localhost:*"],
    targetTls: { ca },
  });
  const token = await createTunnelToken({
    secret: SECRET,
    targets: ["127.0.0.1:*", "localhost:*"],
  });
  connect = websocketConnector({ url: relay.url, token, WebSocket });
});

after(async () => {
  for (const server of open) await server.close();
  await relay?.close();
});

async function withServer(
  handler: Handler,
  body: (server: TestServer) => Promise<void>,
  options?: NetServerOptions,
): Promise<void> {
  const server = await serveNet(connect, handler, options);
  open.add(server);
  try {
    await body(server);
  } finally {
    open.delete(server);
    await server.close();
  }
}

test("websocket: many small writes arrive intact and in order", async () => {
  await withServer(echo, async (server) => {
    const t = await server.connect();
    try {
      assert.equal(t.info.kind, "websocket");
      const expected = patternBytes(300_000);
      const reading = readChunks(t, expected.length);
      for (let offset = 0, i = 0; offset < expected.length; i++) {
        const n = 1 + (i * 37) % 97;
        await writeAll(t, expected.subarray(offset, offset + n));
        offset += n;
      }
      assertSameBytes(concat(await within(reading, GUARD_MS, "echo")), expected, "echoed bytes");
    } finally {
      t.close();
    }
  });
});

test("websocket: 16 MiB to a slow reader with bounded buffering", async () => {
  const total = 16 * 1024 * 1024;
  const writeSize = 32 * 1024;
  let backpressured!: () => void;
  const firstFalse = new Promise<void>((resolve) => (backpressured = resolve));
  const { sink, result } = slowChecksumSink(firstFalse);
  await withServer(sink, async (server) => {
    const t = await server.connect();
    try {
      const hwm = 64 * 1024;
      const pattern = patternBytes(writeSize + 1021, 7);
      let hash = FNV_START;
      let falses = 0;
      let maxBuffered = 0;
      for (let i = 0; i < total / writeSize; i++) {
        const chunk = pattern.subarray(i % 1021, (i % 1021) + writeSize);
        hash = fnv1a(hash, chunk);
        const ok = t.write(chunk);
        maxBuffered = Math.max(maxBuffered, t.bufferedAmount);
        if (!ok) {
          falses++;
          backpressured();
          await within(t.ready(), GUARD_MS, "ready()");
          assert.ok(t.bufferedAmount < hwm, "ready() resolved below the high-water mark");
        }
      }
      await within(t.end(), GUARD_MS, "end()");
      const got = await within(result, GUARD_MS, "the sink reaching EOF");
      assert.ok(falses > 0, "write() returned false at least once");
      assert.ok(maxBuffered <= hwm + writeSize, `bufferedAmount peaked at ${maxBuffered}`);
      assert.equal(got.bytes, total);
      assert.equal(got.hash, hash, "checksum of the received stream");
    } finally {
      t.close();
    }
  });
});

test("websocket: the server ending gives EOF after its data", async () => {
  const handler: Handler = async (peer) => {
    await peer.write(encode("bye"));
    await peer.end();
  };
  await withServer(handler, async (server) => {
    const t = await server.connect();
    try {
      assert.equal(decode(concat(await within(readChunks(t), GUARD_MS, "EOF"))), "bye");
      assert.equal(await t.read(), null, "read() after EOF is null again");
      t.write(encode("still writable after the server's EOF"));
    } finally {
      t.close();
    }
    await within(t.closed, GUARD_MS, "closed");
  });
});

test("websocket: readSize bounds every chunk a read hands over", async () => {
  const expected = patternBytes(200_000);
  const handler: Handler = async (peer) => {
    await peer.write(expected);
    await peer.end();
  };
  await withServer(handler, async (server) => {
    const t = await server.connect({ readSize: 1000 });
    try {
      const chunks = await within(readChunks(t), GUARD_MS, "200 kB in 1,000-byte reads");
      assert.ok(chunks.every((c) => c.length <= 1000), "no chunk over readSize");
      assertSameBytes(concat(chunks), expected, "the bytes, in order");
    } finally {
      t.close();
    }
  });
});

test("websocket: end() half-closes while the reply still arrives", async () => {
  await withServer(replyAfterEof, async (server) => {
    const t = await server.connect();
    try {
      t.write(encode("hello "));
      t.write(encode("world"));
      await within(t.end(), GUARD_MS, "end()");
      assert.throws(() => t.write(encode("late")), ConnectionClosedError);
      const reply = await within(readChunks(t), GUARD_MS, "reply and EOF");
      assert.equal(decode(concat(reply)), "got hello world");
      await within(t.closed, GUARD_MS, "closed after both sides ended");
    } finally {
      t.close();
    }
  });
});

test("websocket: close() during a pending write settles ready() and end()", async () => {
  await withServer(silent, async (server) => {
    const t = await server.connect();
    const chunk = new Uint8Array(64 * 1024);
    while (t.write(chunk)) assert.fail("the first 64 KiB write reaches the high-water mark");
    const ready = t.ready();
    const ended = t.end();
    t.close();
    await within(assert.rejects(ready, ConnectionClosedError), GUARD_MS, "ready() settling");
    await within(assert.rejects(ended, ConnectionClosedError), GUARD_MS, "end() settling");
    await within(t.closed, GUARD_MS, "closed");
    assert.throws(() => t.write(chunk), ConnectionClosedError);
    await assert.rejects(t.ready(), ConnectionClosedError);
    assert.equal(await t.read(), null);
    t.close(); // idempotent
  });
});

test("websocket: close() settles a pending read with null, or rejects it with the reason", async () => {
  await withServer(silent, async (server) => {
    const plain = await server.connect();
    const pending = plain.read();
    plain.close();
    assert.equal(await within(pending, GUARD_MS, "pending read"), null);
    await within(plain.closed, GUARD_MS, "closed");
    const withReason = await server.connect();
    const reason = new Error("shutting down");
    const pending2 = withReason.read();
    withReason.close(reason);
    await assert.rejects(within(pending2, GUARD_MS, "pending read"), (e) => e === reason);
    await assert.rejects(withReason.read(), (e) => e === reason);
  });
});

test("websocket: chunks handed out are never reused", async () => {
  await withServer(source(256, 16 * 1024), async (server) => {
    const t = await server.connect();
    try {
      await within(assertChunksKept(t, 256, 16 * 1024), GUARD_MS, "4 MiB");
    } finally {
      t.close();
    }
  });
});

test("websocket: a client that does not read stops the sender (receive window)", async () => {
  const total = 32 * 1024 * 1024;
  const size = 64 * 1024;
  let written = 0;
  const sender: Handler = async (peer) => {
    const chunk = patternBytes(size, 3);
    while (written < total) {
      await peer.write(chunk);
      written += size;
    }
    await peer.end();
  };
  await withServer(sender, async (server) => {
    const t = await server.connect();
    try {
      // Quiescence check: the sender made no progress for 250 ms while nobody read.
      let last = -1;
      while (written !== last) {
        last = written;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      assert.ok(written < total / 2, `the sender pushed ${written} bytes to a client not reading`);
      let received = 0;
      for (let chunk = await t.read(); chunk !== null; chunk = await t.read()) {
        received += chunk.length;
      }
      assert.equal(received, total);
    } finally {
      t.close();
    }
  });
});

test("websocket: TLS to the target with the relay's CA, and verification failures", async () => {
  const { cert, key } = testCerts();
  await withServer(echo, async (server) => {
    const { port } = server.address as { port: number };
    const t = await connect({ host: "localhost", port }, { tls: true });
    try {
      assert.equal(t.info.tls, true);
      t.write(encode("over tls"));
      assert.equal(
        decode(concat(await within(readChunks(t, 8), GUARD_MS, "tls echo"))),
        "over tls",
      );
    } finally {
      t.close();
    }
    await assert.rejects(
      connect({ host: "127.0.0.1", port }, { tls: { serverName: "example.com" } }),
      (e) => e instanceof TlsError && /4525/.test(e.message),
    );
    await assert.rejects(connect({ host: "127.0.0.1", port }, { tls: { ca: "x" } }), TypeError);
    await assert.rejects(
      connect({ host: "127.0.0.1", port }, { tls: { rejectUnauthorized: false } }),
      TypeError,
    );
    await assert.rejects(connect({ path: "/tmp/x.sock" }), TypeError);
  }, { tls: { cert, key } });
});

test("websocket: a real redis-server through the tunnel", async () => {
  const addr = await redisAddress();
  const redis = await RedisClient.connect({ ...addr, connect, decode: true });
  try {
    const key = `tunnel:${crypto.randomUUID()}`;
    assert.equal(await redis.ping(), "PONG");
    assert.equal(await redis.set(key, "through the tunnel", { ex: 30 }), true);
    assert.equal(await redis.get(key), "through the tunnel");
    const counts = await Promise.all(Array.from({ length: 200 }, () => redis.incr(`${key}:n`)));
    assert.deepEqual(counts, Array.from({ length: 200 }, (_, i) => i + 1));
    const big = "x".repeat(3 * 1024 * 1024);
    await redis.set(`${key}:big`, big, { ex: 30 });
    assert.equal((await redis.get(`${key}:big`))?.length, big.length);
    await redis.del(key, `${key}:n`, `${key}:big`);
  } finally {
    await redis.close();
  }
  assert.ok(relay.stats.opened > 0);
});

test("websocket: the tunnel and a direct connection see the same server", async () => {
  await withServer(echo, async (server) => {
    const direct = await connectNode(server.address);
    const tunnelled = await server.connect();
    try {
      for (const t of [direct, tunnelled]) {
        t.write(encode("same"));
        assert.equal(decode(concat(await within(readChunks(t, 4), GUARD_MS, "echo"))), "same");
      }
    } finally {
      direct.close();
      tunnelled.close();
    }
  });
});
