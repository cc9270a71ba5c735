// Initial load of a page (the dashboard unless PAGE names another path):
// bytes transferred and time until the page is interactive (hydrated), on a
// cold cache, median of RUNS runs, with the range of the time to interactive.
// Not a test. Usage, against a release server with an admin account:
//   BASE=http://127.0.0.1:3000 EMAIL=admin@example.com PASSWORD=... [PAGE=/jobs] node bench/dashboard-load.mjs
import { chromium } from "@playwright/test";

const base = process.env.BASE ?? "http://127.0.0.1:3000";
const runs = Number(process.env.RUNS ?? 5);
const path = process.env.PAGE ?? "/";
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"],
});
const results = [];
for (let i = 0; i < runs; i++) {
  // No service worker: it would serve the bundle from its own cache.
  const ctx = await browser.newContext({ serviceWorkers: "block" });
  const page = await ctx.newPage();
  await page.goto(`${base}/login?next=%2F`);
  await page.waitForSelector('.app[data-hydrated="true"]');
  await page.getByLabel("Email").fill(process.env.EMAIL);
  await page.getByLabel("Password").fill(process.env.PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/`);
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.clearBrowserCache");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  const sizes = new Map();
  cdp.on("Network.responseReceived", (e) => sizes.set(e.requestId, { url: e.response.url, bytes: 0 }));
  cdp.on("Network.loadingFinished", (e) => {
    const r = sizes.get(e.requestId);
    if (r) r.bytes = e.encodedDataLength;
  });
  await page.goto(`${base}${path}`);
  const interactive = await page.waitForFunction(
    () => document.querySelector(".app")?.getAttribute("data-hydrated") === "true" && performance.now(),
  );
  const tti = await interactive.jsonValue();
  await page.waitForTimeout(500);
  // The event stream never finishes; count only what did.
  const total = [...sizes.values()].reduce((s, r) => s + r.bytes, 0);
  results.push({ tti, total, files: [...sizes.values()].filter((r) => r.bytes > 0) });
  await ctx.close();
}
await browser.close();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ttis = results.map((r) => r.tti).sort((a, b) => a - b);
console.log(`page: ${path}, runs: ${runs}`);
console.log(`transferred: median ${median(results.map((r) => r.total))} bytes`);
console.log(`time to interactive (hydrated): median ${median(ttis).toFixed(0)} ms (${ttis[0].toFixed(0)}-${ttis.at(-1).toFixed(0)})`);
console.log(`files: ${results[0].files.length}`);
for (const f of results[0].files) console.log(`  ${f.bytes} B  ${f.url.replace(base, "")}`);
