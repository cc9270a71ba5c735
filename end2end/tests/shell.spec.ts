import { test, expect } from "@playwright/test";
import { ADMIN, hydrated, signIn, watchConsole } from "./helpers";

const NAV = [
  { href: "/", label: "Dashboard" },
  { href: "/jobs", label: "Jobs" },
  { href: "/dlq", label: "Dead letters" },
  { href: "/queues", label: "Queues" },
  { href: "/workflows", label: "Workflows" },
  { href: "/schedules", label: "Cron" },
  { href: "/interviews", label: "Interviews" },
  { href: "/providers", label: "Providers" },
  { href: "/admin/users", label: "Users" },
  { href: "/admin/tokens", label: "Tokens" },
  { href: "/admin/audit", label: "Audit" },
];

test.beforeEach(async ({ page }, info) => {
  if (info.title.startsWith("operational")) return;
  await signIn(page, ADMIN.email, ADMIN.password);
});

test("the shell loads, hydrates and navigates without console errors", async ({ page }) => {
  const problems = watchConsole(page);
  const response = await page.goto("/");
  expect(response?.status()).toBe(200);
  await expect(page).toHaveTitle(/Dashboard · MeetMind/);
  await hydrated(page);

  for (const { href, label } of NAV) {
    await page.locator("#main-nav").getByRole("link", { name: label, exact: true }).click();
    await expect(page).toHaveURL(href);
    await expect(page.locator("main h1")).toHaveText(label === "Audit" ? "Audit log" : label === "Tokens" ? "API tokens" : label === "Cron" ? "Cron schedules" : label);
    await expect(page.locator(`#main-nav a[href="${href}"]`)).toHaveAttribute("aria-current", "page");
  }
  expect(problems).toEqual([]);
});

test("pages load lazily: a page's wasm chunk is fetched on the first visit to its group", async ({ page }) => {
  const problems = watchConsole(page);
  const wasm: string[] = [];
  page.on("request", (r) => {
    if (r.url().endsWith(".wasm")) wasm.push(new URL(r.url()).pathname);
  });
  await page.goto("/");
  await hydrated(page);
  const group = (name: string) => wasm.filter((p) => p.includes(`/split_${name}_view_`)).length;
  expect(group("dashboard")).toBe(1);
  expect(group("admin")).toBe(0);
  expect(group("interview")).toBe(0);
  // Client-side navigation into the admin group fetches its chunk, once.
  await page.locator("#main-nav").getByRole("link", { name: "Jobs", exact: true }).click();
  await expect(page.locator("main h1")).toHaveText("Jobs");
  await page.locator("#main-nav").getByRole("link", { name: "Queues", exact: true }).click();
  await expect(page.locator("main h1")).toHaveText("Queues");
  expect(group("admin")).toBe(1);
  expect(group("interview")).toBe(0);
  expect(problems).toEqual([]);
});

test("client-side navigation does not reload the page", async ({ page }) => {
  const problems = watchConsole(page);
  await page.goto("/");
  await hydrated(page);
  await page.evaluate(() => ((window as any).__marker = "still-here"));
  await page.locator("#main-nav").getByRole("link", { name: "Jobs" }).click();
  await expect(page.locator("main h1")).toHaveText("Jobs");
  expect(await page.evaluate(() => (window as any).__marker)).toBe("still-here");
  expect(problems).toEqual([]);
});

test("on a narrow screen the menu button opens and closes the navigation", async ({ page }) => {
  const problems = watchConsole(page);
  await page.setViewportSize({ width: 390, height: 800 });
  await page.goto("/workflows");
  await hydrated(page);
  const toggle = page.getByRole("button", { name: "Toggle navigation" });
  const nav = page.locator("#main-nav");
  await expect(nav).toBeHidden();
  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-expanded", "true");
  await expect(nav).toBeVisible();
  await nav.getByRole("link", { name: "Providers" }).click();
  await expect(page.locator("main h1")).toHaveText("Providers");
  await expect(nav).toBeHidden();
  expect(problems).toEqual([]);
});

test("an unknown address shows the 404 page with status 404", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.locator("main h1")).toHaveText("Page not found");
  await hydrated(page);
  await page.getByRole("link", { name: "Go to the dashboard" }).click();
  await expect(page.locator("main h1")).toHaveText("Dashboard");
});

test("operational endpoints answer", async ({ request }) => {
  const health = await request.get("/healthz");
  expect(health.status()).toBe(200);
  expect((await health.json()).status).toBe("ok");
  const ready = await request.get("/readyz");
  expect(ready.status()).toBe(200);
  expect((await ready.json()).status).toBe("ready");
  // Metrics need a token with the metrics:read scope.
  const anonymous = await request.get("/metrics");
  expect(anonymous.status()).toBe(401);
  expect((await anonymous.json()).error).toContain("sign in");
});
