/**
 * Access to the cluster that global-setup.ts starts once per test run.
 *
 * @example
 * import { describeCluster, adminKubeConfig } from "./shared.ts";
 * describeCluster("pods", () => {
 *   it("lists", async () => {
 *     const core = (await adminKubeConfig()).makeApiClient(CoreV1Api);
 *     ...
 */

import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { describe, inject } from "vitest";
import * as harness from "./harness.ts";

/** The shared cluster's connection details, or `null` when cluster tests are skipped. */
export const sharedCluster: harness.ClusterInfo | null = inject("cluster");

/** `describe` when the shared cluster is running, `describe.skip` otherwise. */
export const describeCluster = describe.skipIf(sharedCluster === null);

function requireCluster(): harness.ClusterInfo {
  if (sharedCluster === null) throw new Error("the shared cluster is not running; use describeCluster");
  return sharedCluster;
}

/** A kubeconfig for the shared cluster's admin (a client certificate in `system:masters`). */
export function adminKubeConfig(): Promise<KubeConfig> {
  return harness.adminKubeConfig(requireCluster());
}

/** A kubeconfig for `user` in `groups` (client certificate), e.g. to check RBAC denials. */
export function userKubeConfig(user: string, groups: string[] = []): Promise<KubeConfig> {
  return harness.userKubeConfigFor(requireCluster(), user, groups);
}

/** A kubeconfig authenticating with a bearer token. */
export function tokenKubeConfig(token: string): KubeConfig {
  const info = requireCluster();
  return harness.kubeConfigFor(info.server, info.caPem, "token-user", { token });
}

/**
 * Creates a namespace named `<prefix>-<random>` and waits until its `default` service
 * account exists (pods cannot be created before). Returns the name. Delete it yourself
 * when the test needs a clean slate; the whole cluster is discarded after the run.
 */
export async function createTestNamespace(
  kc: KubeConfig,
  prefix = "test",
  labels: Record<string, string> = {},
): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = `${prefix}-${harness.randomSuffix()}`;
  await core.createNamespace({ body: { metadata: { name, labels } } });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await core.readNamespacedServiceAccount({ name: "default", namespace: name });
      return name;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
