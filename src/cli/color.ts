/**
 * Whether to colour output, by chalk's convention: FORCE_COLOR forces it (0 or false turns it
 * off), else NO_COLOR turns it off, else only a terminal gets colours.
 */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !(force === '0' || force.toLowerCase() === 'false');
  if (env.NO_COLOR) return false;
  return stream.isTTY === true;
}
