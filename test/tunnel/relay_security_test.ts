// The relay's security, end to end over real sockets: tokens (none, expired, forged, tampered,
// for another target) and targets outside the allow-list in many spellings are refused before
// any TCP connect: a guard listener must see no connection and the connector no dial.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { serveTunnel, type TunnelServer } from "../../transports/tunnel_server.ts";
import { websocketConnector } from "../../transports/websocket.ts";
import { createTunnelToken } from "../../src/tunnel/token.ts";
import { TunnelError } from "../../src/tunnel/protocol.ts";
import {
  fakeResolver,
  type Guard,
  SECRET,
  type SpyConnector,
  spyConnector,
  startEcho,
  startGuard,
  webSocketClass,
} from "./_helpers.ts";
import type { WebSocketConstructor } from "../../transports/websocket.ts";

let guard: Guard;
let echo: { port: number; close(): Promise<void> };
let relay: TunnelServer;
let broadRelay: TunnelServer;
let spy: SpyConnector;
let WebSocket: WebSocketConstructor;
const logs: unknown[] = [];

const resolve = fakeResolver({
  "cache.test": ["169.254.169.254"],
  "zero.test": ["0.0.0.0"],
  "mixed.test": ["127.0.0.1", "169.254.169.254"],
  "mapped.test": ["::ffff:169.254.169.254"],
  "other.test": ["127.0.0.1"],
  "ok.test": ["127.0.0.1"],
});

before(async () => {
  WebSocket = await webSocketClass();
  guard = await startGuard();
  echo = await startEcho();
  spy = spyConnector();
  const g = guard.port;
  relay = await serveTunnel({
    secrets: [SECRET],
    allow: [
      `127.0.0.1:${g}`,
      `127.0.0.1:${echo.port}`,
      `cache.test:${g}`,
      `zero.test:${g}`,
      `mixed.test:${g}`,
      `mapped.test:${g}`,
      `ok.test:${echo.port}`,
    ],
    connect: spy.connect,
    resolve,
    log: (entry) => logs.push(entry),
  });
  broadRelay = await serveTunnel({
    secrets: [SECRET],
    allow: ["0.0.0.0/0:*", "[::/0]:*", "*.test:*"],
    connect: spy.connect,
    resolve,
    log: (entry) => logs.push(entry),
  });
});

after(async () => {
  await relay?.close();
  await broadRelay?.close();
  await guard?.close();
  await echo?.close();
});

function token(targets: string | string[], extra: { now?: number; expiresIn?: number } = {}) {
  return createTunnelToken({ secret: SECRET, targets, ...extra });
}

/** A token allowing every spelling under test, so that refusals come from the relay itself. */
function broadToken(): Promise<string> {
  return token(["0.0.0.0/0:*", "[::/0]:*", "*.test:*", "localhost:*", "other.test:*"]);
}

async function refusal(
  server: TunnelServer,
  target: string,
  tokenText: string | undefined,
): Promise<TunnelError> {
  const connect = websocketConnector({ url: server.url, token: tokenText, WebSocket });
  const colon = target.lastIndexOf(":");
  const host = target.slice(0, colon);
  const address = { host: host.replace(/^\[(.*)\]$/, "$1"), port: Number(target.slice(colon + 1)) };
  let caught: unknown;
  try {
    const t = await connect(address);
    t.close();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof TunnelError, `${target}: expected a TunnelError, got ${caught}`);
  return caught;
}

/** Opens a raw tunnel request with the target text exactly as given (no client formatting). */
function rawRefusal(
  server: TunnelServer,
  target: string,
  tokenText: string,
): Promise<{ code: number; reason: string }> {
  const url = new URL(server.url);
  url.searchParams.set("target", target);
  const ws = new WebSocket(url.href, ["kvwire.tunnel.v1", `kvwire.auth.${tokenText}`]);
  return new Promise((resolve) => {
    ws.onmessage = () => {};
    ws.onerror = () => {};
    ws.onclose = (event) => resolve({ code: event.code, reason: event.reason });
  });
}

async function assertNothingDialled(what: string): Promise<void> {
  assert.deepEqual(spy.dials, [], `${what}: the relay dialled ${spy.dials.join(", ")}`);
  assert.equal(await guard.barrier(), 0, `${what}: the guard saw a connection`);
}

test("relay security: the guard and the spy do detect a dial (positive control)", async () => {
  const connect = websocketConnector({
    url: relay.url,
    token: await token(`127.0.0.1:${guard.port}`),
    WebSocket,
  });
  const t = await connect({ host: "127.0.0.1", port: guard.port });
  t.close();
  assert.deepEqual(spy.dials, [`127.0.0.1:${guard.port}`]);
  assert.equal(await guard.barrier(), 1);
  spy.dials.length = 0;
  assert.equal(await guard.barrier(), 0, "the barrier counts only new dials");
});

test("relay security: no token, expired, forged, tampered and malformed tokens get 4401", async () => {
  const target = `127.0.0.1:${guard.port}`;
  const valid = await token(target);
  const expired = await token(target, { now: Date.now() - 7200_000, expiresIn: 60 });
  const forged = await createTunnelToken({
    secret: "another-secret-0123456789-abcdefghij",
    targets: target,
  });
  const broader = await token("0.0.0.0/0:*");
  const [prefix, , signature] = valid.split(".");
  const tampered = `${prefix}.${broader.split(".")[1]}.${signature}`;
  const cases: [string, string | undefined, RegExp][] = [
    ["no token", undefined, /token missing/],
    ["expired", expired, /token expired/],
    ["forged", forged, /token bad_signature/],
    ["tampered payload", tampered, /token bad_signature/],
    ["garbage", "kvt1.not.valid!", /token malformed/],
    ["truncated", valid.slice(0, -5), /token bad_signature|token malformed/],
  ];
  for (const [name, tokenText, reason] of cases) {
    const error = await refusal(relay, target, tokenText);
    assert.equal(error.closeCode, 4401, `${name}: close code`);
    assert.match(error.reason, reason, name);
    await assertNothingDialled(name);
  }
});

test("relay security: a token for another target gets 4403", async () => {
  const error = await refusal(
    relay,
    `127.0.0.1:${guard.port}`,
    await token(`127.0.0.1:${echo.port}`),
  );
  assert.equal(error.closeCode, 4403);
  assert.match(error.reason, /not allowed by the token/);
  await assertNothingDialled("token for another target");
});

test("relay security: other ports, localhost aliases, IPv4 and IPv6 spellings are refused", async () => {
  const g = guard.port;
  const broad = await broadToken();
  const spellings = [
    `127.0.0.1:${g === 65535 ? g - 1 : g + 1}`,
    `localhost:${g}`,
    `LOCALHOST:${g}`,
    `localhost.:${g}`,
    `127.0.0.2:${g}`,
    `127.1:${g}`,
    `127.0.1:${g}`,
    `2130706433:${g}`,
    `0x7f000001:${g}`,
    `0x7f.0.0.1:${g}`,
    `0177.0.0.1:${g}`,
    `127.000.000.001:${g}`,
    `017700000001:${g}`,
    `127.0.0.1.:${g}`,
    `0.0.0.0:${g}`,
    `0:${g}`,
    `[::]:${g}`,
    `[::1]:${g}`,
    `[0:0:0:0:0:0:0:1]:${g}`,
    `[::ffff:127.0.0.1]:${g}`,
    `[::ffff:7f00:1]:${g}`,
    `[::127.0.0.1]:${g}`,
    `[64:ff9b::127.0.0.1]:${g}`,
    `[fe80::1%25lo]:${g}`,
    `::1:${g}`,
    `127.0.0.1:0${g}`,
    `127.0.0.1:+${g}`,
    ` 127.0.0.1:${g}`,
    `127.0.0.1:${g}/x`,
    `user@127.0.0.1:${g}`,
    `169.254.169.254:80`,
    `169.254.169.254:${g}`,
    `[fd00:ec2::254]:80`,
    `100.100.100.200:80`,
    `[::ffff:169.254.169.254]:80`,
    `other.test:${g}`,
    `cache.test:${g}`,
    `zero.test:${g}`,
    `mixed.test:${g}`,
    `mapped.test:${g}`,
    `nowhere.test:${g}`,
  ];
  for (const spelling of spellings) {
    const { code, reason } = await rawRefusal(relay, spelling, broad);
    assert.ok(code === 4400 || code === 4403, `${spelling}: refused, got ${code} ${reason}`);
    await assertNothingDialled(spelling);
  }
});

test("relay security: special addresses are refused even by an allow-everything relay", async () => {
  const g = guard.port;
  const broad = await broadToken();
  const cases: [string, RegExp][] = [
    [`0.0.0.0:${g}`, /this network/],
    [`0.1.2.3:${g}`, /this network/],
    [`169.254.169.254:80`, /link-local/],
    [`100.100.100.200:80`, /metadata/],
    [`224.0.0.1:${g}`, /multicast/],
    [`255.255.255.255:${g}`, /broadcast/],
    [`[::]:${g}`, /unspecified/],
    [`[fe80::1]:${g}`, /link-local/],
    [`[ff02::1]:${g}`, /multicast/],
    [`[fd00:ec2::254]:80`, /metadata/],
    [`[::ffff:169.254.169.254]:80`, /link-local/],
    [`[::ffff:0.0.0.0]:${g}`, /this network/],
    [`[64:ff9b::a9fe:a9fe]:80`, /link-local/],
    [`[::127.0.0.1]:${g}`, /IPv4-compatible/],
    [`cache.test:${g}`, /resolves to a link-local/],
    [`zero.test:${g}`, /resolves to a 'this network'/],
    [`mixed.test:${g}`, /resolves to a link-local/],
    [`mapped.test:${g}`, /resolves to a link-local/],
    [`nowhere.test:${g}`, /cannot resolve/],
  ];
  for (const [target, reason] of cases) {
    const result = await rawRefusal(broadRelay, target, broad);
    assert.ok([4403, 4502].includes(result.code), `${target}: got ${result.code}`);
    assert.match(result.reason, reason, target);
    await assertNothingDialled(target);
  }
});

test("relay security: an allowed target opens, by IP and by listed name", async () => {
  for (const host of ["127.0.0.1", "ok.test"]) {
    const connect = websocketConnector({
      url: relay.url,
      token: await token([`127.0.0.1:${echo.port}`, `ok.test:${echo.port}`]),
      WebSocket,
    });
    const t = await connect({ host, port: echo.port });
    t.write(new TextEncoder().encode("ping"));
    const chunk = await t.read();
    assert.equal(new TextDecoder().decode(chunk!), "ping");
    t.close();
    await t.closed;
  }
  assert.deepEqual(spy.dials, [`127.0.0.1:${echo.port}`, `127.0.0.1:${echo.port}`]);
  spy.dials.length = 0;
});

test("relay security: the token may travel as a query parameter", async () => {
  const connect = websocketConnector({
    url: relay.url,
    token: await token(`127.0.0.1:${echo.port}`),
    tokenIn: "query",
    WebSocket,
  });
  const t = await connect({ host: "127.0.0.1", port: echo.port });
  t.close();
  assert.equal(spy.dials.length, 1);
  spy.dials.length = 0;
});

test("relay security: logs never carry the token, the secret or the query", () => {
  const text = JSON.stringify(logs);
  assert.ok(logs.length > 20, "the relay logged the sessions above");
  assert.ok(!text.includes(SECRET), "no secret in logs");
  assert.ok(!/kvt1\./.test(text), "no token in logs");
  assert.ok(!text.includes("token="), "no query string in logs");
  const refused = logs.filter((e) => (e as { event: string }).event === "refused");
  assert.ok(refused.length > 10, "refusals are logged");
});
