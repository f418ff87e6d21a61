import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, call, whenSignedOut } from "./client";

afterEach(() => {
  vi.unstubAllGlobals();
  whenSignedOut(null);
});

function answer(response: () => Response | Promise<Response>) {
  vi.stubGlobal("fetch", vi.fn(async () => response()));
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe("call", () => {
  it("reads the api's error shape", async () => {
    answer(
      () =>
        new Response(
          JSON.stringify({
            error: { code: "validation_failed", message: "1 invalid field; see fields", fields: [{ field: "name", message: "must not be empty" }] },
          }),
          { status: 422 },
        ),
    );
    const error = await failure(call("/api/v1/accounts", { body: {} }));
    expect(error.code).toBe("validation_failed");
    expect(error.fields).toEqual([{ field: "name", message: "must not be empty" }]);
    expect(error.unanswered).toBe(false);
  });

  it("counts a dropped connection, a cut-off body and a 5xx as no answer", async () => {
    answer(() => Promise.reject(new TypeError("Failed to fetch")));
    expect((await failure(call("/x"))).unanswered).toBe(true);

    answer(() => new Response('{"id": "m1", "amou', { status: 201 }));
    expect((await failure(call("/x", { body: {} }))).unanswered).toBe(true);

    answer(() => {
      const body = new ReadableStream({
        start(controller) {
          controller.error(new TypeError("network error"));
        },
      });
      return new Response(body, { status: 201 });
    });
    expect((await failure(call("/x", { body: {} }))).unanswered).toBe(true);

    answer(() => new Response("<html>bad gateway</html>", { status: 502 }));
    const gateway = await failure(call("/x"));
    expect(gateway.unanswered).toBe(true);
    expect(gateway.message).toMatch(/trouble/);
  });

  it("reports the token the api refused", async () => {
    const refused: string[] = [];
    whenSignedOut((token) => refused.push(token));
    answer(() => new Response(JSON.stringify({ error: { code: "unauthorized", message: "token expired" } }), { status: 401 }));
    await failure(call("/api/v1/accounts", { token: "old" }));
    expect(refused).toEqual(["old"]);
  });
});
