// Child processes of a benchmark: each runs in its own process group, logs to a file, and is
// stopped (SIGTERM to the leader, then SIGKILL to the whole group) within a bounded time.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly logFile: string;
}

export class ProcessGroup {
  readonly #started: Started[] = [];

  /** Start `command` detached (its own process group), stdout and stderr to `logFile`. */
  start(name: string, command: string, args: readonly string[], logFile: string, env: NodeJS.ProcessEnv = process.env): Started {
    const fd = openSync(logFile, 'a');
    const child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd], env });
    closeSync(fd);
    const exited = new Promise<void>((ok) => {
      if (child.exitCode !== null || child.signalCode !== null) return ok();
      child.once('exit', () => ok());
      child.once('error', () => ok());
    });
    const started = { name, child, exited, logFile };
    this.#started.push(started);
    return started;
  }

  /** SIGTERM every leader, wait up to `graceMs`, then SIGKILL each whole process group. */
  async stopAll(graceMs = 5000): Promise<void> {
    const running = this.#started.splice(0);
    for (const p of running) signal(p.child, 'SIGTERM', false);
    const timer = new Promise<void>((ok) => setTimeout(ok, graceMs).unref());
    await Promise.race([Promise.all(running.map((p) => p.exited)), timer]);
    // Grandchildren (nginx workers, Waygate workers) share the leader's group.
    for (const p of running) signal(p.child, 'SIGKILL', true);
  }

  /** Last resort from a synchronous `exit` handler: SIGKILL every group still known. */
  killAllNow(): void {
    for (const p of this.#started.splice(0)) signal(p.child, 'SIGKILL', true);
  }
}

function signal(child: ChildProcess, sig: NodeJS.Signals, group: boolean): void {
  if (child.pid === undefined) return;
  try {
    process.kill(group ? -child.pid : child.pid, sig);
  } catch {
    // ESRCH: already gone.
  }
}

/**
 * Runs a bench's body so that its processes and files go whatever happens: `cleanup` (run once)
 * after the body, on SIGINT/SIGTERM/SIGHUP (then exit 130), and an error sets exit code 1.
 */
export async function runCleanly(body: () => Promise<void>, cleanup: () => Promise<void>): Promise<void> {
  let cleaning: Promise<void> | undefined;
  const once = () => (cleaning ??= cleanup());
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`# ${sig}: stopping\n`);
      void once().finally(() => process.exit(130));
    });
  }
  try {
    await body();
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await once();
  }
}
