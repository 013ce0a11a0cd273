import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeAllConnections, configure, migrate, newConnection, aatomic } from 'orm-migrate/runtime';
import { Choice, Question } from './support/polls.js';

describe('several database aliases', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orm-migrate-alias-'));
    configure({ databases: { default: { engine: 'sqlite', name: join(dir, 'a.sqlite3') }, other: { engine: 'sqlite', name: join(dir, 'b.sqlite3') } } });
    migrate();
    migrate({ using: 'other' });
  });
  afterEach(async () => {
    await closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an instance remembers its alias: save, refresh, delete and lazy foreign keys go back to it', () => {
    const q = Question.objects.using('other').create({ questionText: 'on other', pubDate: new Date() });
    Choice.objects.using('other').create({ question: q, choiceText: 'c' });
    assert.equal(Question.objects.count(), 0, 'nothing on default');
    const loaded = Question.objects.using('other').get({ pk: q.id });
    loaded.questionText = 'edited';
    loaded.save();
    assert.equal(Question.objects.using('other').get({ pk: q.id }).questionText, 'edited');
    assert.equal(Question.objects.count(), 0, 'save() did not insert into default');
    assert.equal(Choice.objects.using('other').get({ choiceText: 'c' }).question!.questionText, 'edited');
    loaded.delete();
    assert.equal(Choice.objects.using('other').count(), 0, 'cascade on other');
  });

  it('blocks and transactions are per alias: a block for one alias is not a block for the other', async () => {
    await newConnection(
      async () => {
        await aatomic(() => Question.objects.using('other').acreate({ questionText: 'x', pubDate: new Date() }), { using: 'other' });
        assert.equal(Question.objects.count(), 0, 'sync calls on default are allowed inside a block for other');
      },
      { using: 'other' },
    );
    assert.equal(Question.objects.using('other').count(), 1);
  });
});
