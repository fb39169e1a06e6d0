/**
 * A JSON config file written the way RocketMQ writes config/topics.json and
 * config/consumerOffset.json (ROCKETMQ.md 4.1): the new content goes to a temp file that is
 * synced and renamed over the old one, after the old one is copied to `<file>.bak`. The loader
 * reads the file, and falls back to the .bak copy when the file is missing or unreadable.
 *
 * Owner: whichever actor owns that piece of broker state. After a crash the file holds either the
 * old or the new content, never a mix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PetrelError } from '../common/errors.js';
import { ioError } from './FileBackend.js';

export class ConfigFile {
  readonly path: string;

  constructor(file: string) {
    this.path = file;
  }

  get backupPath(): string {
    return `${this.path}.bak`;
  }

  /** The parsed content: of the file, else of its .bak copy; undefined when neither exists. */
  load(): unknown {
    const main = readJson(this.path);
    if (main.ok) return main.value;
    const bak = readJson(this.backupPath);
    if (bak.ok) return bak.value;
    if (main.missing && bak.missing) return undefined;
    throw new PetrelError('ERR_STORE_CORRUPT', `${this.path} and its .bak copy are both unreadable`, { cause: main.error ?? bak.error });
  }

  /** Replaces the content atomically, keeping the previous content as the .bak copy. */
  persist(value: unknown): void {
    const text = JSON.stringify(value, null, 2);
    const tmp = `${this.path}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.path), { recursive: true });
      const fd = fs.openSync(tmp, 'w');
      try {
        fs.writeFileSync(fd, text);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      if (fs.existsSync(this.path)) fs.copyFileSync(this.path, this.backupPath);
      fs.renameSync(tmp, this.path);
      syncDir(path.dirname(this.path));
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw ioError('write', this.path, err);
    }
  }
}

type ReadResult = { ok: true; value: unknown } | { ok: false; missing: boolean; error: unknown };

function readJson(file: string): ReadResult {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, missing: (err as NodeJS.ErrnoException).code === 'ENOENT', error: err };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, missing: false, error: err };
  }
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename itself is still atomic.
  }
}
