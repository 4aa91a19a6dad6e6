// Tests of the hostile-server kit itself, over a line protocol ("HELLO" is the handshake,
// every other line is answered with itself in upper case), read by a raw socket.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import {
  collectUnhandledRejections,
  type Fault,
  heapUsedAfterGc,
  type HostileProtocol,
  startHostileServer,
} from "./hostile_server.ts";

const text = new TextEncoder();
const lines: HostileProtocol<string> = {
  hasHandshake: true,
  parse(buffer) {
    const end = buffer.indexOf(10);
    if (end < 0) return undefined;
    return { request: new TextDecoder().decode(buffer.subarray(0, end)), length: end + 1 };
  },
  respond(request) {
    return { bytes: text.encode(`${request.toUpperCase()}\n`), handshake: request === "hello" };
  },
};

/** Sends `requests` as lines, then collects what arrives until `expect` bytes or a close. */
async function exchange(fault: Fault, requests: string[], expect: number): Promise<string> {
  const server = await startHostileServer(lines, () => fault);
  const socket = net.connect(server.port, server.host);
  let received = "";
  const done = new Promise<void>((resolve) => {
    socket.on("data", (chunk) => {
      received += chunk.toString();
      if (received.length >= expect) resolve();
    });
    socket.on("close", () => resolve());
    socket.on("error", () => resolve());
  });
  try {
    socket.write(requests.map((r) => `${r}\n`).join(""));
    await done;
    return received;
  } finally {
    socket.destroy();
    await server.close();
  }
}

test("hostile kit: a healthy connection answers in order, handshake first", async () => {
  assert.equal(await exchange({ kind: "none" }, ["hello", "a", "b"], 8), "HELLO\nA\nB\n");
});

test("hostile kit: each fault shapes the replies", async () => {
  const reqs = ["hello", "a", "b", "c"];
  assert.equal(await exchange({ kind: "drop", at: 1 }, reqs, 10), "HELLO\nA\nC\n");
  assert.equal(await exchange({ kind: "duplicate", at: 0 }, reqs, 14), "HELLO\nA\nA\nB\nC\n");
  assert.equal(await exchange({ kind: "reorder", at: 0 }, reqs, 12), "HELLO\nB\nA\nC\n");
  const presend = { kind: "presend", bytes: text.encode("X\n") } as const;
  assert.equal(await exchange(presend, reqs, 14), "HELLO\nX\nA\nB\nC\n");
  assert.equal(await exchange({ kind: "drip" }, reqs, 12), "HELLO\nA\nB\nC\n");
  const close = { kind: "replace", at: 1, bytes: text.encode("$9\n"), then: "close" } as const;
  assert.equal(await exchange(close, reqs, 99), "HELLO\nA\n$9\n");
  const goOn = { kind: "replace", at: 1, bytes: text.encode("?\n"), then: "continue" } as const;
  assert.equal(await exchange(goOn, reqs, 12), "HELLO\nA\n?\nC\n");
  assert.equal(await exchange({ kind: "close", at: 2 }, reqs, 99), "HELLO\nA\nB\n");
});

test("hostile kit: silence after some requests, counted across connections", async () => {
  const server = await startHostileServer(
    lines,
    (i) => i === 0 ? { kind: "silent", after: 1 } : { kind: "none" },
  );
  const socket = net.connect(server.port, server.host);
  let received = "";
  const firstTwo = new Promise<void>((resolve) =>
    socket.on("data", (chunk) => {
      received += chunk.toString();
      if (received.length >= 8) resolve();
    })
  );
  socket.write("hello\na\nb\nc\n");
  await firstTwo;
  await server.waitForRequests(3);
  assert.equal(server.requests, 3);
  const second = net.connect(server.port, server.host);
  const reply = new Promise<string>((resolve) => second.once("data", (c) => resolve(String(c))));
  second.write("d\n");
  assert.equal(await reply, "D\n");
  assert.equal(server.accepted, 2);
  assert.equal(received, "HELLO\nA\n", "nothing after the silence began");
  socket.destroy();
  second.destroy();
  await server.close();
});

test("hostile kit: unhandled rejections are collected, not fatal (Node's runner lets go)", async () => {
  const node = !("Deno" in globalThis) && !("Bun" in globalThis);
  const leaked = await collectUnhandledRejections(async () => {
    await Promise.reject(new Error("handled")).catch(() => {});
    if (node) Promise.reject(new Error("nobody listens"));
  });
  assert.deepEqual(leaked.map((e) => (e as Error).message), node ? ["nobody listens"] : []);
  assert.ok((await heapUsedAfterGc()) > 0);
});
