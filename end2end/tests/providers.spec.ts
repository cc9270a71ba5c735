import { test, expect } from "@playwright/test";
import { ADMIN, signIn, watchConsole } from "./helpers";

test("the Providers page shows each breaker live and lets an admin force it", async ({ page }) => {
  const problems = watchConsole(page);
  await signIn(page, ADMIN.email, ADMIN.password, "/providers");
  const gemini = page.getByTestId("providers").locator('tr[data-provider="gemini"]');
  await expect(gemini.getByTestId("breaker")).toHaveText("closed");
  await expect(page.getByTestId("providers").locator('tr[data-provider="offline"]')).toContainText("always available");

  await gemini.getByRole("button", { name: "Force open" }).click();
  await expect(gemini.getByTestId("breaker")).toHaveText("forced_open");
  await gemini.getByRole("button", { name: "Automatic" }).click();
  await expect(gemini.getByTestId("breaker")).toHaveText("closed");

  // The override is in the audit log.
  await page.goto("/admin/audit");
  await expect(page.getByTestId("audit")).toContainText("provider.breaker");
  expect(problems).toEqual([]);
});
