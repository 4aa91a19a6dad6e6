// EtcdClient's watches over native gRPC: one WatchHub per client (every watch on one Watch
// stream of the channel's connection), each watch reported as the gateway watcher reports its
// own (a `Watch` stream operation, the `watchRestart` event).

import { ConnectionClosedError } from "../../core/errors.ts";
import { aim } from "../failover.ts";
import type { KeyRange, Keys } from "../kv.ts";
import type { WatchOptions, WatchRestart, WatchStream } from "../watch.ts";
import type { Operation } from "../../core/instrument.ts";
import type { Address } from "../channel_options.ts";
import type { OpenBidi } from "./bidi.ts";
import { etcdError, type GrpcChannel } from "./channel.ts";
import { WatchHub, type WatchReport } from "./watch_hub.ts";

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
  return hub.watch(range, options, new OperationReport(channel, op));
}

/** A watch's `Watch` operation and its `watchRestart` events. */
class OperationReport implements WatchReport {
  readonly #channel: GrpcChannel;
  readonly #op: Operation | undefined;
  /** Where the watch was last created. */
  #endpoint: Address | undefined;

  constructor(channel: GrpcChannel, op: Operation | undefined) {
    this.#channel = channel;
    this.#op = op;
  }

  created(endpoint: Address, reconnects: number): void {
    this.#endpoint = endpoint;
    if (this.#op !== undefined) aim(this.#op, endpoint, reconnects > 0);
  }

  restarting(restart: WatchRestart): void {
    const events = this.#channel.events;
    if (events.has("watchRestart")) {
      events.emit("watchRestart", {
        address: this.#endpoint && `${this.#endpoint.host}:${this.#endpoint.port}`,
        revision: restart.revision === undefined ? undefined : String(restart.revision),
        reason: restart.reason,
        attempt: restart.attempt,
      });
    }
  }

  ended(error?: unknown): void {
    this.#channel.endOperation(this.#op, error);
  }
}
