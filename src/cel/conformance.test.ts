/**
 * The upstream CEL conformance suite (cel-spec v0.25.1 via `@bufbuild/cel-spec`), for the
 * files relevant to Kubernetes CEL. Every skip has a reason, and it is a ratchet: a skipped
 * test that starts passing fails here until it is removed from the list.
 */
import { getConformanceSuite } from "@bufbuild/cel-spec/testdata/tests.js";
import { describe, expect, it } from "vitest";
import { runConformanceTest } from "./conformance-runner.ts";

/** Conformance files run. The others test features Kubernetes CEL does not have. */
const FILES = [
  "basic",
  "comparisons",
  "conversions",
  "fields",
  "fp_math",
  "integer_math",
  "lists",
  "logic",
  "macros",
  "macros2",
  "optionals",
  "parse",
  "plumbing",
  "string",
  "string_ext",
  "timestamps",
];

/**
 * Files not run, with reasons: dynamic, enums, proto2, proto2_ext, proto3, wrappers,
 * type_deductions (protobuf message types: Kubernetes objects are JSON, typed `dyn`);
 * math_ext, encoders_ext, block_ext, bindings_ext (not in kube-apiserver's environment: a
 * policy using cel.bind is rejected by v1.37 with "undeclared reference to 'cel'"); namespace
 * (containers); unknowns (partial evaluation, unused by admission).
 */
const FILES_NOT_RUN = [
  "dynamic",
  "enums",
  "proto2",
  "proto2_ext",
  "proto3",
  "wrappers",
  "type_deductions",
  "math_ext",
  "encoders_ext",
  "bindings_ext",
  "block_ext",
  "namespace",
  "unknowns",
];

const MESSAGES = "protobuf message types: Kubernetes objects are JSON maps, belay declares no message types";

/** Skipped tests: `file/section/name` or `file/section/*`, each with a reason. */
const SKIPS: [string, string][] = [
  [
    "basic/variables/unbound_is_runtime_error",
    "belay rejects undeclared variables at compile time, as cel-go's checker does",
  ],
  [
    "basic/functions/unbound_is_runtime_error",
    "belay rejects undeclared functions at compile time, as cel-go's checker does",
  ],
  ["comparisons/eq_wrapper/*", `wrapper ${MESSAGES}`],
  ["comparisons/eq_literal/eq_dyn_json_null", MESSAGES],
  ["comparisons/eq_literal/not_eq_dyn_proto2_msg_null", MESSAGES],
  ["comparisons/eq_literal/not_eq_dyn_proto3_msg_null", MESSAGES],
  ["comparisons/ne_literal/ne_proto2", MESSAGES],
  ["comparisons/ne_literal/ne_proto3", MESSAGES],
  ["comparisons/ne_literal/ne_proto2_missing_fields_neq", MESSAGES],
  ["comparisons/ne_literal/ne_proto3_missing_fields_neq", MESSAGES],
  ["comparisons/ne_literal/ne_proto_nan_not_equal", MESSAGES],
  ["comparisons/ne_literal/ne_proto_different_types", MESSAGES],
  ["comparisons/ne_literal/ne_proto2_any_unpack", MESSAGES],
  ["comparisons/ne_literal/ne_proto2_any_unpack_bytewise_fallback", MESSAGES],
  ["comparisons/ne_literal/ne_proto3_any_unpack", MESSAGES],
  ["comparisons/ne_literal/ne_proto3_any_unpack_bytewise_fallback", MESSAGES],
  ["conversions/type/dyn_no_denotation", "belay resolves `dyn` as a type value; cel-go's checker rejects it"],
  ["fields/quoted_map_fields/*", "@bufbuild/cel 0.6.1's parser lacks backtick-quoted field names"],
  ["optionals/optionals/type", "type(optional) and the optional_type identifier are not modelled"],
  [
    "optionals/optionals/has_optional_ofNonZeroValue_struct_optional_ofNonZeroValue_map_optindex_field",
    MESSAGES,
  ],
  ["optionals/optionals/optional_ofNonZeroValue_struct_optional_ofNonZeroValue_map_optindex_field", MESSAGES],
  ["optionals/optionals/struct_map_optindex_field", MESSAGES],
  ["optionals/optionals/struct_optional_ofNonZeroValue_map_optindex_field", MESSAGES],
  ["optionals/optionals/struct_map_optindex_field_nested", MESSAGES],
  ["optionals/optionals/struct_list_optindex_field", MESSAGES],
  ["optionals/optionals/empty_struct_optindex_hasValue", MESSAGES],
  ["optionals/optionals/optional_empty_struct_optindex_hasValue", MESSAGES],
  ["optionals/optionals/struct_optindex_value", MESSAGES],
  ["optionals/optionals/optional_struct_optindex_value", MESSAGES],
  ["optionals/optionals/optional_struct_optindex_index_value", MESSAGES],
  ["parse/nest/message_literal", MESSAGES],
  ["parse/repeat/select", MESSAGES],
  ["parse/repeat/message_literal", MESSAGES],
  ["parse/comments/new_line_terminated", MESSAGES],
  ["parse/whitespace/*", MESSAGES],
  ["parse/struct_field_names/*", MESSAGES],
  [
    "parse/receiver_function_names/*",
    "the tests declare custom receiver functions named after reserved words",
  ],
  [
    "timestamps/timestamp_conversions/type_comparison",
    "type identifiers of well-known message types are not declared",
  ],
  [
    "timestamps/duration_conversions/type_comparison",
    "type identifiers of well-known message types are not declared",
  ],
  [
    "timestamps/duration_converters/get_milliseconds",
    "bindings of protobuf Duration messages are not converted",
  ],
];

function skipReason(id: string): string | undefined {
  for (const [pattern, reason] of SKIPS) {
    if (pattern === id || (pattern.endsWith("/*") && id.startsWith(pattern.slice(0, -1)))) return reason;
  }
  return undefined;
}

const suite = getConformanceSuite();

describe("CEL conformance", () => {
  it("every skip reason is non-empty and every skip pattern matches a test", () => {
    const ids = suite.suites.flatMap((f) =>
      f.suites.flatMap((s) => s.tests.map((t) => `${f.name}/${s.name}/${t.name}`)),
    );
    for (const [pattern, reason] of SKIPS) {
      expect(reason.length, pattern).toBeGreaterThan(10);
      const hit = ids.some(
        (id) => id === pattern || (pattern.endsWith("/*") && id.startsWith(pattern.slice(0, -1))),
      );
      expect(hit, `skip pattern ${pattern} matches no test`).toBe(true);
    }
    for (const f of FILES_NOT_RUN)
      expect(
        suite.suites.some((s) => s.name === f),
        f,
      ).toBe(true);
  });

  for (const file of suite.suites.filter((f) => FILES.includes(f.name))) {
    describe(file.name, () => {
      for (const section of file.suites) {
        for (const test of section.tests) {
          const id = `${file.name}/${section.name}/${test.name}`;
          const reason = skipReason(id);
          it(`${section.name}/${test.name}${reason !== undefined ? " (skipped: must still fail)" : ""}`, () => {
            const outcome = runConformanceTest(test);
            if (reason === undefined) {
              expect(outcome, `${id}: ${test.original.expr}`).toEqual({ pass: true });
            } else {
              // The ratchet: remove the skip once the test passes.
              expect(outcome.pass, `${id} now passes: remove it from SKIPS (${reason})`).toBe(false);
            }
          });
        }
      }
    });
  }
});
