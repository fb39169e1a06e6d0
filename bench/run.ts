/**
 * `npm run bench -- <name> [options]`: runs bench/<name>.js. Each benchmark prints its own
 * figures and, in the same run, the baseline it compares with.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== 'run.js')
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...rest] = process.argv.slice(2);
if (name === undefined || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [options]`);
  process.exit(name === undefined ? 0 : 2);
}
const mod = (await import(`./${name}.js`)) as { main(args: string[]): Promise<void> };
await mod.main(rest);
