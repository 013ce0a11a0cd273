/**
 * Writes the synthetic corpus `npm run bench:scan` measures: N modules, each with 10 async
 * functions full of ORM calls plus same-named decoys on non-ORM objects, a models file, a
 * decoys file, the stand-in runtime declaration and a tsconfig.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CorpusOptions {
  modules: number;
}

export interface CorpusStats {
  files: number;
  lines: number;
  /** Findings per rule a correct type-aware scan must report on this corpus. */
  expectedFindings: Record<string, number>;
}

const runtimeStub = readFileSync(new URL('../fixtures/rules/_support/orm-runtime.d.ts', import.meta.url), 'utf8');

const tsconfig = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023'],
    types: [],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    paths: { 'orm-migrate/runtime': ['./orm-runtime.d.ts'] },
  },
  include: ['src/**/*.ts', 'orm-runtime.d.ts'],
};

const models = `import { defineModel, fields } from 'orm-migrate/runtime';

export const Question = defineModel('Question', {
  table: 'polls_question',
  fields: {
    id: fields.autoId(),
    questionText: fields.string({ maxLength: 200 }),
    pubDate: fields.datetime(),
  },
});

export const Choice = defineModel('Choice', {
  table: 'polls_choice',
  fields: {
    id: fields.autoId(),
    question: fields.foreignKey(() => Question, { onDelete: 'cascade' }),
    choiceText: fields.string({ maxLength: 200 }),
    votes: fields.integer({ default: 0 }),
  },
});
`;

const decoys = `// Objects whose methods share the ORM's names but are not the ORM.
export const cache = {
  async aget(key: string): Promise<string | undefined> {
    return key.length > 3 ? key : undefined;
  },
  async aexists(key: string): Promise<boolean> {
    return key.length > 0;
  },
};

export class Registry {
  private readonly seen = new Set<string>();
  async aexists(key: string): Promise<boolean> {
    return this.seen.has(key);
  }
  count(): number {
    return this.seen.size;
  }
  async asave(key: string): Promise<void> {
    this.seen.add(key);
  }
}

export const registry = new Registry();
`;

/** One module: 10 async functions in five shapes (two of each). */
function moduleSource(index: number): string {
  const parts: string[] = [
    `import { aatomic, newConnection, syncToAsync } from 'orm-migrate/runtime';`,
    `import { Choice, Question } from './models.js';`,
    `import { cache, registry } from './decoys.js';`,
    '',
  ];
  for (let pair = 0; pair < 2; pair += 1) {
    const n = `${index}_${pair}`;
    // 1. A route-style handler: a-calls with no connection block (4 findings), decoys (none).
    parts.push(
      `export async function listQuestions${n}(prefix: string): Promise<number> {`,
      `  const qs = Question.objects.filter({ questionText__startswith: prefix });`,
      `  if (!(await qs.aexists())) return 0;`,
      `  const cached = await cache.aget(prefix);`,
      `  const total = await qs.acount();`,
      `  const latest = await qs.orderBy('-pubDate').afirst();`,
      `  if (latest) { latest.questionText = prefix; await latest.asave(); }`,
      `  return total + (cached ? 1 : 0) + ((await registry.aexists(prefix)) ? 1 : 0);`,
      `}`,
    );
    // 2. A helper only ever called inside a connection block (no findings).
    parts.push(
      `async function recordVote${n}(choiceId: number): Promise<number> {`,
      `  const choice = await Choice.objects.aget({ pk: choiceId });`,
      `  choice.votes += 1;`,
      `  await choice.asave();`,
      `  const seen = new Map<number, number>();`,
      `  seen.set(choiceId, choice.votes);`,
      `  return seen.get(choiceId) ?? 0;`,
      `}`,
    );
    // 3. A migrated handler: a block, a transaction, one sync call inside (1 finding).
    parts.push(
      `export async function vote${n}(choiceId: number): Promise<number> {`,
      `  return newConnection(async () => {`,
      `    const votes = await aatomic(async () => recordVote${n}(choiceId));`,
      `    const choices = Choice.objects.filter({ votes__gte: votes }).count();`,
      `    const known = await registry.aexists(String(choiceId));`,
      `    return votes + choices + (known ? 1 : 0) + registry.count();`,
      `  });`,
      `}`,
    );
    // 4. Iteration outside a block (1 finding) and a floating a-call (2 findings).
    parts.push(
      `export async function totalVotes${n}(questionId: number): Promise<number> {`,
      `  let total = 0;`,
      `  for await (const choice of Choice.objects.filter({ questionId })) {`,
      `    total += choice.votes;`,
      `  }`,
      `  Question.objects.filter({ pk: questionId }).aupdate({ questionText: 'seen' });`,
      `  void registry.asave(String(total));`,
      `  return total;`,
      `}`,
    );
    // 5. A legacy thread wrapper (1 finding) next to a decoy wrapper-like call.
    parts.push(
      `export async function countQuestions${n}(): Promise<number> {`,
      `  const count = await syncToAsync(() => Question.objects.count())();`,
      `  const decoy = await Promise.resolve(registry.count());`,
      `  const hit = await cache.aexists('count');`,
      `  return count + decoy + (hit ? 1 : 0);`,
      `}`,
    );
  }
  return parts.join('\n');
}

/** Per module: 2 × (4 + 1 + 1 + 2 + 1) findings. */
const findingsPerModule = {
  'async-outside-connection': 2 * (4 + 1 + 1),
  'sync-in-async-context': 2 * 1,
  'floating-async-call': 2 * 1,
  'sync-to-async-wrapper': 2 * 1,
};

/** package.json, tsconfig.json, the runtime stub, src/models.ts and src/decoys.ts; returns their line count. */
export function writeCorpusBase(root: string): number {
  const src = join(root, 'src');
  mkdirSync(src, { recursive: true });
  let lines = 0;
  const write = (path: string, text: string): void => {
    writeFileSync(path, text);
    lines += text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  };
  write(join(root, 'package.json'), `${JSON.stringify({ name: 'scan-corpus', private: true, type: 'module' }, null, 2)}\n`);
  write(join(root, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
  write(join(root, 'orm-runtime.d.ts'), runtimeStub);
  write(join(src, 'models.ts'), models);
  write(join(src, 'decoys.ts'), decoys);
  return lines;
}

export function writeScanCorpus(root: string, options: CorpusOptions): CorpusStats {
  const src = join(root, 'src');
  let lines = writeCorpusBase(root);
  for (let index = 0; index < options.modules; index += 1) {
    const text = moduleSource(index);
    writeFileSync(join(src, `module${index}.ts`), text);
    lines += text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  }
  const expectedFindings: Record<string, number> = {};
  for (const [rule, perModule] of Object.entries(findingsPerModule)) expectedFindings[rule] = perModule * options.modules;
  return { files: options.modules + 5, lines, expectedFindings };
}
