import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { account, description, fakeApi, session } from "../test-api";
import { Transfer } from "./Transfer";

afterEach(() => vi.unstubAllGlobals());

const accounts = {
  status: 200,
  body: { accounts: [account("a1", "Everyday", 10000), account("a2", "Savings", 0)] },
};

describe("Transfer", () => {
  it("sends minor units, and retries with the same key until the api answers", async () => {
    let drop = true;
    const calls = fakeApi((call) => {
      if (call.path.startsWith("/api/v1/accounts")) return accounts;
      if (drop) {
        drop = false;
        return "drop";
      }
      return { status: 201, body: { id: "m1", kind: "transfer", amount: call.body && (call.body as { amount: number }).amount, currency: "EUR" } };
    });
    const user = userEvent.setup();
    render(<Transfer session={session} changes={0} />);
    await user.type(await screen.findByLabelText("Amount (EUR)"), "12.5");
    const send = screen.getByRole("button", { name: "Send money" });

    await user.click(send);
    expect((await screen.findByRole("alert")).textContent).toMatch(/the bank carries out the same request at most once/);
    await user.click(send);
    await screen.findByText("Sent €12.50 from Everyday to Savings.");

    await user.type(screen.getByLabelText("Amount (EUR)"), "12.5");
    await user.click(send);
    await screen.findByText("Sent €12.50 from Everyday to Savings.");

    const transfers = calls.filter((call) => call.path === "/api/v1/transfers");
    expect(transfers.map((call) => call.body)).toEqual(
      Array(3).fill({ from_account_id: "a1", to_account_id: "a2", amount: 1250 }),
    );
    const keys = transfers.map((call) => call.headers["Idempotency-Key"]);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
    expect(transfers.every((call) => call.headers.Authorization === "Bearer token-1")).toBe(true);
  });

  it("refuses an amount the currency cannot hold before sending anything", async () => {
    const calls = fakeApi(() => accounts);
    const user = userEvent.setup();
    render(<Transfer session={session} changes={0} />);
    const amount = await screen.findByLabelText("Amount (EUR)");
    await user.type(amount, "1.999");
    await user.click(screen.getByRole("button", { name: "Send money" }));
    await screen.findByText("At most 2 decimal places.");
    expect(description(amount)).toMatch(/At most 2 decimal places\.$/);
    expect(document.activeElement).toBe(amount);
    expect(calls.some((call) => call.path === "/api/v1/transfers")).toBe(false);
  });

  it("shows an overdraft beside the amount, with what the account holds", async () => {
    fakeApi((call) =>
      call.path === "/api/v1/transfers"
        ? {
            status: 409,
            body: {
              error: {
                code: "insufficient_funds",
                message: "1 invalid field; see fields",
                fields: [{ field: "amount", message: "the account holds 10000 EUR (minor units), less than the 50000 asked for" }],
              },
            },
          }
        : accounts,
    );
    const user = userEvent.setup();
    render(<Transfer session={session} changes={0} />);
    await user.type(await screen.findByLabelText("Amount (EUR)"), "500");
    await user.click(screen.getByRole("button", { name: "Send money" }));
    await screen.findByText("More than the account holds. Everyday holds €100.00.");
    expect(screen.queryByRole("alert")).toBeNull();
  });
});
