import { defineConfig } from "@playwright/test";

// Tests drive Debian's Chromium (no browser download here) against the debug
// build, started fresh on its own port with an empty SQLite database.
const PORT = Number(process.env.E2E_PORT ?? 3300);
const BASE = `http://127.0.0.1:${PORT}`;
const SIM_PORT = Number(process.env.E2E_SIM_PORT ?? 3390);
// The debug site `make test` builds for these tests (Makefile: E2E_SITE).
export const SITE_ROOT = process.env.E2E_SITE_ROOT ?? "../target/site-e2e";
// A second server with no account yet, for the first-run setup link (setup.spec.ts).
export const SETUP_PORT = Number(process.env.E2E_SETUP_PORT ?? 3310);

/**
 * What the app servers share. Playwright passes its own environment on, so
 * the settings a developer may have exported are overridden here.
 */
const serverEnv = {
  MEETMIND_SITE_ROOT: SITE_ROOT,
  SMTP_URL: "",
  EMAIL_FAILURE_RATE: "0",
  MEETMIND_SECURE_COOKIES: "false",
  MEETMIND_SHUTDOWN_GRACE_SECS: "2",
};

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: BASE,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
      ],
    },
  },
  webServer: [
  {
    // The LLM provider simulator, standing in for Gemini.
    command: `exec ../target/debug/meetmind sim-providers --addr 127.0.0.1:${SIM_PORT}`,
    url: `http://127.0.0.1:${SIM_PORT}/_sim/stats`,
    timeout: 30_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
  },
  {
    // A fresh database with one admin, created the way an operator would.
    command:
      "rm -rf .tmp && mkdir -p .tmp && echo 'e2e admin password' | ../target/debug/meetmind user create --admin --email admin@e2e.test --name 'E2E Admin' && exec ../target/debug/meetmind serve",
    url: `${BASE}/readyz`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      MEETMIND_ADDR: `127.0.0.1:${PORT}`,
      DATABASE_URL: "sqlite://.tmp/e2e.db",
      ...serverEnv,
      MEETMIND_PUBLIC_URL: BASE,
      // Open pages notice a sign-out within 2 s (auth.spec.ts).
      MEETMIND_STREAM_RECHECK_SECS: "2",
      MEETMIND_EMAIL_OUTBOX: ".tmp/outbox",
      MEETMIND_LLM_TIERS: "gemini",
      GEMINI_API_KEY: "e2e-not-a-real-key",
      GEMINI_BASE_URL: `http://127.0.0.1:${SIM_PORT}/gemini`,
    },
  },
  {
    // No account yet: the server prints a one-time setup link, which the
    // test takes from its output (E2E_SETUP_LINK), as an operator would from
    // the terminal. Web only: it runs no jobs and calls no provider.
    command: `rm -rf .tmp-setup && mkdir -p .tmp-setup && exec ../target/debug/meetmind serve`,
    url: `http://127.0.0.1:${SETUP_PORT}/readyz`,
    wait: { stdout: /(?<e2e_setup_link>http:\/\/\S+\/setup\?token=[\w-]+)/ },
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      MEETMIND_ADDR: `127.0.0.1:${SETUP_PORT}`,
      DATABASE_URL: "sqlite://.tmp-setup/e2e.db",
      ...serverEnv,
      MEETMIND_ROLES: "web",
      MEETMIND_PUBLIC_URL: `http://127.0.0.1:${SETUP_PORT}`,
      MEETMIND_EMAIL_OUTBOX: ".tmp-setup/outbox",
      // No key: the AI runs offline.
      MEETMIND_LLM_TIERS: "gemini",
      GEMINI_API_KEY: "",
    },
  },
  ],
});
