/** A field path inside an object: keys and array indexes. */
export type FieldPath = readonly (string | number)[];

const SIMPLE_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/**
 * Render a path the way Kubernetes messages do:
 * `spec.containers[0].securityContext.privileged`,
 * `metadata.annotations["container.apparmor.security.beta.kubernetes.io/app"]`.
 */
export function formatPath(path: FieldPath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (SIMPLE_KEY.test(part)) out += out === "" ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** Read the value at `path`, or undefined when any step is missing. */
export function getPath(value: unknown, path: FieldPath): unknown {
  let current = value;
  for (const part of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[part];
  }
  return current;
}
