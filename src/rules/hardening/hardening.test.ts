import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { makeRuleContext } from "../../engine/context.ts";
import { CIS_CONTROLS, MITRE_TECHNIQUES, NIST_SECTIONS, NSA_SECTIONS } from "../../findings/frameworks.ts";
import { parseStream } from "../../resources/parse.ts";
import { formatPath, getPath } from "../../resources/path.ts";
import { isEmptySelector, matchesLabelSelector, matchesServiceSelector } from "../../resources/selectors.ts";
import type { KubeObject, Resource } from "../../resources/types.ts";
import type { Rule } from "../rule.ts";
import { normalizeCapability } from "./dangerous-capabilities.ts";
import { HARDENING_RULES } from "./index.ts";
import { tlsHostCovers } from "./ingress-no-tls.ts";
import {
  configAssignments,
  DETECTOR_LABELS,
  isCredentialName,
  isHighEntropyToken,
  isPlaceholderValue,
  knownCredentialKind,
  MIN_DETECTOR_MATCH,
} from "./lib/credentials.ts";
import { normalizeHostPath } from "./lib/host-paths.ts";
import { parseImageRef } from "./lib/images.ts";
import { effectivePolicyTypes } from "./lib/netpol.ts";
import { configMapCredentialFinding } from "./secrets-in-configmap.ts";
import { envCredentialFinding } from "./secrets-in-env.ts";

const RULES_DIR = fileURLToPath(new URL(".", import.meta.url));
const FIXTURES_DIR = fileURLToPath(new URL("../../../test/fixtures/rules/", import.meta.url));
const EXPECT_PATH = /^# expect-path: (\S.*)$/;

interface Fixture {
  file: string;
  text: string;
  resources: Resource[];
}

function fixtures(id: string, outcome: "pass" | "fail"): Fixture[] {
  const dir = join(FIXTURES_DIR, id, outcome);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith(".yaml") || name.endsWith(".yml"))
    .sort()
    .map((name) => {
      const file = join(dir, name);
      const text = readFileSync(file, "utf8");
      const parsed = parseStream(text, `${id}/${outcome}/${name}`);
      expect(parsed.errors, `${id}/${outcome}/${name} must parse`).toEqual([]);
      return { file: `${outcome}/${name}`, text, resources: parsed.resources };
    });
}

function evaluate(rule: Rule, resources: readonly Resource[]) {
  const context = makeRuleContext(resources);
  return resources.flatMap((resource) => rule.check(resource, context));
}

/** Every string a message must never repeat: env values, ConfigMap values and Secret data. */
function confidentialValues(resources: readonly Resource[]): string[] {
  const values: string[] = [];
  const visit = (value: unknown, key: string | undefined, inEnv: boolean): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, undefined, inEnv || key === "env");
    } else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        if (inEnv && k === "value" && typeof v === "string") values.push(v);
        else visit(v, k, false);
      }
    }
  };
  for (const resource of resources) {
    const object = resource.object;
    visit(object, undefined, false);
    if (object.kind === "ConfigMap" || object.kind === "Secret") {
      for (const field of ["data", "stringData", "binaryData"]) {
        const data = object[field];
        if (data !== null && typeof data === "object") {
          for (const v of Object.values(data)) if (typeof v === "string") values.push(v);
        }
      }
    }
  }
  // Short values ("true", "8080") appear in messages for unrelated reasons.
  return values.filter((v) => v.trim().length >= 8);
}

describe("hardening rule set", () => {
  it("has at least 30 rules with unique kebab-case ids in id order", () => {
    const ids = HARDENING_RULES.map((rule) => rule.meta.id);
    expect(ids.length).toBeGreaterThanOrEqual(30);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) {
      expect(id).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
      expect(id.startsWith("pss-"), `${id} must not use the Pod Security Standards prefix`).toBe(false);
    }
  });

  it("lists every rule file of the folder", () => {
    const files = readdirSync(RULES_DIR)
      .filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts") && name !== "index.ts")
      .map((name) => name.slice(0, -3))
      .sort();
    expect(HARDENING_RULES.map((rule) => rule.meta.id)).toEqual(files);
  });

  for (const rule of HARDENING_RULES) {
    const { meta } = rule;
    describe(meta.id, () => {
      it("has well-formed metadata", () => {
        const source = readFileSync(join(RULES_DIR, `${meta.id}.ts`), "utf8");
        expect(
          source.startsWith(`/**\n * ${meta.id}\n`),
          "file opens with a spec comment naming the rule",
        ).toBe(true);
        expect(meta.title.length).toBeGreaterThan(0);
        expect(meta.description.length).toBeGreaterThan(80);
        expect(meta.remediation).toMatch(/^[A-Z][^\n]*\.$/);
        expect(meta.remediation, "one sentence").not.toMatch(/[.!?]\s+[A-Z]/);
        expect(meta.profiles).toEqual(["hardening"]);
        expect(meta.frameworks.pss).toBeUndefined();
        for (const id of meta.frameworks.cis ?? []) expect(Object.keys(CIS_CONTROLS)).toContain(id);
        for (const section of meta.frameworks.nsa ?? []) expect(NSA_SECTIONS).toContain(section);
        for (const section of meta.frameworks.nist ?? [])
          expect(Object.keys(NIST_SECTIONS)).toContain(section);
        for (const technique of meta.frameworks.mitre ?? [])
          expect(Object.keys(MITRE_TECHNIQUES)).toContain(technique);
      });

      const pass = fixtures(meta.id, "pass");
      const fail = fixtures(meta.id, "fail");

      it("has pass and fail fixtures", () => {
        expect(pass.length).toBeGreaterThan(0);
        expect(fail.length).toBeGreaterThan(0);
      });

      for (const fixture of pass) {
        it(`passes ${fixture.file}`, () => {
          expect(fixture.resources.length).toBeGreaterThan(0);
          expect(evaluate(rule, fixture.resources)).toEqual([]);
        });
      }

      for (const fixture of fail) {
        it(`fails ${fixture.file}`, () => {
          expect(fixture.resources.length).toBeGreaterThan(0);
          const violations = evaluate(rule, fixture.resources);
          expect(violations.length).toBeGreaterThan(0);
          const expected = EXPECT_PATH.exec(fixture.text.split("\n", 1)[0] ?? "")?.[1];
          if (expected !== undefined) expect(violations.map((v) => formatPath(v.path))).toContain(expected);
          const secrets = confidentialValues(fixture.resources);
          for (const violation of violations) {
            expect(violation.message.length).toBeGreaterThan(0);
            for (const secret of secrets) expect(violation.message).not.toContain(secret);
          }
        });
      }

      it("reports paths that exist or belong under an existing object", () => {
        for (const fixture of fail) {
          const context = makeRuleContext(fixture.resources);
          for (const resource of fixture.resources) {
            for (const violation of rule.check(resource, context)) {
              // The deepest existing ancestor must be an object (where the missing field belongs).
              let depth = violation.path.length;
              while (depth > 0 && getPath(resource.object, violation.path.slice(0, depth)) === undefined)
                depth--;
              if (depth < violation.path.length) {
                const parent =
                  depth === 0 ? resource.object : getPath(resource.object, violation.path.slice(0, depth));
                expect(parent !== null && typeof parent === "object", formatPath(violation.path)).toBe(true);
              }
            }
          }
        }
      });

      it("is deterministic and never throws for mangled inputs", () => {
        for (const fixture of [...pass, ...fail]) {
          expect(evaluate(rule, fixture.resources)).toEqual(evaluate(rule, fixture.resources));
          for (const resource of fixture.resources) {
            for (const mangled of mangle(resource.object)) {
              const resources = fixture.resources.map((r) =>
                r === resource ? { ...r, object: mangled } : r,
              );
              expect(() => evaluate(rule, resources)).not.toThrow();
            }
          }
        }
      });
    });
  }
});

const ODD_VALUES: unknown[] = [
  null,
  0,
  7,
  -1,
  "x",
  "",
  true,
  [],
  {},
  [null],
  [1, "a"],
  { a: null },
  "__proto__",
];

/** Copies of `object` with one subtree replaced by an odd value, for every subtree. */
function mangle(object: KubeObject): KubeObject[] {
  const out: KubeObject[] = [];
  const paths: (string | number)[][] = [];
  const walk = (value: unknown, path: (string | number)[]): void => {
    if (path.length > 0) paths.push(path);
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        walk(item, [...path, i]);
      });
    } else if (value !== null && typeof value === "object")
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
  };
  walk(object, []);
  for (const path of paths) {
    if (path[0] === "kind" || path[0] === "apiVersion") continue;
    for (const odd of ODD_VALUES) {
      const copy = structuredClone(object) as Record<string | number, unknown>;
      let parent: Record<string | number, unknown> = copy;
      for (const part of path.slice(0, -1)) parent = parent[part] as Record<string | number, unknown>;
      parent[path.at(-1) as string | number] = structuredClone(odd);
      out.push(copy as KubeObject);
    }
  }
  return out;
}

describe("label selectors", () => {
  const labels = { app: "web", tier: "frontend", version: "2" };

  it("treats a missing or empty selector as selecting everything", () => {
    expect(matchesLabelSelector(undefined, labels)).toBe(true);
    expect(matchesLabelSelector(null, labels)).toBe(true);
    expect(matchesLabelSelector({}, labels)).toBe(true);
    expect(matchesLabelSelector({ matchLabels: {}, matchExpressions: [] }, {})).toBe(true);
    expect(isEmptySelector({})).toBe(true);
    expect(isEmptySelector(undefined)).toBe(true);
    expect(isEmptySelector({ matchLabels: {} })).toBe(true);
    expect(isEmptySelector({ matchLabels: { app: "web" } })).toBe(false);
    expect(isEmptySelector({ matchExpressions: [{ key: "a", operator: "Exists" }] })).toBe(false);
  });

  it("ANDs matchLabels", () => {
    expect(matchesLabelSelector({ matchLabels: { app: "web" } }, labels)).toBe(true);
    expect(matchesLabelSelector({ matchLabels: { app: "web", tier: "frontend" } }, labels)).toBe(true);
    expect(matchesLabelSelector({ matchLabels: { app: "web", tier: "backend" } }, labels)).toBe(false);
    expect(matchesLabelSelector({ matchLabels: { missing: "x" } }, labels)).toBe(false);
  });

  it("implements In, NotIn, Exists and DoesNotExist", () => {
    const expr = (operator: string, key: string, values?: string[]) => ({
      matchExpressions: [values === undefined ? { key, operator } : { key, operator, values }],
    });
    expect(matchesLabelSelector(expr("In", "tier", ["frontend", "edge"]), labels)).toBe(true);
    expect(matchesLabelSelector(expr("In", "tier", ["backend"]), labels)).toBe(false);
    expect(matchesLabelSelector(expr("In", "missing", ["x"]), labels)).toBe(false);
    expect(matchesLabelSelector(expr("NotIn", "tier", ["backend"]), labels)).toBe(true);
    expect(matchesLabelSelector(expr("NotIn", "tier", ["frontend"]), labels)).toBe(false);
    expect(matchesLabelSelector(expr("NotIn", "missing", ["x"]), labels), "absent key satisfies NotIn").toBe(
      true,
    );
    expect(matchesLabelSelector(expr("Exists", "app"), labels)).toBe(true);
    expect(matchesLabelSelector(expr("Exists", "missing"), labels)).toBe(false);
    expect(matchesLabelSelector(expr("DoesNotExist", "missing"), labels)).toBe(true);
    expect(matchesLabelSelector(expr("DoesNotExist", "app"), labels)).toBe(false);
  });

  it("ANDs matchLabels with matchExpressions", () => {
    const selector = {
      matchLabels: { app: "web" },
      matchExpressions: [{ key: "tier", operator: "In", values: ["backend"] }],
    };
    expect(matchesLabelSelector(selector, labels)).toBe(false);
  });

  it("selects nothing with selectors the API server would reject", () => {
    expect(
      matchesLabelSelector(
        { matchExpressions: [{ key: "app", operator: "Equals", values: ["web"] }] },
        labels,
      ),
    ).toBe(false);
    expect(
      matchesLabelSelector({ matchExpressions: [{ key: "app", operator: "In", values: [] }] }, labels),
    ).toBe(false);
    expect(
      matchesLabelSelector(
        { matchExpressions: [{ key: "app", operator: "Exists", values: ["web"] }] },
        labels,
      ),
    ).toBe(false);
    expect(matchesLabelSelector({ matchLabels: { version: 2 } }, labels)).toBe(false);
    expect(matchesLabelSelector({ matchExpressions: "app" }, labels)).toBe(false);
    expect(matchesLabelSelector("app=web", labels)).toBe(false);
  });

  it("does not confuse inherited object properties with labels", () => {
    expect(
      matchesLabelSelector({ matchExpressions: [{ key: "constructor", operator: "Exists" }] }, labels),
    ).toBe(false);
    expect(
      matchesLabelSelector({ matchExpressions: [{ key: "toString", operator: "DoesNotExist" }] }, labels),
    ).toBe(true);
  });

  it("treats a Service selector as equality and an empty one as selecting nothing", () => {
    expect(matchesServiceSelector({ app: "web" }, labels)).toBe(true);
    expect(matchesServiceSelector({ app: "api" }, labels)).toBe(false);
    expect(matchesServiceSelector({}, labels)).toBe(false);
    expect(matchesServiceSelector(undefined, labels)).toBe(false);
  });

  it("defaults NetworkPolicy policyTypes like the API server", () => {
    expect([...effectivePolicyTypes({})]).toEqual(["Ingress"]);
    expect([...effectivePolicyTypes({ egress: [{}] })]).toEqual(["Ingress", "Egress"]);
    expect([...effectivePolicyTypes({ egress: [] })]).toEqual(["Ingress"]);
    expect([...effectivePolicyTypes({ policyTypes: ["Egress"] })]).toEqual(["Egress"]);
  });
});

describe("credential detection", () => {
  it("recognises credential names and not names that describe one", () => {
    for (const name of [
      "DB_PASSWORD",
      "dbPassword",
      "POSTGRES_PASS",
      "MYSQL_ROOT_PWD",
      "GITHUB_TOKEN",
      "refreshToken",
      "x-api-key",
      "APIKey",
      "AWS_SECRET_ACCESS_KEY",
      "JWT_SECRET",
      "SECRET_KEY_BASE",
      "spring.datasource.password",
      "STRIPE_API_KEY",
      "AZURE_STORAGE_CONNECTION_STRING",
      "clientSecret",
      "SIGNING_KEY",
    ]) {
      expect(isCredentialName(name), name).toBe(true);
    }
    for (const name of [
      "PWD",
      "PASSWORD_FILE",
      "TOKEN_URL",
      "SECRET_NAME",
      "AWS_ACCESS_KEY_ID",
      "PASS_THROUGH",
      "KEY",
      "PRIMARY_KEY_COLUMN",
      "TOKENIZER_MODEL",
      "SECRETARY_EMAIL",
      "JWT_TOKEN_TTL",
      "LOG_LEVEL",
      "OAUTH_TOKEN_ENDPOINT",
    ]) {
      expect(isCredentialName(name), name).toBe(false);
    }
  });

  it("recognises placeholders, references and non-secrets", () => {
    for (const value of [
      "",
      "  ",
      "true",
      "No",
      "$(DB_PASSWORD)",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell placeholder is the input under test
      "${DB_PASSWORD}",
      "$PASSWORD",
      "{{ .Values.password }}",
      "<your-password>",
      "*****",
      "8080",
      "/var/run/secrets/token",
      "vault:secret/data/db#password",
      "arn:aws:secretsmanager:eu-west-1:123:secret:db",
    ]) {
      expect(isPlaceholderValue(value), value).toBe(true);
    }
    for (const value of ["hunter2", "changeme", "correct horse battery staple", "p@ssw0rd!"]) {
      expect(isPlaceholderValue(value), value).toBe(false);
    }
  });

  it("recognises known credential formats", () => {
    const samples: [string, string][] = [
      ["AKIAIOSFODNN7EXAMPLE", "an AWS access key id"],
      ["-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----", "a private key"],
      ["-----BEGIN OPENSSH PRIVATE KEY-----", "a private key"],
      [`ghp_${"a1B2c3D4e5".repeat(3)}abcdef`, "a GitHub token"],
      [["xoxb", "1234567890", "abcdefghij"].join("-"), "a Slack token"],
      [["sk", "live", "0123456789abcdefghijABCD"].join("_"), "a Stripe live key"],
      [`glpat-${"x".repeat(20)}`, "a GitLab token"],
      [`AIza${"A".repeat(35)}`, "a Google API key"],
      [
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "a JSON web token",
      ],
      ["postgres://app:s3cr3t@db.internal:5432/shop", "a URL with a literal password"],
      [
        `DefaultEndpointsProtocol=https;AccountName=x;AccountKey=${"Ab1+".repeat(22)}==`,
        "an Azure storage account key",
      ],
    ];
    for (const [value, kind] of samples) expect(knownCredentialKind(value), value.slice(0, 20)).toBe(kind);
    for (const value of [
      "-----BEGIN CERTIFICATE-----",
      "postgres://$(DB_USER):$(DB_PASSWORD)@db:5432/shop",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell placeholder is the input under test
      "postgres://app:${DB_PASSWORD}@db/shop",
      "https://example.com/path@v1",
      "redis://redis:6379",
      "AKIA-not-a-key",
    ]) {
      expect(knownCredentialKind(value), value).toBeUndefined();
    }
  });

  it("skips the regex pass only for values shorter than every detector's shortest match", () => {
    // The shortest text each detector matches; one character less matches none of them.
    const shortest: [string, string][] = [
      ["-----BEGIN PRIVATE KEY", "a private key"],
      [`AKIA${"A".repeat(16)}`, "an AWS access key id"],
      [`github_pat_${"a".repeat(22)}`, "a GitHub token"],
      [`glpat-${"a".repeat(20)}`, "a GitLab token"],
      [`xoxb-${"a".repeat(10)}`, "a Slack token"],
      ["https://hooks.slack.com/services/Ta/Ba/a", "a Slack webhook URL"],
      [`AIza${"a".repeat(35)}`, "a Google API key"],
      [`sk_live_${"a".repeat(20)}`, "a Stripe live key"],
      [`npm_${"a".repeat(36)}`, "an npm token"],
      [`SG.${"a".repeat(22)}.${"a".repeat(43)}`, "a SendGrid API key"],
      [`AccountKey=${"a".repeat(40)}`, "an Azure storage account key"],
      [`eyJ${"a".repeat(8)}.eyJ${"a".repeat(8)}.${"a".repeat(8)}`, "a JSON web token"],
    ];
    for (const [value, kind] of shortest) {
      expect(knownCredentialKind(value), value).toBe(kind);
      expect(value.length).toBeGreaterThanOrEqual(MIN_DETECTOR_MATCH);
      expect(knownCredentialKind(value.slice(0, -1)), value).toBeUndefined();
    }
    expect(Math.min(...shortest.map(([value]) => value.length))).toBe(MIN_DETECTOR_MATCH);
    // Every detector is here: a new one needs its shortest match above.
    expect(shortest.map(([, kind]) => kind)).toEqual(DETECTOR_LABELS);
  });

  it("flags high-entropy tokens but not digests, ids or words", () => {
    expect(isHighEntropyToken("q8Zr4Lx0Vb2Nw7Yt1Ks9Hd3Jf6Gp5Mc0")).toBe(true);
    expect(isHighEntropyToken("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")).toBe(true);
    expect(
      isHighEntropyToken("sha256:2d9e5c3b0b7f1a4e8c6d2f0a9b8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e"),
    ).toBe(false);
    expect(isHighEntropyToken("2d9e5c3b0b7f1a4e8c6d2f0a9b8e7d6c5b4a3f2e")).toBe(false);
    expect(isHighEntropyToken("123e4567-e89b-12d3-a456-426614174000")).toBe(false);
    expect(isHighEntropyToken("ThisIsAVeryLongConfigurationValue1")).toBe(false);
    expect(isHighEntropyToken("short1A")).toBe(false);
  });

  it("finds credential assignments in config files", () => {
    const text = [
      "# database",
      "spring.datasource.url=jdbc:postgresql://db:5432/shop",
      "spring.datasource.password=hunter2hunter2",
      "  redis:",
      '    "password": "s3cr3t-value",',
      "export API_TOKEN=abc123",
      "description: the password is rotated weekly",
    ].join("\n");
    const found = configAssignments(text).filter(
      (a) => isCredentialName(a.key) && !isPlaceholderValue(a.value),
    );
    expect(found.map((a) => [a.key, a.line])).toEqual([
      ["spring.datasource.password", 3],
      ["password", 5],
      ["API_TOKEN", 6],
    ]);
  });

  it("never puts the value in a finding", () => {
    const secret = "Zx9-very-secret-Value";
    const env = envCredentialFinding("DB_PASSWORD", secret);
    expect(env).toBe("a literal credential");
    const cm = configMapCredentialFinding(
      "app.properties",
      `db.password=${secret}\nurl=https://u:${secret}@h/x\n`,
    );
    expect(cm).toBeDefined();
    expect(cm).not.toContain(secret);
    expect(cm).toContain('"db.password" (line 1)');
    expect(cm).toContain("a URL with a literal password");
    expect(envCredentialFinding("DB_PASSWORD", "$(FROM_SECRET)")).toBeUndefined();
    expect(envCredentialFinding("GREETING", "hello world")).toBeUndefined();
  });

  it("handles large values in linear time", () => {
    const big = `${"a:".repeat(200_000)}@`;
    const started = performance.now();
    knownCredentialKind(`x://${big}`);
    configAssignments("k=v\n".repeat(50_000));
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe("helpers", () => {
  it("parses image references", () => {
    expect(parseImageRef("nginx")).toEqual({ repository: "nginx" });
    expect(parseImageRef("nginx:latest")).toEqual({ repository: "nginx", tag: "latest" });
    expect(parseImageRef("registry.example.com:5000/team/app")).toEqual({
      repository: "registry.example.com:5000/team/app",
    });
    expect(parseImageRef("registry.example.com:5000/team/app:1.2")).toEqual({
      repository: "registry.example.com:5000/team/app",
      tag: "1.2",
    });
    const digest = `sha256:${"ab".repeat(32)}`;
    expect(parseImageRef(`app:1.2@${digest}`)).toEqual({ repository: "app", tag: "1.2", digest });
    expect(parseImageRef("app@sha256:short")).toEqual({ repository: "app" });
    expect(parseImageRef("")).toBeUndefined();
    expect(parseImageRef(42)).toBeUndefined();
  });

  it("normalises host paths", () => {
    expect(normalizeHostPath("/var/run/docker.sock")).toBe("/var/run/docker.sock");
    expect(normalizeHostPath("//var/run/./docker.sock/")).toBe("/var/run/docker.sock");
    expect(normalizeHostPath("/var/lib/../../etc")).toBe("/etc");
    expect(normalizeHostPath("/../..")).toBe("/");
  });

  it("normalises capabilities", () => {
    expect(normalizeCapability("cap_sys_admin")).toBe("SYS_ADMIN");
    expect(normalizeCapability(" SYS_PTRACE ")).toBe("SYS_PTRACE");
  });

  it("matches TLS hosts like a certificate", () => {
    expect(tlsHostCovers("shop.example.com", "SHOP.example.com")).toBe(true);
    expect(tlsHostCovers("*.example.com", "shop.example.com")).toBe(true);
    expect(tlsHostCovers("*.example.com", "a.b.example.com")).toBe(false);
    expect(tlsHostCovers("*.example.com", "example.com")).toBe(false);
  });
});
