// kvwire/otel with the OpenTelemetry SDK (in-memory exporter, metric reader) driven by the real
// Instrumenter of src/core: span names, kinds, attributes, errors, streams, parents, the
// duration histogram, options, uninstalling, and a broken provider that changes nothing.

import { test } from "node:test";
import assert from "node:assert/strict";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { Instrumenter } from "../../src/core/instrument.ts";
import { ConnectionClosedError, ServerError, TimeoutError } from "../../src/core/errors.ts";
import { DURATION_METRIC, instrumentKvwire } from "../../otel/mod.ts";
import { setUpTelemetry, useStackContext } from "./_helpers.ts";

const redis = { protocol: "redis", serverAddress: "127.0.0.1", serverPort: 6379 } as const;

test("otel: a request is a CLIENT span named by the conventions, with their attributes", async () => {
  const otel = setUpTelemetry();
  try {
    const inst = new Instrumenter();
    await inst.track({ ...redis, operation: "GET", namespace: "0" }, () => Promise.resolve());
    await inst.track(
      { protocol: "pegasus", operation: "multi_get", namespace: "users", serverPort: 34801 },
      () => Promise.resolve(),
    );
    await inst.track({ protocol: "etcd", operation: "Range" }, () => Promise.resolve());
    await inst.track(
      { protocol: "memcache", operation: "get", serverAddress: "m" },
      async () => {},
    );
    const [get, multiGet, range, mcGet] = otel.spans();
    assert.equal(get.name, "GET 127.0.0.1:6379", "Redis: never the db index in the name");
    assert.equal(get.kind, SpanKind.CLIENT);
    assert.equal(get.status.code, SpanStatusCode.UNSET);
    assert.deepEqual(get.attributes, {
      "db.system.name": "redis",
      "db.operation.name": "GET",
      "db.namespace": "0",
      "server.address": "127.0.0.1",
      "server.port": 6379,
    });
    assert.equal(get.instrumentationScope.name, "kvwire");
    assert.equal(multiGet.name, "multi_get users");
    assert.equal(multiGet.attributes["db.system.name"], "pegasus");
    assert.equal(multiGet.attributes["db.namespace"], "users");
    assert.equal(range.name, "Range", "no target known: the operation alone");
    assert.equal(range.attributes["db.system.name"], "etcd");
    assert.equal(mcGet.name, "get m");
    assert.equal(mcGet.attributes["db.system.name"], "memcached");
    assert.equal(mcGet.attributes["server.port"], undefined);
  } finally {
    await otel.close();
  }
});

test("otel: batches carry db.operation.batch.size (not for one command); retries and redirections", async () => {
  const otel = setUpTelemetry();
  try {
    const inst = new Instrumenter();
    inst.end(inst.start({ ...redis, operation: "PIPELINE", batchSize: 3 }));
    inst.end(inst.start({ ...redis, operation: "MULTI", batchSize: 0 }));
    inst.end(inst.start({ ...redis, operation: "PIPELINE", batchSize: 1 }));
    const moved = inst.start({ ...redis, operation: "SET" })!;
    moved.redirections = 2;
    moved.retries = 1;
    inst.end(moved);
    const [three, empty, one, set] = otel.spans();
    assert.equal(three.attributes["db.operation.batch.size"], 3);
    assert.equal(empty.attributes["db.operation.batch.size"], 0);
    assert.equal(one.attributes["db.operation.batch.size"], undefined);
    assert.equal(set.attributes["kvwire.redirections"], 2);
    assert.equal(set.attributes["kvwire.retries"], 1);
    assert.equal(three.attributes["kvwire.retries"], undefined, "only when not zero");
  } finally {
    await otel.close();
  }
});

test("otel: a server error is an ERROR span with the server's code; a timeout has its code", async () => {
  const otel = setUpTelemetry();
  try {
    const inst = new Instrumenter();
    const wrong = new ServerError("WRONGTYPE Operation against a key", "WRONGTYPE");
    await assert.rejects(inst.track({ ...redis, operation: "INCR" }, () => Promise.reject(wrong)));
    const late = new TimeoutError("GET timed out after 5 ms");
    await assert.rejects(inst.track({ ...redis, operation: "GET" }, () => Promise.reject(late)));
    const plain = inst.start({ protocol: "tstorage", operation: "PUT" });
    inst.end(plain, new ConnectionClosedError("Connection closed", { sent: true }));
    const [incr, get, put] = otel.spans();
    assert.equal(incr.status.code, SpanStatusCode.ERROR);
    assert.equal(incr.status.message, "WRONGTYPE Operation against a key");
    assert.equal(incr.attributes["error.type"], "WRONGTYPE");
    assert.equal(incr.attributes["db.response.status_code"], "WRONGTYPE");
    assert.equal(incr.events.length, 1);
    assert.equal(incr.events[0].name, "exception");
    assert.equal(incr.events[0].attributes?.["exception.message"], wrong.message);
    assert.equal(incr.events[0].attributes?.["exception.stacktrace"], undefined, "no stack");
    assert.equal(get.attributes["error.type"], "TIMEOUT");
    assert.equal(get.attributes["db.response.status_code"], undefined);
    assert.equal(get.status.code, SpanStatusCode.ERROR);
    assert.equal(put.attributes["error.type"], "CONNECTION_CLOSED");
  } finally {
    await otel.close();
  }
});

test("otel: errorMessages false keeps only error.type", async () => {
  const otel = setUpTelemetry({ errorMessages: false });
  try {
    const inst = new Instrumenter();
    const op = inst.start({ ...redis, operation: "NOSUCH" });
    inst.end(op, new ServerError("ERR unknown command 'NOSUCH', with args: 'secret'", "ERR"));
    const [span] = otel.spans();
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.status.message, undefined);
    assert.equal(span.attributes["error.type"], "ERR");
    assert.doesNotMatch(JSON.stringify(span.events), /secret/);
  } finally {
    await otel.close();
  }
});

test("otel: a stream is a span that ends when the stream ends, and is not measured", async () => {
  const otel = setUpTelemetry();
  try {
    const inst = new Instrumenter();
    const watch = inst.start({ protocol: "etcd", operation: "Watch", kind: "stream" });
    assert.equal(otel.spans().length, 0, "still open");
    inst.end(inst.start({ protocol: "etcd", operation: "Put" }));
    inst.end(watch);
    const names = otel.spans().map((s) => s.name);
    assert.deepEqual(names, ["Put", "Watch"]);
    const histogram = await otel.histogram();
    assert.deepEqual(
      histogram!.dataPoints.map((p) => p.attributes["db.operation.name"]),
      ["Put"],
      "only the request is measured",
    );
  } finally {
    await otel.close();
  }
});

test("otel: db.client.operation.duration counts every request in seconds, errors apart", async () => {
  const otel = setUpTelemetry();
  try {
    const inst = new Instrumenter();
    for (let i = 0; i < 3; i++) {
      const op = inst.start({ ...redis, operation: "GET" })!;
      // As if it had started 2 s ago: 2 s land in the (1, 5] bucket.
      (op as { monotonicStart: number }).monotonicStart -= i === 0 ? 2000 : 0;
      inst.end(op);
    }
    inst.end(inst.start({ ...redis, operation: "GET" }), new TimeoutError("GET timed out"));
    const histogram = await otel.histogram();
    assert.ok(histogram, "the histogram is there");
    assert.equal(histogram.descriptor.unit, DURATION_METRIC.unit);
    assert.equal(histogram.descriptor.unit, "s");
    const ok = histogram.dataPoints.find((p) => p.attributes["error.type"] === undefined)!;
    const failed = histogram.dataPoints.find((p) => p.attributes["error.type"] === "TIMEOUT")!;
    assert.equal(ok.value.count, 3);
    assert.equal(failed.value.count, 1);
    assert.deepEqual(ok.value.buckets.boundaries, [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]);
    assert.ok(ok.value.sum! >= 2 && ok.value.sum! < 3, `seconds: ${ok.value.sum}`);
    assert.equal(ok.value.buckets.counts[7], 1, "the 2 s operation in (1, 5]");
    assert.deepEqual(ok.attributes, {
      "db.system.name": "redis",
      "db.operation.name": "GET",
      "server.address": "127.0.0.1",
      "server.port": 6379,
    });
  } finally {
    await otel.close();
  }
});

test("otel: spans start in the active context; requireParentSpan skips orphans but measures them", async () => {
  const stopContext = useStackContext();
  const otel = setUpTelemetry({ requireParentSpan: true });
  try {
    const inst = new Instrumenter();
    inst.end(inst.start({ ...redis, operation: "ORPHAN" }));
    const parent = otel.tracer.startSpan("request handler");
    context.with(trace.setSpan(context.active(), parent), () => {
      inst.end(inst.start({ ...redis, operation: "CHILD" }));
    });
    const [child] = otel.spans();
    assert.equal(otel.spans().length, 1, "the orphan has no span");
    assert.equal(child.name, "CHILD 127.0.0.1:6379");
    assert.equal(child.parentSpanContext?.spanId, parent.spanContext().spanId);
    const histogram = await otel.histogram();
    assert.equal(histogram!.dataPoints.length, 2, "both measured");
  } finally {
    await otel.close();
    stopContext();
  }
});

test("otel: uninstalling stops spans and measurements", async () => {
  const otel = setUpTelemetry();
  try {
    const inst = new Instrumenter();
    inst.end(inst.start({ ...redis, operation: "GET" }));
    otel.uninstall();
    assert.equal(inst.enabled, false);
    inst.end(inst.start({ ...redis, operation: "SET" }));
    assert.deepEqual(otel.spans().map((s) => s.attributes["db.operation.name"]), ["GET"]);
  } finally {
    await otel.close();
  }
});

test("otel: a provider that throws changes nothing for the caller", async () => {
  const broken = {
    getTracer: () => ({
      startSpan: () => {
        throw new Error("tracer bug");
      },
      startActiveSpan: () => {
        throw new Error("tracer bug");
      },
    }),
  };
  const uninstall = instrumentKvwire({ tracerProvider: broken });
  try {
    const inst = new Instrumenter();
    assert.equal(await inst.track({ ...redis, operation: "GET" }, () => Promise.resolve(5)), 5);
  } finally {
    uninstall();
  }
});

test("otel: options are checked", () => {
  assert.throws(() => instrumentKvwire(null as never), TypeError);
  assert.throws(
    () => instrumentKvwire({ tracerProvider: {} as never }),
    /options\.tracerProvider must be a TracerProvider/,
  );
  assert.throws(
    () => instrumentKvwire({ meterProvider: 1 as never }),
    /options\.meterProvider must be a MeterProvider/,
  );
});

test("otel: a server known only when the operation settles reaches the span and its name", async () => {
  const otel = setUpTelemetry();
  try {
    const inst = new Instrumenter();
    const op = inst.start({ protocol: "etcd", operation: "Put" })!;
    op.serverAddress = "10.0.0.2";
    op.serverPort = 2379;
    inst.end(op);
    const [span] = otel.spans();
    assert.equal(span.name, "Put 10.0.0.2:2379");
    assert.equal(span.attributes["server.address"], "10.0.0.2");
    assert.equal(span.attributes["server.port"], 2379);
  } finally {
    await otel.close();
  }
});
