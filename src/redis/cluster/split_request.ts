// Multi-key commands whose keys span slots, split into one command per slot and reassembled:
// MGET (values in key order), DEL/UNLINK/EXISTS/TOUCH (counts summed), MSET ("OK" when all are).
// Any other multi-key command spanning slots is refused before anything is sent.

import type { ReplyHandler } from "../../core/driver.ts";
import { RemoteProtocolError } from "../../core/errors.ts";
import type { RedisArg } from "../resp_encoder.ts";
import type { RespValue } from "../resp_types.ts";
import { keySlot } from "./slot.ts";

/** The commands split per slot when their keys span slots. */
export const SPLIT_COMMANDS: ReadonlySet<string> = new Set([
  "MGET",
  "DEL",
  "UNLINK",
  "EXISTS",
  "TOUCH",
  "MSET",
]);

/** One per-slot part of a split command. */
export interface SplitPart {
  slot: number;
  command: RedisArg[];
  /** Where each of the part's keys stands in the original command (MGET). */
  positions: number[];
}

/**
 * Splits a command of {@link SPLIT_COMMANDS} into one command per slot, keys in order.
 *
 * @example
 * ```ts
 * import { splitBySlot } from "@kvwire/kvwire/redis";
 * splitBySlot(["MGET", "a", "b", "{a}x"]).length; // 2: {a, {a}x} and {b}
 * ```
 */
export function splitBySlot(command: readonly RedisArg[]): SplitPart[] {
  const name = String(command[0]).toUpperCase();
  const width = name === "MSET" ? 2 : 1;
  const parts = new Map<number, SplitPart>();
  for (let i = 1, position = 0; i < command.length; i += width, position++) {
    const slot = keySlot(command[i]);
    let part = parts.get(slot);
    if (!part) {
      part = { slot, command: [command[0]], positions: [] };
      parts.set(slot, part);
    }
    for (let j = 0; j < width; j++) part.command.push(command[i + j]);
    part.positions.push(position);
  }
  return [...parts.values()];
}

/**
 * Collects the replies of a split command's parts and hands `handler` the reply the unsplit
 * command would have had. The first failure is reported once every part has settled; parts
 * that ran stay run (a split MSET or DEL is not atomic across slots).
 *
 * @example
 * ```ts
 * import { SplitReply } from "@kvwire/kvwire/redis";
 * const joined = new SplitReply("DEL", 2, 2, { reply: console.log, fail: console.error });
 * joined.part([0]).reply(1);
 * joined.part([1]).reply(1); // logs 2
 * ```
 */
export class SplitReply {
  readonly #values: RespValue[];
  #waiting: number;
  #sum = 0;
  #error: Error | undefined;

  /** `parts` per-slot commands for a command of `keys` keys. */
  constructor(
    readonly name: string,
    parts: number,
    keys: number,
    readonly handler: ReplyHandler<RespValue>,
  ) {
    this.#values = new Array(name === "MGET" ? keys : 0);
    this.#waiting = parts;
  }

  /** The handler of the part whose keys stand at `positions` in the original command. */
  part(positions: readonly number[]): ReplyHandler<RespValue> {
    return {
      reply: (value) => {
        if (this.name === "MGET") {
          if (!Array.isArray(value) || value.length !== positions.length) {
            this.#error ??= new RemoteProtocolError(
              "MGET answered with the wrong number of values",
              {
                sent: true,
              },
            );
          } else positions.forEach((p, i) => (this.#values[p] = value[i]));
        } else if (typeof value === "number") this.#sum += value;
        this.#settle();
      },
      fail: (error) => {
        this.#error ??= error;
        this.#settle();
      },
    };
  }

  #settle(): void {
    if (--this.#waiting > 0) return;
    if (this.#error) this.handler.fail(this.#error);
    else if (this.name === "MGET") this.handler.reply(this.#values);
    else if (this.name === "MSET") this.handler.reply("OK");
    else this.handler.reply(this.#sum);
  }
}
