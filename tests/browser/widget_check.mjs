// Drives the demo page in headless Chromium and prints what the guest saw, as JSON.
// Usage: node tests/browser/widget_check.mjs BASE_URL SCREENSHOT_PATH
// Called by tests/integration/test_widget_browser.py, which makes the assertions.
import { watchedPage, withBrowser } from "./chromium.mjs";

const [base, screenshot] = process.argv.slice(2);
const out = { pageErrors: [], asks: [] };
const WAIT = { timeout: 30000 };

await withBrowser(async (context) => {
  const page = await watchedPage(context, out);
  await page.goto(base + "/", { waitUntil: "load" });

  const launch = page.locator(".launch");
  const panel = page.locator(".panel");
  await launch.waitFor(WAIT);
  out.expandedBefore = await launch.getAttribute("aria-expanded");
  out.controls = await launch.getAttribute("aria-controls");
  out.panelId = await panel.getAttribute("id");
  out.role = await panel.getAttribute("role");

  // Keyboard only: focus the launcher, open it with Enter, type, send with Enter.
  await launch.focus();
  await page.keyboard.press("Enter");
  await panel.waitFor({ state: "visible", ...WAIT });
  out.expandedOpen = await launch.getAttribute("aria-expanded");
  out.focusInInput = await page.evaluate(
    () => document.querySelector("[data-concierge-widget]").shadowRoot.activeElement?.tagName,
  );
  await page.keyboard.type("What time is check-out?");
  await page.keyboard.press("Enter");
  const answer = page.locator(".msg.bot:not(.pending)").nth(1);
  await answer.locator(".src li").first().waitFor(WAIT);
  out.answer = await answer.locator(".text").textContent();
  out.sources = await answer.locator(".src li b").allTextContents();
  out.snippets = await answer.locator(".src li span").allTextContents();
  await page.waitForFunction(() => {
    const root = document.querySelector("[data-concierge-widget]").shadowRoot;
    return root.querySelector("[aria-live]").textContent.length > 0;
  }, null, WAIT);
  out.live = await page.locator("[aria-live]").textContent();
  await page.screenshot({ path: screenshot });

  // A question the knowledge base cannot answer: a polite hand-off to the front desk.
  await page.locator("input").fill("Can I land my helicopter on the roof?");
  await page.locator("input").press("Enter");
  const handoff = page.locator(".msg.bot:not(.pending)").nth(2);
  await handoff.locator("a.act").waitFor(WAIT);
  out.escalateText = await handoff.locator(".text").textContent();
  out.escalateHref = await handoff.locator("a.act").getAttribute("href");

  // The service is unavailable: the same hand-off, and nothing thrown into the page.
  await page.route("**/ask", (route) =>
    route.fulfill({ status: 503, contentType: "application/json", headers: { "retry-after": "1" },
      body: JSON.stringify({ error: { code: "overloaded", message: "busy", request_id: "x" } }) }));
  await page.locator("input").fill("Is breakfast included?");
  await page.locator("input").press("Enter");
  const down = page.locator(".msg.bot:not(.pending)").nth(3);
  await down.locator("a.act").waitFor(WAIT);
  out.unavailableText = await down.locator(".text").textContent();

  // A streaming server: sources, deltas split mid-line, then done.
  await page.unroute("**/ask");
  const done = {
    answer: "Breakfast is served from 06:30 to 10:30. [1]", citations: [1], cached: false,
    escalate: false, answer_source: "extractive", request_id: "r1",
    sources: [{ n: 1, document_id: "breakfast.md", title: "Breakfast", chunk_id: 1, score: 0.8,
      text: "Breakfast is served in the Quay Room from 06:30 to 10:30 every day." }],
  };
  const events =
    `event: sources\ndata: ${JSON.stringify({ sources: done.sources, request_id: "r1" })}\n\n` +
    `: keep-alive\r\n\r\n` +
    `event: delta\ndata: {"text": "Breakfast is served "}\n\n` +
    `event: delta\ndata: {"text": "from 06:30 to 10:30. [1]"}\n\n` +
    `event: done\ndata: ${JSON.stringify(done)}\n\n`;
  await page.route("**/ask", (route) =>
    route.fulfill({ status: 200, contentType: "text/event-stream", body: events }));
  await page.locator("input").fill("When is breakfast?");
  await page.locator("input").press("Enter");
  const streamed = page.locator(".msg.bot:not(.pending)").nth(4);
  await streamed.locator(".src li").first().waitFor(WAIT);
  out.streamedAnswer = await streamed.locator(".text").textContent();
  out.streamedSources = await streamed.locator(".src li b").allTextContents();

  // Escape closes the dialog and gives focus back to the launcher.
  await page.locator("input").focus();
  await page.keyboard.press("Escape");
  await panel.waitFor({ state: "hidden", ...WAIT });
  out.expandedAfter = await launch.getAttribute("aria-expanded");
  out.focusAfterClose = await page.evaluate(
    () => document.querySelector("[data-concierge-widget]").shadowRoot.activeElement?.className,
  );
  out.sessionStored = await page.evaluate(() => sessionStorage.getItem("concierge-session:harbour-grand"));

  // Host pages with hostile markup: a property id that names an Object member, and contact
  // URLs of every kind; the service is unavailable, so the hand-off shows the contact link.
  out.hostHandoffs = [];
  for (const [property, contact] of [
    ["constructor", "javascript:alert(document.domain)"],
    ["__proto__", "data:text/html,<script>alert(1)</script>"],
    ["toString", "https://example.com/contact"],
    ["hasOwnProperty", "mailto:desk@example.com"],
  ]) {
    const host = await context.newPage();
    host.on("pageerror", (e) => out.pageErrors.push(String(e)));
    const markup = `<!doctype html><html lang="en"><body><h1>Host</h1>
<script src="${base}/widget.js" data-property="${property}" data-contact-url="${contact.replace(/"/g, "&quot;")}"></script>
</body></html>`;
    await host.route(base + "/host.html", (route) =>
      route.fulfill({ status: 200, contentType: "text/html", body: markup }));
    await host.route("**/ask", (route) =>
      route.fulfill({ status: 503, contentType: "application/json", headers: { "retry-after": "1" },
        body: JSON.stringify({ error: { code: "unavailable", message: "down", request_id: "x" } }) }));
    await host.goto(base + "/host.html", { waitUntil: "load" });
    const seenHere = { property, widgets: 0, href: null };
    out.hostHandoffs.push(seenHere);
    try {
      await host.locator(".launch").waitFor({ timeout: 5000 });
    } catch (_) {
      await host.close();
      continue;
    }
    seenHere.widgets = await host.locator("[data-concierge-widget]").count();
    await host.locator(".launch").click();
    await host.locator("input").fill("Is the pool open?");
    await host.locator("input").press("Enter");
    const reply = host.locator(".msg.bot:not(.pending)").nth(1);
    await reply.waitFor(WAIT);
    await reply.locator(".text").filter({ hasText: /./ }).waitFor(WAIT);
    const links = reply.locator("a");
    seenHere.href = (await links.count()) ? await links.first().getAttribute("href") : null;
    await host.close();
  }
});
console.log(JSON.stringify(out));
