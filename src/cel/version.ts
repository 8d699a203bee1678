/**
 * Kubernetes minor versions for pinning the CEL environment (`--k8s-version`), as in
 * kube-apiserver's environment/base.go: a library is available from the release that
 * introduced it.
 */
import { err, ok, type Result } from "../result.ts";

/** A Kubernetes `major.minor` version. */
export interface K8sVersion {
  readonly major: number;
  readonly minor: number;
}

/** The newest Kubernetes version whose CEL environment belay reproduces (the default). */
export const LATEST_K8S_VERSION: K8sVersion = { major: 1, minor: 37 };
/** The oldest Kubernetes version belay accepts: ValidatingAdmissionPolicy's first (alpha) release. */
export const OLDEST_K8S_VERSION: K8sVersion = { major: 1, minor: 26 };

/** `v(1, 30)` — a version literal. */
export function v(major: number, minor: number): K8sVersion {
  return { major, minor };
}

/** Negative if a < b, 0 if equal, positive if a > b. */
export function compareVersions(a: K8sVersion, b: K8sVersion): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

/** `"1.30"`. */
export function formatVersion(ver: K8sVersion): string {
  return `${ver.major}.${ver.minor}`;
}

/**
 * Parses `1.30`, `v1.30` or `1.30.2` (the patch is ignored). Returns an error message for
 * anything else, a version older than {@link OLDEST_K8S_VERSION} or newer than
 * {@link LATEST_K8S_VERSION} (whose environment belay cannot know). Never throws.
 */
export function parseK8sVersion(text: string): Result<K8sVersion, string> {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?$/.exec(text.trim());
  if (!m) return err(`invalid Kubernetes version "${text}": expected MAJOR.MINOR such as 1.30`);
  const ver = v(Number(m[1]), Number(m[2]));
  if (compareVersions(ver, OLDEST_K8S_VERSION) < 0) {
    return err(
      `Kubernetes version "${text}" is not supported: ValidatingAdmissionPolicy needs ${formatVersion(OLDEST_K8S_VERSION)} or newer`,
    );
  }
  if (compareVersions(ver, LATEST_K8S_VERSION) > 0) {
    return err(
      `Kubernetes version "${text}" is newer than belay's CEL environment: ${formatVersion(LATEST_K8S_VERSION)} is the newest modelled`,
    );
  }
  return ok(ver);
}
