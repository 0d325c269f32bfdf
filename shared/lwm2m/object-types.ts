/**
 * The shape of an LwM2M object definition (OMA LWM2M.xsd; LwM2M Core 1.1 Appendix C data types), as generated
 * into oma-objects.ts from the registry's published XML.
 */
export type ResourceType =
  'string' | 'integer' | 'unsigned' | 'float' | 'boolean' | 'opaque' | 'time' | 'objlnk' | 'corelnk' | 'none';

export interface ResourceDefinition {
  id: number;
  name: string;
  /** "R", "W", "RW", "E" or "" (Core 1.1 Appendix D.1). */
  operations: string;
  type: ResourceType;
  multiple: boolean;
  mandatory: boolean;
}

export interface ObjectDefinition {
  id: number;
  name: string;
  urn: string;
  version: string;
  multiple: boolean;
  mandatory: boolean;
  resources: readonly ResourceDefinition[];
}
