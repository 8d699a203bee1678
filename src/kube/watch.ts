/**
 * Watches over the API server's chunked JSON watch protocol (`?watch=1&resourceVersion=…
 * &allowWatchBookmarks=true`: one JSON event per line), resumed from the last seen
 * resourceVersion after a normal end or a network error, and started afresh ("relist") when
 * the API server answers 410 Gone — the resourceVersion was compacted away or is older
 * than its watch cache. Failures back off exponentially with jitter, capped.
 *
 * A watch here is a change signal: events are handed to the caller one at a time and not
 * kept, and a (re)list only reads the collection's current resourceVersion (`limit=1`), not
 * its items. Callers that need objects list them when they need them. Edge module.
 */
import type { KubeObject } from "../resources/types.ts";
import { err, ok, type Result } from "../result.ts";
import { type KubeClient, statusMessage } from "./client.ts";
import { collectionPath, type KindSpec, type ListError } from "./list.ts";

/** One watch event. Bookmarks only move the resourceVersion and are not passed on. */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KubeObject;
}

/** How one watch request ended. */
export type WatchEnd =
  /** The server closed the stream (its timeout): resume from `resourceVersion`. */
  | { end: "closed"; resourceVersion: string; events: number }
  /** 410 Gone: the resourceVersion is too old; list again. */
  | { end: "gone"; message: string; events: number }
  /** The kind is not served or not allowed (404, 403). */
  | { end: "unavailable"; message: string; events: number }
  /** Network error, API server down, another status: resume from `resourceVersion` after a backoff. */
  | { end: "error"; message: string; resourceVersion: string; events: number }
  | { end: "aborted"; events: number };

/** Options of {@link watchOnce}. */
export interface WatchOnceOptions {
  resourceVersion: string;
  namespace?: string;
  /** Asks the server to end the watch after this long (client-go picks 5–10 min at random). */
  timeoutSeconds: number;
  signal: AbortSignal;
  /** Called for every ADDED, MODIFIED and DELETED event, in order. Must not throw. */
  onEvent: (event: WatchEvent) => void;
  /** No byte for this long means a dead connection (default: timeoutSeconds + 60 s). */
  idleMs?: number;
}

/** The path of a watch request. */
export function watchPath(
  kind: KindSpec,
  resourceVersion: string,
  timeoutSeconds: number,
  namespace?: string,
): string {
  return `${collectionPath(kind, namespace)}?watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}&timeoutSeconds=${timeoutSeconds}`;
}

/**
 * One watch request from `options.resourceVersion`, until the server ends it, an error,
 * 410 Gone, or `options.signal`. Never throws.
 */
export async function watchOnce(
  client: KubeClient,
  kind: KindSpec,
  options: WatchOnceOptions,
): Promise<WatchEnd> {
  let resourceVersion = options.resourceVersion;
  let events = 0;
  if (options.signal.aborted) return { end: "aborted", events };
  const local = new AbortController();
  const onAbort = () => local.abort();
  options.signal.addEventListener("abort", onAbort, { once: true });
  const idleMs = options.idleMs ?? (options.timeoutSeconds + 60) * 1000;
  let idle: NodeJS.Timeout | undefined;
  let idleFired = false;
  const touch = () => {
    if (idle) clearTimeout(idle);
    idle = setTimeout(() => {
      idleFired = true;
      local.abort();
    }, idleMs);
  };
  try {
    touch();
    if (!client.stream) return { end: "unavailable", message: "this client cannot stream watches", events };
    const opened = await client.stream(
      watchPath(kind, resourceVersion, options.timeoutSeconds, options.namespace),
      local.signal,
    );
    if (!opened.ok) {
      if (options.signal.aborted) return { end: "aborted", events };
      return { end: "error", message: opened.error.message, resourceVersion, events };
    }
    const { status, body } = opened.value;
    if (status !== 200) {
      const text = await readAll(body);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      const message = `watch ${kind.resource}: ${statusMessage({ status, body: parsed })}`;
      if (status === 410) return { end: "gone", message, events };
      if (status === 404 || status === 403) return { end: "unavailable", message, events };
      return { end: "error", message, resourceVersion, events };
    }
    let pending: Buffer[] = [];
    for await (const chunk of body) {
      touch();
      let start = 0;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, start)) {
        pending.push(chunk.subarray(start, i));
        const line = Buffer.concat(pending).toString("utf8");
        pending = [];
        start = i + 1;
        if (line.trim() === "") continue;
        const event = parseEvent(line);
        if (event === undefined) continue;
        if (event.type === "ERROR") {
          const code = (event.object as { code?: unknown }).code;
          const message = `watch ${kind.resource}: ${String((event.object as { message?: unknown }).message ?? "error")} (HTTP ${String(code)})`;
          // The API server reports an expired resourceVersion inside the stream as well.
          if (code === 410) return { end: "gone", message, events };
          return { end: "error", message, resourceVersion, events };
        }
        const rv = (event.object.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
        if (event.type !== "BOOKMARK") {
          events++;
          options.onEvent({ type: event.type, object: event.object });
        }
        if (typeof rv === "string" && rv !== "") resourceVersion = rv;
      }
      if (start < chunk.length) pending.push(chunk.subarray(start));
    }
    return { end: "closed", resourceVersion, events };
  } catch (e) {
    if (options.signal.aborted) return { end: "aborted", events };
    const message = idleFired
      ? `watch ${kind.resource}: no data for ${Math.round(idleMs / 1000)}s`
      : `watch ${kind.resource}: ${e instanceof Error ? e.message : String(e)}`;
    return { end: "error", message, resourceVersion, events };
  } finally {
    if (idle) clearTimeout(idle);
    options.signal.removeEventListener("abort", onAbort);
    local.abort();
  }
}

function parseEvent(
  line: string,
): { type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR"; object: KubeObject } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  const { type, object } = (parsed ?? {}) as { type?: unknown; object?: unknown };
  if (object === null || typeof object !== "object") return undefined;
  if (
    type === "ADDED" ||
    type === "MODIFIED" ||
    type === "DELETED" ||
    type === "BOOKMARK" ||
    type === "ERROR"
  )
    return { type, object: object as KubeObject };
  return undefined;
}

async function readAll(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      // A Status is small; never buffer an unexpected huge body.
      if (size < 1_000_000) chunks.push(chunk);
      size += chunk.length;
    }
  } catch {
    // a partial body still makes a message
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The collection's current resourceVersion, to start a watch from: a `limit=1` list, so no
 * items are read. Never throws.
 */
export async function currentResourceVersion(
  client: KubeClient,
  kind: KindSpec,
  namespace?: string,
): Promise<Result<string, ListError>> {
  const sent = await client.send("GET", `${collectionPath(kind, namespace)}?limit=1`);
  if (!sent.ok) return err({ reason: "failed", message: sent.error.message });
  const { status, body } = sent.value;
  if (status === 404 || status === 403)
    return err({
      reason: "unavailable",
      message: `cannot list ${kind.resource}: ${statusMessage(sent.value)}`,
    });
  const rv = (body as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
  if (status !== 200 || typeof rv !== "string")
    return err({ reason: "failed", message: `cannot list ${kind.resource}: ${statusMessage(sent.value)}` });
  return ok(rv);
}

/** Capped exponential backoff with jitter. */
export interface Backoff {
  /** First delay (default 500 ms). */
  initialMs?: number;
  /** Cap (default 30 s). */
  maxMs?: number;
  /** A number in [0, 1) (default Math.random). */
  random?: () => number;
}

/**
 * The delay before retry `attempt` (1-based): `initialMs · 2^(attempt-1)`, capped at
 * `maxMs`, then scaled by a random factor in [0.5, 1) so that many clients that lost the
 * same API server do not come back in step. Pure when `random` is given.
 *
 * @example backoffDelay(1, { random: () => 0 }) === 250
 */
export function backoffDelay(attempt: number, backoff: Backoff = {}): number {
  const initial = backoff.initialMs ?? 500;
  const max = backoff.maxMs ?? 30_000;
  const raw = Math.min(max, initial * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(raw * (0.5 + 0.5 * (backoff.random ?? Math.random)()));
}

/** Resolves after `ms`, or early when `signal` aborts. Never rejects. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Callbacks and settings of {@link runWatch}. */
export interface RunWatchOptions {
  namespace?: string;
  signal: AbortSignal;
  onEvent: (event: WatchEvent) => void;
  /**
   * Called after every (re)list, before watching from its resourceVersion: `initial` at the
   * start, `gone` after a 410. Events may have been missed before a `gone` relist, so the
   * caller re-checks what this kind affects. Must not throw.
   */
  onList: (reason: "initial" | "gone") => void;
  /** Called when a watch ends with an error and is resumed after `delayMs`. Must not throw. */
  onError?: (message: string, delayMs: number) => void;
  /** Called when the kind cannot be listed or watched (404, 403); retried after `unavailableRetryMs`. */
  onUnavailable?: (message: string) => void;
  /** Called whenever a watch request ends and another starts (any reason). */
  onRestart?: (end: WatchEnd["end"]) => void;
  /** Server-side watch timeout in seconds; default random in [300, 600). */
  timeoutSeconds?: () => number;
  backoff?: Backoff;
  /** Default 5 minutes. */
  unavailableRetryMs?: number;
}

/**
 * Watch `kind` until `options.signal` aborts: list for a resourceVersion, watch from it,
 * resume after normal ends and errors (backing off), relist after 410 Gone. Never throws;
 * resolves after the signal aborts.
 */
export async function runWatch(client: KubeClient, kind: KindSpec, options: RunWatchOptions): Promise<void> {
  const { signal } = options;
  let resourceVersion: string | undefined;
  let reason: "initial" | "gone" = "initial";
  let failures = 0;
  const timeout = options.timeoutSeconds ?? (() => 300 + Math.floor(Math.random() * 300));
  const retryLater = async (message: string) => {
    failures++;
    const delay = backoffDelay(failures, options.backoff);
    options.onError?.(message, delay);
    await sleep(delay, signal);
  };
  while (!signal.aborted) {
    if (resourceVersion === undefined) {
      const listed = await currentResourceVersion(client, kind, options.namespace);
      if (signal.aborted) break;
      if (!listed.ok) {
        if (listed.error.reason === "unavailable") {
          options.onUnavailable?.(listed.error.message);
          await sleep(options.unavailableRetryMs ?? 300_000, signal);
        } else await retryLater(listed.error.message);
        continue;
      }
      resourceVersion = listed.value;
      options.onList(reason);
    }
    const started = Date.now();
    const ended = await watchOnce(client, kind, {
      resourceVersion,
      ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
      timeoutSeconds: timeout(),
      signal,
      onEvent: options.onEvent,
    });
    if (ended.end === "aborted") break;
    options.onRestart?.(ended.end);
    if (ended.events > 0) failures = 0;
    switch (ended.end) {
      case "closed":
        resourceVersion = ended.resourceVersion;
        // A stream that ends at once without events (a proxy?) must not become a busy loop.
        if (ended.events === 0 && Date.now() - started < 1000)
          await retryLater(`watch ${kind.resource}: the server ended the watch at once`);
        else failures = 0;
        break;
      case "gone":
        resourceVersion = undefined;
        reason = "gone";
        break;
      case "unavailable":
        resourceVersion = undefined;
        reason = "gone";
        options.onUnavailable?.(ended.message);
        await sleep(options.unavailableRetryMs ?? 300_000, signal);
        break;
      case "error":
        resourceVersion = ended.resourceVersion;
        await retryLater(ended.message);
        break;
    }
  }
}
