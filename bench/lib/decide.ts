/**
 * The webhook's per-request work without the network, through the same module the server
 * calls (src/admission/reviewer.ts): parse the JSON body, read the AdmissionReview, validate
 * (built-in rules and user policies through the engine, classify, ratchet UPDATEs, render
 * the message), build the response and serialize it. What it leaves out is the server's
 * own share: TLS, HTTP, fastify's routing, metrics and the decision log line.
 */
import { parseReview, reviewResponse } from "../../src/admission/review.ts";
import { createReviewer, resolveWebhookOptions, type WebhookOptions } from "../../src/admission/reviewer.ts";

/** Build the decider for the same options as the server; throws when they are invalid. */
export function makeDecider(options: WebhookOptions): (body: string) => string {
  const resolved = resolveWebhookOptions(options);
  if (!resolved.ok) throw new Error(`invalid options: ${(resolved.error.details ?? []).join("; ")}`);
  const reviewer = createReviewer(resolved.value, {
    log: () => undefined,
    policyTime: () => undefined,
    mutation: () => undefined,
  });
  return (body) => {
    const review = parseReview(JSON.parse(body));
    // The server's deadline for the API server's default 10 s timeout; never reached here.
    const outcome = reviewer.validate(review, performance.now() + 9000);
    // Without a live authorizer in the options the answer is synchronous.
    if (outcome instanceof Promise) throw new Error("makeDecider measures the synchronous path only");
    return JSON.stringify(reviewResponse(outcome.response));
  };
}
