// Instrumenter details the publishers rely on: a hook's active() gates building operations
// (a throwing active() counts as inactive), and the process-wide hooks are one list per process.

import { test } from "node:test";
import assert from "node:assert/strict";
import { addInstrumentation, Instrumenter } from "../../src/core/instrument.ts";

test("Instrumenter: no operation is built while every hook answers active() false", () => {
  let active = false;
  const ended: string[] = [];
  const inst = new Instrumenter({ active: () => active, onEnd: (op) => ended.push(op.operation) });
  assert.equal(inst.enabled, false);
  assert.equal(inst.start({ protocol: "redis", operation: "GET" }), undefined);
  active = true;
  assert.equal(inst.enabled, true);
  inst.end(inst.start({ protocol: "redis", operation: "SET" }));
  assert.deepEqual(ended, ["SET"]);
  const broken = new Instrumenter({
    active: () => {
      throw new Error("hook bug");
    },
    onEnd: () => assert.fail("an inactive hook's operation is never built"),
  });
  assert.equal(broken.enabled, false, "a throwing active() counts as inactive");
  assert.equal(broken.start({ protocol: "etcd", operation: "Range" }), undefined);
  assert.throws(() => new Instrumenter({ active: true } as never), TypeError);
});

test("Instrumenter: one active hook is enough, and every hook then sees the operation", () => {
  const seen: string[] = [];
  const quiet = addInstrumentation({ active: () => false, onEnd: () => seen.push("quiet") });
  const loud = addInstrumentation({ onEnd: () => seen.push("loud") });
  try {
    const inst = new Instrumenter();
    assert.equal(inst.enabled, true);
    inst.end(inst.start({ protocol: "memcache", operation: "get" }));
    assert.deepEqual(seen, ["quiet", "loud"], "the quiet hook may ignore it itself");
  } finally {
    quiet();
    loud();
  }
});

test("addInstrumentation: the hooks are kept on the global object for every copy of kvwire", () => {
  const registry = (globalThis as { [key: symbol]: unknown })[
    Symbol.for("kvwire.instrumentation")
  ] as unknown[];
  assert.ok(Array.isArray(registry));
  const hook = { onEnd: () => {} };
  const remove = addInstrumentation(hook);
  try {
    assert.ok(registry.includes(hook), "another copy of instrument.ts reads the same list");
  } finally {
    remove();
  }
  assert.equal(registry.includes(hook), false);
});
