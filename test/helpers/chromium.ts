/**
 * Headless Chromium for the browser tests: Debian's `chromium` (CHROMIUM_PATH overrides /usr/bin/chromium) driven by
 * playwright-core, in a throwaway profile. Missing Chromium fails the test with the line that installs it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Chromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(extraArgs: string[] = [], viewport = { width: 1280, height: 900 }): Promise<Chromium> {
  assert.ok(
    existsSync(CHROMIUM),
    `Chromium is required for this test and was not found at ${CHROMIUM}. Install it with ` +
      '`apt-get update && apt-get install -y chromium` (Debian), or point CHROMIUM_PATH at a Chromium binary.',
  );
  const profile = mkdtempSync(join(tmpdir(), 'rpcx-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...ARGS, ...extraArgs],
    viewport,
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
