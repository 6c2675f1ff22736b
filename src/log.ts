/** The structured logger (pino, which Fastify uses too). */
import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Log fields that may carry a secret, censored as `<secret>`. `rawPacket`
 * is what Node's HTTP parser attaches to a client error (Fastify logs it at
 * trace level): the raw request bytes, `Authorization: Bearer …` included.
 */
export const REDACTED_LOG_PATHS: readonly string[] = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'rawPacket',
  '*.rawPacket',
  'req.headers.authorization',
  'req.headers.cookie',
];

/**
 * A JSON logger at `level`, to stderr unless `destination` is given (tests).
 * Request bodies and headers are never logged wholesale; fields that could
 * carry secrets ({@link REDACTED_LOG_PATHS}) are redacted anyway.
 */
export function createLogger(level: string, destination: DestinationStream = pino.destination(2)): Logger {
  return pino(
    {
      level,
      base: { service: 'queuescope' },
      redact: { paths: [...REDACTED_LOG_PATHS], censor: '<secret>' },
    },
    destination,
  );
}
