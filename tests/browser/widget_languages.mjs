// Asks the demo page's widget one question in German and one in Japanese, in headless
// Chromium, and prints what the guest saw, as JSON.
// Usage: node tests/browser/widget_languages.mjs BASE_URL
// Called by tests/integration/test_languages_e5.py, which makes the assertions.
import { watchedPage, withBrowser } from "./chromium.mjs";

const [base] = process.argv.slice(2);
const out = { pageErrors: [], asks: [], answers: [] };
const WAIT = { timeout: 60000 };
const QUESTIONS = ["Wann gibt es Frühstück?", "朝食は何時からですか？"];

await withBrowser(async (context) => {
  const page = await watchedPage(context, out);
  await page.goto(base + "/", { waitUntil: "load" });
  await page.locator(".launch").click();
  await page.locator(".panel").waitFor({ state: "visible", ...WAIT });
  for (const [i, question] of QUESTIONS.entries()) {
    await page.locator("input").fill(question);
    await page.locator("input").press("Enter");
    const reply = page.locator(".msg.bot:not(.pending)").nth(i + 1);
    // The log is busy until the answer (or a hand-over) is shown in full.
    await page.waitForFunction((n) => {
      const root = document.querySelector("[data-concierge-widget]").shadowRoot;
      return root.querySelectorAll(".msg.bot").length > n && !root.querySelector("[aria-busy]");
    }, i + 1, WAIT);
    out.answers.push({
      question,
      text: await reply.locator(".text").textContent(),
      sourcesHeading: (await reply.locator(".src-h").allTextContents())[0] || null,
      sources: await reply.locator(".src li b").allTextContents(),
    });
  }
});
console.log(JSON.stringify(out));
