export type { EventRecord } from "./cloudevents-kafka.js";
export { CLOUDEVENTS_CONTENT_TYPE, fromKafkaRecord, toEventRecord } from "./cloudevents-kafka.js";
export type { DecisionConsumer, DecisionConsumerOptions, ReceivedDecision } from "./decision-consumer.js";
export { createDecisionConsumer } from "./decision-consumer.js";
export type { EventPublisher, EventPublisherOptions } from "./event-publisher.js";
export { createEventPublisher } from "./event-publisher.js";
export { createJsonlEventPublisher } from "./jsonl-events.js";
export type { KafkaAdmin, TopicSpec } from "./kafka-admin.js";
export { createKafkaAdmin } from "./kafka-admin.js";
export type { KafkaClientOptions, KafkaSecurity } from "./kafka-client.js";
export { createKafka, isRetryable, kafkaSecurityFromEnv, parseBrokers, pingKafka } from "./kafka-client.js";
export type { Logger } from "./log.js";
export { defaultLogger, kafkaLogCreator, silentLogger } from "./log.js";
export type { Script } from "./lua.js";
export { runScript, script, withLock } from "./lua.js";
export type { FlushResult, OutboxRelay, OutboxRelayOptions } from "./outbox.js";
export { createOutboxRelay } from "./outbox.js";
export type {
  EvaluationHandler,
  EvaluationJob,
  EvaluationJobMeta,
  EvaluationQueue,
  EvaluationQueueOptions,
  EvaluationWorker,
  EvaluationWorkerOptions,
  WorkerEvent,
} from "./queue.js";
export { createEvaluationQueue, createEvaluationWorker, evaluationJobId } from "./queue.js";
export type {
  Cluster,
  CreateRedisOptions,
  MessageHandler,
  PubSub,
  Redis,
  RedisPubSubOptions,
  Unsubscribe,
} from "./redis.js";
export {
  connectRedis,
  createRedis,
  createRedisCluster,
  createRedisPubSub,
  deleteMatching,
  pingRedis,
  redactUrl,
  redisRetryDelay,
} from "./redis.js";
export type { Done, Failure, Result } from "./result.js";
export { errorMessage } from "./result.js";
export type { RefusalKind, SigningKey, VerifyOptions, VerifyResult } from "./signing.js";
export { parseSigningKeys, signSnapshot, verifySnapshot } from "./signing.js";
export type {
  CommitInput,
  CommitResult,
  CurrentSnapshot,
  SnapshotStore,
  SnapshotStoreOptions,
} from "./snapshot-store.js";
export { createSnapshotStore, OUTBOX_FIELD } from "./snapshot-store.js";
export {
  contextOf,
  inSpan,
  linkTo,
  recordSpan,
  type Span,
  SpanKind,
  type SpanOptions,
  TRACER_NAME,
  traceparentOf,
} from "./tracing.js";
export * from "./windows/index.js";
