/** Test helpers (not exported from index.ts); pure: fixture files are read by the tests themselves. */
import { parseStream } from "../../resources/parse.ts";
import type { Resource } from "../../resources/types.ts";
import { type ParsedPolicies, parsePolicies } from "./parse.ts";

/** Parse a fixture's text (read by the caller) into resources, named `test/fixtures/vap/<name>`. */
export function fixtureFromText(name: string, text: string): Resource[] {
  return parseStream(text, `test/fixtures/vap/${name}`).resources;
}

/** Parse YAML text (one or more documents) into policies and bindings. */
export function load(text: string, file = "policy.yaml"): ParsedPolicies {
  return parsePolicies(parseStream(text, file).resources);
}

/** The field errors of YAML text, without the object prefix. */
export function fieldErrors(text: string): string[] {
  return load(text).errors.map((e) => e.fieldError);
}
