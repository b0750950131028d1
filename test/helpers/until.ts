/** The one polling wait of the tests: every wait has a bound, and its failure says what was awaited. */

/**
 * Resolves once `check` holds, asking every `intervalMs`; after `timeoutMs` fails with an error naming `what` (plus
 * `detail()`, e.g. a child's stderr). A check that throws or rejects ends the wait with that error at once.
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  options: { intervalMs?: number; detail?: () => string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      const detail = options.detail?.();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail ? `; ${detail}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 20));
  }
}
