/**
 * MurmurHash3 x86_32 (Austin Appleby, public domain; reference smhasher/MurmurHash3.cpp) over
 * the UTF-8 bytes of a string, streamed without allocating a byte buffer: ring-hash lookups are
 * on the request path. UTF-8 (not UTF-16 code units) so the value matches other implementations
 * and the known test vectors; lone surrogates become U+FFFD exactly as TextEncoder does.
 *
 * 32 bits are plenty for a ring of ≤ 2^20 points (expected colliding pairs ≈ m²/2^33 ≤ 128 at the
 * maximum size, each harmless: ties are ordered deterministically), and Math.imul keeps it fast.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

// Streaming state. JS is single-threaded and nothing re-enters between feed() calls, so module
// state is safe and saves a closure allocation per hash.
let h = 0;
let k = 0;
let n = 0;

function feed(byte: number): void {
  k |= byte << ((n & 3) << 3);
  n++;
  if ((n & 3) === 0) {
    let x = Math.imul(k, C1);
    x = (x << 15) | (x >>> 17);
    x = Math.imul(x, C2);
    h ^= x;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    k = 0;
  }
}

export function murmur3(str: string, seed = 0): number {
  h = seed | 0;
  k = 0;
  n = 0;
  const len = str.length;
  for (let i = 0; i < len; i++) {
    let cp = str.charCodeAt(i);
    if (cp < 0x80) {
      feed(cp);
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const lo = i + 1 < len ? str.charCodeAt(i + 1) : 0;
      if (cp <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      } else {
        cp = 0xfffd;
      }
    }
    if (cp < 0x800) {
      feed(0xc0 | (cp >> 6));
      feed(0x80 | (cp & 63));
    } else if (cp < 0x10000) {
      feed(0xe0 | (cp >> 12));
      feed(0x80 | ((cp >> 6) & 63));
      feed(0x80 | (cp & 63));
    } else {
      feed(0xf0 | (cp >> 18));
      feed(0x80 | ((cp >> 12) & 63));
      feed(0x80 | ((cp >> 6) & 63));
      feed(0x80 | (cp & 63));
    }
  }
  if ((n & 3) !== 0) {
    let x = Math.imul(k, C1);
    x = (x << 15) | (x >>> 17);
    x = Math.imul(x, C2);
    h ^= x;
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
