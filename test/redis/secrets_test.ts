// The Redis password never shows: not through inspect, console formatting, JSON.stringify or
// String() of the client, its options, views, pools, pipelines, pub/sub, nor any error's chain.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { KvError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { type RedisServer, startRedis } from "../../scripts/servers.ts";

const SECRET = "s3cr3t-Pa55word";
const WRONG = "wr0ng-Pa55word";
let server: RedisServer;
before(async () => {
  server = await startRedis({ password: SECRET });
});
after(async () => {
  await server.stop();
});

const runtime = globalThis as {
  Deno?: { inspect(v: unknown, o?: unknown): string };
  Bun?: { inspect(v: unknown, o?: unknown): string };
};

/** Every way a value is commonly turned into text, on the running runtime. */
function renderings(value: unknown): string[] {
  const out = [inspect(value, { depth: 8 }), String(value)];
  try {
    out.push(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? String(v) : v)) ?? "");
  } catch (error) {
    out.push(String(error));
  }
  if (runtime.Deno) out.push(runtime.Deno.inspect(value, { depth: 8 }));
  if (runtime.Bun) out.push(runtime.Bun.inspect(value, { depth: 8 }));
  if (value instanceof Error) {
    out.push(value.message, value.stack ?? "");
    if (value.cause !== undefined) out.push(...renderings(value.cause));
  }
  return out;
}

function assertHidden(what: string, value: unknown, secret = SECRET): void {
  for (const text of renderings(value)) {
    assert.ok(!text.includes(secret), `${what} shows the password: ${text.slice(0, 400)}`);
  }
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected a rejection");
}

for (const protocol of [2, 3] as const) {
  test(`redis secrets RESP${protocol}: client, options, views, pool, pipeline and pub/sub hide the password`, async () => {
    const url = `redis://default:${SECRET}@127.0.0.1:${server.port}/0?protocol=${protocol}`;
    const redis = await RedisClient.connect(url, { decode: true });
    try {
      assert.equal(await redis.ping(), "PONG");
      assert.equal(redis.options.password, SECRET, "the password is still usable");
      assertHidden("client", redis);
      assertHidden("options", redis.options);
      assertHidden("view", redis.with({ timeout: 1000 }));
      assert.equal(await redis.blPop(["secrets:empty"], 0.01), null); // creates the pool
      assertHidden("pool", redis.pool);
      const pipeline = redis.pipeline().set("secrets:k", "v").get("secrets:k");
      assertHidden("pipeline", pipeline);
      assert.deepEqual(await pipeline.exec(), [true, "v"]);
      await using pubsub = redis.pubsub();
      await pubsub.subscribe("secrets:chan");
      assertHidden("pubsub", pubsub);
      assertHidden("duplicate", redis.duplicate());
      const explicit = await RedisClient.connect({
        port: server.port,
        password: SECRET,
        protocol,
        tls: false,
      });
      assertHidden("client from options", explicit);
      assertHidden("options from options", explicit.options);
      await explicit.close();
    } finally {
      await redis.close();
    }
  });

  test(`redis secrets RESP${protocol}: a refused password leaves no trace in the error chain`, async () => {
    const error = await failure(
      RedisClient.connect(`redis://default:${WRONG}@127.0.0.1:${server.port}`, {
        protocol,
        reconnect: { enabled: false },
      }),
    );
    assert.ok(error instanceof KvError, `a KvError, got ${String(error)}`);
    assertHidden("refused AUTH error", error, WRONG);
    const lazy = new RedisClient({ port: server.port, password: WRONG, protocol });
    const later = await failure(lazy.get("k"));
    assert.ok(later instanceof KvError);
    assertHidden("refused AUTH error of a call", later, WRONG);
    lazy.destroy();
  });
}

test("redis secrets: connect errors and bad URLs never quote the password", async () => {
  const unreachable = await failure(
    RedisClient.connect(`redis://default:${SECRET}@127.0.0.1:1`, {
      reconnect: { enabled: false },
    }),
  );
  assert.ok(unreachable instanceof KvError);
  assertHidden("connect error", unreachable);
  const badUrl = await failure(
    (async () => await RedisClient.connect(`redis://default:${SECRET}@127.0.0.1:99999`))(),
  );
  assertHidden("URL error", badUrl);
  const badDb = await failure(
    (async () => await RedisClient.connect(`redis://default:${SECRET}@127.0.0.1/x`))(),
  );
  assertHidden("db error", badDb);
});
