/**
 * The webhook's serving certificate: an ECDSA P-256 CA and a serving certificate for the
 * webhook Service's DNS names, made with @peculiar/x509 over WebCrypto, or the same three PEM
 * files read from a directory the user manages (`--cert-dir`). Edge module: it reads files.
 *
 * The CA's key is never kept: once the serving certificate is signed nothing needs it, and a
 * key that is not stored cannot leak. Rotation is a new CA and a new serving certificate,
 * applied together (the caBundle and the Secret change in one `belay install --apply`).
 */
import { createPrivateKey, X509Certificate as NodeX509, webcrypto } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { appError, err, ok, type Result } from "../result.ts";

/** PEM material of the webhook's TLS: the CA (for the caBundle), the serving certificate and its key. */
export interface WebhookCerts {
  caCert: string;
  tlsCert: string;
  tlsKey: string;
}

/** How long generated certificates are valid. */
export const CERT_VALIDITY_DAYS = 365;

/** The DNS names the API server uses to reach the webhook Service. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;

function randomSerial(): string {
  // Positive 16-byte serial: clear the top bit so the DER integer is not negative.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString("hex");
}

/**
 * A fresh CA and a serving certificate for `<service>.<namespace>.svc` and
 * `<service>.<namespace>.svc.cluster.local`, valid {@link CERT_VALIDITY_DAYS} days from `now`.
 * Never throws for valid names (WebCrypto failures are programmer bugs).
 */
export async function generateWebhookCerts(
  service: string,
  namespace: string,
  now: Date = new Date(),
): Promise<WebhookCerts> {
  // Loaded on use: only `install` needs it. Its dependency injection (tsyringe) needs the
  // Reflect Metadata API installed before it loads.
  await import("reflect-metadata");
  const {
    AuthorityKeyIdentifierExtension,
    BasicConstraintsExtension,
    ExtendedKeyUsage,
    ExtendedKeyUsageExtension,
    KeyUsageFlags,
    KeyUsagesExtension,
    PemConverter,
    SubjectAlternativeNameExtension,
    SubjectKeyIdentifierExtension,
    X509CertificateGenerator,
  } = await import("@peculiar/x509");
  // x509 types its provider as the DOM's Crypto, which Node's webcrypto implements.
  const crypto = webcrypto as never;
  const notBefore = new Date(now.getTime() - 5 * 60_000); // tolerate small clock skew
  const notAfter = new Date(now.getTime() + CERT_VALIDITY_DAYS * 86_400_000);
  const caKeys = (await webcrypto.subtle.generateKey(EC, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const caName = `CN=belay-webhook-ca ${namespace}`;
  const ca = await X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: caName,
      notBefore,
      notAfter,
      keys: caKeys,
      signingAlgorithm: SIGN,
      extensions: [
        new BasicConstraintsExtension(true, 0, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
        await SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const leafKeys = (await webcrypto.subtle.generateKey(EC, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const dnsNames = serviceDnsNames(service, namespace);
  const leaf = await X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: `CN=${dnsNames[0]}`,
      issuer: ca.subject,
      notBefore,
      notAfter,
      publicKey: leafKeys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: SIGN,
      extensions: [
        new BasicConstraintsExtension(false, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
        new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth]),
        new SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: "dns" as const, value }))),
        await SubjectKeyIdentifierExtension.create(leafKeys.publicKey, false, crypto),
        await AuthorityKeyIdentifierExtension.create(ca, false, crypto),
      ],
    },
    crypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", leafKeys.privateKey);
  // Newline-terminated, as PEM files are (and so that bundles concatenate).
  return {
    caCert: `${ca.toString("pem")}\n`,
    tlsCert: `${leaf.toString("pem")}\n`,
    tlsKey: `${PemConverter.encode(pkcs8, "PRIVATE KEY")}\n`,
  };
}

/**
 * Problems that make `certs` unusable for the webhook Service `service.namespace`: unparsable
 * PEM, a serving certificate not signed by the CA, missing DNS names, a key that does not
 * match, or expiry within `minValidDays` of `now`. Empty when usable. Never throws.
 */
export function certProblems(
  certs: WebhookCerts,
  service: string,
  namespace: string,
  options: { now?: Date; minValidDays?: number } = {},
): string[] {
  const now = options.now ?? new Date();
  const problems: string[] = [];
  let ca: NodeX509;
  let leaf: NodeX509;
  try {
    ca = new NodeX509(certs.caCert);
  } catch (e) {
    return [`ca.crt: not a PEM certificate (${(e as Error).message})`];
  }
  try {
    leaf = new NodeX509(certs.tlsCert);
  } catch (e) {
    return [`tls.crt: not a PEM certificate (${(e as Error).message})`];
  }
  if (!leaf.verify(ca.publicKey)) problems.push("tls.crt: not signed by ca.crt");
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(certs.tlsKey)))
      problems.push("tls.key: does not match tls.crt");
  } catch (e) {
    problems.push(`tls.key: not a PEM private key (${(e as Error).message})`);
  }
  const sans = (leaf.subjectAltName ?? "").split(/,\s*/).map((s) => s.replace(/^DNS:/, ""));
  for (const name of serviceDnsNames(service, namespace)) {
    if (!sans.includes(name)) problems.push(`tls.crt: no subjectAltName DNS:${name}`);
  }
  const minValidMs = (options.minValidDays ?? 0) * 86_400_000;
  for (const [file, cert] of [
    ["ca.crt", ca],
    ["tls.crt", leaf],
  ] as const) {
    const until = new Date(cert.validTo);
    if (until.getTime() <= now.getTime()) problems.push(`${file}: expired on ${until.toISOString()}`);
    else if (until.getTime() - now.getTime() < minValidMs)
      problems.push(`${file}: expires on ${until.toISOString()}, in less than ${options.minValidDays} days`);
  }
  return problems;
}

/**
 * Read `ca.crt`, `tls.crt` and `tls.key` from `dir` and check them for the Service
 * `service.namespace`. Never rejects: an unreadable file or unusable certificate is an
 * `input` error listing every problem.
 */
export async function readWebhookCerts(
  dir: string,
  service: string,
  namespace: string,
): Promise<Result<WebhookCerts>> {
  const problems: string[] = [];
  const read = async (file: string): Promise<string> => {
    try {
      return await readFile(join(dir, file), "utf8");
    } catch (e) {
      problems.push(
        `${join(dir, file)}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
      return "";
    }
  };
  const certs = {
    caCert: await read("ca.crt"),
    tlsCert: await read("tls.crt"),
    tlsKey: await read("tls.key"),
  };
  if (problems.length === 0)
    for (const p of certProblems(certs, service, namespace)) {
      const colon = p.indexOf(":");
      problems.push(`${join(dir, p.slice(0, colon))}${p.slice(colon)}`);
    }
  if (problems.length > 0)
    return err(appError("input", `--cert-dir ${dir}: unusable certificates`, problems));
  return ok(certs);
}

/**
 * The first certificate of a PEM bundle when it parses, is a CA and has not expired at `now`;
 * else undefined. Used to keep trusting the previous CA during a rotation. Never throws.
 */
export function currentCaPem(bundle: string, now: Date = new Date()): string | undefined {
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/.exec(bundle)?.[0];
  if (pem === undefined) return undefined;
  try {
    const cert = new NodeX509(pem);
    if (!cert.ca || new Date(cert.validTo).getTime() <= now.getTime()) return undefined;
    return pem.endsWith("\n") ? pem : `${pem}\n`;
  } catch {
    return undefined;
  }
}
