import test from 'ava';
import net from 'node:net';
import { lines, runCli } from './cliHarness.js';

const COMMANDS = [
  [], ['start'], ['namesrv'], ['topic'], ['topic', 'create'], ['topic', 'list'], ['topic', 'describe'], ['consumer'], ['consumer', 'progress'],
  ['message'], ['message', 'query'], ['offset'], ['offset', 'reset'], ['bench'], ['bench', 'produce'], ['bench', 'consume'],
  ['group'], ['group', 'create'], ['group', 'update'], ['group', 'delete'], ['group', 'list'], ['group', 'describe'],
];

test('cli - every command answers --help with its usage and exit 0', async (t) => {
  for (const cmd of COMMANDS) {
    const r = await runCli([...cmd, '--help']);
    t.is(r.code, 0, `petrelmq ${cmd.join(' ')} --help: ${r.stderr}`);
    t.regex(r.stdout, new RegExp(`^Usage: petrelmq${cmd.length === 0 ? '' : ` ${cmd.join(' ')}`}`), cmd.join(' '));
    t.is(r.stderr, '');
  }
});

test('cli - every leaf command offers --json', async (t) => {
  const leaves = COMMANDS.filter((c) => c.length === 2 || (c.length === 1 && ['start', 'namesrv'].includes(c[0] ?? '')));
  for (const cmd of leaves) t.regex((await runCli([...cmd, '--help'])).stdout, /--json/, cmd.join(' '));
});

test('cli - a bad flag is one ERR_INVALID_ARGUMENT line on stderr and exit 2', async (t) => {
  for (const args of [['start', '--bogus'], ['start', '--grpc-port', 'abc'], ['topic', 'list', '--broker', 'nowhere'], ['consumer', 'progress'], ['nosuchcommand']]) {
    const r = await runCli(args);
    t.is(r.code, 2, args.join(' '));
    t.is(r.stdout, '');
    t.is(lines(r.stderr).length, 1, r.stderr);
    t.regex(r.stderr, /^petrelmq: ERR_INVALID_ARGUMENT: \S/, args.join(' '));
  }
});

test('cli - with --json the error line is a JSON object', async (t) => {
  const r = await runCli(['offset', 'reset', '--group', 'g', '--topic', 'T', '--json']);
  t.is(r.code, 2);
  t.deepEqual(Object.keys((JSON.parse(r.stderr) as { error: object }).error), ['code', 'message']);
  t.regex(r.stderr, /"code":"ERR_INVALID_ARGUMENT"/);
});

test('cli - an unreachable broker is one ERR_SERVICE_NOT_AVAILABLE line and exit 1', async (t) => {
  // A port that was free a moment ago: nothing listens there.
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  for (const args of [['topic', 'list'], ['consumer', 'progress', '--group', 'g'], ['message', 'query', '--id', '0A0B'], ['bench', 'produce', '--messages', '1']]) {
    const r = await runCli([...args, '--broker', `127.0.0.1:${port}`]);
    t.is(r.code, 1, args.join(' '));
    t.is(lines(r.stderr).length, 1, r.stderr);
    t.regex(r.stderr, /^petrelmq: ERR_SERVICE_NOT_AVAILABLE: .*127\.0\.0\.1/, args.join(' '));
  }
});
