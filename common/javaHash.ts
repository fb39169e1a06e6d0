/**
 * Java's String.hashCode, so tag codes and index key hashes match RocketMQ's bit for bit:
 * h = 31*h + c over UTF-16 code units (not UTF-8 bytes, not code points), wrapping as int32.
 */
export function javaHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}
