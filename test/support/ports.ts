// A port the kernel just handed out is almost certainly still free a moment later; the small race
// is acceptable for tests, and every server here binds 127.0.0.1 only.

import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: the listening socket reported no TCP address'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
