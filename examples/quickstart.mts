// The README's first minutes, runnable: `npx tsx examples/quickstart.mts` (ESM: a .mts file, or
// "type": "module" in your package.json — top-level await does not work in CommonJS).
import {
  aatomic,
  closeAllConnections,
  configure,
  defineModel,
  fields,
  migrate,
  newConnection,
  SynchronousOnlyOperation,
} from 'orm-migrate/runtime';

configure({ databases: { default: { engine: 'sqlite', name: 'quickstart.sqlite3' } } });

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

migrate(); // creates missing tables of every model (sync)
const q = Question.objects.create({ questionText: "What's new?", pubDate: new Date() });
console.log('sync exists():', Question.objects.filter({ questionText__startswith: 'What' }).exists());

// No block: prints a PendingDeprecationWarning, then runs on a worker thread.
const again = await Question.objects.aget({ pk: q.id });
console.log('aget() without a block (deprecated fallback):', again.questionText);

try {
  await newConnection(async () => {
    console.log('aexists() in a block (native):', await Question.objects.filter({ pk: q.id }).aexists());
    await aatomic(async () => {
      await Choice.objects.acreate({ question: q, choiceText: 'Not much' });
    });
    Question.objects.count(); // a sync call inside a block: throws on purpose
  });
} catch (error) {
  if (!(error instanceof SynchronousOnlyOperation)) throw error;
  console.log(`caught, as intended: ${error.name}: ${error.message}`);
}

await closeAllConnections();
