/** The structured logger (pino, which Fastify uses too). */
import { pino, type Logger } from 'pino';

/**
 * A JSON logger to stderr at `level`. Request bodies and headers are never
 * logged wholesale; fields that could carry secrets are redacted anyway.
 */
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { service: 'queuescope' },
      redact: { paths: ['password', '*.password', 'secret', '*.secret', 'token', '*.token', 'req.headers.authorization'], censor: '<secret>' },
    },
    pino.destination(2),
  );
}
