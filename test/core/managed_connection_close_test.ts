// A managed connection closed while a reconnect is being set up must not keep the connection
// that setup then finishes: it would stay open (and keep the process alive) after close().
import { test } from "node:test";
import assert from "node:assert/strict";
import { ManagedConnection } from "../../src/core/managed_connection.ts";
import type { Transport } from "../../src/core/transport.ts";
import { memoryConnector } from "../../transports/memory.ts";
import { LineMachine } from "../_helpers/line_machine.ts";

test("ManagedConnection: close() during a reconnect's setup closes the connection it made", async () => {
  const servers: Transport[] = [];
  const ends: Promise<void>[] = [];
  const connect = memoryConnector((server) => {
    servers.push(server);
    ends.push((async () => {
      while ((await server.read().catch(() => null)) !== null) { /* drain until closed */ }
    })());
  });
  let releaseSetup!: () => void;
  let setupStarted!: () => void;
  const started = new Promise<void>((resolve) => (setupStarted = resolve));
  const conn = new ManagedConnection<string, string, string, string>({
    label: "line test",
    connect: () => connect({ host: "fake", port: 1 }),
    createMachine: () => new LineMachine(),
    onConnect: async (_driver, again) => {
      if (!again) return;
      setupStarted();
      await new Promise<void>((resolve) => (releaseSetup = resolve));
    },
  });
  await conn.open();
  servers[0].close(); // the server drops the connection: the reconnect starts at once
  await started;
  const closing = conn.close();
  releaseSetup(); // the setup finishes after close()
  await closing;
  await ends[1]; // the second connection's server side sees its end
  assert.equal(conn.driver, undefined, "no connection is kept after close()");
  assert.equal(conn.stats().state, "closed");
});
