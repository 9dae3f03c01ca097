import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ClawUsage, UsageSample } from '../../server/fleet/agent-api';

/**
 * What each claw uses on this Mini: the resident memory and CPU of all its processes (the gateway
 * and whatever it started: every process of the claw's own user, or, without claw users, of the
 * gateway's process group) and the disk its directory takes. Sampled every few seconds into a short
 * history per claw, which the control plane reads for the claw's page.
 */

export interface ProcessFacts {
  pid: number;
  pgid: number;
  uid: number;
  rssBytes: number;
  cpuSeconds: number;
}

/** Linux: clock ticks per second and page size as every mainstream kernel configures them. */
const CLK_TCK = 100;
const PAGE = 4096;

/**
 * One /proc/<pid>/stat line: the fields after the command name (which may hold spaces and
 * parentheses, hence the last ')'). Fields 5 pgrp, 14 utime, 15 stime, 24 rss (1-based).
 */
export function parseProcStat(line: string): Omit<ProcessFacts, 'uid'> | undefined {
  const close = line.lastIndexOf(')');
  const pid = Number(line.slice(0, line.indexOf(' ')));
  const f = line.slice(close + 2).split(' ');
  if (close < 0 || !Number.isInteger(pid) || f.length < 22) return undefined;
  return {
    pid,
    pgid: Number(f[2]),
    cpuSeconds: (Number(f[11]) + Number(f[12])) / CLK_TCK,
    rssBytes: Number(f[21]) * PAGE,
  };
}

/** `ps -axo pid=,pgid=,uid=,rss=,time=` (macOS): rss in KiB, time as [[dd-]hh:]mm:ss[.ss]. */
export function parsePsLine(line: string): ProcessFacts | undefined {
  const [pid, pgid, uid, rss, time] = line.trim().split(/\s+/);
  if (!pid || !pgid || !uid || !rss || !time) return undefined;
  const [days, clock] = time.includes('-') ? time.split('-') : ['0', time];
  const parts = clock!.split(':').map(Number);
  const seconds = parts.reduce((acc, p) => acc * 60 + p, 0) + Number(days) * 86_400;
  const facts = {
    pid: Number(pid),
    pgid: Number(pgid),
    uid: Number(uid),
    rssBytes: Number(rss) * 1024,
    cpuSeconds: seconds,
  };
  return Object.values(facts).every(Number.isFinite) ? facts : undefined;
}

/** Every process on the machine, as far as this agent may see them. */
export async function processTable(): Promise<ProcessFacts[]> {
  if (fs.existsSync('/proc/self/stat')) {
    const out: ProcessFacts[] = [];
    for (const entry of await fs.promises.readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const [stat, owner] = await Promise.all([
          fs.promises.readFile(`/proc/${entry}/stat`, 'utf8'),
          fs.promises.stat(`/proc/${entry}`),
        ]);
        const facts = parseProcStat(stat);
        if (facts) out.push({ ...facts, uid: owner.uid });
      } catch {
        // exited while we looked
      }
    }
    return out;
  }
  return new Promise((resolve) => {
    execFile('ps', ['-axo', 'pid=,pgid=,uid=,rss=,time='], { timeout: 5000 }, (err, stdout) => {
      if (err) return resolve([]);
      resolve(stdout.split('\n').flatMap((l) => parsePsLine(l) ?? []));
    });
  });
}

/** A claw's processes: all of its own user's, or (no claw users) its gateway's process group. */
export function clawProcesses(
  table: readonly ProcessFacts[],
  claw: { uid?: number; gatewayPid?: number },
): ProcessFacts[] {
  if (claw.uid !== undefined) return table.filter((p) => p.uid === claw.uid);
  if (claw.gatewayPid !== undefined) return table.filter((p) => p.pgid === claw.gatewayPid);
  return [];
}

/** Bytes under `dir` (files, not following links), counting at most `maxEntries` entries. */
export async function directoryBytes(dir: string, maxEntries = 200_000): Promise<number> {
  let total = 0;
  let seen = 0;
  const stack = [dir];
  while (stack.length && seen < maxEntries) {
    const d = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (++seen > maxEntries) break;
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile())
        total += await fs.promises.lstat(p).then(
          (s) => s.size,
          () => 0,
        );
    }
  }
  return total;
}

export interface UsageTarget {
  clawId: string;
  /** The claw's own user, when claws run as their own users. */
  uid?: number;
  /** The gateway's pid (its process group), when it runs. */
  gatewayPid?: number;
  /** The claw's directory: its state, workspace, config and logs. */
  dir: string;
}

const HISTORY = 60;
const DISK_EVERY = 6;

/**
 * Keeps a short history per claw: a sample each round (memory, CPU since the previous round), the
 * disk every few rounds (walking a directory is the costly part).
 */
export class UsageSampler {
  readonly #history = new Map<string, UsageSample[]>();
  readonly #cpu = new Map<string, { at: number; seconds: number }>();
  readonly #disk = new Map<string, number>();
  #round = 0;

  async sample(targets: readonly UsageTarget[], now = Date.now()): Promise<void> {
    const table = await processTable();
    const diskRound = this.#round++ % DISK_EVERY === 0;
    for (const t of targets) {
      const procs = clawProcesses(table, t);
      const rssBytes = procs.reduce((s, p) => s + p.rssBytes, 0);
      const seconds = procs.reduce((s, p) => s + p.cpuSeconds, 0);
      const prev = this.#cpu.get(t.clawId);
      // Processes that ended since take their CPU time with them: a drop is a new baseline.
      const cpuPercent =
        prev && seconds >= prev.seconds && now > prev.at
          ? Math.round(((seconds - prev.seconds) / ((now - prev.at) / 1000)) * 1000) / 10
          : 0;
      this.#cpu.set(t.clawId, { at: now, seconds });
      if (diskRound || !this.#disk.has(t.clawId)) this.#disk.set(t.clawId, await directoryBytes(t.dir));
      const list = this.#history.get(t.clawId) ?? [];
      list.push({ at: new Date(now).toISOString(), rssBytes, cpuPercent, processes: procs.length });
      if (list.length > HISTORY) list.splice(0, list.length - HISTORY);
      this.#history.set(t.clawId, list);
    }
    const live = new Set(targets.map((t) => t.clawId));
    for (const id of [...this.#history.keys()]) if (!live.has(id)) this.forget(id);
  }

  usage(clawId: string): ClawUsage | undefined {
    const samples = this.#history.get(clawId);
    if (!samples) return undefined;
    return { diskBytes: this.#disk.get(clawId) ?? 0, samples: [...samples] };
  }

  forget(clawId: string): void {
    this.#history.delete(clawId);
    this.#cpu.delete(clawId);
    this.#disk.delete(clawId);
  }
}
