/**
 * Resource types of the core LwM2M objects the server decodes by name (OMA LwM2M registry 1.xml, 3.xml, 4.xml,
 * ObjectVersion 1.1/1.2; digest §3.5). TLV carries no types (Core 1.1 §7.4.3), so a TLV value of a resource not
 * listed here is reported as raw bytes; SenML JSON carries its own.
 */
export type ResourceType = 'string' | 'integer' | 'unsigned' | 'float' | 'boolean' | 'opaque' | 'time' | 'objlnk' | 'none';

const S = 'string', I = 'integer', U = 'unsigned', B = 'boolean', T = 'time', L = 'objlnk', N = 'none';

const MODEL: Readonly<Record<number, Readonly<Record<number, ResourceType>>>> = {
  // 1 LwM2M Server
  1: {
    0: I, 1: I, 2: I, 3: I, 4: N, 5: I, 6: B, 7: S, 8: N, 9: N, 10: L, 11: U, 12: T, 13: U, 14: U, 15: B, 16: B, 17: U,
    18: U, 19: U, 20: U, 21: B, 22: S, 23: B,
  },
  // 3 Device
  3: {
    0: S, 1: S, 2: S, 3: S, 4: N, 5: N, 6: I, 7: I, 8: I, 9: I, 10: I, 11: I, 12: N, 13: T, 14: S, 15: S, 16: S, 17: S,
    18: S, 19: S, 20: I, 21: I, 22: L,
  },
  // 4 Connectivity Monitoring
  4: { 0: I, 1: I, 2: I, 3: I, 4: S, 5: S, 6: I, 7: S, 8: I, 9: I, 10: I },
};

/** The type of /objectId/x/resourceId, or undefined when the server has no model for it. */
export const resourceType = (objectId: number, resourceId: number): ResourceType | undefined => MODEL[objectId]?.[resourceId];
