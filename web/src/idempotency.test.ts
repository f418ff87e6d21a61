import { describe, expect, it } from "vitest";
import { RetryKey, newKey } from "./idempotency";

describe("RetryKey", () => {
  it("keeps the key while the same request is retried", () => {
    const keys = new RetryKey();
    const first = keys.keyFor({ amount: 100, to: "a" });
    expect(keys.keyFor({ amount: 100, to: "a" })).toBe(first);
  });

  it("makes a new key for a changed request or after an answer", () => {
    const keys = new RetryKey();
    const first = keys.keyFor({ amount: 100 });
    const changed = keys.keyFor({ amount: 200 });
    expect(changed).not.toBe(first);
    keys.answered();
    expect(keys.keyFor({ amount: 200 })).not.toBe(changed);
  });
});

describe("newKey", () => {
  it("is a random version 4 UUID", () => {
    const key = newKey();
    expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(newKey()).not.toBe(key);
  });
});
