// Asks the widget "Is the pool open now?" in headless Chromium and prints what the guest saw.
// Usage: node tests/browser/widget_hours.mjs BASE_URL
// Called by tests/integration/test_widget_hours.py, which makes the assertions.
import { withBrowser } from "./chromium.mjs";

const [base] = process.argv.slice(2);
const WAIT = { timeout: 30000 };
const out = await withBrowser(async (context) => {
  const page = context.pages()[0] || (await context.newPage());
  await page.goto(base + "/", { waitUntil: "load" });
  const launch = page.locator(".launch");
  await launch.waitFor(WAIT);
  await launch.click();
  await page.locator(".panel").waitFor({ state: "visible", ...WAIT });
  await page.keyboard.type("Is the pool open now?");
  await page.keyboard.press("Enter");
  const answer = page.locator(".msg.bot:not(.pending)").nth(1);
  await answer.locator(".src li").first().waitFor(WAIT);
  return {
    answer: await answer.locator(".text").textContent(),
    snippets: await answer.locator(".src li span").allTextContents(),
  };
});
console.log(JSON.stringify(out));
