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
    render(<SignUp onSignedIn={() => {}} />);
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

  it("shows an error without fields as the form's alert", async () => {
    fakeApi(() => ({
      status: 429,
      body: { error: { code: "too_many_requests", message: "too many sign-ups; try again in 1 hour" } },
    }));
    const user = userEvent.setup();
    render(<SignUp onSignedIn={() => {}} />);
    await user.click(screen.getByRole("button", { name: "Create account" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toBe("Too many sign-ups; try again in 1 hour.");
    expect(document.activeElement).toBe(alert);
  });
});
