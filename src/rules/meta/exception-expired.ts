/**
 * An entry of the exceptions file whose `expires` date has passed. It no longer suppresses;
 * this finding (reported by the engine for each resource it used to cover) says so, so the
 * owner renews it with a new reason or fixes the resource.
 */
import type { RuleMeta } from "../rule.ts";

/** Metadata of the engine-reported finding for lapsed exceptions. */
export const EXCEPTION_EXPIRED: RuleMeta = {
  id: "exception-expired",
  title: "Exception has expired",
  severity: "low",
  description:
    "Exceptions in the exceptions file carry an expiry date so that accepted risks are reviewed. After that date the exception stops suppressing findings and this finding reminds its owner.",
  remediation: "Fix the resource, or renew the exception with a new expiry date and a current reason.",
  frameworks: {},
  profiles: ["pss-baseline", "pss-restricted", "hardening"],
  status: "warn",
};
