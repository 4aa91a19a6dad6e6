// Tests for src/core/pending_requests.ts: lookup, finish, cancel, expiry and close.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PendingRequests } from "../../src/core/pending_requests.ts";

const entry = (id: number, transmitted = false) => ({ id, settled: false, transmitted });

test("pending requests: deadlines expire into timeout events that say whether it was sent", () => {
  const pending = new PendingRequests<ReturnType<typeof entry>>();
  const a = entry(1, true);
  const b = entry(2);
  pending.add(a, 50);
  pending.add(b, 20);
  pending.add(entry(3));
  assert.equal(pending.nextDeadline(), 20);
  assert.deepEqual(pending.expire(30), [{ type: "timeout", id: 2, sent: false }]);
  assert.equal(b.settled, true);
  assert.equal(pending.get(2), undefined);
  pending.finish(a);
  assert.equal(
    pending.nextDeadline(),
    50,
    "a finished entry keeps its heap slot until it surfaces",
  );
  a.settled = true;
  assert.equal(pending.nextDeadline(), undefined);
  assert.equal(pending.size, 1);
});

test("pending requests: cancel settles; closeAll settles but keeps entries for lookups", () => {
  const pending = new PendingRequests<ReturnType<typeof entry>>();
  const a = entry(1, true);
  const b = entry(2);
  pending.add(a, 10);
  pending.add(b);
  assert.equal(pending.cancel(1), a);
  assert.equal(a.settled, true);
  assert.equal(pending.cancel(1), undefined);
  pending.closeAll();
  assert.equal(b.settled, true);
  assert.equal(pending.get(2), b, "still known, so a driver can ask whether it was sent");
  assert.equal(pending.nextDeadline(), undefined);
});
