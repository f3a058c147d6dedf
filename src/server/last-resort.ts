// The last line of defence, in the main thread and in every worker thread: one bad request must never take the
// balancer down. What lands here is a bug; it is reported with its stack and the process keeps serving.
export function keepRunningOnUncaughtErrors(where: string): void {
  const report = (err: unknown) => process.stderr.write(`stickler: internal error in ${where} (kept running): ${(err as Error)?.stack ?? err}\n`);
  process.on('uncaughtException', report);
  process.on('unhandledRejection', report);
}
