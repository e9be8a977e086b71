import { isIP } from 'node:net';
import { DeciderError } from '../errors.ts';

/** proxy-addr's names for address ranges, which Fastify's trustProxy accepts beside addresses. */
const RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** `address`, `address/prefix` or `address/netmask` (IPv4), or a named range. */
function validEntry(entry: string): boolean {
  if (RANGES.has(entry)) return true;
  const [address = '', mask, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (mask === undefined) return true;
  if (/^\d{1,3}$/.test(mask)) return Number(mask) <= (family === 4 ? 32 : 128);
  return family === 4 && isIP(mask) === 4;
}

/**
 * The `trustProxy` setting, checked here so that a mistyped address is a start-up error naming
 * the key (Fastify would throw a bare "invalid IP address" while building the app).
 */
export function trustProxySetting(value: boolean | string | readonly string[] | undefined): boolean | string | readonly string[] {
  if (value === undefined || typeof value === 'boolean') return value ?? false;
  const entries = typeof value === 'string' ? value.split(',').map((e) => e.trim()) : value;
  const bad = entries.filter((e) => !validEntry(e));
  if (bad.length > 0) {
    throw new DeciderError('bad-config', `trustProxy: ${bad.map((e) => JSON.stringify(e)).join(', ')} is not an IP address, a CIDR range or one of ${[...RANGES].join(', ')}`);
  }
  return value;
}
