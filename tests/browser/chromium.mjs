// What the browser checks share: headless Chromium in a profile of its own, deleted after, and
// a page that records its script errors and the questions it sends to /ask.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const args = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

// Runs `use(context)` in a fresh browser context and returns its result.
export async function withBrowser(use) {
  const profile = mkdtempSync(join(tmpdir(), "concierge-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath, headless: true, args, viewport: { width: 1280, height: 800 },
  });
  try {
    return await use(context);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

// The context's first page; its errors go to out.pageErrors, its /ask bodies to out.asks.
export async function watchedPage(context, out) {
  const page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => out.pageErrors.push(String(e)));
  page.on("request", (r) => {
    if (r.url().endsWith("/ask") && r.method() === "POST") out.asks.push(JSON.parse(r.postData()));
  });
  return page;
}
