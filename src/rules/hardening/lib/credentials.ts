/**
 * Credential detection for `secrets-in-env` and `secrets-in-configmap`: names that say
 * "this is a credential", values that look like one (known token formats, passwords in URLs,
 * private keys, high-entropy strings), and values that are clearly not one (placeholders,
 * references, paths). Callers report names and kinds of match only, never the value.
 *
 * Every regular expression applied to input data here is either a fixed RE2 pattern (linear
 * time) or a plain pattern without nested or adjacent overlapping quantifiers.
 */
import { RE2JS } from "re2js";

/** Words that make a name a credential wherever they appear (`DB_PASSWORD`, `githubToken`). */
const CREDENTIAL_WORDS = new Set([
  "PASSWORD",
  "PASSWORDS",
  "PASSWD",
  "PASSPHRASE",
  "SECRET",
  "SECRETS",
  "TOKEN",
  "TOKENS",
  "APIKEY",
  "APITOKEN",
  "ACCESSKEY",
  "SECRETKEY",
  "PRIVATEKEY",
  "AUTHTOKEN",
  "CREDENTIAL",
  "CREDENTIALS",
  "CREDS",
  "BEARER",
]);

/** Short words that mean a credential only as the last word (`DB_PASS`, not `PASS_THROUGH`). */
const LAST_ONLY_WORDS = new Set(["PASS", "PWD"]);

/** `X_KEY` is a credential for these X (`API_KEY`, `SIGNING_KEY`); plain `KEY` is not. */
const KEY_QUALIFIERS = new Set([
  "API",
  "ACCESS",
  "PRIVATE",
  "SIGNING",
  "ENCRYPTION",
  "ENCRYPT",
  "MASTER",
  "AUTH",
  "HMAC",
  "ACCOUNT",
  "SHARED",
  "SESSION",
  "STORAGE",
  "LICENSE",
  "WEBHOOK",
]);

/** A last word that makes the name describe a credential rather than hold one (`TOKEN_URL`). */
const DESCRIPTOR_WORDS = new Set([
  "FILE",
  "FILES",
  "FILENAME",
  "PATH",
  "DIR",
  "DIRECTORY",
  "URL",
  "URI",
  "ENDPOINT",
  "HOST",
  "HOSTNAME",
  "NAME",
  "REF",
  "ID",
  "KEYID",
  "TYPE",
  "KIND",
  "MODE",
  "ENABLED",
  "ENABLE",
  "DISABLED",
  "DISABLE",
  "REQUIRED",
  "LENGTH",
  "LEN",
  "TTL",
  "TIMEOUT",
  "EXPIRY",
  "EXPIRATION",
  "EXPIRES",
  "LIFETIME",
  "DURATION",
  "SECONDS",
  "INTERVAL",
  "FORMAT",
  "HEADER",
  "FIELD",
  "ALGORITHM",
  "ALG",
  "VERSION",
  "POLICY",
  "LOCATION",
  "NAMESPACE",
  "PROVIDER",
  "SOURCE",
  "PREFIX",
  "SUFFIX",
  "PORT",
  "SIZE",
  "MIN",
  "MAX",
  "COUNT",
  "LIMIT",
  "REGION",
  "ISSUER",
  "AUDIENCE",
  "SCOPE",
  "SCOPES",
  "ROLE",
  "USER",
  "USERNAME",
  "STORE",
  "MANAGER",
  "ARN",
  "MOUNT",
  "RESOURCE",
  "GROUP",
  "LABEL",
  "SELECTOR",
  "ANNOTATION",
  "CLASS",
  "STRATEGY",
  "PATTERN",
  "REGEX",
  "METHOD",
  "PROTOCOL",
  "SCHEME",
  "CHARSET",
  "COMPLEXITY",
  "RULES",
  "LEVEL",
  "BACKEND",
  "DRIVER",
  "ENV",
  "VAR",
]);

/** Split a name into upper-case words at separators and camelCase boundaries. */
export function nameWords(name: string): string[] {
  const spaced = name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2");
  return spaced
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter((word) => word !== "");
}

/**
 * Whether a name (env var, ConfigMap key, config file key) says it holds a credential:
 * `DB_PASSWORD`, `githubToken`, `x-api-key`, `AWS_SECRET_ACCESS_KEY`, `spring.datasource.password`.
 * Names that describe a credential instead (`PASSWORD_FILE`, `TOKEN_URL`, `SECRET_NAME`) and
 * the shell's `PWD` do not count.
 */
export function isCredentialName(name: string): boolean {
  let known = credentialNames.get(name);
  if (known === undefined) {
    known = credentialName(name);
    if (credentialNames.size >= CREDENTIAL_NAMES_LIMIT) credentialNames.clear();
    credentialNames.set(name, known);
  }
  return known;
}

/**
 * Answers by name, remembered: the webhook checks the same env var and config key names on
 * request after request, and splitting a name into words (two regex passes) was ~1 % of a
 * request. Names only, never values.
 */
const credentialNames = new Map<string, boolean>();
const CREDENTIAL_NAMES_LIMIT = 4096;

function credentialName(name: string): boolean {
  const words = nameWords(name);
  const last = words.at(-1);
  if (last === undefined || DESCRIPTOR_WORDS.has(last)) return false;
  if (words.length > 1 && LAST_ONLY_WORDS.has(last)) return true;
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (CREDENTIAL_WORDS.has(word) || word.includes("PASSWORD") || word.includes("PASSWD")) return true;
    if (word === "KEY" && i > 0 && KEY_QUALIFIERS.has(words[i - 1] as string)) return true;
    if (word === "STRING" && i > 0 && words[i - 1] === "CONNECTION") return true;
  }
  return false;
}

const LITERAL_WORDS =
  /^(?:true|false|yes|no|on|off|null|none|nil|undefined|enabled|disabled|required|optional)$/i;
const REFERENCE_PREFIXES = [
  "$(", // Kubernetes dependent environment variable
  "${", // shell, envsubst, Spring placeholders
  "{{", // unrendered Helm/Go templates
  "ENC(", // Jasypt-encrypted values
  "vault:",
  "ref+",
  "arn:aws:secretsmanager:",
  "arn:aws:ssm:",
  "sm://",
  "gcp:secretmanager:",
  "azurekeyvault:",
  "projects/",
];

/**
 * Whether a literal is clearly not a credential: empty, a boolean or small number, a
 * placeholder (`<password>`, `${DB_PASSWORD}`, `$(TOKEN)`, `{{ .Values.x }}`, `****`), a
 * reference to a secret manager, or a file path.
 */
export function isPlaceholderValue(value: string): boolean {
  const v = value.trim();
  if (v === "" || LITERAL_WORDS.test(v)) return true;
  if (REFERENCE_PREFIXES.some((prefix) => v.startsWith(prefix))) return true;
  if (/^\$[A-Za-z_][A-Za-z0-9_]*$/.test(v)) return true;
  if (/^<[^<>]*>$/.test(v)) return true;
  if (/^[*xX.]+$/.test(v)) return true;
  if (/^[0-9]{1,5}$/.test(v)) return true;
  if (/^\/[A-Za-z0-9_./-]*$/.test(v)) return true;
  return false;
}

/** A known credential format: what to call it in a message, and its RE2 pattern. */
interface Detector {
  label: string;
  pattern: string;
}

const DETECTORS: readonly Detector[] = [
  { label: "a private key", pattern: "-----BEGIN [A-Z0-9 ]{0,32}PRIVATE KEY" },
  {
    label: "an AWS access key id",
    pattern: String.raw`\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b`,
  },
  {
    label: "a GitHub token",
    pattern: String.raw`\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})`,
  },
  { label: "a GitLab token", pattern: String.raw`\bglpat-[A-Za-z0-9_-]{20,}` },
  { label: "a Slack token", pattern: String.raw`\bxox[abposr]-[A-Za-z0-9-]{10,}` },
  {
    label: "a Slack webhook URL",
    pattern: String.raw`https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+`,
  },
  { label: "a Google API key", pattern: String.raw`\bAIza[0-9A-Za-z_-]{35}` },
  { label: "a Stripe live key", pattern: String.raw`\b(?:sk|rk)_live_[0-9A-Za-z]{20,}` },
  { label: "an npm token", pattern: String.raw`\bnpm_[A-Za-z0-9]{36}\b` },
  { label: "a SendGrid API key", pattern: String.raw`\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}` },
  { label: "an Azure storage account key", pattern: "AccountKey=[A-Za-z0-9+/]{40,}" },
  {
    label: "a JSON web token",
    pattern: String.raw`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`,
  },
];

const COMPILED = DETECTORS.map((d) => ({ label: d.label, re: RE2JS.compile(d.pattern) }));
/** What each detector recognises, in order (for the test of {@link MIN_DETECTOR_MATCH}). */
export const DETECTOR_LABELS: readonly string[] = DETECTORS.map((d) => d.label);
/** One pass over the input finds whether any detector can match at all. */
const ANY_DETECTOR = RE2JS.compile(DETECTORS.map((d) => `(?:${d.pattern})`).join("|"));
/** `scheme://user:password@host`; group 1 is the password. */
const URL_PASSWORD = RE2JS.compile(
  String.raw`[A-Za-z][A-Za-z0-9+.-]{0,31}://[^\s:/@]{0,256}:([^\s/@]{1,256})@`,
);

/**
 * No detector matches fewer characters than this (a Slack token: `xoxb-` and 10 more); most
 * values (`production`, `8080`, `true`) are shorter and skip the regex pass. Tested against
 * each detector's shortest match.
 */
export const MIN_DETECTOR_MATCH = 15;

/** Values longer than this are not scanned (a ConfigMap holds at most 1 MiB). */
const MAX_SCAN = 1 << 20;

/**
 * What a value looks like, if it looks like a credential in a known format: a private key,
 * a cloud or SaaS token, a JWT, a URL with a literal password. Returns a label such as
 * "an AWS access key id" (never the value), or undefined.
 */
export function knownCredentialKind(value: string): string | undefined {
  const text = value.length > MAX_SCAN ? value.slice(0, MAX_SCAN) : value;
  if (text.length >= MIN_DETECTOR_MATCH && ANY_DETECTOR.test(text)) {
    for (const detector of COMPILED) if (detector.re.test(text)) return detector.label;
  }
  if (text.includes("://") && text.includes("@")) {
    const matcher = URL_PASSWORD.matcher(text);
    while (matcher.find()) {
      const password = matcher.group(1) ?? "";
      if (!isPlaceholderValue(password) && !password.startsWith("%")) return "a URL with a literal password";
    }
  }
  return undefined;
}

/** Shannon entropy of a string in bits per character. */
export function shannonEntropy(text: string): number {
  if (text === "") return 0;
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

/**
 * Whether a single token looks like a random key: 32–256 characters of the base64/base64url
 * alphabet mixing upper case, lower case and digits, with at least 4.3 bits of entropy per
 * character. Hex strings (digests, commit ids, UUIDs) and words do not qualify.
 */
export function isHighEntropyToken(value: string): boolean {
  const v = value.trim();
  if (v.length < 32 || v.length > 256 || !/^[A-Za-z0-9+/=_-]+$/.test(v)) return false;
  if (!/[A-Z]/.test(v) || !/[a-z]/.test(v) || !/[0-9]/.test(v)) return false;
  return shannonEntropy(v) >= 4.3;
}

/** A `key = value` / `key: value` line of a config file held in a ConfigMap, or undefined. */
export interface ConfigLine {
  key: string;
  value: string;
  /** 1-based line number inside the value. */
  line: number;
}

const MAX_LINES = 20_000;
const MAX_LINE_LENGTH = 4096;

/**
 * The `key: value` / `key=value` assignments of a config file (properties, .env, YAML, INI,
 * TOML, JSON lines), one per line, skipping comments, nested blocks and values with spaces.
 */
export function configAssignments(text: string): ConfigLine[] {
  const out: ConfigLine[] = [];
  const lines = text.split("\n", MAX_LINES);
  lines.forEach((raw, index) => {
    if (raw.length > MAX_LINE_LENGTH) return;
    let line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("//") || line.startsWith(";")) return;
    if (line.startsWith("- ")) line = line.slice(2).trim();
    if (line.startsWith("export ")) line = line.slice(7).trim();
    const colon = line.indexOf(":");
    const equals = line.indexOf("=");
    const sep = colon < 0 ? equals : equals < 0 ? colon : Math.min(colon, equals);
    if (sep <= 0) return;
    const key = unquote(line.slice(0, sep).trim());
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) return;
    let value = line.slice(sep + 1).trim();
    if (value.endsWith(",")) value = value.slice(0, -1).trim();
    value = unquote(value);
    if (value === "" || /\s/.test(value) || /^[{[|>&*!]/.test(value)) return;
    out.push({ key, value, line: index + 1 });
  });
  return out;
}

function unquote(text: string): string {
  if (text.length >= 2 && (text[0] === '"' || text[0] === "'") && text.at(-1) === text[0])
    return text.slice(1, -1);
  return text;
}
