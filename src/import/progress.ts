import cliProgress from 'cli-progress';

/** Reports an import's progress: a live bar on a terminal, plain lines in CI or when piped. */
export interface ProgressReporter {
  start(label: string, total: number): void;
  update(done: number): void;
  stop(): void;
}

/** A reporter that says nothing (library use, tests). */
export const silentProgress: ProgressReporter = { start() {}, update() {}, stop() {} };

/**
 * A reporter for the CLI: a cli-progress bar when `stream` is a TTY and CI is not set; otherwise a plain line
 * at every tenth of the way (a bar's carriage returns make unreadable CI logs).
 */
export function createProgressReporter(
  stream: NodeJS.WriteStream = process.stderr,
  env: Record<string, string | undefined> = process.env,
): ProgressReporter {
  const interactive = Boolean(stream.isTTY) && !env.CI;
  if (interactive) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: '{label} [{bar}] {percentage}% | {value}/{total} events | {eta}s left',
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    return {
      start: (label, total) => bar.start(total, 0, { label }),
      update: (done) => bar.update(done),
      stop: () => bar.stop(),
    };
  }
  let label = '';
  let total = 0;
  let nextMark = 0;
  return {
    start(l, t) {
      label = l;
      total = t;
      nextMark = 0;
      stream.write(`${label}: ${total} events\n`);
    },
    update(done) {
      if (total === 0 || done < nextMark) return;
      const percent = Math.floor((done / total) * 100);
      stream.write(`${label}: ${done}/${total} (${percent}%)\n`);
      nextMark = done + Math.max(1, Math.ceil(total / 10));
    },
    stop() {},
  };
}
