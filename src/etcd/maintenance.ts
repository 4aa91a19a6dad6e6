// etcd's Maintenance service (`etcd.maintenance`): status, alarms, defragment, hash, hashKV
// (gRPC only), leadership transfer and the snapshot as a stream of chunks.

import { AbortedError } from "../core/errors.ts";
import { invalidAnswer, parseJson } from "./answer.ts";
import type { CallOptions, EtcdChannel } from "./channel.ts";
import type { MemberStatus } from "./client_options.ts";
import { EtcdError, etcdErrorFromJson } from "./errors.ts";
import { b64, headerRevision, int, list, num } from "./kv.ts";

/** The alarms a member can raise (`NONE` matches every alarm in a disarm). */
export const AlarmType = { NONE: "NONE", NOSPACE: "NOSPACE", CORRUPT: "CORRUPT" } as const;

/** An alarm raised by a member. */
export interface Alarm {
  /** The member that raised it. */
  memberId: bigint;
  /** What it is about. */
  alarm: keyof typeof AlarmType;
}

const idempotent = (options: CallOptions): CallOptions => ({ ...options, idempotent: true });

/**
 * The Maintenance service. Each call is answered by the member the client reaches first (see
 * `etcd.channel.currentEndpoint`); give a client one endpoint to aim at one member. HashKV
 * needs gRPC: etcd 3.4's gateway routes its path to Hash.
 *
 * @example
 * ```ts
 * import { EtcdClient } from "@kvwire/kvwire/etcd";
 * await using etcd = new EtcdClient({ endpoints: ["127.0.0.1:2379"] });
 * const { dbSize, leader } = await etcd.maintenance.status();
 * await etcd.maintenance.defragment();
 * ```
 */
export class Maintenance {
  readonly #channel: EtcdChannel;

  /** The service over `channel`. */
  constructor(channel: EtcdChannel) {
    this.#channel = channel;
  }

  /** The status of the member that answers: version, database size, leader, Raft state. */
  async status(options: CallOptions = {}): Promise<MemberStatus> {
    return await this.#channel.call("/v3/maintenance/status", {}, idempotent(options), (json) => {
      const header = json.header as Record<string, string> | undefined;
      return {
        version: String(json.version ?? ""),
        dbSize: int(json.dbSize as string),
        leader: int(json.leader as string),
        memberId: int(header?.member_id),
        raftIndex: int(json.raftIndex as string),
        raftTerm: int(json.raftTerm as string),
        revision: headerRevision(json),
        errors: list<unknown>(json.errors).map(String),
      };
    });
  }

  /** The cluster's active alarms (`NOSPACE`, `CORRUPT`). */
  async alarms(options: CallOptions = {}): Promise<Alarm[]> {
    return await this.#alarm({ action: "GET" }, idempotent(options));
  }

  /**
   * Disarms alarms: every active one by default, or those of `memberId` and/or type `alarm`
   * (`NONE`: any type). Check with {@link alarms}: etcd 3.4 does not always list what a
   * disarm cleared in its answer.
   */
  async disarm(
    which: { memberId?: bigint; alarm?: keyof typeof AlarmType } = {},
    options: CallOptions = {},
  ): Promise<void> {
    if (which.memberId !== undefined && typeof which.memberId !== "bigint") {
      throw new TypeError("memberId must be a bigint");
    }
    if (which.alarm !== undefined && !(which.alarm in AlarmType)) {
      throw new RangeError(`alarm must be NONE, NOSPACE or CORRUPT, got ${String(which.alarm)}`);
    }
    const matches = (a: Alarm): boolean =>
      (which.memberId === undefined || a.memberId === which.memberId) &&
      ((which.alarm ?? "NONE") === "NONE" || a.alarm === which.alarm);
    for (const a of (await this.alarms(options)).filter(matches)) {
      await this.#alarm({
        action: "DEACTIVATE",
        memberID: String(a.memberId),
        alarm: a.alarm,
      }, idempotent(options));
    }
  }

  async #alarm(body: Record<string, string>, options: CallOptions): Promise<Alarm[]> {
    return await this.#channel.call(
      "/v3/maintenance/alarm",
      body,
      options,
      (json) =>
        list<Record<string, string>>(json.alarms).map((a) => ({
          memberId: int(a.memberID),
          alarm: String(a.alarm ?? "NONE") as keyof typeof AlarmType,
        })),
    );
  }

  /** Defragments the backend database of the member that answers (it blocks that member). */
  async defragment(options: CallOptions = {}): Promise<void> {
    await this.#channel.call("/v3/maintenance/defragment", {}, idempotent(options));
  }

  /** The hash of the member's whole backend (for corruption checks; not for comparing members). */
  async hash(options: CallOptions = {}): Promise<number> {
    return await this.#channel.call(
      "/v3/maintenance/hash",
      {},
      idempotent(options),
      (json) => num(json.hash),
    );
  }

  /**
   * The hash of the member's keys (MVCC history) up to `revision` (default: the newest), and
   * the compaction revision it started from; equal on members that agree up to `revision`.
   * gRPC only (`protocol: "grpc"`): etcd 3.4's gateway routes this path to Hash, so on the
   * gateway it is a `TypeError` before anything is sent.
   *
   * @example
   * ```ts
   * import { EtcdClient } from "@kvwire/kvwire/etcd";
   * await using etcd = new EtcdClient();
   * const { hash, compactRevision } = await etcd.maintenance.hashKV();
   * ```
   */
  async hashKV(
    revision?: bigint,
    options: CallOptions = {},
  ): Promise<{ hash: number; compactRevision: bigint; revision: bigint }> {
    if (this.#channel.protocol !== "grpc") {
      throw new TypeError('maintenance.hashKV needs protocol: "grpc" (the gateway has no HashKV)');
    }
    if (revision !== undefined && (typeof revision !== "bigint" || revision < 0n)) {
      throw new RangeError("revision must be a non-negative bigint");
    }
    return await this.#channel.call(
      "/v3/maintenance/hashkv",
      revision === undefined ? {} : { revision: String(revision) },
      idempotent(options),
      (json) => ({
        hash: num(json.hash),
        compactRevision: int(json.compact_revision as string | undefined),
        revision: int((json.header as { revision?: string } | undefined)?.revision),
      }),
    );
  }

  /**
   * Hands the leadership to member `targetId`. The call must reach the current leader: give
   * the client the leader's endpoint (its id is in {@link status}).
   */
  async moveLeader(targetId: bigint, options: CallOptions = {}): Promise<void> {
    if (typeof targetId !== "bigint" || targetId <= 0n) {
      throw new RangeError("targetId must be a member id (a positive bigint)");
    }
    await this.#channel.call(
      "/v3/maintenance/transfer-leadership",
      { targetID: String(targetId) },
      options,
    );
  }

  /**
   * A snapshot of the member's backend as a stream of chunks (the bytes of a `.db` file that
   * `etcdctl snapshot restore` accepts). Stop early with `break` or `signal`: the connection
   * closes.
   *
   * @example
   * ```ts
   * import { EtcdClient } from "@kvwire/kvwire/etcd";
   * await using etcd = new EtcdClient();
   * let bytes = 0;
   * for await (const chunk of etcd.maintenance.snapshot()) bytes += chunk.length;
   * ```
   */
  async *snapshot(options: { signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
    const path = "/v3/maintenance/snapshot";
    const stream = await this.#channel.openStream(path, {}, { signal: options.signal });
    const onAbort = (): void => stream.close();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const line of stream.items) {
        const chunk = snapshotChunk(path, line);
        if (chunk.length > 0) yield chunk;
      }
    } catch (error) {
      if (options.signal?.aborted) {
        throw new AbortedError(`${path} was aborted`, { sent: true, cause: error });
      }
      throw error;
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      stream.close();
    }
  }
}

/** The blob of one snapshot message; an error message throws its `EtcdError`. */
function snapshotChunk(path: string, line: Uint8Array): Uint8Array {
  const json = parseJson(line);
  if (json.error !== undefined) throw etcdErrorFromJson(json);
  try {
    const result = json.result as { blob?: string } | undefined;
    if (typeof result !== "object" || result === null) throw new TypeError("no result");
    return b64(result.blob);
  } catch (error) {
    if (error instanceof EtcdError) throw error;
    throw invalidAnswer(path, error);
  }
}
