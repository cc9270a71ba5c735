import { test, expect, chromium } from "@playwright/test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hydrated } from "./helpers";

test("Chromium reports the app installable, with a hashed, precached bundle", async ({}, testInfo) => {
  // Installability is not judged in incognito-like contexts: use a real profile.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "mm-pwa-"));
  const launch = testInfo.project.use.launchOptions ?? {};
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: launch.executablePath,
    args: launch.args,
    baseURL: testInfo.project.use.baseURL,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto("/login");
  await hydrated(page);
  const manifest = await page.request.get("/manifest.webmanifest");
  expect(manifest.status()).toBe(200);
  const m = await manifest.json();
  expect(m.icons.map((i: { sizes: string; purpose: string }) => `${i.sizes} ${i.purpose}`)).toEqual(
    expect.arrayContaining(["192x192 maskable", "512x512 maskable", "192x192 any", "512x512 any"]),
  );
  // The worker is registered and controls the page.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller), { timeout: 15_000 }).toBe(true);
  const cdp = await page.context().newCDPSession(page);
  await expect
    .poll(async () => (await cdp.send("Page.getInstallabilityErrors")).installabilityErrors, { timeout: 15_000 })
    .toEqual([]);
  // The worker precaches the hashed wasm this page loaded.
  const sw = await (await page.request.get("/sw.js")).text();
  const wasm = sw.match(/\/pkg\/meetmind\.[^"]+\.wasm/);
  expect(wasm).not.toBeNull();
  expect(await page.content()).toContain(wasm![0].replace(".wasm", ""));
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
});

test("with the network cut, the service worker serves the offline page", async ({ page, context }) => {
  await page.goto("/login");
  await hydrated(page);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller), { timeout: 15_000 }).toBe(true);
  await context.setOffline(true);
  await page.goto("/interviews");
  await expect(page.getByTestId("offline")).toContainText("You are offline");
  await context.setOffline(false);
  // API calls are never answered from the cache.
  const sw = await (await page.request.get("/sw.js")).text();
  expect(sw).toContain('url.pathname.startsWith("/api/")');
});

test("a new deployment is offered with an 'update available, reload' prompt", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller), { timeout: 15_000 }).toBe(true);
  // Deploy a "new build" in place, the way cargo leptos would: a new hashed
  // name in the site folder and a new hash.txt next to the binary. Only the
  // stylesheet changes: the split wasm's chunks import the main module by
  // its hashed name, so a renamed copy of the js/wasm would not be a build.
  const hashFile = path.resolve("../target/debug/hash.txt");
  const pkg = path.resolve(process.env.E2E_SITE_ROOT ?? "../target/site-e2e", "pkg");
  const original = fs.readFileSync(hashFile, "utf8");
  const next = original.replace(/^css: (\S+)$/m, (_, hash) => {
    fs.copyFileSync(path.join(pkg, `meetmind.${hash}.css`), path.join(pkg, `meetmind.${hash}n.css`));
    return `css: ${hash}n`;
  });
  expect(next).not.toEqual(original);
  try {
    fs.writeFileSync(hashFile, next);
    await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r?.update()));
    const banner = page.getByTestId("update-banner");
    await expect(banner).toContainText("A new version of MeetMind is available", { timeout: 15_000 });
    await Promise.all([page.waitForEvent("load"), banner.getByRole("button", { name: "Reload" }).click()]);
    await hydrated(page);
    await expect(page.getByTestId("update-banner")).toHaveCount(0);
    // The page runs the new build, and only the new build's cache is left.
    expect(await page.content()).toMatch(/meetmind\.[^"]+n\.css/);
    await expect
      .poll(() => page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith("meetmind-")).length))
      .toBe(1);
  } finally {
    fs.writeFileSync(hashFile, original);
  }
});
