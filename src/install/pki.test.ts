import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer as createTlsServer } from "node:tls";
import { afterAll, describe, expect, it } from "vitest";
import { certProblems, currentCaPem, generateWebhookCerts, readWebhookCerts } from "./pki.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("generateWebhookCerts", () => {
  it("makes an ECDSA P-256 CA and a serving certificate for the Service's DNS names, valid one year", async () => {
    const now = new Date("2026-06-01T00:00:00Z");
    const certs = await generateWebhookCerts("belay-webhook", "belay-system", now);
    const ca = new X509Certificate(certs.caCert);
    const leaf = new X509Certificate(certs.tlsCert);
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.subjectAltName).toBe(
      "DNS:belay-webhook.belay-system.svc, DNS:belay-webhook.belay-system.svc.cluster.local",
    );
    expect(leaf.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]); // serverAuth
    expect(new Date(leaf.validTo).getTime() - now.getTime()).toBe(365 * 86_400_000);
    expect(certs.tlsKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(certProblems(certs, "belay-webhook", "belay-system", { now })).toEqual([]);
  });

  it("serves TLS that a client trusting only the CA accepts for the Service name", async () => {
    const certs = await generateWebhookCerts("belay-webhook", "ns1");
    const server = createTlsServer({ cert: certs.tlsCert, key: certs.tlsKey, minVersion: "TLSv1.2" }, (s) =>
      s.end("ok"),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const text = await new Promise<string>((resolve, reject) => {
        const socket = connect(
          { host: "127.0.0.1", port, ca: certs.caCert, servername: "belay-webhook.ns1.svc" },
          () => {
            let data = "";
            socket.on("data", (d) => (data += d));
            socket.on("end", () => resolve(data));
          },
        );
        socket.on("error", reject);
      });
      expect(text).toBe("ok");
    } finally {
      server.close();
    }
  });
});

describe("certProblems", () => {
  it("names a wrong namespace, a foreign CA, a key that does not match and coming expiry", async () => {
    const a = await generateWebhookCerts("belay-webhook", "belay-system", new Date("2026-01-01T00:00:00Z"));
    const b = await generateWebhookCerts("belay-webhook", "belay-system", new Date("2026-01-01T00:00:00Z"));
    expect(certProblems(a, "belay-webhook", "other")).toEqual([
      "tls.crt: no subjectAltName DNS:belay-webhook.other.svc",
      "tls.crt: no subjectAltName DNS:belay-webhook.other.svc.cluster.local",
    ]);
    expect(
      certProblems({ ...a, caCert: b.caCert }, "belay-webhook", "belay-system", {
        now: new Date("2026-02-01T00:00:00Z"),
      }),
    ).toEqual(["tls.crt: not signed by ca.crt"]);
    expect(
      certProblems({ ...a, tlsKey: b.tlsKey }, "belay-webhook", "belay-system", {
        now: new Date("2026-02-01T00:00:00Z"),
      }),
    ).toEqual(["tls.key: does not match tls.crt"]);
    expect(
      certProblems(a, "belay-webhook", "belay-system", {
        now: new Date("2026-12-20T00:00:00Z"),
        minValidDays: 30,
      }),
    ).toEqual([
      "ca.crt: expires on 2027-01-01T00:00:00.000Z, in less than 30 days",
      "tls.crt: expires on 2027-01-01T00:00:00.000Z, in less than 30 days",
    ]);
    expect(
      certProblems(a, "belay-webhook", "belay-system", { now: new Date("2027-02-01T00:00:00Z") }),
    ).toEqual([
      "ca.crt: expired on 2027-01-01T00:00:00.000Z",
      "tls.crt: expired on 2027-01-01T00:00:00.000Z",
    ]);
    expect(certProblems({ ...a, tlsCert: "nope" }, "belay-webhook", "belay-system")[0]).toMatch(
      /^tls\.crt: not a PEM certificate \(/,
    );
  });
});

describe("readWebhookCerts", () => {
  it("reads ca.crt, tls.crt and tls.key from a directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "belay-certs-"));
    dirs.push(dir);
    const certs = await generateWebhookCerts("belay-webhook", "belay-system");
    writeFileSync(join(dir, "ca.crt"), certs.caCert);
    writeFileSync(join(dir, "tls.crt"), certs.tlsCert);
    writeFileSync(join(dir, "tls.key"), certs.tlsKey);
    expect(await readWebhookCerts(dir, "belay-webhook", "belay-system")).toEqual({ ok: true, value: certs });
    const wrong = await readWebhookCerts(dir, "belay-webhook", "guard");
    expect(wrong).toEqual({
      ok: false,
      error: {
        code: "input",
        message: `--cert-dir ${dir}: unusable certificates`,
        details: [
          `${dir}/tls.crt: no subjectAltName DNS:belay-webhook.guard.svc`,
          `${dir}/tls.crt: no subjectAltName DNS:belay-webhook.guard.svc.cluster.local`,
        ],
      },
    });
  });

  it("lists every missing file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "belay-certs-"));
    dirs.push(dir);
    writeFileSync(join(dir, "tls.crt"), "x");
    const read = await readWebhookCerts(dir, "belay-webhook", "belay-system");
    expect(read.ok ? [] : read.error.details).toEqual([
      `${dir}/ca.crt: cannot read (ENOENT)`,
      `${dir}/tls.key: cannot read (ENOENT)`,
    ]);
  });
});

describe("currentCaPem", () => {
  it("keeps the first CA of a bundle while it is valid, and nothing else", async () => {
    const a = await generateWebhookCerts("belay-webhook", "belay-system", new Date("2026-01-01T00:00:00Z"));
    const b = await generateWebhookCerts("belay-webhook", "belay-system", new Date("2026-01-01T00:00:00Z"));
    const june = new Date("2026-06-01T00:00:00Z");
    expect(currentCaPem(a.caCert + b.caCert, june)).toBe(a.caCert);
    expect(currentCaPem(a.caCert, new Date("2027-02-01T00:00:00Z"))).toBeUndefined();
    expect(currentCaPem(a.tlsCert, june)).toBeUndefined(); // not a CA
    expect(currentCaPem("garbage", june)).toBeUndefined();
  });
});
