// The record the RESP machine (connection.ts) keeps of each command, from the moment it is
// queued until its reply (or, for a subscription, its last confirmation) settles it.

import type { SubscriptionKind } from "./pubsub_frames.ts";
import type { RespValue } from "./resp_types.ts";

/**
 * One command of a connection: its place in the outbound buffer, its state, and what its
 * reply may be.
 *
 * @example
 * ```ts
 * import { type CommandEntry, newEntry } from "./command_entry.ts";
 * const entry: CommandEntry = newEntry(1, "GET", false);
 * ```
 */
export interface CommandEntry {
  id: number;
  name: string;
  /** Handshake steps only: their own bytes (user commands live in the outbound buffer). */
  bytes?: Uint8Array;
  /** User commands: their byte range in the outbound buffer until transmitted. */
  start: number;
  end: number;
  transmitted: boolean;
  settled: boolean;
  internal: boolean;
  /** The reply types this command may get; undefined when unchecked (e.g. inside MULTI). */
  replyTypes?: string;
  /** For subscription commands: the kind, and confirmations still expected. */
  kind?: SubscriptionKind;
  expect: number;
  frames?: RespValue[];
}

/**
 * A new entry, every field set so that all entries share one shape; `internal` for the
 * handshake's steps.
 *
 * @example
 * ```ts
 * import { newEntry } from "./command_entry.ts";
 * const step = newEntry(1, "HELLO", true);
 * ```
 */
export function newEntry(id: number, name: string, internal: boolean): CommandEntry {
  return {
    id,
    name,
    start: 0,
    end: 0,
    transmitted: false,
    settled: false,
    internal,
    bytes: undefined,
    replyTypes: undefined,
    kind: undefined,
    expect: 1,
    frames: undefined,
  };
}
