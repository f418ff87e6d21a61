// A stand-in for the api in component tests: answers by method and path, records calls.
import { vi } from "vitest";

export interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

type Answer = { status: number; body?: unknown } | "drop";

export function fakeApi(answer: (call: Recorded) => Answer) {
  const calls: Recorded[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const call: Recorded = {
      method: init.method ?? "GET",
      path: String(input),
      headers: (init.headers ?? {}) as Record<string, string>,
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    };
    calls.push(call);
    const reply = answer(call);
    if (reply === "drop") throw new TypeError("Failed to fetch");
    return new Response(reply.body === undefined ? null : JSON.stringify(reply.body), {
      status: reply.status,
      headers: { "Content-Type": "application/json" },
    });
  });
  vi.stubGlobal("fetch", fetch);
  return calls;
}

export const session = {
  token: "token-1",
  user: {
    id: "u1",
    username: "ada",
    email: "ada@example.com",
    full_name: "Ada Lovelace",
  },
};

export function account(id: string, name: string, balance: number) {
  return {
    id,
    owner_id: "u1",
    name,
    currency: "EUR",
    currency_exponent: 2,
    balance,
    status: "open",
    created_at: "2026-11-24T10:00:00Z",
  };
}

/** What a screen reader reads as the element's description (its aria-describedby). */
export function description(element: HTMLElement): string {
  return (element.getAttribute("aria-describedby") ?? "")
    .split(" ")
    .filter(Boolean)
    .map((id) => document.getElementById(id)?.textContent ?? "")
    .join(" ");
}
