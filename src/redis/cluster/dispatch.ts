// How the cluster client's commands reach the nodes: by the slot of their keys (split per slot
// when the command allows it, broadcast to every master for SCRIPT and flushes, else routed),
// and blocking commands on a dedicated connection of the slot's master, following MOVED/ASK.

import type { ReplyHandler, RequestOptions } from "../../core/driver.ts";
import type { ManagedRequestOptions } from "../../core/managed_connection.ts";
import type { Operation } from "../../core/instrument.ts";
import { commandInfo } from "../command_info.ts";
import {
  commandKeys,
  commandSlot,
  CROSS_SLOT,
  isReadOnlyCommand,
  NO_KEYS,
  slotOfKeys,
} from "../command_keys.ts";
import type { Transform } from "../commands/transforms.ts";
import type { RedisCommand } from "../connection.ts";
import { RedisError } from "../errors.ts";
import type { KeyPrefix } from "../key_prefix.ts";
import type { RedisArg } from "../resp_encoder.ts";
import type { RespValue } from "../resp_types.ts";
import { redirectTarget, RoutedRequest } from "./routed_request.ts";
import { crossSlotError } from "./slot_transaction.ts";
import { SPLIT_COMMANDS, splitBySlot, SplitReply } from "./split_request.ts";
import type { ClusterNode, ClusterTopology } from "./topology.ts";

/** Keyless commands sent to every master (the first reply answers). */
const BROADCAST = new Set(["SCRIPT", "FLUSHALL", "FLUSHDB"]);

/**
 * Sends `command` (keys prefixed, `name` its command name) where its slot says: split per slot
 * (MGET, MSET, DEL, ...) or refused when its keys span slots, to every master for SCRIPT and
 * flushes, else to the slot's master (any master when keyless), following redirections.
 *
 * @example
 * ```ts
 * import { ClusterTopology } from "@kvwire/kvwire/redis";
 * import { dispatchBySlot } from "./dispatch.ts";
 * const topology = new ClusterTopology({ nodes: ["127.0.0.1:7000"] });
 * await topology.refresh();
 * dispatchBySlot(topology, ["GET", "k"], {}, "GET", {
 *   reply: (value) => console.log(value),
 *   fail: (error) => console.error(error),
 * });
 * ```
 */
export function dispatchBySlot(
  topology: ClusterTopology,
  command: RedisCommand,
  options: ManagedRequestOptions,
  name: string,
  handler: ReplyHandler<RespValue>,
  op?: Operation,
): void {
  const slot = commandSlot(command, name);
  if (slot === CROSS_SLOT) {
    if (!SPLIT_COMMANDS.has(name)) {
      handler.fail(crossSlotError(name));
      return;
    }
    const parts = splitBySlot(command);
    const joined = new SplitReply(
      name,
      parts.length,
      name === "MSET" ? 0 : command.length - 1,
      handler,
    );
    for (const part of parts) {
      const routed = new RoutedRequest(
        topology,
        part.command,
        part.slot,
        options,
        name,
        joined.part(part.positions),
        isReadOnlyCommand(name),
        op,
      );
      routed.start();
    }
    return;
  }
  if (slot === NO_KEYS && BROADCAST.has(name) && topology.map) {
    // Scripts must be known on every master that may run them; a flush empties them all.
    broadcast(topology.masters(), command, options, name, handler);
    return;
  }
  new RoutedRequest(topology, command, slot, options, name, handler, isReadOnlyCommand(name), op)
    .start();
}

/**
 * The master of the command's slot (of its prefixed keys; the node's own client prefixes
 * them again as it sends), or the error that keeps it from being sent.
 *
 * @example
 * ```ts
 * import { ClusterTopology } from "@kvwire/kvwire/redis";
 * import { masterFor } from "./dispatch.ts";
 * const topology = new ClusterTopology({ nodes: ["127.0.0.1:7000"] });
 * await topology.refresh();
 * const node = masterFor(topology, undefined, ["BLPOP", "jobs", 1]);
 * ```
 */
export function masterFor(
  topology: ClusterTopology,
  prefix: KeyPrefix | undefined,
  args: readonly RedisArg[],
): ClusterNode | Error {
  const prefixed = prefix?.tryApply(args) ?? args;
  if (prefixed instanceof Error) return prefixed;
  const slot = slotOfKeys(commandKeys(prefixed));
  if (slot === CROSS_SLOT) return crossSlotError(commandInfo(args[0], args[1]).name);
  return (slot === NO_KEYS ? topology.anyMaster() : topology.masterOf(slot)) ??
    new RangeError(`No master serves slot ${slot} yet`);
}

/**
 * Runs a blocking command on a dedicated connection of its slot's master (the plain client's
 * blocking path: its pool, the server timeout plus a margin). A MOVED (the command did not
 * run) updates the map and sends it to the new owner; an ASK (a slot being migrated) sends
 * ASKING then the command on a dedicated connection of the target.
 *
 * @example
 * ```ts
 * import { asReply, ClusterTopology } from "@kvwire/kvwire/redis";
 * import { sendBlockingRouted } from "./dispatch.ts";
 * const topology = new ClusterTopology({ nodes: ["127.0.0.1:7000"] });
 * await topology.refresh();
 * await sendBlockingRouted(topology, undefined, {}, ["BLPOP", "jobs", 1], asReply, 1);
 * ```
 */
export async function sendBlockingRouted<T>(
  topology: ClusterTopology,
  prefix: KeyPrefix | undefined,
  call: RequestOptions,
  args: RedisArg[],
  transform: Transform<T>,
  serverTimeoutSeconds: number,
  redirects = 0,
  asking?: ClusterNode,
): Promise<T> {
  const node = asking ?? masterFor(topology, prefix, args);
  if (node instanceof Error) throw node;
  const client = topology.dedicated(node).with(call);
  try {
    return await client.blockingCall(
      args,
      transform,
      serverTimeoutSeconds,
      asking ? ["ASKING"] : undefined,
    );
  } catch (error) {
    const code = error instanceof RedisError ? error.serverCode : undefined;
    const redirect = (code === "MOVED" || code === "ASK") &&
      redirects < topology.maxRedirections && redirectTarget((error as Error).message, node.key);
    if (!redirect) throw error;
    topology.watch.redirected(code, redirect.slot, node.key, redirect.target);
    if (code === "MOVED") topology.moved(redirect.slot, redirect.target);
    const next = code === "ASK" ? topology.node(redirect.target) : undefined;
    return await sendBlockingRouted(
      topology,
      prefix,
      call,
      args,
      transform,
      serverTimeoutSeconds,
      redirects + 1,
      next,
    );
  }
}

/** Sends a command to every node; the first reply is the answer, any failure fails it. */
function broadcast(
  nodes: readonly ClusterNode[],
  command: RedisCommand,
  options: ManagedRequestOptions,
  name: string,
  handler: ReplyHandler<RespValue>,
): void {
  let waiting = nodes.length;
  let first: RespValue = null;
  let error: Error | undefined;
  const done = (): void => {
    if (--waiting > 0) return;
    if (error) handler.fail(error);
    else handler.reply(first);
  };
  const part: ReplyHandler<RespValue> = {
    reply: (value) => {
      if (waiting === nodes.length) first = value;
      done();
    },
    fail: (e) => {
      error ??= e;
      done();
    },
  };
  for (const node of nodes) node.conn.send(command, options, name, part);
}
