// etcd's Cluster service over the gateway (`etcd.cluster`): list, add (as a voter or a
// learner), remove, update the peer URLs of, and promote members.

import type { CallOptions, EtcdChannel } from "./channel.ts";
import type { Member } from "./client_options.ts";
import { int, list } from "./kv.ts";

/** What {@link ClusterAdmin.add} returns: the new member and the members after it. */
export interface MemberAdded {
  /** The member added (no name, no client URLs until it has started). */
  member: Member;
  /** Every member of the cluster, the new one included. */
  members: Member[];
}

/**
 * The Cluster service: membership changes go through Raft, so any member may answer.
 *
 * @example
 * ```ts
 * import { EtcdClient } from "@kvwire/kvwire/etcd";
 * await using etcd = new EtcdClient({ endpoints: ["etcd-1:2379", "etcd-2:2379"] });
 * const { member } = await etcd.cluster.add(["http://etcd-4:2380"], { learner: true });
 * // start etcd-4 with --initial-cluster-state=existing, let it catch up, then:
 * await etcd.cluster.promote(member.id);
 * ```
 */
export class ClusterAdmin {
  readonly #channel: EtcdChannel;

  /** The service over `channel`. */
  constructor(channel: EtcdChannel) {
    this.#channel = channel;
  }

  /** The cluster's members (learners included). */
  async list(options: CallOptions = {}): Promise<Member[]> {
    return await this.#channel.call(
      "/v3/cluster/member/list",
      {},
      { ...options, idempotent: true },
      (json) => members(json.members),
    );
  }

  /** Adds a member reached at `peerUrls`; with `learner`, a non-voting learner. */
  async add(
    peerUrls: string[],
    options: { learner?: boolean } & CallOptions = {},
  ): Promise<MemberAdded> {
    return await this.#channel.call(
      "/v3/cluster/member/add",
      { peerURLs: urls(peerUrls), isLearner: options.learner === true },
      options,
      (json) => ({ member: member(json.member), members: members(json.members) }),
    );
  }

  /** Removes member `id`; returns the members left. */
  async remove(id: bigint, options: CallOptions = {}): Promise<Member[]> {
    return await this.#channel.call(
      "/v3/cluster/member/remove",
      { ID: memberId(id) },
      options,
      (json) => members(json.members),
    );
  }

  /** Sets the peer URLs of member `id`; returns the members after the change. */
  async update(id: bigint, peerUrls: string[], options: CallOptions = {}): Promise<Member[]> {
    return await this.#channel.call(
      "/v3/cluster/member/update",
      { ID: memberId(id), peerURLs: urls(peerUrls) },
      options,
      (json) => members(json.members),
    );
  }

  /**
   * Makes learner `id` a voting member; etcd refuses while the learner is not started or not
   * in sync with the leader. Returns the members after the change.
   */
  async promote(id: bigint, options: CallOptions = {}): Promise<Member[]> {
    return await this.#channel.call(
      "/v3/cluster/member/promote",
      { ID: memberId(id) },
      options,
      (json) => members(json.members),
    );
  }
}

function memberId(id: bigint): string {
  if (typeof id !== "bigint" || id <= 0n) {
    throw new RangeError("id must be a member id (a positive bigint)");
  }
  return String(id);
}

function urls(peerUrls: string[]): string[] {
  if (!Array.isArray(peerUrls) || peerUrls.length === 0) {
    throw new TypeError("peerUrls must be a non-empty array of URLs");
  }
  for (const url of peerUrls) {
    if (typeof url !== "string" || !/^https?:\/\/[^/\s]+$/.test(url)) {
      throw new TypeError(`peerUrls: ${JSON.stringify(url)} is not an http(s)://host:port URL`);
    }
  }
  return peerUrls;
}

function members(json: unknown): Member[] {
  return list<unknown>(json).map(member);
}

function member(json: unknown): Member {
  const m = (json ?? {}) as Record<string, unknown>;
  return {
    id: int(m.ID as string),
    name: String(m.name ?? ""),
    peerUrls: list<unknown>(m.peerURLs).map(String),
    clientUrls: list<unknown>(m.clientURLs).map(String),
    isLearner: m.isLearner === true,
  };
}
