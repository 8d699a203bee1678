/**
 * PSS restricted `restrictedVolumes` (v1.0 on; replaces `hostPathVolumes` at restricted
 * level at every version, because it forbids hostPath too).
 *
 * Field: each entry of `spec.volumes`. Allowed: volumes with a `configMap`, `csi`,
 * `downwardAPI`, `emptyDir`, `ephemeral`, `image`, `persistentVolumeClaim`, `projected` or
 * `secret` source (set, not null). A volume with no source at all is allowed too: the API
 * server defaults it to an `emptyDir` before admission sees it.
 * Every other volume is a violation, reported at its source: `hostPath`,
 * `gcePersistentDisk`, `awsElasticBlockStore`, `gitRepo`, `nfs`, `iscsi`, `glusterfs`, `rbd`,
 * `flexVolume`, `cinder`, `cephfs`, `flocker`, `fc`, `azureFile`, `vsphereVolume`, `quobyte`,
 * `azureDisk`, `photonPersistentDisk`, `portworxVolume`, `scaleIO`, `storageos`, and any key
 * belay does not know (reported as an unknown type, like upstream's fallback).
 * A volume with an allowed source is allowed even if it also names a restricted one (the API
 * server rejects such a volume anyway).
 */
import type { PodTemplate } from "../../resources/pod-spec.ts";
import type { Violation } from "../rule.ts";
import { isSet, listValue, mapValue, podField, pssRule, show } from "./shared.ts";

const ALLOWED = [
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "image",
  "persistentVolumeClaim",
  "projected",
  "secret",
];
// In upstream's order, which decides the type named when a volume sets several.
const RESTRICTED = [
  "hostPath",
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "gitRepo",
  "nfs",
  "iscsi",
  "glusterfs",
  "rbd",
  "flexVolume",
  "cinder",
  "cephfs",
  "flocker",
  "fc",
  "azureFile",
  "vsphereVolume",
  "quobyte",
  "azureDisk",
  "photonPersistentDisk",
  "portworxVolume",
  "scaleIO",
  "storageos",
];

function restrictedVolumes(template: PodTemplate): Violation[] {
  const violations: Violation[] = [];
  listValue(podField(template, ["volumes"])).forEach((item, index) => {
    const volume = mapValue(item);
    const sources = Object.keys(volume).filter((key) => key !== "name" && isSet(volume[key]));
    if (sources.length === 0 || sources.some((key) => ALLOWED.includes(key))) return;
    const known = RESTRICTED.find((key) => sources.includes(key));
    const source = known ?? [...sources].sort()[0];
    if (source === undefined) return;
    const name = show(volume.name ?? `#${index}`);
    violations.push({
      path: [...template.specPath, "volumes", index, source],
      message: known
        ? `volume ${name} uses restricted volume type ${show(source)}`
        : `volume ${name} uses unknown volume type ${show(source)}`,
    });
  });
  return violations;
}

/** Pods may only use the volume types that cannot reach the node or external storage directly. */
export const pssRestrictedVolumes = pssRule({
  id: "pss-restricted-volumes",
  title: "Restricted volume type",
  severity: "medium",
  description:
    "Pod Security restricted allows only volume types that are ephemeral, projected from the API or provisioned through a PersistentVolumeClaim or CSI; inline network and node volumes (hostPath, nfs, iscsi, rbd and others) bypass storage access control. Other types are forbidden.",
  remediation:
    "Replace the volume with a configMap, secret, projected, downwardAPI, emptyDir, ephemeral, csi, image or persistentVolumeClaim volume.",
  level: "restricted",
  check: "restrictedVolumes",
  frameworks: { cis: ["5.2.12"], nsa: ["Kubernetes Pod security"], nist: ["4.4.3", "4.5.5"] },
  versions: [{ since: 0, check: restrictedVolumes, overrides: ["pss-host-path-volumes"] }],
});
