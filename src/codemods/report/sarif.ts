/**
 * SARIF 2.1.0 (the format code-scanning services ingest): one run, the rules with their help
 * text, one result per finding — baseline-recorded findings carry an external suppression.
 */
import { pathToFileURL } from 'node:url';
import { RULES, parseErrorMeta } from '../rules/index.js';
import { presetByName } from '../presets/index.js';
import type { Preset } from '../presets/index.js';
import type { RuleId } from '../engine/types.js';
import type { Formatter } from './format.js';
import { displayPath } from './format.js';

export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';
const SOURCE_ROOT = 'SRCROOT';

interface RuleDescriptorSource {
  id: string;
  description: string;
  help: string;
  fixable: boolean;
  defaultSeverity: 'error' | 'warning';
}

function presetMeta(meta: RuleDescriptorSource & { id: RuleId }, preset: Preset): RuleDescriptorSource {
  const help = preset.ruleHelp?.[meta.id];
  return { ...meta, ...(help ?? {}), defaultSeverity: preset.severities?.[meta.id] ?? meta.defaultSeverity };
}

function ruleName(id: string): string {
  return id.replace(/(^|-)([a-z])/g, (_, __, letter: string) => letter.toUpperCase());
}

function uriOf(relativePath: string): string {
  return relativePath.split('/').map(encodeURIComponent).join('/');
}

export const formatSarif: Formatter = (report, context) => {
  // A preset runs its own rules, with its own help and default severities.
  const preset = report.result.preset === undefined ? undefined : presetByName(report.result.preset);
  const metas = preset ? RULES.filter((rule) => preset.rules.includes(rule.meta.id)).map((rule) => presetMeta(rule.meta, preset)) : RULES.map((rule) => rule.meta);
  const sources: RuleDescriptorSource[] = [...metas, parseErrorMeta];
  const ruleIndex = new Map(sources.map((rule, index) => [rule.id, index]));
  const rules = sources.map((rule) => ({
    id: rule.id,
    name: ruleName(rule.id),
    shortDescription: { text: rule.description },
    fullDescription: { text: rule.help },
    help: { text: rule.help, markdown: rule.help },
    defaultConfiguration: { level: rule.defaultSeverity },
    properties: { fixable: rule.fixable, tags: ['orm-migrate', rule.defaultSeverity === 'error' ? 'correctness' : 'deprecation'] },
  }));
  const location = (file: string, line: number, column: number, endLine: number, endColumn: number) => ({
    physicalLocation: {
      artifactLocation: { uri: uriOf(displayPath(context.cwd, file)), uriBaseId: SOURCE_ROOT },
      region: { startLine: line, startColumn: column, endLine, endColumn },
    },
  });
  const results = report.findings.map((finding) => ({
    ruleId: finding.ruleId,
    ruleIndex: ruleIndex.get(finding.ruleId) ?? 0,
    level: finding.severity,
    message: { text: finding.message },
    locations: [location(finding.file, finding.line, finding.column, finding.endLine, finding.endColumn)],
    ...(finding.roots && finding.roots.length > 0
      ? {
          relatedLocations: finding.roots.map((root, index) => ({
            id: index,
            message: { text: `Root of the call chain: ${root.name === undefined ? `the ${root.kind} function` : `\`${root.name}\``}` },
            ...location(root.file, root.line, root.column, root.line, root.column),
          })),
        }
      : {}),
    ...(finding.suppressed ? { suppressions: [{ kind: 'external', justification: 'Recorded in the orm-migrate baseline.' }] } : {}),
  }));
  const notifications = report.result.notes.map((note) => ({ level: 'note', message: { text: note } }));
  const document = {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'orm-migrate',
            version: context.toolVersion,
            semanticVersion: context.toolVersion,
            rules,
          },
        },
        invocations: [{ executionSuccessful: true, ...(notifications.length > 0 ? { toolExecutionNotifications: notifications } : {}) }],
        originalUriBaseIds: { [SOURCE_ROOT]: { uri: `${pathToFileURL(context.cwd).href.replace(/\/?$/, '/')}` } },
        columnKind: 'utf16CodeUnits',
        results,
      },
    ],
  };
  return `${JSON.stringify(document, null, 2)}\n`;
};
