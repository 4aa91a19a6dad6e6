// RedisClient (RESP2 and RESP3) against the hostile-server kit: silence, dropped, duplicated and
// reordered replies, pre-sent bytes, dripped bytes, absurd lengths and garbage. Every call
// settles, none gets another call's data, memory is released, and the next call recovers.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type AddressInfo, connect, createServer } from "node:net";
import { KvError, RemoteProtocolError, TimeoutError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import {
  collectUnhandledRejections,
  type Fault,
  heapUsedAfterGc,
  type HostileServer,
  startHostileServer,
} from "../_helpers/hostile_server.ts";
import { defaultValue, redisHostileProtocol } from "./_hostile.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const TIMEOUT = 300;
const MARGIN = 1000;

/** A server whose first connection has `fault` (later ones are healthy) and a client on it. */
async function setup(
  protocol: 2 | 3,
  fault: Fault,
  hasHandshake = true,
): Promise<{ server: HostileServer; redis: RedisClient<string> }> {
  const server = await startHostileServer(
    redisHostileProtocol({ hasHandshake }),
    (i) => (i === 0 ? fault : { kind: "none" }),
  );
  // Connected before the case, so that the first call's deadline covers only the call.
  const redis = await RedisClient.connect({
    host: server.host,
    port: server.port,
    protocol,
    decode: true,
    commandTimeout: TIMEOUT,
    connectTimeout: 5000,
    reconnect: { initialDelay: 5, maxDelay: 20 },
  });
  return { server, redis };
}

/** Settles `call` and checks it settled in time: the value, or the error it rejected with. */
async function settle<T>(
  call: Promise<T>,
  timeout = TIMEOUT,
): Promise<{ value?: T; error?: unknown }> {
  const started = Date.now();
  try {
    return { value: await call };
  } catch (error) {
    return { error };
  } finally {
    const took = Date.now() - started;
    assert.ok(took < timeout + MARGIN, `settled after ${took} ms`);
  }
}

function isCause(error: unknown, type: typeof RemoteProtocolError): boolean {
  let e: unknown = error;
  while (e instanceof Error) {
    if (e instanceof type) return true;
    e = (e as Error).cause;
  }
  return false;
}

async function recovers(redis: RedisClient<string>, key: string): Promise<void> {
  const patient = redis.with({ timeout: 5000 }); // reconnecting may take a while on a busy machine
  assert.equal(await patient.get(key), defaultValue(key), "the next call succeeds");
}

for (const protocol of [2, 3] as const) {
  const name = `redis hostile RESP${protocol}`;

  test(`${name}: silence after the handshake times out, then the client reconnects`, async () => {
    const { server, redis } = await setup(protocol, { kind: "silent" });
    try {
      const { error } = await settle(redis.get("a"));
      assert.ok(error instanceof TimeoutError && error.sent, `got ${String(error)}`);
      await recovers(redis, "b");
      assert.equal(server.accepted, 2);
    } finally {
      redis.destroy();
      await server.close();
    }
  });

  test(`${name}: a dropped reply fails its call only, the next call reconnects`, async () => {
    const { server, redis } = await setup(protocol, { kind: "drop", at: 1 });
    try {
      assert.equal(await redis.get("a"), defaultValue("a"));
      const { error } = await settle(redis.get("b"));
      assert.ok(error instanceof TimeoutError, `got ${String(error)}`);
      await recovers(redis, "c");
    } finally {
      redis.destroy();
      await server.close();
    }
  });

  test(`${name}: a duplicated reply is refused, never handed to the next call`, async () => {
    const { server, redis } = await setup(protocol, { kind: "duplicate", at: 0 });
    try {
      assert.equal(await redis.set("a", "1"), true);
      // The copy of +OK lands with nothing in flight (refused) or on GET (refused by shape).
      const { value, error } = await settle(redis.get("a"));
      if (error === undefined) assert.equal(value, "1");
      else {assert.ok(
          error instanceof KvError && isCause(error, RemoteProtocolError),
          String(error),
        );}
      await recovers(redis, "b");
      assert.equal(server.accepted, 2, "the surplus reply closed the first connection");
    } finally {
      redis.destroy();
      await server.close();
    }
  });

  test(`${name}: a reply held back for a reorder times out; nothing is misattributed`, async () => {
    const { server, redis } = await setup(protocol, { kind: "reorder", at: 0 });
    try {
      const { error } = await settle(redis.get("a"));
      assert.ok(error instanceof TimeoutError, `got ${String(error)}`);
      await recovers(redis, "b");
      server.setFaults(() => ({ kind: "reorder", at: 0 }));
      const other = new RedisClient<string>({ ...redis.options, reconnect: { enabled: false } });
      // Swapped replies of different shapes: INCR would get a bulk string, GET an integer.
      const [incr, get] = await Promise.all([settle(other.incr("n")), settle(other.get("c"))]);
      assert.ok(incr.error instanceof KvError, `INCR got ${String(incr.value ?? incr.error)}`);
      assert.ok(get.error instanceof KvError, `GET got ${String(get.value ?? get.error)}`);
      other.destroy();
    } finally {
      redis.destroy();
      await server.close();
    }
  });

  test(`${name}: +PONG pre-sent before GET's reply is a RemoteProtocolError, never GET's value`, async () => {
    const { server, redis } = await setup(protocol, { kind: "presend", bytes: enc("+PONG\r\n") });
    try {
      const { error } = await settle(redis.get("k"));
      assert.ok(error instanceof KvError && error.sent, `got ${String(error)}`);
      assert.ok(isCause(error, RemoteProtocolError), "caused by the stray reply");
      await recovers(redis, "k");
      assert.equal(server.accepted, 2);
    } finally {
      redis.destroy();
      await server.close();
    }
  });

  test(`${name}: +PONG pre-sent at accept fails the connect, never reaching a command`, async () => {
    const server = await startHostileServer(
      redisHostileProtocol({ hasHandshake: false }),
      () => ({ kind: "presend", bytes: enc("+PONG\r\n") }),
    );
    try {
      await assert.rejects(
        RedisClient.connect({ host: server.host, port: server.port, protocol }),
        (e: unknown) => e instanceof KvError && isCause(e, RemoteProtocolError),
      );
      server.setFaults(() => ({ kind: "none" }));
      const redis = await RedisClient.connect({ host: server.host, port: server.port, protocol });
      assert.deepEqual(await redis.get("k"), enc(defaultValue("k")));
      redis.destroy();
    } finally {
      await server.close();
    }
  });

  test(`${name}: replies dripped one byte at a time decode correctly`, async () => {
    const { server, redis } = await setup(protocol, { kind: "drip" });
    try {
      const slow = redis.with({ timeout: 5000 }); // a setImmediate per byte on a busy machine
      assert.equal(await slow.set("d", "dripped"), true);
      assert.equal(await slow.get("d"), "dripped");
      assert.equal(await slow.incr("n"), 1);
      assert.equal(server.accepted, 1);
    } finally {
      redis.destroy();
      await server.close();
    }
  });

  for (const header of ["*2147483648", "*100000000", "%100000000", "$1000000000"]) {
    test(`${name}: ${header} is refused at once and the next call reconnects`, async () => {
      const { server, redis } = await setup(protocol, {
        kind: "replace",
        at: 0,
        bytes: enc(`${header}\r\n:1\r\n:2\r\n`),
        then: "continue",
      });
      try {
        const { error } = await settle(redis.get("a"));
        assert.ok(error instanceof KvError && error.sent, `got ${String(error)}`);
        assert.ok(isCause(error, RemoteProtocolError), "caused by the protocol violation");
        await recovers(redis, "b");
      } finally {
        redis.destroy();
        await server.close();
      }
    });
  }

  test(`${name}: garbage is a RemoteProtocolError and the next call reconnects`, async () => {
    const { server, redis } = await setup(protocol, {
      kind: "replace",
      at: 0,
      bytes: enc("?garbage\r\n"),
      then: "continue",
    });
    try {
      const { error } = await settle(redis.get("a"));
      assert.ok(error instanceof KvError && isCause(error, RemoteProtocolError), String(error));
      await recovers(redis, "b");
    } finally {
      redis.destroy();
      await server.close();
    }
  });
}

/**
 * Heap growth left by receiving `bytes` over a loopback socket with no client library at all:
 * what the runtime itself keeps (0 on Node and Deno; Bun keeps a copy of a large write).
 */
async function runtimeBaseline(bytes: Uint8Array): Promise<number> {
  const start = await heapUsedAfterGc();
  const server = createServer((socket) => {
    socket.on("error", () => {});
    socket.write(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const reader = connect((server.address() as AddressInfo).port, "127.0.0.1");
  let received = 0;
  await new Promise<void>((resolve) =>
    reader.on("data", (chunk: Uint8Array) => {
      received += chunk.length;
      if (received >= bytes.length) resolve();
    })
  );
  reader.destroy();
  await new Promise((resolve) => server.close(resolve));
  return (await heapUsedAfterGc()) - start;
}

test("redis hostile: a $536870000 reply that never completes holds no memory after its timeout", async () => {
  const header = enc("$536870000\r\n");
  const bytes = new Uint8Array(header.length + 32 * 1024 * 1024).fill(0x61);
  bytes.set(header); // the fault's bytes are held by this test from start to end
  const baseline = await runtimeBaseline(bytes);
  const start = await heapUsedAfterGc();
  const { server, redis } = await setup(3, { kind: "replace", at: 0, bytes, then: "silent" });
  try {
    const { error } = await settle(redis.with({ timeout: 800 }).get("a"), 800);
    assert.ok(error instanceof TimeoutError, `got ${String(error)}`);
    await recovers(redis, "b");
  } finally {
    redis.destroy();
    await server.close();
  }
  const grown = (await heapUsedAfterGc()) - start - Math.max(0, baseline);
  assert.ok(grown < 10 * 1024 * 1024, `heap grew by ${(grown / 1048576).toFixed(1)} MB`);
});

/** The faults of the property, each on the first connection only. */
const faults: fc.Arbitrary<Fault> = fc.oneof(
  fc.constant<Fault>({ kind: "none" }),
  fc.nat(5).map((after): Fault => ({ kind: "silent", after })),
  fc.nat(5).map((at): Fault => ({ kind: "drop", at })),
  fc.nat(5).map((at): Fault => ({ kind: "duplicate", at })),
  fc.nat(5).map((at): Fault => ({ kind: "reorder", at })),
  // A pre-sent bulk string would be indistinguishable from GET's own reply: RESP has no ids.
  fc.constantFrom("+PONG\r\n", ":7\r\n", "*0\r\n").map((s): Fault => ({
    kind: "presend",
    bytes: enc(s),
  })),
  fc.constant<Fault>({ kind: "drip" }),
  fc.record({
    at: fc.nat(5),
    bytes: fc.constantFrom(
      "$536870000\r\nabc",
      "*2147483648\r\n",
      "*100000000\r\n:1\r\n",
      "?x\r\n",
      "$5\r\nab",
      "\x00\xff\r\n",
    ),
    then: fc.constantFrom("silent" as const, "close" as const, "continue" as const),
  }).map(({ at, bytes, then }): Fault => ({ kind: "replace", at, bytes: enc(bytes), then })),
  fc.nat(5).map((at): Fault => ({ kind: "close", at })),
);

/**
 * The calls of one case: GET, SET and INCR in turn, so that two neighbours never share a reply
 * shape (a shifted reply is then always refused), each with the one answer that is its own.
 */
function calls(redis: RedisClient<string>, run: number): [() => Promise<unknown>, unknown][] {
  const out: [() => Promise<unknown>, unknown][] = [];
  for (let i = 0; i < 6; i++) {
    const key = `r${run}:${i}`;
    if (i % 3 === 0) out.push([() => redis.get(key), defaultValue(key)]);
    else if (i % 3 === 1) out.push([() => redis.set(key, "v"), true]);
    else out.push([() => redis.incr(key), 1]);
  }
  return out;
}

test("redis hostile property: every call settles in time, never with another call's data, and the client recovers", async () => {
  const start = await heapUsedAfterGc();
  let run = 0;
  const unhandled = await collectUnhandledRejections(async () => {
    await fc.assert(
      fc.asyncProperty(faults, fc.constantFrom(2 as const, 3 as const), async (fault, protocol) => {
        const { server, redis } = await setup(protocol, fault);
        try {
          for (const [call, expected] of calls(redis, run++)) {
            const { value, error } = await settle(call());
            if (error === undefined) assert.deepEqual(value, expected, "its own data");
            else assert.ok(error instanceof KvError, `a KvError, got ${String(error)}`);
          }
          // A surplus reply after the last call may only show on the next one (refused by
          // shape, the connection is replaced): then the call after it must succeed.
          const next = await settle(redis.with({ timeout: 5000 }).get("next"), 5000);
          if (next.error !== undefined) {
            assert.ok(next.error instanceof KvError, String(next.error));
          } else assert.equal(next.value, defaultValue("next"));
          await recovers(redis, "last");
        } finally {
          redis.destroy();
          await server.close();
        }
      }),
      { numRuns: 25 },
    );
  });
  assert.deepEqual(unhandled, []);
  const grown = (await heapUsedAfterGc()) - start;
  assert.ok(grown < 10 * 1024 * 1024, `heap grew by ${(grown / 1048576).toFixed(1)} MB`);
});

test("redis hostile: silenceTimeout closes a silent connection without a deadline; the next call reconnects", async () => {
  const server = await startHostileServer(
    redisHostileProtocol(),
    (i) => (i === 0 ? { kind: "silent" } : { kind: "none" }),
  );
  const redis = await RedisClient.connect({
    host: server.host,
    port: server.port,
    decode: true,
    silenceTimeout: 200,
    commandTimeout: 3000, // a backstop: without silenceTimeout the call settles too late
    reconnect: { initialDelay: 5, maxDelay: 20 },
  });
  try {
    const { error } = await settle(redis.get("a"), 200);
    assert.ok(error instanceof KvError && error.sent, `got ${String(error)}`);
    await recovers(redis, "b");
    assert.equal(server.accepted, 2);
  } finally {
    redis.destroy();
    await server.close();
  }
  assert.throws(() => new RedisClient({ silenceTimeout: 0 }), RangeError);
  assert.throws(() => new RedisClient({ maxAggregateLength: -1 }), /maxAggregateLength/);
});
