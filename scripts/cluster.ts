/**
 * `npm run cluster`: builds the kube binaries if needed, starts one test cluster, prints
 * `KUBECONFIG=<path>` when it is ready, and runs until interrupted (Ctrl-C), then stops
 * it cleanly.
 *
 * Options:
 *   --kubeconfig <path>   also write the admin kubeconfig to <path> (kept after exit)
 *   --no-controller-manager   run only etcd and kube-apiserver
 */

import { copyFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { type Cluster, startCluster } from "../test/cluster/harness.ts";

const { values } = parseArgs({
  options: {
    kubeconfig: { type: "string" },
    "no-controller-manager": { type: "boolean", default: false },
  },
});

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const started = Date.now();
let cluster: Cluster;
try {
  cluster = await startCluster({ log, controllerManager: !values["no-controller-manager"] });
} catch (error) {
  log(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
let kubeconfigPath = cluster.kubeconfigPath;
if (values.kubeconfig !== undefined) {
  kubeconfigPath = resolve(values.kubeconfig);
  await copyFile(cluster.kubeconfigPath, kubeconfigPath);
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);
log(`kube-apiserver ${cluster.version} ready at ${cluster.server} in ${seconds}s`);
log(`logs: ${Object.values(cluster.logs).join(" ")}`);
log("press Ctrl-C to stop");
process.stdout.write(`KUBECONFIG=${kubeconfigPath}\n`);

// Nothing else keeps the event loop alive while the cluster runs.
const keepAlive = setInterval(() => {}, 1 << 30);
let stopping = false;
const shutdown = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping the cluster`);
  void cluster.stop().then(() => {
    clearInterval(keepAlive);
    log("stopped");
  });
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
process.on("SIGHUP", shutdown);
