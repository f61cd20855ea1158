// One piece of a scrape: complete metric families as text or UTF-8 bytes, with the other form and its gzip member
// made once when asked for.
import { gunzipSync, gzipSync } from 'node:zlib';

export interface RenderedPart {
  /** The families' text (part(): decoded once from bytes; compactPart(): decoded at each call, for tests). */
  readonly text: string;
  /** The text as UTF-8 bytes (part(): made once; compactPart(): decompressed at each call once its member exists). */
  bytes(): Buffer;
  /** A gzip member of the bytes; members concatenate into one valid gzip stream (RFC 1952). */
  gzip(): Buffer;
  /** No text at all (an empty gzip member ends some decoders' reading of a multi-member body: such a part is left out). */
  readonly empty: boolean;
}

/** A gzip member of `bytes`: level 6 for a large text, 1 for a small one (the fresh and live parts of a scrape). */
function gzipMember(bytes: Buffer): Buffer {
  return gzipSync(bytes, { level: bytes.length > 4096 ? 6 : 1 });
}

export function part(content: string | Buffer): RenderedPart {
  let member: Buffer | undefined;
  let raw = typeof content === 'string' ? undefined : content;
  let text = typeof content === 'string' ? content : undefined;
  const bytes = (): Buffer => {
    raw ??= Buffer.from(text!);
    return raw;
  };
  return {
    get text() {
      text ??= raw!.toString('utf8');
      return text;
    },
    get empty() {
      return raw !== undefined ? raw.length === 0 : text!.length === 0;
    },
    bytes,
    gzip() {
      member ??= gzipMember(bytes());
      return member;
    },
  };
}

/**
 * A part that keeps one form only: its bytes until the gzip member is made, the gzip member after. For the large
 * structural part, which lives for a whole scan interval: Prometheus asks for gzip, so its plain bytes (about
 * 0.65 MiB on 8 x 128 VFs, beside a 0.28 MiB member) are not kept; a plain scrape decompresses the member (~1 ms).
 */
export function compactPart(content: Buffer): RenderedPart {
  let raw: Buffer | undefined = content;
  let member: Buffer | undefined;
  const empty = content.length === 0;
  const bytes = (): Buffer => raw ?? gunzipSync(member!);
  return {
    get text() {
      return bytes().toString('utf8');
    },
    empty,
    bytes,
    gzip() {
      if (member === undefined) {
        member = gzipMember(raw!);
        raw = undefined;
      }
      return member;
    },
  };
}
