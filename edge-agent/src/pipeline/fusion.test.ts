import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuseMatches, identify } from './fusion.ts';

const rule = { threshold: 0.5, margin: 0.1 };

describe('fuseMatches and identify', () => {
  it('weighs each shot by its quality', () => {
    const fused = fuseMatches([
      {
        weight: 3,
        matches: [
          { personId: 'ann', similarity: 0.8 },
          { personId: 'bob', similarity: 0.2 },
        ],
      },
      {
        weight: 1,
        matches: [
          { personId: 'bob', similarity: 0.6 },
          { personId: 'ann', similarity: 0.4 },
        ],
      },
    ]);
    assert.equal(fused.best?.personId, 'ann');
    assert.ok(Math.abs(fused.best!.similarity - 0.7) < 1e-9);
    assert.ok(Math.abs(fused.second! - 0.3) < 1e-9);
    const identity = identify(fused, rule);
    assert.equal(identity.personId, 'ann');
    assert.ok(Math.abs(identity.margin! - 0.4) < 1e-9);
  });

  it('gives a person missing from a shot that shot’s lowest answer, never more', () => {
    const fused = fuseMatches([
      {
        weight: 1,
        matches: [
          { personId: 'ann', similarity: 0.9 },
          { personId: 'bob', similarity: 0.3 },
        ],
      },
      {
        weight: 1,
        matches: [
          { personId: 'cid', similarity: 0.7 },
          { personId: 'ann', similarity: 0.6 },
        ],
      },
    ]);
    // cid: (0.3 + 0.7) / 2; bob: (0.3 + 0.6) / 2; ann: (0.9 + 0.6) / 2.
    assert.equal(fused.best?.personId, 'ann');
    assert.ok(Math.abs(fused.best!.similarity - 0.75) < 1e-9);
    assert.ok(Math.abs(fused.second! - 0.5) < 1e-9);
  });

  it('says unknown (no person id) below the threshold or when two people are too close', () => {
    const low = identify(
      fuseMatches([{ weight: 1, matches: [{ personId: 'ann', similarity: 0.45 }] }]),
      rule,
    );
    assert.equal(low.personId, null);
    assert.equal(low.nearest, 'ann');
    const ambiguous = identify(
      fuseMatches([
        {
          weight: 1,
          matches: [
            { personId: 'ann', similarity: 0.8 },
            { personId: 'bob', similarity: 0.75 },
          ],
        },
      ]),
      rule,
    );
    assert.equal(ambiguous.personId, null);
    assert.ok(Math.abs(ambiguous.margin! - 0.05) < 1e-9);
  });

  it('measures a lone identity against 0 and handles an empty gallery', () => {
    const lone = identify(
      fuseMatches([{ weight: 1, matches: [{ personId: 'ann', similarity: 0.6 }] }]),
      rule,
    );
    assert.equal(lone.personId, 'ann');
    assert.equal(lone.margin, 0.6);
    const empty = identify(fuseMatches([{ weight: 1, matches: [] }]), rule);
    assert.deepEqual(empty, { personId: null, similarity: null, margin: null, nearest: null });
  });
});
