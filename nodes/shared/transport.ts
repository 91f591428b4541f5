/**
 * From node parameters and credentials to the library's Source and Store, through the registries
 * (sources/, destinations/): which parameter names what, n8n's file-access rule, the network
 * policy of the Options › Network settings.
 */
import type { IExecuteFunctions, ILoadOptionsFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { RequestError } from '../../lib/errors';
import { fileAccessFromEnv, type FileAccessCheck } from '../../lib/host-path';
import type { Source } from '../../lib/source/types';
import { adapterOf, LocalFolderStore, openStore, type NetworkPolicy, type Store } from '../../lib/storage';
import { DEFAULT_NETWORK_POLICY } from '../../lib/storage/types';
import { destinationOf, type Destination, type FieldValues } from './destinations';
import { toNodeError, type ParameterTerms } from './errors';
import { sourceOptionOf, SOURCES } from './sources';

type ParamContext = Pick<IExecuteFunctions, 'getNodeParameter' | 'getNode'>;

/**
 * Reads a node parameter while the node runs (for an item) or while the editor loads a list
 * (the parameters as currently set in the editor).
 */
export function parameterGetter(context: ParamContext | ILoadOptionsFunctions, itemIndex: number) {
	return (name: string): unknown =>
		'getCurrentNodeParameter' in context && typeof context.getCurrentNodeParameter === 'function'
			? context.getCurrentNodeParameter(name)
			: (context as ParamContext).getNodeParameter(name, itemIndex, '');
}

/**
 * n8n's own file-access rule, as its Read/Write Files node applies it: n8n-core's
 * `helpers.isFilePathBlocked` (N8N_RESTRICT_FILE_ACCESS_TO, N8N_BLOCK_FILE_ACCESS_TO_N8N_FILES,
 * N8N_BLOCK_FILE_PATTERNS) while a node runs; the same variables read from the environment where n8n
 * gives no file helpers (the editor's list searches, n8n versions without the helper).
 */
export function fileAccessCheck(context: unknown): FileAccessCheck {
	const helpers = (context as { helpers?: { isFilePathBlocked?: (path: string) => boolean } }).helpers;
	const blocked = helpers?.isFilePathBlocked;
	if (typeof blocked === 'function') return (path) => blocked.call(helpers, path);
	return fileAccessFromEnv();
}

/** The Source parameter's value (the first registered source when unset) and its descriptor, if registered. */
function sourceChoice(context: ParamContext | ILoadOptionsFunctions, itemIndex: number) {
	const value = parameterGetter(context, itemIndex)('source') || SOURCES[0].value;
	return { value, option: sourceOptionOf(value) };
}

function chosenSource(context: ParamContext | ILoadOptionsFunctions, itemIndex: number) {
	const { value, option } = sourceChoice(context, itemIndex);
	if (!option) throw new NodeOperationError(context.getNode(), `Source "${String(value)}" is not supported`, { itemIndex });
	// a workflow written by hand (or for another node) may name a source this node does not offer
	const node = context.getNode();
	const nodeName = node.type.slice(node.type.lastIndexOf('.') + 1);
	if (option.nodes && !option.nodes.includes(nodeName)) {
		throw new NodeOperationError(node, `Source "${option.name}" is not offered in ${node.name}`, {
			itemIndex,
			description: `Choose another Source: ${option.name} is for ${option.nodes.join(', ')}.`,
		});
	}
	return option;
}

/** The source named by the Source parameter and its own parameters. */
export function sourceFrom(context: ParamContext | ILoadOptionsFunctions, itemIndex = 0): Source {
	const running = 'getInputData' in context && typeof context.getInputData === 'function' ? (context as Pick<IExecuteFunctions, 'getInputData'>) : undefined;
	return chosenSource(context, itemIndex).open({
		get: parameterGetter(context, itemIndex),
		node: context.getNode(),
		itemIndex,
		fileAccess: fileAccessCheck(context),
		records: running && (() => running.getInputData().map((item) => item.json)),
		credentials: async (type) => (await (context as Pick<IExecuteFunctions, 'getCredentials'>).getCredentials(type, itemIndex)) as Record<string, unknown>,
	});
}

/** Why the chosen source's batches cannot be selected by ingestion time (Start Date, End Date, Lookback Days), with its name; undefined when they can. */
export function sourceWithoutDateSelection(context: ParamContext | ILoadOptionsFunctions): { name: string; why: string } | undefined {
	const option = sourceChoice(context, 0).option;
	return option?.noDateSelection ? { name: option.name, why: option.noDateSelection } : undefined;
}

/** The chosen source's own parameter naming the dataset, when it has one (Input Items' Dataset Name). */
export function sourceDatasetParameter(context: ParamContext | ILoadOptionsFunctions): { name: string; displayName: string } | undefined {
	return sourceChoice(context, 0).option?.datasetParameter;
}

/** Whether the chosen source is read once per input item or once per execution (all items). */
export function sourceScope(context: ParamContext | ILoadOptionsFunctions): 'item' | 'execution' {
	return sourceChoice(context, 0).option?.scope ?? 'item';
}

/** Library fields → this node's parameters for the chosen source (`source` → e.g. Lake Path). */
export function sourceTerms(context: ParamContext | ILoadOptionsFunctions, itemIndex: number): ParameterTerms {
	const { option } = sourceChoice(context, itemIndex);
	return option?.locationParameter ? { source: option.locationParameter } : {};
}

/** The store for a destination's credential and fields, under a network policy. */
export function openDestination(destination: Destination, credential: Parameters<Destination['config']>[0], fields: FieldValues, policy?: Partial<NetworkPolicy>): Store {
	return openStore(destination.config(credential, fields), policy);
}

/** The store named by the Destination parameter, its fields and its credential. */
export async function storeFrom(context: IExecuteFunctions | ILoadOptionsFunctions, itemIndex: number): Promise<Store> {
	const get = parameterGetter(context, itemIndex);
	const value = get('destination');
	const destination = destinationOf(value);
	if (!destination) throw new NodeOperationError(context.getNode(), `Destination "${String(value)}" is not supported`, { itemIndex });
	const credential = await context.getCredentials(destination.credential, itemIndex);
	const fields: FieldValues = Object.fromEntries((destination.fields ?? []).map((f) => [f.name, String(get(f.name) ?? '').trim()]));
	try {
		const store = openDestination(destination, credential, fields, networkPolicy((get('options') ?? {}) as NetworkOptions));
		// a Local Folder follows n8n's file-access settings, as Read/Write Files does
		const adapter = adapterOf(store);
		if (adapter instanceof LocalFolderStore) adapter.accessCheck = fileAccessCheck(context);
		return store;
	} catch (error) {
		throw toNodeError(context.getNode(), error, itemIndex);
	}
}

/** The Options › Network settings of Export Dataset and Verify Export. */
export interface NetworkOptions {
	timeoutSeconds?: number;
	retries?: number;
	maxRetrySeconds?: number;
}

/** The store's network policy from the node's options; a value that cannot work is an error naming the option. */
export function networkPolicy(options: NetworkOptions): NetworkPolicy {
	const policy = { ...DEFAULT_NETWORK_POLICY };
	const bad = (parameter: string, message: string) => new RequestError(message, parameter);
	const given = (value: unknown) => (typeof value === 'string' ? `the text ${JSON.stringify(value)}` : String(value));
	if (options.timeoutSeconds !== undefined) {
		if (!(typeof options.timeoutSeconds === 'number' && options.timeoutSeconds > 0 && options.timeoutSeconds <= 86_400)) {
			throw bad('timeoutSeconds', `Network Timeout must be a number of seconds above 0 and at most 86,400 (a day), not ${given(options.timeoutSeconds)}`);
		}
		policy.idleTimeoutMs = Math.round(options.timeoutSeconds * 1000);
	}
	if (options.retries !== undefined) {
		if (!(Number.isInteger(options.retries) && options.retries >= 0 && options.retries <= 20)) throw bad('retries', `Retries must be a whole number from 0 to 20, not ${given(options.retries)}`);
		policy.maxAttempts = options.retries + 1;
	}
	if (options.maxRetrySeconds !== undefined) {
		if (!(typeof options.maxRetrySeconds === 'number' && options.maxRetrySeconds >= 0 && options.maxRetrySeconds <= 86_400)) {
			throw bad('maxRetrySeconds', `Max Retry Time must be a number of seconds from 0 to 86,400 (a day), not ${given(options.maxRetrySeconds)}`);
		}
		policy.maxRetryMs = Math.round(options.maxRetrySeconds * 1000);
	}
	return policy;
}
