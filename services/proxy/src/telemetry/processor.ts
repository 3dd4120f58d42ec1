/**
 * A bounded span processor that counts what it drops. The SDK's BatchSpanProcessor is bounded
 * too, but keeps its drop count private (and only reports it through optional self-metrics
 * with OTel's own names); the issue asks for drops in meshtune_proxy_telemetry_dropped_total.
 *
 * One export in flight at a time (a slow or dead collector cannot pile up sockets); spans that
 * end meanwhile wait in the queue, and when it is full new ones are dropped and counted, so a
 * flood of failures costs at most maxQueueSize spans of memory. With a small delayMs the
 * processor is the fast path of issue #6: a span leaves delayMs after it ends (batched with
 * whatever ended in the same window), not at the next 5 s batch tick.
 */
import { TraceFlags } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace";

export type DropReason = "queue_full" | "export_failed";

export interface BoundedSpanProcessorOptions {
  exporter: SpanExporter;
  maxQueueSize: number;
  maxExportBatchSize: number;
  /** How long the first span of a batch waits for companions before the export starts. */
  delayMs: number;
  onDrop?(count: number, reason: DropReason): void;
  onExportError?(error: Error | undefined): void;
}

export class BoundedSpanProcessor implements SpanProcessor {
  readonly #o: BoundedSpanProcessorOptions;
  #queue: ReadableSpan[] = [];
  #timer: NodeJS.Timeout | undefined;
  #exporting: Promise<void> | undefined;
  #stopped = false;

  constructor(options: BoundedSpanProcessorOptions) {
    this.#o = { ...options, maxExportBatchSize: Math.min(options.maxExportBatchSize, options.maxQueueSize) };
  }

  get queued(): number {
    return this.#queue.length;
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.#stopped) return;
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.#queue.length >= this.#o.maxQueueSize) {
      this.#o.onDrop?.(1, "queue_full");
      return;
    }
    this.#queue.push(span);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#exporting || this.#timer) return;
    if (this.#queue.length >= this.#o.maxExportBatchSize) {
      void this.#exportBatch();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#exportBatch();
    }, this.#o.delayMs);
    this.#timer.unref();
  }

  #exportBatch(): Promise<void> {
    if (this.#exporting) return this.#exporting;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#queue.length === 0) return Promise.resolve();
    const batch =
      this.#queue.length <= this.#o.maxExportBatchSize
        ? this.#queue.splice(0)
        : this.#queue.splice(0, this.#o.maxExportBatchSize);
    const done = new Promise<void>((resolve) => {
      const failed = (err: Error | undefined) => {
        this.#o.onDrop?.(batch.length, "export_failed");
        this.#o.onExportError?.(err);
        resolve();
      };
      try {
        this.#o.exporter.export(batch, (r) => {
          if (r.code === ExportResultCode.SUCCESS) resolve();
          else failed(r.error);
        });
      } catch (err) {
        failed(err as Error);
      }
    });
    this.#exporting = done.then(() => {
      this.#exporting = undefined;
      // Spans that ended during the export have waited long enough: send them now.
      if (this.#queue.length > 0 && !this.#stopped) void this.#exportBatch();
    });
    return this.#exporting;
  }

  async forceFlush(): Promise<void> {
    while (this.#exporting || this.#queue.length > 0) await (this.#exporting ?? this.#exportBatch());
  }

  async shutdown(): Promise<void> {
    if (this.#stopped) return;
    await this.forceFlush();
    this.#stopped = true;
    await this.#o.exporter.shutdown();
  }
}
