/**
 * Files the config names for their content: `*File` secrets (`passwordFile`,
 * `bearerTokenFile`, `urlFile`, …) and TLS material (`redis.tls.ca|cert|key`,
 * `modules.*.redis.tls.*`).
 *
 * A file is read only when it is a regular file no larger than its cap: a
 * FIFO would block the reader forever and `/dev/zero` never ends (both were
 * seen to hang `check-config` and freeze a running sidecar on `/-/reload`).
 * The file is opened with O_NONBLOCK (opening a FIFO must not wait for a
 * writer) and checked with fstat on the open descriptor, so what is checked
 * is what is read. The sidecar reads with `fs/promises`; a synchronous
 * variant with the same checks serves {@link parseConfigText}'s sync API.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { createSecureContext } from 'node:tls';
import { formatKeyPath } from './errors.js';
import { getAt } from './messages.js';
import type { Config } from './schema.js';
import type { LoadContext, Segment } from './yaml-source.js';

/** Largest `*File` secret, bytes: a password, token or robot URL is far below it. */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;
/** Largest TLS file, bytes: a CA bundle (Debian's whole ca-certificates.crt is ~220 KB) fits. */
export const MAX_TLS_FILE_BYTES = 1024 * 1024;

/** One file to read: absolute path and byte cap. */
export interface FileRequest {
  readonly path: string;
  readonly maxBytes: number;
}

/** The outcome of reading one {@link FileRequest}: its bytes, or why not (plain English, no content). */
export type FileRead = { readonly ok: true; readonly content: Buffer } | { readonly ok: false; readonly reason: string };

const FS_ERRORS: Partial<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  ELOOP: 'too many symbolic links',
  ENXIO: 'no such device',
};

/** Plain-English reason for a failed file operation (`no such file`, `permission denied`). */
export function describeFsError(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  return FS_ERRORS[code] ?? (code || 'read failed');
}

function formatBytes(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${Math.round(n / 1024)} KiB`;
}

/** Why `st` is not something we read, or undefined for a regular file within `maxBytes`. */
function refuse(st: Stats, maxBytes: number): string | undefined {
  if (st.isDirectory()) return 'is a directory';
  if (st.isFIFO()) return 'is a FIFO (named pipe), not a regular file';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'is a device, not a regular file';
  if (st.isSocket()) return 'is a socket, not a regular file';
  if (!st.isFile()) return 'is not a regular file';
  if (st.size > maxBytes) return `is larger than ${formatBytes(maxBytes)}`;
  return undefined;
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** One read the bounded loop wants: fill `buf` from `offset` (at file position `offset`). */
interface ReadWant {
  readonly buf: Buffer;
  readonly offset: number;
}

/**
 * The checks and the read loop of a bounded file, without the I/O: yields the
 * reads it wants, is resumed with the bytes each one read (0 = end of file),
 * and returns the outcome. The async and the sync reader both drive it, so
 * their checks cannot drift apart.
 */
function* boundedRead(st: Stats, maxBytes: number): Generator<ReadWant, FileRead, number> {
  const why = refuse(st, maxBytes);
  if (why) return { ok: false, reason: why };
  // One byte more than allowed: a file that grew since fstat is caught too.
  const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
  let n = 0;
  while (n < buf.length) {
    const bytesRead: number = yield { buf, offset: n };
    if (bytesRead === 0) break;
    n += bytesRead;
  }
  if (n > maxBytes) return { ok: false, reason: `is larger than ${formatBytes(maxBytes)}` };
  return { ok: true, content: buf.subarray(0, n) };
}

/**
 * Reads a regular file of at most `maxBytes`, without blocking the event
 * loop. Never throws.
 */
export async function readBoundedFile(req: FileRequest): Promise<FileRead> {
  let fh;
  try {
    fh = await open(req.path, OPEN_FLAGS);
  } catch (err) {
    return { ok: false, reason: describeFsError(err) };
  }
  try {
    const steps = boundedRead(await fh.stat(), req.maxBytes);
    for (let step = steps.next(); ; ) {
      if (step.done) return step.value;
      const { buf, offset } = step.value;
      step = steps.next((await fh.read(buf, offset, buf.length - offset, offset)).bytesRead);
    }
  } catch (err) {
    return { ok: false, reason: describeFsError(err) };
  } finally {
    await fh.close().catch(() => {});
  }
}

/** {@link readBoundedFile} for synchronous callers: the same checks, so a FIFO or a device is refused before any read. */
export function readBoundedFileSync(req: FileRequest): FileRead {
  let fd: number;
  try {
    fd = openSync(req.path, OPEN_FLAGS);
  } catch (err) {
    return { ok: false, reason: describeFsError(err) };
  }
  try {
    const steps = boundedRead(fstatSync(fd), req.maxBytes);
    for (let step = steps.next(); ; ) {
      if (step.done) return step.value;
      const { buf, offset } = step.value;
      step = steps.next(readSync(fd, buf, offset, buf.length - offset, offset));
    }
  } catch (err) {
    return { ok: false, reason: describeFsError(err) };
  } finally {
    closeSync(fd);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Secret fields that accept `xFile`; `url` only occurs with `urlFile` on notify targets. */
const SECRET_FIELDS = ['password', 'secret', 'bearerToken', 'url'] as const;

/** One `xFile` found in the config, waiting for its content. */
export interface SecretFileRef {
  /** key path of the object holding `x` / `xFile` */
  readonly parent: Segment[];
  readonly field: string;
  readonly fileName: string;
  readonly request: FileRequest;
}

/**
 * Finds every `xFile` in the validated config and removes it from the raw
 * data (an empty `xFile: ""` just goes away). Returns the files to read and
 * whether the raw data changed.
 */
export function findSecretFiles(config: Config, data: Record<string, unknown>, baseDir: string): { refs: SecretFileRef[]; changed: boolean } {
  const refs: SecretFileRef[] = [];
  let changed = false;
  const visit = (node: unknown, path: Segment[]): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => visit(item, [...path, i]));
      return;
    }
    if (!isPlainObject(node)) return;
    for (const field of SECRET_FIELDS) {
      const fileKey = `${field}File`;
      const fileName = node[fileKey];
      if (typeof fileName !== 'string') continue;
      const rawParent = getAt(data, path);
      if (!isPlainObject(rawParent)) continue;
      changed = true;
      delete rawParent[fileKey];
      if (fileName === '') continue;
      refs.push({ parent: path, field, fileName, request: { path: nodePath.resolve(baseDir, fileName), maxBytes: MAX_SECRET_FILE_BYTES } });
    }
    for (const [key, value] of Object.entries(node)) if (typeof value === 'object') visit(value, [...path, key]);
  };
  visit(config, []);
  return { refs, changed };
}

/**
 * Moves each secret file's trimmed content into its plain field in the raw
 * data (`passwordFile` -> `password`), or records why it could not.
 */
export function applySecretFiles(refs: readonly SecretFileRef[], reads: readonly FileRead[], data: Record<string, unknown>, ctx: LoadContext): void {
  refs.forEach((ref, i) => {
    const read = reads[i];
    const filePath = [...ref.parent, `${ref.field}File`];
    if (!read || !read.ok) {
      ctx.add(filePath, `cannot read "${ref.fileName}": ${read?.reason ?? 'read failed'}`);
      return;
    }
    const content = read.content.toString('utf8').trim();
    // An empty secret is almost always a broken mount; for bearerTokenFile
    // it would silently turn authentication off.
    if (content === '') {
      ctx.add(filePath, `"${ref.fileName}" is empty`);
      return;
    }
    const rawParent = getAt(data, ref.parent);
    if (!isPlainObject(rawParent)) return;
    rawParent[ref.field] = content;
    ctx.fromFile.set(formatKeyPath([...ref.parent, ref.field]), { filePath, fileName: ref.fileName });
  });
}

/** One TLS file named by the config. */
export interface TlsFileRef {
  /** key path of the `tls` block */
  readonly block: Segment[];
  readonly field: 'ca' | 'cert' | 'key';
  readonly fileName: string;
  readonly request: FileRequest;
}

/** Every non-empty `ca` / `cert` / `key` of `redis.tls` and `modules.*.redis.tls`, relative paths resolved against `baseDir`. */
export function findTlsFiles(config: Config, baseDir: string): TlsFileRef[] {
  const out: TlsFileRef[] = [];
  const blocks: Array<[Segment[], Config['redis']['tls']]> = [[['redis', 'tls'], config.redis.tls]];
  for (const [name, mod] of Object.entries(config.modules)) blocks.push([['modules', name, 'redis', 'tls'], mod.redis.tls]);
  for (const [block, tls] of blocks) {
    for (const field of ['ca', 'cert', 'key'] as const) {
      const fileName = tls[field];
      if (fileName !== '') out.push({ block, field, fileName, request: { path: nodePath.resolve(baseDir, fileName), maxBytes: MAX_TLS_FILE_BYTES } });
    }
  }
  return out;
}

/**
 * Records an issue for each TLS file that cannot be read, and for each
 * `tls` block whose files Node's TLS cannot use (not PEM, key and
 * certificate that do not match): start-up would fail on them, so the
 * loader refuses them first. OpenSSL's reasons name no key material.
 */
export function checkTlsFiles(refs: readonly TlsFileRef[], reads: readonly FileRead[], ctx: LoadContext): void {
  const blocks = new Map<string, { block: Segment[]; files: Partial<Record<'ca' | 'cert' | 'key', Buffer>>; failed: boolean }>();
  refs.forEach((ref, i) => {
    const read = reads[i];
    const id = formatKeyPath(ref.block);
    let entry = blocks.get(id);
    if (!entry) blocks.set(id, (entry = { block: ref.block, files: {}, failed: false }));
    if (!read || !read.ok) {
      ctx.add([...ref.block, ref.field], `cannot read "${ref.fileName}": ${read?.reason ?? 'read failed'}`);
      entry.failed = true;
      return;
    }
    entry.files[ref.field] = read.content;
  });
  for (const { block, files, failed } of blocks.values()) {
    if (failed) continue;
    if ((files.cert === undefined) !== (files.key === undefined)) {
      ctx.add([...block, files.cert === undefined ? 'cert' : 'key'], 'a client certificate needs both cert and key');
      continue;
    }
    try {
      createSecureContext(files);
    } catch (err) {
      ctx.add(block, `the TLS files cannot be used: ${(err as Error).message.replace(/^error:[0-9A-F]+:/, '')}`);
    }
  }
}
