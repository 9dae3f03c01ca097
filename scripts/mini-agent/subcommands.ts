import { ConfigError, HelpRequested, parseAgentConfig, thisHost } from './config';
import { doctorChecks, formatChecks, gatherDoctorFacts } from './doctor';
import { applyInstall, INSTALL_USAGE, planInstall } from './install';

export const SUBCOMMANDS = ['install', 'doctor'] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];

export const isSubcommand = (word: string | undefined): word is Subcommand =>
  SUBCOMMANDS.some((s) => s === word);

/**
 * `npm run agent -- install …` (install.ts) and `npm run agent -- doctor [agent flags]` (doctor.ts):
 * the exit code; 2 for a bad command line.
 */
export async function runSubcommand(name: Subcommand, argv: string[]): Promise<number> {
  try {
    const host = thisHost();
    if (name === 'install') {
      if (argv.includes('--help')) {
        console.log(INSTALL_USAGE);
        return 0;
      }
      for (const line of applyInstall(planInstall(argv, host), host)) console.log(line);
      return 0;
    }
    const config = parseAgentConfig(argv, process.env, host);
    const { lines, exitCode } = formatChecks(doctorChecks(await gatherDoctorFacts(config, { host })));
    for (const line of lines) console.log(line);
    return exitCode;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`mini-agent ${name}: ${message}`);
    return err instanceof ConfigError || err instanceof HelpRequested ? 2 : 1;
  }
}
