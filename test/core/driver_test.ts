// Tests of the driver over the in-memory transport with a scripted peer: corked flushes,
// ordering, deadlines, abort signals, graceful and abrupt closes, protocol violations.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Driver } from "../../src/core/driver.ts";
import {
  AbortedError,
  ConnectionClosedError,
  ServerError,
  TimeoutError,
} from "../../src/core/errors.ts";
import type { Transport } from "../../src/core/transport.ts";
import { createMemoryPair } from "../../transports/memory.ts";
import { LineMachine } from "../_helpers/line_machine.ts";

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * A peer that answers each line `x` with `reply(x)`, in order. When `reply` gives undefined
 * the answer is held back (a slow command) and sent, as the line itself, before the next
 * answer. Returns the chunks it received.
 */
function echoPeer(server: Transport, reply: (line: string) => string | undefined): string[] {
  const chunks: string[] = [];
  (async () => {
    let pending = "";
    const held: string[] = [];
    for (let chunk = await server.read(); chunk !== null; chunk = await server.read()) {
      chunks.push(text(chunk));
      pending += text(chunk);
      const lines = pending.split("\n");
      pending = lines.pop()!;
      let out = "";
      for (const line of lines) {
        const answer = reply(line);
        if (answer === undefined) held.push(line);
        else out += held.splice(0).map((h) => h + "\n").join("") + answer + "\n";
      }
      if (out) server.write(bytes(out));
    }
    await server.end();
  })().catch(() => {});
  return chunks;
}

function setup(reply: (line: string) => string | undefined = (l) => l.toUpperCase()) {
  const [client, server] = createMemoryPair();
  const machine = new LineMachine();
  const driver = new Driver(machine, client, { label: "line test" });
  const received = echoPeer(server, reply);
  return { driver, machine, server, received };
}

test("driver: concurrent requests in one tick go out in one write and resolve in order", async () => {
  const { driver, received } = setup();
  const replies = await Promise.all(["a", "b", "c"].map((l) => driver.request(l)));
  assert.deepEqual(replies, ["A", "B", "C"]);
  assert.deepEqual(received, ["a\nb\nc\n"], "one corked write");
  await driver.close();
});

test("driver: a server error rejects only its own request", async () => {
  const { driver } = setup((l) => (l === "bad" ? "ERR no" : l));
  const results = await Promise.allSettled([
    driver.request("x"),
    driver.request("bad"),
    driver.request("y"),
  ]);
  assert.equal(results[0].status, "fulfilled");
  assert.ok(results[1].status === "rejected" && results[1].reason instanceof ServerError);
  assert.deepEqual(results[2], { status: "fulfilled", value: "y" });
  await driver.close();
});

test("driver: a deadline rejects with TimeoutError that says the request was sent", async () => {
  const { driver } = setup((l) => (l === "slow" ? undefined : l));
  const started = performance.now();
  await assert.rejects(driver.request("slow", { timeout: 30 }), (e: unknown) => {
    assert.ok(e instanceof TimeoutError);
    assert.equal(e.sent, true);
    assert.match(e.message, /line test/);
    return true;
  });
  assert.ok(performance.now() - started >= 29, "not before the deadline");
  driver.destroy();
});

test("driver: an abort signal rejects with AbortedError before or after sending", async () => {
  const { driver } = setup((l) => (l === "slow" ? undefined : l));
  const early = new AbortController();
  early.abort();
  await assert.rejects(driver.request("x", { signal: early.signal }), (e: unknown) => {
    return e instanceof AbortedError && e.sent === false;
  });
  const late = new AbortController();
  const pending = driver.request("slow", { signal: late.signal });
  await Promise.resolve();
  await Promise.resolve();
  late.abort(new Error("user gave up"));
  await assert.rejects(pending, (e: unknown) => e instanceof AbortedError && e.sent === true);
  assert.equal(await driver.request("after"), "after", "the connection is still usable");
  await driver.close();
});

test("driver: graceful close waits for pending requests, then refuses new ones", async () => {
  const { driver, server } = setup();
  const pending = driver.request("last");
  const closing = driver.close();
  assert.equal(driver.isOpen, false);
  await assert.rejects(driver.request("late"), ConnectionClosedError);
  assert.equal(await pending, "LAST");
  await closing;
  assert.equal(await driver.closed, undefined, "a clean close has no error");
  assert.equal(await server.read(), null, "the peer sees end of stream");
});

test("driver: a peer that closes mid-reply settles every pending request as maybe-sent", async () => {
  const [client, server] = createMemoryPair();
  const driver = new Driver(new LineMachine(), client, { label: "line test" });
  const a = driver.request("a");
  const b = driver.request("b");
  await server.read();
  server.write(bytes("A\npart"));
  await server.end();
  assert.equal(await a, "A");
  await assert.rejects(b, (e: unknown) => {
    assert.ok(e instanceof ConnectionClosedError);
    assert.equal(e.sent, true);
    assert.match(e.message, /line test.*may have been executed.*EOF in the middle of a line/);
    return true;
  });
  assert.ok((await driver.closed) instanceof Error);
});

test("driver: a protocol violation fails all pending requests and closes the transport", async () => {
  const [client, server] = createMemoryPair();
  const driver = new Driver(new LineMachine(), client);
  const pending = [driver.request("a"), driver.request("b")];
  await server.read();
  server.write(bytes("!garbage\n"));
  for (const p of pending) {
    await assert.rejects(
      p,
      (e: unknown) => e instanceof ConnectionClosedError && /Malformed line/.test(e.message),
    );
  }
  const after = await server.read().catch((e) => e);
  assert.ok(after === null || after instanceof ConnectionClosedError, "the transport was closed");
});

test("driver: destroy rejects pending requests at once", async () => {
  const { driver } = setup(() => undefined);
  const pending = driver.request("never");
  await Promise.resolve();
  driver.destroy();
  await assert.rejects(pending, ConnectionClosedError);
  assert.ok((await driver.closed) instanceof ConnectionClosedError);
});

test("driver: pushes reach onPush in order with replies", async () => {
  const [client, server] = createMemoryPair();
  const pushes: string[] = [];
  let sawSecond!: () => void;
  const second = new Promise<void>((resolve) => (sawSecond = resolve));
  const driver = new Driver(new LineMachine(), client, {
    onPush: (p) => {
      pushes.push(p);
      if (pushes.length === 2) sawSecond();
    },
  });
  const reply = driver.request("q");
  await server.read();
  server.write(bytes("PUSH one\nQ\nPUSH two\n"));
  assert.equal(await reply, "Q");
  await second;
  assert.deepEqual(pushes, ["one", "two"]);
  driver.destroy();
});

test("driver: encoding errors throw synchronously into the returned promise, nothing is sent", async () => {
  const { driver, machine } = setup();
  await assert.rejects(driver.request("a\nb"), TypeError);
  assert.deepEqual(machine.sentLines, []);
  await driver.close();
});

test("driver: writes lent bytes only when the machine lends and the transport copies", async () => {
  for (const [lends, copies] of [[true, true], [true, false], [false, true]]) {
    const [client, server] = createMemoryPair();
    const used = { pollTransmit: 0, pollTransmitView: 0, write: 0, writeBorrowed: 0 };
    const machine: LineMachine & { pollTransmitView?: () => Uint8Array | undefined } =
      new LineMachine();
    const poll = machine.pollTransmit.bind(machine);
    machine.pollTransmit = () => (used.pollTransmit++, poll());
    if (lends) machine.pollTransmitView = () => (used.pollTransmitView++, poll());
    const transport: Transport = {
      info: client.info,
      closed: client.closed,
      get bufferedAmount() {
        return client.bufferedAmount;
      },
      read: () => client.read(),
      write: (chunk) => (used.write++, client.write(chunk)),
      writeBorrowed: copies
        ? (chunk) => (used.writeBorrowed++, client.write(chunk.slice()))
        : undefined,
      ready: () => client.ready(),
      end: () => client.end(),
      close: (reason) => client.close(reason),
    };
    const driver = new Driver(machine, transport, { label: "line test" });
    echoPeer(server, (l) => l.toUpperCase());
    assert.deepEqual(await Promise.all([driver.request("a"), driver.request("b")]), ["A", "B"]);
    await driver.close();
    const lent = lends && copies;
    const what = `lends ${lends}, copies ${copies}: ${JSON.stringify(used)}`;
    assert.equal(used.pollTransmitView > 0, lent, what);
    assert.equal(used.writeBorrowed > 0, lent, what);
    assert.equal(used.pollTransmit > 0, !lent, what);
    assert.equal(used.write > 0, !lent, what);
  }
});

test("driver: reads with readInto when the transport has it, else with read()", async () => {
  for (const form of ["readInto", "read"] as const) {
    const [client, server] = createMemoryPair();
    const used = { read: 0, readInto: 0 };
    const transport: Transport = {
      info: client.info,
      closed: client.closed,
      get bufferedAmount() {
        return client.bufferedAmount;
      },
      read: () => (used.read++, client.read()),
      readInto: form === "readInto" ? (r) => (used.readInto++, client.readInto!(r)) : undefined,
      write: (chunk) => client.write(chunk),
      ready: () => client.ready(),
      end: () => client.end(),
      close: (reason) => client.close(reason),
    };
    const driver = new Driver(new LineMachine(), transport, { label: "line test" });
    echoPeer(server, (l) => l.toUpperCase());
    assert.deepEqual(await Promise.all([driver.request("a"), driver.request("b")]), ["A", "B"]);
    assert.equal(await driver.request("c"), "C");
    await driver.close();
    const other = form === "readInto" ? "read" : "readInto";
    assert.ok(used[form] >= 2, `${form} was used (${used[form]} calls)`);
    assert.equal(used[other], 0, `${other} was not`);
  }
});
