/**
 * Just enough of ustar for the dev gateway's backups: regular files and directories, written and
 * read in memory (a dev gateway's state is a few JSON files). The archives are ordinary .tar.gz
 * files `tar tzf` lists; reading refuses anything this does not write (links, devices, paths that
 * leave the archive), as the real gateway's verify does.
 */

export interface TarEntry {
  /** Relative, `/`-separated; a directory's ends without a slash here. */
  name: string;
  type: 'file' | 'dir';
  mode: number;
  mtimeMs: number;
  data?: Buffer;
}

export class TarError extends Error {
  override name = 'TarError';
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** ustar keeps 100 bytes of name and 155 of prefix, split at a slash. */
function splitName(name: string): { prefix: string; base: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', base: name };
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const base = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(base) <= 100) return { prefix, base };
  }
  throw new TarError(`path too long for the archive: ${name}`);
}

function header(entry: TarEntry): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  const name = entry.type === 'dir' ? `${entry.name}/` : entry.name;
  const { prefix, base } = splitName(name);
  h.write(base, 0, 100, 'utf8');
  h.write(octal(entry.mode & 0o7777, 8), 100, 8, 'ascii');
  h.write(octal(0, 8), 108, 8, 'ascii');
  h.write(octal(0, 8), 116, 8, 'ascii');
  h.write(octal(entry.type === 'file' ? (entry.data?.length ?? 0) : 0, 12), 124, 12, 'ascii');
  h.write(octal(Math.floor(entry.mtimeMs / 1000), 12), 136, 12, 'ascii');
  h.write(' '.repeat(8), 148, 8, 'ascii');
  h.write(entry.type === 'file' ? '0' : '5', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + ' ', 148, 8, 'ascii');
  return h;
}

export function writeTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e));
    if (e.type === 'file' && e.data?.length) {
      parts.push(e.data);
      const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(Buffer.alloc(pad, 0));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0));
  return Buffer.concat(parts);
}

const field = (h: Buffer, start: number, len: number) => {
  const raw = h.subarray(start, start + len);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? len : end).toString('utf8');
};
const number = (h: Buffer, start: number, len: number) => {
  const text = field(h, start, len).trim();
  const n = text === '' ? 0 : parseInt(text, 8);
  if (!Number.isFinite(n)) throw new TarError('corrupt tar header');
  return n;
};

/** Every entry, checked: known types, checksums, and names that stay inside the archive. */
export function readTar(tar: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  for (let off = 0; off + BLOCK <= tar.length;) {
    const h = tar.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) return out;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (sum !== number(h, 148, 8)) throw new TarError('corrupt tar header (checksum)');
    const prefix = field(h, 345, 155);
    const raw = (prefix ? `${prefix}/` : '') + field(h, 0, 100);
    const typeflag = String.fromCharCode(h[156]!);
    const size = number(h, 124, 12);
    const type = typeflag === '0' || typeflag === '\0' ? 'file' : typeflag === '5' ? 'dir' : undefined;
    if (!type) throw new TarError(`unsupported entry type "${typeflag}" for ${raw}`);
    const name = raw.replace(/\/+$/, '');
    if (!safeName(name)) throw new TarError(`unsafe path in the archive: ${raw}`);
    const dataStart = off + BLOCK;
    if (dataStart + size > tar.length) throw new TarError('the archive is truncated');
    out.push({
      name,
      type,
      mode: number(h, 100, 8),
      mtimeMs: number(h, 136, 12) * 1000,
      ...(type === 'file' ? { data: Buffer.from(tar.subarray(dataStart, dataStart + size)) } : {}),
    });
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
  throw new TarError('the archive is truncated (no end marker)');
}

/** Relative, no `..`, no empty or `.` segments, no backslashes or NULs. */
export function safeName(name: string): boolean {
  if (!name || name.startsWith('/') || /[\\\0]/.test(name)) return false;
  return name.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}
