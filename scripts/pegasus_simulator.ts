// Starts the Pegasus simulator (test/fixtures/pegasus) where the reference clients' test suites
// expect a local cluster: meta 127.0.0.1:34601-34603, replicas 34801-34803, table "temp" (8
// partitions). Run: node_modules/.bin/tsx scripts/pegasus_simulator.ts [partitions]; Ctrl-C stops.

import process from "node:process";
import { startPegasusSimulator } from "../test/fixtures/pegasus/simulator.ts";

const partitionCount = Number(process.argv[2] ?? 8);
const sim = await startPegasusSimulator({
  metaPorts: [34601, 34602, 34603],
  replicaPorts: [34801, 34802, 34803],
  tables: [{ name: "temp", partitionCount }],
});
console.log(`Pegasus simulator: meta ${sim.metaServers.join(", ")}`);
console.log(
  `replicas ${sim.replicaServers.join(", ")}; table "temp" with ${partitionCount} partitions`,
);
process.on("SIGINT", () => {
  sim.close().then(() => process.exit(0));
});
