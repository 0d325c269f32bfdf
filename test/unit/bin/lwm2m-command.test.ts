/** `gba-sim lwm2m` flags (issue 18 finding 4): the REST API's token and its own listen address. */
import { expect } from 'chai';
import { NF_COMMANDS } from '../../../bin/commands/nf.js';
import { loadConfig } from '../../../shared/config.js';

describe('gba-sim lwm2m flags', () => {
  const lwm2m = NF_COMMANDS.find((c) => c.name === 'lwm2m')!;
  const path = (flag: string) => lwm2m.flags.find((f) => f.flag.split(' ')[0] === flag)?.path;

  it('takes --admin-token (admin.token) and --api-host (lwm2m.apiHost), and keeps the others', () => {
    expect(path('--admin-token')).to.equal('admin.token');
    expect(path('--api-host')).to.equal('lwm2m.apiHost');
    for (const f of ['--host', '--port', '--api-port', '--psk-lookup-url', '--psk-api-token'])
      expect(path(f), f).to.be.a('string');
  });

  it('GBA_ADMIN_TOKEN sets admin.token; the REST API listens on 127.0.0.1 by default even when CoAP listens on 0.0.0.0', () => {
    const c = loadConfig({
      env: { GBA_ADMIN_TOKEN: 'env-admin-token-0123456789' },
      flags: { 'lwm2m.host': '0.0.0.0' },
    });
    expect(c.admin.token).to.equal('env-admin-token-0123456789');
    expect(c.lwm2m.apiHost).to.equal('127.0.0.1');
    expect(c.lwm2m.host).to.equal('0.0.0.0');
  });
});
