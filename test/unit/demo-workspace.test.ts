import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clearDemoFolder, DEMO_ENTRIES } from '../../src/demo/workspace.js';

describe('clearDemoFolder', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("removes every entry of a previous demo and nothing else, so --dir pointing at a user's folder loses only the demo's files", () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-clear-'));
    dirs.push(dir);
    for (const name of Object.values(DEMO_ENTRIES)) {
      if (name.endsWith('.yaml')) writeFileSync(join(dir, name), 'old: true\n');
      else {
        mkdirSync(join(dir, name, 'nested'), { recursive: true });
        writeFileSync(join(dir, name, 'nested', 'file'), 'old');
      }
    }
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    mkdirSync(join(dir, 'photos'));

    clearDemoFolder(dir);

    expect(readdirSync(dir).sort()).toEqual(['notes.txt', 'photos']);
  });

  it('is a no-op on a folder that does not exist yet (the first demo)', () => {
    const dir = join(tmpdir(), `demo-clear-missing-${process.pid}`);
    clearDemoFolder(dir);
    expect(existsSync(dir)).toBe(false);
  });
});
