/**
 * Comparing two renderings of belay's installation (`belay install --print` and `helm
 * template`): objects keyed by kind/namespace/name, with what may legitimately differ
 * removed — certificate bytes (each rendering makes its own) and the managed-by label.
 */
import { loadAll } from "js-yaml";

/** A rendering's objects by `Kind namespace/name`, normalised. */
export function normalisedObjects(yamlText: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const doc of loadAll(yamlText)) {
    if (doc === null || typeof doc !== "object") continue;
    // biome-ignore lint/suspicious/noExplicitAny: objects from YAML, indexed freely.
    const o = structuredClone(doc) as Record<string, any>;
    const key = `${o.kind} ${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
    const scrubLabels = (labels: Record<string, string> | undefined) => {
      if (labels?.["app.kubernetes.io/managed-by"] !== undefined)
        labels["app.kubernetes.io/managed-by"] = "<manager>";
    };
    scrubLabels(o.metadata?.labels);
    scrubLabels(o.spec?.template?.metadata?.labels);
    if (o.kind === "Secret" && o.data) for (const k of Object.keys(o.data)) o.data[k] = "<cert>";
    if (o.kind === "ValidatingWebhookConfiguration")
      for (const w of o.webhooks ?? []) if (w.clientConfig?.caBundle) w.clientConfig.caBundle = "<cert>";
    out.set(key, o);
  }
  return out;
}
