import assert from 'node:assert/strict';
import { ImproperlyConfigured, aatomic, closeAllConnections, configure, migrate, newConnection, resetWarningsSeen } from 'orm-migrate/runtime';
import { Question } from './support/polls.js';

// An in-memory SQLite database belongs to the connection that opened it: the sync connection keeps
// working on it, while a block or the fallback's worker (connections of their own) are refused,
// naming the setting, instead of failing later with "no such table".
describe("name: ':memory:' (SQLite)", () => {
  beforeEach(() => {
    configure({ databases: { default: { engine: 'sqlite', name: ':memory:' } } });
    migrate();
    resetWarningsSeen();
  });
  afterEach(() => closeAllConnections());

  const refused = (error: unknown, who: RegExp): boolean => {
    assert.ok(error instanceof ImproperlyConfigured, String(error));
    assert.match(error.message, /^databases\.default\.name is ':memory:', a SQLite database private to the connection that opened it/);
    assert.match(error.message, who);
    assert.match(error.message, /Use a database file/);
    return true;
  };

  it('serves legacy sync code on its one connection', () => {
    Question.objects.create({ questionText: 'kept', pubDate: new Date() });
    assert.equal(Question.objects.count(), 1);
  });

  it('refuses a newConnection() block, naming the setting', async () => {
    await assert.rejects(
      newConnection(() => Question.objects.acount()),
      (error) => refused(error, /a newConnection\(\) block opens a connection of its own/),
    );
  });

  it("refuses an async call outside any block (the fallback's worker thread) and aatomic() with no block", async () => {
    const saved = process.env.ORM_MIGRATE_WARNINGS;
    process.env.ORM_MIGRATE_WARNINGS = 'ignore';
    try {
      await assert.rejects(Question.objects.acount(), (error) => refused(error, /runs on a worker thread/));
      await assert.rejects(aatomic(() => Question.objects.acount()), (error) => refused(error, /a connection of its own/));
    } finally {
      if (saved === undefined) delete process.env.ORM_MIGRATE_WARNINGS;
      else process.env.ORM_MIGRATE_WARNINGS = saved;
    }
  });
});
