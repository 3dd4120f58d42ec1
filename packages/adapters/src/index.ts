export type {
  DecisionConsumer,
  DecisionConsumerOptions,
  DecisionPublisher,
  DecisionPublisherOptions,
  KafkaAdmin,
  KafkaClientOptions,
  ReceivedDecision,
  TopicSpec,
} from "./kafka.js";
export {
  CLOUDEVENTS_CONTENT_TYPE,
  createDecisionConsumer,
  createDecisionPublisher,
  createKafka,
  createKafkaAdmin,
  isRetryable,
  parseBrokers,
  pingKafka,
} from "./kafka.js";
export type { Logger } from "./log.js";
export { defaultLogger, kafkaLogCreator, silentLogger } from "./log.js";
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
  pingRedis,
  redactUrl,
  redisRetryDelay,
} from "./redis.js";
export type { Done, Failure, Result } from "./result.js";
export { errorMessage } from "./result.js";
export * from "./windows/index.js";
