// Routes of the e2e Worker for memcache, etcd, Pegasus and TStorage: each client does a short
// round of real work through `cloudflare:sockets` and reports what it got back.

import { MemcacheClient } from "../../../src/memcache/mod.ts";
import { EtcdClient } from "../../../src/etcd/mod.ts";
import { PegasusClient } from "../../../src/pegasus/mod.ts";
import { Key, TStorageClient, Utf8PayloadType } from "../../../src/tstorage/mod.ts";
import { connectCloudflare as connect } from "../../../transports/cloudflare.ts";

/** Addresses (`host:port`) the test passes as bindings. */
export interface ProtocolEnv {
  MEMCACHED: string;
  ETCD: string;
  PEGASUS_META: string;
  TSTORAGE: string;
}

function hostPort(address: string): { host: string; port: number } {
  const [host, port] = address.split(":");
  return { host, port: Number(port) };
}

/** Runs the route's protocol, or returns undefined for a path that is not one of them. */
export async function protocolRoute(path: string, env: ProtocolEnv): Promise<unknown> {
  const key = `workerd-${crypto.randomUUID()}`;
  switch (path) {
    case "/memcache": {
      const mc = await MemcacheClient.connect([env.MEMCACHED], { connect });
      try {
        await mc.set(key, "héllo", { ttl: 30 });
        const many = await Promise.all([
          mc.get<string>(key),
          mc.incr(`${key}n`, 1, { initial: 41 }),
        ]);
        return { value: many[0], counter: String(many[1]), deleted: await mc.delete(key) };
      } finally {
        await mc.close();
      }
    }
    case "/etcd": {
      const etcd = new EtcdClient({ endpoints: [env.ETCD], connect });
      try {
        await etcd.put(key, "héllo");
        const [value, missing] = await Promise.all([
          etcd.getString(key),
          etcd.getString(`${key}x`),
        ]);
        const swapped = await etcd.compareAndSwap(key, "héllo", "swapped");
        return { value, missing: missing ?? null, swapped, after: await etcd.getString(key) };
      } finally {
        await etcd.delete(key);
        await etcd.close();
      }
    }
    case "/pegasus": {
      const pegasus = await PegasusClient.connect({
        metaServers: env.PEGASUS_META.split(","),
        table: "temp",
        decode: true,
        connect,
      });
      try {
        await pegasus.set(key, "name", "Ada");
        await pegasus.multiSet(key, { a: "1", b: "2" });
        const sortKeys: string[] = [];
        for await (const { sortKey } of pegasus.getScanner(key, "", "")) sortKeys.push(sortKey);
        return { value: await pegasus.get(key, "name"), sortKeys };
      } finally {
        await pegasus.close();
      }
    }
    case "/tstorage": {
      const ts = await TStorageClient.connect({
        ...hostPort(env.TSTORAGE),
        payloadType: new Utf8PayloadType(),
        connect,
      });
      try {
        const put = await ts.put([
          { key: new Key(1, 7n, 0, 1_000n), value: "21.5 °C" },
          { key: new Key(1, 7n, 0, 2_000n), value: "22 °C" },
        ]);
        const { data } = await ts.get(Key.min(), Key.max());
        return { written: put.written, values: data.map((r) => r.value) };
      } finally {
        await ts.close();
      }
    }
    default:
      return undefined;
  }
}
