// Opens /docs and /redoc in headless Chromium with every request off the server blocked, and
// prints what rendered, as JSON. Usage: node tests/browser/docs_check.mjs BASE_URL
// Called by tests/integration/test_docs_browser.py, which makes the assertions.
import { withBrowser } from "./chromium.mjs";

const [base] = process.argv.slice(2);
const out = { blocked: [], pageErrors: [] };
const WAIT = { timeout: 30000 };

await withBrowser(async (context) => {
  // No network but the server: what a CDN would have served fails here.
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(base) || url.startsWith("data:") || url.startsWith("blob:")) {
      return route.continue();
    }
    out.blocked.push(url);
    return route.abort();
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => out.pageErrors.push(String(e)));

  await page.goto(base + "/docs", { waitUntil: "load" });
  await page.locator(".swagger-ui .opblock").first().waitFor(WAIT);
  out.operations = await page.locator(".swagger-ui .opblock").count();
  out.authorize = await page.locator(".swagger-ui button.authorize").count();
  out.title = await page.locator(".swagger-ui .info .title").first().innerText();

  await page.goto(base + "/redoc", { waitUntil: "load" });
  await page.locator("h1").first().waitFor(WAIT);
  out.redocTitle = await page.locator("h1").first().innerText();
  out.redocOperations = await page.locator("[data-section-id^='operation/']").count();
});
console.log(JSON.stringify(out));
