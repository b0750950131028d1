/** Shared by the example servers: say where they listen, then close gracefully on Ctrl-C or SIGTERM. */
import type { Listener, Server } from '../index.js';

export function serveUntilSignal(server: Server, listener: Listener): void {
  process.stdout.write(`listening ${listener.network}@${listener.address}\n`);
  const stop = async (): Promise<void> => {
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
