// Tests of the driver's liveness rules (DESIGN.md §5): a connection that stays silent while a
// written request's deadline passes, or past `silenceTimeout`, is closed; one that talks is kept.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Driver } from "../../src/core/driver.ts";
import { ConnectionClosedError, TimeoutError, UnresponsiveError } from "../../src/core/errors.ts";
import { ManagedConnection } from "../../src/core/managed_connection.ts";
import type { Transport } from "../../src/core/transport.ts";
import { createMemoryPair } from "../../transports/memory.ts";
import { LineMachine } from "../_helpers/line_machine.ts";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

test("driver liveness: a deadline passing in silence closes the connection", async () => {
  const [client, server] = createMemoryPair();
  const driver = new Driver(new LineMachine(), client, { label: "line test" });
  const quick = driver.request("quick", { timeout: 30 });
  const other = driver.request("other");
  await server.read(); // both written; the peer says nothing
  await assert.rejects(quick, (e: unknown) => {
    assert.ok(e instanceof TimeoutError);
    assert.equal(e.sent, true);
    assert.match(e.message, /connection is replaced/);
    return true;
  });
  await assert.rejects(other, (e: unknown) => {
    assert.ok(e instanceof ConnectionClosedError);
    assert.equal(e.sent, true, "it was written: it may have run");
    assert.match(e.message, /unresponsive/);
    return true;
  });
  assert.equal(driver.isOpen, false);
  const reason = await driver.closed;
  assert.ok(reason instanceof UnresponsiveError, "pools can tell a dead peer by its class");
  assert.match(String(reason), /unresponsive/);
});

test("driver liveness: a deadline passing while bytes still arrive keeps the connection", async () => {
  const [client, server] = createMemoryPair();
  const driver = new Driver(new LineMachine(), client);
  const slow = driver.request("slow", { timeout: 40 });
  await server.read();
  server.write(bytes("SL")); // the peer is alive: part of the reply arrived
  await assert.rejects(slow, TimeoutError);
  assert.equal(driver.isOpen, true, "a talking peer is slow, not dead");
  server.write(bytes("OW\n")); // the late reply is discarded
  const next = driver.request("next");
  await server.read();
  server.write(bytes("NEXT\n"));
  assert.equal(await next, "NEXT");
  await driver.close().catch(() => {});
});

test("driver liveness: silenceTimeout closes a connection that answers nothing", async () => {
  const [client, server] = createMemoryPair();
  const driver = new Driver(new LineMachine(), client, { silenceTimeout: 40 });
  const started = performance.now();
  const waiting = driver.request("forever"); // no deadline of its own
  await server.read();
  await assert.rejects(waiting, (e: unknown) => e instanceof ConnectionClosedError && e.sent);
  assert.ok(performance.now() - started >= 39, "not before the threshold");
});

test("driver liveness: silenceTimeout counts from the last byte, not from the first write", async () => {
  const [client, server] = createMemoryPair();
  const driver = new Driver(new LineMachine(), client, { silenceTimeout: 60 });
  const first = driver.request("a");
  await server.read();
  // Answer in slices 25 ms apart: never 60 ms of silence, though the request waits longer.
  for (const part of ["A", "B", "C", "\n"]) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    server.write(bytes(part));
  }
  assert.equal(await first, "ABC");
  assert.equal(driver.isOpen, true);
  await driver.close();
});

test("driver liveness: a managed connection replaces the dead connection on the next call", async () => {
  const peers: Transport[] = [];
  let connected = (): void => {};
  const conn = new ManagedConnection<string, string, string, string>({
    label: "line test",
    connect: () => {
      const [client, server] = createMemoryPair();
      peers.push(server);
      connected();
      return Promise.resolve(client);
    },
    createMachine: () => new LineMachine(),
  });
  await conn.open();
  const lost = conn.request("lost", { timeout: 30 });
  await peers[0].read(); // the first peer never answers
  await assert.rejects(lost, TimeoutError);
  const second = new Promise<void>((resolve) => (connected = resolve));
  const answered = conn.request("again");
  if (peers.length < 2) await second;
  await peers[1].read();
  peers[1].write(bytes("AGAIN\n"));
  assert.equal(await answered, "AGAIN");
  await conn.close();
});
