// The relay against one hostile token holder: fragment limits, the frame budget, pongs that
// wait for the client to read, resolution (once, every address checked, dialled in turn),
// failure classes in the operator's log, and no token in logs, errors or inspect output.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { inspect } from "node:util";
import { testCerts } from "../transports/_helpers/certs.ts";
import { serveTunnel, type TunnelServer } from "../../transports/tunnel_server.ts";
import { websocketConnector, type WebSocketConstructor } from "../../transports/websocket.ts";
import { createTunnelToken } from "../../src/tunnel/token.ts";
import { TunnelError } from "../../src/tunnel/protocol.ts";
import type { TunnelLogEntry } from "../../src/tunnel/relay.ts";
import type { Connect } from "../../transports/types.ts";
import { TimeoutError } from "../../src/core/errors.ts";
import { clientFrame, Opcode, pump, rawTunnel, repeat } from "./_raw_client.ts";
import { fakeResolver, SECRET, spyConnector, startEcho, webSocketClass } from "./_helpers.ts";

let WebSocket: WebSocketConstructor;
let echo: { port: number; close(): Promise<void> };
const servers: TunnelServer[] = [];
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

before(async () => {
  WebSocket = await webSocketClass();
  echo = await startEcho();
});

after(async () => {
  for (const server of servers) await server.close();
  await echo?.close();
});

async function relay(options: Partial<Parameters<typeof serveTunnel>[0]> = {}) {
  const logs: TunnelLogEntry[] = [];
  const spy = spyConnector();
  const server = await serveTunnel({
    insecureNoAuth: true,
    allow: [`127.0.0.1:${echo.port}`],
    resolve: fakeResolver({}),
    connect: spy.connect,
    log: (entry) => logs.push(entry),
    ...options,
  });
  servers.push(server);
  return { server, logs, spy, target: `127.0.0.1:${echo.port}` };
}

type Raw = Awaited<ReturnType<typeof rawTunnel>>;

/** Waits for data from the relay until `done()` holds; fails if the relay hangs up first. */
async function until(t: Raw, done: () => boolean): Promise<void> {
  while (!done()) {
    const closed = await Promise.race([
      new Promise<false>((resolve) => t.socket.once("data", () => resolve(false))),
      t.closed.then(() => true),
    ]);
    if (closed && !done()) throw new Error(`The relay closed: ${JSON.stringify(t.events)}`);
  }
}

const dataBytes = (t: Raw): number =>
  t.events.filter((e) => e.type === "data").reduce((n, e) => n + e.bytes!.length, 0);

/** Resolves with the relay's close event, or "still open" if none came by the deadline. */
async function closeOrTimeout(
  t: Raw,
  ms: number,
): Promise<{ code?: number; text?: string } | "still open"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"still open">((resolve) => {
    timer = setTimeout(() => resolve("still open"), ms);
  });
  const outcome = await Promise.race([t.closed, expired]);
  clearTimeout(timer);
  if (outcome === "still open") return outcome;
  return t.events.find((e) => e.type === "close") ?? {};
}

test("relay hardening: empty text fragments count; too many fragments close with 1009", async () => {
  const { server, target } = await relay({ maxFragments: 16 });
  const t = await rawTunnel(server.address.port, target, { decode: true });
  const empty = new Uint8Array(0);
  const first = clientFrame(Opcode.Text, empty, false);
  const more = repeat(clientFrame(Opcode.Continuation, empty, false), 100);
  t.socket.write(first);
  t.socket.write(more);
  const closed = await closeOrTimeout(t, 2000);
  assert.notEqual(closed, "still open", "the relay kept the fragments");
  assert.equal(closed !== "still open" && closed.code, 1009);
  t.socket.destroy();
});

test("relay hardening: a message in maxFragments fragments still goes through", async () => {
  const { server, target } = await relay({ maxFragments: 4 });
  const t = await rawTunnel(server.address.port, target, { decode: true });
  const piece = (fin: boolean, first: boolean): Uint8Array =>
    clientFrame(first ? Opcode.Binary : Opcode.Continuation, bytes("ab"), fin);
  t.socket.write(piece(false, true));
  t.socket.write(piece(false, false));
  t.socket.write(piece(false, false));
  t.socket.write(piece(true, false));
  await until(t, () => dataBytes(t) === 8);
  t.socket.destroy();
});

test("relay hardening: a client that never reads is dropped after drainTimeout", async () => {
  const { server, target, logs } = await relay({ drainTimeout: 200, maxFramesPerWindow: 0 });
  // Paused (never reads), with a large window: the echoes pile up toward the client.
  const t = await rawTunnel(server.address.port, target, { window: 16 * 1024 * 1024 });
  const data = repeat(clientFrame(Opcode.Binary, new Uint8Array(60 * 1024)), 16); // ~1 MiB
  const deadline = Date.now() + 4000;
  let written = 0;
  while (!t.socket.destroyed && Date.now() < deadline && written < 64 * 1024 * 1024) {
    written += await pump(t.socket, data, 64 * 1024, deadline);
  }
  const closed = await closeOrTimeout(t, Math.max(0, deadline - Date.now()));
  assert.notEqual(closed, "still open", `still open after ${written} bytes`);
  const close = logs.find((e) => e.event === "close")!;
  assert.deepEqual([close.failure, close.reason], ["client", "client does not read"]);
});

test("relay hardening: a ping flood gets one pong per read, not one per ping", async () => {
  const { server, target } = await relay({ maxFramesPerWindow: 0 });
  const t = await rawTunnel(server.address.port, target, { decode: true });
  await until(t, () => t.events.some((e) => e.text === "open"));
  const pings = 20_000;
  t.socket.write(repeat(clientFrame(Opcode.Ping, new Uint8Array(4)), pings));
  t.socket.write(clientFrame(Opcode.Binary, bytes("after")));
  await until(t, () => dataBytes(t) === 5);
  const pongs = t.events.filter((e) => e.type === "pong").length;
  assert.ok(pongs >= 1 && pongs < pings / 10, `${pongs} pongs for ${pings} pings`);
  t.socket.destroy();
});

test("relay hardening: every frame counts toward the budget, pings included", async () => {
  const window = 300;
  const { server, target } = await relay({ budgetWindow: window, maxFramesPerWindow: 50 });
  const t = await rawTunnel(server.address.port, target, { decode: true });
  const echoed = (n: number): Promise<void> => until(t, () => dataBytes(t) >= n);
  await until(t, () => t.events.some((e) => e.text === "open"));
  const started = Date.now();
  const pings = repeat(clientFrame(Opcode.Ping, new Uint8Array(0)), 60);
  const first = new Uint8Array(pings.length + 7);
  first.set(pings);
  first.set(clientFrame(Opcode.Binary, bytes("a")), pings.length);
  t.socket.write(first);
  await echoed(1);
  t.socket.write(clientFrame(Opcode.Binary, bytes("b")));
  await echoed(2);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= window / 2, `the second frame waited for the next window: ${elapsed} ms`);
  assert.ok(t.events.some((e) => e.type === "pong"), "the pings were answered");
  t.socket.destroy();
});

test("relay hardening: a name is resolved once and each checked address is tried in turn", async () => {
  let lookups = 0;
  const table: Record<string, string[]> = {
    "multi.test": ["127.0.0.2", "127.0.0.1"],
    "tainted.test": ["127.0.0.2", "169.254.169.254", "127.0.0.1"],
  };
  const resolve = (name: string): Promise<string[]> => {
    lookups++;
    return fakeResolver(table)(name);
  };
  const p = echo.port;
  const { server, spy, logs } = await relay({
    allow: [`multi.test:${p}`, `tainted.test:${p}`],
    resolve,
  });
  const connect = websocketConnector({ url: server.url, WebSocket });
  const t = await connect({ host: "multi.test", port: p });
  t.write(bytes("through the second address"));
  assert.equal(new TextDecoder().decode((await t.read())!), "through the second address");
  t.close();
  assert.equal(lookups, 1, "resolved once");
  assert.deepEqual(spy.dials, [`127.0.0.2:${p}`, `127.0.0.1:${p}`]);
  const open = logs.find((e) => e.event === "open")!;
  assert.equal(open.address, `127.0.0.1:${p}`);
  assert.deepEqual(
    (open.attempts as { failure: string }[]).map((a) => a.failure),
    ["refused"],
  );
  spy.dials.length = 0;
  await assert.rejects(
    connect({ host: "tainted.test", port: p }),
    (e) => e instanceof TunnelError && e.closeCode === 4403,
  );
  assert.deepEqual(spy.dials, [], "no address of a name with a disallowed one is dialled");
  assert.equal(lookups, 2);
});

test("relay hardening: the log names the failure class (dns, refused, tls, timeout, policy)", async () => {
  const { ca: _ca, cert, key } = testCerts();
  const secure = tls.createServer({ cert, key }, (socket) => socket.destroy());
  secure.on("tlsClientError", () => {});
  await new Promise<void>((r) => secure.listen(0, "127.0.0.1", r));
  const tlsPort = (secure.address() as net.AddressInfo).port;
  const closedServer = net.createServer();
  await new Promise<void>((r) => closedServer.listen(0, "127.0.0.1", r));
  const closedPort = (closedServer.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closedServer.close(() => r()));
  try {
    const { server, logs } = await relay({
      allow: [`127.0.0.1:${tlsPort}`, `127.0.0.1:${closedPort}`, `nowhere.test:1`],
    });
    const connect = websocketConnector({ url: server.url, WebSocket });
    const failures: [() => Promise<unknown>, string][] = [
      [() => connect({ host: "nowhere.test", port: 1 }), "dns"],
      [() => connect({ host: "127.0.0.1", port: closedPort }), "refused"],
      [() => connect({ host: "127.0.0.1", port: tlsPort }, { tls: true }), "tls"],
      [() => connect({ host: "127.0.0.1", port: 2 }), "policy"],
    ];
    for (const [attempt, failure] of failures) {
      await assert.rejects(attempt());
      const entry = logs.filter((e) => e.event === "refused").at(-1)!;
      assert.equal(entry.failure, failure, JSON.stringify(entry));
    }
    const tlsEntry = logs.find((e) => e.failure === "tls")!;
    const [attempt] = tlsEntry.attempts as { failure: string; message: string }[];
    assert.equal(attempt.failure, "tls");
    assert.match(attempt.message, /TLS (verification|handshake) of 127\.0\.0\.1:\d+ failed: ./);
    const hanging: Connect = (_a, o) =>
      new Promise((_, reject) => setTimeout(() => reject(new TimeoutError("slow")), o?.timeout));
    const slow = await relay({ connect: hanging, connectTimeout: 50 });
    const viaSlow = websocketConnector({ url: slow.server.url, WebSocket });
    await assert.rejects(viaSlow({ host: "127.0.0.1", port: echo.port }), TimeoutError);
    assert.equal(slow.logs.find((e) => e.event === "refused")?.failure, "timeout");
  } finally {
    await new Promise<void>((r) => secure.close(() => r()));
  }
});

test("relay hardening: the token never shows in logs, errors, inspect or JSON", async () => {
  const { server, logs, target } = await relay({ insecureNoAuth: false, secrets: [SECRET] });
  const good = await createTunnelToken({ secret: SECRET, targets: target });
  const forged = good.slice(0, -4) + (good.endsWith("AAAA") ? "BBBB" : "AAAA");
  const seen: unknown[] = [];
  for (const tokenIn of ["protocol", "query"] as const) {
    for (const token of [good, forged]) {
      const connect = websocketConnector({ url: server.url, token, tokenIn, WebSocket });
      seen.push(connect);
      try {
        const t = await connect({ host: "127.0.0.1", port: echo.port });
        seen.push(t);
        t.write(bytes("x"));
        await t.read();
        t.close();
        await t.closed;
      } catch (error) {
        seen.push(error);
        assert.equal(token, forged, `the good token was refused: ${error}`);
      }
    }
  }
  assert.ok(seen.some((s) => s instanceof TunnelError), "the forged token was refused");
  const shown = (value: unknown): string => {
    const parts = [String(value), inspect(value, { showHidden: true, depth: 10 })];
    try {
      parts.push(JSON.stringify(value) ?? "");
    } catch {
      // not serialisable: nothing to leak there
    }
    for (let cause = (value as { cause?: unknown })?.cause; cause; cause = (cause as Error).cause) {
      parts.push(String(cause), inspect(cause, { depth: 10 }));
    }
    return parts.join("\n");
  };
  const everything = [...seen.map(shown), JSON.stringify(logs)].join("\n");
  for (const token of [good, forged]) {
    assert.ok(!everything.includes(token), "the token leaked");
    assert.ok(!everything.includes(token.split(".")[1]), "part of the token leaked");
  }
  assert.ok(logs.some((e) => e.event === "open"), "the logs were captured");
});
