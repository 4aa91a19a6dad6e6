// TCP keepalive is on by default in the socket transports (DESIGN.md §5): read from the kernel
// (/proc/net/tcp: a socket with SO_KEEPALIVE set runs timer 2 while idle), plain and TLS.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { readFileSync } from "node:fs";
import type { Connect, ConnectOptions } from "../../transports/types.ts";
import { connectNode } from "../../transports/node.ts";
import { connectDeno } from "../../transports/deno.ts";
import { connectBun } from "../../transports/bun.ts";
import { runtimeName } from "../../transports/auto.ts";
import { testCerts } from "./_helpers/certs.ts";

/** The kernel's timer kind for the local port `port` (0 none, 1 retransmit, 2 keepalive). */
function kernelTimer(port: number): number | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 6 || !fields[1].endsWith(`:${hex}`)) continue;
      if (fields[3] !== "01") continue; // ESTABLISHED only
      return Number.parseInt(fields[5].split(":")[0], 16);
    }
  }
  return undefined;
}

/** Connects with `options`, and returns the kernel timer of the client's end. */
async function timerOf(connect: Connect, secure: boolean, options: ConnectOptions) {
  const certs = testCerts();
  let onAccepted: (port: number) => void = () => {};
  const accepted = new Promise<number>((resolve) => (onAccepted = resolve));
  const onSocket = (socket: net.Socket): void => {
    socket.on("error", () => {});
    onAccepted(socket.remotePort!);
  };
  const server = secure
    ? tls.createServer({ cert: certs.cert, key: certs.key }, onSocket)
    : net.createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const transport = await connect({ host: "127.0.0.1", port }, {
    ...options,
    ...(secure ? { tls: { ca: certs.ca } } : {}),
  });
  try {
    const local = await accepted;
    // Right after a TLS handshake the last flight may still wait for its ACK (timer 1):
    // wait until the connection is idle, then read which timer runs.
    const until = performance.now() + 2000;
    let timer = kernelTimer(local);
    while (timer === 1 && performance.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      timer = kernelTimer(local);
    }
    return timer;
  } finally {
    transport.close();
    await new Promise((resolve) => server.close(resolve));
  }
}

const runtime = runtimeName();
const connectors: [string, Connect][] = [["node", connectNode]];
if (runtime === "deno") connectors.push(["deno", connectDeno]);
if (runtime === "bun") connectors.push(["bun", connectBun]);

for (const [name, connect] of connectors) {
  for (const secure of [false, true]) {
    const kind = `${name} ${secure ? "TLS" : "TCP"} on ${runtime}`;
    test(`keepalive: ${kind} keeps alive by default, and not when told`, async () => {
      assert.equal(await timerOf(connect, secure, {}), 2, "keepalive timer by default");
      assert.equal(await timerOf(connect, secure, { keepAlive: false }), 0, "off when asked");
    });
  }
}

test("keepalive: a bad delay is refused before connecting", async () => {
  await assert.rejects(connectNode({ host: "127.0.0.1", port: 1 }, { keepAlive: -1 }), RangeError);
});
