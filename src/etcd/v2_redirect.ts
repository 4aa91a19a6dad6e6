// Following the v2 API's redirects (HTTP 301/302/307/308 with a Location): etcd 0.4 members
// sent writes to the leader that way, and proxies or load balancers in front of a cluster
// still may. A redirect is followed only to a member of the cluster, at most `max` times.

import type { Address, Channel } from "./channel.ts";
import { EtcdV2RedirectError } from "./errors.ts";
import type { HttpRequest } from "./http1/codec.ts";

/** How an {@link EtcdV2Client}'s redirects are handled. */
export interface RedirectPolicy {
  /** False: every redirect fails with `EtcdV2RedirectError`. */
  allow: boolean;
  /** The most redirects one call follows. */
  max: number;
  /** True when the client speaks TLS (a redirect must keep the scheme). */
  tls: boolean;
  /** The client's own endpoints: members it knows without asking. */
  endpoints: readonly Address[];
}

/** Where a followed redirect goes: the channel to send on and the request to send. */
export interface RedirectHop {
  /** The channel of the member the redirect leads to. */
  channel: Channel;
  /** The same request with the path (and query) of the `Location`. */
  request: HttpRequest;
}

/**
 * Decides where a redirect leads and holds one channel per member redirected to.
 *
 * Theory of operation: a `Location` that is a path stays on the channel that answered; an
 * absolute one must keep the client's scheme and name one of the client's endpoints or a
 * client URL the cluster lists in `/v2/machines` (read through `listMachines`, again when a
 * host is not in the last list). Any other host is refused, because the `Location` header is
 * whatever the answering server (or anything between it and the client on plain HTTP) put
 * there: following it would hand the request, key and value to an arbitrary host, steer the
 * client into networks it was never pointed at, and take that host's answer as the cluster's.
 *
 * @example
 * ```ts
 * import { defaultConnect } from "../core/default_connect.ts";
 * import { Channel } from "./channel.ts";
 * import { EtcdV2RedirectError } from "./errors.ts";
 * import { V2Redirects } from "./v2_redirect.ts";
 * const channel = new Channel({ endpoints: [{ host: "127.0.0.1", port: 2379 }], connect: defaultConnect });
 * const redirects = new V2Redirects(
 *   { allow: true, max: 3, tls: false, endpoints: [{ host: "127.0.0.1", port: 2379 }] },
 *   () => Promise.resolve(["http://127.0.0.1:2379", "http://127.0.0.1:22379"]),
 *   (address) => new Channel({ endpoints: [address], connect: defaultConnect }),
 * );
 * const request = { method: "PUT" as const, path: "/v2/keys/a", body: "value=1" };
 * const redirect = new EtcdV2RedirectError("PUT /v2/keys/a was redirected", 307, "http://127.0.0.1:22379/v2/keys/a");
 * const hop = await redirects.follow(redirect, request, 0, channel);
 * hop.request.path; // "/v2/keys/a", to be sent on hop.channel (127.0.0.1:22379)
 * redirects.close();
 * ```
 */
export class V2Redirects {
  readonly #policy: RedirectPolicy;
  readonly #listMachines: () => Promise<string[]>;
  readonly #open: (address: Address) => Channel;
  readonly #channels = new Map<string, Channel>();
  #listed = new Set<string>();

  /** Creates the policy; throws `RangeError` for a `max` that is not an integer ≥ 0. */
  constructor(
    policy: RedirectPolicy,
    listMachines: () => Promise<string[]>,
    open: (address: Address) => Channel,
  ) {
    if (!Number.isInteger(policy.max) || policy.max < 0) {
      throw new RangeError(`maxRedirects must be an integer >= 0, got ${String(policy.max)}`);
    }
    this.#policy = policy;
    this.#listMachines = listMachines;
    this.#open = open;
  }

  /**
   * Where the redirect `error` (the answer to `request` on `current`, after `hop` redirects
   * followed) leads; throws an `EtcdV2RedirectError` saying why when it is not followed.
   */
  async follow(
    error: EtcdV2RedirectError,
    request: HttpRequest,
    hop: number,
    current: Channel,
  ): Promise<RedirectHop> {
    const refused = (why: string, cause: unknown = error): EtcdV2RedirectError =>
      new EtcdV2RedirectError(
        `${error.message}: not followed, ${why}`,
        error.errorCode,
        error.location,
        {
          cause,
        },
      );
    if (!this.#policy.allow) throw refused("allowRedirect is false");
    if (hop >= this.#policy.max) {
      throw refused(`the limit of ${this.#policy.max} redirects was reached`);
    }
    if (error.location === "") throw refused("the answer has no Location");
    const scheme = this.#policy.tls ? "https" : "http";
    const absolute = /^([a-z][a-z0-9+.-]*:)?\/\//i.test(error.location);
    const url = parse(error.location, `${scheme}://redirect.invalid${request.path}`);
    if (!url) throw refused("the Location is not a URL");
    const followed = { ...request, path: url.pathname + url.search };
    if (!absolute) return { channel: current, request: followed };
    if (url.protocol !== `${scheme}:`) {
      throw refused(`the client speaks ${scheme}:// and the Location is ${url.protocol}//`);
    }
    if (url.username !== "" || url.password !== "") {
      throw refused("the Location carries credentials");
    }
    const address = addressOf(url);
    const key = keyOf(address);
    if (!this.#isMember(key)) {
      try {
        this.#listed = new Set((await this.#listMachines()).flatMap((m) => {
          const listed = parse(m, `${scheme}://redirect.invalid/`);
          return listed?.protocol === url.protocol ? [keyOf(addressOf(listed))] : [];
        }));
      } catch (cause) {
        throw refused(
          `${key} is not an endpoint and the cluster's machines could not be read`,
          cause,
        );
      }
      if (!this.#isMember(key)) {
        throw refused(
          `${key} is neither an endpoint of the client nor one of the cluster's machines`,
        );
      }
    }
    let channel = this.#channels.get(key);
    if (!channel) this.#channels.set(key, channel = this.#open(address));
    return { channel, request: followed };
  }

  /** Closes the channels of the members redirected to. */
  close(): void {
    for (const channel of this.#channels.values()) channel.close();
    this.#channels.clear();
  }

  #isMember(key: string): boolean {
    return this.#listed.has(key) || this.#policy.endpoints.some((a) => keyOf(a) === key);
  }
}

/** `text` as a URL resolved against `base`, or undefined when it is none. */
function parse(text: string, base: string): URL | undefined {
  try {
    return new URL(text.trim(), base);
  } catch {
    return undefined;
  }
}

function addressOf(url: URL): Address {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80 };
}

function keyOf(address: Address): string {
  const host = address.host.toLowerCase();
  return host.includes(":") ? `[${host}]:${address.port}` : `${host}:${address.port}`;
}
