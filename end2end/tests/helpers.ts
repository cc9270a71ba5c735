import { expect, type ConsoleMessage, type Page } from "@playwright/test";

/** The admin the web server command creates before it starts (see playwright.config.ts). */
export const ADMIN = { email: "admin@e2e.test", password: "e2e admin password" };

/** Collects console errors and uncaught exceptions for the whole test. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (msg: ConsoleMessage) => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
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
