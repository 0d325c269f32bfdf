/** What both baseline servers share: announce the port on stdout, stop when the parent goes (stdin ends) or on SIGTERM. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export function serveUntilParentGoes(server: Server): void {
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
  const stop = () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
