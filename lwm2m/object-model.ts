/**
 * Resource types for decoding (TLV carries none, Core 1.1 §7.4.3; SenML JSON carries its own), from the OMA
 * registry definitions in shared/lwm2m/oma-objects.ts (objects 0, 1, 3, 4, 5, 3303; docs/standards-notes/lwm2m-coap-dtls.md §3.5).
 */
export { resourceType, type ResourceType } from '../shared/lwm2m/object-model.js';
