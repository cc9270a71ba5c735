import { test, expect } from "@playwright/test";
import { ADMIN, hydrated, signIn, watchConsole } from "./helpers";

test("an admin creates an interviewer, who is refused the admin pages", async ({ page }) => {
  const problems = watchConsole(page);
  await signIn(page, ADMIN.email, ADMIN.password, "/admin/users");
  await expect(page.locator("main h1").first()).toHaveText("Users");

  const form = page.getByTestId("create-user");
  await form.getByLabel("Name").fill("Ivy Interviewer");
  await form.getByLabel("Email").fill("ivy@e2e.test");
  await form.getByLabel("Role").selectOption("interviewer");
  await form.getByLabel(/Initial password/).fill("ivy password 42");
  await form.getByRole("button", { name: "Create user" }).click();
  await expect(page.getByRole("status")).toContainText("Created ivy@e2e.test");
  await expect(page.getByTestId("users").locator('tr[data-email="ivy@e2e.test"]')).toContainText("interviewer");

  // The audit log shows who did it.
  await page.locator("#main-nav").getByRole("link", { name: "Audit" }).click();
  await expect(page.getByTestId("audit")).toContainText("user.create");
  await expect(page.getByTestId("audit")).toContainText(ADMIN.email);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);

  await signIn(page, "ivy@e2e.test", "ivy password 42", "/interviews");
  await expect(page.getByTestId("who")).toContainText("interviewer");
  // Only their own area is in the navigation.
  await expect(page.locator("#main-nav a")).toHaveText(["Interviews"]);
  expect(problems).toEqual([]);
  // Chromium logs each refused page load as a console error; that is the point here.
  for (const path of ["/", "/jobs", "/admin/users", "/admin/tokens", "/providers"]) {
    const response = await page.goto(path);
    expect(response?.status(), path).toBe(403);
    await expect(page.getByTestId("forbidden")).toBeVisible();
  }
});

test("a wrong password shows an error, and repeated failures are throttled", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  const form = page.getByTestId("login-form");
  await form.getByLabel("Email").fill("nobody-special@e2e.test");
  for (let attempt = 1; attempt <= 5; attempt++) {
    await form.getByLabel("Password").fill(`wrong password ${attempt}`);
    await form.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByTestId("login-error")).toContainText("wrong email or password");
    // Wait for the form to be ready again before the next try.
    await expect(form.getByRole("button", { name: "Sign in" })).toBeEnabled();
  }
  await form.getByLabel("Password").fill("wrong password 6");
  await form.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("login-error")).toContainText(/try again in \d+ s/);
});

test("anonymous visitors are sent to sign in and the API answers 401 JSON", async ({ page, request }) => {
  const response = await page.goto("/jobs");
  await expect(page).toHaveURL(/\/login\?next=%2Fjobs/);
  expect(response?.status()).toBe(200);
  const api = await request.get("/api/v1/users");
  expect(api.status()).toBe(401);
  expect((await api.json()).error).toContain("sign in");
});

test("an admin creates an API token, sees it once, and it works until revoked", async ({ page, request }) => {
  await signIn(page, ADMIN.email, ADMIN.password, "/admin/tokens");
  await page.getByLabel("Name").fill("e2e-service");
  await page.getByLabel(/Scopes/).fill("admin");
  await page.getByRole("button", { name: "Create token" }).click();
  const secret = (await page.getByTestId("new-token").textContent())!.trim();
  expect(secret).toMatch(/^mm_/);
  const headers = { authorization: `Bearer ${secret}` };
  expect((await request.get("/api/v1/users", { headers })).status()).toBe(200);

  const row = page.getByTestId("tokens").locator("tr", { hasText: "e2e-service" });
  await row.getByRole("button", { name: "Revoke" }).click();
  await expect(row).toContainText("revoked");
  expect((await request.get("/api/v1/users", { headers })).status()).toBe(401);
});

test("a live page whose session ends in another tab goes to the sign-in form", async ({ page, context }) => {
  await signIn(page, ADMIN.email, ADMIN.password, "/jobs?state=failed");
  await expect(page.getByTestId("connection")).toHaveText("live");

  // Sign out in a second tab of the same browser.
  const other = await context.newPage();
  await other.goto("/queues");
  await hydrated(other);
  await other.getByRole("button", { name: "Sign out" }).click();
  await expect(other).toHaveURL(/\/login/);

  // The first tab's event stream is re-checked (every 2 s in these tests),
  // ends with `signed-out`, and the page asks to sign in again, back to
  // where it was afterwards.
  await expect(page).toHaveURL(/\/login\?next=%2Fjobs%3Fstate%3Dfailed$/, { timeout: 15_000 });
  await hydrated(page);
  const form = page.getByTestId("login-form");
  await form.getByLabel("Email").fill(ADMIN.email);
  await form.getByLabel("Password").fill(ADMIN.password);
  await form.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL("/jobs?state=failed");
  await expect(page.getByTestId("connection")).toHaveText("live");
});

// The stream is cut with page.route, which requests that go through a
// service worker would bypass.
test.describe(() => {
  test.use({ serviceWorkers: "block" });

  test("a tab whose stream was down when its session ended goes to the sign-in form once it reconnects", async ({ page }) => {
    test.setTimeout(60_000);
    // The live stream cannot connect (a laptop asleep, a proxy down).
    const EVENTS = "**/api/v1/events*";
    let refused = 0;
    await page.route(EVENTS, (route) => {
      refused++;
      return route.abort();
    });
    await signIn(page, ADMIN.email, ADMIN.password, "/workflows");
    await expect(page.getByTestId("connection")).toHaveText("reconnecting");
    await expect.poll(() => refused).toBeGreaterThan(0);

    // Signed out meanwhile (another device or tab): no open stream can tell this one.
    const out = await page.request.post("/api/logout", {
      headers: { origin: new URL(page.url()).origin, "content-type": "application/x-www-form-urlencoded" },
      data: "",
    });
    expect(out.status()).toBe(200);

    // The stream's next attempt is answered with `signed-out` (a 401 would
    // only make EventSource retry), and the page asks to sign in again.
    await page.unroute(EVENTS);
    await expect(page).toHaveURL(/\/login\?next=%2Fworkflows$/, { timeout: 40_000 });
  });
});
