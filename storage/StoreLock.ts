/**
 * The `lock` and `abort` files of the store root (ROCKETMQ.md 4.1).
 *
 * lock: RocketMQ takes an OS file lock on it. Node has no file locks, so the lock file holds the
 * pid of the process that owns the store and is claimed atomically (a hard link of a temp file,
 * which fails when the lock exists). A lock whose pid is no longer alive is stale and taken over;
 * so is one with this process's pid that no store in this thread holds (a restarted actor).
 * Two threads of one process opening the same store for writing is a programming error this
 * cannot see.
 *
 * Owner: the writer (the MessageStore; the writer actor later), from open to shutdown. After a
 * crash of the process the lock file stays, names a dead pid, and the next open takes it over;
 * after a crash of the writer's thread the restarted writer (same pid) takes it over too.
 *
 * abort: created, holding the pid, when the store opens; deleted by a clean shutdown. Finding it
 * at start means the last run did not shut down cleanly, and recovery takes the abnormal path.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PetrelError } from '../common/errors.js';
import { ioError } from './FileBackend.js';
import { abortPath, lockPath } from './StorePaths.js';

const heldHere = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class StoreLock {
  readonly path: string;
  #held = false;

  private constructor(file: string) {
    this.path = file;
  }

  /** Claims the store root for this process; ERR_STORE_LOCKED when a live owner holds it. */
  static acquire(root: string): StoreLock {
    const file = lockPath(root);
    const key = path.resolve(file);
    if (heldHere.has(key)) throw new PetrelError('ERR_STORE_LOCKED', `the store ${root} is already open in this thread`);
    fs.mkdirSync(root, { recursive: true });
    const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
    try {
      fs.writeFileSync(tmp, String(process.pid));
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          fs.linkSync(tmp, file);
          const lock = new StoreLock(file);
          lock.#held = true;
          heldHere.add(key);
          return lock;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('lock', file, err);
        }
        const owner = Number(fs.readFileSync(file, 'utf8').trim());
        if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && pidAlive(owner)) {
          throw new PetrelError('ERR_STORE_LOCKED', `the store ${root} is held by process ${owner}`);
        }
        fs.rmSync(file, { force: true });
      }
      throw new PetrelError('ERR_STORE_LOCKED', `could not claim ${file}`);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  release(): void {
    if (!this.#held) return;
    this.#held = false;
    heldHere.delete(path.resolve(this.path));
    fs.rmSync(this.path, { force: true });
  }
}

/** The abort file: present while a store is open or after it crashed. */
export const AbortFile = {
  exists(root: string): boolean {
    return fs.existsSync(abortPath(root));
  },
  create(root: string): void {
    try {
      fs.writeFileSync(abortPath(root), String(process.pid));
    } catch (err) {
      throw ioError('create', abortPath(root), err);
    }
  },
  remove(root: string): void {
    fs.rmSync(abortPath(root), { force: true });
  },
} as const;
