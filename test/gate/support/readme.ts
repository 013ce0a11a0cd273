/** Code blocks of README.md, found by the `<!-- readme-test: NAME … -->` comment just above them. */
import { readFileSync } from 'node:fs';

const readme = new URL('../../../README.md', import.meta.url);

export function readmeBlock(name: string): string {
  const text = readFileSync(readme, 'utf8');
  const marker = text.indexOf(`<!-- readme-test: ${name}`);
  if (marker < 0) throw new Error(`README.md has no <!-- readme-test: ${name} --> marker`);
  const match = /^```[a-z]*\n([\s\S]*?)^```$/m.exec(text.slice(marker));
  if (!match) throw new Error(`README.md: no code block after the readme-test: ${name} marker`);
  return match[1]!;
}
