/** See spool-header.js. */
export function withSize(template: Uint8Array, size: number): Uint8Array;
