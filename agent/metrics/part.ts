// One piece of a scrape: complete metric families as text, with its bytes and gzip member made once when asked for.
import { gzipSync } from 'node:zlib';

export interface RenderedPart {
  readonly text: string;
  /** `text` as UTF-8 bytes, made once per part (the structural part is shared by every scrape of a snapshot). */
  bytes(): Buffer;
  /** A gzip member of `text`; members concatenate into one valid gzip stream (RFC 1952). */
  gzip(): Buffer;
}

export function part(text: string): RenderedPart {
  let member: Buffer | undefined;
  let raw: Buffer | undefined;
  return {
    text,
    bytes() {
      raw ??= Buffer.from(text);
      return raw;
    },
    gzip() {
      member ??= gzipSync(text, { level: text.length > 4096 ? 6 : 1 });
      return member;
    },
  };
}
