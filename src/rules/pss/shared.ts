/**
 * What every Pod Security Standards rule shares. As in upstream pod-security-admission, a
 * check is data (upstream id, level, versions) plus pure versioned functions: a behaviour
 * change is a new entry in `versions`, never an edit of an old one.
 *
 * Field values are read from the raw object the way the API server's Go decoder would see
 * them: a missing key and an explicit `null` both mean "unset" (a nil pointer), so
 * `privileged: null` is allowed while `appArmorProfile: {}` is a set profile with an empty
 * type.
 */
import type { FrameworkRefs, PssLevel } from "../../findings/finding.ts";
import { type FieldPath, getPath } from "../../resources/path.ts";
import type { ContainerRef, PodTemplate } from "../../resources/pod-spec.ts";
import { containerLabel, containersOf, type PodCheck, podRule } from "../pod-rule.ts";
import type { PssVersion, Rule, RuleMeta, Violation } from "../rule.ts";

/** One behaviour of a check, in force from `since` until the next entry's `since`. */
export interface PssVersionedCheck {
  /** First PSS minor version (`v1.N` is N) this behaviour applies to. */
  since: number;
  check: PodCheck;
  /** Ids of baseline rules this restricted behaviour replaces while it is in force. */
  overrides?: readonly string[];
}

/** Everything a PSS rule file declares; level and upstream id also yield profiles and `frameworks.pss`. */
export interface PssRuleSpec extends Omit<RuleMeta, "frameworks" | "profiles" | "status"> {
  level: PssLevel;
  /** The upstream check id, exactly (e.g. `capabilities_baseline`). */
  check: string;
  /** Framework references other than PSS. */
  frameworks: Omit<FrameworkRefs, "pss">;
  /** Behaviours by version, strictly increasing `since`; the first one's `since` is when the check appears. */
  versions: readonly PssVersionedCheck[];
}

/**
 * Build a PSS rule: the check in force at `context.pssVersion` is the entry with the
 * greatest `since` not above it; before the first entry the rule does not apply. Throws
 * (a programmer error, at module load) when `versions` is empty or not strictly increasing,
 * or when a baseline check declares overrides.
 */
export function pssRule(spec: PssRuleSpec): Rule {
  const { level, check, frameworks, versions, ...rest } = spec;
  if (versions.length === 0) throw new Error(`${spec.id}: no versions`);
  versions.forEach((entry, index) => {
    const previous = versions[index - 1];
    if (!Number.isInteger(entry.since) || entry.since < 0) {
      throw new Error(`${spec.id}: invalid version ${entry.since}`);
    }
    if (previous && entry.since <= previous.since) {
      throw new Error(`${spec.id}: versions must be strictly increasing`);
    }
    if (level !== "restricted" && entry.overrides?.length) {
      throw new Error(`${spec.id}: only restricted checks override`);
    }
  });
  const meta: RuleMeta = {
    ...rest,
    frameworks: { pss: { level, check }, ...frameworks },
    profiles: level === "baseline" ? ["pss-baseline", "pss-restricted"] : ["pss-restricted"],
  };
  const inForce = (version: PssVersion): PssVersionedCheck | undefined =>
    versions.findLast((entry) => entry.since <= version);
  return podRule(
    meta,
    (template, context, resource) => inForce(context.pssVersion)?.check(template, context, resource) ?? [],
    {
      appliesAt: (version) => inForce(version) !== undefined,
      supersedes: (version) => inForce(version)?.overrides ?? [],
    },
  );
}

/** True when the Go decoder would see a non-nil pointer: the key is present and not null. */
export function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** A string field as Go reads it: unset (or not a string) is the empty string. */
export function stringValue(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** A list field as an array; anything else is an empty list. */
export function listValue(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A map field as a record; anything else is an empty map. */
export function mapValue(value: unknown): Readonly<Record<string, unknown>> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** Path of the pod-level `securityContext` (or a field under it). */
export function podSecurityContextPath(
  template: PodTemplate,
  ...rest: readonly (string | number)[]
): FieldPath {
  return [...template.specPath, "securityContext", ...rest];
}

/** Path of a container's `securityContext` (or a field under it). */
export function containerSecurityContextPath(
  ref: ContainerRef,
  ...rest: readonly (string | number)[]
): FieldPath {
  return [...ref.path, "securityContext", ...rest];
}

/** The value at `path` under the pod spec. */
export function podField(template: PodTemplate, path: FieldPath): unknown {
  return getPath(template.spec, path);
}

/** The value at `path` under a container. */
export function containerField(ref: ContainerRef, path: FieldPath): unknown {
  return getPath(ref.container, path);
}

/** True when the pod declares `spec.os.name: windows` (exempts it from some restricted checks from v1.25). */
export function isWindowsPod(template: PodTemplate): boolean {
  return podField(template, ["os", "name"]) === "windows";
}

/** True when the pod runs in a user namespace (`spec.hostUsers: false`), which relaxes some checks from v1.35. */
export function inUserNamespace(template: PodTemplate): boolean {
  return podField(template, ["hostUsers"]) === false;
}

/** Render a scalar for a message: strings quoted, others as JSON. */
export function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** `"A" or "B"` / `"A", "B" or "C"`: allowed values for a message. */
export function orList(values: readonly string[]): string {
  const quoted = values.map((value) => show(value));
  return quoted.length <= 1 ? (quoted[0] ?? "") : `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}`;
}

/**
 * Violations of pods and containers that explicitly set a profile (`seccompProfile` or
 * `appArmorProfile` under `securityContext`, non-null) whose `type` is not in `allowed`. A
 * set profile without a type has the empty type, which is never allowed. Pod first, then
 * containers in order.
 */
export function badProfileTypes(
  template: PodTemplate,
  containers: readonly ContainerRef[],
  field: "seccompProfile" | "appArmorProfile",
  allowed: readonly string[],
): Violation[] {
  const violations: Violation[] = [];
  const judge = (owner: string, profile: unknown, path: FieldPath): void => {
    if (!isSet(profile)) return;
    const type = stringValue(mapValue(profile).type);
    if (allowed.includes(type)) return;
    violations.push({
      path,
      message:
        type === ""
          ? `${owner} must set securityContext.${field}.type to ${orList(allowed)}`
          : `${owner} must not set securityContext.${field}.type=${show(type)}`,
    });
  };
  judge(
    "pod",
    podField(template, ["securityContext", field]),
    podSecurityContextPath(template, field, "type"),
  );
  for (const ref of containers) {
    judge(
      containerLabel(ref),
      containerField(ref, ["securityContext", field]),
      containerSecurityContextPath(ref, field, "type"),
    );
  }
  return violations;
}

/**
 * Containers that set `securityContext.procMount` (not null) to anything but `Default`, one
 * violation each. Shared by the baseline and restricted procMount checks.
 */
export function nonDefaultProcMounts(template: PodTemplate): Violation[] {
  const violations: Violation[] = [];
  for (const ref of containersOf(template)) {
    const procMount = containerField(ref, ["securityContext", "procMount"]);
    if (!isSet(procMount) || procMount === "Default") continue;
    violations.push({
      path: containerSecurityContextPath(ref, "procMount"),
      message: `${containerLabel(ref)} must not set securityContext.procMount=${show(procMount)}`,
    });
  }
  return violations;
}
