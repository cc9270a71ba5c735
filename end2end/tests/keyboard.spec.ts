import { test, expect, type Page } from "@playwright/test";
import { ADMIN, createInterview, hydrated, openLive, signIn, watchConsole } from "./helpers";

// Everything an admin or interviewer does must work without a mouse. The
// steps under test move focus and press keys only (no clicks, no drags, no
// selectOption); signing in and creating the interview use the shared helpers.

/** Focuses a control that is in the Tab order, then presses a key there. */
async function pressOn(page: Page, target: ReturnType<Page["locator"]>, key: string) {
  // Tab reaches it: a native control, or anything else with tabindex 0.
  const tabindex = await target.evaluate((el) => (el as HTMLElement).tabIndex);
  expect(tabindex, "reachable with Tab").toBeGreaterThanOrEqual(0);
  await target.focus();
  await expect(target).toBeFocused();
  await page.keyboard.press(key);
}

test("keyboard only: the editor builds a diamond through the dependency form, and a graph node opens its job", async ({ page }) => {
  test.setTimeout(60_000);
  const problems = watchConsole(page);
  await signIn(page, ADMIN.email, ADMIN.password, "/workflows/new");
  await hydrated(page);
  const add = page.getByTestId("add-node");
  for (let i = 0; i < 4; i++) await pressOn(page, add, "Enter");
  await expect(page.locator("g[data-node]")).toHaveCount(4);

  const parent = page.getByLabel("Parent job");
  const child = page.getByLabel("Job that waits");
  for (const [p, c] of [["n1", "n2"], ["n1", "n3"], ["n2", "n4"], ["n3", "n4"]]) {
    // A closed <select> takes the typed option's name; Tab moves on.
    await parent.focus();
    await page.keyboard.type(p);
    await expect(parent).toHaveValue(p);
    await page.keyboard.press("Tab");
    await expect(child).toBeFocused();
    await page.keyboard.type(c);
    await expect(child).toHaveValue(c);
    await page.keyboard.press("Tab");
    await expect(page.getByRole("button", { name: "Add dependency" })).toBeFocused();
    await page.keyboard.press("Enter");
    await expect(page.locator(`path[data-edge="${p}->${c}"]`)).toHaveCount(1);
  }
  await expect(page.getByTestId("dag-ok")).toContainText("4 jobs");

  // A cycle made from the keyboard is named and blocks submit, like a drawn one.
  await parent.focus();
  await page.keyboard.type("n4");
  await expect(parent).toHaveValue("n4");
  await page.keyboard.press("Tab");
  await page.keyboard.type("n1");
  await expect(child).toHaveValue("n1");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await expect(page.locator('path[data-edge="n4->n1"]')).toHaveCount(1);
  await expect(page.getByTestId("dag-error")).toContainText("cycle: n");
  await expect(page.getByTestId("dag-error")).toContainText("n4");
  await expect(page.getByTestId("submit-workflow")).toBeDisabled();
  await pressOn(page, page.getByRole("button", { name: "Remove n4 → n1" }), "Enter");
  await expect(page.getByTestId("dag-ok")).toBeVisible();

  await pressOn(page, page.getByTestId("submit-workflow"), "Enter");
  await expect(page).toHaveURL(/\/workflows\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId("workflow-state")).toHaveText("succeeded", { timeout: 20_000 });
  // A job in the graph is a link: Enter opens it.
  await pressOn(page, page.locator('g[data-node="n4"]'), "Enter");
  await expect(page).toHaveURL(/\/jobs\/\d+$/);
  await expect(page.getByTestId("job-detail")).toContainText("noop #");
  expect(problems).toEqual([]);
});

test("keyboard only: on the live screen Alt+1 and Alt+2 choose the speaker and Enter sends the line", async ({ page }) => {
  test.setTimeout(60_000);
  const problems = watchConsole(page);
  await signIn(page, ADMIN.email, ADMIN.password, "/interviews");
  await createInterview(page, "Keyboard interview");
  await openLive(page);
  await pressOn(page, page.getByRole("button", { name: "Start" }), "Enter");
  await expect(page.getByTestId("state")).toHaveText("live");

  const say = page.getByTestId("say");
  await say.focus();
  await page.keyboard.press("Alt+1");
  await page.keyboard.type("What did you change after the outage?");
  await page.keyboard.press("Enter");
  await page.keyboard.press("Alt+2");
  await page.keyboard.type("We added a circuit breaker");
  // Shift+Enter starts a new line instead of sending.
  await page.keyboard.press("Shift+Enter");
  await page.keyboard.type("and alerting on retry storms.");
  await page.keyboard.press("Enter");

  const lines = page.getByTestId("transcript").locator("li");
  await expect(lines).toHaveCount(2);
  await expect(lines.nth(0)).toHaveClass(/speaker-interviewer/);
  await expect(lines.nth(0)).toContainText("outage");
  await expect(lines.nth(1)).toHaveClass(/speaker-candidate/);
  await expect(lines.nth(1).locator(".text")).toHaveText("We added a circuit breaker\nand alerting on retry storms.");
  // Focus stayed in the box, emptied, ready for the next line.
  await expect(say).toBeFocused();
  await expect(say).toHaveValue("");
  expect(problems).toEqual([]);
});
