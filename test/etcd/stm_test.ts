// etcd.stm against a real etcd 3.4: concurrent increments never lose one, and each isolation
// level conflicts exactly where etcd's `concurrency` package says (reads, snapshot writes).

import { after } from "node:test";
import assert from "node:assert/strict";
import { EtcdClient } from "../../src/etcd/client.ts";
import { EtcdError } from "../../src/etcd/errors.ts";
import type { StmOptions } from "../../src/etcd/stm.ts";
import { perProtocol } from "../_helpers/etcd_protocols.ts";
import { etcdAddress } from "../_helpers/servers.ts";

const addr = await etcdAddress();
// Each test runs once per protocol (the client running the STM); `other` interferes.
let etcd: EtcdClient;
let p: string;
const runs = perProtocol(`${addr.host}:${addr.port}`, `stm-${crypto.randomUUID()}/`, (run) => {
  ({ etcd, p } = run);
});
const other = new EtcdClient({ endpoints: [`${addr.host}:${addr.port}`] });
after(async () => {
  await runs.close();
  await other.close();
});

for (const isolation of ["SerializableSnapshot", "Serializable", "RepeatableReads"] as const) {
  runs.each(`stm ${isolation}: 6 concurrent increments all count`, async () => {
    const key = `${p}counter-${isolation}`;
    const runs = await Promise.all(Array.from({ length: 6 }, () =>
      etcd.stm(async (tx) => {
        const n = Number(await tx.get(key) ?? "0");
        tx.put(key, String(n + 1));
        return n;
      }, { isolation, maxAttempts: 50 })));
    assert.equal(await etcd.getString(key), "6");
    assert.deepEqual(runs.map((r) => r.value).sort(), [0, 1, 2, 3, 4, 5]);
    assert.ok(runs.some((r) => r.attempts > 1), "some commits conflicted and ran again");
  });
}

/** Runs one STM that reads `a`, lets `between` write behind its back once, then writes `w`. */
async function conflictRun(
  isolation: StmOptions["isolation"],
  between: (round: string) => Promise<unknown>,
): Promise<number> {
  let first = true;
  const { attempts } = await etcd.stm(async (tx) => {
    await tx.get(`${p}${isolation}/a`);
    if (first) {
      first = false;
      await between(`${p}${isolation}/`);
    }
    tx.put(`${p}${isolation}/w`, "mine");
  }, { isolation });
  assert.equal(await etcd.getString(`${p}${isolation}/w`), "mine");
  return attempts;
}

runs.each(
  "stm: a key read and changed before the commit reruns, except under ReadCommitted",
  async () => {
    const changeRead = (at: string): Promise<unknown> => other.put(`${at}a`, crypto.randomUUID());
    assert.equal(await conflictRun("SerializableSnapshot", changeRead), 2);
    assert.equal(await conflictRun("RepeatableReads", changeRead), 2);
    assert.equal(await conflictRun("ReadCommitted", changeRead), 1);
  },
);

runs.each(
  "stm: a blind write over a key changed since the snapshot reruns only SerializableSnapshot",
  async () => {
    const changeWritten = (at: string): Promise<unknown> => other.put(`${at}w`, "theirs");
    assert.equal(await conflictRun("SerializableSnapshot", changeWritten), 2);
    assert.equal(await conflictRun("Serializable", changeWritten), 1);
    assert.equal(await conflictRun("RepeatableReads", changeWritten), 1);
  },
);

runs.each(
  "stm: Serializable reads see the first read's revision; own writes are read back",
  async () => {
    await etcd.put(`${p}snap/x`, "1");
    await etcd.put(`${p}snap/y`, "1");
    const seen: (string | undefined)[][] = [];
    let first = true;
    await etcd.stm(async (tx) => {
      const x = await tx.get(`${p}snap/x`);
      if (first) {
        first = false;
        await other.put(`${p}snap/y`, "2");
      }
      const y = await tx.get(`${p}snap/y`);
      tx.put(`${p}snap/z`, "new");
      seen.push([x, y, await tx.get(`${p}snap/z`)]);
    }, { isolation: "Serializable" });
    assert.deepEqual(seen, [
      ["1", "1", "new"], // y as of x's revision: the commit then conflicted on y
      ["1", "2", "new"],
    ]);
  },
);

runs.each("stm: deletes apply; endless conflicts end with an ABORTED EtcdError", async () => {
  await etcd.put(`${p}del`, "x");
  await etcd.stm((tx) => tx.delete(`${p}del`));
  assert.equal(await etcd.getString(`${p}del`), undefined);
  await assert.rejects(
    etcd.stm(async (tx) => {
      await tx.get(`${p}hot`);
      await other.put(`${p}hot`, crypto.randomUUID());
      tx.put(`${p}hot2`, "never");
    }, { maxAttempts: 3 }),
    (error: Error) => error instanceof EtcdError && error.grpcCode === 10,
  );
  assert.equal(await etcd.getString(`${p}hot2`), undefined);
  await assert.rejects(etcd.stm(() => {}, { isolation: "Bogus" as "Serializable" }), RangeError);
});
