/**
 * The webhook's one typed HTTP error: anything a handler rejects is thrown as an HttpError
 * and turned into a JSON body `{"error": message}` by the server's single error handler.
 */

/** An HTTP error with a status code and a message safe to show to the client. */
export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;
  /** Extra context for the log line only (never sent to the client). */
  readonly detail: string | undefined;

  constructor(status: number, message: string, detail?: string) {
    super(message);
    this.status = status;
    this.detail = detail;
  }
}
