// The cluster client's topology events: `topology` when a loaded slot map differs from the one
// before, `failover` when the slots of a master that left the map are served by a new master,
// `redirect` for each MOVED/ASK followed.

import type { EventHub } from "../../core/events.ts";
import type { RedisClusterEvents, RefreshReason } from "../observe.ts";
import { SLOT_COUNT } from "./slot.ts";
import type { NodeKey, SlotMap } from "./slot_map.ts";

/**
 * Compares each loaded slot map with the last one and reports the differences as events.
 *
 * Theory of operation: it keeps the master of every slot of the last loaded map (MOVED
 * updates of the live map don't count) and a signature of its shards. A master missing from a
 * new map becomes an orphan with its slots; once a map serves at least half of them, the
 * orphan's failover is reported (to the master serving most of them) and forgotten. An orphan
 * that comes back as a master is forgotten silently.
 *
 * @example
 * ```ts
 * import { EventHub, SlotMap, TopologyWatch } from "@kvwire/kvwire/redis";
 * const hub = new EventHub();
 * hub.on("topology", (e) => console.log(e.reason, e.nodes)); // "connect" ["127.0.0.1:7000"]
 * new TopologyWatch(hub).loaded(
 *   new SlotMap([{ master: "127.0.0.1:7000", replicas: [] }], [[0, 16383, 0]]),
 *   "connect",
 * );
 * ```
 */
export class TopologyWatch {
  readonly #events: EventHub<RedisClusterEvents> | undefined;
  #owners: (NodeKey | undefined)[] = [];
  #signature = "";
  readonly #orphans = new Map<NodeKey, number[]>();

  /** Reports on `events` (nothing is kept or compared without it). */
  constructor(events: EventHub<RedisClusterEvents> | undefined) {
    this.#events = events;
  }

  /** A refresh loaded `map`, started for `reason`. */
  loaded(map: SlotMap, reason: RefreshReason): void {
    const events = this.#events;
    if (!events) return;
    const owners = new Array<NodeKey | undefined>(SLOT_COUNT);
    for (let slot = 0; slot < SLOT_COUNT; slot++) owners[slot] = map.shardOf(slot)?.master;
    const masters = new Set(map.shards.map((s) => s.master));
    const signature = shardsSignature(map, owners);
    const changed = signature !== this.#signature;
    this.#findOrphans(masters);
    this.#owners = owners;
    this.#signature = signature;
    if (changed && events.has("topology")) {
      events.emit("topology", { nodes: [...masters], reason });
    }
    for (const [from, slots] of this.#orphans) {
      if (masters.has(from)) {
        this.#orphans.delete(from); // it came back
        continue;
      }
      const heirs = new Map<NodeKey, number>();
      for (const slot of slots) {
        const owner = owners[slot];
        if (owner !== undefined) heirs.set(owner, (heirs.get(owner) ?? 0) + 1);
      }
      const [to, moved] = [...heirs].reduce((a, b) => (b[1] > a[1] ? b : a), ["", 0]);
      if (moved * 2 < slots.length) continue; // mostly unserved yet: a later map tells
      this.#orphans.delete(from);
      if (events.has("failover")) events.emit("failover", { from, to, slots: moved });
    }
  }

  /** A command was redirected from `from` to `to`. */
  redirected(kind: "MOVED" | "ASK", slot: number, from: NodeKey, to: NodeKey): void {
    const events = this.#events;
    if (events?.has("redirect")) events.emit("redirect", { kind, slot, from, to });
  }

  /** Masters of the last map that the new one lacks become orphans, with their slots. */
  #findOrphans(masters: Set<NodeKey>): void {
    const lost = new Map<NodeKey, number[]>();
    this.#owners.forEach((owner, slot) => {
      if (owner === undefined || masters.has(owner)) return;
      let slots = lost.get(owner);
      if (!slots) lost.set(owner, slots = []);
      slots.push(slot);
    });
    for (const [owner, slots] of lost) this.#orphans.set(owner, slots);
  }
}

/** The slot ranges with their masters, and each shard's nodes, as one string. */
function shardsSignature(map: SlotMap, owners: (NodeKey | undefined)[]): string {
  const parts: string[] = [];
  for (let slot = 0; slot < SLOT_COUNT;) {
    const owner = owners[slot];
    let last = slot;
    while (last + 1 < SLOT_COUNT && owners[last + 1] === owner) last++;
    parts.push(`${slot}-${last}=${owner ?? ""}`);
    slot = last + 1;
  }
  for (const shard of map.shards) parts.push(`${shard.master}>${[...shard.replicas].sort()}`);
  return parts.sort().join(" ");
}
