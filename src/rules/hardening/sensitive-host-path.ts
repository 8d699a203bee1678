/**
 * sensitive-host-path
 *
 * Field: `spec.volumes[*].hostPath.path` of every pod template, normalised.
 * Disallowed values:
 *   - exactly one of the host's system directories: /, /bin, /sbin, /usr, /lib, /lib64,
 *     /etc, /var, /dev, /opt;
 *   - anything at or below: /proc, /sys, /boot, /root, /home, /etc/kubernetes, /etc/ssh,
 *     /etc/shadow, /etc/gshadow, /etc/passwd, /etc/group, /etc/sudoers, /etc/sudoers.d,
 *     /etc/crontab, /etc/cron.d, /etc/systemd, /var/lib/kubelet, /var/lib/etcd,
 *     /var/lib/docker, /var/lib/containerd, /var/lib/containers, /var/lib/cni;
 *   - /var/log or below when any container mounts the volume without `readOnly: true`
 *     (a writable log directory lets a pod make the kubelet follow symlinks on the host).
 * Container runtime sockets and their directories are `docker-socket-mount`.
 */
import { containersOf, podRule } from "../pod-rule.ts";
import type { Rule } from "../rule.ts";
import { hostPathVolumes, isUnder, runtimeSocketKind } from "./lib/host-paths.ts";
import { asArray, isObject } from "./lib/objects.ts";

/** Host directories that are sensitive as a whole (their subdirectories are judged on their own). */
export const SENSITIVE_HOST_DIRS: readonly string[] = [
  "/",
  "/bin",
  "/sbin",
  "/usr",
  "/lib",
  "/lib64",
  "/etc",
  "/var",
  "/dev",
  "/opt",
];

/** Host trees that are sensitive at every depth. */
export const SENSITIVE_HOST_TREES: readonly string[] = [
  "/proc",
  "/sys",
  "/boot",
  "/root",
  "/home",
  "/etc/kubernetes",
  "/etc/ssh",
  "/etc/shadow",
  "/etc/gshadow",
  "/etc/passwd",
  "/etc/group",
  "/etc/sudoers",
  "/etc/sudoers.d",
  "/etc/crontab",
  "/etc/cron.d",
  "/etc/systemd",
  "/var/lib/kubelet",
  "/var/lib/etcd",
  "/var/lib/docker",
  "/var/lib/containerd",
  "/var/lib/containers",
  "/var/lib/cni",
];

/** Host trees that are sensitive when mounted writable. */
const WRITE_SENSITIVE_TREES: readonly string[] = ["/var/log"];

/** Pods must not mount the host's system, credential or Kubernetes directories. */
export const sensitiveHostPath: Rule = podRule(
  {
    id: "sensitive-host-path",
    title: "Sensitive host path is mounted",
    severity: "high",
    description:
      "Mounting the host's root, system directories, /proc, /sys, the kubelet's or etcd's state, or credential files gives a " +
      "container the node's secrets and ways to change the node: read kubelet and cluster certificates, edit cron or systemd " +
      "units, or write through /proc and /sys to run code on the host.",
    remediation:
      "Remove the hostPath volume, or narrow it to the one file or directory the workload needs and mount it readOnly.",
    frameworks: {
      cis: ["5.2.12"],
      nsa: ["Kubernetes Pod security"],
      nist: ["4.5.5", "4.4.3"],
      mitre: ["T1611"],
    },
    profiles: ["hardening"],
  },
  (template) =>
    hostPathVolumes(template).flatMap((volume) => {
      const path = volume.hostPath;
      if (runtimeSocketKind(path) !== undefined) return [];
      if (SENSITIVE_HOST_DIRS.includes(path) || SENSITIVE_HOST_TREES.some((tree) => isUnder(path, tree))) {
        return [
          {
            path: volume.path,
            message: `volume "${volume.name}" mounts sensitive host path "${volume.raw}"`,
          },
        ];
      }
      if (WRITE_SENSITIVE_TREES.some((tree) => isUnder(path, tree))) {
        const writers = containersOf(template)
          .filter((ref) =>
            asArray(ref.container.volumeMounts).some(
              (mount) => isObject(mount) && mount.name === volume.name && mount.readOnly !== true,
            ),
          )
          .map((ref) => ref.container.name ?? `#${ref.index}`);
        if (writers.length === 0) return [];
        return [
          {
            path: volume.path,
            message: `volume "${volume.name}" mounts host path "${volume.raw}" writable into containers ${writers.map((w) => `"${w}"`).join(", ")}`,
          },
        ];
      }
      return [];
    }),
);
