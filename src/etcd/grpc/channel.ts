// The etcd channel over native gRPC: one HTTP/2 connection per endpoint carrying every call
// (multiplexed; the HTTP/2 machine holds calls beyond the server's concurrent-stream limit),
// the gateway's paths and JSON translated to gRPC methods and protobuf, failover, auth tokens.

import { Driver } from "../../core/driver.ts";
import {
  ConnectionClosedError,
  RemoteProtocolError,
  UnresponsiveError,
} from "../../core/errors.ts";
import type { Operation } from "../../core/instrument.ts";
import { StreamQueue } from "../../core/stream_queue.ts";
import type { Transport } from "../../core/transport.ts";
import { GrpcConnection } from "../../grpc/connection.ts";
import { GrpcError } from "../../grpc/status.ts";
import type { HeaderField } from "../../http2/hpack.ts";
import { checked, type Decode, Reauth } from "../answer.ts";
import { ChannelBase } from "../channel_base.ts";
import type { CallInfo, CallOptions, ChannelOptions } from "../channel_options.ts";
import type { Endpoint, EndpointLoad } from "../endpoint.ts";
import { EtcdError, etcdErrorFromJson } from "../errors.ts";
import type { ChannelStream, EtcdChannel, StreamOptions } from "../etcd_channel.ts";
import { operationOf } from "../events.ts";
import { decodeProto, encodeProto } from "../proto/wire.ts";
import type { BidiStream, OpenBidi } from "./bidi.ts";
import { LeaseKeepAliveStream } from "./lease_stream.ts";
import { jsonFromProto } from "./json.ts";
import { GRPC_METHODS, type GrpcMethod } from "./methods.ts";
import {
  firstMessage,
  type GrpcDriver,
  halfClose,
  isBidi,
  jsonLine,
  methodOf,
  relay,
  type Relayed,
  requestMessage,
  streamError,
  unary,
} from "./channel_calls.ts";

/** The connection of one endpoint, and its calls and streams in flight. */
class Link implements EndpointLoad {
  driver: GrpcDriver | undefined;
  machine: GrpcConnection | undefined;
  opening: Promise<GrpcDriver> | undefined;
  inFlight = 0;
  readonly waiting = 0;

  /** `source` through `map` and `fail`, counted in flight until it ends (see {@link relay}). */
  track(
    source: StreamQueue<Uint8Array>,
    map: (m: Uint8Array) => Uint8Array,
    fail: (error: unknown) => unknown = etcdError,
  ): Relayed {
    this.inFlight++;
    return relay(source, map, fail, () => this.inFlight--);
  }
}

/**
 * Sends etcd v3 calls over gRPC (HTTP/2: h2c on plaintext, ALPN `h2` on TLS).
 *
 * Theory of operation: callers address it as the gateway {@link Channel} (paths such as
 * `/v3/kv/range`, the gateway's JSON); each call is translated with the method table to its
 * gRPC method and protobuf message before anything is sent (bad input is a `TypeError`), and
 * the answer back to the gateway's JSON. Every call to an endpoint is a stream of its one
 * connection. Retries follow the gateway channel's rules ({@link Failover}): a call is sent
 * again when it was not sent, proved not to have run, or is idempotent. A GOAWAY retires the
 * connection: its calls finish, new calls go to another endpoint (or a new connection). A
 * malformed answer drops the connection (`RemoteProtocolError`, `sent: true`). With `auth`,
 * `Authenticate` fetches a token sent as `token` metadata; a rejected token is renewed once
 * per burst. Streams (watch, snapshot, blocking calls) are streams of the same connection;
 * their messages are handed out as the gateway's JSON lines. v2 is not served over gRPC.
 *
 * @example
 * ```ts
 * import { GrpcChannel } from "@kvwire/kvwire/etcd";
 * import { connect } from "@kvwire/kvwire/transports/auto";
 * const channel = new GrpcChannel({ endpoints: [{ host: "127.0.0.1", port: 2379 }], connect });
 * const status = await channel.call("/v3/maintenance/status", {});
 * channel.close();
 * ```
 */
export class GrpcChannel extends ChannelBase implements EtcdChannel {
  /** Native gRPC over HTTP/2. */
  readonly protocol = "grpc";
  readonly #links = new Map<Endpoint, Link>();
  #leases: LeaseKeepAliveStream | undefined;

  /** Creates the channel; connections open on first use. */
  constructor(options: ChannelOptions) {
    super(options);
    for (const ep of this.endpoints) {
      const link = new Link();
      ep.load = link;
      this.#links.set(ep, link);
    }
  }

  /**
   * Sends one call by gateway path with a JSON body and returns the answer (the gateway's JSON)
   * passed through `decode`. A malformed answer is a `RemoteProtocolError` (`sent: true`) and
   * drops the connection.
   */
  async call<T = Record<string, unknown>>(
    path: string,
    body: unknown,
    options: CallOptions = {},
    decode?: Decode<T>,
    about?: CallInfo,
  ): Promise<T> {
    const method = methodOf(path);
    const message = requestMessage(method, body);
    const op = this.startOperation(
      about?.operation ?? operationOf(path),
      "request",
      about?.batchSize,
    );
    return await this.tracked(op, this.#call(path, method, message, options, decode, op));
  }

  async #call<T>(
    path: string,
    method: GrpcMethod,
    message: Uint8Array,
    options: CallOptions,
    decode: Decode<T> | undefined,
    op: Operation | undefined,
  ): Promise<T> {
    return await this.failover.run(options, path, op, async (ep, reauthed, remaining) => {
      await this.ensureToken(options);
      const generation = this.authentications;
      const driver = await this.#driver(ep);
      const link = this.#links.get(ep)!;
      let reply: Uint8Array;
      link.inFlight++;
      try {
        reply = method.stream
          ? await firstMessage(driver, method, message, this.#metadata(), remaining, options.signal)
          : await unary(driver, method, message, this.#metadata(), remaining, options.signal);
      } catch (error) {
        const failure = etcdError(error);
        if (!reauthed && this.isTokenRejection(failure)) {
          this.dropToken(generation);
          throw new Reauth(failure as EtcdError);
        }
        throw failure;
      } finally {
        link.inFlight--;
      }
      return checked(driver, path, () => {
        const json = jsonFromProto(method.response, decodeProto(method.response, reply));
        if (this.events.has("leaderChange")) this.failover.observeLeader(ep, path, json);
        return decode ? decode(json) : json as T;
      });
    });
  }

  /**
   * Opens a stream call by gateway path (watch, snapshot, or a blocking call such as lock)
   * on the endpoint's connection; its messages are the gateway's JSON lines
   * (`{"result": ...}`), and it ends with an `EtcdError` for a gRPC status other than OK.
   */
  async openStream(
    path: string,
    body: unknown,
    options: StreamOptions = {},
  ): Promise<ChannelStream> {
    const method = methodOf(path);
    const message = requestMessage(method, body);
    await this.ensureToken({});
    const retry = { signal: options.signal, idempotent: true };
    return await this.failover.run(retry, path, options.operation, async (ep) => {
      const driver = await this.#driver(ep);
      const tokenGeneration = this.authentications;
      const tag = {};
      const messages = driver.stream(
        { path: method.path, stream: true, tag, message, metadata: this.#metadata() },
        { highWaterMark: 64 },
        method.path,
      );
      if (!isBidi(method)) halfClose(driver, tag);
      const { items, close } = this.#links.get(ep)!.track(messages, jsonLine(method, driver));
      return { items, endpoint: ep.address, close, tokenGeneration };
    }, options.resumed);
  }

  /**
   * Refreshes lease `id` once on the channel's one LeaseKeepAlive stream (opened on demand,
   * closed after 30 s without a keep-alive and with the channel), as a `LeaseKeepAlive`
   * operation; resolves with the new TTL in seconds (0: it expired).
   */
  override async keepAlive(id: bigint, options: CallOptions = {}): Promise<number> {
    if (this.isClosed) {
      throw new ConnectionClosedError("etcd client is closed; keep-alive not sent");
    }
    this.#leases ??= new LeaseKeepAliveStream({ open: this.openBidi });
    const timeout = options.timeout ?? this.options.requestTimeout ?? 30_000;
    const op = this.startOperation("LeaseKeepAlive");
    const ttl = await this.tracked(
      op,
      this.#leases.keepAlive(id, { timeout, signal: options.signal }).catch((error) => {
        throw error instanceof GrpcError ? etcdError(error) : error;
      }),
    );
    return Number(ttl);
  }

  /**
   * Opens a bidirectional call (such as `/etcdserverpb.Watch/Watch`) on the preferred
   * endpoint's connection with the auth token as metadata, failing over as unary calls do.
   * Its messages are protobuf, both ways (see {@link BidiStream}); it ends with the
   * `GrpcError` of a status other than OK, or a connection `KvError`.
   */
  readonly openBidi: OpenBidi = async (path, options = {}) => {
    await this.ensureToken(options);
    const retry = { signal: options.signal, idempotent: true };
    return await this.failover.run(retry, path, undefined, async (ep): Promise<BidiStream> => {
      const driver = await this.#driver(ep);
      const tag = {};
      const raw = driver.stream({ path, stream: true, tag, metadata: this.#metadata() }, {
        highWaterMark: 64,
      }, path);
      const { items, close } = this.#links.get(ep)!.track(raw, (m) => m, streamError);
      return {
        items,
        endpoint: ep.address,
        write: (message) => {
          driver.request({ write: tag, message }).catch((error) => items.end(streamError(error)));
        },
        close,
      };
    });
  };

  #metadata(): HeaderField[] | undefined {
    return this.token === undefined ? undefined : [["token", this.token]];
  }

  /** The endpoint's open connection, or a new one. */
  async #driver(ep: Endpoint): Promise<GrpcDriver> {
    const link = this.#links.get(ep)!;
    const driver = link.driver;
    if (driver?.isOpen) {
      if (link.machine!.canSend) return driver;
      // GOAWAY: the connection finishes its calls; new calls go to another endpoint.
      link.driver = undefined;
      const error = new ConnectionClosedError(`${ep.label} sent GOAWAY; the call was not sent`);
      this.failover.markDown(ep, error);
      throw error;
    }
    link.opening ??= this.#open(ep, link).finally(() => (link.opening = undefined));
    return await link.opening;
  }

  async #open(ep: Endpoint, link: Link): Promise<GrpcDriver> {
    const { host, port } = ep.address;
    ep.connecting();
    const tls = this.options.tls;
    let transport: Transport;
    try {
      transport = await this.options.connect(ep.address, {
        timeout: this.options.connectTimeout ?? 5000,
        tls: tls === undefined || tls === false
          ? tls
          : { ...(tls === true ? {} : tls), alpnProtocols: ["h2"] },
      });
    } catch (error) {
      if (!this.isClosed) ep.connectFailed(error as Error);
      throw error;
    }
    if (this.isClosed) {
      transport.close();
      throw new ConnectionClosedError("etcd client was closed while connecting");
    }
    if (transport.info.tls && transport.info.alpnProtocol !== "h2") {
      transport.close();
      const chosen = transport.info.alpnProtocol;
      const error = new RemoteProtocolError(
        `${ep.label} did not select HTTP/2 over TLS (ALPN ${
          chosen ? JSON.stringify(chosen) : "none"
        }): gRPC needs ALPN h2; use protocol: "gateway" for this server or runtime`,
      );
      ep.connectFailed(error);
      throw error;
    }
    const machine = new GrpcConnection({
      authority: host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`,
      scheme: transport.info.tls ? "https" : "http",
      maxReceiveMessageBytes: this.options.maxResponseBytes ?? 64 * 1024 * 1024,
      maxHeaderListSize: this.options.maxHeaderBytes,
    });
    const driver: GrpcDriver = new Driver(machine, transport, {
      label: ep.label,
      silenceTimeout: this.options.silenceTimeout,
      onClose: (error) => {
        // A connection that broke the protocol or went unresponsive: try the others first.
        if (error instanceof RemoteProtocolError || error instanceof UnresponsiveError) {
          this.failover.markDown(ep, error);
        }
        ep.closed(driver);
        if (link.driver === driver) link.driver = undefined;
      },
    });
    link.driver = driver;
    link.machine = machine;
    ep.opened(driver, false);
    this.#keepAlive(driver, machine, link);
    return driver;
  }

  /**
   * Every `keepAliveInterval` with calls or streams open, a PING (one at a time) that must be
   * answered within the interval, else the machine closes the connection as unresponsive.
   */
  #keepAlive(driver: GrpcDriver, machine: GrpcConnection, link: Link): void {
    const interval = this.options.keepAliveInterval ?? 30_000;
    let sent = 0;
    const timer = setInterval(() => {
      if (link.driver !== driver || link.inFlight === 0) return;
      if (machine.http2.pingsAcked < sent) return; // the one in flight decides
      sent++;
      machine.http2.ping(performance.now() + interval);
      driver.poke();
    }, interval);
    void driver.closed.then(() => clearInterval(timer));
  }

  protected override async fetchToken(
    auth: { username: string; password: string },
    options: CallOptions,
  ): Promise<string> {
    const path = "/v3/auth/authenticate";
    const method = GRPC_METHODS[path];
    const message = encodeProto(method.request, { name: auth.username, password: auth.password });
    return await this.failover.run(options, path, undefined, async (ep, _reauthed, remaining) => {
      const driver = await this.#driver(ep);
      let reply: Uint8Array;
      try {
        reply = await unary(driver, method, message, undefined, remaining, options.signal);
      } catch (error) {
        throw etcdError(error);
      }
      return checked(driver, path, () => {
        const token = decodeProto<{ token: string }>(method.response, reply).token;
        if (token === "") throw new TypeError("the answer has no token");
        return token;
      });
    });
  }

  /** Closes every connection; calls in flight fail with `ConnectionClosedError`. */
  close(): void {
    if (!this.closeBase()) return;
    this.#leases?.close();
    for (const link of this.#links.values()) link.driver?.destroy();
  }
}

/**
 * A gRPC failure as the gateway channel reports it: an `EtcdError` for a status; a stream the
 * server refused (GOAWAY, REFUSED_STREAM: not run) or reset as a `ConnectionClosedError` with
 * the same `sent`, which fails over as a dropped connection does; others unchanged.
 *
 * @example
 * ```ts
 * import { etcdError } from "./channel.ts";
 * import { GrpcError } from "../../grpc/status.ts";
 * etcdError(new GrpcError(7, "etcdserver: permission denied")); // EtcdError, grpcCode 7
 * ```
 */
export function etcdError(error: unknown): unknown {
  if (!(error instanceof GrpcError)) return streamError(error);
  const mapped = etcdErrorFromJson({ message: error.grpcMessage, code: error.grpcCode });
  if (!error.sent || mapped.sent) return mapped;
  return new EtcdError(error.grpcMessage, error.grpcCode, { sent: true, cause: error });
}
