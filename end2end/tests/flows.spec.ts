import { test, expect, type Page } from "@playwright/test";
import { ADMIN, ANSWER, api, createInterview, exchangeTwoLines, hydrated, openLive, signIn, watchConsole } from "./helpers";

// Every test here makes its own, uniquely named data: the server and its
// database are shared with every other spec, run one after the other.

/** A suffix no other test or run uses. */
function uid(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

async function start(page: Page) {
  await page.getByRole("button", { name: "Start" }).click();
  await expect(page.getByTestId("state")).toHaveText("live");
}

/** Ends the interview and follows the report link once the workflow wrote it. */
async function endAndOpenReport(page: Page, id: string, title: string) {
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "End interview" }).click();
  await expect(page.getByTestId("state")).toHaveText("completed");
  await page.getByTestId("report-link").click({ timeout: 45_000 });
  await expect(page).toHaveURL(`/interviews/${id}/report`);
  await expect(page.locator("main h1").first()).toHaveText(`Report: ${title}`);
  await expect(page.getByTestId("scorecard")).toContainText("AI recommendation");
}

test("an interviewer (not an admin) runs an interview of their own and sees no one else's", async ({ page, browser }) => {
  test.setTimeout(120_000);
  const id = uid();
  const email = `flows-ivy-${id}@e2e.test`;
  const password = "flows interviewer password";
  const titleA = `Admin only A ${id}`;
  const titleB = `Interviewer own B ${id}`;

  // The admin makes the account and an interview of their own (A).
  await signIn(page, ADMIN.email, ADMIN.password, "/interviews");
  const user = await api(page, "POST", "/api/v1/users", { email, name: `Ivo ${id}`, role: "interviewer", password });
  expect(user.status, JSON.stringify(user.body)).toBe(201);
  expect(user.body.role).toBe("interviewer");
  const a = await api(page, "POST", "/api/v1/interviews", {
    title: titleA,
    role: "Staff Engineer",
    candidate_name: "Sam Hidden",
    candidate_email: "sam.hidden@example.com",
    template: "backend_engineer",
  });
  expect(a.status, JSON.stringify(a.body)).toBe(201);
  const aId: string = a.body.interview.id;

  const context = await browser.newContext();
  const ivy = await context.newPage();
  try {
    await signIn(ivy, email, password, "/interviews");
    await expect(ivy.getByTestId("who")).toContainText("interviewer");

    // B: created, started, one line typed, ended, and its report written.
    await createInterview(ivy, titleB);
    const bId = await openLive(ivy);
    await start(ivy);
    const say = ivy.getByTestId("say");
    await say.fill(ANSWER);
    await say.press("Enter");
    const lines = ivy.getByTestId("transcript").locator("li");
    await expect(lines).toHaveCount(1);
    await expect(lines.first()).toContainText(ANSWER);
    await endAndOpenReport(ivy, bId, titleB);

    // Their list has B and not A.
    await ivy.goto("/interviews");
    await hydrated(ivy);
    const list = ivy.getByTestId("interviews");
    const rowB = list.locator(`tr[data-id="${bId}"]`);
    await expect(rowB).toContainText(titleB);
    await expect(rowB).toContainText("completed");
    await expect(list.locator(`tr[data-id="${aId}"]`)).toHaveCount(0);
    await expect(list).not.toContainText(titleA);

    // A's interviewer screen is an error that names nothing of A.
    await ivy.goto(`/interviews/${aId}/live`);
    await hydrated(ivy);
    await expect(ivy.getByRole("alert")).toHaveText("not found");
    await expect(ivy.getByTestId("state")).toHaveCount(0);
    await expect(ivy.locator("main")).not.toContainText(titleA);
    await expect(ivy.locator("main")).not.toContainText("Sam Hidden");
    // The API agrees.
    expect((await ivy.request.get(`/api/v1/interviews/${aId}`)).status()).toBe(404);
  } finally {
    await context.close();
  }
});

test("the report records the human decision and exports", async ({ page }) => {
  test.setTimeout(120_000);
  const problems = watchConsole(page);
  const id = uid();
  const title = `Decision report ${id}`;
  await signIn(page, ADMIN.email, ADMIN.password, "/interviews");
  await createInterview(page, title);
  const interviewId = await openLive(page);
  await start(page);
  await exchangeTwoLines(page);
  await endAndOpenReport(page, interviewId, title);

  // No decision yet; record one.
  await expect(page.getByTestId("decision")).toHaveCount(0);
  const note = `Needs a second system design round ${id}`;
  await page.getByLabel("Decision").selectOption("strong_no");
  await page.getByLabel("Note").fill(note);
  await page.getByRole("button", { name: "Record decision" }).click();
  await expect(page.getByTestId("decision-saved")).toHaveText("Saved.");

  // It is stored: a reload shows it, with who recorded it.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("decision")).toHaveText(`Recorded: Strong no by ${ADMIN.email} — ${note}`);

  // Both export links serve the report with the right type.
  const mdHref = await page.getByRole("link", { name: "Export Markdown" }).getAttribute("href");
  expect(mdHref).toBe(`/api/v1/interviews/${interviewId}/report?format=md`);
  const md = await page.request.get(mdHref!);
  expect(md.status()).toBe(200);
  expect(md.headers()["content-type"]).toBe("text/markdown; charset=utf-8");
  const mdBody = await md.text();
  expect(mdBody).toContain(`# Interview report: ${title}`);
  expect(mdBody).toContain("AI recommendation");

  const htmlHref = await page.getByRole("link", { name: "Print-friendly HTML" }).getAttribute("href");
  expect(htmlHref).toBe(`/api/v1/interviews/${interviewId}/report`);
  const html = await page.request.get(htmlHref!);
  expect(html.status()).toBe(200);
  expect(html.headers()["content-type"]).toBe("text/html; charset=utf-8");
  const htmlBody = await html.text();
  expect(htmlBody).toContain(`<h1>Interview report: ${title}</h1>`);
  expect(htmlBody).toContain("AI recommendation");
  expect(problems).toEqual([]);
});

// page.route is only sure to see the page's own requests when no service
// worker sits in between (the app's sw.js passes POSTs through, but still).
test.describe(() => {
  test.use({ serviceWorkers: "block" });

  test("typed lines survive a reload while the server is unreachable", async ({ page }) => {
    test.setTimeout(90_000);
    const id = uid();
    await signIn(page, ADMIN.email, ADMIN.password, "/interviews");
    await createInterview(page, `Reload queue ${id}`);
    const interviewId = await openLive(page);
    await start(page);

    // The live screen posts each typed line to this server function.
    const APPEND = "**/api/interview_append";
    let blocked = 0;
    await page.route(APPEND, (route) => {
      blocked++;
      return route.abort();
    });
    const first = `First line while unreachable ${id}.`;
    const second = `Second line while unreachable ${id}.`;
    const say = page.getByTestId("say");
    await say.fill(first);
    await say.press("Enter");
    await say.fill(second);
    await say.press("Enter");
    const queued = page.getByTestId("queued");
    const items = page.getByTestId("transcript").locator("li");
    await expect(queued).toHaveText("offline, 2 segments queued");
    await expect(items).toHaveCount(0);
    expect(blocked).toBeGreaterThan(0);
    // Kept in the browser, in order (app/src/interview_pages.rs: store_pending).
    const key = `mm-pending-${interviewId}`;
    const pendingTexts = () =>
      page.evaluate((k) => (JSON.parse(localStorage.getItem(k) ?? "[]") as { text: string }[]).map((s) => s.text), key);
    expect(await pendingTexts()).toEqual([first, second]);

    // A reload while the server is still unreachable: the queue comes back.
    await page.reload();
    await hydrated(page);
    await expect(page.getByTestId("connection")).toHaveText("live");
    await expect(queued).toHaveText("offline, 2 segments queued");
    await expect(items).toHaveCount(0);

    // Reachable again: both arrive, in order, and the queue empties.
    await page.unroute(APPEND);
    await expect(items).toHaveCount(2, { timeout: 15_000 });
    await expect(items.nth(0)).toContainText(first);
    await expect(items.nth(1)).toContainText(second);
    await expect(queued).toBeHidden();
    expect(await pendingTexts()).toEqual([]);

    // Once each on the server, in order.
    await page.reload();
    await hydrated(page);
    await expect(items).toHaveCount(2);
    await expect(items.nth(0)).toContainText(first);
    await expect(items.nth(1)).toContainText(second);
    await expect(queued).toBeHidden();
  });
});

test("the DLQ requeues every job of a group at once", async ({ page }) => {
  test.setTimeout(60_000);
  const problems = watchConsole(page);
  const id = uid();
  const queue = `e2e-dlq-group-${id}`;
  await signIn(page, ADMIN.email, ADMIN.password, "/jobs");
  // Permanent failures until `until`, so they die at once and succeed once requeued after it.
  const until = Date.now() + 6_000;
  const job = (n: number) => ({ kind: "fail", queue, payload: { rate: 1, permanent: true, until_ms: until, marker: `${id}-${n}` } });
  const a = await api(page, "POST", "/api/v1/jobs", job(1));
  const b = await api(page, "POST", "/api/v1/jobs", job(2));
  expect(a.status, JSON.stringify(a.body)).toBe(201);
  expect(b.status, JSON.stringify(b.body)).toBe(201);
  const state = async (jobId: number) => (await api(page, "GET", `/api/v1/jobs/${jobId}`)).body?.state;
  await expect.poll(async () => [await state(a.body.id), await state(b.body.id)], { timeout: 15_000 }).toEqual(["dead", "dead"]);

  await page.goto("/dlq");
  await hydrated(page);
  // The group (kind + first error line) holding our jobs; the fail handler's message is
  // fixed, so other tests' dead `fail` jobs may share it: counts come from the page itself.
  const group = page.getByTestId("dlq-group").filter({ has: page.locator(`tr[data-job="${a.body.id}"]`) });
  await expect(group).toHaveCount(1, { timeout: 15_000 });
  await expect(group).toHaveAttribute("data-kind", "fail");
  await expect(group).toContainText("injected failure on attempt 1");
  await expect(group.locator(`tr[data-job="${b.body.id}"]`)).toHaveCount(1);

  await page.waitForTimeout(Math.max(0, until - Date.now() + 300));
  let asked = "";
  page.once("dialog", (d) => {
    asked = d.message();
    void d.accept();
  });
  await group.getByRole("button", { name: "Requeue all matching" }).click();
  const notice = page.getByTestId("notice");
  await expect(notice).toHaveText(/^Requeued: \d+ job\(s\)$/);
  const shown = Number(/\((\d+) shown\)/.exec(asked)?.[1]);
  expect(shown, asked).toBeGreaterThanOrEqual(2);
  await expect(notice).toHaveText(`Requeued: ${shown} job(s)`);
  await expect(page.locator(`tr[data-job="${a.body.id}"]`)).toHaveCount(0);
  await expect(page.locator(`tr[data-job="${b.body.id}"]`)).toHaveCount(0);

  // Both left the DLQ and ran again, this time to success.
  await expect.poll(async () => [await state(a.body.id), await state(b.body.id)], { timeout: 15_000 }).toEqual([
    "succeeded",
    "succeeded",
  ]);
  expect(problems).toEqual([]);
});

test("an admin disables an interviewer, who can no longer sign in", async ({ page, browser }) => {
  test.setTimeout(60_000);
  const id = uid();
  const email = `flows-off-${id}@e2e.test`;
  const password = "soon disabled password";
  await signIn(page, ADMIN.email, ADMIN.password, "/admin/users");
  const form = page.getByTestId("create-user");
  await form.getByLabel("Name").fill(`Dana ${id}`);
  await form.getByLabel("Email").fill(email);
  await form.getByLabel("Role").selectOption("interviewer");
  await form.getByLabel(/Initial password/).fill(password);
  await form.getByRole("button", { name: "Create user" }).click();
  await expect(page.getByRole("status")).toContainText(`Created ${email}`);
  const row = page.getByTestId("users").locator(`tr[data-email="${email}"]`);
  const status = row.locator("td").nth(3);
  await expect(status).toHaveText("active");

  const context = await browser.newContext();
  const them = await context.newPage();
  try {
    // The account works before it is disabled.
    await signIn(them, email, password, "/interviews");

    await row.getByRole("button", { name: "Disable", exact: true }).click();
    await expect(status).toHaveText("disabled");
    await expect(row.getByRole("button", { name: "Enable", exact: true })).toBeVisible();
    await page.reload();
    await hydrated(page);
    await expect(status).toHaveText("disabled");
    const users = await api(page, "GET", "/api/v1/users");
    expect((users.body as { email: string; disabled: boolean }[]).find((u) => u.email === email)?.disabled).toBe(true);

    // Their open session ends…
    await them.goto("/interviews");
    await expect(them).toHaveURL(/\/login\?next=%2Finterviews/);
    // …and signing in again is refused.
    await them.goto("/login");
    await hydrated(them);
    const login = them.getByTestId("login-form");
    await login.getByLabel("Email").fill(email);
    await login.getByLabel("Password").fill(password);
    await login.getByRole("button", { name: "Sign in" }).click();
    await expect(them.getByTestId("login-error")).toHaveText("wrong email or password, or the account is disabled");
    await expect(them).toHaveURL(/\/login/);
    await expect(them.getByTestId("who")).toHaveCount(0);
  } finally {
    await context.close();
  }
});

test("pages fit a phone's width", async ({ page }) => {
  test.setTimeout(90_000);
  const id = uid();
  await page.setViewportSize({ width: 390, height: 800 });
  await signIn(page, ADMIN.email, ADMIN.password, "/");

  // Long unbroken names in every table, so a table that cannot scroll on its own shows.
  const queue = `e2e-phone-${id}-a-rather-long-queue-name`;
  const job = await api(page, "POST", "/api/v1/jobs", { kind: "noop", queue, payload: { id } });
  expect(job.status, JSON.stringify(job.body)).toBe(201);
  const wf = await api(page, "POST", "/api/v1/workflows", { name: `e2e-phone-${id}-a-long-workflow-name`, jobs: [{ key: "a", kind: "noop" }] });
  expect(wf.status, JSON.stringify(wf.body)).toBe(201);
  const iv = await api(page, "POST", "/api/v1/interviews", {
    title: `Phone-${id}-an-interview-title-without-any-spaces`,
    role: "Engineer",
    candidate_name: "Pat Phone",
    candidate_email: "pat.phone@example.com",
    template: "backend_engineer",
  });
  expect(iv.status, JSON.stringify(iv.body)).toBe(201);
  const email = `flows-phone-${id}-a-long-address@e2e.test`;
  const user = await api(page, "POST", "/api/v1/users", { email, name: `Pat ${id}`, role: "interviewer", password: "phone user password" });
  expect(user.status, JSON.stringify(user.body)).toBe(201);

  const pages = [
    { path: "/", ready: () => page.getByTestId("queue-counts").locator(`tr[data-queue="${queue}"]`) },
    { path: "/jobs", ready: () => page.getByTestId("jobs").locator(`tr[data-job="${job.body.id}"]`) },
    { path: "/dlq", ready: null },
    { path: "/queues", ready: () => page.getByTestId("queues").locator(`tr[data-queue="${queue}"]`) },
    { path: "/workflows", ready: () => page.getByTestId("workflows").locator(`tr[data-workflow="${wf.body.id}"]`) },
    { path: "/interviews", ready: () => page.getByTestId("interviews").locator(`tr[data-id="${iv.body.interview.id}"]`) },
    { path: "/admin/users", ready: () => page.getByTestId("users").locator(`tr[data-email="${email}"]`) },
  ];
  for (const { path, ready } of pages) {
    const dlq = path === "/dlq" ? page.waitForResponse((r) => new URL(r.url()).pathname === "/api/v1/dlq") : null;
    await page.goto(path);
    await hydrated(page);
    if (ready) await expect(ready(), path).toHaveCount(1, { timeout: 15_000 });
    if (dlq) {
      expect((await dlq).status()).toBe(200);
      await expect(page.getByTestId("connection")).toHaveText("live");
    }
    if (path === "/interviews") {
      // The form's selects are filled too (the rubric one is the widest).
      await expect(page.getByTestId("new-interview").getByLabel("Rubric and question plan")).toContainText("Backend Engineer");
    }
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect.soft(width, `${path} is ${width}px wide at a 390px viewport`).toBeLessThanOrEqual(390 + 1);
  }
});
