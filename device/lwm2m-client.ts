/**
 * The client side of the LwM2M 1.1 Registration interface (OMA LwM2M Core §6.2): Register, Update,
 * De-register over any CoAP channel.
 */
import { Code, codeToString, getLocationPath, OptionNumber, type CoapMessage } from '../shared/coap/message.js';
import { registrationLinks } from '../shared/lwm2m/link-format.js';
import { buildRegisterRequest, buildUpdateRequest, type Lwm2mVersion } from '../shared/lwm2m/registration.js';
import type { CoapChannel } from './coap-channel.js';
import type { DeviceObjects } from './objects.js';

export class RegistrationError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'RegistrationError';
  }
}

const VERSION: Lwm2mVersion = '1.1';

function expect(res: CoapMessage, want: number, what: string): void {
  if (res.code !== want) {
    const diag = res.payload.length ? `: ${res.payload.toString('utf8').slice(0, 200)}` : '';
    throw new RegistrationError(res.code, `${what} answered ${codeToString(res.code)}${diag}`);
  }
}

export async function register(
  ch: CoapChannel,
  o: { endpoint: string; lifetimeSec: number; binding: string; objects: DeviceObjects },
): Promise<string[]> {
  const links = registrationLinks(
    o.objects.instances().map((x) => ({ objectId: x.objectId, instances: [x.instanceId] })),
    { path: '/', contentFormats: [110, 11542] },
  );
  const res = await ch.request(
    buildRegisterRequest(
      { endpoint: o.endpoint, lifetimeSec: o.lifetimeSec, lwm2mVersion: VERSION, binding: o.binding },
      links,
    ),
  );
  expect(res, Code.CREATED, 'Register');
  const location = getLocationPath(res);
  if (location.length === 0) throw new RegistrationError(res.code, 'Register answered 2.01 without Location-Path');
  return location;
}

export async function update(
  ch: CoapChannel,
  location: readonly string[],
  params: { lifetimeSec?: number } = {},
): Promise<void> {
  expect(await ch.request(buildUpdateRequest(location, params, VERSION)), Code.CHANGED, 'Update');
}

export async function deregister(ch: CoapChannel, location: readonly string[]): Promise<void> {
  const options = location.map((s) => ({ number: OptionNumber.URI_PATH, value: Buffer.from(s, 'utf8') }));
  expect(await ch.request({ code: Code.DELETE, options }), Code.DELETED, 'De-register');
}
