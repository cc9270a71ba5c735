import { chromium } from "@playwright/test";
const base = "http://127.0.0.1:3900";
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox","--disable-gpu"] });
const ctx = await browser.newContext({ serviceWorkers: "block" });
const page = await ctx.newPage();
page.on("console", m => console.log("console", m.type(), m.text().slice(0, 600)));
page.on("pageerror", e => console.log("pageerror", e.message.slice(0, 300)));
page.on("response", r => { if (r.status() >= 400) console.log("status", r.status(), r.url()); });
await page.goto(`${base}/login?next=%2F`);
await page.waitForSelector('.app[data-hydrated="true"]');
await page.getByLabel("Email").fill("bench@example.com");
await page.getByLabel("Password").fill("bench password 123");
await page.getByRole("button", { name: "Sign in" }).click();
await page.waitForURL(`${base}/`);
console.log("--- client nav done; hydrated attr:", await page.locator(".app").getAttribute("data-hydrated"));
for (const u of (process.env.URLS ?? "/").split(",")) {
  console.log("--- goto", u);
  await page.goto(base + u);
  await page.waitForTimeout(3000);
  console.log("hydrated:", await page.locator(".app").getAttribute("data-hydrated"));
}
await browser.close();
