// Transport conformance suite (DESIGN.md §4, §8): one set of cases run against this runtime's
// native transport, connectNode (natively or through Node compatibility) and memory pairs.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import {
  AbortedError,
  ConnectError,
  ConnectionClosedError,
  TimeoutError,
  TlsError,
} from "../../src/core/errors.ts";
import type { Connect } from "../../transports/types.ts";
import { connectNode } from "../../transports/node.ts";
import { connectDeno } from "../../transports/deno.ts";
import { connectBun } from "../../transports/bun.ts";
import { connect as autoConnect, runtimeName } from "../../transports/auto.ts";
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
  closedPort,
  echo,
  fnv1a,
  FNV_START,
  type Handler,
  type NetServerOptions,
  patternBytes,
  serveMemory,
  serveNet,
  silent,
  type TestServer,
  within,
} from "./_helpers/servers.ts";

const GUARD_MS = 20_000;

interface Kind {
  name: string;
  serve(handler: Handler, options?: NetServerOptions): Promise<TestServer>;
  /** Present for socket transports: what the connect-time cases need. */
  net?: { connect: Connect; allowsUnverifiedTls: boolean };
  /** Its transports implement `writeBorrowed`. */
  lends?: boolean;
}

function netKind(
  name: string,
  connect: Connect,
  allowsUnverifiedTls: boolean,
  lends = false,
): Kind {
  return {
    name,
    serve: (handler, options) => serveNet(connect, handler, options),
    net: { connect, allowsUnverifiedTls },
    lends,
  };
}

const runtime = runtimeName();
const kinds: Kind[] = [];
if (runtime === "deno") kinds.push(netKind("deno", connectDeno, false));
if (runtime === "bun") kinds.push(netKind("bun", connectBun, true, true));
kinds.push(netKind("node", connectNode, true));
kinds.push({
  name: "memory",
  serve: (handler) => Promise.resolve(serveMemory(handler, { chunkSizes: [1000, 1, 7, 65536] })),
});

const openServers = new Set<TestServer>();
after(async () => {
  for (const server of openServers) await server.close();
});

/** Starts a server, runs `body` with it, closes it whatever happens. */
async function withServer(
  kind: Kind,
  handler: Handler,
  body: (server: TestServer) => Promise<void>,
  options?: NetServerOptions,
): Promise<void> {
  const server = await kind.serve(handler, options);
  openServers.add(server);
  try {
    await body(server);
  } finally {
    openServers.delete(server);
    await server.close();
  }
}

for (const kind of kinds) {
  const k = kind.name;

  test(`${k}: many small writes arrive intact and in order`, async () => {
    await withServer(kind, echo, async (server) => {
      const t = await server.connect();
      try {
        const expected = patternBytes(300_000);
        const reading = readChunks(t, expected.length);
        for (let offset = 0, i = 0; offset < expected.length; i++) {
          const n = 1 + (i * 37) % 97;
          await writeAll(t, expected.subarray(offset, offset + n));
          offset += n;
        }
        const chunks = await within(reading, GUARD_MS, "echo of 300 kB");
        assertSameBytes(concat(chunks), expected, "echoed bytes");
      } finally {
        t.close();
      }
    });
  });

  test(`${k}: 64 MiB to a slow reader with bounded buffering`, async () => {
    const total = 64 * 1024 * 1024;
    const writeSize = 32 * 1024;
    let backpressured!: () => void;
    const firstFalse = new Promise<void>((resolve) => (backpressured = resolve));
    const { sink, result } = slowChecksumSink(firstFalse);
    await withServer(kind, sink, async (server) => {
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

  if (kind.lends) {
    test(`${k}: writeBorrowed keeps what the socket did not take, so the caller may reuse it`, async () => {
      const total = 16 * 1024 * 1024;
      const writeSize = 1024 * 1024; // more than a socket takes at once from a paused reader
      let backpressured!: () => void;
      const firstFalse = new Promise<void>((resolve) => (backpressured = resolve));
      const { sink, result } = slowChecksumSink(firstFalse);
      await withServer(kind, sink, async (server) => {
        const t = await server.connect();
        try {
          const lent = new Uint8Array(writeSize); // one buffer, overwritten after every call
          let hash = FNV_START;
          let partial = 0;
          for (let i = 0; i < total / writeSize; i++) {
            lent.set(patternBytes(writeSize, i + 1));
            hash = fnv1a(hash, lent);
            const before = t.bufferedAmount;
            const ok = t.writeBorrowed!(lent);
            if (t.bufferedAmount > before) partial++;
            lent.fill(0); // the transport must have copied what it still holds
            if (!ok) {
              backpressured();
              await within(t.ready(), GUARD_MS, "ready()");
            }
          }
          await within(t.end(), GUARD_MS, "end()");
          const got = await within(result, GUARD_MS, "the sink reaching EOF");
          assert.ok(partial > 0, "some bytes waited in the transport");
          assert.equal(got.bytes, total);
          assert.equal(got.hash, hash, "checksum of the received stream");
        } finally {
          t.close();
        }
      });
    });
  }

  test(`${k}: the server ending gives EOF after its data`, async () => {
    const handler: Handler = async (peer) => {
      await peer.write(encode("bye"));
      await peer.end();
    };
    await withServer(kind, handler, async (server) => {
      const t = await server.connect();
      try {
        const chunks = await within(readChunks(t), GUARD_MS, "EOF");
        assert.equal(decode(concat(chunks)), "bye");
        assert.equal(await t.read(), null, "read() after EOF is null again");
      } finally {
        t.close();
      }
      await within(t.closed, GUARD_MS, "closed");
    });
  });

  test(`${k}: end() half-closes while the reply still arrives`, async () => {
    await withServer(kind, replyAfterEof, async (server) => {
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

  test(`${k}: close() during a pending write settles ready() and end()`, async () => {
    await withServer(kind, silent, async (server) => {
      const t = await server.connect();
      const chunk = new Uint8Array(64 * 1024);
      let writes = 0;
      while (t.write(chunk)) {
        if (++writes > 8192) assert.fail("write() never returned false to a peer that never reads");
      }
      const ready = t.ready();
      const ended = t.end();
      t.close();
      await within(
        assert.rejects(ready, ConnectionClosedError),
        GUARD_MS,
        "ready() settling",
      );
      if (kind.net) {
        await within(assert.rejects(ended, ConnectionClosedError), GUARD_MS, "end() settling");
      } else {
        await within(ended, GUARD_MS, "end()"); // a memory pair delivers EOF without a flush
      }
      await within(t.closed, GUARD_MS, "closed");
      assert.throws(() => t.write(chunk), ConnectionClosedError);
      await assert.rejects(t.ready(), ConnectionClosedError);
      assert.equal(await t.read(), null);
      t.close(); // idempotent
    });
  });

  test(`${k}: close() settles a pending read with null, or rejects it with the reason`, async () => {
    await withServer(kind, silent, async (server) => {
      const plain = await server.connect();
      const pending = plain.read();
      plain.close();
      assert.equal(await within(pending, GUARD_MS, "pending read"), null);
      assert.equal(await plain.read(), null, "read() after close");
      await within(plain.closed, GUARD_MS, "closed");

      const withReason = await server.connect();
      const reason = new Error("shutting down");
      const pending2 = withReason.read();
      withReason.close(reason);
      await assert.rejects(within(pending2, GUARD_MS, "pending read"), (e) => e === reason);
      await assert.rejects(withReason.read(), (e) => e === reason);
      await within(withReason.closed, GUARD_MS, "closed");
    });
  });

  test(`${k}: chunks handed out are never reused`, async () => {
    await withServer(kind, source(256, 16 * 1024), async (server) => {
      const t = await server.connect();
      try {
        await within(assertChunksKept(t, 256, 16 * 1024), GUARD_MS, "4 MiB");
      } finally {
        t.close();
      }
    });
  });

  test(`${k}: a client that does not read stops the sender`, async () => {
    const total = 64 * 1024 * 1024;
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
    await withServer(kind, sender, async (server) => {
      const t = await server.connect();
      try {
        // Quiescence check: the sender made no progress for 250 ms while nobody read.
        let last = -1;
        while (written !== last) {
          last = written;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        assert.ok(
          written < total / 2,
          `the sender pushed ${written} bytes to a client not reading`,
        );
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

  const net = kind.net;
  if (!net) continue;

  test(`${k}: a closed port gives ConnectError naming the address`, async () => {
    const port = await closedPort();
    await assert.rejects(net.connect({ host: "127.0.0.1", port }), (e) => {
      assert.ok(e instanceof ConnectError, `got ${e}`);
      assert.equal(e.code, "CONNECT_FAILED");
      assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      return true;
    });
  });

  test(`${k}: bad options reject with RangeError`, async () => {
    const address = { host: "127.0.0.1", port: await closedPort() };
    await assert.rejects(net.connect(address, { highWaterMark: 0 }), RangeError);
    await assert.rejects(net.connect(address, { timeout: -1 }), RangeError);
    await assert.rejects(net.connect(address, { readSize: 0 }), /readSize/);
    await assert.rejects(net.connect(address, { readSize: 1.5 }), RangeError);
  });

  for (const tls of [false, true]) {
    test(`${k}: readSize bounds every chunk a read hands over${tls ? " (TLS)" : ""}`, async () => {
      const { ca, cert, key } = testCerts();
      await withServer(kind, source(64, 16 * 1024), async (server) => {
        const t = await server.connect({
          readSize: 1000,
          tls: tls ? { ca, serverName: "localhost" } : undefined,
        });
        try {
          const chunks = await within(readChunks(t), GUARD_MS, "1 MiB in 1,000-byte reads");
          const largest = Math.max(...chunks.map((c) => c.length));
          assert.ok(largest <= 1000, `largest chunk ${largest} bytes`);
          const expected = concat(
            Array.from({ length: 64 }, (_, i) => patternBytes(16 * 1024, i + 1)),
          );
          assertSameBytes(concat(chunks), expected, "the bytes, in order");
        } finally {
          t.close();
        }
      }, tls ? { tls: { cert, key } } : undefined);
    });
  }

  test(`${k}: an unresolvable host gives ConnectError naming the host`, async () => {
    await assert.rejects(net.connect({ host: "nonexistent.invalid", port: 6379 }), (e) => {
      assert.ok(e instanceof ConnectError, `got ${e}`);
      assert.match(e.message, /nonexistent\.invalid/);
      return true;
    });
  });

  test(`${k}: a TLS handshake that never completes times out`, async () => {
    await withServer(kind, silent, async (server) => {
      const started = Date.now();
      await assert.rejects(server.connect({ tls: true, timeout: 200 }), (e) => {
        assert.ok(e instanceof TimeoutError, `got ${e}`);
        assert.match(e.message, /127\.0\.0\.1:\d+ timed out after 200 ms/);
        return true;
      });
      assert.ok(Date.now() - started < GUARD_MS);
    });
  });

  test(`${k}: a timed-out TLS handshake closes the TCP connection`, {
    skip: k === "deno" &&
      "Deno 2.9.6: TlsConn.close() before the handshake completes leaves the TCP socket open",
  }, async () => {
    await withServer(kind, silent, async (server) => {
      const accepted = server.accepted();
      await assert.rejects(server.connect({ tls: true, timeout: 200 }), TimeoutError);
      const peer = await accepted;
      const eof = async (): Promise<void> => {
        while ((await peer.read()) !== null); // the ClientHello, then EOF
      };
      await within(eof(), GUARD_MS, "the server seeing the client hang up");
    });
  });

  test(`${k}: aborting the signal while connecting gives AbortedError`, async () => {
    await withServer(kind, silent, async (server) => {
      const controller = new AbortController();
      void server.accepted().then(() => controller.abort());
      await assert.rejects(server.connect({ tls: true, signal: controller.signal }), AbortedError);
      await assert.rejects(server.connect({ signal: controller.signal }), AbortedError);
    });
  });

  test(`${k}: TLS with the CA verifies and echoes`, async () => {
    const { ca, cert, key } = testCerts();
    await withServer(kind, echo, async (server) => {
      const { port } = server.address as { port: number };
      const targets = [
        { host: "localhost", serverName: undefined },
        { host: "127.0.0.1", serverName: undefined },
        { host: "127.0.0.1", serverName: "localhost" },
      ];
      for (const { host, serverName } of targets) {
        const t = await net.connect({ host, port }, { tls: { ca, serverName }, timeout: 5000 });
        try {
          assert.equal(t.info.tls, true);
          assert.equal(t.info.kind, k);
          const message = `hello ${host} ${serverName}`;
          assert.ok(t.write(encode(message)));
          const chunks = await within(readChunks(t, message.length), GUARD_MS, "TLS echo");
          assert.equal(decode(concat(chunks)), message);
        } finally {
          t.close();
        }
      }
    }, { tls: { cert, key } });
  });

  test(`${k}: TLS end() half-closes while the reply still arrives`, async () => {
    const { ca, cert, key } = testCerts();
    await withServer(kind, replyAfterEof, async (server) => {
      const t = await server.connect({ tls: { ca, serverName: "localhost" } });
      try {
        t.write(encode("secret"));
        await within(t.end(), GUARD_MS, "end()");
        const reply = await within(readChunks(t), GUARD_MS, "reply and EOF");
        assert.equal(decode(concat(reply)), "got secret");
      } finally {
        t.close();
      }
    }, { tls: { cert, key }, tlsHalfOpen: true });
  });

  test(`${k}: TLS chunks are never reused`, async () => {
    const { ca, cert, key } = testCerts();
    await withServer(kind, source(64, 16 * 1024), async (server) => {
      const t = await server.connect({ tls: { ca, serverName: "localhost" } });
      try {
        await within(assertChunksKept(t, 64, 16 * 1024), GUARD_MS, "1 MiB over TLS");
      } finally {
        t.close();
      }
    }, { tls: { cert, key } });
  });

  test(`${k}: TLS verification is on by default`, async () => {
    const { ca, cert, key } = testCerts();
    await withServer(kind, echo, async (server) => {
      const where = `127.0.0.1:${(server.address as { port: number }).port}`;
      // No CA given; then the right CA but a name the certificate does not carry.
      for (const tls of [true, { serverName: "localhost" }, { ca, serverName: "example.com" }]) {
        await assert.rejects(server.connect({ tls, timeout: 5000 }), (e) => {
          assert.ok(e instanceof TlsError, `got ${e}`);
          assert.equal(e.code, "TLS_FAILED");
          assert.ok(e.message.includes(`TLS verification of ${where} failed: `), e.message);
          return true;
        });
      }
    }, { tls: { cert, key } });
  });

  test(`${k}: rejectUnauthorized false is honoured or refused`, async () => {
    const { cert, key } = testCerts();
    await withServer(kind, echo, async (server) => {
      const options = { tls: { rejectUnauthorized: false }, timeout: 5000 };
      if (!net.allowsUnverifiedTls) {
        await assert.rejects(server.connect(options), TypeError);
        return;
      }
      const t = await server.connect(options);
      try {
        t.write(encode("unverified"));
        const chunks = await within(readChunks(t, 10), GUARD_MS, "echo");
        assert.equal(decode(concat(chunks)), "unverified");
      } finally {
        t.close();
      }
    }, { tls: { cert, key } });
  });

  test(`${k}: Unix-domain socket echo`, async () => {
    await withServer(kind, echo, async (server) => {
      const t = await server.connect();
      try {
        assert.equal(t.info.remoteAddress, (server.address as { path: string }).path);
        t.write(encode("over a unix socket"));
        await t.end();
        const chunks = await within(readChunks(t), GUARD_MS, "unix echo");
        assert.equal(decode(concat(chunks)), "over a unix socket");
      } finally {
        t.close();
      }
    }, { unix: true });
  });

  test(`${k}: a peer reset makes read() reject with ConnectionClosedError`, async () => {
    const reset: Handler = async (peer) => {
      await peer.read(); // unread bytes left behind make the kernel answer with RST
      peer.destroy();
    };
    await withServer(kind, reset, async (server) => {
      const t = await server.connect();
      try {
        t.write(new Uint8Array(4 * 1024 * 1024)); // more than one read; ignore backpressure
        const where = `127.0.0.1:${(server.address as { port: number }).port}`;
        const outcome = async (): Promise<unknown> => {
          for (;;) if ((await t.read()) === null) return null;
        };
        await assert.rejects(within(outcome(), GUARD_MS, "the reset"), (e) => {
          assert.ok(e instanceof ConnectionClosedError, `got ${e}`);
          assert.ok(e.message.includes(where), e.message);
          return true;
        });
      } finally {
        t.close();
      }
    });
  });
}

test("auto: runtimeName() names the running runtime", () => {
  const versions = (globalThis as { process?: { versions?: Record<string, string> } }).process
    ?.versions ?? {};
  const expected = versions.deno ? "deno" : versions.bun ? "bun" : "node";
  assert.equal(runtimeName(), expected);
});

test("auto: connect() uses the native transport", async () => {
  await withServer(kinds[0], echo, async (server) => {
    const t = await autoConnect(server.address);
    try {
      assert.equal(t.info.kind, runtime);
      t.write(encode("auto"));
      await t.end();
      assert.equal(decode(concat(await within(readChunks(t), GUARD_MS, "echo"))), "auto");
    } finally {
      t.close();
    }
  });
});
