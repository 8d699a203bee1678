/**
 * docker-socket-mount
 *
 * Field: `spec.volumes[*].hostPath.path` of every pod template, normalised (`//var/run/./x/`
 * is `/var/run/x`).
 * Disallowed values: a container runtime API socket (a file named docker.sock,
 * dockershim.sock, cri-dockerd.sock, containerd.sock, crio.sock or podman.sock, in any
 * directory) and the directories that hold them (/run, /var/run and their docker,
 * containerd, crio, podman and cri-dockerd subdirectories). Other host paths are
 * `sensitive-host-path`; hostPath volumes in general are the Pod Security Standards' concern.
 */
import { podRule } from "../pod-rule.ts";
import type { Rule } from "../rule.ts";
import { hostPathVolumes, runtimeSocketKind } from "./lib/host-paths.ts";

/** Pods must not mount the container runtime's socket. */
export const dockerSocketMount: Rule = podRule(
  {
    id: "docker-socket-mount",
    title: "Container runtime socket is mounted",
    severity: "critical",
    description:
      "The container runtime's socket (Docker, containerd, CRI-O, Podman) is an unauthenticated root API on the node: a " +
      "container that can reach it can start a privileged container with the host filesystem mounted, read every other " +
      "container's secrets and take over the node. Build and monitoring tools that ask for it have safer alternatives.",
    remediation:
      "Remove the hostPath volume that exposes the runtime socket and use a rootless build tool or the Kubernetes API instead.",
    frameworks: {
      cis: ["5.2.12"],
      nsa: ["Kubernetes Pod security"],
      nist: ["4.4.3", "4.5.5"],
      mitre: ["T1611", "T1610"],
    },
    profiles: ["hardening"],
  },
  (template) =>
    hostPathVolumes(template).flatMap((volume) => {
      const kind = runtimeSocketKind(volume.hostPath);
      if (kind === undefined) return [];
      return [
        { path: volume.path, message: `volume "${volume.name}" mounts host path "${volume.raw}", ${kind}` },
      ];
    }),
);
