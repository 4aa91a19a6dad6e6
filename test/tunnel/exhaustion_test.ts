// One token holder against a relay run as its own process (the kvwire-tunnel CLI on this
// test's runtime), so its RSS can be read from /proc: for each hostile pattern, up to 10 MB
// of it must leave the relay's RSS within 30 MB of its start while another client's tunnel
// keeps echoing. Linux only (/proc), like the machines the suite runs on.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { websocketConnector } from "../../transports/websocket.ts";
import { createTunnelToken } from "../../src/tunnel/token.ts";
import type { Transport } from "../../transports/types.ts";
import { clientFrame, Opcode, pump, rawTunnel, repeat } from "./_raw_client.ts";
import { SECRET, startEcho, webSocketClass } from "./_helpers.ts";

const TEN_MB = 10 * 1024 * 1024;
const RSS_MARGIN = 30 * 1024 * 1024;
/** How long each pattern may run (it stops earlier once 10 MB went out). */
const PATTERN_MS = 1500;

let echo: { port: number; close(): Promise<void> };
let token: string;
// The relay of the running test, and the victim's tunnel through it.
let relay: ChildProcess;
let relayPort: number;
let victim: Transport;

/** The relay process's resident set, bytes. */
function rss(): number {
  const status = readFileSync(`/proc/${relay.pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) * 1024;
}

/** The command that runs a TypeScript file on this test's runtime. */
function runtimeCommand(script: string): [string, string[]] {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno) return [process.execPath, ["run", "-A", script]];
  if (g.Bun) return [process.execPath, [script]];
  return [process.execPath, ["--import", "tsx", script]];
}

before(async () => {
  echo = await startEcho();
  token = await createTunnelToken({ secret: SECRET, targets: `127.0.0.1:${echo.port}` });
});

after(async () => {
  await echo?.close();
});

/** Starts a fresh relay process and the victim's tunnel through it. */
async function startRelay(): Promise<void> {
  const target = `127.0.0.1:${echo.port}`;
  const script = fileURLToPath(new URL("../../scripts/tunnel.ts", import.meta.url));
  const [cmd, args] = runtimeCommand(script);
  // No frame budget here: the 10 MB must get through, so the structural bounds are what hold
  // memory (the budget, tested in relay_hardening_test.ts, only slows an attacker further).
  relay = spawn(cmd, [
    ...args,
    ...["serve", "--listen", "127.0.0.1:0", "--allow", target, "--quiet"],
    ...["--max-frames", "0", "--max-bytes", "0", "--drain-timeout", "0.5"],
    ...["--handshake-timeout", "1", "--max-handshakes-per-ip", "32"],
  ], {
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
    env: { ...process.env, KVWIRE_TUNNEL_SECRET: SECRET },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const listening = await new Promise<{ url: string }>((resolve, reject) => {
    let out = "";
    relay.stdout!.on("data", (chunk: Uint8Array) => {
      out += new TextDecoder().decode(chunk);
      const line = out.split("\n").find((l) => l.includes('"listening"'));
      if (line) resolve(JSON.parse(line));
    });
    relay.once("exit", (code) => reject(new Error(`The relay exited with ${code}`)));
  });
  relayPort = Number(new URL(listening.url).port);
  const connect = websocketConnector({
    url: listening.url,
    token,
    WebSocket: await webSocketClass(),
  });
  victim = await connect({ host: "127.0.0.1", port: echo.port });
  for (let i = 0; i < 20; i++) await roundTrip(i); // warm up before the baseline
}

async function stopRelay(): Promise<void> {
  victim?.close();
  if (relay.exitCode === null) {
    const exited = new Promise((resolve) => relay.once("exit", resolve));
    relay.kill("SIGTERM");
    await exited;
  }
}

/** One echo through the victim's tunnel; fails if it takes more than 5 s. */
async function roundTrip(i: number): Promise<void> {
  const text = `victim ${i}`;
  victim.write(new TextEncoder().encode(text));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`victim echo ${i} took over 5 s`)), 5000);
  });
  const echoed = (async () => {
    let got = "";
    while (got.length < text.length) got += new TextDecoder().decode((await victim.read())!);
    return got;
  })();
  try {
    assert.equal(await Promise.race([echoed, late]), text);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `attack` until it returns, sampling RSS and echoing through the victim meanwhile. */
async function underAttack(
  name: string,
  attack: (deadline: number) => Promise<number>,
): Promise<void> {
  await startRelay();
  try {
    await measure(name, attack);
  } finally {
    await stopRelay();
  }
}

async function measure(name: string, attack: (deadline: number) => Promise<number>) {
  const start = rss();
  let peak = start;
  let echoes = 0;
  let attacking = true;
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 50);
  const victimLoop = (async () => {
    while (attacking) {
      await roundTrip(echoes++);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  let sent = 0;
  try {
    sent = await attack(Date.now() + PATTERN_MS);
  } finally {
    attacking = false;
    clearInterval(sampler);
  }
  await victimLoop;
  await roundTrip(echoes); // and still after it
  peak = Math.max(peak, rss());
  const mb = (n: number): string => (n / 1024 / 1024).toFixed(1);
  console.log(
    `exhaustion ${name}: sent ${mb(sent)} MB, relay RSS ${mb(start)} -> peak ${mb(peak)} MB, ` +
      `${echoes} victim echoes`,
  );
  assert.ok(peak - start < RSS_MARGIN, `${name}: RSS grew ${mb(peak - start)} MB`);
  assert.ok(echoes >= 1, `${name}: the victim's tunnel echoed during the attack`);
  assert.equal(relay.exitCode, null, `${name}: the relay is still running`);
}

/**
 * Opens raw tunnels one after another, pumping `bytes` (then `then`, over and over) into each,
 * until `limit` bytes (10 MB) went out or the deadline passed.
 */
async function flood(
  deadline: number,
  bytes: Uint8Array,
  options: { decode?: boolean; window?: number; limit?: number; then?: Uint8Array } = {},
): Promise<number> {
  let sent = 0;
  const limit = options.limit ?? TEN_MB;
  const target = `127.0.0.1:${echo.port}`;
  while (sent < limit && Date.now() < deadline) {
    const t = await rawTunnel(relayPort, target, { token, ...options }).catch(() => undefined);
    if (!t) continue;
    for (let next = bytes; sent < limit && Date.now() < deadline && !t.socket.destroyed;) {
      const piece = next.subarray(0, Math.min(next.length, limit - sent));
      next = options.then ?? bytes;
      sent += await pump(t.socket, piece, 64 * 1024, deadline);
    }
    t.socket.destroy();
  }
  return sent;
}

const EMPTY = new Uint8Array(0);

test("exhaustion: empty fragments", async () => {
  // A text message that never ends: empty continuation frames, 6 bytes each, forever (the
  // relay closes each tunnel at its fragment limit; the attacker opens the next).
  const text = new Uint8Array([
    ...clientFrame(Opcode.Text, EMPTY, false),
    ...repeat(clientFrame(Opcode.Continuation, EMPTY, false), 100_000),
  ]);
  const endless = repeat(clientFrame(Opcode.Continuation, EMPTY, false), 100_000);
  await underAttack("empty fragments", (deadline) => flood(deadline, text, { then: endless }));
});

test("exhaustion: ping flood without reading", async () => {
  const pings = repeat(clientFrame(Opcode.Ping, new Uint8Array(125)), 8_000);
  await underAttack("ping flood", (deadline) => flood(deadline, pings));
});

test("exhaustion: many tiny frames", async () => {
  const frames = repeat(clientFrame(Opcode.Binary, new Uint8Array([120])), 100_000);
  await underAttack(
    "tiny frames",
    (deadline) => flood(deadline, frames, { decode: true, window: 16 * 1024 * 1024 }),
  );
});

test("exhaustion: a reader that never reads", async () => {
  const data = clientFrame(Opcode.Binary, new Uint8Array(60 * 1024).fill(7));
  await underAttack(
    "never reads",
    (deadline) => flood(deadline, repeat(data, 16), { window: 16 * 1024 * 1024 }),
  );
});

test("exhaustion: slowloris handshakes", async () => {
  await underAttack("slowloris", async (deadline) => {
    let sent = 0;
    const open = new Set<net.Socket>();
    const head = `GET /?target=127.0.0.1:${echo.port} HTTP/1.1\r\nHost: relay\r\n`;
    const drip = setInterval(() => {
      // Up to 100 sockets held open, 10 new ones a tick (the relay answers those over its
      // per-IP limit at once, and drops the others at the handshake timeout or head limit).
      for (let fresh = 0; open.size < 100 && fresh < 10; fresh++) {
        const socket = net.connect(relayPort, "127.0.0.1");
        socket.on("error", () => {});
        socket.on("data", () => {});
        socket.once("close", () => open.delete(socket));
        socket.write(head);
        sent += head.length;
        open.add(socket);
      }
      for (const socket of open) {
        if (!socket.destroyed && socket.writable) {
          socket.write(`X-Slow-${sent}: a\r\n`);
          sent += 16;
        }
      }
    }, 25);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())));
    clearInterval(drip);
    for (const socket of open) socket.destroy();
    return sent;
  });
});
