import { PARSE_ERROR_RULE_ID } from '../engine/types.js';

/** The pseudo-rule a file that does not parse is reported under (always an error; the scan goes on). */
export const parseErrorMeta = {
  id: PARSE_ERROR_RULE_ID,
  description: 'A file that does not parse as JavaScript or TypeScript.',
  fixable: false,
  defaultSeverity: 'error',
  help: 'The file has a syntax error, so none of its code was analysed. Fix the syntax (or exclude the file in the config) and scan again.',
  messages: { parseError: 'Parsing error: {{error}}' },
} as const;
