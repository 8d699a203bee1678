import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers.ts";

// Values that must never appear in any output, in any format.
const SECRETS = [
  "hunter2-very-secret",
  Buffer.from("hunter2-very-secret").toString("base64"),
  "AKIAIOSFODNN7EXAMPLE",
  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  "ghp_1234567890abcdefghijklmnopqrstuvwxyzAB",
  "sk_live_51HfakeEXAMPLEkey0000000000",
  "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
  "p@ssw0rd-in-broken-yaml",
];

const MANIFESTS = `apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
type: Opaque
data:
  password: ${SECRETS[1]}
stringData:
  aws_secret_access_key: ${SECRETS[3]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: api
          image: api:latest
          env:
            - {name: DB_PASSWORD, value: "${SECRETS[0]}"}
            - {name: AWS_ACCESS_KEY_ID, value: "${SECRETS[2]}"}
            - {name: GITHUB_TOKEN, value: "${SECRETS[4]}"}
            - {name: PRIVATE_KEY, value: "-----BEGIN PRIVATE KEY-----\\n${SECRETS[6]}\\n-----END PRIVATE KEY-----"}
          securityContext: {privileged: true}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data:
  STRIPE_API_KEY: ${SECRETS[5]}
  DB_PASSWORD: ${SECRETS[0]}
`;

const BROKEN = `apiVersion: v1
kind: Secret
metadata: {name: broken}
stringData:
  password: "${SECRETS[7]}
  other: [${SECRETS[7]}
`;

describe("secret values never appear in output", () => {
  const dir = mkdtempSync(join(tmpdir(), "belay-secrets-"));
  writeFileSync(join(dir, "app.yaml"), MANIFESTS);
  writeFileSync(join(dir, "broken.yaml"), BROKEN);

  for (const format of ["table", "json", "yaml", "sarif", "junit"]) {
    it(`-o ${format}`, async () => {
      const result = await runCli(["scan", dir, "-o", format, "--show-passed"]);
      expect(result.code).toBe(2); // the broken file
      const text = result.stdout + result.stderr;
      expect(text.length).toBeGreaterThan(200);
      for (const secret of SECRETS) expect(text).not.toContain(secret);
      // The credential findings are there, naming only the variable and key names.
      expect(text).toContain("DB_PASSWORD");
    });
  }

  it("rules list and show print no example values from fixtures", async () => {
    const result = await runCli(["rules", "list", "-o", "json"]);
    for (const secret of SECRETS) expect(result.stdout).not.toContain(secret);
  });
});
