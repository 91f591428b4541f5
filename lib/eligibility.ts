/**
 * Which datasets may be exported, and why not: tier entitlement (Ultimate includes Prime),
 * disabled, empty, unreadable metadata, or a schema the chosen file type cannot hold.
 */
import { formatOf, formatProblem, type FileType } from './format';
import { schemaSummary } from './schema';
import type { DatasetInfo, DatasetKind } from './source/types';

export const TIERS = ['Prime', 'Ultimate'] as const;
export type Tier = (typeof TIERS)[number];

export interface EligibilityFilter {
	/** The product tier the user is entitled to. */
	entitledTier: Tier;
	/** Case-insensitive match on id, name or a tag; `*` is a wildcard. */
	match?: string;
	kinds?: DatasetKind[];
	/** File type to check the schema against. */
	fileType?: FileType;
}

export type EligibleDataset = Pick<DatasetInfo, 'id' | 'name' | 'description' | 'kind' | 'tier' | 'tags' | 'recordCount' | 'sizeBytes' | 'batchCount' | 'lastIngestedAt' | 'schemaSource'> & {
	schemaSummary: string;
	fieldCount: number;
	eligible: boolean;
	reason: string | null;
};

function matcher(pattern: string): (text: string) => boolean {
	const trimmed = pattern.trim().toLowerCase();
	if (!trimmed) return () => true;
	if (!trimmed.includes('*')) return (text) => text.toLowerCase().includes(trimmed);
	const regex = new RegExp(
		'^' +
			trimmed
				.split('*')
				.map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
				.join('.*') +
			'$',
	);
	return (text) => regex.test(text.toLowerCase());
}

/** Keep the datasets that pass the name/tag and kind filters. */
export function filterDatasets(datasets: DatasetInfo[], filter: EligibilityFilter): DatasetInfo[] {
	const matches = matcher(filter.match ?? '');
	return datasets.filter((d) => (!filter.kinds?.length || filter.kinds.includes(d.kind)) && (matches(d.id) || matches(d.name) || d.tags.some(matches)));
}

export function eligibility(dataset: DatasetInfo, filter: EligibilityFilter): EligibleDataset {
	const rank = (tier: string) => TIERS.findIndex((t) => t.toLowerCase() === tier.toLowerCase());
	let reason: string | null = null;
	if (dataset.problem) reason = dataset.problem;
	else if (!dataset.enabled) reason = 'the dataset is disabled';
	else if (rank(dataset.tier) < 0 || rank(dataset.tier) > rank(filter.entitledTier)) {
		reason = `tier not entitled: the dataset needs ${dataset.tier}, the entitlement is ${filter.entitledTier}`;
	} else if (!dataset.batchCount || dataset.recordCount === 0) reason = 'the dataset is empty';
	else if (filter.fileType) {
		const format = formatOf(filter.fileType);
		const problem = formatProblem(filter.fileType, format?.defaultCodec ?? '', dataset.schema);
		if (problem) reason = `schema not representable as ${format?.name ?? filter.fileType}: ${problem}`;
	}
	return {
		id: dataset.id,
		name: dataset.name,
		description: dataset.description,
		kind: dataset.kind,
		tier: dataset.tier,
		tags: dataset.tags,
		recordCount: dataset.recordCount,
		sizeBytes: dataset.sizeBytes,
		batchCount: dataset.batchCount,
		lastIngestedAt: dataset.lastIngestedAt,
		schemaSummary: schemaSummary(dataset.schema),
		schemaSource: dataset.schemaSource,
		fieldCount: dataset.schema?.fields.length ?? 0,
		eligible: reason === null,
		reason,
	};
}
