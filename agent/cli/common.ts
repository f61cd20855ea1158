// Shared pieces of the commands: version, config loading, log level flag.
import { defaultConfig, loadConfigFile, type Config } from '../config/config.ts';
import { isLogLevel, type LogLevel } from '../log.ts';
import { UsageError } from './args.ts';

export const VERSION = '0.1.0';

export function loadConfig(file: string | undefined): Config {
  return file === undefined ? defaultConfig() : loadConfigFile(file);
}

export function logLevelOf(value: string | undefined): LogLevel {
  if (value === undefined) return 'info';
  if (!isLogLevel(value)) throw new UsageError(`--log-level must be debug, info, warn or error`);
  return value;
}
