/** messageExpression output handling as kube-apiserver does it. */
import { MAX_MESSAGE_EXPRESSION_LENGTH } from "./cost.ts";

/**
 * Caps a messageExpression result at 5 KiB of UTF-8 (kube-apiserver truncates longer
 * messages); never splits a character. Returns the message unchanged when short enough.
 */
export function truncateMessage(message: string, maxBytes: number = MAX_MESSAGE_EXPRESSION_LENGTH): string {
  const encoder = new TextEncoder();
  if (encoder.encode(message).length <= maxBytes) return message;
  let out = "";
  let used = 0;
  for (const ch of message) {
    const n = encoder.encode(ch).length;
    if (used + n > maxBytes) break;
    out += ch;
    used += n;
  }
  return out;
}
