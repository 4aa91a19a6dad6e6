// The diagnostics_channel publisher: TracingChannel events for requests and streams, the
// Operation as context, nothing built or published without subscribers, start/stop counting,
// and the commands of a real RedisClient against the real server.

import { test } from "node:test";
import assert from "node:assert/strict";
import { tracingChannel } from "node:diagnostics_channel";
import { CHANNELS, publishDiagnostics } from "../../instrumentation/diagnostics_channel.ts";
import { Instrumenter, type Operation } from "../../src/core/instrument.ts";
import { ServerError, TimeoutError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { redisAddress } from "../_helpers/servers.ts";

/** One event as a subscriber saw it, with the fields that change over the operation's life. */
interface Seen {
  event: string;
  op: Operation;
  ended: boolean;
  errorCode?: string;
}

/** Subscribes to every channel of a tracing channel; `stop` unsubscribes. */
function record(name: string): { seen: Seen[]; stop: () => void } {
  const channels = tracingChannel<unknown, Operation>(name);
  const seen: Seen[] = [];
  const note = (event: string) => (op: Operation): void => {
    seen.push({ event, op, ended: op.endTime !== undefined, errorCode: op.errorCode });
  };
  const handlers = {
    start: note("start"),
    end: note("end"),
    asyncStart: note("asyncStart"),
    asyncEnd: note("asyncEnd"),
    error: note("error"),
  };
  channels.subscribe(handlers);
  return { seen, stop: () => channels.unsubscribe(handlers) };
}

test("diagnostics_channel: a request is start, end, asyncStart, asyncEnd on kvwire:request", async () => {
  const requests = record(CHANNELS.request);
  const streams = record(CHANNELS.stream);
  const stop = publishDiagnostics();
  try {
    const inst = new Instrumenter();
    const value = await inst.track(
      { protocol: "redis", operation: "GET", serverAddress: "127.0.0.1", serverPort: 6379 },
      async () => {
        await Promise.resolve();
        assert.deepEqual(requests.seen.map((s) => s.event), ["start", "end"]);
        return "v";
      },
    );
    assert.equal(value, "v");
    assert.deepEqual(requests.seen.map((s) => `${s.event} ${s.ended}`), [
      "start false",
      "end false",
      "asyncStart true",
      "asyncEnd true",
    ]);
    const op = requests.seen[0].op;
    assert.ok(requests.seen.every((s) => s.op === op), "one context object throughout");
    assert.equal(op.protocol, "redis");
    assert.equal(op.operation, "GET");
    assert.equal(op.kind, "request");
    assert.equal(op.serverAddress, "127.0.0.1");
    assert.equal(op.serverPort, 6379);
    assert.ok(op.duration! >= 0);
    assert.equal(streams.seen.length, 0, "a request is not a stream");
  } finally {
    stop();
    requests.stop();
    streams.stop();
  }
});

test("diagnostics_channel: a failure publishes error (with errorCode) before asyncStart", async () => {
  const requests = record(CHANNELS.request);
  const stop = publishDiagnostics();
  try {
    const inst = new Instrumenter();
    await assert.rejects(
      inst.track({ protocol: "memcache", operation: "get" }, () => {
        return Promise.reject(new TimeoutError("get timed out after 5 ms"));
      }),
      TimeoutError,
    );
    const op = inst.start({ protocol: "redis", operation: "INCR" })!;
    inst.end(op, new ServerError("WRONGTYPE Operation against a key", "WRONGTYPE"));
    assert.deepEqual(requests.seen.map((s) => `${s.op.operation} ${s.event} ${s.errorCode}`), [
      "get start undefined",
      "get end undefined",
      "get error TIMEOUT",
      "get asyncStart TIMEOUT",
      "get asyncEnd TIMEOUT",
      "INCR start undefined",
      "INCR end undefined",
      "INCR error SERVER",
      "INCR asyncStart SERVER",
      "INCR asyncEnd SERVER",
    ]);
    assert.ok(requests.seen[2].op.error instanceof TimeoutError);
  } finally {
    stop();
    requests.stop();
  }
});

test("diagnostics_channel: a stream goes to kvwire:stream and ends when it ends", () => {
  const requests = record(CHANNELS.request);
  const streams = record(CHANNELS.stream);
  const stop = publishDiagnostics();
  try {
    const inst = new Instrumenter();
    const watch = inst.start({ protocol: "etcd", operation: "Watch", kind: "stream" })!;
    assert.deepEqual(streams.seen.map((s) => s.event), ["start", "end"]);
    inst.end(watch);
    assert.deepEqual(streams.seen.map((s) => s.event), ["start", "end", "asyncStart", "asyncEnd"]);
    assert.equal(streams.seen[3].op.kind, "stream");
    assert.equal(requests.seen.length, 0);
  } finally {
    stop();
    requests.stop();
    streams.stop();
  }
});

test("diagnostics_channel: without subscribers no operation is built or published", () => {
  const stop = publishDiagnostics();
  try {
    const inst = new Instrumenter();
    assert.equal(inst.enabled, false, "installed but nobody subscribed");
    assert.equal(inst.start({ protocol: "redis", operation: "GET" }), undefined);
    const streams = record(CHANNELS.stream);
    assert.equal(inst.enabled, true, "a subscriber to either channel enables it");
    // A request while only the stream channel is listened to is built but not published.
    const op = inst.start({ protocol: "redis", operation: "GET" })!;
    inst.end(op);
    assert.equal(streams.seen.length, 0);
    streams.stop();
    assert.equal(inst.enabled, false);
  } finally {
    stop();
  }
});

test("diagnostics_channel: each start is stopped once; publishing ends with the last stop", () => {
  const requests = record(CHANNELS.request);
  try {
    const inst = new Instrumenter();
    const first = publishDiagnostics();
    const second = publishDiagnostics();
    inst.end(inst.start({ protocol: "tstorage", operation: "PUT" }));
    assert.equal(requests.seen.length, 4, "published once although started twice");
    first();
    first(); // a second call of the same stop does not count
    inst.end(inst.start({ protocol: "tstorage", operation: "GET" }));
    assert.equal(requests.seen.length, 8, "still published: one start is left");
    second();
    assert.equal(inst.enabled, false);
    assert.equal(inst.start({ protocol: "tstorage", operation: "GET" }), undefined);
    assert.equal(requests.seen.length, 8);
  } finally {
    requests.stop();
  }
});

test("diagnostics_channel: an operation started before a subscriber came gets no closing events", () => {
  const stop = publishDiagnostics();
  const early = record(CHANNELS.stream);
  try {
    const inst = new Instrumenter();
    const op = inst.start({ protocol: "pegasus", operation: "get" })!; // request: not listened
    const requests = record(CHANNELS.request);
    inst.end(op);
    assert.equal(requests.seen.length, 0, "no asyncEnd without its start");
    requests.stop();
  } finally {
    early.stop();
    stop();
  }
});

test("diagnostics_channel: a real RedisClient's commands are published, a server error too", async () => {
  const { host, port } = await redisAddress();
  const redis = await RedisClient.connect({ host, port, decode: true });
  const requests = record(CHANNELS.request);
  const stop = publishDiagnostics();
  const key = `dc:${crypto.randomUUID()}`;
  try {
    await redis.set(key, "text", { ex: 10 });
    await assert.rejects(redis.incr(key), /not an integer/);
    const lines = requests.seen.map((s) => `${s.op.operation} ${s.event} ${s.errorCode ?? ""}`);
    assert.deepEqual(lines, [
      "SET start ",
      "SET end ",
      "SET asyncStart ",
      "SET asyncEnd ",
      "INCR start ",
      "INCR end ",
      "INCR error SERVER",
      "INCR asyncStart SERVER",
      "INCR asyncEnd SERVER",
    ]);
    const set = requests.seen[0].op;
    assert.equal(set.protocol, "redis");
    assert.equal(set.serverAddress, host);
    assert.equal(set.serverPort, port);
    assert.equal(set.namespace, "0");
    assert.equal(JSON.stringify(requests.seen.map((s) => s.op)).includes(key), false, "no key");
  } finally {
    stop();
    requests.stop();
    await redis.del(key);
    await redis.close();
  }
});
