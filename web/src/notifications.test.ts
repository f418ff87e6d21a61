import { renderHook, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeApi } from "./test-api";
import { useInbox } from "./notifications";

afterEach(() => vi.unstubAllGlobals());

const note = (id: number, message: string) => ({
  id,
  kind: "transfer",
  message,
  created_at: "2026-11-24T10:00:00Z",
  read_at: null,
});

describe("useInbox", () => {
  it("polls, and counts an arrival only for a notification newer than the first seen", async () => {
    const old = { status: 200, body: { notifications: [note(1, "old news")], unread: 1 } };
    const news = {
      status: 200,
      body: { notifications: [note(2, "Received 5.00 EUR"), note(1, "old news")], unread: 2 },
    };
    let stage: "old" | "drop" | "new" = "old";
    const calls = fakeApi(() => {
      if (stage === "old") return old;
      if (stage === "drop") {
        stage = "new";
        return "drop";
      }
      return news;
    });
    const { result } = renderHook(() => useInbox("token-1", 10));

    await waitFor(() => expect(result.current.unread).toBe(1));
    expect(result.current.arrivals).toBe(0);
    expect(result.current.latest).toBeNull();
    await new Promise((done) => setTimeout(done, 50));
    expect(result.current.arrivals).toBe(0);

    // Past a dropped poll, on to the new notification.
    stage = "drop";
    await waitFor(() => expect(result.current.unread).toBe(2));
    expect(result.current.arrivals).toBe(1);
    expect(result.current.latest?.message).toBe("Received 5.00 EUR");
    expect(calls[0].path).toBe("/api/v1/notifications?size=20");
    expect(calls[0].headers.Authorization).toBe("Bearer token-1");
  });

  it("asks nothing when signed out", async () => {
    const calls = fakeApi(() => ({ status: 200, body: { notifications: [], unread: 0 } }));
    renderHook(() => useInbox(null, 10));
    await new Promise((done) => setTimeout(done, 50));
    expect(calls).toEqual([]);
  });
});
