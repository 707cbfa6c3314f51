// A guest's request in the widget (one browser context) reaches the staff console (another
// context) live, is acknowledged there with the keyboard, and the guest sees the new status.
// Usage: node tests/browser/console_check.mjs BASE_URL STAFF_TOKEN SCREENSHOT_PATH
// Called by tests/integration/test_console_browser.py, which makes the assertions.
import { chromium } from "playwright-core";
import { args, executablePath } from "./chromium.mjs";

const [base, token, screenshot] = process.argv.slice(2);
const WAIT = { timeout: 30000 };
const out = { pageErrors: [] };

const browser = await chromium.launch({ executablePath, headless: true, args });
try {
  const staffContext = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const guestContext = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const staff = await staffContext.newPage();
  const guest = await guestContext.newPage();
  for (const page of [staff, guest]) page.on("pageerror", (e) => out.pageErrors.push(String(e)));

  // Staff signs in with the keyboard and waits for the live feed.
  await staff.goto(base + "/admin/console", { waitUntil: "load" });
  await staff.locator("#token").waitFor(WAIT);
  out.focusAtStart = await staff.evaluate(() => document.activeElement && document.activeElement.id);
  await staff.keyboard.type(token);
  await staff.keyboard.press("Tab");
  await staff.keyboard.type("harbour-grand");
  await staff.keyboard.press("Enter");
  await staff.locator("#live", { hasText: "live" }).waitFor(WAIT);
  out.tasksBefore = await staff.locator("li.task").count();
  out.loginHidden = await staff.locator("#login").isHidden();

  // The guest's page: the widget, polling its request's status every second.
  await guest.route(base + "/guest", (route) => route.fulfill({
    status: 200, contentType: "text/html",
    body: `<!doctype html><html lang="en"><body><h1>Harbour Grand</h1>` +
      `<script src="${base}/widget.js" data-property="harbour-grand" data-poll-ms="1000" defer></script></body></html>`,
  }));
  await guest.goto(base + "/guest", { waitUntil: "load" });
  await guest.locator(".launch").click();
  await guest.locator("input").fill("Can I get extra towels sent to room 412?");
  await guest.locator("input").press("Enter");
  const reply = guest.locator(".msg.bot:not(.pending)").nth(1);
  await reply.locator(".task").waitFor(WAIT);
  out.guestReply = await reply.locator(".text").textContent();
  out.ref = await reply.locator(".task").getAttribute("data-ref");
  out.guestStatusBefore = await reply.locator(".task b").textContent();

  // It appears in the console without a reload, and is acknowledged with the keyboard.
  const item = staff.locator(`li.task[data-ref="${out.ref}"]`);
  await item.waitFor(WAIT);
  out.consoleText = await item.textContent();
  const ack = item.getByRole("button", { name: `Acknowledge ${out.ref}` });
  await ack.focus();
  await staff.keyboard.press("Enter");
  await staff.locator(`li.task[data-ref="${out.ref}"][data-status="acknowledged"]`).waitFor(WAIT);
  out.consoleStatus = await staff.locator(`li.task[data-ref="${out.ref}"]`).getAttribute("data-status");
  await staff.screenshot({ path: screenshot });

  // The guest's session sees the new status.
  await reply.locator(".task b", { hasText: "on its way" }).waitFor(WAIT);
  out.guestStatusAfter = await reply.locator(".task b").textContent();

  // The thumbs on an answer are buttons with a pressed state.
  await guest.locator("input").fill("What time is check-out?");
  await guest.locator("input").press("Enter");
  const answer = guest.locator(".msg.bot:not(.pending)").nth(2);
  const down = answer.getByRole("button", { name: "Not helpful" });
  await down.waitFor(WAIT);
  const sent = guest.waitForRequest((r) => r.url().endsWith("/feedback") && r.method() === "POST");
  await down.click();
  out.feedback = JSON.parse((await sent).postData());
  out.downPressed = await down.getAttribute("aria-pressed");
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
