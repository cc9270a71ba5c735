import { expect, type ConsoleMessage, type Page } from "@playwright/test";

/** The admin the web server command creates before it starts (see playwright.config.ts). */
export const ADMIN = { email: "admin@e2e.test", password: "e2e admin password" };

/** Collects console errors and uncaught exceptions for the whole test. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (msg: ConsoleMessage) => {
    // The location names the resource when a load failed: Chromium's text does not.
    if (msg.type() === "error") problems.push(`console: ${msg.text()} [${msg.location().url}]`);
  });
  page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  return problems;
}

export async function hydrated(page: Page) {
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
}

/** Signs in through the login form and waits for the landing page. */
export async function signIn(page: Page, email: string, password: string, next = "/") {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await hydrated(page);
  const form = page.getByTestId("login-form");
  await form.getByLabel("Email").fill(email);
  await form.getByLabel("Password").fill(password);
  await form.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(next);
  await expect(page.getByTestId("who")).toBeVisible();
}

/** A candidate's answer the simulated providers find rubric evidence in. */
export const ANSWER =
  "During the incident I was on call; I found the runaway retry storm in the Kafka consumers, added a circuit breaker and wrote the postmortem.";

/** REST calls with the page's session: same-origin, so the server's origin check passes. */
export async function api(page: Page, method: "POST" | "GET" | "PATCH", path: string, data?: unknown) {
  const origin = new URL(page.url()).origin;
  const res = await page.request.fetch(path, { method, data, headers: { origin } });
  return { status: res.status(), body: await res.json().catch(() => null) };
}

/** Creates an interview through the form; returns its room link path. */
export async function createInterview(
  page: Page,
  title: string,
  opts: { mode?: "assist" | "ai_led"; plan?: string[]; scheduledFor?: string } = {},
): Promise<string> {
  await page.goto("/interviews");
  await hydrated(page);
  const form = page.getByTestId("new-interview");
  await form.getByLabel("Title").fill(title);
  await form.getByLabel("Role").fill("Senior Backend Engineer");
  await form.getByLabel("Candidate name").fill("Alex Rivera");
  await form.getByLabel("Candidate email").fill("alex@example.com");
  await form.getByLabel("Mode").selectOption(opts.mode ?? "assist");
  await expect(form.getByLabel("Rubric and question plan")).toContainText("Backend Engineer");
  if (opts.plan) await form.getByLabel(/Question plan/).fill(opts.plan.join("\n"));
  if (opts.scheduledFor) await form.getByLabel(/Scheduled for/).fill(opts.scheduledFor);
  await form.getByRole("button", { name: "Create interview" }).click();
  const created = page.getByTestId("created");
  await expect(created).toContainText(title);
  return (await created.getByTestId("room-link").innerText()).trim();
}

/** Opens the interviewer screen of the interview just created; returns its id. */
export async function openLive(page: Page): Promise<string> {
  await page.getByTestId("created").getByRole("link", { name: "Open the interviewer screen" }).click();
  await hydrated(page);
  await expect(page.getByTestId("connection")).toHaveText("live");
  const id = /^\/interviews\/([^/]+)\/live$/.exec(new URL(page.url()).pathname)?.[1];
  expect(id, page.url()).toBeTruthy();
  return id!;
}

/** On a live interviewer screen: the interviewer asks, the candidate answers. */
export async function exchangeTwoLines(page: Page) {
  const say = page.getByTestId("say");
  await say.fill("Tell me about an incident you handled on call?");
  await page.getByRole("button", { name: /Interviewer/ }).click();
  await say.press("Enter");
  await say.fill(ANSWER);
  await page.getByRole("button", { name: /Candidate/ }).click();
  await say.press("Enter");
  await expect(page.getByTestId("transcript").locator("li")).toHaveCount(2);
}
