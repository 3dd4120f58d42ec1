/**
 * vitest globalSetup for the cross-service e2e project: these tests run against real Redis
 * and Kafka (DESIGN.md section 5), so a missing or unreachable service stops the run here with
 * one message naming it, instead of every test timing out on its own.
 */
import { pingKafka, pingRedis } from "@meshtune/adapters";

const HOW = "Run through `./dev test` (it starts local Redis and Kafka and stops them afterwards)";

export default async function setup(): Promise<void> {
  const problems: string[] = [];
  const redisUrl = process.env.REDIS_URL;
  const brokers = process.env.KAFKA_BROKERS;

  if (!redisUrl) problems.push(`REDIS_URL is not set. ${HOW}, or export REDIS_URL=redis://host:port.`);
  if (!brokers) problems.push(`KAFKA_BROKERS is not set. ${HOW}, or export KAFKA_BROKERS=host:port[,host:port].`);
  const [redis, kafka] = await Promise.all([
    redisUrl ? pingRedis(redisUrl, 3_000) : undefined,
    brokers ? pingKafka(brokers, 5_000) : undefined,
  ]);
  if (redis && !redis.ok) problems.push(`Redis is unreachable: ${redis.error}`);
  if (kafka && !kafka.ok) problems.push(`Kafka is unreachable: ${kafka.error}`);

  if (problems.length > 0) {
    throw new Error(`e2e tests need real Redis and Kafka:\n  - ${problems.join("\n  - ")}`);
  }
}
