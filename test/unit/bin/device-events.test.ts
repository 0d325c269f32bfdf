import { expect } from 'chai';
import { humanDeviceEvent } from '../../../bin/device-events.js';

describe('bin/device-events: one human line per device event', () => {
  const at = new Date('2026-01-02T03:04:05Z');
  it('names device, step and outcome', () => {
    expect(humanDeviceEvent('bsf', { event: 'ub', impi: 'i@x', btid: 'b@y', outcome: 'ok', status: 200 }, at)).to.equal(
      '03:04:05  i@x  Ub bootstrap  ok, B-TID b@y',
    );
    expect(humanDeviceEvent('bsf', { event: 'ub', impi: 'i@x', outcome: 'mac_failure', status: 403 }, at)).to.contain(
      'FAILED: mac_failure (HTTP 403)',
    );
    expect(
      humanDeviceEvent('lwm2m', { event: 'lwm2m.registered', endpoint: 'urn:imsi:1', lifetimeSec: 60 }, at),
    ).to.contain('urn:imsi:1  LwM2M register  ok');
    expect(humanDeviceEvent('naf', { event: 'ua', outcome: 'ok', endpoint: 'urn:x', btid: 'b' }, at)).to.contain(
      'urn:x  Ua provisioning  ok',
    );
  });
  it('ignores other records and never shows fields it does not name', () => {
    expect(humanDeviceEvent('bsf', { event: 'ready' })).to.equal(undefined);
    expect(humanDeviceEvent('bsf', { msg: 'x' })).to.equal(undefined);
    const line = humanDeviceEvent('bsf', { event: 'ub', impi: 'i@x', outcome: 'ok', btid: 'b', ks: 'SECRET' })!;
    expect(line).to.not.contain('SECRET');
  });
});
