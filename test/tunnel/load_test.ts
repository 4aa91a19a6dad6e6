// The relay under load: 100 concurrent tunnels push data both ways through one relay to a
// target that reads slowly while the clients read slowly too. Every byte must arrive, in
// order, and the relay's buffering per session must stay bounded.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import process from "node:process";
import { setImmediate as nextMacrotask } from "node:timers/promises";
import { serveTunnel, type TunnelServer } from "../../transports/tunnel_server.ts";
import { websocketConnector } from "../../transports/websocket.ts";
import { createTunnelToken } from "../../src/tunnel/token.ts";
import type { Transport } from "../../transports/types.ts";
import { fnv1a, FNV_START, patternBytes } from "../transports/_helpers/servers.ts";
import { SECRET, webSocketClass } from "./_helpers.ts";

const TUNNELS = 100;
const BYTES_EACH_WAY = 1024 * 1024;
const CHUNK = 16 * 1024;
const WINDOW = 128 * 1024;

let relay: TunnelServer;
let target: net.Server;
let targetPort: number;
const targetSockets = new Set<net.Socket>();
/** Hashes of what the target received, per connection, in accept order. */
const targetReceived: Promise<{ bytes: number; hash: number }>[] = [];

/** The stream each side sends: distinct per direction, so a mix-up is caught. */
function hashOf(seed: number): number {
  let hash = FNV_START;
  for (let i = 0; i < BYTES_EACH_WAY / CHUNK; i++) {
    hash = fnv1a(hash, patternBytes(CHUNK, seed + i));
  }
  return hash;
}

before(async () => {
  target = net.createServer({ allowHalfOpen: true }, (socket) => {
    targetSockets.add(socket);
    socket.on("close", () => targetSockets.delete(socket));
    socket.on("error", () => {});
    // Send our stream (respecting backpressure) while reading theirs slowly.
    void (async () => {
      for (let i = 0; i < BYTES_EACH_WAY / CHUNK; i++) {
        if (!socket.write(patternBytes(CHUNK, 1000 + i))) {
          await new Promise((resolve) => socket.once("drain", resolve));
        }
      }
      socket.end();
    })();
    targetReceived.push(
      new Promise((resolve) => {
        let bytes = 0;
        let hash = FNV_START;
        let since = 0;
        socket.on("data", (data: Uint8Array) => {
          bytes += data.length;
          hash = fnv1a(hash, data);
          since += data.length;
          if (since >= 64 * 1024) {
            since = 0;
            socket.pause(); // slow consumer: one pause per 64 KiB
            setImmediate(() => socket.resume());
          }
        });
        socket.on("end", () => resolve({ bytes, hash }));
      }),
    );
  });
  await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
  targetPort = (target.address() as net.AddressInfo).port;
  relay = await serveTunnel({
    secrets: [SECRET],
    allow: [`127.0.0.1:${targetPort}`],
    maxConnections: TUNNELS,
    maxHandshakesPerIp: TUNNELS, // they all open at once, from one address
  });
});

after(async () => {
  await relay?.close();
  for (const socket of targetSockets) socket.destroy();
  await new Promise<void>((resolve) => target?.close(() => resolve()));
});

/** One tunnel: send our stream, read theirs slowly, return the hash of what we read. */
async function oneTunnel(t: Transport, seed: number): Promise<{ bytes: number; hash: number }> {
  const sending = (async () => {
    for (let i = 0; i < BYTES_EACH_WAY / CHUNK; i++) {
      if (!t.write(patternBytes(CHUNK, seed + i))) await t.ready();
    }
    await t.end();
  })();
  let bytes = 0;
  let hash = FNV_START;
  let since = 0;
  for (let chunk = await t.read(); chunk !== null; chunk = await t.read()) {
    bytes += chunk.length;
    hash = fnv1a(hash, chunk);
    since += chunk.length;
    if (since >= 32 * 1024) {
      since = 0;
      await nextMacrotask(); // slow consumer
    }
  }
  await sending;
  return { bytes, hash };
}

test(`load: ${TUNNELS} tunnels, 1 MiB each way, slow consumers, nothing lost or reordered`, async () => {
  const WebSocket = await webSocketClass();
  const token = await createTunnelToken({ secret: SECRET, targets: `127.0.0.1:${targetPort}` });
  const connect = websocketConnector({ url: relay.url, token, WebSocket, window: WINDOW });
  const clientSeed = 1;
  const fromClient = hashOf(clientSeed);
  const fromTarget = hashOf(1000);
  let peakRss = 0;
  const startRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  const started = performance.now();
  try {
    const transports = await Promise.all(
      Array.from({ length: TUNNELS }, () => connect({ host: "127.0.0.1", port: targetPort })),
    );
    assert.equal(relay.stats.active, TUNNELS);
    const results = await Promise.all(transports.map((t) => oneTunnel(t, clientSeed)));
    for (const [i, got] of results.entries()) {
      assert.deepEqual(got, { bytes: BYTES_EACH_WAY, hash: fromTarget }, `tunnel ${i} received`);
    }
    const atTarget = await Promise.all(targetReceived);
    assert.equal(atTarget.length, TUNNELS);
    for (const [i, got] of atTarget.entries()) {
      assert.deepEqual(got, { bytes: BYTES_EACH_WAY, hash: fromClient }, `target ${i} received`);
    }
    for (const t of transports) await t.closed;
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - started) / 1000;
  const { maxSessionBuffered, opened } = relay.stats;
  const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  console.log(
    `load: ${opened} tunnels, ${mib(2 * TUNNELS * BYTES_EACH_WAY)} relayed in ` +
      `${seconds.toFixed(1)} s; relay max buffered per session ` +
      `${(maxSessionBuffered / 1024).toFixed(0)} KiB; process RSS peak +${mib(peakRss - startRss)}`,
  );
  assert.equal(opened, TUNNELS);
  // Decoder input (one read, <= 64 KiB) + client socket queue (frames <= 64 KiB) + target
  // write queue (high-water mark 64 KiB + one frame): well under 512 KiB, whatever is sent.
  assert.ok(maxSessionBuffered < 512 * 1024, `a session buffered ${maxSessionBuffered} bytes`);
});
