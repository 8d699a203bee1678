/**
 * Vitest global setup of the "cluster" project: starts ONE cluster for the whole run,
 * hands its connection details to the tests (`inject("cluster")`, see shared.ts) and
 * stops it on teardown.
 *
 * Outside CI the cluster tests are skipped, with one line saying why, when
 * BELAY_SKIP_CLUSTER=1 or when the binaries are not built and `go` is not on PATH. In CI
 * (CI=true) nothing is skipped: a cluster that cannot be built or started fails the run.
 */

import type { TestProject } from "vitest/node";
import { GoNotFoundError } from "../../scripts/build-kube.ts";
import { type Cluster, type ClusterInfo, clusterInfo, startCluster } from "./harness.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The shared cluster, or `null` when cluster tests are skipped. */
    cluster: ClusterInfo | null;
  }
}

/** Whether this is a CI run (CI set to anything but "", "0" or "false"). */
export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && value !== "" && value !== "0" && value !== "false";
}

function skip(project: TestProject, reason: string): () => Promise<void> {
  process.stderr.write(`cluster tests skipped: ${reason}\n`);
  project.provide("cluster", null);
  return async () => {};
}

/** Starts the shared cluster; returns the teardown that stops it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const ci = isCI();
  if (!ci && process.env.BELAY_SKIP_CLUSTER === "1") {
    return skip(project, "BELAY_SKIP_CLUSTER=1; unset it to run them");
  }
  const started = Date.now();
  let cluster: Cluster;
  try {
    cluster = await startCluster({ log: (line) => process.stderr.write(`[cluster] ${line}\n`) });
  } catch (error) {
    if (!ci && error instanceof GoNotFoundError) {
      return skip(project, "go not found; install Go 1.26+ to build kube-apiserver, or set CI=true to fail");
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`the cluster for the cluster tests could not be built or started: ${message}`, {
      cause: error,
    });
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(
    `[cluster] kube-apiserver ${cluster.version} ready at ${cluster.server} in ${seconds}s ` +
      `(KUBECONFIG=${cluster.kubeconfigPath})\n`,
  );
  project.provide("cluster", clusterInfo(cluster));
  return () => cluster.stop();
}
