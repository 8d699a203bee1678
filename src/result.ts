/**
 * Expected failures are values: functions that can fail for reasons the user can fix return
 * a Result instead of throwing. Throw only for programmer bugs.
 */

/** Error codes belay's boundaries know how to present. */
export type AppErrorCode = "usage" | "input" | "config" | "tool-missing" | "tool-failed" | "internal";

/** A user-facing error: a code for callers and a message for people. */
export interface AppError {
  code: AppErrorCode;
  message: string;
  /** Per-field problems, e.g. `exceptions[2].expires: must be a date (YYYY-MM-DD)`. */
  details?: string[];
}

export type Result<T, E = AppError> = { ok: true; value: T } | { ok: false; error: E };

/** A successful result. */
export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

/** A failed result. */
export function err<E = AppError>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}

/** An AppError value. */
export function appError(code: AppErrorCode, message: string, details?: string[]): AppError {
  return details && details.length > 0 ? { code, message, details } : { code, message };
}
