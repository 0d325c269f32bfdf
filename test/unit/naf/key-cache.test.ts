/** NafKeys, the NAF's one key cache over any ZnService (HTTP or Diameter binding), without sockets. */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { NafKeys } from '../../../naf/key-cache.js';
import { BtidUnknown } from '../../../shared/services/errors.js';
import type { BootstrappingInfo, NafId, ZnService } from '../../../shared/services/zn.js';
import type { RevocationCheck } from '../../../shared/store/revocations.js';
import { MemoryNafKeyCache } from '../../../shared/store/memory.js';

const NOW = Date.parse('2030-01-01T00:00:00Z');

class FakeZn implements ZnService {
  calls: Array<{ btid: string; nafId: NafId }> = [];
  async bootstrappingInfo(btid: string, nafId: NafId): Promise<BootstrappingInfo> {
    this.calls.push({ btid, nafId });
    return {
      btid,
      impi: 'u@ims',
      meKey: randomBytes(32),
      expiresAtMs: NOW + 3600_000,
      createdAtMs: NOW,
      gbaType: '3G_GBA',
    };
  }
  async close(): Promise<void> {}
}

describe('naf/key-cache.ts NafKeys (no sockets)', () => {
  const revoked = new Set<string>();
  const revocations: RevocationCheck = { isRevoked: async (b) => revoked.has(b) };
  let zn: FakeZn;
  let keys: NafKeys;
  beforeEach(() => {
    revoked.clear();
    zn = new FakeZn();
    keys = new NafKeys({ zn, store: new MemoryNafKeyCache(), revocations, now: () => NOW });
  });

  it('asks the ZnService once per B-TID and NAF_Id (single flight, then cached), with the Ua id in lower case', async () => {
    const [a, b] = await Promise.all([
      keys.key('b1@bsf', 'naf.example.org', '010001C0A8'),
      keys.key('b1@bsf', 'naf.example.org', '010001c0a8'),
    ]);
    expect(a.keyHex).to.equal(b.keyHex);
    expect(a.expiresAtMs).to.equal(NOW + 3600_000);
    expect(zn.calls).to.deep.equal([{ btid: 'b1@bsf', nafId: { fqdn: 'naf.example.org', uaSecProtId: '010001c0a8' } }]);
  });

  it('refuses a revoked B-TID (C9) and forget() drops what the process holds for it', async () => {
    const first = await keys.key('b2@bsf', 'naf.example.org', '0100000002');
    revoked.add('b2@bsf');
    keys.forget('b2@bsf');
    const err = await keys.key('b2@bsf', 'other.example.org', '0100000002').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(BtidUnknown);
    expect(first.btid).to.equal('b2@bsf');
  });
});

describe('naf/key-cache.ts NAF_Id normal form (issue 18 finding 8)', () => {
  it('asks Zn (HTTP or Diameter alike) for the normal form, and caches every spelling under it', async () => {
    const zn = new FakeZn();
    const keys = new NafKeys({ zn, store: new MemoryNafKeyCache(), now: () => NOW });
    const a = await keys.key('b3@bsf', 'NAF.Example.ORG.', '010001C0A8');
    const b = await keys.key('b3@bsf', 'naf.example.org', '010001c0a8');
    expect(a.keyHex).to.equal(b.keyHex);
    expect(zn.calls).to.deep.equal([{ btid: 'b3@bsf', nafId: { fqdn: 'naf.example.org', uaSecProtId: '010001c0a8' } }]);
  });
});
