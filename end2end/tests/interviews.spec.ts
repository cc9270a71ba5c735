import { test, expect } from "@playwright/test";
import { ADMIN, ANSWER, createInterview, exchangeTwoLines, hydrated, openLive, signIn, watchConsole } from "./helpers";

const LONG =
  "I led the migration of our billing events onto Kafka: we sized the partitions by consumer lag, made every consumer idempotent, and cut the p99 latency from 900 ms to 120 ms over two quarters.";

test("assist: suggestions stream live, moments are found, and the report cites them", async ({ page }) => {
  test.setTimeout(90_000);
  const problems = watchConsole(page);
  const wasm: string[] = [];
  page.on("request", (r) => {
    if (r.url().endsWith(".wasm")) wasm.push(new URL(r.url()).pathname);
  });
  const group = (name: string) => wasm.filter((p) => p.includes(`/split_${name}_view_`)).length;
  await signIn(page, ADMIN.email, ADMIN.password, "/interviews");
  await createInterview(page, "Assist flow", { scheduledFor: "2030-01-15T10:30" });
  await openLive(page);
  await page.getByRole("button", { name: "Start" }).click();
  await expect(page.getByTestId("state")).toHaveText("live");

  // Speech input where the browser has it, a clear notice where it does not.
  await expect(page.getByTestId("mic").or(page.getByTestId("mic-unavailable"))).toBeVisible();
  await exchangeTwoLines(page);

  // A suggestion arrives through the provider simulator, marked with its tier.
  const first = page.getByTestId("suggestion").first();
  await expect(first).toContainText("gemini");
  await expect(first.getByRole("button", { name: "Copy" }).first()).toBeVisible();
  await expect(page.getByTestId("covered")).toContainText("Operations");

  // The provider goes down: the next suggestion still arrives, degraded.
  const forced = await page.request.post("/api/v1/providers/gemini/breaker", {
    data: { state: "open" },
    headers: { origin: new URL(page.url()).origin },
  });
  expect(forced.status()).toBe(200);
  const say = page.getByTestId("say");
  await say.fill("We also moved the billing events onto Kafka with idempotent consumers.");
  await say.press("Enter");
  await expect(page.getByTestId("suggestion").first()).toContainText("degraded");
  await page.request.post("/api/v1/providers/gemini/breaker", {
    data: { state: "auto" },
    headers: { origin: new URL(page.url()).origin },
  });

  // Moment search as you type; a hit scrolls to the moment.
  await page.getByTestId("moment-search").fill("retry storm");
  const hit = page.getByTestId("hits").locator("li").first();
  await expect(hit).toContainText("retry storm");
  await hit.getByRole("button").click();
  await expect(page.locator("li.seg.flash")).toContainText("retry storm");
  // The next line adds a row and leaves the others as they were: the list is
  // patched in place, so they are the same elements, the highlight still on.
  await page.locator("li.seg.flash").evaluate((el) => ((el as any).__kept = true));
  await say.fill("Which metrics told you the consumers had recovered?");
  await say.press("Enter");
  await expect(page.getByTestId("transcript").locator("li")).toHaveCount(4);
  await expect(page.locator("li.seg.flash")).toHaveCount(1);
  await expect(page.locator("li.seg.flash")).toContainText("retry storm");
  expect(await page.locator("li.seg.flash").evaluate((el) => (el as any).__kept === true)).toBe(true);

  // End: the workflow's progress shows live, then the report.
  page.on("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "End interview" }).click();
  await expect(page.getByTestId("state")).toHaveText("completed");
  await expect(page.getByTestId("workflow")).toContainText("finalize");
  // The report is a chunk group of its own, fetched on its first visit.
  expect(group("report")).toBe(0);
  await page.getByTestId("report-link").click({ timeout: 45_000 });
  await expect(page.getByTestId("scorecard")).toContainText("AI recommendation");
  expect(group("report")).toBe(1);
  await expect(page.getByTestId("citation").first()).toBeVisible();
  await expect(page.getByTestId("talk-ratio")).toBeVisible();
  // A citation opens the live screen at the quoted moment, highlighted, and
  // the highlight outlives the transcript being drawn again (the stream's
  // "open" reloads it).
  const citation = page.getByTestId("citation").first();
  const segId = (await citation.getAttribute("href"))!.split("#seg-")[1];
  await citation.click();
  await expect(page).toHaveURL(new RegExp(`/live#seg-${segId}$`));
  await expect(page.locator(`#seg-${segId}`)).toHaveClass(/flash/);
  // Only the cited moment: the one found by search earlier is not this visit's.
  await expect(page.locator("li.seg.flash")).toHaveCount(1);
  await expect(page.locator(`#seg-${segId}`)).toBeInViewport();
  await expect(page.getByTestId("connection")).toHaveText("live");
  await expect(page.locator(`#seg-${segId}`)).toHaveClass(/flash/);
  expect(problems).toEqual([]);
});

test("AI-led: the candidate answers the AI's questions and the interviewer sees them live", async ({ page, browser }) => {
  test.setTimeout(90_000);
  await signIn(page, ADMIN.email, ADMIN.password, "/interviews");
  const link = await createInterview(page, "AI-led flow", {
    mode: "ai_led",
    scheduledFor: "2030-01-15T10:30",
    plan: [
      "Tell me about your current role.",
      "Describe an incident you handled.",
      "How do you review code?",
      "What would you improve in your team's on-call?",
    ],
  });
  const live = await page.getByTestId("created").getByRole("link", { name: "Open the interviewer screen" }).getAttribute("href");
  // The schedule shows in the list.
  await page.goto("/interviews");
  await expect(page.getByTestId("interviews").locator("tr", { hasText: "AI-led flow" })).toContainText("2030-01-15");
  await page.goto(live!);
  await hydrated(page);
  await expect(page.getByTestId("connection")).toHaveText("live");

  const candidate = await (await browser.newContext()).newPage();
  const problems = watchConsole(candidate);
  const wasm: string[] = [];
  candidate.on("request", (r) => {
    if (r.url().endsWith(".wasm")) wasm.push(new URL(r.url()).pathname);
  });
  await candidate.goto(link);
  await hydrated(candidate);
  // The candidate's room is a chunk group of its own: no other group's own chunk is downloaded
  // (shared chunks may be).
  const group = (name: string) => wasm.filter((p) => p.includes(`/split_${name}_view_`)).length;
  expect(group("room")).toBe(1);
  expect(group("interview") + group("live") + group("report") + group("admin") + group("dashboard")).toBe(0);
  await expect(candidate.getByTestId("consent")).toContainText("transcribed");
  await candidate.getByRole("button", { name: "I agree, start" }).click();
  const room = candidate.getByTestId("room-transcript").locator("li");
  await expect(room).toHaveCount(1);
  await expect(room.first()).toContainText("Let's begin: Tell me about your current role.");
  // Rows already shown stay the same elements as lines arrive (patched in place).
  await room.first().evaluate((el) => ((el as any).__kept = true));
  for (let n = 1; n <= 3; n++) {
    await candidate.getByTestId("answer-box").fill(`${LONG} (answer ${n})`);
    await candidate.getByRole("button", { name: "Send answer" }).click();
    // The answer, then the AI's next question.
    await expect(room).toHaveCount(2 * n + 1, { timeout: 15_000 });
  }
  await expect(room.last()).toContainText("Next question: What would you improve in your team's on-call?");
  expect(await room.first().evaluate((el) => (el as any).__kept === true)).toBe(true);
  // The interviewer's screen got every turn live, without a reload.
  await expect(page.getByTestId("transcript").locator("li.speaker-ai")).toHaveCount(4);
  await expect(page.getByTestId("state")).toHaveText("live");
  expect(problems).toEqual([]);
});

test("offline typing: segments wait while the network is down and arrive once, in order", async ({ page, context }) => {
  test.setTimeout(60_000);
  await signIn(page, ADMIN.email, ADMIN.password, "/interviews");
  await createInterview(page, "Offline typing", { scheduledFor: "2030-01-15T10:30" });
  await openLive(page);
  await page.getByRole("button", { name: "Start" }).click();
  await expect(page.getByTestId("state")).toHaveText("live");

  await context.setOffline(true);
  const say = page.getByTestId("say");
  await say.fill("First, typed while offline.");
  await say.press("Enter");
  await say.fill("Second, also offline.");
  await say.press("Enter");
  await expect(page.getByTestId("queued")).toHaveText("offline, 2 segments queued");
  await expect(page.getByTestId("transcript").locator("li")).toHaveCount(0);

  await context.setOffline(false);
  const items = page.getByTestId("transcript").locator("li");
  await expect(items).toHaveCount(2, { timeout: 15_000 });
  await expect(items.nth(0)).toContainText("First, typed while offline.");
  await expect(items.nth(1)).toContainText("Second, also offline.");
  await expect(page.getByTestId("queued")).toBeHidden();
  // Once each on the server too.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("transcript").locator("li")).toHaveCount(2);
});

test("a wrong room token is refused kindly and reveals nothing", async ({ page }) => {
  await page.goto("/room/not-a-real-token");
  await expect(page.getByTestId("room-refused")).toContainText("not valid");
  await expect(page.locator("body")).not.toContainText("Alex Rivera");
});

test("pause holds suggestions until resume, and an ended link is refused as expired", async ({ browser, page }) => {
  test.setTimeout(60_000);
  await signIn(page, ADMIN.email, ADMIN.password, "/interviews");
  const link = await createInterview(page, "Pause flow", { scheduledFor: "2030-01-15T10:30" });
  await openLive(page);
  await page.getByRole("button", { name: "Start" }).click();
  await expect(page.getByTestId("state")).toHaveText("live");

  const candidate = await browser.newContext();
  const room = await candidate.newPage();
  await room.goto(link);
  await hydrated(room);
  await room.getByRole("button", { name: "I agree, start" }).click();
  await expect(room.getByTestId("answer-box")).toBeVisible();

  // Paused: both screens say so, what is typed is kept, and no suggestion comes.
  await page.getByTestId("pause").click();
  await expect(page.getByTestId("paused")).toBeVisible();
  await expect(page.getByTestId("pause")).toHaveText("Resume");
  await expect(room.getByTestId("room-paused")).toBeVisible();
  const say = page.getByTestId("say");
  await say.fill(ANSWER);
  await say.press("Enter");
  await expect(page.getByTestId("transcript").locator("li")).toHaveCount(1);
  await page.waitForTimeout(2_000);
  await expect(page.getByTestId("suggestion")).toHaveCount(0);

  // Resumed: the waiting answer gets its suggestion.
  await page.getByTestId("pause").click();
  await expect(page.getByTestId("paused")).toBeHidden();
  await expect(room.getByTestId("room-paused")).toHaveCount(0);
  await expect(page.getByTestId("suggestion").first()).toBeVisible({ timeout: 15_000 });

  // A new link replaces the old one: the room open on the old link is told
  // at once, the old link is refused, and the new one opens the same room
  // (consent was already given).
  await page.getByText("Candidate's room link").click();
  await page.getByTestId("new-link").click();
  await expect(page.getByTestId("room-link")).toContainText("/room/");
  const fresh = (await page.getByTestId("room-link").innerText()).trim();
  expect(fresh).not.toBe(link);
  await expect(room.locator("body")).toContainText("not valid");
  await room.goto(link);
  await expect(room.getByTestId("room-refused")).toContainText("not valid");
  await room.goto(fresh);
  await hydrated(room);
  await expect(room.getByTestId("answer-box")).toBeVisible();
  await expect(room.getByTestId("consent")).toHaveCount(0);

  // Ending the candidate's link: the open room is told at once, and reopening it is refused.
  page.once("dialog", (d) => d.accept());
  await page.getByTestId("revoke-link").click();
  await expect(page.getByTestId("room-link")).toContainText("revoked");
  await expect(room.locator("body")).toContainText("expired");
  await room.goto(fresh);
  await expect(room.getByTestId("room-refused")).toContainText("expired");
  await expect(room.locator("body")).not.toContainText("Pause flow");
  await candidate.close();
});
