import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { querySnippet } from './horizon';

describe('querySnippet: a statement fit for a log line', () => {
  it('replaces string, dollar-quoted and numeric literals, keeping identifiers and parameters', () => {
    assert.equal(
      querySnippet(`SELECT * FROM users WHERE email = 'a@b.c' AND id = 42 AND t1.x = $1`),
      'SELECT * FROM users WHERE email = ? AND id = ? AND t1.x = $1',
    );
    assert.equal(
      querySnippet(`ALTER ROLE claws_app PASSWORD 'hunter''2'`),
      'ALTER ROLE claws_app PASSWORD ?',
    );
    assert.equal(querySnippet(`SELECT E'sec\\nret', U&'d\\0061t', 1.5e3`), 'SELECT ?, ?, ?');
    assert.equal(querySnippet(`DO $body$ BEGIN PERFORM 'x'; END $body$`), 'DO ?');
    assert.equal(querySnippet(`SELECT $$secret$$`), 'SELECT ?');
  });

  it('collapses whitespace and keeps only the start', () => {
    assert.equal(querySnippet('SELECT\n  a,\n\tb\nFROM t'), 'SELECT a, b FROM t');
    const long = querySnippet(`SELECT ${'col, '.repeat(100)}x FROM t`, 40);
    assert.equal(long.length, 40);
    assert.ok(long.endsWith('…'));
  });

  it('never lets an unterminated literal through', () => {
    assert.equal(querySnippet(`SELECT 'no end to this secret`), 'SELECT ?');
  });
});
