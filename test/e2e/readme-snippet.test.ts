/**
 * The README's hls.js snippet is the code the demo page runs (src/demo/token-keeper.ts), which the browser
 * test proves; this keeps the published copy from drifting away from it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PLAYER_HTML } from '../../src/demo/player.html.ts';
import { TOKEN_KEEPER_JS } from '../../src/demo/token-keeper.ts';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('the hls.js snippet', () => {
  it('is in the README verbatim, as a js block', () => {
    expect(README).toContain(`\`\`\`js\n${TOKEN_KEEPER_JS}\`\`\``);
  });

  it('is what the demo page runs', () => {
    expect(PLAYER_HTML).toContain(TOKEN_KEEPER_JS);
    expect(PLAYER_HTML).toContain('createTokenKeeper(');
    expect(PLAYER_HTML).toContain('keeper.xhrSetup(xhr, url)');
  });
});
