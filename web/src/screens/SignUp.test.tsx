import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { description, fakeApi } from "../test-api";
import { SignUp } from "./SignUp";

afterEach(() => vi.unstubAllGlobals());

describe("SignUp", () => {
  it("puts each of the api's field errors beside its field and focuses the first", async () => {
    const calls = fakeApi(() => ({
      status: 422,
      body: {
        error: {
          code: "validation_failed",
          message: "2 invalid fields; see fields",
          fields: [
            { field: "email", message: "\"nope\" is not a valid email address" },
            { field: "password", message: "must be 8 to 128 characters long" },
          ],
          request_id: "r1",
        },
      },
    }));
    const user = userEvent.setup();
    render(<SignUp onSignedIn={() => {}} onCreated={() => {}} />);
    await user.type(screen.getByLabelText("Username"), "ada");
    await user.type(screen.getByLabelText("Email"), "nope");
    await user.type(screen.getByLabelText("Password"), "short");
    await user.click(screen.getByRole("button", { name: "Create account" }));

    const email = screen.getByLabelText("Email");
    await waitFor(() => expect(email).toHaveProperty("ariaInvalid", "true"));
    expect(description(email)).toBe("\"nope\" is not a valid email address.");
    expect(description(screen.getByLabelText("Password"))).toBe(
      "8 to 128 characters Must be 8 to 128 characters long.",
    );
    expect(screen.getByLabelText("Username")).toHaveProperty("ariaInvalid", "false");
    expect(document.activeElement).toBe(email);
    expect(screen.queryByRole("alert")).toBeNull();
    expect(calls[0].body).toEqual({ username: "ada", email: "nope", password: "short" });
  });

  it("sends someone whose account was made but not signed in to sign in, not to sign up again", async () => {
    fakeApi((call) =>
      call.path === "/api/v1/users"
        ? { status: 201, body: { id: "u1", username: "ada", email: "ada@example.com" } }
        : "drop",
    );
    const created = vi.fn();
    const user = userEvent.setup();
    render(<SignUp onSignedIn={() => {}} onCreated={created} />);
    await user.type(screen.getByLabelText("Username"), "ada");
    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "long enough password");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    await waitFor(() => expect(created).toHaveBeenCalledOnce());
    expect(created.mock.calls[0][0]).toMatch(/^Your account was created, but signing you in failed .*Sign in to continue\.$/);
  });

  it("shows an error without fields as the form's alert", async () => {
    fakeApi(() => ({
      status: 429,
      body: { error: { code: "too_many_requests", message: "too many sign-ups; try again in 1 hour" } },
    }));
    const user = userEvent.setup();
    render(<SignUp onSignedIn={() => {}} onCreated={() => {}} />);
    await user.click(screen.getByRole("button", { name: "Create account" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toBe("Too many sign-ups; try again in 1 hour.");
    expect(document.activeElement).toBe(alert);
  });
});
