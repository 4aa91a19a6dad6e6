// The relay's limits and HTTP behaviour over real sockets: max connections, idle timeout,
// max message size, connect and handshake timeouts, health endpoint, malformed requests.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { testCerts } from "../transports/_helpers/certs.ts";
import { serveTunnel, type TunnelServer } from "../../transports/tunnel_server.ts";
import { websocketConnector, type WebSocketConstructor } from "../../transports/websocket.ts";
import { createTunnelToken } from "../../src/tunnel/token.ts";
import { TunnelError } from "../../src/tunnel/protocol.ts";
import { encodeFrame, Opcode } from "../../src/tunnel/ws_frames.ts";
import { ConnectionClosedError, TimeoutError } from "../../src/core/errors.ts";
import type { Connect } from "../../transports/types.ts";
import { setImmediate as nextMacrotask } from "node:timers/promises";
import type { TunnelLogEntry } from "../../src/tunnel/relay.ts";
import { fakeResolver, SECRET, spyConnector, startEcho, webSocketClass } from "./_helpers.ts";

let WebSocket: WebSocketConstructor;
let echo: { port: number; close(): Promise<void> };
const servers: TunnelServer[] = [];

before(async () => {
  WebSocket = await webSocketClass();
  echo = await startEcho();
});

after(async () => {
  for (const server of servers) await server.close();
  await echo?.close();
});

async function relay(options: Partial<Parameters<typeof serveTunnel>[0]> = {}) {
  const server = await serveTunnel({
    secrets: [SECRET],
    allow: [`127.0.0.1:${echo.port}`],
    resolve: fakeResolver({}),
    connect: spyConnector().connect,
    ...options,
  });
  servers.push(server);
  const token = await createTunnelToken({ secret: SECRET, targets: `127.0.0.1:${echo.port}` });
  const connect = websocketConnector({ url: server.url, token, WebSocket });
  return { server, connect: () => connect({ host: "127.0.0.1", port: echo.port }) };
}

/** Sends raw bytes to the relay and returns everything it answers until it hangs up. */
function raw(server: TunnelServer, bytes: Uint8Array | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.address.port, "127.0.0.1");
    let text = "";
    socket.on("data", (data: Uint8Array) => {
      for (const byte of data) text += String.fromCharCode(byte); // one char per byte
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(text));
    socket.write(bytes);
  });
}

const UPGRADE = "GET /?target=127.0.0.1:1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n" +
  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  "Sec-WebSocket-Version: 13\r\n";

test("relay limits: health endpoint, plain requests and malformed heads", async () => {
  const { server } = await relay();
  const health = await raw(server, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.match(health, /^HTTP\/1\.1 200 OK\r\n/);
  assert.deepEqual(JSON.parse(health.split("\r\n\r\n")[1]), {
    status: "ok",
    connections: 0,
    maxConnections: 256,
  });
  assert.match(await raw(server, "GET / HTTP/1.1\r\n\r\n"), /^HTTP\/1\.1 426 /);
  assert.match(await raw(server, "GARBAGE\r\n\r\n"), /^HTTP\/1\.1 400 /);
  assert.match(await raw(server, `GET /${"a".repeat(20_000)}`), /^HTTP\/1\.1 431 /);
  const v8 = UPGRADE.replace("Version: 13", "Version: 8") + "\r\n";
  assert.match(await raw(server, v8), /^HTTP\/1\.1 426 [^]*sec-websocket-version: 13/i);
});

test("relay limits: no subprotocol or an unmasked frame close the tunnel", async () => {
  const { server } = await relay();
  const noProtocol = await raw(server, UPGRADE + "\r\n");
  assert.match(noProtocol, /^HTTP\/1\.1 101 /);
  assert.ok(noProtocol.includes("\x88"), "a close frame follows");
  assert.ok(noProtocol.includes("kvwire.tunnel.v1 needed"));
  const open = await relay({ insecureNoAuth: true });
  const head = new TextEncoder().encode(
    UPGRADE.replace("127.0.0.1:1", `127.0.0.1:${echo.port}`) +
      "Sec-WebSocket-Protocol: kvwire.tunnel.v1\r\n\r\n",
  );
  const unmasked = encodeFrame(Opcode.Binary, new Uint8Array(3));
  const bytes = new Uint8Array(head.length + unmasked.length);
  bytes.set(head);
  bytes.set(unmasked, head.length);
  const answer = await raw(open.server, bytes);
  const frames = answer.slice(answer.indexOf("\r\n\r\n") + 4);
  assert.ok(frames.startsWith("\x81\x04open"), "the tunnel opened");
  assert.ok(frames.includes("\x88"), "then closed");
  const close = frames.slice(frames.indexOf("\x88"));
  assert.equal((close.charCodeAt(2) << 8) | close.charCodeAt(3), 1002, "with 1002");
  assert.match(close, /unmasked/);
});

test("relay limits: a client that sends no head is dropped after the handshake timeout", async () => {
  const { server } = await relay({ handshakeTimeout: 100 });
  const started = Date.now();
  assert.equal(await raw(server, new Uint8Array(0)), "");
  assert.ok(Date.now() - started >= 90);
});

/** Opens a raw socket to the relay and waits until the relay accepted it (it is in the handshake). */
async function handshaking(server: TunnelServer, count: number): Promise<net.Socket> {
  const socket = net.connect(server.address.port, "127.0.0.1");
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  while (server.stats.handshaking < count) await nextMacrotask();
  return socket;
}

test("relay limits: max connections counts open tunnels; the next is answered 503", async () => {
  const { server, connect } = await relay({ maxConnections: 2 });
  const a = await connect();
  const b = await connect();
  await assert.rejects(connect(), (e) => e instanceof TunnelError && e.closeCode === 1006);
  const full = await raw(server, "GET /healthz HTTP/1.1\r\n\r\n");
  assert.match(full, /^HTTP\/1\.1 503 [^]*too many connections/);
  assert.equal(server.stats.active, 2);
  a.close();
  await a.closed;
  b.close();
  await b.closed;
});

test("relay limits: sockets still in the handshake count toward max connections", async () => {
  const { server, connect } = await relay({ maxConnections: 1 });
  const silent = await handshaking(server, 1);
  assert.match(await raw(server, "GET /healthz HTTP/1.1\r\n\r\n"), /^HTTP\/1\.1 503 /);
  await assert.rejects(connect(), TunnelError);
  silent.destroy();
  while (server.stats.handshaking > 0) await nextMacrotask();
  const t = await connect();
  t.close();
  await t.closed;
});

test("relay limits: one IP has at most maxHandshakesPerIp handshakes at once (429)", async () => {
  const logs: TunnelLogEntry[] = [];
  const { server, connect } = await relay({ maxHandshakesPerIp: 2, log: (e) => logs.push(e) });
  const first = await handshaking(server, 1);
  const second = await handshaking(server, 2);
  assert.match(await raw(server, "GET /healthz HTTP/1.1\r\n\r\n"), /^HTTP\/1\.1 429 /);
  assert.ok(logs.some((e) => e.event === "refused" && e.failure === "limit" && e.status === 429));
  first.destroy();
  second.destroy();
  while (server.stats.handshaking > 0) await nextMacrotask();
  const t = await connect(); // a finished handshake frees its place
  const u = await connect();
  t.close();
  u.close();
  await Promise.all([t.closed, u.closed]);
});

test("relay limits: an idle tunnel closes with 4408", async () => {
  const { connect } = await relay({ idleTimeout: 150 });
  const t = await connect();
  t.write(new TextEncoder().encode("x"));
  assert.equal(new TextDecoder().decode((await t.read())!), "x");
  const started = Date.now();
  await assert.rejects(t.read(), (e) => {
    assert.ok(e instanceof ConnectionClosedError, `got ${e}`);
    assert.match(e.message, /idle timeout \(close code 4408\)/);
    return true;
  });
  assert.ok(Date.now() - started >= 100, "not before the timeout");
  t.close();
});

test("relay limits: a message over maxMessageSize closes with 1009", async () => {
  const { server } = await relay({ maxMessageSize: 1024 });
  const token = await createTunnelToken({ secret: SECRET, targets: `127.0.0.1:${echo.port}` });
  const connect = websocketConnector({ url: server.url, token, WebSocket, maxMessageSize: 4096 });
  const t = await connect({ host: "127.0.0.1", port: echo.port });
  t.write(new Uint8Array(1024)); // at the limit: fine
  let got = 0;
  while (got < 1024) got += (await t.read())!.length;
  t.write(new Uint8Array(1025));
  await assert.rejects(
    t.read(),
    (e) => e instanceof ConnectionClosedError && /1009/.test(e.message),
  );
  t.close();
});

test("relay limits: a target that does not answer in time gives TimeoutError (4504)", async () => {
  let asked: number | undefined;
  const hanging: Connect = (_address, options) => {
    asked = options?.timeout;
    return new Promise((_, reject) => {
      setTimeout(() => reject(new TimeoutError("slow")), options?.timeout ?? 0);
    });
  };
  const { server } = await relay({ connect: hanging, connectTimeout: 100 });
  const token = await createTunnelToken({ secret: SECRET, targets: `127.0.0.1:${echo.port}` });
  const connect = websocketConnector({ url: server.url, token, WebSocket });
  await assert.rejects(connect({ host: "127.0.0.1", port: echo.port }), (e) => {
    assert.ok(e instanceof TimeoutError, `got ${e}`);
    assert.ok(e.cause instanceof TunnelError && e.cause.closeCode === 4504);
    return true;
  });
  assert.equal(asked, 100);
  await assert.rejects(
    connect({ host: "127.0.0.1", port: echo.port }, { timeout: 30 }),
    TimeoutError,
  );
  assert.equal(asked, 30, "the client's shorter timeout is passed on");
});

test("relay limits: a closed target port gives TunnelError 4502", async () => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const { server } = await relay({ allow: [`127.0.0.1:${port}`] });
  const token = await createTunnelToken({ secret: SECRET, targets: `127.0.0.1:${port}` });
  const connect = websocketConnector({ url: server.url, token, WebSocket });
  await assert.rejects(
    connect({ host: "127.0.0.1", port }),
    (e) => e instanceof TunnelError && e.closeCode === 4502 && e.message.includes(`${port}`),
  );
});

test("relay limits: options are checked", async () => {
  await assert.rejects(serveTunnel({ allow: [] }), TypeError);
  await assert.rejects(serveTunnel({ secrets: ["short"], allow: [] }), RangeError);
  await assert.rejects(serveTunnel({ secrets: [SECRET], allow: ["bad"] }), TypeError);
  await assert.rejects(
    serveTunnel({ secrets: [SECRET], allow: [], maxConnections: -1 }),
    RangeError,
  );
  assert.throws(() => websocketConnector({ url: "http://x/" }), TypeError);
  assert.throws(() => websocketConnector({ url: "ws://x/", window: 10 }), RangeError);
});

test("relay limits: serves wss (TLS) when given a certificate", async () => {
  const { ca, cert, key } = testCerts();
  const { server } = await relay({ tls: { cert, key } });
  assert.match(server.url, /^wss:\/\/127\.0\.0\.1:\d+\/$/);
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = tls.connect({
      port: server.address.port,
      host: "127.0.0.1",
      ca,
      servername: "localhost",
    });
    let text = "";
    socket.on("secureConnect", () => socket.write("GET /healthz HTTP/1.1\r\n\r\n"));
    socket.on("data", (data: Uint8Array) => (text += new TextDecoder().decode(data)));
    socket.on("error", reject);
    socket.on("close", () => resolve(text));
  });
  assert.match(answer, /^HTTP\/1\.1 200 OK\r\n[^]*"status":"ok"/);
});
