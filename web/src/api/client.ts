// Every call to the api: one place that adds the token, reads the one error shape and
// turns a dropped connection into an error a form can show.

export interface FieldProblem {
  field: string;
  message: string;
}

/** The api's error shape: `{"error": {"code", "message", "fields": [...]}}`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldProblem[];

  constructor(status: number, code: string, message: string, fields: FieldProblem[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }

  /** No answer came: the request may or may not have been carried out. */
  get unanswered(): boolean {
    return this.status === 0 || this.status >= 500 || this.code === "idempotency_key_in_use";
  }
}

/** Called with the token the api no longer accepts (expired, or signed out elsewhere). */
let onSignedOut: ((token: string) => void) | null = null;
export function whenSignedOut(handler: ((token: string) => void) | null): void {
  onSignedOut = handler;
}

export interface CallOptions {
  method?: "GET" | "POST" | "DELETE";
  body?: unknown;
  token?: string | null;
  headers?: Record<string, string>;
}

/** How long a call may take before the app stops waiting and says so. */
export const CALL_TIMEOUT_MS = 20000;

const unreachable = () =>
  new ApiError(0, "unreachable", "The bank could not be reached. Check your connection and try again.");

export async function call<T>(path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let response: Response;
  let text: string;
  try {
    response = await fetch(path, {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    // Reading the body can fail too (the connection dropped after the status line): that
    // is no answer either, so a movement keeps its key for the retry.
    text = await response.text();
  } catch (error) {
    if (error instanceof DOMException && error.name === "TimeoutError") {
      throw new ApiError(0, "timeout", "The bank did not answer in time. Check your connection and try again.");
    }
    throw unreachable();
  }
  if (response.status === 204) return undefined as T;
  let json: unknown = undefined;
  let readable = true;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    // Not JSON: a proxy's error page (reported below by status), or a cut-off answer.
    readable = false;
  }
  if (response.ok) {
    if (!readable) throw unreachable();
    return json as T;
  }
  const error = readError(response.status, json);
  if (response.status === 401 && options.token) onSignedOut?.(options.token);
  throw error;
}

function readError(status: number, json: unknown): ApiError {
  const body = (json as { error?: { code?: unknown; message?: unknown; fields?: unknown } })
    ?.error;
  if (body && typeof body.code === "string" && typeof body.message === "string") {
    const fields = Array.isArray(body.fields)
      ? body.fields.filter(
          (f): f is FieldProblem =>
            typeof f?.field === "string" && typeof f?.message === "string",
        )
      : [];
    return new ApiError(status, body.code, sentence(body.message), fields);
  }
  return new ApiError(
    status,
    "unexpected",
    status >= 500
      ? "The bank is having trouble right now. Try again in a moment."
      : `The bank answered ${status}.`,
  );
}

/** The api's messages are lower-case fragments ("must be 8 to 128 characters long"). */
export function sentence(message: string): string {
  const text = message.trim();
  if (text === "") return text;
  const capital = text[0].toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
