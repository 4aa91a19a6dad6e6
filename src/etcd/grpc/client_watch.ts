// EtcdClient's watches over native gRPC: one WatchHub per client (every watch on one Watch
// stream of the channel's connection), each watch reported as the gateway watcher reports its
// own (a `Watch` stream operation, the `watchRestart` event).

import { ConnectionClosedError } from "../../core/errors.ts";
import { aim } from "../failover.ts";
import type { KeyRange, Keys } from "../kv.ts";
import type { WatchOptions, WatchStream } from "../watch.ts";
import type { OpenBidi } from "./bidi.ts";
import { etcdError, type GrpcChannel } from "./channel.ts";
import { type HubWatchOptions, WatchHub } from "./watch_hub.ts";

/**
 * A hub on `channel` whose events carry `keys`' user keys; closed with the channel. A stream
 * refused for its token renews the token (once per burst, as the gateway watcher does).
 *
 * @example
 * ```ts
 * import { openWatchHub, watchOn } from "./client_watch.ts";
 * import { GrpcChannel } from "./channel.ts";
 * import { Keys } from "../kv.ts";
 * declare const channel: GrpcChannel;
 * const hub = openWatchHub(channel, new Keys());
 * const watch = watchOn(hub, channel, { key: "jobs/", prefix: true });
 * ```
 */
export function openWatchHub(channel: GrpcChannel, keys: Keys): WatchHub {
  let generation = channel.authentications;
  const open: OpenBidi = async (path, options) => {
    if (channel.isClosed) {
      hub.close(); // its watches end, as the gateway watcher's do with the client
      throw new ConnectionClosedError("etcd client is closed; the watch stream was not opened");
    }
    const stream = await channel.openBidi(path, options);
    generation = channel.authentications;
    return stream;
  };
  const hub = new WatchHub({
    open,
    keys,
    fatal: etcdError,
    renewToken: async (refusal) => {
      if (!channel.isTokenRejection(etcdError(refusal))) return false;
      await channel.renewToken(generation);
      return true;
    },
  });
  channel.onClose(() => hub.close());
  return hub;
}

/**
 * Starts a watch of `range` on `hub`: a `Watch` stream operation (pointed at each endpoint
 * the watch is created on, a move to another counted as a redirection) ended with the watch,
 * and each restart emitted as `watchRestart` before the caller's `onRestart` runs. On a closed
 * client it throws `ConnectionClosedError`.
 *
 * @example
 * ```ts
 * import { openWatchHub, watchOn } from "./client_watch.ts";
 * import { GrpcChannel } from "./channel.ts";
 * import { Keys } from "../kv.ts";
 * declare const channel: GrpcChannel;
 * const watch = watchOn(openWatchHub(channel, new Keys()), channel, { key: "k" });
 * await watch.created;
 * ```
 */
export function watchOn(
  hub: WatchHub,
  channel: GrpcChannel,
  range: KeyRange,
  options: WatchOptions = {},
): WatchStream {
  if (channel.isClosed) throw new ConnectionClosedError("etcd client is closed; watch not started");
  const op = channel.startOperation("Watch", "stream");
  let address: string | undefined;
  const hooks: HubWatchOptions = {
    ...options,
    onCreated: (endpoint, reconnects) => {
      address = `${endpoint.host}:${endpoint.port}`;
      if (op !== undefined) aim(op, endpoint, reconnects > 0);
    },
    onRestart: (restart) => {
      const events = channel.events;
      if (events.has("watchRestart")) {
        events.emit("watchRestart", {
          address,
          revision: restart.revision === undefined ? undefined : String(restart.revision),
          reason: restart.reason,
          attempt: restart.attempt,
        });
      }
      options.onRestart?.(restart);
    },
    onEnd: (error) => channel.endOperation(op, error),
  };
  return hub.watch(range, hooks);
}
