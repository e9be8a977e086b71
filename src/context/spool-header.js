// The tar header of a spooled entry whose size is known only once git answers (plain
// JavaScript: the spool's reading thread uses it, and workers do not go through tsx).

const BLOCK = 512;

/** Zero-padded octal digits and a NUL in `size` bytes, as tar.ts writes them. */
function writeOctal(h, offset, size, value) {
  let v = value;
  for (let i = offset + size - 2; i >= offset; i--) {
    h[i] = 48 + (v % 8);
    v = Math.floor(v / 8);
  }
  h[offset + size - 1] = 0;
}

/**
 * `template` (tar.ts's fileHeader(name, mode, 0): any GNU long-name blocks, then the header)
 * with `size` written into the header and its checksum made again: the bytes fileHeader(name,
 * mode, size) gives. Sizes of 8 GiB and more are GNU base-256, as tar.ts writes them.
 */
export function withSize(template, size) {
  const h = Uint8Array.from(template);
  const at = h.length - BLOCK;
  if (size < 8 ** 11) writeOctal(h, at + 124, 12, size);
  else {
    h[at + 124] = 0x80;
    let rest = BigInt(size);
    for (let i = at + 135; i > at + 124; i--) {
      h[i] = Number(rest & 0xffn);
      rest >>= 8n;
    }
  }
  // The checksum counts its own field as eight spaces.
  h.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + BLOCK; i++) sum += h[i];
  writeOctal(h, at + 148, 7, sum);
  h[at + 155] = 0x20;
  return h;
}
