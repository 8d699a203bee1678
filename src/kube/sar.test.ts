/**
 * The SubjectAccessReview authorizer's request shape and failure handling. Its answers are
 * compared with the real API server in test/cluster/vap-authz-fidelity.test.ts; the client
 * here is a stub only to produce failures a healthy API server does not (500, timeouts).
 */
import { describe, expect, it } from "vitest";
import type { AuthzAttributes } from "../cel/index.ts";
import { appError, err, ok } from "../result.ts";
import type { KubeClient, KubeResponse } from "./client.ts";
import { decisionFromReview, makeSarAuthorizer, subjectAccessReview } from "./sar.ts";

const user = { name: "alice", groups: ["dev", "system:authenticated"], uid: "1", extra: { scope: ["a"] } };

describe("subjectAccessReview", () => {
  it("builds resource attributes as the CEL library does (API version *)", () => {
    const attrs: AuthzAttributes = {
      user,
      verb: "list",
      group: "apps",
      resource: "deployments",
      subresource: "scale",
      namespace: "shop",
      labelSelector: "app=web",
    };
    expect(subjectAccessReview(attrs)).toEqual({
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: {
        user: "alice",
        groups: ["dev", "system:authenticated"],
        uid: "1",
        extra: { scope: ["a"] },
        resourceAttributes: {
          namespace: "shop",
          verb: "list",
          group: "apps",
          version: "*",
          resource: "deployments",
          subresource: "scale",
          name: "",
          labelSelector: { rawSelector: "app=web" },
        },
      },
    });
  });

  it("builds non-resource attributes for path checks", () => {
    expect(subjectAccessReview({ user: { name: "u", groups: [] }, verb: "get", path: "/healthz" })).toEqual({
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: { user: "u", groups: [], nonResourceAttributes: { path: "/healthz", verb: "get" } },
    });
  });

  it("reads allowed, denied, reason and evaluationError from the status", () => {
    expect(decisionFromReview({ status: { allowed: true, reason: "RBAC: allowed by x" } })).toEqual({
      decision: "allow",
      reason: "RBAC: allowed by x",
    });
    expect(decisionFromReview({ status: { allowed: false, denied: true, reason: "no" } })).toEqual({
      decision: "deny",
      reason: "no",
    });
    expect(decisionFromReview({ status: { allowed: false, evaluationError: "boom" } })).toEqual({
      decision: "no-opinion",
      reason: "",
      error: "boom",
    });
  });
});

function stubClient(
  answer: (body: unknown) => Promise<KubeResponse | "fail" | "hang">,
): KubeClient & { calls: number } {
  const client = {
    context: "test",
    server: "https://127.0.0.1:1",
    calls: 0,
    async send(_method: string, _path: string, body?: unknown) {
      client.calls++;
      const r = await answer(body);
      if (r === "hang") return new Promise<never>(() => {});
      if (r === "fail") return err(appError("input", "cannot reach the API server"));
      return ok(r);
    },
    close() {},
  };
  return client;
}

const check: AuthzAttributes = { user, verb: "create", group: "", resource: "pods", namespace: "shop" };

describe("makeSarAuthorizer", () => {
  it("evaluates with reviews fetched on a miss, then from its cache", async () => {
    const client = stubClient(async () => ({
      status: 201,
      body: { status: { allowed: true, reason: "r" } },
    }));
    const sar = makeSarAuthorizer(client);
    const run = () => sar.evaluate((authz) => authz.authorize(check));
    expect(await run()).toEqual({ decision: "allow", reason: "r" });
    expect(await run()).toEqual({ decision: "allow", reason: "r" });
    expect(client.calls).toBe(1);
    expect(sar.reviews).toBe(1);
  });

  it("turns a failed review into an errored decision and asks again next time", async () => {
    const client = stubClient(async () => ({
      status: 403,
      body: { message: "forbidden: cannot create subjectaccessreviews" },
    }));
    const sar = makeSarAuthorizer(client);
    expect(await sar.evaluate((authz) => authz.authorize(check))).toEqual({
      decision: "no-opinion",
      reason: "",
      error: "SubjectAccessReview failed: forbidden: cannot create subjectaccessreviews (HTTP 403)",
    });
    await sar.evaluate((authz) => authz.authorize(check));
    expect(client.calls).toBe(2);
    const down = makeSarAuthorizer(stubClient(async () => "fail"));
    expect((await down.evaluate((authz) => authz.authorize(check))).error).toBe(
      "SubjectAccessReview failed: cannot reach the API server",
    );
  });

  it("gives up on a review after timeoutMs", async () => {
    const sar = makeSarAuthorizer(
      stubClient(async () => "hang"),
      { timeoutMs: 20 },
    );
    expect(await sar.evaluate((authz) => authz.authorize(check))).toEqual({
      decision: "no-opinion",
      reason: "",
      error: "SubjectAccessReview got no answer within 20 ms",
    });
  });

  it("keeps at most `concurrency` reviews in flight", async () => {
    let inFlight = 0;
    let most = 0;
    const client = stubClient(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return { status: 201, body: { status: { allowed: false } } };
    });
    const sar = makeSarAuthorizer(client, { concurrency: 2 });
    const decisions = await sar.fetch(["a", "b", "c", "d", "e"].map((verb) => ({ ...check, verb })));
    expect(decisions).toHaveLength(5);
    expect(decisions.every((d) => d.decision === "no-opinion")).toBe(true);
    expect(most).toBe(2);
  });
});
