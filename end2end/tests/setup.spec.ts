import { test, expect } from "@playwright/test";
import { SETUP_PORT } from "../playwright.config";
import { hydrated, watchConsole } from "./helpers";

// The account-less server prints its link once, at start, and the link works
// once: this test cannot pass twice against the same server (no retries).
test("the first admin comes from the printed setup link, which works once", async ({ browser }) => {
  const base = `http://127.0.0.1:${SETUP_PORT}`;
  // Captured from the server's output by playwright.config.ts (`wait.stdout`).
  const link = process.env.E2E_SETUP_LINK;
  expect(link, "the setup server printed no setup link").toBeTruthy();
  expect(link!.startsWith(`${base}/setup?token=`)).toBe(true);
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  const problems = watchConsole(page);

  // A made-up token opens nothing.
  await page.goto("/setup?token=not-the-printed-one");
  await hydrated(page);
  await expect(page.getByTestId("setup-invalid")).toBeVisible();

  await page.goto(link!);
  await hydrated(page);
  await page.getByLabel("Name").fill("First Admin");
  await page.getByLabel("Email").fill("first@setup.test");
  await page.getByLabel(/^Password/).fill("first admin password");
  await page.getByRole("button", { name: "Create admin and sign in" }).click();
  // Signed in as an admin, on the dashboard.
  await expect(page).toHaveURL(`${base}/`);
  await expect(page.getByTestId("who")).toContainText("First Admin");
  await expect(page.getByTestId("who")).toContainText("admin");

  // The link is spent: opening it again, even signed out, creates nothing.
  // What the dashboard still has in flight when the session ends is refused
  // with a 401, which Chromium logs as a console error: only those, for the
  // page's data under /api/, may follow. (The dashboard's first loads,
  // /api/v1/starvation and /api/providers_health, leave as `who` appears and
  // race the logout; its event stream is told `signed-out` with a 200.)
  const beforeSignOut = problems.length;
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto(link!);
  await hydrated(page);
  await expect(page.getByTestId("setup-invalid")).toBeVisible();
  await expect(page.getByRole("button", { name: "Create admin and sign in" })).toHaveCount(0);
  expect(problems.slice(0, beforeSignOut)).toEqual([]);
  const refusedData = /status of 401 \(Unauthorized\) \[http:\/\/127\.0\.0\.1:\d+\/api\//;
  expect(problems.slice(beforeSignOut).filter((p) => !refusedData.test(p))).toEqual([]);
  await context.close();
});
