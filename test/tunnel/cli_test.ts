// The kvwire-tunnel command line (scripts/tunnel.ts), run in-process: serve, token, check.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { runTunnelCli } from "../../scripts/tunnel.ts";
import type { TunnelServer } from "../../transports/tunnel_server.ts";
import { websocketConnector } from "../../transports/websocket.ts";
import { SECRET, startEcho, webSocketClass } from "./_helpers.ts";

function io(env: Record<string, string> = {}) {
  const lines: string[] = [];
  return {
    lines,
    io: { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l), env },
  };
}

test("cli: token mints a token the relay started by serve accepts", async () => {
  const echo = await startEcho();
  const env = { KVWIRE_TUNNEL_SECRET: SECRET };
  const served = io(env);
  const server = await runTunnelCli(
    ["serve", "--listen", "127.0.0.1:0", "--allow", `127.0.0.1:${echo.port}`],
    served.io,
  ) as TunnelServer;
  try {
    const listening = JSON.parse(served.lines[0]);
    assert.equal(listening.event, "listening");
    assert.equal(listening.url, server.url);
    assert.ok(!served.lines[0].includes(SECRET));
    const minted = io(env);
    assert.equal(
      await runTunnelCli(["token", "--target", `127.0.0.1:${echo.port}`, "--ttl", "60"], minted.io),
      0,
    );
    const token = minted.lines[0];
    assert.match(token, /^kvt1\./);
    const connect = websocketConnector({
      url: server.url,
      token,
      WebSocket: await webSocketClass(),
    });
    const t = await connect({ host: "127.0.0.1", port: echo.port });
    t.write(new TextEncoder().encode("via cli"));
    assert.equal(new TextDecoder().decode((await t.read())!), "via cli");
    t.close();
    await t.closed;
    const logged = served.lines.slice(1).map((l) => JSON.parse(l));
    assert.ok(logged.some((e) => e.event === "open"), "structured logs");
    assert.ok(!served.lines.join("\n").includes(token), "the token is never logged");
  } finally {
    await server.close();
    await echo.close();
  }
});

test("cli: check explains the allow-list; serve refuses to start without a secret", async () => {
  const out = io();
  const code = await runTunnelCli([
    "check",
    "--allow",
    "10.0.0.0/8:6379",
    "--allow",
    "0.0.0.0/0:80",
    "10.1.2.3:6379",
    "169.254.169.254:80",
    "10.1.2.3:6380",
  ], out.io);
  assert.equal(code, 1);
  assert.deepEqual(out.lines, [
    "10.1.2.3:6379: allowed (by 10.0.0.0/8:6379)",
    "169.254.169.254:80: refused (a link-local address (cloud metadata services live here))",
    "10.1.2.3:6380: refused (not in the allow-list)",
  ]);
  await assert.rejects(runTunnelCli(["serve", "--allow", "127.0.0.1:1"], io().io), /No secret/);
  await assert.rejects(runTunnelCli(["serve"], io({ KVWIRE_TUNNEL_SECRET: SECRET }).io), /--allow/);
  await assert.rejects(
    runTunnelCli(["token"], io({ KVWIRE_TUNNEL_SECRET: SECRET }).io),
    /--target/,
  );
  assert.equal(await runTunnelCli(["--help"], io().io), 0);
  assert.equal(await runTunnelCli(["bogus"], io().io), 2);
});

test("cli: serve takes the handshake timeout and the per-IP handshake limit", async () => {
  const echo = await startEcho();
  const served = io({ KVWIRE_TUNNEL_SECRET: SECRET });
  const server = await runTunnelCli([
    ...["serve", "--listen", "127.0.0.1:0", "--allow", `127.0.0.1:${echo.port}`],
    ...["--handshake-timeout", "0.2", "--max-handshakes-per-ip", "1", "--max-fragments", "8"],
    ...["--budget-window", "1", "--max-frames", "100", "--max-bytes", "100000"],
    ...["--drain-timeout", "5"],
  ], served.io) as TunnelServer;
  try {
    const started = Date.now();
    const silent = net.connect(server.address.port, "127.0.0.1");
    silent.on("error", () => {});
    const silentClosed = new Promise<void>((resolve) => silent.once("close", () => resolve()));
    await new Promise<void>((resolve) => silent.once("connect", () => resolve()));
    while (server.stats.handshaking < 1) await new Promise((r) => setTimeout(r, 0));
    const second = await new Promise<string>((resolve) => {
      const socket = net.connect(server.address.port, "127.0.0.1");
      let text = "";
      socket.on("data", (d: Uint8Array) => (text += new TextDecoder().decode(d)));
      socket.on("error", () => {});
      socket.on("close", () => resolve(text));
      socket.write("GET /healthz HTTP/1.1\r\n\r\n");
    });
    assert.match(second, /^HTTP\/1\.1 429 /, "one handshake per IP");
    await silentClosed;
    const waited = Date.now() - started;
    assert.ok(waited >= 150 && waited < 5000, `dropped after the handshake timeout: ${waited} ms`);
    await assert.rejects(
      runTunnelCli(["serve", "--allow", "127.0.0.1:1", "--max-frames=-1"], served.io),
      /--max-frames must be a non-negative number/,
    );
  } finally {
    await server.close();
    await echo.close();
  }
});
