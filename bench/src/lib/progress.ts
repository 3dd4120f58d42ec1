/**
 * Progress bars for long benchmark runs (cli-progress) on stderr when it is a terminal; plain
 * progress lines otherwise (CI logs, pipes), at most one per quarter of the work or when the
 * label changes, so a log never fills with bar redraws.
 */
import cliProgress from "cli-progress";
import { progress } from "./log.js";

export interface Bar {
  /** Sets the work done so far (in the bar's unit) and what is running now. */
  update(done: number, label?: string): void;
  stop(): void;
}

export interface BarOptions {
  title: string;
  total: number;
  /** Unit shown after the counts, e.g. "s" or "runs". */
  unit: string;
  /** Force the plain-line fallback (tests, or stderr not a TTY). */
  plain?: boolean;
}

export function startBar(o: BarOptions): Bar {
  const tty = !o.plain && process.stderr.isTTY === true;
  if (!tty) return plainBar(o);
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `[bench] ${o.title} |{bar}| {value}/{total} ${o.unit} · {label}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(o.total, 0, { label: "" });
  return {
    update(done, label) {
      bar.update(Math.min(done, o.total), label === undefined ? {} : { label });
    },
    stop() {
      bar.stop();
    },
  };
}

function plainBar(o: BarOptions): Bar {
  let lastQuarter = -1;
  let lastLabel: string | undefined;
  return {
    update(done, label) {
      const quarter = Math.floor((4 * Math.min(done, o.total)) / Math.max(1, o.total));
      if (quarter === lastQuarter && label === lastLabel) return;
      lastQuarter = quarter;
      lastLabel = label;
      progress(`${o.title}: ${Math.round(done)}/${o.total} ${o.unit}${label ? ` · ${label}` : ""}`);
    },
    stop() {},
  };
}

/** A bar that advances with wall time (seconds) while `work` runs, from `offsetS` on. */
export async function withTimedBar<T>(bar: Bar, offsetS: number, label: string, work: Promise<T>): Promise<T> {
  const t0 = performance.now();
  bar.update(offsetS, label);
  const timer = setInterval(() => bar.update(offsetS + Math.floor((performance.now() - t0) / 1000), label), 1000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
