// Every flow of the web app in a real browser, against a real api, worker, PostgreSQL and
// RabbitMQ (started by api/tests/api/web_app.rs, which passes APP_URL). The steps share
// one browser page and run in order, as one person's visit.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, openBrowser, openPage, screen, step } from "./browser.mjs";

const run = Date.now().toString(36);
const person = { username: `ada_${run}`, email: `ada_${run}@example.com`, password: "a long enough passphrase" };

describe("the web app", () => {
  let session;
  let page;
  const it = (name, body) => test(name, (t) => step(session, t, name, body));

  before(async () => {
    session = await openBrowser();
    page = session.page;
  });
  after(async () => {
    await session?.browser.close();
  });

  const heading = (name) => page.getByRole("heading", { level: 1, name });
  const button = (name) => page.getByRole("button", { name, exact: true });

  /** The error shown for the field labelled `label`: tied to it by aria-describedby. */
  async function fieldError(label, scope = page) {
    const field = scope.getByLabel(label, { exact: true });
    assert.equal(await field.getAttribute("aria-invalid"), "true", `${label} is marked invalid`);
    const ids = ((await field.getAttribute("aria-describedby")) ?? "").split(" ");
    const errorId = ids.find((id) => id.endsWith("-error"));
    assert.ok(errorId, `${label} names its error`);
    const error = page.locator(`[id="${errorId}"]`);
    // Next to the field: in the same field group.
    const group = field.locator("xpath=..");
    assert.equal(await group.locator(`[id="${errorId}"]`).count(), 1);
    return (await error.textContent()).trim();
  }

  const focusedLabel = () =>
    page.evaluate(() => {
      const active = document.activeElement;
      return active?.labels?.[0]?.textContent ?? active?.textContent ?? "";
    });

  async function balanceOf(name) {
    await page.getByRole("link", { name: "Accounts", exact: true }).click();
    await heading("Your accounts").waitFor();
    const row = page.getByRole("row").filter({ has: page.getByRole("link", { name, exact: true }) });
    return (await row.getByRole("cell").last().textContent()).trim();
  }

  it("asks to sign in first, and shows the api's field errors beside the sign-up fields", async () => {
    await page.goto("/app/accounts");
    await heading("Sign in").waitFor();
    assert.match(page.url(), /\/app\/sign-in$/);
    await screen(page, "sign-in");

    await page.getByRole("link", { name: "Create an account" }).click();
    await heading("Create your account").waitFor();
    await page.getByLabel("Username", { exact: true }).fill("a!");
    await page.getByLabel("Email", { exact: true }).fill("not-an-email");
    await page.getByLabel("Password", { exact: true }).fill("short");
    await button("Create account").click();
    await eventually("the username's error", async () => (await fieldError("Username")).length > 0);
    assert.match(await fieldError("Username"), /characters|letters/);
    assert.match(await fieldError("Email"), /email/i);
    assert.match(await fieldError("Password"), /8 to 128 characters/);
    assert.equal(await focusedLabel(), "Username", "focus moves to the first field in error");
    await screen(page, "sign-up-errors");

    await page.getByLabel("Username", { exact: true }).fill(person.username);
    await page.getByLabel("Email", { exact: true }).fill(person.email);
    await page.getByLabel("Full name (optional)").fill("Ada Lovelace");
    await page.getByLabel("Password", { exact: true }).fill(person.password);
    await button("Create account").click();
    await heading("Your accounts").waitFor();
    await page.getByText("You have no accounts yet").waitFor();
  });

  it("signs out, refuses a wrong password and signs in with the keyboard alone", async () => {
    await button("Sign out").click();
    await heading("Sign in").waitFor();
    await page.getByText("You have signed out.").waitFor();

    await page.getByLabel("Username or email").fill(person.username);
    await page.getByLabel("Password").fill("not the password");
    await button("Sign in").click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.equal((await alert.textContent()).trim(), "Invalid username, email or password.");
    await screen(page, "sign-in-failed");

    // The keyboard alone: from the heading, Tab reaches the fields and the button in order.
    await heading("Sign in").focus();
    await page.keyboard.press("Tab");
    assert.equal(await focusedLabel(), "Username or email");
    await page.keyboard.press("Control+A");
    await page.keyboard.type(person.email);
    await page.keyboard.press("Tab");
    assert.equal(await focusedLabel(), "Password");
    await page.keyboard.press("Control+A");
    await page.keyboard.type(person.password);
    await page.keyboard.press("Tab");
    assert.equal(await focusedLabel(), "Sign in");
    await page.keyboard.press("Enter");
    await heading("Your accounts").waitFor();
    assert.equal(
      await page.evaluate(() => document.activeElement?.tagName),
      "H1",
      "the new screen's heading takes focus",
    );
  });

  it("opens accounts", async () => {
    for (const name of ["Everyday", "Savings", "Spare"]) {
      await page.getByLabel("Account name").fill(name);
      await page.getByLabel("Currency").selectOption("EUR");
      await button("Open account").click();
      await page.getByRole("status").filter({ hasText: `Opened ${name} (EUR).` }).waitFor();
    }
    assert.equal(await balanceOf("Everyday"), "€0.00");
  });

  it("deposits and withdraws in the currency's units", async () => {
    await page.getByRole("link", { name: "Everyday", exact: true }).click();
    await heading("Everyday").waitFor();
    const deposit = page.getByRole("form", { name: "Deposit" });
    const withdrawal = page.getByRole("form", { name: "Withdraw" });

    await deposit.getByLabel("Amount (EUR)").fill("12.345");
    await deposit.getByRole("button", { name: "Deposit" }).click();
    await eventually("the amount's error", async () =>
      /At most 2 decimal places/.test(await fieldError("Amount (EUR)", deposit)),
    );

    await deposit.getByLabel("Amount (EUR)").fill("100.50");
    await deposit.getByLabel("Description (optional)").fill("Salary");
    await deposit.getByRole("button", { name: "Deposit" }).click();
    await deposit.getByText("Deposited €100.50.").waitFor();
    await eventually("the new balance", async () =>
      (await page.getByTestId("balance").textContent()) === "€100.50",
    );

    await withdrawal.getByLabel("Amount (EUR)").fill("20");
    await withdrawal.getByRole("button", { name: "Withdraw" }).click();
    await withdrawal.getByText("Withdrew €20.00.").waitFor();
    await eventually("the balance after withdrawing", async () =>
      (await page.getByTestId("balance").textContent()) === "€80.50",
    );

    const rows = page.getByRole("table").getByRole("row");
    await eventually("two statement lines", async () => (await rows.count()) === 3);
    assert.match(await rows.nth(1).textContent(), /Withdrawal.*-€20\.00.*€80\.50/);
    assert.match(await rows.nth(2).textContent(), /Salary.*€100\.50.*€100\.50/);
    await screen(page, "account");
  });

  it("transfers once, even when a click is retried after the answer was lost", async () => {
    await page.getByRole("link", { name: "Transfer", exact: true }).click();
    await heading("Transfer money").waitFor();
    const keys = [];
    let replayed = null;
    let lose = true;
    await page.route("**/api/v1/transfers", async (route) => {
      keys.push(await route.request().headerValue("idempotency-key"));
      if (lose) {
        // The api carries the transfer out; its answer never reaches the browser.
        lose = false;
        await route.fetch();
        await route.abort("connectionreset");
        return;
      }
      const response = await route.fetch();
      replayed = response.headers()["idempotent-replayed"] ?? null;
      await route.fulfill({ response });
    });

    await page.getByLabel("From").selectOption({ label: "Everyday · €80.50" });
    await page.getByLabel("To", { exact: true }).selectOption({ label: "Savings" });
    await page.getByLabel("Amount (EUR)").fill("30.25");
    await page.getByLabel("Description (optional)").fill("Rainy day");
    await button("Send money").click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.match(await alert.textContent(), /the bank carries out the same request at most once/);

    await button("Send money").click();
    await page.getByText("Sent €30.25 from Everyday to Savings.").waitFor();
    await page.unroute("**/api/v1/transfers");
    assert.equal(keys.length, 2);
    assert.ok(keys[0], "the transfer sends an Idempotency-Key");
    assert.equal(keys[1], keys[0], "the retry sends the same key");
    assert.equal(replayed, "true", "the api answered the retry from the first transfer");
    await screen(page, "transfer");

    assert.equal(await balanceOf("Savings"), "€30.25", "the money moved once");
    assert.equal(await balanceOf("Everyday"), "€50.25");
  });

  it("refuses an overdrawn transfer beside the amount", async () => {
    await page.getByRole("link", { name: "Transfer", exact: true }).click();
    await heading("Transfer money").waitFor();
    await page.getByLabel("From").selectOption({ label: "Everyday · €50.25" });
    await page.getByLabel("Amount (EUR)").fill("1000");
    await button("Send money").click();
    await eventually("the amount's error", async () =>
      /More than the account holds\. Everyday holds €50\.25\./.test(await fieldError("Amount (EUR)")),
    );
    assert.equal(await focusedLabel(), "Amount (EUR)");
    await screen(page, "transfer-overdrawn");
    assert.equal(await balanceOf("Everyday"), "€50.25");
  });

  it("sends money to someone else's account, which they see arrive without a reload", async () => {
    const other = await openPage(session.browser);
    try {
      const them = other.page;
      await them.goto("/app/sign-up");
      await them.getByLabel("Username", { exact: true }).fill(`bo_${run}`);
      await them.getByLabel("Email", { exact: true }).fill(`bo_${run}@example.com`);
      await them.getByLabel("Password", { exact: true }).fill(person.password);
      await them.getByRole("button", { name: "Create account", exact: true }).click();
      await them.getByRole("heading", { level: 1, name: "Your accounts" }).waitFor();
      await them.getByLabel("Account name").fill("Wallet");
      await them.getByRole("button", { name: "Open account", exact: true }).click();
      await them.getByRole("link", { name: "Wallet", exact: true }).click();
      const id = (await them.getByTestId("account-id").textContent()).trim();
      assert.equal(await them.getByTestId("balance").textContent(), "€0.00");
      await them.evaluate(() => {
        window.stillTheSamePage = true;
      });

      await page.getByRole("link", { name: "Transfer", exact: true }).click();
      await heading("Transfer money").waitFor();
      await page.getByLabel("From").selectOption({ label: "Everyday · €50.25" });
      await page.getByLabel("To", { exact: true }).selectOption({ label: "Someone else's account…" });
      await page.getByLabel("Their account id").fill(id);
      await page.getByLabel("Amount (EUR)").fill("5");
      await button("Send money").click();
      await page.getByText("Sent €5.00 from Everyday to the other account.").waitFor();

      await eventually("the money on their screen", async () =>
        (await them.getByTestId("balance").textContent()) === "€5.00", 20000);
      await eventually("their unread count", async () =>
        (await them.getByTestId("unread").textContent()).startsWith("1"), 20000);
      assert.equal(await them.evaluate(() => window.stillTheSamePage), true, "no reload happened");
      await screen(them, "received");
    } catch (error) {
      process.stderr.write(`--- the other person's browser console:\n${other.console.join("\n")}\n`);
      throw error;
    } finally {
      await other.context.close();
    }
  });

  it("shows notifications as they arrive, without a reload", async () => {
    await page.evaluate(() => {
      window.stillTheSamePage = true;
    });
    const badge = page.getByTestId("unread");
    await eventually("the unread count", async () => /^[1-9]/.test(await badge.textContent()), 20000);
    assert.equal(await page.evaluate(() => window.stillTheSamePage), true, "no reload happened");

    await page.getByRole("link", { name: /^Notifications/ }).click();
    await heading("Notifications").waitFor();
    const items = page.getByRole("listitem").filter({ hasText: "30.25" });
    await eventually("the transfer's notification", async () => (await items.count()) > 0, 20000);
    await eventually("all three movements notified", async () =>
      (await page.getByRole("list").last().getByRole("listitem").count()) >= 3,
    20000);
    await screen(page, "notifications");

    await button("Mark all as read").click();
    await page.getByText("Nothing unread.").waitFor();
    await eventually("the badge to go", async () => (await badge.count()) === 0);
  });

  it("closes only an empty account", async () => {
    await page.getByRole("link", { name: "Accounts", exact: true }).click();
    await page.getByRole("link", { name: "Savings", exact: true }).click();
    await heading("Savings").waitFor();
    await button("Close Savings").click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.equal(
      (await alert.textContent()).trim(),
      "Only an empty account can be closed: move its money out first. Savings holds €30.25.",
    );

    await page.getByRole("link", { name: "← All accounts" }).click();
    await page.getByRole("link", { name: "Spare", exact: true }).click();
    await heading("Spare").waitFor();
    await button("Close Spare").click();
    const closed = page.getByRole("status").filter({ hasText: "Spare is closed" });
    await closed.waitFor();
    assert.equal(
      await closed.evaluate((note) => note === document.activeElement),
      true,
      "focus moves to the note that replaced the form",
    );
    await page.getByRole("link", { name: "← All accounts" }).click();
    await heading("Your accounts").waitFor();
    await screen(page, "accounts");
  });

  it("signs out everywhere", async () => {
    const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem("bank.session")).token);
    await button("Sign out").click();
    await heading("Sign in").waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("bank.session")), null);
    const status = await page.evaluate(
      async (token) =>
        (await fetch("/api/v1/accounts", { headers: { Authorization: `Bearer ${token}` } })).status,
      token,
    );
    assert.equal(status, 401, "the old token no longer works");
    await page.goto("/app/transfer");
    await heading("Sign in").waitFor();
  });

  it("broke no rule of the content security policy", () => {
    const violations = session.console.filter((line) => /Content Security Policy/i.test(line));
    assert.deepEqual(violations, []);
    const crashes = session.console.filter((line) => line.startsWith("[pageerror]"));
    assert.deepEqual(crashes, []);
  });
});
