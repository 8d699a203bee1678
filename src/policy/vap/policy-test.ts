/**
 * Declarative policy tests (`belay test`): a `PolicyTest` document lists requests and the
 * verdict each must get from the policies beside it.
 *
 *   apiVersion: belay.dev/v1alpha1
 *   kind: PolicyTest
 *   cases:
 *     - name: latest tag is denied
 *       operation: CREATE             # CREATE (default), UPDATE, DELETE, CONNECT
 *       object: {...}                 # the request object (null for DELETE)
 *       oldObject: {...}              # UPDATE / DELETE
 *       namespaceObject: {...}        # default: a Namespace with only its name label
 *       resource: {group, version, resource, subresource}   # optional (CONNECT)
 *       kind: {group, version, kind}  # optional
 *       namespace: shop               # optional
 *       resourceName: web             # optional: the request's name (CONNECT)
 *       userInfo: {username, groups}  # optional
 *       expect: deny                  # allow, deny or warn
 *       message: "..."                # optional: the policy's own message, exactly
 */

import type { CelAuthorizer, CelEnvironment } from "../../cel/index.ts";
import type { KubeObject } from "../../resources/types.ts";
import type { CompiledPolicy } from "./evaluate.ts";
import { type AdmissionDecision, evaluateAdmission } from "./evaluate.ts";
import { requestForObject } from "./request.ts";
import type { AdmissionRequest, Operation, ValidatingAdmissionPolicyBinding } from "./types.ts";

/** One validated test case. */
export interface PolicyTestCase {
  name: string;
  operation: Operation;
  object: KubeObject | null;
  oldObject: KubeObject | null;
  namespaceObject?: KubeObject;
  resource?: AdmissionRequest["resource"];
  kind?: AdmissionRequest["kind"];
  namespace?: string;
  requestName?: string;
  user: { username: string; groups: string[] };
  expect: "allow" | "deny" | "warn";
  message?: string;
}

/** The outcome of one case. */
export interface PolicyTestResult {
  name: string;
  passed: boolean;
  expected: string;
  got: string;
}

const OPS = new Set(["CREATE", "UPDATE", "DELETE", "CONNECT"]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** True for a PolicyTest document. */
export function isPolicyTest(object: KubeObject): boolean {
  return (
    object.kind === "PolicyTest" &&
    typeof object.apiVersion === "string" &&
    object.apiVersion.startsWith("belay.dev/")
  );
}

/** Validate a PolicyTest document; every problem is reported with its field path. Never throws. */
export function parsePolicyTest(object: KubeObject): { cases: PolicyTestCase[]; errors: string[] } {
  const errors: string[] = [];
  const cases: PolicyTestCase[] = [];
  if (!Array.isArray(object.cases)) return { cases, errors: ["cases: must be a list"] };
  object.cases.forEach((raw, i) => {
    const at = `cases[${i}]`;
    const before = errors.length;
    if (!isRecord(raw)) {
      errors.push(`${at}: must be a mapping`);
      return;
    }
    const name = typeof raw.name === "string" && raw.name !== "" ? raw.name : `case ${i}`;
    const operation = raw.operation ?? "CREATE";
    if (typeof operation !== "string" || !OPS.has(operation)) {
      errors.push(`${at}.operation: must be CREATE, UPDATE, DELETE or CONNECT`);
    }
    const expect = raw.expect;
    if (expect !== "allow" && expect !== "deny" && expect !== "warn")
      errors.push(`${at}.expect: must be allow, deny or warn`);
    const object = raw.object === undefined ? null : raw.object;
    const oldObject = raw.oldObject === undefined ? null : raw.oldObject;
    if (object !== null && !isRecord(object)) errors.push(`${at}.object: must be an object or null`);
    if (oldObject !== null && !isRecord(oldObject)) errors.push(`${at}.oldObject: must be an object or null`);
    if (object === null && oldObject === null) errors.push(`${at}: needs object or oldObject`);
    if (raw.message !== undefined && typeof raw.message !== "string")
      errors.push(`${at}.message: must be a string`);
    const user = isRecord(raw.userInfo) ? raw.userInfo : {};
    const c: PolicyTestCase = {
      name,
      operation: operation as Operation,
      object: isRecord(object) ? object : null,
      oldObject: isRecord(oldObject) ? oldObject : null,
      user: {
        username: typeof user.username === "string" ? user.username : "",
        groups: Array.isArray(user.groups)
          ? user.groups.filter((g): g is string => typeof g === "string")
          : [],
      },
      expect: expect as PolicyTestCase["expect"],
    };
    if (isRecord(raw.namespaceObject)) c.namespaceObject = raw.namespaceObject;
    if (isRecord(raw.resource))
      c.resource = { subresource: "", ...(raw.resource as object) } as AdmissionRequest["resource"];
    if (isRecord(raw.kind)) c.kind = raw.kind as unknown as AdmissionRequest["kind"];
    if (typeof raw.namespace === "string") c.namespace = raw.namespace;
    if (typeof raw.resourceName === "string") c.requestName = raw.resourceName;
    if (typeof raw.message === "string") c.message = raw.message;
    if (errors.length === before) cases.push(c);
  });
  return { cases, errors };
}

/** Build the admission request of a case. */
export function caseRequest(c: PolicyTestCase): AdmissionRequest {
  const base = (c.object ?? c.oldObject) as KubeObject;
  const request = requestForObject(base, c.operation, {
    ...(c.oldObject ? { oldObject: c.oldObject } : {}),
    ...(c.resource?.subresource ? { subresource: c.resource.subresource } : {}),
  });
  if (c.operation === "DELETE") {
    request.object = null;
    request.oldObject = c.oldObject ?? c.object;
  }
  if (c.resource) request.resource = c.resource;
  if (c.kind) request.kind = c.kind;
  if (c.namespace !== undefined) request.namespace = c.namespace;
  if (c.requestName !== undefined) request.name = c.requestName;
  const metadata = isRecord(base.metadata) ? base.metadata : {};
  if (c.operation === "CONNECT" && typeof metadata.name !== "string") request.name = "";
  request.namespaceObject =
    c.namespaceObject ??
    (request.namespace === ""
      ? null
      : {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name: request.namespace, labels: { "kubernetes.io/metadata.name": request.namespace } },
        });
  return request;
}

/** Summarise a decision as a verdict word plus the policies' own messages. */
function verdict(decision: AdmissionDecision): { word: "allow" | "deny" | "warn"; messages: string[] } {
  if (!decision.allowed) {
    return {
      word: "deny",
      messages: decision.violations.filter((v) => v.actions.includes("Deny")).map((v) => v.message),
    };
  }
  if (decision.warnings.length > 0) {
    return {
      word: "warn",
      messages: decision.violations.filter((v) => v.actions.includes("Warn")).map((v) => v.message),
    };
  }
  return { word: "allow", messages: [] };
}

/**
 * Run cases against compiled policies; `authorizer` answers `authorizer` checks (made as each
 * case's `userInfo`). Never throws.
 */
export function runPolicyTests(
  env: CelEnvironment,
  policies: readonly CompiledPolicy[],
  bindings: readonly ValidatingAdmissionPolicyBinding[],
  params: readonly KubeObject[],
  cases: readonly PolicyTestCase[],
  authorizer?: CelAuthorizer,
): PolicyTestResult[] {
  return cases.map((c) => {
    const decision = evaluateAdmission(env, policies, bindings, caseRequest(c), params, {
      user: c.user,
      ...(authorizer ? { authorizer } : {}),
    });
    const got = verdict(decision);
    const messageOk = c.message === undefined || got.messages.includes(c.message);
    const passed = got.word === c.expect && messageOk;
    return {
      name: c.name,
      passed,
      expected: c.message === undefined ? c.expect : `${c.expect}: ${c.message}`,
      got: got.messages.length > 0 ? `${got.word}: ${got.messages.join(" | ")}` : got.word,
    };
  });
}
