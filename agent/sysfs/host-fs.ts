// The filesystem layer: the only module that reads sysfs and procfs. Every read is bounded, never follows
// into a FIFO or device that blocks (O_NONBLOCK, regular files only), and reports failures as values.
import { closeSync, constants, fstatSync, openSync, readdirSync, readlinkSync, readSync, realpathSync } from 'node:fs';
import { posix } from 'node:path';

/** A read that either gave text or failed with an errno-like code (ENOENT, EACCES, EINVAL, EOPNOTSUPP, ...). */
export type ReadResult = { ok: true; value: string } | { ok: false; code: string };

/** Largest attribute railwatch reads; sysfs attributes are at most one page. */
export const MAX_ATTR_BYTES = 64 * 1024;

const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * The one read buffer of every HostFs: a read fills it and decodes it within one synchronous call, so no two reads
 * ever share it at once (serve keeps half a dozen HostFs, each of which had its own 64 KiB).
 */
const READ_BUF = Buffer.allocUnsafe(MAX_ATTR_BYTES);

function errCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'EIO';
}

/**
 * A view of one host root (a sysfs or procfs mount). Paths are relative to the root; absolute symlinks are never
 * followed out of it because every path is joined under the root.
 */
export class HostFs {
  readonly root: string;
  #rootReal: string | undefined;
  /** Count of system calls made, for the benchmark and tests. */
  ops = 0;

  readonly #prefix: string;

  constructor(root: string) {
    this.root = root;
    this.#prefix = root.endsWith('/') ? root : root + '/';
  }

  abs(rel: string): string {
    // plain concatenation: scanners build paths from listed names, never from outside input with `..`
    return rel === '' ? this.root : this.#prefix + rel;
  }

  /** Opens `rel` read-only and non-blocking, runs `body` on the fd, always closes it; errors become codes. */
  #withFd<T>(rel: string, body: (fd: number) => { ok: true; value: T } | { ok: false; code: string }): { ok: true; value: T } | { ok: false; code: string } {
    let fd: number;
    this.ops++;
    try {
      fd = openSync(this.abs(rel), READ_FLAGS);
    } catch (err) {
      return { ok: false, code: errCode(err) };
    }
    try {
      return body(fd);
    } catch (err) {
      return { ok: false, code: errCode(err) };
    } finally {
      try {
        closeSync(fd);
      } catch {
        // closing a sysfs fd cannot fail in a way that matters
      }
    }
  }

  /** Reads a small attribute file in one read call (sysfs attributes fit one page); trailing newline removed. */
  read(rel: string): ReadResult {
    return this.#withFd(rel, (fd) => {
      // One bounded read: O_NONBLOCK keeps a FIFO from blocking (it reads as empty) and a character device
      // gives at most MAX_ATTR_BYTES; a directory fails with EISDIR. No fstat: it would cost a syscall per read.
      const n = readSync(fd, READ_BUF, 0, MAX_ATTR_BYTES, null);
      let text = READ_BUF.toString('utf8', 0, n);
      if (text.endsWith('\n')) text = text.slice(0, -1);
      return { ok: true, value: text };
    });
  }

  /** Reads a binary regular file (PCI `config`) up to `max` bytes. */
  readBytes(rel: string, max: number): { ok: true; value: Buffer } | { ok: false; code: string } {
    return this.#withFd(rel, (fd) => {
      if (!fstatSync(fd).isFile()) return { ok: false, code: 'ENOTREG' };
      const out = Buffer.alloc(max);
      let off = 0;
      while (off < max) {
        const n = readSync(fd, out, off, max - off, off);
        if (n <= 0) break;
        off += n;
      }
      return { ok: true, value: out.subarray(0, off) };
    });
  }

  /** Lists a directory's entries (names, unsorted). */
  list(rel: string): { ok: true; value: string[] } | { ok: false; code: string } {
    this.ops++;
    try {
      return { ok: true, value: readdirSync(this.abs(rel)) };
    } catch (err) {
      return { ok: false, code: errCode(err) };
    }
  }

  /** Lists a directory with entry types (no stat per entry). */
  listTyped(rel: string): { ok: true; value: { name: string; dir: boolean; link: boolean; file: boolean }[] } | { ok: false; code: string } {
    this.ops++;
    try {
      const entries = readdirSync(this.abs(rel), { withFileTypes: true });
      return { ok: true, value: entries.map((e) => ({ name: e.name, dir: e.isDirectory(), link: e.isSymbolicLink(), file: e.isFile() })) };
    } catch (err) {
      return { ok: false, code: errCode(err) };
    }
  }

  /** The raw target of a symlink. */
  readlink(rel: string): ReadResult {
    this.ops++;
    try {
      return { ok: true, value: readlinkSync(this.abs(rel)) };
    } catch (err) {
      return { ok: false, code: errCode(err) };
    }
  }

  /** The last path component of a symlink's target (`driver -> .../drivers/mlx5_core` gives `mlx5_core`). */
  linkName(rel: string): ReadResult {
    const r = this.readlink(rel);
    if (!r.ok) return r;
    const base = posix.basename(r.value);
    return base === '' ? { ok: false, code: 'PARSE' } : { ok: true, value: base };
  }

  /** The resolved path of `rel` relative to the root (ELOOP for loops, ENOENT for dangling links). */
  resolve(rel: string): ReadResult {
    this.ops++;
    try {
      const real = realpathSync(this.abs(rel));
      this.#rootReal ??= realpathSync(this.root);
      const rootReal = this.#rootReal;
      const relPath = posix.relative(rootReal, real);
      if (relPath.startsWith('..')) return { ok: false, code: 'EXDEV' };
      return { ok: true, value: relPath };
    } catch (err) {
      return { ok: false, code: errCode(err) };
    }
  }
}
