import { test, expect } from "@playwright/test";
import { ADMIN, signIn, watchConsole } from "./helpers";

test("the dashboard counts 200 jobs enqueued over REST live, without a reload", async ({ page }) => {
  const problems = watchConsole(page);
  await signIn(page, ADMIN.email, ADMIN.password, "/");
  await expect(page.getByTestId("connection")).toHaveText("live");
  // Marks this document: a reload would lose it.
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
  const jobs = Array.from({ length: 200 }, (_, i) => ({ kind: "noop", queue: "e2e-dash", payload: { i } }));
  const res = await page.request.post("/api/v1/jobs", { data: jobs, headers: { origin: new URL(page.url()).origin } });
  expect(res.status()).toBe(201);
  const row = page.getByTestId("queue-counts").locator('tr[data-queue="e2e-dash"]');
  // The queue appears and its jobs end up succeeded (available → running → succeeded, all live).
  await expect(row).toBeVisible();
  await expect(row.locator("td").nth(6)).toHaveText("200", { timeout: 15_000 });
  // Wait percentiles come from the running events of every node.
  await expect(row.getByTestId("wait")).toContainText(" ms");
  await expect(page.getByTestId("throughput")).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  expect(problems).toEqual([]);
});
