/**
 * Certificate hot reload: watch the serving certificate and key files and hand a changed
 * pair to the server. Kubernetes updates a mounted Secret by swapping a `..data` symlink in
 * the directory, which `fs.watch` on the file itself can miss, so the directories are watched
 * and the files are also polled (a network file system may send no events at all). A change
 * is only acted on when the file contents differ, and the pair is read together so that a
 * certificate is never combined with the previous key.
 */
import { createHash } from "node:crypto";
import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";

/** Options of {@link watchCertificate}. */
export interface CertificateWatchOptions {
  certFile: string;
  keyFile: string;
  /** Poll period (default 10 s); events from fs.watch trigger an earlier check. */
  pollMs?: number;
  /**
   * Called with the new PEM pair when the files' contents changed. Returns an error message
   * when the pair is unusable (the server then keeps serving the old one).
   */
  onChange(cert: string, key: string): string | undefined;
  /** Operational log (one event per check that found a change or failed to read). */
  log(event: string, fields: Record<string, unknown>): void;
}

/** A running watch. */
export interface CertificateWatch {
  /** Check now (also what the timer and the watchers call). Resolves when done. */
  check(): Promise<void>;
  stop(): void;
}

const digest = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * Start watching. The first check only records the current contents (the server was started
 * with them). Never throws; read errors are logged and retried at the next check.
 */
export async function watchCertificate(options: CertificateWatchOptions): Promise<CertificateWatch> {
  let last = "";
  let rejected = "";
  let running: Promise<void> | undefined;
  let again = false;
  const read = async (): Promise<{ cert: string; key: string } | undefined> => {
    try {
      const [cert, key] = await Promise.all([
        readFile(options.certFile, "utf8"),
        readFile(options.keyFile, "utf8"),
      ]);
      return { cert, key };
    } catch (e) {
      options.log("certificate reload failed", {
        level: "warn",
        error: `cannot read the certificate or key: ${(e as Error).message}`,
      });
      return undefined;
    }
  };
  const initial = await read();
  if (initial) last = digest(initial.cert + initial.key);

  const checkOnce = async () => {
    const pair = await read();
    if (!pair) return;
    const current = digest(pair.cert + pair.key);
    if (current === last || current === rejected) return;
    const problem = options.onChange(pair.cert, pair.key);
    if (problem === undefined) {
      last = current;
      rejected = "";
      options.log("certificate reloaded", { level: "info", sha256: current.slice(0, 16) });
    } else {
      // Logged once per bad pair; a half-written rotation usually completes at the next check.
      rejected = current;
      options.log("certificate reload failed", {
        level: "error",
        error: `${problem}; still serving the previous certificate`,
      });
    }
  };
  const check = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await checkOnce();
      } while (again);
      running = undefined;
    })();
    return running;
  };

  const watchers: FSWatcher[] = [];
  let debounce: NodeJS.Timeout | undefined;
  for (const dir of new Set([dirname(options.certFile), dirname(options.keyFile)])) {
    try {
      const watcher = watch(dir, { persistent: false }, () => {
        clearTimeout(debounce);
        // Rotations write several files; wait for the burst to end.
        debounce = setTimeout(() => void check(), 100);
        debounce.unref();
      });
      watcher.on("error", () => watcher.close());
      watchers.push(watcher);
    } catch {
      // No watch support here: polling alone still reloads.
    }
  }
  const timer = setInterval(() => void check(), options.pollMs ?? 10_000);
  timer.unref();
  return {
    check,
    stop() {
      clearInterval(timer);
      clearTimeout(debounce);
      for (const watcher of watchers) watcher.close();
    },
  };
}
