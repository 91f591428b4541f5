/**
 * The source registry: every kind of source the nodes read datasets from. The Source parameter,
 * each source's own parameters (shown only when it is chosen) and the Source a run reads are
 * derived from it. Adding a source: its folder in lib/source, a descriptor here and one line in
 * SOURCES (docs/extending.md lists every file).
 */
import type { INodeCredentialDescription, INodeProperties } from 'n8n-workflow';
import { inputItems } from './inputItems';
import { localLake } from './localLake';
import { postgres } from './postgres';
import { storeLakes } from './storeLakes';
import type { SourceOption } from './types';

export type { SourceContext, SourceOption } from './types';

export const SOURCES: readonly SourceOption[] = [localLake, ...storeLakes, postgres, inputItems];

/** Sources that name their dataset with a parameter of their own (the nodes hide their Dataset picker for them). */
export const SOURCES_NAMING_DATASET: string[] = SOURCES.filter((s) => s.datasetParameter).map((s) => s.value);

export function sourceOptionOf(value: unknown): SourceOption | undefined {
	return SOURCES.find((s) => s.value === value);
}

/** The sources a node offers (its description's `name`). */
export function sourcesOf(nodeName: string): SourceOption[] {
	return SOURCES.filter((s) => !s.nodes || s.nodes.includes(nodeName));
}

/** A node's Source parameter and every source's own parameters, each shown only for its source. */
export function sourcePropertiesFor(nodeName: string): INodeProperties[] {
	const offered = sourcesOf(nodeName);
	return [
		{
			displayName: 'Source',
			name: 'source',
			type: 'options',
			noDataExpression: true,
			options: offered.map((s) => ({ name: s.name, value: s.value, description: s.description })),
			default: 'localLake',
			description: 'Where the datasets are read from',
		},
		...offered.flatMap((source) =>
			[...source.properties, ...(source.propertiesIn?.[nodeName] ?? [])].map((property) => ({
				...property,
				displayOptions: { ...property.displayOptions, show: { ...property.displayOptions?.show, source: [source.value] } },
			})),
		),
	];
}

/** The Test button method of a source's credential (in the nodes' `methods.credentialTest`). */
export const sourceCredentialTestName = (source: SourceOption) => `${source.value}ConnectionTest`;

/** The credentials of the sources a node offers, each shown only when its source is chosen. */
export function sourceCredentials(nodeName: string): INodeCredentialDescription[] {
	return sourcesOf(nodeName)
		.filter((s) => s.credential)
		.map((s) => ({ name: s.credential!, required: true, displayOptions: { show: { source: [s.value] } }, testedBy: sourceCredentialTestName(s) }));
}
