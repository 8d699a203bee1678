/**
 * PSS baseline `hostPathVolumes` (all versions, v1.0 on). At restricted level it is replaced
 * by `restrictedVolumes`, which forbids hostPath along with every other non-allowed type.
 *
 * A hostPath volume mounts a file or directory of the node into the pod.
 *
 * Field: `spec.volumes[*].hostPath`. Allowed: unset or null; any other value (even `{}`)
 * is a violation.
 */
import type { Violation } from "../rule.ts";
import { isSet, listValue, mapValue, podField, pssRule, show } from "./shared.ts";

/** Pods must not mount hostPath volumes. */
export const pssHostPathVolumes = pssRule({
  id: "pss-host-path-volumes",
  title: "hostPath volume",
  severity: "high",
  description:
    "A hostPath volume exposes the node's file system to the pod: the container runtime socket, kubelet credentials or /etc can be read or written, which is a direct path to the node. Pod Security baseline forbids hostPath volumes.",
  remediation:
    "Replace the hostPath volume with an emptyDir, configMap, secret, projected or persistentVolumeClaim volume.",
  level: "baseline",
  check: "hostPathVolumes",
  frameworks: {
    cis: ["5.2.12"],
    nsa: ["Kubernetes Pod security"],
    nist: ["4.5.5", "4.4.3"],
    mitre: ["T1611"],
  },
  versions: [
    {
      since: 0,
      check: (template) => {
        const violations: Violation[] = [];
        listValue(podField(template, ["volumes"])).forEach((item, index) => {
          const volume = mapValue(item);
          if (!isSet(volume.hostPath)) return;
          const hostPath = mapValue(volume.hostPath).path;
          violations.push({
            path: [...template.specPath, "volumes", index, "hostPath"],
            message:
              typeof hostPath === "string"
                ? `volume ${show(volume.name ?? `#${index}`)} uses hostPath ${show(hostPath)}`
                : `volume ${show(volume.name ?? `#${index}`)} uses hostPath`,
          });
        });
        return violations;
      },
    },
  ],
});
