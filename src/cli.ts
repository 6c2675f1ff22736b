#!/usr/bin/env node
/**
 * The `queuescope` command. The only place that calls process.exit.
 *
 *   queuescope [--config FILE] [--listen HOST:PORT] [--log-level LEVEL]
 *   queuescope check-config [--config FILE]
 *   queuescope demo [--redis URL] [--mysql URL] [--rate N] …
 *   queuescope --version | --help
 *
 * Exit codes: 0 normal shutdown; 2 invalid configuration or arguments; 1 anything else.
 */
// First: the heap policy must be in place before the rest of the program allocates.
import './heap-policy.js';
import { parseArgs } from 'node:util';
import { ConfigError } from './config/errors.js';
import { resolveConfig } from './config/load.js';
import { renderEffectiveConfig } from './config/redact.js';
import { VERSION } from './version.js';

const USAGE = `usage:
  queuescope [--config FILE] [--listen HOST:PORT] [--log-level LEVEL] [--web.config.file FILE]
  queuescope check-config [--config FILE]
  queuescope demo [--redis URL] [--mysql URL] [--rate N] [--burst] [--fail-ratio F]
  queuescope generate [--out DIR] [--format files|prometheusrule] [--job NAME] [--lang zh|en] …  (generate --help)
  queuescope --version

Config: --config FILE, else $QUEUESCOPE_CONFIG, else ./queuescope.yaml, else built-in defaults.
--web.config.file FILE: TLS, client certificates, bcrypt basic_auth_users and headers in the
  Prometheus exporter-toolkit format (else $QUEUESCOPE_WEB_CONFIG_FILE).
Environment: QUEUESCOPE_LISTEN, QUEUESCOPE_REDIS_URL, QUEUESCOPE_MYSQL_URL, QUEUESCOPE_LOG_LEVEL.`;

class UsageError extends Error {}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        listen: { type: 'string' },
        'log-level': { type: 'string' },
        'web.config.file': { type: 'string' },
        version: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function main(argv: string[]): Promise<number | undefined> {
  if (argv[0] === 'demo') {
    const { runDemoCommand } = await import('./demo/index.js');
    return runDemoCommand(argv.slice(1));
  }
  if (argv[0] === 'generate') {
    const { runGenerateCommand, GenerateParamError } = await import('./generate/index.js');
    try {
      return runGenerateCommand(argv.slice(1), { stdout: (s) => process.stdout.write(s), cwd: process.cwd() });
    } catch (err) {
      if (err instanceof GenerateParamError) throw new UsageError(err.message);
      throw err;
    }
  }
  const { values, positionals } = parse(argv);
  if (values.version) {
    process.stdout.write(`queuescope ${VERSION}\n`);
    return 0;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = positionals[0];
  const opts = {
    ...(values.config !== undefined && { configPath: values.config }),
    ...(values.listen !== undefined && { listen: values.listen }),
    ...(values['log-level'] !== undefined && { logLevel: values['log-level'] }),
  };
  if (command === 'check-config') {
    const { config, source } = await resolveConfig({ ...opts, env: process.env, cwd: process.cwd() });
    process.stdout.write(`# ${source}: valid\n${renderEffectiveConfig(config)}`);
    return 0;
  }
  if (command !== undefined) throw new UsageError(`unknown command "${command}"`);
  const { runServer } = await import('./server.js');
  const webConfigFile = values['web.config.file'] ?? (process.env.QUEUESCOPE_WEB_CONFIG_FILE || undefined);
  await runServer(opts, webConfigFile !== undefined ? { webConfigFile } : {});
  return undefined; // keeps running; close-with-grace exits
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`queuescope: invalid configuration\n${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof UsageError) {
      process.stderr.write(`queuescope: ${err.message}\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`queuescope: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
