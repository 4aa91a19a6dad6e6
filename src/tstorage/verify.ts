// The `verifyConnection` check of TStorageClient: a new connection must echo a random acq before
// any call goes out on it (TStorage answers carry no request id).

import type { Driver } from "../core/driver.ts";
import { RemoteProtocolError } from "../core/errors.ts";
import type { ResolvedTStorageOptions } from "./client_options.ts";
import type { GetItem, TStorageReply, TStorageRequest } from "./connection.ts";
import { Key } from "./record.ts";

/** The `verifyConnection` check: a GET_ACQ answered with exactly the random acq it asks for. */
export async function verifyInStep(
  driver: Driver<TStorageRequest, TStorageReply, GetItem>,
  options: ResolvedTStorageOptions<unknown>,
): Promise<void> {
  const nonce = BigInt(1 + Math.floor(Math.random() * 0x7ffffffe));
  const reply = await driver.request(
    { type: "getAcq", keyMin: Key.min(), keyMax: new Key(1, 1n, 1, 1n, nonce) },
    { timeout: options.connectTimeout ?? 10_000 },
    "GET_ACQ (connection check)",
  );
  if (reply.type !== "acq" || reply.acq !== nonce) {
    throw new RemoteProtocolError(
      `${options.label} answered the connection check with ${
        reply.type === "acq" ? `acq ${reply.acq}` : reply.type
      }, not ${nonce}: it is out of step`,
    );
  }
}
