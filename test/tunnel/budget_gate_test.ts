// The relay's bookkeeping, without sockets: the per-client frame and byte budget (budget.ts)
// and the connection gate counting handshakes (gate.ts).

import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameBudget } from "../../src/tunnel/budget.ts";
import { ConnectionGate } from "../../src/tunnel/gate.ts";

test("budget: frames and bytes over a window pause reading until it is paid off", () => {
  const budget = new FrameBudget({ window: 100, frames: 10, bytes: 1000 }, 0);
  assert.equal(budget.charge(10, 100, 0), 0, "at the budget: go on");
  assert.equal(budget.charge(1, 0, 40), 60, "one frame over: wait for the window's end");
  assert.equal(budget.charge(25, 0, 100), 100, "an overdraft carries over (1 + 25 > 10)");
  assert.equal(budget.charge(0, 0, 300), 0, "paid off after two more windows");
  assert.equal(budget.charge(0, 1001, 300), 100, "bytes count too");
  const unlimited = new FrameBudget({ window: 100, frames: 0, bytes: 0 }, 0);
  assert.equal(unlimited.charge(1e9, 1e12, 1), 0);
});

test("gate: handshakes count toward the limit and per IP, until done or released", () => {
  const gate = new ConnectionGate({ maxConnections: 3, maxHandshakesPerIp: 2 });
  const a = gate.enter("10.0.0.1");
  const b = gate.enter("10.0.0.1");
  assert.equal(gate.enter("10.0.0.1"), "busy");
  assert.equal(gate.handshakes, 2);
  if (typeof a === "string" || typeof b === "string") throw new Error("refused");
  a.handshakeDone();
  a.handshakeDone(); // idempotent
  assert.equal(gate.handshakes, 1);
  const c = gate.enter("10.0.0.1");
  assert.equal(typeof c, "object", "a finished handshake frees its per-IP place");
  assert.equal(gate.enter("10.0.0.2"), "full", "three connections, handshaking or not");
  b.release();
  b.release(); // idempotent
  assert.equal(gate.connections, 2);
  assert.equal(typeof gate.enter("10.0.0.2"), "object");
});
