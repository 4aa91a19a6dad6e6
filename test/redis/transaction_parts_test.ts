// MULTI/EXEC parts share one fate: when MULTI fails before it was written (its deadline passed
// while it waited), the queued commands and EXEC are withdrawn so none can run on its own.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ReplyHandler } from "../../src/core/driver.ts";
import { AbortedError, ConnectionClosedError, TimeoutError } from "../../src/core/errors.ts";
import type { ManagedRequestOptions } from "../../src/core/managed_connection.ts";
import type { RedisCommand } from "../../src/redis/connection.ts";
import { type PipelineTarget, Transaction } from "../../src/redis/pipeline.ts";
import { PipelineError } from "../../src/redis/pipeline_error.ts";
import type { RespValue } from "../../src/redis/resp_types.ts";

interface Sent {
  command: RedisCommand;
  options: ManagedRequestOptions;
  handler: ReplyHandler<RespValue>;
}

function fakeTarget(signal?: AbortSignal): [PipelineTarget, Sent[]] {
  const sent: Sent[] = [];
  const target: PipelineTarget = {
    request: () => Promise.resolve("OK"),
    sendCommand: (command, options, handler) => sent.push({ command, options, handler }),
    context: { decode: true },
    requestOptions: { timeout: 50, signal },
  };
  return [target, sent];
}

test("redis transaction parts: MULTI failing unsent withdraws the commands and EXEC", async () => {
  const [target, sent] = fakeTarget();
  const result = new Transaction<string>(target).incr("a").incr("b").exec().catch((e) => e);
  assert.deepEqual(sent.map((s) => String(s.command[0])), ["MULTI", "INCR", "INCR", "EXEC"]);
  assert.ok(sent.every((s) => s.options.replayUnsent === false && !s.options.signal?.aborted));
  sent[0].handler.fail(new TimeoutError("MULTI timed out before it was sent", { sent: false }));
  for (const s of sent.slice(1)) {
    assert.equal(s.options.signal?.aborted, true, `${s.command[0]} is withdrawn at once`);
    s.handler.fail(new AbortedError(`${s.command[0]} was aborted before it was sent`));
  }
  const error = await result;
  assert.ok(error instanceof PipelineError, String(error));
  assert.equal(error.sent, false, "nothing ran");
  assert.deepEqual(error.uncertain, []);
});

test("redis transaction parts: an answered transaction is shaped and withdraws nothing; the caller's signal still reaches every part", async () => {
  const caller = new AbortController();
  const [target, sent] = fakeTarget(caller.signal);
  const result = new Transaction<string>(target).incr("a").get("a").exec();
  sent[0].handler.reply("OK");
  sent[1].handler.reply("QUEUED");
  sent[2].handler.reply("QUEUED");
  sent[3].handler.reply([1, "1"]);
  assert.deepEqual(await result, [1, "1"]);
  assert.ok(sent.every((s) => !s.options.signal?.aborted));
  caller.abort();
  assert.ok(sent.every((s) => s.options.signal?.aborted), "the caller's abort is passed on");
});

test("redis transaction parts: an empty transaction whose EXEC is lost rejects with EXEC's error", async () => {
  const [target, sent] = fakeTarget();
  const result = new Transaction<string>(target).exec().catch((e) => e);
  sent[0].handler.reply("OK");
  const lost = new ConnectionClosedError("Connection closed after EXEC was sent", { sent: true });
  sent[1].handler.fail(lost);
  assert.equal(await result, lost);
});
