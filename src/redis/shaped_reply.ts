// ShapedReply: the reply handler behind every command's Promise, for the single-node and the
// cluster client. One object per command settles its Promise with the transformed reply.

import type { ReplyHandler } from "../core/driver.ts";
import { KvError, RemoteProtocolError } from "../core/errors.ts";
import type { ReplyContext, Transform } from "./commands/transforms.ts";
import type { RespValue } from "./resp_types.ts";

/**
 * Settles a command's Promise with its shaped reply (one object per command, no closures);
 * shared with the cluster client.
 *
 * @example
 * ```ts
 * import { asValue, ShapedReply } from "@kvwire/kvwire/redis";
 * const call = new ShapedReply(asValue<string>, { decode: true });
 * const value = call.promise();
 * call.reply("v"); // value resolves with "v"
 * ```
 */
export class ShapedReply<T> implements ReplyHandler<RespValue> {
  resolve: (value: T) => void = ignore;
  reject: (error: Error) => void = ignore;
  constructor(readonly transform: Transform<T>, readonly context: ReplyContext) {}

  /** The Promise this call settles (made with one shared executor, not a closure per call). */
  promise(): Promise<T> {
    settling = this as ShapedReply<unknown>;
    return new Promise<T>(takeSettlers); // takeSettlers runs now and fills resolve/reject
  }

  reply(value: RespValue): void {
    let shaped: T;
    try {
      shaped = this.transform(value, this.context);
    } catch (error) {
      // Anything a reply causes is a KvError; the command was written and ran.
      this.reject(
        error instanceof KvError
          ? error
          : new RemoteProtocolError(`Unusable reply: ${(error as Error).message}`, {
            cause: error,
            sent: true,
          }),
      );
      return;
    }
    this.resolve(shaped);
  }

  fail(error: Error): void {
    this.reject(error);
  }
}

function ignore(): void {}
/** The call whose Promise is being created; see {@link ShapedReply.promise}. */
let settling: ShapedReply<unknown> | undefined;

/** The executor of every command's Promise: one function, not a closure per call. */
function takeSettlers(
  resolve: (value: never) => void,
  reject: (error: Error) => void,
): void {
  settling!.resolve = resolve as (value: unknown) => void;
  settling!.reject = reject;
  settling = undefined;
}
