/**
 * CoAP Content-Format numbers LwM2M uses (IANA CoAP Content-Formats registry; LwM2M Core 1.1 §7.3, 1.2 §7.3).
 * The pre-registration TLV/JSON numbers 1542/1543 of early LwM2M 1.0 drafts are listed for recognition only.
 */
export const ContentFormat = {
  TEXT: 0, // text/plain;charset=utf-8
  LINK_FORMAT: 40, // application/link-format (RFC 6690)
  OPAQUE: 42, // application/octet-stream
  CBOR: 60, // application/cbor (single resource, 1.1+)
  SENML_JSON: 110, // application/senml+json (RFC 8428)
  SENML_CBOR: 112, // application/senml+cbor (RFC 8428)
  LWM2M_TLV: 11542, // application/vnd.oma.lwm2m+tlv
  LWM2M_JSON: 11543, // application/vnd.oma.lwm2m+json (deprecated in favour of SenML)
  LWM2M_CBOR: 11544, // application/vnd.oma.lwm2m+cbor (1.2)
  LEGACY_TLV: 1542,
  LEGACY_JSON: 1543,
} as const;

export type ContentFormatNumber = (typeof ContentFormat)[keyof typeof ContentFormat];

const NAMES: Readonly<Record<number, string>> = {
  0: 'text/plain;charset=utf-8',
  40: 'application/link-format',
  42: 'application/octet-stream',
  60: 'application/cbor',
  110: 'application/senml+json',
  112: 'application/senml+cbor',
  11542: 'application/vnd.oma.lwm2m+tlv',
  11543: 'application/vnd.oma.lwm2m+json',
  11544: 'application/vnd.oma.lwm2m+cbor',
  1542: 'application/vnd.oma.lwm2m+tlv (legacy 1542)',
  1543: 'application/vnd.oma.lwm2m+json (legacy 1543)',
};

/** Media type of a Content-Format number, or undefined when LwM2M does not use it. */
export const contentFormatName = (cf: number): string | undefined => NAMES[cf];
