/**
 * A child process of the invariant test: runs `count` concurrent transfers on a SQLite file that
 * other processes write at the same time, and prints what became of each as one JSON line.
 * Usage: node --import tsx bank-writer.ts <file> <firstNumber> <count> <seed>
 * It prints "ready" once loaded and starts on the first line of stdin, so all writers start together.
 */
import { closeAllConnections, configure } from 'orm-migrate/runtime';
import { planTransfers, transfer } from './bank.js';

const [file, firstNumber, count, seed] = process.argv.slice(2);
if (!file || !firstNumber || !count || !seed) throw new Error('usage: bank-writer.ts <file> <firstNumber> <count> <seed>');
configure({ databases: { default: { engine: 'sqlite', name: file } } });
const plans = planTransfers(Number(count), Number(seed), Number(firstNumber));
process.stdout.write('ready\n');
await new Promise((go) => process.stdin.once('data', go));
process.stdin.destroy();
const outcomes = await Promise.allSettled(plans.map((plan) => transfer(plan, 'default')));
const report = plans.map((plan, i) => {
  const outcome = outcomes[i]!;
  if (outcome.status === 'fulfilled') return { number: plan.number, moved: outcome.value === 'moved', declined: outcome.value === 'declined' };
  const error = outcome.reason as Error;
  return { number: plan.number, moved: false, error: { name: error.name, message: error.message } };
});
await closeAllConnections();
process.stdout.write(`${JSON.stringify(report)}\n`);
