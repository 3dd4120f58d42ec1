/**
 * Logging for adapters: one pino logger injected everywhere (trigger.dev style: systems
 * receive their resources), and a bridge so kafkajs logs through it instead of printing its
 * own JSON lines to stdout.
 */
import kafkajs, { type logCreator } from "kafkajs";
import { destination, type Logger, pino } from "pino";

export type { Logger } from "pino";

/** Default when the caller injects nothing: warnings and errors only, to stderr. */
export function defaultLogger(name = "meshtune-adapters"): Logger {
  return pino({ name, level: process.env.MESHTUNE_LOG_LEVEL ?? "warn" }, destination(2));
}

/** For probes whose failures are reported through their result instead. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/**
 * kafkajs -> pino. kafkajs's own levels are NOTHING 0, ERROR 1, WARN 2, INFO 4, DEBUG 5; the
 * kafkajs client is created with logLevel WARN, so INFO chatter ("Consumer has joined the
 * group") never reaches this function.
 */
export function kafkaLogCreator(logger: Logger): logCreator {
  const { logLevel } = kafkajs;
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _ts, ...extra } = log;
      const fields = { kafkajs: namespace, ...extra };
      if (isRoutine(namespace, message)) logger.debug(fields, message);
      else if (level === logLevel.ERROR) logger.error(fields, message);
      else if (level === logLevel.WARN) logger.warn(fields, message);
      else if (level === logLevel.INFO) logger.info(fields, message);
      else logger.debug(fields, message);
    };
}

/**
 * kafkajs logs every error *response* at ERROR (network/connection.js) before its retry logic
 * handles it, so a normal rebalance ("The group is rebalancing, so a rejoin is needed" on each
 * heartbeat) or a topic whose leader is still being elected fills the log with errors. Errors
 * that matter still reach the caller as a failed operation, so these are kept at debug.
 */
function isRoutine(namespace: string, message: string): boolean {
  if (namespace === "Connection" && message.startsWith("Response ")) return true;
  if (namespace === "Runner" && message.startsWith("The group is rebalancing")) return true;
  return false;
}
