/**
 * Version boundaries and value semantics of the PSS rules that upstream's fixtures do not pin
 * down (they test each version with that version's fixtures only), plus exact paths and
 * messages. Fidelity to upstream's fixtures is test/pss-upstream.test.ts.
 */
import { describe, expect, it } from "vitest";
import { makeRuleContext } from "../../engine/context.ts";
import { makeResource } from "../../resources/parse.ts";
import { formatPath } from "../../resources/path.ts";
import type { Rule } from "../rule.ts";
import { PSS_RULES } from "./index.ts";
import { pssRule } from "./shared.ts";

const LATEST = Number.POSITIVE_INFINITY;

function rule(id: string): Rule {
  const found = PSS_RULES.find((r) => r.meta.id === id);
  if (!found) throw new Error(`no rule ${id}`);
  return found;
}

/** `path: message` of each violation of rule `id` on a Pod with `spec` (and `metadata`) at `version`. */
function run(
  id: string,
  spec: Record<string, unknown>,
  version = LATEST,
  metadata: Record<string, unknown> = {},
): string[] {
  const resource = makeResource({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", ...metadata },
    spec,
  });
  return rule(id)
    .check(resource, makeRuleContext([resource], version))
    .map((v) => `${formatPath(v.path)}: ${v.message}`);
}

const app = (securityContext?: unknown, extra: Record<string, unknown> = {}) => ({
  name: "app",
  image: "registry.example.com/app:1",
  ...(securityContext === undefined ? {} : { securityContext }),
  ...extra,
});

describe("when each check starts to apply", () => {
  const firstVersion: Record<string, number> = {
    "pss-allow-privilege-escalation": 8,
    "pss-seccomp-profile-restricted": 19,
    "pss-capabilities-restricted": 22,
    "pss-run-as-user": 23,
    "pss-host-probes-and-host-lifecycle": 34,
    "pss-proc-mount-restricted": 35,
  };
  for (const r of PSS_RULES) {
    const first = firstVersion[r.meta.id] ?? 0;
    it(`${r.meta.id} applies from v1.${first}`, () => {
      if (first > 0) expect(r.appliesAt?.(first - 1)).toBe(false);
      expect(r.appliesAt?.(first)).toBe(true);
      expect(r.appliesAt?.(LATEST)).toBe(true);
    });
  }

  it("a check that does not apply yet reports nothing even when called", () => {
    const spec = { containers: [app({ runAsUser: 0 })] };
    expect(run("pss-run-as-user", spec, 22)).toEqual([]);
    expect(run("pss-run-as-user", spec, 23)).toHaveLength(1);
  });
});

describe("restricted checks supersede their baseline twins only while upstream overrides them", () => {
  const at = (id: string, version: number) => rule(id).supersedes?.(version) ?? [];
  it("follows upstream's OverrideCheckIDs", () => {
    expect(at("pss-restricted-volumes", 0)).toEqual(["pss-host-path-volumes"]);
    expect(at("pss-seccomp-profile-restricted", 18)).toEqual([]);
    expect(at("pss-seccomp-profile-restricted", 19)).toEqual(["pss-seccomp-profile-baseline"]);
    expect(at("pss-capabilities-restricted", 21)).toEqual([]);
    expect(at("pss-capabilities-restricted", LATEST)).toEqual(["pss-capabilities-baseline"]);
    expect(at("pss-proc-mount-restricted", 34)).toEqual([]);
    expect(at("pss-proc-mount-restricted", 35)).toEqual(["pss-proc-mount"]);
    for (const r of PSS_RULES.filter((r) => r.meta.frameworks.pss?.level === "baseline"))
      expect(at(r.meta.id, LATEST)).toEqual([]);
  });
});

describe("version-dependent behaviour", () => {
  it.each([
    ["net.ipv4.ip_local_reserved_ports", 27],
    ["net.ipv4.tcp_keepalive_time", 29],
    ["net.ipv4.tcp_fin_timeout", 29],
    ["net.ipv4.tcp_keepalive_intvl", 29],
    ["net.ipv4.tcp_keepalive_probes", 29],
    ["net.ipv4.tcp_rmem", 32],
    ["net.ipv4.tcp_wmem", 32],
    ["net.ipv4.tcp_slow_start_after_idle", 37],
    ["net.ipv4.tcp_notsent_lowat", 37],
  ])("sysctl %s is allowed from v1.%d", (name, since) => {
    const spec = { securityContext: { sysctls: [{ name, value: "1" }] }, containers: [app()] };
    expect(run("pss-sysctls", spec, since - 1)).toEqual([
      `spec.securityContext.sysctls[0].name: pod must not set sysctl "${name}"`,
    ]);
    expect(run("pss-sysctls", spec, since)).toEqual([]);
    expect(run("pss-sysctls", spec, LATEST)).toEqual([]);
  });

  it("allows SELinux type container_engine_t from v1.31", () => {
    const spec = { containers: [app({ seLinuxOptions: { type: "container_engine_t" } })] };
    expect(run("pss-se-linux-options", spec, 30)).toEqual([
      'spec.containers[0].securityContext.seLinuxOptions.type: container "app" must not set securityContext.seLinuxOptions.type="container_engine_t"',
    ]);
    expect(run("pss-se-linux-options", spec, 31)).toEqual([]);
  });

  it.each([
    ["pss-allow-privilege-escalation", { containers: [app()] }],
    ["pss-capabilities-restricted", { containers: [app({ capabilities: { add: ["SYS_ADMIN"] } })] }],
    ["pss-seccomp-profile-restricted", { containers: [app()] }],
  ])("%s exempts Windows pods from v1.25", (id, spec) => {
    const windows = { ...spec, os: { name: "windows" } };
    expect(run(id, windows, 24).length).toBeGreaterThan(0);
    expect(run(id, windows, 25)).toEqual([]);
    expect(run(id, { ...spec, os: { name: "linux" } }, 25).length).toBeGreaterThan(0);
    // Only the exact value "windows" counts.
    expect(run(id, { ...spec, os: { name: "Windows" } }, 25).length).toBeGreaterThan(0);
  });

  it.each([
    ["pss-run-as-non-root", { containers: [app()] }],
    ["pss-run-as-user", { containers: [app({ runAsUser: 0 })] }],
    ["pss-proc-mount", { containers: [app({ procMount: "Unmasked" })] }],
  ])("%s relaxes for user-namespace pods from v1.35", (id, spec) => {
    const userNamespace = { ...spec, hostUsers: false };
    expect(run(id, userNamespace, 34).length).toBeGreaterThan(0);
    expect(run(id, userNamespace, 35)).toEqual([]);
    expect(run(id, { ...spec, hostUsers: true }, 35).length).toBeGreaterThan(0);
  });

  it("procMount_restricted does not relax for user-namespace pods", () => {
    const spec = { hostUsers: false, containers: [app({ procMount: "Unmasked" })] };
    expect(run("pss-proc-mount-restricted", spec, LATEST)).toEqual([
      'spec.containers[0].securityContext.procMount: container "app" must not set securityContext.procMount="Unmasked"',
    ]);
  });

  it("seccomp baseline reads the alpha annotations before v1.19 and the fields from v1.19", () => {
    const annotated = { annotations: { "seccomp.security.alpha.kubernetes.io/pod": "unconfined" } };
    const unconfinedField = {
      securityContext: { seccompProfile: { type: "Unconfined" } },
      containers: [app()],
    };
    expect(run("pss-seccomp-profile-baseline", { containers: [app()] }, 18, annotated)).toEqual([
      'metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"]: pod must not set annotation seccomp.security.alpha.kubernetes.io/pod="unconfined"',
    ]);
    expect(run("pss-seccomp-profile-baseline", { containers: [app()] }, 19, annotated)).toEqual([]);
    expect(run("pss-seccomp-profile-baseline", unconfinedField, 18)).toEqual([]);
    expect(run("pss-seccomp-profile-baseline", unconfinedField, 19)).toEqual([
      'spec.securityContext.seccompProfile.type: pod must not set securityContext.seccompProfile.type="Unconfined"',
    ]);
  });

  it("seccomp annotations: docker/default and localhost/* are allowed, an empty value is not", () => {
    const at18 = (annotations: Record<string, unknown>) =>
      run("pss-seccomp-profile-baseline", { containers: [app()] }, 18, { annotations });
    expect(at18({ "seccomp.security.alpha.kubernetes.io/pod": "docker/default" })).toEqual([]);
    expect(at18({ "container.seccomp.security.alpha.kubernetes.io/app": "localhost/p.json" })).toEqual([]);
    expect(at18({ "container.seccomp.security.alpha.kubernetes.io/app": "" })).toHaveLength(1);
    // Only annotations naming a container of the pod are read.
    expect(at18({ "container.seccomp.security.alpha.kubernetes.io/other": "unconfined" })).toEqual([]);
  });
});

describe("what counts as set (Go's nil, zero and false)", () => {
  it("null is unset: privileged, hostPath, seccompProfile, appArmorProfile, seLinuxOptions, procMount", () => {
    expect(run("pss-privileged", { containers: [app({ privileged: null })] })).toEqual([]);
    expect(
      run("pss-host-path-volumes", { containers: [app()], volumes: [{ name: "v", hostPath: null }] }),
    ).toEqual([]);
    expect(run("pss-seccomp-profile-baseline", { containers: [app({ seccompProfile: null })] })).toEqual([]);
    expect(
      run("pss-app-armor-profile", { securityContext: { appArmorProfile: null }, containers: [app()] }),
    ).toEqual([]);
    expect(run("pss-se-linux-options", { containers: [app({ seLinuxOptions: null })] })).toEqual([]);
    expect(run("pss-proc-mount", { containers: [app({ procMount: null })] })).toEqual([]);
  });

  it("a set profile without a type is forbidden, a set seLinuxOptions without fields is not", () => {
    expect(run("pss-seccomp-profile-baseline", { containers: [app({ seccompProfile: {} })] })).toEqual([
      'spec.containers[0].securityContext.seccompProfile.type: container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
    ]);
    expect(
      run("pss-app-armor-profile", { securityContext: { appArmorProfile: {} }, containers: [app()] }),
    ).toHaveLength(1);
    expect(run("pss-se-linux-options", { containers: [app({ seLinuxOptions: {} })] })).toEqual([]);
    expect(run("pss-proc-mount", { containers: [app({ procMount: "" })] })).toHaveLength(1);
  });

  it("hostPort 0 and empty probe hosts are allowed", () => {
    expect(
      run("pss-host-ports", {
        containers: [app(undefined, { ports: [{ containerPort: 80, hostPort: 0 }] })],
      }),
    ).toEqual([]);
    const probe = { httpGet: { host: "", port: 80 } };
    expect(
      run("pss-host-probes-and-host-lifecycle", { containers: [app(undefined, { livenessProbe: probe })] }),
    ).toEqual([]);
  });

  it("AppArmor annotations: empty, runtime/default and localhost/* are allowed, for any suffix", () => {
    const run0 = (annotations: Record<string, unknown>) =>
      run("pss-app-armor-profile", { containers: [app()] }, LATEST, { annotations });
    expect(run0({ "container.apparmor.security.beta.kubernetes.io/app": "" })).toEqual([]);
    expect(run0({ "container.apparmor.security.beta.kubernetes.io/app": "localhost/x" })).toEqual([]);
    expect(run0({ "container.apparmor.security.beta.kubernetes.io/nosuch": "unconfined" })).toHaveLength(1);
  });

  it("allowPrivilegeEscalation must be exactly false", () => {
    for (const value of [undefined, null, true]) {
      expect(
        run("pss-allow-privilege-escalation", { containers: [app({ allowPrivilegeEscalation: value })] }),
      ).toEqual([
        'spec.containers[0].securityContext.allowPrivilegeEscalation: container "app" must set securityContext.allowPrivilegeEscalation=false',
      ]);
    }
  });

  it("capabilities: names are exact, drop must contain ALL", () => {
    expect(
      run("pss-capabilities-baseline", {
        containers: [app({ capabilities: { add: ["CAP_CHOWN", "chown"] } })],
      }),
    ).toHaveLength(2);
    expect(
      run("pss-capabilities-restricted", { containers: [app({ capabilities: { drop: ["all"] } })] }),
    ).toEqual([
      'spec.containers[0].securityContext.capabilities.drop: container "app" must set securityContext.capabilities.drop=["ALL"]',
    ]);
  });
});

describe("pod-level settings that satisfy container-level requirements", () => {
  const containers = [app(), { ...app(), name: "sidecar" }];

  it("runAsNonRoot: unset everywhere is one violation per container", () => {
    expect(run("pss-run-as-non-root", { containers })).toEqual([
      'spec.containers[0].securityContext.runAsNonRoot: pod or container "app" must set securityContext.runAsNonRoot=true',
      'spec.containers[1].securityContext.runAsNonRoot: pod or container "sidecar" must set securityContext.runAsNonRoot=true',
    ]);
  });

  it("runAsNonRoot: a pod-level false is reported once, at the pod", () => {
    expect(run("pss-run-as-non-root", { securityContext: { runAsNonRoot: false }, containers })).toEqual([
      "spec.securityContext.runAsNonRoot: pod must not set securityContext.runAsNonRoot=false",
    ]);
  });

  it("runAsNonRoot: containers may override a pod-level false, but the pod-level false still fails", () => {
    const ok = app({ runAsNonRoot: true });
    expect(
      run("pss-run-as-non-root", { securityContext: { runAsNonRoot: false }, containers: [ok] }),
    ).toHaveLength(1);
    expect(
      run("pss-run-as-non-root", {
        securityContext: { runAsNonRoot: true },
        containers: [app({ runAsNonRoot: false })],
      }),
    ).toEqual([
      'spec.containers[0].securityContext.runAsNonRoot: container "app" must not set securityContext.runAsNonRoot=false',
    ]);
  });

  it("seccomp restricted: a valid pod-level profile covers containers without one", () => {
    expect(
      run("pss-seccomp-profile-restricted", {
        securityContext: { seccompProfile: { type: "RuntimeDefault" } },
        containers,
      }),
    ).toEqual([]);
    expect(
      run("pss-seccomp-profile-restricted", {
        securityContext: { seccompProfile: { type: "RuntimeDefault" } },
        containers: [app({ seccompProfile: { type: "Unconfined" } })],
      }),
    ).toEqual([
      'spec.containers[0].securityContext.seccompProfile.type: container "app" must not set securityContext.seccompProfile.type="Unconfined"',
    ]);
  });

  it("seccomp restricted: with no pod-level profile, each container without one is reported", () => {
    expect(
      run("pss-seccomp-profile-restricted", {
        containers: [app({ seccompProfile: { type: "Localhost" } }), containers[1]],
      }),
    ).toEqual([
      'spec.containers[1].securityContext.seccompProfile.type: pod or container "sidecar" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
    ]);
  });
});

describe("volumes", () => {
  it("a volume with no source is the API server's default emptyDir and allowed", () => {
    expect(
      run("pss-restricted-volumes", {
        containers: [app()],
        volumes: [{ name: "v" }, { name: "w", emptyDir: null }],
      }),
    ).toEqual([]);
  });

  it("an allowed source wins over a restricted one in the same volume, as upstream", () => {
    expect(
      run("pss-restricted-volumes", {
        containers: [app()],
        volumes: [{ name: "v", emptyDir: {}, nfs: { server: "s" } }],
      }),
    ).toEqual([]);
  });

  it("reports the first restricted type in upstream's order, and unknown source keys", () => {
    expect(
      run("pss-restricted-volumes", {
        containers: [app()],
        volumes: [{ name: "v", nfs: {}, hostPath: { path: "/" } }],
      }),
    ).toEqual(['spec.volumes[0].hostPath: volume "v" uses restricted volume type "hostPath"']);
    expect(
      run("pss-restricted-volumes", { containers: [app()], volumes: [{ name: "v", futureVolume: {} }] }),
    ).toEqual(['spec.volumes[0].futureVolume: volume "v" uses unknown volume type "futureVolume"']);
  });
});

describe("containers of every kind are visited", () => {
  it("init, regular and ephemeral containers, in that order", () => {
    const spec = {
      initContainers: [{ ...app({ privileged: true }), name: "init" }],
      containers: [app({ privileged: true })],
      ephemeralContainers: [{ ...app({ privileged: true }), name: "debug" }],
    };
    expect(run("pss-privileged", spec)).toEqual([
      'spec.initContainers[0].securityContext.privileged: init container "init" must not set securityContext.privileged=true',
      'spec.containers[0].securityContext.privileged: container "app" must not set securityContext.privileged=true',
      'spec.ephemeralContainers[0].securityContext.privileged: ephemeral container "debug" must not set securityContext.privileged=true',
    ]);
  });

  it("never throws on malformed specs", () => {
    const garbage = [
      { containers: "nope", volumes: 3, securityContext: [] },
      { containers: [null, 1, "x", { securityContext: "y", ports: "z" }], volumes: [null, "v"] },
      {
        securityContext: { sysctls: [null, 1] },
        containers: [{ lifecycle: { preStop: 1 }, securityContext: { capabilities: { add: [1, null] } } }],
      },
    ];
    for (const spec of garbage) {
      for (const r of PSS_RULES) expect(() => run(r.meta.id, spec)).not.toThrow();
    }
  });
});

describe("pssRule", () => {
  const base = {
    id: "x",
    title: "x",
    severity: "low" as const,
    description: "x",
    remediation: "Do x.",
    check: "x",
    frameworks: {},
  };
  it("rejects versions that are not strictly increasing", () => {
    expect(() =>
      pssRule({
        ...base,
        level: "baseline",
        versions: [
          { since: 5, check: () => [] },
          { since: 5, check: () => [] },
        ],
      }),
    ).toThrow(/strictly increasing/);
    expect(() => pssRule({ ...base, level: "baseline", versions: [] })).toThrow(/no versions/);
  });

  it("rejects overrides on a baseline check", () => {
    expect(() =>
      pssRule({ ...base, level: "baseline", versions: [{ since: 0, check: () => [], overrides: ["y"] }] }),
    ).toThrow(/only restricted/);
  });
});
