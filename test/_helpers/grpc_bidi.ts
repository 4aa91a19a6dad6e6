// A test-side OpenBidi: gRPC calls to a real etcd through Driver + GrpcConnection over the
// runtime's transport, one connection at a time (a new one once the old is closed or destroyed,
// to the next member that accepts it when several are given).

import { Driver } from "../../src/core/driver.ts";
import { StreamQueue } from "../../src/core/stream_queue.ts";
import { GrpcConnection, type GrpcReply, type GrpcSend } from "../../src/grpc/connection.ts";
import type { BidiStream, OpenBidi } from "../../src/etcd/grpc/bidi.ts";
import { decodeProto, encodeProto, type MessageSpec } from "../../src/etcd/proto/wire.ts";
import { connect } from "../../transports/auto.ts";
import type { Address } from "./servers.ts";

type GrpcDriver = Driver<GrpcSend, GrpcReply, Uint8Array>;

/**
 * One gRPC connection to etcd at a time, with an `open` for the hub and unary `call`s.
 * `connections` counts the TCP connections made; `streams` the bidi calls opened.
 *
 * @example
 * ```ts
 * const grpc = new GrpcTestChannel(await etcdAddress());
 * const hub = new WatchHub({ open: grpc.open, keys: new Keys() });
 * grpc.destroy(); // the hub's stream is lost; the next open dials again
 * await grpc.close();
 * ```
 */
export class GrpcTestChannel {
  connections = 0;
  streams = 0;
  /** Sent as the `token` metadata of every call from now on (etcd auth). */
  token: string | undefined;
  /** Every message each stream received, protobuf-encoded, in order. */
  readonly received: Uint8Array[] = [];
  readonly #addresses: Address[];
  #index = 0;
  #driver: Promise<GrpcDriver> | undefined;

  constructor(addresses: Address | Address[]) {
    this.#addresses = Array.isArray(addresses) ? addresses : [addresses];
  }

  /** The member the current (or next) connection goes to. */
  get address(): Address {
    return this.#addresses[this.#index];
  }

  /** The OpenBidi seam over the current connection. */
  readonly open: OpenBidi = async (path) => {
    const driver = await this.#current();
    const tag = {};
    this.streams++;
    const items = driver.stream({ path, stream: true, tag, metadata: this.#metadata() });
    // A copy of the call's messages, also recorded in `received`.
    const out = new StreamQueue<Uint8Array>({ onCancel: () => void items.return() });
    (async () => {
      try {
        for await (const message of items) {
          this.received.push(message);
          out.push(message);
        }
        out.end();
      } catch (error) {
        out.end(error);
      }
    })();
    const stream: BidiStream = {
      items: out,
      endpoint: this.address,
      write: (message) => {
        // A failed write ends the call, and `items` reports that.
        driver.request({ write: tag, message }).catch(() => {});
      },
      close: () => {
        void items.return();
        out.end();
      },
    };
    return stream;
  };

  /** A unary call on the current connection. */
  async call<T>(path: string, req: MessageSpec, res: MessageSpec, value: object): Promise<T> {
    const driver = await this.#current();
    const reply = await driver.request({
      path,
      message: encodeProto(req, value as never),
      metadata: this.#metadata(),
    });
    if (!(reply instanceof Uint8Array)) throw new Error("a unary call got a write ack");
    return decodeProto<T>(res, reply);
  }

  /** Drops the current connection at once (its streams end with an error). */
  async destroy(): Promise<void> {
    const driver = await this.#driver;
    driver?.destroy(new Error("destroyed by the test"));
  }

  /** Closes the current connection. */
  async close(): Promise<void> {
    const driver = await this.#driver;
    this.#driver = undefined;
    await driver?.close();
  }

  #metadata(): [string, string][] | undefined {
    return this.token === undefined ? undefined : [["token", this.token]];
  }

  #current(): Promise<GrpcDriver> {
    const existing = this.#driver;
    if (existing) {
      return existing.then((d) => {
        if (d.isOpen) return d;
        this.#driver = undefined;
        return this.#current();
      });
    }
    const dialing = this.#dial();
    this.#driver = dialing;
    dialing.catch(() => {
      if (this.#driver === dialing) this.#driver = undefined;
    });
    return dialing;
  }

  /** Connects to the current member, else to the next ones in turn. */
  async #dial(): Promise<GrpcDriver> {
    for (let tried = 0;; tried++) {
      const { host, port } = this.address;
      try {
        const transport = await connect({ host, port });
        this.connections++;
        return new Driver(new GrpcConnection({ authority: `${host}:${port}` }), transport);
      } catch (error) {
        if (tried + 1 >= this.#addresses.length) throw error;
        this.#index = (this.#index + 1) % this.#addresses.length;
      }
    }
  }
}
