/**
 * The source registry: every kind of source the nodes read datasets from. The Source parameter,
 * each source's own parameters (shown only when it is chosen) and the Source a run reads are
 * derived from it. Adding a source: its folder in lib/source, a descriptor here and one line in
 * SOURCES (docs/extending.md lists every file).
 */
import type { INodeProperties } from 'n8n-workflow';
import { localLake } from './localLake';
import type { SourceOption } from './types';

export type { SourceContext, SourceOption } from './types';

export const SOURCES: readonly SourceOption[] = [localLake];

export function sourceOptionOf(value: unknown): SourceOption | undefined {
	return SOURCES.find((s) => s.value === value);
}

/** The Source parameter and every source's own parameters, each shown only for its source. */
export const sourceProperties: INodeProperties[] = [
	{
		displayName: 'Source',
		name: 'source',
		type: 'options',
		noDataExpression: true,
		options: SOURCES.map((s) => ({ name: s.name, value: s.value, description: s.description })),
		default: 'localLake',
		description: 'Where the datasets are read from',
	},
	...SOURCES.flatMap((source) =>
		source.properties.map((property) => ({
			...property,
			displayOptions: { ...property.displayOptions, show: { ...property.displayOptions?.show, source: [source.value] } },
		})),
	),
];
