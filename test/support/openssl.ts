/**
 * `openssl s_client` with a PSK, as a third-party (D)TLS peer: returns everything it printed once it has shown
 * the session (or an error), then stops it. It prints a session even after a failed handshake, so callers tell
 * success from failure by the absence of an alert.
 */
import { spawn } from 'node:child_process';

export function opensslPskClient(o: {
  dtls?: boolean;
  port: number;
  psk: Buffer;
  identity: string;
  cipher: string;
}): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn(
      'openssl',
      [
        's_client',
        o.dtls ? '-dtls1_2' : '-tls1_2',
        '-connect',
        `127.0.0.1:${o.port}`,
        '-psk',
        o.psk.toString('hex'),
        '-psk_identity',
        o.identity,
        '-cipher',
        o.cipher,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let text = '';
    const done = () => setTimeout(() => p.kill(), 300);
    p.stdout.on('data', (d) => {
      text += d;
      if (/Cipher is|Verify return code/.test(text)) done();
    });
    p.stderr.on('data', (d) => {
      text += d;
      if (/alert|error/i.test(String(d))) done();
    });
    p.on('close', () => resolve(text));
    setTimeout(() => p.kill(), 10000);
  });
}
