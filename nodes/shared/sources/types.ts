/**
 * A source as the nodes offer it: one descriptor per kind of source (./index.ts registers them).
 * Its parameters are shown only when it is chosen; `open` builds the library's Source from them.
 */
import type { INode, INodeProperties } from 'n8n-workflow';
import type { FileAccessCheck } from '../../../lib/host-path';
import type { DatasetRecord, Source } from '../../../lib/source/types';

/** What a source descriptor may use to build its Source. */
export interface SourceContext {
	/** A node parameter's value (for the item being processed, or as set in the editor). */
	get(name: string): unknown;
	node: INode;
	itemIndex: number;
	/** n8n's file-access rule, for sources that read the n8n host's files. */
	fileAccess: FileAccessCheck;
	/** Every input item's JSON, while a node runs (not while the editor loads a list): for sources whose scope is `execution`. */
	records?: () => DatasetRecord[];
}

export interface SourceOption {
	/** The Source parameter's value, e.g. `localLake`. */
	value: string;
	name: string;
	description: string;
	/** The source's own parameters, shown only when it is chosen (the registry adds displayOptions). */
	properties: INodeProperties[];
	/** The parameter a SourceError with code `location` points at (the source cannot be opened as configured). */
	locationParameter: string;
	/** Throws a NodeOperationError naming the parameter at fault. */
	open(context: SourceContext): Source;
	/** The nodes (their description's `name`) that offer it; absent: every node with a Source parameter. */
	nodes?: readonly string[];
	/**
	 * `item` (default): the node runs once per input item, each item choosing a dataset; `execution`:
	 * once per execution, the source reading all input items (Export Dataset only).
	 */
	scope?: 'item' | 'execution';
	/** The source's own parameter that names the dataset (Export Dataset's Dataset picker is then hidden). */
	datasetParameter?: { name: string; displayName: string };
}
