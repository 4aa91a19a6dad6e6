// Tests of the chaos proxy in front of a real redis-server (test/_helpers/servers.ts): each fault
// mode is observed from a raw node:net client speaking RESP.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { type ChaosProxy, startChaosProxy } from "./chaos_proxy.ts";
import { type Address, redisAddress } from "./servers.ts";

/** A raw client recording every chunk it receives and whether the peer closed. */
class RawClient {
  readonly chunks: Uint8Array[] = [];
  closed = false;
  private readonly listeners = new Set<() => void>();

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Uint8Array) => {
      this.chunks.push(new Uint8Array(chunk));
      this.changed();
    });
    socket.on("error", () => {/* seen as close */});
    socket.on("close", () => {
      this.closed = true;
      this.changed();
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise<RawClient>((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port }, () => {
        socket.off("error", reject);
        resolve(new RawClient(socket));
      });
      socket.setNoDelay(true);
      socket.once("error", reject);
    });
  }

  get text(): string {
    return this.chunks.map((c) => new TextDecoder().decode(c)).join("");
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves when `condition()` holds; rejects if the socket closes first or after 10 s. */
  until(condition: () => boolean, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (condition()) done();
        else if (this.closed) {
          done(new Error(`Closed before ${what}; got ${JSON.stringify(this.text)}`));
        }
      };
      const done = (error?: Error): void => {
        this.listeners.delete(check);
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(
        () => done(new Error(`Timed out waiting for ${what}; got ${JSON.stringify(this.text)}`)),
        10_000,
      );
      this.listeners.add(check);
      check();
    });
  }

  reply(expected: string): Promise<void> {
    return this.until(() => this.text.length >= expected.length, JSON.stringify(expected));
  }

  whenClosed(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!this.closed) return;
        this.listeners.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => reject(new Error("Timed out waiting for close")), 10_000);
      this.listeners.add(check);
      check();
    });
  }

  close(): Promise<void> {
    this.socket.destroy();
    return this.whenClosed();
  }
}

let redis: Address;
let proxy: ChaosProxy;

before(async () => {
  redis = await redisAddress();
});

after(async () => {
  await proxy?.stop();
});

/** A fresh proxy per test so counters and modes start clean. */
async function freshProxy(): Promise<ChaosProxy> {
  await proxy?.stop();
  proxy = await startChaosProxy(redis);
  return proxy;
}

test("chaos_proxy: pass forwards PING and +PONG and counts bytes", async () => {
  const p = await freshProxy();
  assert.equal(p.host, "127.0.0.1");
  const client = await RawClient.connect(p.port);
  client.socket.write("PING\r\n");
  await client.reply("+PONG\r\n");
  assert.equal(client.text, "+PONG\r\n");
  assert.equal(p.bytesToServer, 6);
  assert.equal(p.bytesToClient, 7);
  assert.equal(p.connections, 1);
  assert.equal(p.accepted, 1);
  await client.close();
  await p.waitForConnections(0);
  assert.equal(p.connections, 0);
});

test("chaos_proxy: fragment delivers +PONG in at least 5 chunks", async () => {
  const p = await freshProxy();
  p.fragment();
  const client = await RawClient.connect(p.port);
  client.socket.write("PING\r\n");
  await client.reply("+PONG\r\n");
  assert.equal(client.text, "+PONG\r\n");
  assert.ok(client.chunks.length >= 5, `only ${client.chunks.length} chunks`);
  await client.close();
});

test("chaos_proxy: dropAfter cuts the reply after exactly N bytes, then closes", async () => {
  const p = await freshProxy();
  p.dropAfter(3, "toClient");
  const client = await RawClient.connect(p.port);
  client.socket.write("PING\r\n");
  await client.whenClosed();
  assert.equal(client.text, "+PO");
  assert.equal(p.bytesToClient, 3);
  await p.waitForConnections(0);
});

test("chaos_proxy: dropAfter toServer forwards N request bytes, then closes", async () => {
  const p = await freshProxy();
  const client = await RawClient.connect(p.port);
  client.socket.write("PING\r\n");
  await client.reply("+PONG\r\n");
  p.dropAfter(4, "toServer");
  client.socket.write("PING\r\nPING\r\n");
  await client.whenClosed();
  assert.equal(client.text, "+PONG\r\n");
  assert.equal(p.bytesToServer, 6 + 4);
});

test("chaos_proxy: dropAfter counts per connection, including new ones", async () => {
  const p = await freshProxy();
  p.dropAfter(7, "both");
  for (let i = 0; i < 2; i++) {
    const client = await RawClient.connect(p.port);
    client.socket.write("PING\r\n");
    await client.whenClosed();
    assert.equal(client.text, "+");
  }
  assert.equal(p.accepted, 2);
  p.pass();
  const client = await RawClient.connect(p.port);
  client.socket.write("PING\r\n");
  await client.reply("+PONG\r\n");
  await client.close();
});

test("chaos_proxy: dropAfter(0) drops open connections at once", async () => {
  const p = await freshProxy();
  const client = await RawClient.connect(p.port);
  client.socket.write("PING\r\n");
  await client.reply("+PONG\r\n");
  p.dropAfter(0);
  await client.whenClosed();
  assert.equal(p.connections, 0);
});

test("chaos_proxy: stall holds the reply until pass()", async () => {
  const p = await freshProxy();
  const client = await RawClient.connect(p.port);
  client.socket.write("PING\r\n");
  await client.reply("+PONG\r\n");
  p.stall();
  client.socket.write("PING\r\n");
  // Asserting absence: nothing may arrive within 100 ms.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const quiet = new Promise<"quiet">((resolve) => (timer = setTimeout(resolve, 100, "quiet")));
  const winner = await Promise.race([
    client.reply("+PONG\r\n+PONG\r\n").then(() => "data" as const),
    quiet,
  ]);
  clearTimeout(timer);
  assert.equal(winner, "quiet");
  assert.equal(client.text, "+PONG\r\n");
  p.pass();
  await client.reply("+PONG\r\n+PONG\r\n");
  assert.equal(client.text, "+PONG\r\n+PONG\r\n");
  await client.close();
});

test("chaos_proxy: delay(50) slows each direction and keeps order", async () => {
  const p = await freshProxy();
  const client = await RawClient.connect(p.port);
  p.delay(50);
  const started = performance.now();
  client.socket.write("PING\r\n");
  await client.reply("+PONG\r\n");
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 100, `round trip took ${elapsed} ms`); // 50 ms each way
  const commands = Array.from({ length: 20 }, (_, i) => `ECHO m${i}\r\n`);
  for (const command of commands) client.socket.write(command);
  const expected = "+PONG\r\n" + commands.map((_, i) => `$${`m${i}`.length}\r\nm${i}\r\n`).join("");
  await client.reply(expected);
  assert.equal(client.text, expected);
  await client.close();
});

test("chaos_proxy: resetAll closes every open connection", async () => {
  const p = await freshProxy();
  const a = await RawClient.connect(p.port);
  const b = await RawClient.connect(p.port);
  for (const c of [a, b]) c.socket.write("PING\r\n");
  await Promise.all([a.reply("+PONG\r\n"), b.reply("+PONG\r\n")]);
  assert.equal(p.connections, 2);
  p.resetAll();
  await Promise.all([a.whenClosed(), b.whenClosed()]);
  assert.equal(p.connections, 0);
  const c = await RawClient.connect(p.port);
  c.socket.write("PING\r\n");
  await c.reply("+PONG\r\n");
  await c.close();
});

test("chaos_proxy: stop closes the listener and connections; idempotent", async () => {
  const p = await freshProxy();
  const client = await RawClient.connect(p.port);
  client.socket.write("PING\r\n");
  await client.reply("+PONG\r\n");
  await p.stop();
  await client.whenClosed();
  await assert.rejects(RawClient.connect(p.port), { code: "ECONNREFUSED" });
  await p.stop();
});

test("chaos_proxy: an unreachable target closes the client", async () => {
  const dead = await startChaosProxy({ host: "127.0.0.1", port: 1 });
  try {
    const client = await RawClient.connect(dead.port);
    await client.whenClosed();
    await dead.waitForConnections(0);
  } finally {
    await dead.stop();
  }
});
