// The OpenTelemetry SDK set up for the adapter's tests: in-memory spans, a metric reader that
// collects on demand (no timers), and a synchronous context manager for parent spans.

import {
  type Context,
  context,
  type ContextManager,
  ROOT_CONTEXT,
  type Tracer,
} from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import {
  DataPointType,
  type HistogramMetricData,
  MeterProvider,
  MetricReader,
} from "@opentelemetry/sdk-metrics";
import { instrumentKvwire, type KvwireOtelOptions } from "../../otel/mod.ts";

/** A reader the test collects from when it wants. */
class OnDemandReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The adapter installed on fresh providers, with what they recorded. */
export interface Telemetry {
  /** The spans ended so far. */
  spans(): ReadableSpan[];
  /** The `db.client.operation.duration` histogram as collected now. */
  histogram(): Promise<HistogramMetricData | undefined>;
  /** Uninstalls the adapter and shuts the providers down. */
  close(): Promise<void>;
  /** The adapter's remover. */
  uninstall: () => void;
  /** A tracer of the same provider, for parent spans. */
  tracer: Tracer;
}

/**
 * Installs `instrumentKvwire` on an in-memory tracer and meter provider.
 *
 * @example
 * ```ts
 * const otel = setUpTelemetry();
 * try { /* run operations *\/ } finally { await otel.close(); }
 * ```
 */
export function setUpTelemetry(options: Omit<KvwireOtelOptions, "tracerProvider"> = {}): Telemetry {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const reader = new OnDemandReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const uninstall = instrumentKvwire({ tracerProvider, meterProvider, ...options });
  return {
    spans: () => exporter.getFinishedSpans(),
    async histogram() {
      const { resourceMetrics } = await reader.collect();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          if (
            metric.descriptor.name === "db.client.operation.duration" &&
            metric.dataPointType === DataPointType.HISTOGRAM
          ) {
            return metric;
          }
        }
      }
      return undefined;
    },
    uninstall,
    tracer: tracerProvider.getTracer("test"),
    async close() {
      uninstall();
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}

/**
 * A synchronous context manager (what AsyncLocalStorage does, without async hops): enough to
 * run code inside a parent span. Returns its remover.
 *
 * @example
 * ```ts
 * const stop = useStackContext();
 * try { context.with(ctx, () => {}); } finally { stop(); }
 * ```
 */
export function useStackContext(): () => void {
  const stack: Context[] = [];
  const manager: ContextManager = {
    active: () => stack.at(-1) ?? ROOT_CONTEXT,
    with(ctx, fn, thisArg, ...args) {
      stack.push(ctx);
      try {
        return fn.call(thisArg, ...args);
      } finally {
        stack.pop();
      }
    },
    bind: (_ctx, target) => target,
    enable: () => manager,
    disable() {
      stack.length = 0;
      return manager;
    },
  };
  context.setGlobalContextManager(manager);
  return () => context.disable();
}
