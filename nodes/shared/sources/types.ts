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
	/** The node's credential of a type (decrypted by n8n), for sources that log in to a server. */
	credentials?: (type: string) => Promise<Record<string, unknown>>;
}

export interface SourceOption {
	/** The Source parameter's value, e.g. `localLake`. */
	value: string;
	name: string;
	description: string;
	/** The source's own parameters, shown only when it is chosen (the registry adds displayOptions). */
	properties: INodeProperties[];
	/** More parameters shown only in the named nodes (e.g. a cursor only where exports run). */
	propertiesIn?: Record<string, INodeProperties[]>;
	/** The credential type it logs in with (each node lists it, shown only for this source). */
	credential?: string;
	/** The credential's Test button: what it found, or throws saying what is wrong. */
	test?(data: Record<string, unknown>): Promise<string>;
	/** The parameter a SourceError with code `location` points at (absent: the credential is at fault). */
	locationParameter?: string;
	/**
	 * Why its batches cannot be selected by ingestion time (Input Items: one batch received now; a
	 * table: a range of its cursor): Start Date, End Date and Lookback Days are then refused with it.
	 */
	noDateSelection?: string;
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
