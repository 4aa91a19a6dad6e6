/**
 * `kvwire/otel`: OpenTelemetry for every kvwire client. {@link instrumentKvwire} turns each
 * operation into a CLIENT span and a `db.client.operation.duration` measurement following the
 * database semantic conventions. Needs `@opentelemetry/api` (an optional peer dependency: only
 * this entry imports it).
 *
 * @example
 * ```ts
 * import { instrumentKvwire } from "@kvwire/kvwire/otel";
 * const uninstall = instrumentKvwire(); // the global tracer and meter providers
 * // ... every client's operations are spans and measurements now ...
 * uninstall();
 * ```
 *
 * @module
 */

import {
  context,
  type Exception,
  type MeterProvider,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type TracerProvider,
} from "@opentelemetry/api";
import { addInstrumentation, type Operation } from "../src/core/instrument.ts";
import {
  addErrorAttributes,
  ATTR,
  type AttributeMap,
  DURATION_METRIC,
  metricAttributes,
  spanName,
  startAttributes,
} from "./semconv.ts";

export { ATTR, DB_SYSTEM, DURATION_METRIC } from "./semconv.ts";

/** Options of {@link instrumentKvwire}. */
export interface KvwireOtelOptions {
  /** Where spans go. Default: the global provider (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** Where the duration histogram goes. Default: the global provider. */
  meterProvider?: MeterProvider;
  /** Trace only operations started inside an active span (measure all). Default false. */
  requireParentSpan?: boolean;
  /**
   * Put the error's message in the span status and its exception event. Default true. Messages
   * are kvwire's own or the server's text, which for some errors quotes the arguments (Redis
   * answers an unknown command with its first arguments): false keeps only `error.type`.
   */
  errorMessages?: boolean;
}

/** The instrumentation scope of the tracer and meter. */
const SCOPE = "kvwire";

/**
 * Reports every operation of every kvwire client in this process to OpenTelemetry; returns a
 * function that stops it.
 *
 * Spans: kind CLIENT, named `{db.operation.name} {target}` (target: the namespace, or
 * `server.address:server.port`; for Redis never the database index), started in the active
 * context, with `db.system.name` (`redis`, `memcached`, `etcd`, `pegasus`, `tstorage`),
 * `db.operation.name`, `db.namespace`, `server.address`, `server.port` and, for batches,
 * `db.operation.batch.size`; `kvwire.retries` and `kvwire.redirections` when not zero. A server
 * known only when the operation settles (routed, failed over or redirected) is set then, and
 * the name follows. A failure sets `error.type` (the server's code when it sent one, also as
 * `db.response.status_code`; else kvwire's code such as `TIMEOUT`), status ERROR and an
 * exception event with the error's name and message (no stack, no cause). Streams (watches,
 * subscriptions, scanners) are spans that end with the stream.
 *
 * Metrics: the `db.client.operation.duration` histogram (seconds, the conventions' buckets) for
 * every request (not streams), with the span's attributes except the batch size.
 *
 * Keys, values and credentials never reach an operation, so they reach no attribute.
 *
 * @example
 * ```ts
 * import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
 * import { instrumentKvwire } from "@kvwire/kvwire/otel";
 * const exporter = new InMemorySpanExporter();
 * const tracerProvider = new BasicTracerProvider({
 *   spanProcessors: [new SimpleSpanProcessor(exporter)],
 * });
 * const uninstall = instrumentKvwire({ tracerProvider });
 * uninstall();
 * ```
 */
export function instrumentKvwire(options: KvwireOtelOptions = {}): () => void {
  checkOptions(options);
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE);
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE);
  const duration = meter.createHistogram(DURATION_METRIC.name, {
    unit: DURATION_METRIC.unit,
    description: DURATION_METRIC.description,
    advice: { explicitBucketBoundaries: [...DURATION_METRIC.buckets] },
  });
  const requireParent = options.requireParentSpan === true;
  const messages = options.errorMessages !== false;
  const spans = new WeakMap<Operation, { span: Span; name: string }>();
  return addInstrumentation({
    onStart(op) {
      const parent = context.active();
      if (requireParent && trace.getSpan(parent) === undefined) return;
      const name = spanName(op);
      const span = tracer.startSpan(
        name,
        { kind: SpanKind.CLIENT, attributes: startAttributes(op) },
        parent,
      );
      spans.set(op, { span, name });
    },
    onEnd(op) {
      if (op.kind === "request" && op.duration !== undefined) {
        duration.record(op.duration / 1000, metricAttributes(op));
      }
      const started = spans.get(op);
      if (started === undefined) return;
      spans.delete(op);
      endSpan(started.span, started.name, op, messages);
    },
  });
}

/**
 * Ends a span with what the operation learnt meanwhile: the server it settled on (clients that
 * route, fail over or follow redirections name it only then; the name follows), retries,
 * redirections and the error.
 */
function endSpan(span: Span, startName: string, op: Operation, messages: boolean): void {
  const attributes: AttributeMap = {};
  if (op.serverAddress !== undefined) attributes[ATTR.serverAddress] = op.serverAddress;
  if (op.serverPort !== undefined) attributes[ATTR.serverPort] = op.serverPort;
  const name = spanName(op);
  if (name !== startName) span.updateName(name);
  if (op.retries > 0) attributes[ATTR.retries] = op.retries;
  if (op.redirections > 0) attributes[ATTR.redirections] = op.redirections;
  if (op.error !== undefined) {
    addErrorAttributes(attributes, op.error, op.errorCode);
    const exception: Exception = messages
      ? { name: op.error.name, message: op.error.message }
      : { name: op.error.name };
    span.recordException(exception);
    span.setStatus(
      messages ? { code: SpanStatusCode.ERROR, message: op.error.message } : {
        code: SpanStatusCode.ERROR,
      },
    );
  }
  span.setAttributes(attributes);
  span.end();
}

function checkOptions(options: KvwireOtelOptions): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("instrumentKvwire(options) must be an object");
  }
  const { tracerProvider, meterProvider } = options;
  if (tracerProvider !== undefined && typeof tracerProvider?.getTracer !== "function") {
    throw new TypeError("options.tracerProvider must be a TracerProvider (with getTracer)");
  }
  if (meterProvider !== undefined && typeof meterProvider?.getMeter !== "function") {
    throw new TypeError("options.meterProvider must be a MeterProvider (with getMeter)");
  }
}
