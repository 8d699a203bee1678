/**
 * The certificates and keys of a test cluster: a CA, the API server's serving
 * certificate, client certificates, and the service account signing key.
 *
 * Keys are generated with node:crypto (ECDSA P-256, fast); certificates are signed with
 * the `openssl` CLI because node:crypto cannot create X.509 certificates.
 */

import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** A PEM certificate and its PEM (PKCS#8) private key. */
export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

/** Files written by {@link createPki}, all inside its `certDir`. */
export interface Pki {
  certDir: string;
  caCert: string;
  caKey: string;
  caPem: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  controllerManagerCert: string;
  controllerManagerKey: string;
  /** The service account token signing key (PEM, SEC1). */
  serviceAccountKey: string;
  /** Its public key (PEM, SPKI), which verifies service account tokens. */
  serviceAccountPublicKey: string;
}

/** Validity of every certificate; test clusters live minutes. */
const days = "30";

function newKeyPem(): string {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

/** Escapes a value for an OpenSSL `-subj` string (`/CN=a/O=b`). */
function rdn(value: string): string {
  return value.replace(/[\\/=+,]/g, (c) => `\\${c}`);
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileAsync("openssl", args, { cwd });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(error)}`);
  }
}

interface SignRequest {
  certDir: string;
  /** File name stem: writes `<name>.crt` and `<name>.key`. */
  name: string;
  commonName: string;
  organizations?: string[];
  /** `serverAuth` certificates get `subjectAltName`s; `clientAuth` ones do not need them. */
  usage: "serverAuth" | "clientAuth";
  dnsNames?: string[];
  ips?: string[];
}

async function signLeaf(request: SignRequest): Promise<CertAndKey> {
  const { certDir, name } = request;
  const keyPem = newKeyPem();
  await writeFile(join(certDir, `${name}.key`), keyPem, { mode: 0o600 });
  const subject = [
    `/CN=${rdn(request.commonName)}`,
    ...(request.organizations ?? []).map((o) => `/O=${rdn(o)}`),
  ].join("");
  const extensions = [
    "[ext]",
    "basicConstraints = critical, CA:FALSE",
    "keyUsage = critical, digitalSignature, keyEncipherment",
    `extendedKeyUsage = ${request.usage}`,
  ];
  const sans = [
    ...(request.dnsNames ?? []).map((d) => `DNS:${d}`),
    ...(request.ips ?? []).map((i) => `IP:${i}`),
  ];
  if (sans.length > 0) extensions.push(`subjectAltName = ${sans.join(", ")}`);
  await writeFile(join(certDir, `${name}.ext`), `${extensions.join("\n")}\n`);
  await openssl(["req", "-new", "-key", `${name}.key`, "-subj", subject, "-out", `${name}.csr`], certDir);
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-set_serial",
      `0x${randomBytes(16).toString("hex")}`,
      "-days",
      days,
      "-sha256",
      "-extfile",
      `${name}.ext`,
      "-extensions",
      "ext",
      "-out",
      `${name}.crt`,
    ],
    certDir,
  );
  return { certPem: await readFile(join(certDir, `${name}.crt`), "utf8"), keyPem };
}

/**
 * Creates the cluster's PKI in `certDir` (which must exist). Throws when `openssl` is
 * missing or fails.
 */
export async function createPki(certDir: string): Promise<Pki> {
  await writeFile(join(certDir, "ca.key"), newKeyPem(), { mode: 0o600 });
  await writeFile(
    join(certDir, "ca.ext"),
    [
      "[ext]",
      "basicConstraints = critical, CA:TRUE",
      "keyUsage = critical, keyCertSign, cRLSign, digitalSignature",
      "subjectKeyIdentifier = hash",
      "",
    ].join("\n"),
  );
  await openssl(["req", "-new", "-key", "ca.key", "-subj", "/CN=belay-test-ca", "-out", "ca.csr"], certDir);
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      "ca.csr",
      "-signkey",
      "ca.key",
      "-set_serial",
      `0x${randomBytes(16).toString("hex")}`,
      "-days",
      days,
      "-sha256",
      "-extfile",
      "ca.ext",
      "-extensions",
      "ext",
      "-out",
      "ca.crt",
    ],
    certDir,
  );
  await signLeaf({
    certDir,
    name: "apiserver",
    commonName: "kube-apiserver",
    usage: "serverAuth",
    dnsNames: [
      "localhost",
      "kubernetes",
      "kubernetes.default",
      "kubernetes.default.svc",
      "kubernetes.default.svc.cluster.local",
    ],
    ips: ["127.0.0.1", "10.0.0.1"],
  });
  await signLeaf({
    certDir,
    name: "admin",
    commonName: "belay-admin",
    organizations: ["system:masters"],
    usage: "clientAuth",
  });
  // With --use-service-account-credentials=false every controller acts as this user, and
  // the system:kube-controller-manager role alone does not let them do their work (the
  // namespace controller deletes everything, the deployment controller creates
  // replicasets...), so it is also in system:masters.
  await signLeaf({
    certDir,
    name: "controller-manager",
    commonName: "system:kube-controller-manager",
    organizations: ["system:masters"],
    usage: "clientAuth",
  });
  // The API server reads public keys from --service-account-key-file and does not take
  // PKCS#8 there, so write the public half (SPKI) next to a SEC1 private key.
  const sa = generateKeyPairSync("ec", { namedCurve: "P-256" });
  await writeFile(join(certDir, "sa.key"), sa.privateKey.export({ type: "sec1", format: "pem" }), {
    mode: 0o600,
  });
  await writeFile(join(certDir, "sa.pub"), sa.publicKey.export({ type: "spki", format: "pem" }));
  return {
    certDir,
    caCert: join(certDir, "ca.crt"),
    caKey: join(certDir, "ca.key"),
    caPem: await readFile(join(certDir, "ca.crt"), "utf8"),
    serverCert: join(certDir, "apiserver.crt"),
    serverKey: join(certDir, "apiserver.key"),
    adminCert: join(certDir, "admin.crt"),
    adminKey: join(certDir, "admin.key"),
    controllerManagerCert: join(certDir, "controller-manager.crt"),
    controllerManagerKey: join(certDir, "controller-manager.key"),
    serviceAccountKey: join(certDir, "sa.key"),
    serviceAccountPublicKey: join(certDir, "sa.pub"),
  };
}

/**
 * Issues a client certificate for `user` in `groups`, signed by the CA in `certDir`
 * (made by {@link createPki}). The API server maps CN to the user name and each O to a
 * group.
 *
 * @example
 * const { certPem, keyPem } = await issueClientCert(certDir, "alice", ["dev"]);
 */
export async function issueClientCert(
  certDir: string,
  user: string,
  groups: string[] = [],
): Promise<CertAndKey> {
  return signLeaf({
    certDir,
    name: `user-${randomBytes(6).toString("hex")}`,
    commonName: user,
    organizations: groups,
    usage: "clientAuth",
  });
}
