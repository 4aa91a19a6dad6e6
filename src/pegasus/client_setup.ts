// How a PegasusClient is made from its options: the checks, the defaults (call timeout, silence
// timeout, backup-request delay), and the parts it runs on: sessions and hooks of its own, or
// for a `table()` view those of the client that made it, and the views a client made.

import { utf8Decode } from "../core/bytes.ts";
import type { EventHub } from "../core/events.ts";
import type { Instrumenter } from "../core/instrument.ts";
import { observability } from "../core/observability.ts";
import type { SharedSessions } from "./client.ts";
import { backupDelayOf, type PegasusClientOptions } from "./client_options.ts";
import { Cluster } from "./cluster.ts";
import type { PegasusEvents } from "./observe.ts";
import { TableRouter } from "./router.ts";

/**
 * What the calls of a client run on: its table's router and how it returns values.
 *
 * @example
 * ```ts
 * import { clientParts, type TableAccess } from "./client_setup.ts";
 * const access: TableAccess<string> = clientParts<string>({
 *   metaServers: ["127.0.0.1:34601"], table: "temp", decode: true,
 * });
 * console.log(access.router.table, access.convert(new Uint8Array([104, 105]))); // temp hi
 * access.router.cluster.destroy();
 * ```
 */
export interface TableAccess<V> {
  /** Routes each operation to the primary replica of its partition. */
  readonly router: TableRouter;
  /** Turns value bytes into what the client returns: the bytes, or a string with `decode`. */
  readonly convert: (b: Uint8Array) => V;
}

/**
 * A client's parts, made from its options by {@link clientParts}.
 *
 * @example
 * ```ts
 * import { clientParts } from "./client_setup.ts";
 * const parts = clientParts<Uint8Array>({ metaServers: ["127.0.0.1:34601"], table: "temp" });
 * const stop = parts.events.on("partitionUpdate", (e) => console.info(e.reason));
 * stop();
 * parts.router.cluster.destroy();
 * ```
 */
export interface ClientParts<V> extends TableAccess<V> {
  /** The hub behind the client's `on()`. */
  readonly events: EventHub<PegasusEvents>;
  /** The hooks that see each operation. */
  readonly instrumenter: Instrumenter;
}

/**
 * Checks `options` (TypeError without a table name or with `tls`, RangeError for a bad
 * `backupRequestDelay`) and makes a client's parts: new sessions, events and hooks, or with
 * `shared` (a `table()` view) a router over those of the client that made it.
 *
 * @example
 * ```ts
 * import { clientParts } from "./client_setup.ts";
 * const parts = clientParts<Uint8Array>({ metaServers: ["127.0.0.1:34601"], table: "temp" });
 * const users = clientParts<Uint8Array>({ metaServers: ["127.0.0.1:34601"], table: "users" }, {
 *   cluster: parts.router.cluster, instrumenter: parts.instrumenter,
 * });
 * console.log(users.router.cluster === parts.router.cluster); // true
 * parts.router.cluster.destroy();
 * ```
 */
export function clientParts<V>(
  options: PegasusClientOptions,
  shared?: Omit<SharedSessions, "owner">,
): ClientParts<V> {
  if (typeof options?.table !== "string" || options.table === "") {
    throw new TypeError("Pegasus needs a table name");
  }
  if ("tls" in options) {
    throw new TypeError("Pegasus has no TLS: its rDSN sessions are plaintext (no `tls` option)");
  }
  const timeout = options.timeout ?? 1000;
  const backupDelay = backupDelayOf(options);
  const convert = (options.decode ? utf8Decode : (b: Uint8Array) => b) as (b: Uint8Array) => V;
  const { cluster, instrumenter } = shared ?? ownSessions(options, timeout);
  const router = new TableRouter(cluster, options.table, timeout, instrumenter, backupDelay);
  return { router, convert, events: cluster.events, instrumenter };
}

/**
 * The `table()` views a client made, one per table name, each with the client's options but
 * its own table.
 *
 * @example
 * ```ts
 * import { TableViews } from "./client_setup.ts";
 * const views = new TableViews({ metaServers: ["127.0.0.1:34601"], table: "temp" });
 * const users = views.of("users", (options) => options.table);
 * console.log(users, views.of("users", () => "not made again")); // users users
 * ```
 */
export class TableViews<C> {
  readonly #options: PegasusClientOptions;
  readonly #views = new Map<string, C>();

  /** Views with `options` (the owning client's). */
  constructor(options: PegasusClientOptions) {
    this.#options = options;
  }

  /** The view of table `name`, made by `make` the first time; TypeError for a bad name. */
  of(name: string, make: (options: PegasusClientOptions) => C): C {
    if (typeof name !== "string" || name === "") {
      throw new TypeError(`A table name must be a non-empty string, got ${JSON.stringify(name)}`);
    }
    let view = this.#views.get(name);
    if (!view) {
      view = make({ ...this.#options, table: name });
      this.#views.set(name, view);
    }
    return view;
  }
}

/** A client's own sessions (reporting to its own event hub) and hooks. */
function ownSessions(
  options: PegasusClientOptions,
  timeout: number,
): Omit<SharedSessions, "owner"> {
  const { events, instrumenter } = observability<PegasusEvents>(
    options,
    `pegasus ${options.table}`,
  );
  const cluster = new Cluster({
    ...options,
    silenceTimeout: options.silenceTimeout ?? Math.max(timeout, 5000),
  }, events);
  return { cluster, instrumenter };
}
