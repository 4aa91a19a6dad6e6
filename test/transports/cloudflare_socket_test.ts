// The Workers transport (transports/cloudflare.ts) against a fake `cloudflare:sockets` socket
// built from web streams, on every runtime; test/e2e/workerd_test.ts runs it in real workerd.

import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as nextMacrotask } from "node:timers/promises";
import {
  AbortedError,
  ConnectError,
  ConnectionClosedError,
  TimeoutError,
  TlsError,
} from "../../src/core/errors.ts";
import {
  cloudflareConnector,
  type CloudflareSocket,
  type CloudflareSocketConnect,
  connectCloudflare,
  connectCloudflareStartTls,
} from "../../transports/cloudflare.ts";

interface Fake {
  socket: CloudflareSocket;
  /** Bytes the client wrote, as the sink took them. */
  written: Uint8Array[];
  /** Sends bytes to the client. */
  send(bytes: Uint8Array): Promise<void>;
  /** Ends the server's side. */
  finish(): Promise<void>;
  /** Takes the next pending write (writes stay pending until taken when `gated`). */
  take(): void;
  writableClosed: boolean;
  closedByClient: boolean;
  tlsStartedFor?: string;
}

type Calls = { address: { hostname: string; port: number }; options?: unknown }[];

function fakeSocket(options: {
  opened?: Promise<unknown>;
  gated?: boolean;
  writeError?: Error;
} = {}): Fake {
  const toClient = new TransformStream<Uint8Array, Uint8Array>();
  const server = toClient.writable.getWriter();
  const gates: (() => void)[] = [];
  let closed!: () => void;
  const fake: Fake = {
    written: [],
    writableClosed: false,
    closedByClient: false,
    send: (bytes) => server.write(bytes),
    finish: () => server.close(),
    take: () => gates.shift()?.(),
    socket: {
      readable: toClient.readable,
      writable: new WritableStream<Uint8Array>({
        write(chunk): Promise<void> {
          if (options.writeError) return Promise.reject(options.writeError);
          fake.written.push(chunk);
          return options.gated
            ? new Promise<void>((resolve) => gates.push(resolve))
            : Promise.resolve();
        },
        close(): void {
          fake.writableClosed = true;
        },
      }),
      opened: options.opened ?? Promise.resolve({}),
      closed: new Promise<void>((resolve) => (closed = resolve)),
      close(): Promise<void> {
        fake.closedByClient = true;
        closed();
        return Promise.resolve();
      },
      startTls(tlsOptions): CloudflareSocket {
        fake.tlsStartedFor = tlsOptions?.expectedServerHostname ?? "(host)";
        return fake.socket;
      },
    },
  };
  return fake;
}

function connector(fake: Fake, calls: Calls = []) {
  const connect: CloudflareSocketConnect = (address, options) => {
    calls.push({ address, options });
    return fake.socket;
  };
  return { connect: cloudflareConnector({ connect }), calls, socketConnect: connect };
}

const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
const dec = (bytes: Uint8Array | null): string => new TextDecoder().decode(bytes ?? undefined);

test("cloudflare: plain, TLS and serverName map to secureTransport", async () => {
  const fakes = [fakeSocket(), fakeSocket(), fakeSocket()];
  const calls: Calls = [];
  const connect = cloudflareConnector({
    connect: (address, options) => {
      calls.push({ address, options });
      return fakes[calls.length - 1].socket;
    },
  });
  const plain = await connect({ host: "db.example.com", port: 6379 });
  assert.deepEqual(calls[0], {
    address: { hostname: "db.example.com", port: 6379 },
    options: { secureTransport: "off", allowHalfOpen: true },
  });
  assert.deepEqual(plain.info, {
    kind: "cloudflare",
    tls: false,
    remoteAddress: "db.example.com:6379",
  });
  const secure = await connect({ host: "db.example.com", port: 6380 }, { tls: true });
  assert.equal((calls[1].options as { secureTransport: string }).secureTransport, "on");
  assert.equal(secure.info.tls, true);
  await connect({ host: "10.0.0.5", port: 6380 }, { tls: { serverName: "db.example.com" } });
  assert.equal((calls[2].options as { secureTransport: string }).secureTransport, "starttls");
  assert.equal(fakes[2].tlsStartedFor, "db.example.com");
  assert.equal(fakes[1].tlsStartedFor, undefined);
});

test("cloudflare: options Workers cannot honour are refused before connecting", async () => {
  const { connect, calls } = connector(fakeSocket());
  const address = { host: "h", port: 1 };
  await assert.rejects(connect(address, { tls: { ca: "PEM" } }), TypeError);
  await assert.rejects(connect(address, { tls: { rejectUnauthorized: false } }), TypeError);
  await assert.rejects(connect({ path: "/tmp/s" }), TypeError);
  await assert.rejects(connect(address, { highWaterMark: 0 }), RangeError);
  await assert.rejects(connect(address, { timeout: -1 }), RangeError);
  await assert.rejects(connect(address, { signal: AbortSignal.abort() }), AbortedError);
  assert.equal(calls.length, 0);
});

test("cloudflare: connect failures are typed and name the address", async () => {
  const refused = fakeSocket({ opened: Promise.reject(new Error("proxy request failed")) });
  await assert.rejects(connector(refused).connect({ host: "h", port: 2 }), (e) => {
    assert.ok(e instanceof ConnectError, `got ${e}`);
    assert.match(e.message, /^Cannot connect to h:2: proxy request failed/);
    return true;
  });
  assert.ok(refused.closedByClient, "the failed socket is closed");
  const tls = fakeSocket({
    opened: Promise.reject(new Error("TLS peer's certificate is not trusted")),
  });
  await assert.rejects(connector(tls).connect({ host: "h", port: 3 }, { tls: true }), TlsError);
  const hanging = fakeSocket({ opened: new Promise(() => {}) });
  await assert.rejects(
    connector(hanging).connect({ host: "h", port: 4 }, { timeout: 20 }),
    (e) => e instanceof TimeoutError && /h:4 timed out after 20 ms/.test(e.message),
  );
  assert.ok(hanging.closedByClient);
  const controller = new AbortController();
  const pending = connector(fakeSocket({ opened: new Promise(() => {}) })).connect(
    { host: "h", port: 5 },
    { signal: controller.signal },
  );
  controller.abort();
  await assert.rejects(pending, AbortedError);
});

test("cloudflare: reads are owned copies; EOF after the data", async () => {
  const fake = fakeSocket();
  const t = await connector(fake).connect({ host: "h", port: 1 });
  const backing = enc("xxhello worldxx");
  const sending = fake.send(backing.subarray(2, 13)).then(() => fake.finish());
  const chunk = await t.read();
  await sending;
  assert.equal(dec(chunk), "hello world");
  assert.equal(chunk!.byteOffset, 0);
  assert.equal(chunk!.buffer.byteLength, 11, "a view into a larger buffer is copied");
  backing.fill(0);
  assert.equal(dec(chunk), "hello world");
  assert.equal(await t.read(), null);
  assert.equal(await t.read(), null);
  t.close();
});

test("cloudflare: readSize hands a large read over in slices, then EOF", async () => {
  const fake = fakeSocket();
  const t = await connector(fake).connect({ host: "h", port: 1 }, { readSize: 4 });
  const sending = fake.send(enc("hello world")).then(() => fake.finish());
  const chunks: string[] = [];
  for (let chunk = await t.read(); chunk !== null; chunk = await t.read()) chunks.push(dec(chunk));
  await sending;
  assert.deepEqual(chunks, ["hell", "o wo", "rld"]);
  await assert.rejects(connector(fakeSocket()).connect({ host: "h", port: 1 }, { readSize: 0 }), {
    name: "RangeError",
    message: /readSize/,
  });
  t.close();
});

test("cloudflare: write() is false until the socket took the bytes; ready() waits", async () => {
  const fake = fakeSocket({ gated: true });
  const t = await connector(fake).connect({ host: "h", port: 1 });
  assert.equal(t.write(enc("one")), false);
  assert.equal(t.bufferedAmount, 3);
  let ready = false;
  const waiting = t.ready().then(() => (ready = true));
  await nextMacrotask();
  assert.equal(ready, false, "ready() waits while the write is in flight");
  fake.take();
  await waiting;
  assert.equal(t.bufferedAmount, 0);
  assert.deepEqual(fake.written.map(dec), ["one"]);
  t.close();
});

test("cloudflare: end() half-closes, the reply still arrives; close() is idempotent", async () => {
  const fake = fakeSocket();
  const t = await connector(fake).connect({ host: "h", port: 1 });
  t.write(enc("request"));
  await t.end();
  assert.ok(fake.writableClosed, "the writable side was closed (FIN)");
  assert.throws(() => t.write(enc("late")), ConnectionClosedError);
  const replying = fake.send(enc("reply")).then(() => fake.finish());
  assert.equal(dec(await t.read()), "reply");
  await replying;
  assert.equal(await t.read(), null);
  t.close();
  t.close();
  assert.ok(fake.closedByClient);
  await t.closed;
  assert.equal(await t.read(), null, "read() after close");
  await assert.rejects(t.ready(), ConnectionClosedError);
});

test("cloudflare: close(reason) rejects a pending read with the reason", async () => {
  const t = await connector(fakeSocket()).connect({ host: "h", port: 1 });
  const pending = t.read();
  const reason = new Error("going away");
  t.close(reason);
  await assert.rejects(pending, (e) => e === reason);
});

test("cloudflare: a socket from another request fails with an explanation", async () => {
  const workerd = new Error(
    "Cannot perform I/O on behalf of a different request. I/O objects (such as streams, " +
      "request/response bodies, and others) created in the context of one request handler " +
      "cannot be accessed from a different request's handler. (I/O type: Writable)",
  );
  const t = await connector(fakeSocket({ writeError: workerd })).connect({ host: "h", port: 9 });
  assert.equal(t.write(enc("PING\r\n")), false);
  await assert.rejects(t.ready(), (e) => {
    assert.ok(e instanceof ConnectionClosedError, `got ${e}`);
    assert.match(e.message, /h:9 was opened by another request/);
    assert.match(e.message, /Create the client inside each request/);
    assert.equal(e.cause, workerd);
    return true;
  });
  assert.throws(() => t.write(enc("again")), /opened by another request/);
});

test("cloudflare: STARTTLS upgrades an idle connection once", async () => {
  const fake = fakeSocket();
  const calls: Calls = [];
  const { socketConnect } = connector(fake, calls);
  const plain = await connectCloudflareStartTls({ host: "mail.test", port: 587 }, {
    connect: socketConnect,
  });
  assert.equal((calls[0].options as { secureTransport: string }).secureTransport, "starttls");
  assert.equal(plain.info.tls, false);
  const secure = plain.startTls({ serverName: "mail.test" });
  assert.equal(fake.tlsStartedFor, "mail.test");
  assert.equal(secure.info.tls, true);
  assert.throws(() => plain.write(enc("x")), ConnectionClosedError, "the plain side is spent");
  assert.throws(() => secure.startTls(), TypeError, "only once");
  secure.close();
  const ordinary = await connector(fakeSocket()).connect({ host: "h", port: 1 });
  assert.throws(() => (ordinary as typeof secure).startTls(), TypeError);
  ordinary.close();
});

test("cloudflare: outside Workers the default connector says where it works", async () => {
  await assert.rejects(connectCloudflare({ host: "127.0.0.1", port: 1 }), (e) => {
    assert.ok(e instanceof TypeError, `got ${e}`);
    assert.match(e.message, /only available on Cloudflare Workers/);
    return true;
  });
});
