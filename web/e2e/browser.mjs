// The browser side of the end-to-end tests: Debian's Chromium driven by playwright-core
// (no browser download), a page that records its console, and a step wrapper that, on
// failure, saves a screenshot and prints the console into the test output.
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

export const APP_URL = process.env.APP_URL;
if (!APP_URL) {
  throw new Error("set APP_URL to a running api (the test in api/tests/api/web_app.rs does)");
}
export const SCREENSHOTS = resolve(
  process.env.SCREENSHOTS ?? new URL("../../target/web-e2e", import.meta.url).pathname,
);
// One run's screens only: nothing left from an earlier run.
rmSync(SCREENSHOTS, { recursive: true, force: true });
mkdirSync(SCREENSHOTS, { recursive: true });

/** Flags for a headless run in a sandboxed, offline machine: no calls home. */
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function openBrowser() {
  const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
  const browser = await chromium.launch({ executablePath, headless: true, args: FLAGS });
  return { browser, ...(await openPage(browser)) };
}

/** A page in a context of its own (its own storage: another person), recording its console. */
export async function openPage(browser) {
  const context = await browser.newContext({
    baseURL: APP_URL,
    viewport: { width: 1100, height: 760 },
    locale: "en-GB",
  });
  const page = await context.newPage();
  const console = [];
  page.on("console", (message) => console.push(`[${message.type()}] ${message.text()}`));
  page.on("pageerror", (error) => console.push(`[pageerror] ${error.message}`));
  return { context, page, console };
}

export async function screenshot(page, name) {
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/**
 * A screen reached in a flow: its screenshot, and an accessibility check of it with
 * axe-core (labels, names, contrast, landmarks, ARIA use). Fails on any serious or
 * critical finding, naming the rule and the elements.
 */
export async function screen(page, name) {
  await screenshot(page, name);
  // Evaluated through the debugging protocol, which the page's CSP does not govern.
  await page.evaluate(AXE);
  const findings = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  if (findings.length > 0) {
    throw new Error(`accessibility problems on the ${name} screen:\n${findings.join("\n")}`);
  }
}

/** Runs one step; on failure, the page as it was and everything the console said. The
 * steps are one visit: after a failure the rest are skipped, not failed in a cascade. */
export async function step(session, test, name, body) {
  if (session.failed) {
    test.skip(`skipped: "${session.failed}" failed before it`);
    return;
  }
  try {
    await body();
  } catch (error) {
    session.failed = name;
    const slug = name.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
    let saved = "(no screenshot: the page is gone)";
    try {
      saved = await screenshot(session.page, `failure-${slug}`);
    } catch {}
    process.stderr.write(
      `\n--- ${name} failed at ${session.page.url()}\n--- screenshot: ${saved}\n--- browser console:\n` +
        (session.console.length ? session.console.join("\n") : "(empty)") +
        "\n---\n",
    );
    throw error;
  }
}

/** Waits until `check` returns a truthy value (retrying on throws), or fails saying `what`. */
export async function eventually(what, check, timeout = 15000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}
