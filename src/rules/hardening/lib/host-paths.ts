/**
 * hostPath volumes of a pod template with normalised paths, for the host mount rules.
 */

import type { FieldPath } from "../../../resources/path.ts";
import type { PodTemplate } from "../../../resources/pod-spec.ts";
import { asArray, isObject } from "./objects.ts";

/** A hostPath volume: its name, normalised host path and the path of `hostPath.path`. */
export interface HostPathVolume {
  name: string;
  /** Absolute, without `.`/`..` segments, duplicate or trailing slashes. */
  hostPath: string;
  /** The path as written. */
  raw: string;
  path: FieldPath;
}

/**
 * Normalise a host path the way the kubelet resolves it before mounting (`//var/run/./docker.sock/`
 * is `/var/run/docker.sock`); `..` cannot climb above `/`.
 */
export function normalizeHostPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** The hostPath volumes of a template that name a string path. Never throws. */
export function hostPathVolumes(template: PodTemplate): HostPathVolume[] {
  const volumes: HostPathVolume[] = [];
  asArray((template.spec as unknown as Record<string, unknown>).volumes).forEach((volume, index) => {
    if (!isObject(volume) || !isObject(volume.hostPath)) return;
    const raw = volume.hostPath.path;
    if (typeof raw !== "string" || raw === "") return;
    volumes.push({
      name: typeof volume.name === "string" ? volume.name : `#${index}`,
      hostPath: normalizeHostPath(raw),
      raw,
      path: [...template.specPath, "volumes", index, "hostPath", "path"],
    });
  });
  return volumes;
}

/** Whether `path` is `dir` or inside it (both normalised). */
export function isUnder(path: string, dir: string): boolean {
  return path === dir || dir === "/" || path.startsWith(`${dir}/`);
}

/** Container runtime API sockets by file name. */
const RUNTIME_SOCKETS: ReadonlyMap<string, string> = new Map([
  ["docker.sock", "the Docker socket"],
  ["dockershim.sock", "the dockershim socket"],
  ["cri-dockerd.sock", "the cri-dockerd socket"],
  ["containerd.sock", "the containerd socket"],
  ["crio.sock", "the CRI-O socket"],
  ["podman.sock", "the Podman socket"],
]);

/** Host directories that hold the runtime sockets (mounting one exposes the sockets in it). */
const RUNTIME_SOCKET_DIRS: readonly string[] = [
  "/run",
  "/var/run",
  "/run/docker",
  "/var/run/docker",
  "/run/containerd",
  "/var/run/containerd",
  "/run/crio",
  "/var/run/crio",
  "/run/podman",
  "/var/run/podman",
  "/run/cri-dockerd",
  "/var/run/cri-dockerd",
];

/**
 * What a (normalised) host path exposes of the container runtime API: "the Docker socket",
 * "a directory holding container runtime sockets", or undefined.
 */
export function runtimeSocketKind(hostPath: string): string | undefined {
  if (RUNTIME_SOCKET_DIRS.includes(hostPath)) return "a directory holding container runtime sockets";
  const base = hostPath.slice(hostPath.lastIndexOf("/") + 1);
  return RUNTIME_SOCKETS.get(base);
}
