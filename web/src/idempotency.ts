import { ApiError } from "./api/client";

// A money movement carries an Idempotency-Key: the api carries out each key once and
// answers a repeat with the first answer. The key belongs to one intent: kept while the
// same request is retried after no answer came, replaced once the api has answered or
// the request changes.

export function newKey(): string {
  // crypto.randomUUID needs a secure context; getRandomValues works on plain http too.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class RetryKey {
  private key: string | null = null;
  private request: string | null = null;

  /** The key for `request`: the pending one if this is a retry of it, else a new one. */
  keyFor(request: unknown): string {
    const text = JSON.stringify(request);
    if (this.key === null || this.request !== text) {
      this.key = newKey();
      this.request = text;
    }
    return this.key;
  }

  /** The api answered: the next request, even an identical one, is a new intent. */
  answered(): void {
    this.key = null;
    this.request = null;
  }
}

/**
 * Sends `request` with its key. A definite answer (success or refusal) ends the intent;
 * no answer (a dropped connection, a 5xx, the first try still running) keeps the key, so
 * trying again cannot move the money twice.
 */
export async function sendOnce<T>(
  keys: RetryKey,
  request: unknown,
  perform: (key: string) => Promise<T>,
): Promise<T> {
  const key = keys.keyFor(request);
  try {
    const result = await perform(key);
    keys.answered();
    return result;
  } catch (error) {
    if (!(error instanceof ApiError && error.unanswered)) keys.answered();
    throw error;
  }
}
