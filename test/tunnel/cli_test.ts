// The kvwire-tunnel command line (scripts/tunnel.ts), run in-process: serve, token, check.

import { test } from "node:test";
import assert from "node:assert/strict";
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
