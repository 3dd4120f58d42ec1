/**
 * The real services these integration tests need: the adapters package's fixtures (a missing or
 * unreachable Redis fails the test with a message naming it; never skipped).
 */
export { Closer, randomName, requireKafka, requireRedis, waitFor } from "../../../packages/adapters/test/services.js";
