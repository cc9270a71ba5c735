import { test, expect, type Page } from "@playwright/test";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { ADMIN, api, hydrated, signIn, watchConsole } from "./helpers";

/** Drags from a job's handle to another job in the DAG editor. */
async function connect(page: Page, from: string, to: string) {
  const handle = await page.locator(`[data-handle="${from}"]`).boundingBox();
  const target = await page.locator(`g[data-node="${to}"] rect`).boundingBox();
  if (!handle || !target) throw new Error(`cannot find ${from} or ${to}`);
  await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
  await page.mouse.down();
  await page.mouse.move(target.x + target.width / 2, target.y + target.height / 2, { steps: 6 });
  await page.mouse.up();
  await expect(page.locator(`path[data-edge="${from}->${to}"]`)).toHaveCount(1);
}

test.beforeEach(async ({ page }, info) => {
  if (info.title.startsWith("sse")) return;
  await signIn(page, ADMIN.email, ADMIN.password, "/jobs");
});

test("the job list follows new jobs live, filters, and opens a job's attempts and timeline", async ({ page }) => {
  const problems = watchConsole(page);
  await page.goto("/jobs?queue=e2e-list");
  await hydrated(page);
  await expect(page.getByTestId("connection")).toHaveText("live");
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 7));
  const jobs = Array.from({ length: 30 }, (_, i) => ({ kind: "noop", queue: "e2e-list", payload: { n: i } }));
  expect((await api(page, "POST", "/api/v1/jobs", jobs)).status).toBe(201);
  const rows = page.getByTestId("jobs").locator("tbody tr");
  await expect(rows).toHaveCount(30, { timeout: 15_000 });
  await expect(rows.locator('[data-state="succeeded"]')).toHaveCount(30, { timeout: 15_000 });
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);

  // The search box stops at the 200 characters the server takes (more would be a 422).
  const search = page.getByLabel("Search");
  await search.fill("x".repeat(250));
  await expect(search).toHaveValue("x".repeat(200));
  await expect(rows).toHaveCount(0);
  await expect(page.getByRole("alert")).toHaveCount(0);

  // Search narrows the list; a row opens the job.
  await search.fill('"n":7}');
  await expect(rows).toHaveCount(1);
  await rows.first().getByRole("link").click();
  await expect(page.getByTestId("job-detail")).toContainText("noop #");
  await expect(page.getByTestId("payload")).toContainText('"n": 7');
  await expect(page.getByTestId("attempts").locator("tbody tr")).toHaveCount(1);
  await expect(page.getByTestId("timeline")).toContainText("attempt 1 succeeded");
  expect(problems).toEqual([]);
});

test("bulk cancel and retry ask first, then act on the selected jobs", async ({ page }) => {
  const later = Date.now() + 3_600_000;
  const jobs = Array.from({ length: 3 }, (_, i) => ({ kind: "noop", queue: "e2e-bulk", run_at: later, payload: { i } }));
  expect((await api(page, "POST", "/api/v1/jobs", jobs)).status).toBe(201);
  await page.goto("/jobs?queue=e2e-bulk");
  await hydrated(page);
  const rows = page.getByTestId("jobs").locator("tbody tr");
  await expect(rows).toHaveCount(3);
  await page.getByLabel("Select all on this page").check();
  await expect(page.getByTestId("selected-count")).toHaveText("3 selected");
  const posts: string[] = [];
  page.on("request", (r) => {
    if (r.method() === "POST") posts.push(new URL(r.url()).pathname);
  });
  page.once("dialog", (d) => d.dismiss());
  await page.getByRole("button", { name: "Cancel selected" }).click();
  await page.waitForTimeout(500);
  expect(posts.filter((p) => p.endsWith("/cancel"))).toEqual([]);
  await expect(rows.locator('[data-state="scheduled"]')).toHaveCount(3);
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Cancel selected" }).click();
  await expect(page.getByTestId("notice")).toContainText("Cancel: 3 job(s) done");
  await expect(rows.locator('[data-state="cancelled"]')).toHaveCount(3);

  // Retry brings them back, due now, so they run.
  await page.getByLabel("Select all on this page").check();
  await expect(page.getByTestId("selected-count")).toHaveText("3 selected");
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Retry selected" }).click();
  await expect(page.getByTestId("notice")).toContainText("Retry: 3 job(s) done");
  await expect(rows.locator('[data-state="succeeded"]')).toHaveCount(3, { timeout: 15_000 });
});

test("a job's own page cancels and retries it, asking first", async ({ page }) => {
  const problems = watchConsole(page);
  const later = Date.now() + 3_600_000;
  const created = await api(page, "POST", "/api/v1/jobs", { kind: "noop", queue: "e2e-one", run_at: later, payload: { one: 1 } });
  expect(created.status).toBe(201);
  const id = created.body.id as number;
  await page.goto(`/jobs/${id}`);
  await hydrated(page);
  const detail = page.getByTestId("job-detail");
  await expect(detail.locator(".controls [data-state]")).toHaveText("scheduled");
  await expect(detail.getByRole("button", { name: "Retry" })).toHaveCount(0);

  // Dismissing the question changes nothing.
  page.once("dialog", (d) => d.dismiss());
  await detail.getByRole("button", { name: "Cancel" }).click();
  await page.waitForTimeout(500);
  await expect(detail.locator(".controls [data-state]")).toHaveText("scheduled");

  page.once("dialog", (d) => {
    expect(d.message()).toBe(`Cancel job #${id}?`);
    d.accept();
  });
  await detail.getByRole("button", { name: "Cancel" }).click();
  await expect(detail.locator(".controls [data-state]")).toHaveText("cancelled");
  await expect(detail.getByRole("button", { name: "Cancel" })).toHaveCount(0);

  page.once("dialog", (d) => d.accept());
  await detail.getByRole("button", { name: "Retry" }).click();
  await expect(detail.locator(".controls [data-state]")).toHaveText("succeeded", { timeout: 15_000 });
  await expect(page.getByTestId("timeline")).toContainText("succeeded");
  expect(problems).toEqual([]);
});

test("a failing job reaches the dead-letter queue, is requeued from there and succeeds; purge asks first", async ({ page }) => {
  test.setTimeout(60_000);
  const problems = watchConsole(page);
  // Fails until the "outage" ends a few seconds from now; permanent, so it goes straight to the DLQ.
  const until = Date.now() + 8_000;
  const a = await api(page, "POST", "/api/v1/jobs", { kind: "fail", queue: "e2e-dlq", payload: { until_ms: until, permanent: true } });
  const b = await api(page, "POST", "/api/v1/jobs", { kind: "fail", queue: "e2e-dlq", payload: { until_ms: until + 3_600_000, permanent: true } });
  expect(a.status).toBe(201);
  await page.goto("/dlq");
  await hydrated(page);
  const group = page.getByTestId("dlq-group").filter({ hasText: "injected failure" });
  await expect(group.locator(`tr[data-job="${a.body.id}"]`)).toHaveCount(1, { timeout: 15_000 });
  await expect(group.locator(`tr[data-job="${b.body.id}"]`)).toHaveCount(1);
  await group.getByText("Inspect the jobs").click();

  await page.waitForTimeout(Math.max(0, until - Date.now() + 200));
  await group.locator(`tr[data-job="${a.body.id}"]`).getByRole("button", { name: "Requeue" }).click();
  await expect(page.getByTestId("notice")).toContainText(`Requeued #${a.body.id}`);
  await expect(page.locator(`tr[data-job="${a.body.id}"]`)).toHaveCount(0);
  await expect
    .poll(async () => (await api(page, "GET", `/api/v1/jobs/${a.body.id}`)).body.state, { timeout: 15_000 })
    .toBe("succeeded");

  // Purge: dismissing keeps the job; accepting deletes the group's jobs.
  const remaining = page.getByTestId("dlq-group").filter({ hasText: "injected failure" });
  const posts: string[] = [];
  page.on("request", (r) => {
    if (r.method() === "POST") posts.push(new URL(r.url()).pathname);
  });
  page.once("dialog", (d) => d.dismiss());
  await remaining.getByRole("button", { name: "Purge" }).click();
  await page.waitForTimeout(500);
  expect(posts).not.toContain("/api/v1/dlq/purge");
  await expect(remaining.locator(`tr[data-job="${b.body.id}"]`)).toHaveCount(1);
  page.once("dialog", (d) => d.accept());
  await remaining.getByRole("button", { name: "Purge" }).click();
  await expect(page.getByTestId("notice")).toContainText("Purged");
  await expect(page.locator(`tr[data-job="${b.body.id}"]`)).toHaveCount(0);
  expect((await api(page, "GET", `/api/v1/jobs/${b.body.id}`)).status).toBe(404);
  expect(problems).toEqual([]);
});

test("a diamond built in the editor: a cycle is shown and blocks submit; without it the workflow runs live to succeeded", async ({ page }) => {
  test.setTimeout(60_000);
  const problems = watchConsole(page);
  await page.goto("/workflows/new");
  await hydrated(page);
  for (let i = 0; i < 4; i++) await page.getByTestId("add-node").click();
  await expect(page.locator("g[data-node]")).toHaveCount(4);
  await connect(page, "n1", "n2");
  await connect(page, "n1", "n3");
  await connect(page, "n2", "n4");
  await connect(page, "n3", "n4");
  await expect(page.getByTestId("dag-ok")).toContainText("4 jobs");

  // Closing a cycle: the path is named, its edges are red, submit is blocked.
  await connect(page, "n4", "n1");
  await expect(page.getByTestId("dag-error")).toContainText("cycle: n");
  await expect(page.getByTestId("dag-error")).toContainText("n4");
  await expect(page.locator("path.edge.cycle")).toHaveCount(3);
  await expect(page.getByTestId("submit-workflow")).toBeDisabled();

  // The other way round via the keyboard form and the edge list: remove it.
  await page.getByRole("button", { name: "Remove n4 → n1" }).click();
  await expect(page.getByTestId("dag-ok")).toBeVisible();
  await page.getByLabel("If n2 fails").selectOption("continue");
  await expect(page.locator('path[data-edge="n2->n4"]')).toHaveClass(/edge-continue/);

  // Export shows the JSON the server will get.
  await page.getByRole("button", { name: "Export" }).click();
  await expect(page.getByTestId("dag-json")).toHaveValue(/"depends_on": \[\s*"n2",\s*"n3"\s*\]/);

  await page.getByTestId("submit-workflow").click();
  await expect(page).toHaveURL(/\/workflows\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId("workflow-state")).toHaveText("succeeded", { timeout: 20_000 });
  await expect(page.locator('g[data-node][data-state="succeeded"]')).toHaveCount(4);
  await page.locator('g[data-node="n4"]').click();
  await expect(page.getByTestId("job-detail")).toContainText("noop #");
  expect(problems).toEqual([]);
});

test("import previews a workflow, saves it as a template and runs it again", async ({ page }) => {
  await page.goto("/workflows/new");
  await hydrated(page);
  const spec = { name: "e2e-template", jobs: [{ key: "a", kind: "noop" }, { key: "b", kind: "noop", depends_on: ["a"] }] };
  await page.getByTestId("dag-json").fill(JSON.stringify(spec));
  await page.getByRole("button", { name: "Preview import" }).click();
  await expect(page.getByTestId("import-preview")).toContainText("2 jobs, 1 dependencies — valid");
  await page.getByRole("button", { name: "Load into the editor" }).click();
  await expect(page.locator("g[data-node]")).toHaveCount(2);
  await page.getByRole("button", { name: "Save as template" }).click();
  await expect(page.getByTestId("notice")).toContainText('"e2e-template"');
  await page.goto("/workflows");
  await hydrated(page);
  const row = page.getByTestId("templates").locator('li[data-template="e2e-template"]');
  await row.getByRole("button", { name: "Run" }).click();
  await expect(page.getByTestId("workflow-state")).toHaveText("succeeded", { timeout: 20_000 });
});

test("the workflow list pages older and newer; a workflow view cancels and retries what failed", async ({ page }) => {
  test.setTimeout(60_000);
  const problems = watchConsole(page);
  // 26 workflows: one more than a page of the list holds.
  for (let i = 0; i < 26; i++) {
    const name = `e2e-page-${String(i).padStart(2, "0")}`;
    expect((await api(page, "POST", "/api/v1/workflows", { name, jobs: [{ key: "a", kind: "noop" }] })).status).toBe(201);
  }
  await page.goto("/workflows");
  await hydrated(page);
  const rows = page.getByTestId("workflows").locator("tbody tr");
  const newer = page.getByRole("button", { name: "Newer" });
  const older = page.getByRole("button", { name: "Older" });
  // Newest first. Two created in the same millisecond may swap places, so
  // the checks name the ends of the run, not exact rows.
  const list = page.getByTestId("workflows");
  await expect(rows).toHaveCount(25);
  await expect(list).toContainText("e2e-page-25");
  await expect(newer).toBeDisabled();
  await older.click();
  await expect(list).not.toContainText("e2e-page-25");
  await expect(list).toContainText(/e2e-page-0[01]/);
  await expect(newer).toBeEnabled();
  await newer.click();
  await expect(list).toContainText("e2e-page-25");
  await expect(rows).toHaveCount(25);
  await expect(newer).toBeDisabled();

  // Cancel a running workflow from its view, after a question.
  const slow = await api(page, "POST", "/api/v1/workflows", {
    name: "e2e-cancel",
    jobs: [{ key: "wait", kind: "sleep", payload: { ms: 30_000 } }, { key: "after", kind: "noop", depends_on: ["wait"] }],
  });
  expect(slow.status).toBe(201);
  await page.goto(`/workflows/${slow.body.id}`);
  await hydrated(page);
  await expect(page.getByTestId("workflow-state")).toHaveText("running");
  page.once("dialog", (d) => {
    expect(d.message()).toBe("Cancel this workflow?");
    d.accept();
  });
  await page.getByTestId("workflow-view").getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByTestId("workflow-state")).toHaveText("cancelled");

  // A workflow whose first job failed for good: "Retry failed" re-runs it
  // (the simulated outage is over by then) and what waited below it.
  const until = Date.now() + 4_000;
  const failing = await api(page, "POST", "/api/v1/workflows", {
    name: "e2e-retry",
    jobs: [
      { key: "flaky", kind: "fail", payload: { permanent: true, until_ms: until } },
      { key: "after", kind: "noop", depends_on: ["flaky"] },
    ],
  });
  expect(failing.status).toBe(201);
  await page.goto(`/workflows/${failing.body.id}`);
  await hydrated(page);
  await expect(page.getByTestId("workflow-state")).toHaveText("failed");
  await page.waitForTimeout(Math.max(0, until - Date.now()) + 200);
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Retry failed" }).click();
  await expect(page.getByTestId("workflow-state")).toHaveText("succeeded", { timeout: 20_000 });
  expect(problems).toEqual([]);
});

test("queues are edited inline and paused; cron schedules preview their next runs", async ({ page }) => {
  const problems = watchConsole(page);
  expect((await api(page, "POST", "/api/v1/jobs", { kind: "noop", queue: "e2e-queue" })).status).toBe(201);
  await page.goto("/queues");
  await hydrated(page);
  const row = page.getByTestId("queues").locator('tr[data-queue="e2e-queue"]');
  await row.getByLabel("Concurrency").fill("3");
  await row.getByLabel("Retry delays").fill("1000, 5000, nope");
  await row.getByRole("button", { name: "Save" }).click();
  await expect(row).toContainText("retry_delays_ms");
  await row.getByLabel("Retry delays").fill("1000, 5000");
  await row.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("notice")).toHaveText("e2e-queue: saved");
  await row.getByRole("button", { name: "Pause" }).click();
  const paused = page.getByTestId("queues").locator('tr[data-queue="e2e-queue"][data-paused="true"]');
  await expect(paused).toBeVisible();
  await expect(paused.getByLabel("Concurrency")).toHaveValue("3");
  await paused.getByRole("button", { name: "Resume" }).click();
  await expect(page.getByTestId("queues").locator('tr[data-queue="e2e-queue"][data-paused="false"]')).toBeVisible();

  await page.goto("/schedules");
  await hydrated(page);
  const form = page.getByTestId("new-schedule");
  await form.getByLabel(/^Cron/).fill("0 9 * * 1-5");
  await expect(page.getByTestId("cron-preview").locator("li")).toHaveCount(5);
  await form.getByLabel(/^Cron/).fill("0 25 * * *");
  await expect(page.getByTestId("cron-preview")).toContainText("cron");
  await form.getByLabel(/^Cron/).fill("30 6 * * *");
  await form.getByLabel("Time zone").fill("Europe/Paris");
  await expect(page.getByTestId("cron-preview").locator("li").first()).toContainText(/(04|05):30:00 UTC/);
  await form.getByLabel("Name").fill("e2e-nightly");
  await form.getByRole("button", { name: "Create schedule" }).click();
  const sched = page.getByTestId("schedules").locator('tr[data-schedule="e2e-nightly"]');
  await expect(sched).toContainText("30 6 * * *");
  await sched.getByRole("button", { name: "Pause" }).click();
  await expect(sched).toContainText("paused");
  page.once("dialog", (d) => d.accept());
  await sched.getByRole("button", { name: "Delete" }).click();
  await expect(sched).toHaveCount(0);
  // The refused previews are logged by the browser as failed loads; nothing else may be.
  expect(problems.filter((p) => !p.includes("status of 422"))).toEqual([]);
});

test("sse: the dashboard says reconnecting while its server restarts, then catches up", async ({ browser }) => {
  test.setTimeout(120_000);
  const port = Number(process.env.E2E_RESTART_PORT ?? 3311);
  const dir = ".tmp/restart";
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const env = {
    ...process.env,
    MEETMIND_ADDR: `127.0.0.1:${port}`,
    DATABASE_URL: `sqlite://${dir}/db.sqlite`,
    MEETMIND_SITE_ROOT: process.env.E2E_SITE_ROOT ?? "../target/site-e2e",
    SMTP_URL: "",
    EMAIL_FAILURE_RATE: "0",
    MEETMIND_SECURE_COOKIES: "false",
    MEETMIND_SHUTDOWN_GRACE_SECS: "1",
    MEETMIND_EMAIL_OUTBOX: `${dir}/outbox`,
  };
  execFileSync("../target/debug/meetmind", ["user", "create", "--admin", "--email", ADMIN.email, "--name", "Admin"], {
    env,
    input: `${ADMIN.password}\n`,
  });
  const start = () => spawn("../target/debug/meetmind", ["serve"], { env, stdio: "ignore" });
  const ready = async () => {
    for (let i = 0; i < 200; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return;
      } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("the second server did not start");
  };
  const stop = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null ? r() : (p.once("exit", () => r()), p.kill("SIGTERM"))));
  let server = start();
  try {
    await ready();
    const context = await browser.newContext({ baseURL: `http://127.0.0.1:${port}` });
    const page = await context.newPage();
    await signIn(page, ADMIN.email, ADMIN.password, "/");
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 9));
    await expect(page.getByTestId("connection")).toHaveText("live");

    await stop(server);
    await expect(page.getByTestId("connection")).toHaveText("reconnecting");
    server = start();
    await ready();
    await expect(page.getByTestId("connection")).toHaveText("live", { timeout: 45_000 });

    // Caught up: work done after the restart shows without a reload.
    expect((await api(page, "POST", "/api/v1/jobs", Array.from({ length: 5 }, () => ({ kind: "noop", queue: "e2e-restart" })))).status).toBe(201);
    const row = page.getByTestId("queue-counts").locator('tr[data-queue="e2e-restart"]');
    await expect(row.locator("td").nth(6)).toHaveText("5", { timeout: 15_000 });
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(9);
    await context.close();
  } finally {
    await stop(server);
  }
});
