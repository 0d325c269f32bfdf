import { createServer } from 'node:net';

export { freePort } from '../../shared/net/free-port.js';

/** A base port B such that B … B+n-1 were all free a moment ago (TCP and UDP on 127.0.0.1). */
export async function freePortRange(n: number): Promise<number> {
  const { createSocket } = await import('node:dgram');
  const tcpFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  const udpFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => {
        s.close();
        resolve(false);
      });
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    let ok = true;
    for (let p = base; p < base + n && ok; p++) ok = (await tcpFree(p)) && (await udpFree(p));
    if (ok) return base;
  }
  throw new Error(`no ${n} consecutive free ports found`);
}
