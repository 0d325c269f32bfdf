import { expect } from 'chai';
import { loadConfig } from '../../../shared/config.js';
import { planNetwork } from '../../../bin/network.js';

describe('bin/network planNetwork', () => {
  it('hss.port 0 and bsf.znPort 0 give free Diameter ports too, not the fixed 3868/3869', async () => {
    const base = loadConfig({});
    const c = structuredClone(base);
    c.hss.port = 0;
    c.bsf.znPort = 0;
    c.store.kind = 'memory';
    const { config } = await planNetwork(c, ['hss-mock', 'bsf']);
    expect(config.hss.diameter.port).to.be.a('number').and.not.equal(3868).and.not.equal(0);
    expect(config.bsf.diameter.port).to.be.a('number').and.not.equal(3869).and.not.equal(0);
  });
});
