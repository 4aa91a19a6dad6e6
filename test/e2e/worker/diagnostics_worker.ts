// The Worker of test/e2e/workerd_diagnostics_test.ts (run with `nodejs_compat`): subscribes to
// kvwire's tracing channels, starts the publisher, runs operations (the real Instrumenter, and
// a real Redis client through `cloudflare:sockets`) and answers with what the channels saw.

import { tracingChannel } from "node:diagnostics_channel";
import { CHANNELS, publishDiagnostics } from "../../../instrumentation/diagnostics_channel.ts";
import { Instrumenter, type Operation } from "../../../src/core/instrument.ts";
import { ServerError } from "../../../src/core/errors.ts";
import { RedisClient } from "../../../src/redis/mod.ts";

/** Bindings the test passes. */
interface Env {
  REDIS_HOST: string;
  REDIS_PORT: string;
}

async function observe(env: Env): Promise<string[]> {
  const seen: string[] = [];
  const note = (event: string) => (op: Operation): void => {
    seen.push(`${op.protocol} ${op.operation} ${event}${op.errorCode ? ` ${op.errorCode}` : ""}`);
  };
  const handlers = {
    start: note("start"),
    end: note("end"),
    asyncStart: note("asyncStart"),
    asyncEnd: note("asyncEnd"),
    error: note("error"),
  };
  const channel = tracingChannel<unknown, Operation>(CHANNELS.request);
  channel.subscribe(handlers);
  const stop = publishDiagnostics();
  try {
    const inst = new Instrumenter();
    await inst.track({ protocol: "etcd", operation: "Range" }, () => Promise.resolve());
    await inst.track(
      { protocol: "etcd", operation: "Put" },
      () => Promise.reject(new ServerError("no leader", "UNAVAILABLE")),
    ).catch(() => {});
    const redis = await RedisClient.connect({ host: env.REDIS_HOST, port: Number(env.REDIS_PORT) });
    try {
      await redis.ping();
    } finally {
      await redis.close();
    }
    return seen;
  } finally {
    stop();
    channel.unsubscribe(handlers);
  }
}

export default {
  async fetch(_request: Request, env: Env): Promise<Response> {
    try {
      return Response.json({ seen: await observe(env) });
    } catch (error) {
      return Response.json({ error: String(error) }, { status: 500 });
    }
  },
};
