/**
 * Starts a cluster, prints its PIDs and directory as one JSON line, and waits forever.
 * harness.test.ts runs this in a child Node process and SIGKILLs it to check that the
 * cluster's processes die with their parent. Usage: node hold-cluster.ts '<binaries json>'
 */

import { startCluster } from "./harness.ts";

const binaries = process.argv[2] === undefined ? undefined : JSON.parse(process.argv[2]);
const cluster = await startCluster({ binaries, controllerManager: false });
process.stdout.write(`${JSON.stringify({ pids: cluster.pids, dir: cluster.dir })}\n`);
setInterval(() => {}, 1 << 30);
