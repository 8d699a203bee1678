import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../resources/types.ts";
import {
  BUILTIN_KINDS,
  guessResource,
  kindResolverFromCRDs,
  requestForObject,
  resolveKind,
} from "./request.ts";
import { fixtureFromText } from "./test-helpers.ts";

const fixtureResources = (name: string) =>
  fixtureFromText(name, readFileSync(new URL(`../../../test/fixtures/vap/${name}`, import.meta.url), "utf8"));
const fixtureObjects = (name: string) => fixtureResources(name).map((r) => r.object);

describe("requestForObject: every built-in kind", () => {
  const rows = Object.entries(BUILTIN_KINDS).flatMap(([group, kinds]) =>
    Object.entries(kinds).map(([kind, info]) => [group, kind, info.resource, info.clusterScoped] as const),
  );
  it.each(rows)("%s %s → %s (cluster-scoped: %s)", (group, kind, resource, clusterScoped) => {
    const object: KubeObject = {
      apiVersion: group === "" ? "v1" : `${group}/v1`,
      kind,
      metadata: { name: "x", namespace: "team-a" },
    };
    const request = requestForObject(object, "CREATE");
    expect(request.resource).toEqual({ group, version: "v1", resource, subresource: "" });
    expect(request.kind).toEqual({ group, version: "v1", kind });
    const expectedNamespace = group === "" && kind === "Namespace" ? "x" : clusterScoped ? "" : "team-a";
    expect(request.namespace).toBe(expectedNamespace);
  });

  it("spells the irregular plurals right", () => {
    const plural = (group: string, kind: string) => BUILTIN_KINDS[group]?.[kind]?.resource;
    expect(plural("networking.k8s.io", "Ingress")).toBe("ingresses");
    expect(plural("networking.k8s.io", "NetworkPolicy")).toBe("networkpolicies");
    expect(plural("", "Endpoints")).toBe("endpoints");
    expect(plural("storage.k8s.io", "CSIStorageCapacity")).toBe("csistoragecapacities");
    expect(plural("policy", "PodSecurityPolicy")).toBe("podsecuritypolicies");
  });
});

describe("requestForObject: operations, names and namespaces", () => {
  const pod: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "web" } };

  it("CREATE has the object only; a namespaced object without namespace lands in default", () => {
    const r = requestForObject(pod, "CREATE");
    expect(r).toMatchObject({
      operation: "CREATE",
      name: "web",
      namespace: "default",
      object: pod,
      oldObject: null,
    });
    expect(requestForObject(pod, "CREATE", { defaultNamespace: "ci" }).namespace).toBe("ci");
  });

  it("UPDATE has both (old defaults to the object), DELETE only the old object", () => {
    const old = { ...pod, metadata: { name: "web", labels: { v: "1" } } };
    expect(requestForObject(pod, "UPDATE")).toMatchObject({ object: pod, oldObject: pod });
    expect(requestForObject(pod, "UPDATE", { oldObject: old })).toMatchObject({
      object: pod,
      oldObject: old,
    });
    expect(requestForObject(pod, "DELETE")).toMatchObject({ object: null, oldObject: pod });
  });

  it("carries the subresource and the namespace object", () => {
    const ns: KubeObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: "default" } };
    const r = requestForObject(pod, "CONNECT", { subresource: "exec", namespaceObject: ns });
    expect(r.resource.subresource).toBe("exec");
    expect(r.namespaceObject).toBe(ns);
  });

  it("a generated name is empty", () => {
    expect(
      requestForObject({ apiVersion: "v1", kind: "Pod", metadata: { generateName: "x-" } }, "CREATE").name,
    ).toBe("");
  });
});

describe("kinds the table does not know", () => {
  it("guesses plurals like kubectl's UnsafeGuessKindToResource", () => {
    expect(guessResource("Widget")).toBe("widgets");
    expect(guessResource("Policy")).toBe("policies");
    expect(guessResource("Ingress")).toBe("ingresses");
    expect(guessResource("Status")).toBe("statuses");
    expect(guessResource("MyEndpoints")).toBe("myendpoints");
    expect(guessResource("")).toBe("");
  });

  it("uses CRDs for resource name and scope", () => {
    const resolver = kindResolverFromCRDs(fixtureObjects("replica-limit.yaml"));
    expect(
      resolveKind({ group: "rules.example.com", version: "v1", kind: "ReplicaLimit" }, resolver),
    ).toEqual({
      resource: "replicalimits",
      clusterScoped: false,
    });
    expect(resolveKind({ group: "other.example.com", version: "v1", kind: "Gadget" }, resolver)).toEqual({
      resource: "gadgets",
      clusterScoped: false,
    });
    const cluster: KubeObject = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      spec: { group: "x.io", scope: "Cluster", names: { kind: "Thing", plural: "thingz" } },
    };
    const r = requestForObject(
      { apiVersion: "x.io/v1", kind: "Thing", metadata: { name: "t", namespace: "ignored" } },
      "CREATE",
      { resolveKind: kindResolverFromCRDs([cluster]) },
    );
    expect(r.resource.resource).toBe("thingz");
    expect(r.namespace).toBe("");
  });
});
