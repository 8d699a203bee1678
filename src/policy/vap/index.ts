/**
 * ValidatingAdmissionPolicy support, the CEL-independent half: load and validate policies and
 * bindings like the API server, match them to requests, resolve params. See README.md.
 */

export * from "./authorizer.ts";
export * from "./evaluate.ts";
export * from "./field-error.ts";
export * from "./match.ts";
export * from "./parse.ts";
export * from "./policy-test.ts";
export * from "./request.ts";
export * from "./types.ts";
export * from "./units.ts";
