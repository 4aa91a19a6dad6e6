// Tests of the core observability pieces: the event hub, a managed connection's lifecycle events
// and stats over a reconnect, the instrumenter (own and process-wide hooks), and the logger.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventHub } from "../../src/core/events.ts";
import { addInstrumentation, Instrumenter, type Operation } from "../../src/core/instrument.ts";
import { logEvents } from "../../src/core/logger.ts";
import { ManagedConnection } from "../../src/core/managed_connection.ts";
import type { ConnectionEvents } from "../../src/core/observe.ts";
import { summarizeStats } from "../../src/core/observe.ts";
import { ServerError, TimeoutError } from "../../src/core/errors.ts";
import type { Transport } from "../../src/core/transport.ts";
import { memoryConnector } from "../../transports/memory.ts";
import { LineMachine } from "../_helpers/line_machine.ts";

const text = new TextDecoder();
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Answers each line `x` with `x!`, one connection at a time; `kill()` drops the current one. */
function echoServer(): { connect: ReturnType<typeof memoryConnector>; kill: () => void } {
  let current: Transport | undefined;
  const connect = memoryConnector(async (server) => {
    current = server;
    for (let chunk; (chunk = await server.read().catch(() => null)) !== null;) {
      for (const line of text.decode(chunk).split("\n").filter(Boolean)) {
        server.write(bytes(`${line}!\n`));
      }
    }
  });
  return { connect, kill: () => current?.close() };
}

test("EventHub: listeners get their events, the remover stops them, has() sees listeners", () => {
  const hub = new EventHub<{ a: { n: number }; b: { s: string } }>();
  const seen: string[] = [];
  assert.equal(hub.has("a"), false);
  const stop = hub.on("a", (e) => seen.push(`a${e.n}`));
  hub.on("b", (e) => seen.push(`b${e.s}`));
  assert.equal(hub.has("a"), true);
  hub.emit("a", { n: 1 });
  hub.emit("b", { s: "x" });
  stop();
  hub.emit("a", { n: 2 });
  assert.deepEqual(seen, ["a1", "bx"]);
  assert.equal(hub.has("a"), false);
  assert.throws(() => hub.on("a", 1 as never), TypeError);
});

test("EventHub: a throwing listener is reported on error and the others still run", () => {
  const hub = new EventHub<ConnectionEvents>();
  const errors: unknown[] = [];
  let later = 0;
  hub.on("ready", () => {
    throw new Error("listener bug");
  });
  hub.on("ready", () => later++);
  hub.on("error", (e) => errors.push(e));
  hub.on("error", () => {
    throw new Error("error listener bug"); // dropped: nowhere to go
  });
  hub.emit("ready", { address: "a:1", reconnect: false });
  assert.equal(later, 1);
  assert.equal(errors.length, 1);
  const e = errors[0] as ConnectionEvents["error"];
  assert.equal(e.source, "listener");
  assert.match(e.error.message, /listener bug/);
});

test("ManagedConnection: events in order over a reconnect, and stats that move", async () => {
  const server = echoServer();
  const hub = new EventHub<ConnectionEvents>();
  const events: string[] = [];
  hub.onAny((name, e) => {
    const detail = name === "ready"
      ? `:${(e as ConnectionEvents["ready"]).reconnect}`
      : name === "disconnect"
      ? `:${(e as ConnectionEvents["disconnect"]).willReconnect}`
      : "";
    events.push(`${name}${detail}`);
  });
  const conn = new ManagedConnection<string, string, string, string>({
    label: "line test",
    address: "fake:1",
    connect: () => server.connect({ host: "fake", port: 1 }),
    createMachine: () => new LineMachine(),
    events: hub,
  });
  assert.equal(conn.stats().state, "idle");
  assert.equal(await conn.request("one"), "one!");
  const first = conn.stats();
  assert.equal(first.state, "ready");
  assert.equal(first.address, "fake:1");
  assert.equal(first.bytesOut, 4);
  assert.equal(first.bytesIn, 5);
  assert.equal(first.reconnects, 0);

  const reconnected = new Promise<void>((resolve) =>
    hub.on("ready", (e) => e.reconnect && resolve())
  );
  server.kill();
  await reconnected;
  assert.equal(await conn.request("two"), "two!");
  const second = conn.stats();
  assert.equal(second.reconnects, 1);
  assert.equal(second.bytesOut, 8, "bytes of the first connection are kept");
  assert.equal(second.bytesIn, 10);
  await conn.close();
  assert.equal(conn.stats().state, "closed");
  assert.deepEqual(events, [
    "connect",
    "ready:false",
    "disconnect:true",
    "reconnecting",
    "connect",
    "ready:true",
    "disconnect:false",
  ]);
});

test("ManagedConnection: inFlight counts a request waiting for its reply", async () => {
  let answer!: () => void;
  const answered = new Promise<void>((resolve) => (answer = resolve));
  let arrived!: () => void;
  const received = new Promise<void>((resolve) => (arrived = resolve));
  const connect = memoryConnector(async (server) => {
    const chunk = await server.read();
    arrived();
    await answered;
    server.write(bytes(`${text.decode(chunk!).trim()}!\n`));
  });
  const conn = new ManagedConnection<string, string, string, string>({
    label: "line test",
    connect: () => connect({ host: "fake", port: 1 }),
    createMachine: () => new LineMachine(),
  });
  await conn.open();
  const pending = conn.request("slow");
  await received;
  assert.equal(conn.stats().inFlight, 1);
  answer();
  assert.equal(await pending, "slow!");
  assert.equal(conn.stats().inFlight, 0);
  await conn.close();
});

test("ManagedConnection: a failed attempt is an error event with source connect", async () => {
  const hub = new EventHub<ConnectionEvents>();
  const errors: ConnectionEvents["error"][] = [];
  hub.on("error", (e) => errors.push(e));
  const conn = new ManagedConnection<string, string, string, string>({
    label: "line test",
    address: "nowhere:1",
    connect: () => Promise.reject(new Error("refused")),
    createMachine: () => new LineMachine(),
    events: hub,
  });
  await assert.rejects(conn.open(), /refused/);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].source, "connect");
  assert.equal(errors[0].address, "nowhere:1");
  assert.match(conn.stats().lastError ?? "", /Error: refused/);
  await conn.close();
});

test("summarizeStats: sums members; ready wins over reconnecting; closed overrides", () => {
  const member = (state: "ready" | "reconnecting", n: number) => ({
    address: `m${n}`,
    state,
    inFlight: n,
    queued: n,
    reconnects: n,
    bytesIn: n,
    bytesOut: n,
  });
  const stats = summarizeStats([member("reconnecting", 1), member("ready", 2)], false);
  assert.equal(stats.state, "ready");
  assert.equal(stats.inFlight, 3);
  assert.equal(stats.bytesOut, 3);
  assert.equal(summarizeStats([member("ready", 1)], true).state, "closed");
  assert.equal(summarizeStats([member("reconnecting", 1)], false).state, "reconnecting");
});

test("Instrumenter: nothing is built without hooks; own and global hooks see start and end", () => {
  const quiet = new Instrumenter();
  assert.equal(quiet.enabled, false);
  assert.equal(quiet.start({ protocol: "redis", operation: "GET" }), undefined);

  const seen: string[] = [];
  const inst = new Instrumenter({
    onStart: (op) => seen.push(`own start ${op.operation}`),
    onEnd: (op) => seen.push(`own end ${op.operation} ${op.errorCode ?? "ok"}`),
  });
  const remove = addInstrumentation({
    onStart: () => {
      throw new Error("hook bug: ignored");
    },
    onEnd: (op) => seen.push(`global end ${op.errorCode ?? "ok"}`),
  });
  try {
    assert.equal(quiet.enabled, true, "a global hook enables every client");
    const ok = inst.start({ protocol: "redis", operation: "GET", serverPort: 6379 })!;
    assert.equal(ok.kind, "request");
    assert.equal(ok.retries, 0);
    inst.end(ok);
    inst.end(ok); // ending twice reports once
    assert.ok(ok.duration! >= 0);
    assert.ok(ok.endTime! >= ok.startTime);
    const failed = inst.start({ protocol: "redis", operation: "SET" })!;
    inst.end(failed, new TimeoutError("SET timed out"));
    const plain = inst.start({ protocol: "etcd", operation: "Range" })!;
    inst.end(plain, new TypeError("bad"));
    assert.equal(plain.errorCode, "TypeError");
    assert.deepEqual(seen, [
      "own start GET",
      "own end GET ok",
      "global end ok",
      "own start SET",
      "own end SET TIMEOUT",
      "global end TIMEOUT",
      "own start Range",
      "own end Range TypeError",
      "global end TypeError",
    ]);
  } finally {
    remove();
  }
  assert.equal(quiet.enabled, false);
  assert.throws(() => new Instrumenter({ onEnd: 3 } as never), TypeError);
  assert.throws(() => addInstrumentation(null as never), TypeError);
});

test("Instrumenter.track: ends with the body's outcome and passes it through", async () => {
  const ended: Operation[] = [];
  const inst = new Instrumenter({ onEnd: (op) => ended.push(op) });
  assert.equal(
    await inst.track({ protocol: "etcd", operation: "Put" }, () => Promise.resolve(7)),
    7,
  );
  const failure = new ServerError("no");
  await assert.rejects(
    inst.track({ protocol: "etcd", operation: "Put" }, () => Promise.reject(failure)),
    (e) => e === failure,
  );
  assert.deepEqual(ended.map((op) => op.errorCode), [undefined, "SERVER"]);
});

test("logEvents: levels by event, errors reduced to name/code/message", () => {
  const hub = new EventHub<ConnectionEvents & { failover: { slot: number } }>();
  const lines: string[] = [];
  const fields: Record<string, unknown>[] = [];
  const logger = {
    debug: (m: string) => lines.push(`debug ${m}`),
    info: (m: string) => lines.push(`info ${m}`),
    warn: (m: string, f?: Record<string, unknown>) => {
      lines.push(`warn ${m}`);
      fields.push(f!);
    },
  };
  const stop = logEvents(hub, logger, "redis a:1");
  hub.emit("connect", { address: "a:1", attempt: 1 });
  hub.emit("disconnect", { address: "a:1", willReconnect: false });
  hub.emit("disconnect", { address: "a:1", error: new TimeoutError("gone"), willReconnect: true });
  hub.emit("failover", { slot: 3 });
  hub.emit("error", { error: new Error("x") }); // no error method: dropped
  stop();
  hub.emit("connect", { address: "a:1", attempt: 2 });
  assert.deepEqual(lines, [
    "debug redis a:1: connect a:1",
    "info redis a:1: disconnect a:1",
    "warn redis a:1: disconnect a:1: gone",
    "info redis a:1: failover",
  ]);
  assert.deepEqual(fields[0].error, {
    name: "TimeoutError",
    message: "gone",
    code: "TIMEOUT",
    sent: false,
  });
  assert.throws(() => logEvents(hub, null as never, "x"), TypeError);
});
