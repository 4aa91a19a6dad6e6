// The Worker the workerd end-to-end test runs in miniflare: kvwire's Redis client through
// `cloudflare:sockets` and through the WebSocket tunnel, plus the per-request lifecycle; the
// other protocols' routes are in protocols.ts, Redis Cluster's in cluster.ts.
// Bundled by test/e2e/workerd_test.ts with scripts/workerd_bundle.ts.

import { RedisClient } from "../../../src/redis/mod.ts";
import { connectCloudflare } from "../../../transports/cloudflare.ts";
import { websocketConnector } from "../../../transports/websocket.ts";
import { runtimeName } from "../../../transports/auto.ts";
import { createTunnelToken } from "../../../src/tunnel/token.ts";
import type { Connect } from "../../../transports/types.ts";
import { type ClusterEnv, clusterRoute } from "./cluster.ts";
import { type ProtocolEnv, protocolRoute } from "./protocols.ts";

/** Bindings the test passes. */
interface Env extends ProtocolEnv, ClusterEnv {
  REDIS_HOST: string;
  REDIS_PORT: string;
  RELAY_URL: string;
  TUNNEL_SECRET: string;
  TLS_PORT: string;
  CLOSED_PORT: string;
  HALF_CLOSE_PORT: string;
}

/** A client kept across requests on purpose, to show what Workers do with it. */
let kept: RedisClient<string> | undefined;

/** The same commands over whichever connector: returns what they answered. */
async function exercise(env: Env, connect: Connect | undefined): Promise<unknown> {
  const redis = await RedisClient.connect({
    host: env.REDIS_HOST,
    port: Number(env.REDIS_PORT),
    decode: true,
    ...(connect ? { connect } : {}),
  });
  try {
    const key = `workerd:${crypto.randomUUID()}`;
    const ping = await redis.ping();
    await redis.set(key, "héllo from workerd", { ex: 30 });
    const value = await redis.get(key);
    const counts = await Promise.all(Array.from({ length: 50 }, () => redis.incr(`${key}:n`)));
    const piped = await redis.pipeline().set(`${key}:p`, 1).incr(`${key}:p`).exec();
    const multi = await redis.multi().incr(`${key}:m`).incr(`${key}:m`).exec();
    const big = "z".repeat(2 * 1024 * 1024);
    await redis.set(`${key}:big`, big, { ex: 30 });
    const bigLength = (await redis.get(`${key}:big`))?.length;
    await redis.del(key, `${key}:n`, `${key}:p`, `${key}:m`, `${key}:big`);
    return {
      ping,
      value,
      lastCount: counts[49],
      ordered: counts.every((c, i) => c === i + 1),
      piped,
      multi,
      bigLength,
    };
  } finally {
    await redis.close();
  }
}

function describe(
  error: unknown,
): { name: string; code?: string; message: string; cause?: unknown } {
  const e = error as { name?: string; code?: string; message?: string; cause?: unknown };
  return {
    name: e?.name ?? typeof error,
    code: e?.code,
    message: e?.message ?? String(error),
    cause: e?.cause === undefined ? undefined : describe(e.cause),
  };
}

async function route(request: Request, env: Env): Promise<unknown> {
  const path = new URL(request.url).pathname;
  switch (path) {
    case "/runtime":
      return { runtime: runtimeName() };
    case "/sockets":
      return await exercise(env, connectCloudflare);
    case "/default":
      return await exercise(env, undefined);
    case "/tunnel": {
      // The Worker mints a short-lived token for exactly this target with WebCrypto.
      const target = `${env.REDIS_HOST}:${env.REDIS_PORT}`;
      const token = await createTunnelToken({
        secret: env.TUNNEL_SECRET,
        targets: target,
        expiresIn: 60,
      });
      return await exercise(env, websocketConnector({ url: env.RELAY_URL, token }));
    }
    case "/tunnel-forbidden": {
      const token = await createTunnelToken({ secret: env.TUNNEL_SECRET, targets: "127.0.0.1:1" });
      const connect = websocketConnector({ url: env.RELAY_URL, token });
      try {
        await connect({ host: env.REDIS_HOST, port: Number(env.REDIS_PORT) });
        return { refused: false };
      } catch (error) {
        return describe(error);
      }
    }
    case "/keep": {
      kept = await RedisClient.connect({
        host: env.REDIS_HOST,
        port: Number(env.REDIS_PORT),
        decode: true,
        connect: connectCloudflare,
        reconnect: { enabled: false },
      });
      return { ping: await kept.ping() };
    }
    case "/reuse": {
      try {
        return { value: await kept!.with({ timeout: 2000 }).ping() };
      } catch (error) {
        return describe(error);
      } finally {
        kept?.destroy();
        kept = undefined;
      }
    }
    case "/tls":
      try {
        const t = await connectCloudflare(
          { host: "127.0.0.1", port: Number(env.TLS_PORT) },
          { tls: true, timeout: 5000 },
        );
        t.close();
        return { connected: true };
      } catch (error) {
        return describe(error);
      }
    case "/refused":
      try {
        await connectCloudflare({ host: "127.0.0.1", port: Number(env.CLOSED_PORT) });
        return { connected: true };
      } catch (error) {
        return describe(error);
      }
    case "/half-close": {
      const t = await connectCloudflare({ host: "127.0.0.1", port: Number(env.HALF_CLOSE_PORT) });
      try {
        t.write(new TextEncoder().encode("half "));
        t.write(new TextEncoder().encode("closed"));
        await t.end();
        let reply = "";
        for (let chunk = await t.read(); chunk !== null; chunk = await t.read()) {
          reply += new TextDecoder().decode(chunk);
        }
        return { reply, kind: t.info.kind };
      } finally {
        t.close();
      }
    }
    default:
      return await protocolRoute(path, env) ?? await clusterRoute(path, env) ??
        { error: `no route ${path}` };
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    try {
      return Response.json(await route(request, env));
    } catch (error) {
      return Response.json({ thrown: describe(error) }, { status: 500 });
    }
  },
};
