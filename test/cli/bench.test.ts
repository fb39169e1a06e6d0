import test from 'ava';
import { tempDir } from '../helpers/tmp.js';
import { lines, readyString, runCli, startCli } from './cliHarness.js';

interface Summary {
  mode: string;
  messages: number;
  msgsPerSec: number;
  mbPerSec: number;
  latencyUs: { p50: number; p99: number; p999: number };
  sendStatus: Record<string, number>;
}

function summaryOf(stdout: string): Summary {
  const out = lines(stdout);
  if (out.length !== 1) throw new Error(`expected one JSON line: ${stdout}`);
  return JSON.parse(out[0] ?? '') as Summary;
}

test('bench - produce against an embedded broker prints a JSON summary', async (t) => {
  const r = await runCli(['bench', 'produce', '--messages', '400', '--size', '64', '--concurrency', '8', '--json'], 120_000);
  t.is(r.code, 0, r.stderr);
  const s = summaryOf(r.stdout);
  t.is(s.mode, 'produce');
  t.deepEqual(s.sendStatus, { SEND_OK: 400 });
  t.true(s.msgsPerSec > 0 && s.mbPerSec > 0);
  t.true(s.latencyUs.p50 > 0 && s.latencyUs.p99 >= s.latencyUs.p50);
});

test('bench - consume counts every message once and reports end-to-end latency', async (t) => {
  const r = await runCli(['bench', 'consume', '--messages', '300', '--size', '32', '--json', '--timeout', '90'], 120_000);
  t.is(r.code, 0, r.stderr);
  const s = summaryOf(r.stdout);
  t.is(s.mode, 'consume');
  t.is(s.messages, 300);
  t.true(s.latencyUs.p50 > 0);
});

test('bench - the text summary names throughput and percentiles; --broker loads a running broker', async (t) => {
  const running = await startCli(t, ['start', '--store', tempDir(t), '--grpc-port', '0', '--remoting-port', '0', '--json', '--log-level', 'silent']);
  const r = await runCli(['bench', 'produce', '--messages', '200', '--broker', readyString(running, 'remoting')], 120_000);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^bench produce: 200 messages of 128 bytes, concurrency 32, broker 127\.0\.0\.1:\d+\n/);
  t.regex(r.stdout, /throughput\s+[\d.k]+ msgs\/s, [\d.]+ MB\/s/);
  t.regex(r.stdout, /latency\s+p50 [\d.k]+ us, p99 [\d.k]+ us/);
  t.is(r.stderr, '', 'no progress bar when stderr is not a terminal');
  t.is((await running.stop()).code, 0);
});

test('bench - consume refuses a body too small to carry its send time', async (t) => {
  const r = await runCli(['bench', 'consume', '--size', '8']);
  t.is(r.code, 2);
  t.regex(r.stderr, /^petrelmq: ERR_INVALID_ARGUMENT: bench consume needs --size >= 16/);
});
