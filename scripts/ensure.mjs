#!/usr/bin/env node
// Makes `npm start` and `npm test` work on a fresh clone: installs the npm dependencies when they are missing
// (`deps`), and, for the tests, the Debian packages of the third-party peers when missing and we may
// (`test-tools`: root with apt-get). Prints what it does; never touches anything that is already there.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const run = (cmd, args) => {
  process.stderr.write(`[ensure] ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;

for (const what of process.argv.slice(2)) {
  if (what === 'deps') {
    if (!existsSync('node_modules/.package-lock.json')) run('npm', ['ci', '--no-audit', '--no-fund']);
  } else if (what === 'test-tools') {
    // binary → Debian package: redis-server (tests start their own), openssl and libcoap (interop peers), chromium (console browser test)
    const need = [
      ['redis-server', 'redis-server'],
      ['openssl', 'openssl'],
      ['coap-client-openssl', 'libcoap3-bin'],
      ['coap-client-gnutls', 'libcoap3-bin'],
      ['chromium', 'chromium'],
      ['tshark', 'tshark'],
      ['freeDiameterd', 'freediameterd'],
      ['gcc', 'gcc'],
      ['pkg-config', 'pkg-config'],
    ]
      .filter(([bin]) => !has(bin))
      .map(([, pkg]) => pkg);
    // PC/SC tests (test/interop/pcsc-pyscard, test/e2e/usim-card): a private pcscd with the vpcd driver, pyscard, ip
    for (const [file, pkg] of [
      ['/usr/sbin/pcscd', 'pcscd'],
      ['/usr/lib/pcsc/drivers/serial/libifdvpcd.so', 'vsmartcard-vpcd'],
      ['/usr/lib/python3/dist-packages/smartcard/__init__.py', 'python3-pyscard'],
      ['/usr/sbin/ip', 'iproute2'],
      // freeDiameter interop (test/interop/diameter-freediameter): the test extension is compiled against these headers
      ['/usr/include/freeDiameter/libfdcore.h', 'libfreediameter-dev'],
    ])
      if (!existsSync(file)) need.push(pkg);
    const pkgs = [...new Set(need)];
    if (pkgs.length === 0) continue;
    const root = process.getuid?.() === 0;
    if (root && has('apt-get')) {
      process.stderr.write(`[ensure] the tests need ${pkgs.join(', ')}; installing\n`);
      try {
        execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
      } catch {
        /* offline mirrors may still install */
      }
      run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs]);
    } else {
      process.stderr.write(
        `[ensure] missing ${pkgs.join(', ')}: install them (Debian: apt-get install ${pkgs.join(' ')}) — the tests that use them will fail\n`,
      );
    }
  }
}
