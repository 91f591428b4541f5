/**
 * A small harness that runs workflow JSON through n8n's own execution engine (n8n-core's
 * WorkflowExecute), with this package's node classes, a credentials helper that serves
 * credentials by id, and a stand-in for n8n-nodes-base's Schedule Trigger (which emits the
 * same fields: timestamp, Readable date, …). n8n's own harness is not published.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.N8N_USER_FOLDER ??= mkdtempSync(join(tmpdir(), 'n8n-user-'));
// n8n 2 lets nodes use only ~/.n8n-files unless told otherwise; the tests read and write temp folders
process.env.N8N_RESTRICT_FILE_ACCESS_TO ??= '';

import { ExecutionLifecycleHooks, LoadOptionsContext, WorkflowExecute } from 'n8n-core';
import {
	Workflow,
	type ICredentialDataDecryptedObject,
	type IDataObject,
	type IExecuteFunctions,
	type INode,
	type INodeCredentialsDetails,
	type INodeExecutionData,
	type INodeListSearchResult,
	type INodeType,
	type INodeTypes,
	type IRun,
	type IWorkflowBase,
	type IWorkflowExecuteAdditionalData,
	type IConnections,
} from 'n8n-workflow';
import * as sourceNodes from './source-nodes';

/**
 * The nodes under test: the TypeScript sources, or with NODES_FROM_DIST=1 the built package in
 * dist/ exactly as n8n loads it (CommonJS, through package.json's n8n.nodes list).
 */
function packageNodes(): Record<string, new () => INodeType> {
	if (!process.env.NODES_FROM_DIST) return sourceNodes as unknown as Record<string, new () => INodeType>;
	const root = join(__dirname, '..', '..');
	const load = createRequire(join(root, 'package.json'));
	const manifest = load('./package.json') as { n8n: { nodes: string[] } };
	const classes: Record<string, new () => INodeType> = {};
	for (const file of manifest.n8n.nodes) Object.assign(classes, load(`./${file}`));
	return classes;
}
const { ExportDataset, ListEligibleDatasets, VerifyExport } = packageNodes();

/** Emits one item shaped like the Schedule Trigger's, for a given time (default: now). */
export class ScheduleTriggerStandIn implements INodeType {
	description = {
		displayName: 'Schedule Trigger',
		name: 'scheduleTrigger',
		group: ['trigger', 'schedule'],
		version: [1, 1.1, 1.2, 1.3],
		description: 'Stand-in for n8n-nodes-base.scheduleTrigger in engine tests',
		defaults: { name: 'Schedule Trigger' },
		inputs: [],
		outputs: ['main'],
		properties: [{ displayName: 'Time', name: 'testTime', type: 'string', default: '' }],
	} as unknown as INodeType['description'];

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const configured = this.getNodeParameter('testTime', 0, '') as string;
		const at = configured ? new Date(configured) : new Date();
		const iso = at.toISOString().replace('Z', '+00:00');
		return [[{ json: { timestamp: iso, 'Readable date': at.toUTCString(), 'Day of week': at.toLocaleDateString('en-US', { weekday: 'long', timeZone: 'UTC' }), Timezone: 'UTC' } }]];
	}
}

/** Emits the items given in its `items` parameter (JSON), for feeding nodes directly. */
export class ItemsStandIn implements INodeType {
	description = {
		displayName: 'Items',
		name: 'items',
		group: ['input'],
		version: 1,
		description: 'Emits fixed items',
		defaults: { name: 'Items' },
		inputs: [],
		outputs: ['main'],
		properties: [{ displayName: 'Items', name: 'items', type: 'string', default: '[]' }],
	} as unknown as INodeType['description'];

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = JSON.parse(this.getNodeParameter('items', 0) as string) as IDataObject[];
		return [items.map((json) => ({ json }))];
	}
}

const PACKAGE = 'n8n-nodes-dataset-export';

const TYPES: Record<string, INodeType> = {
	[`${PACKAGE}.listEligibleDatasets`]: new ListEligibleDatasets(),
	[`${PACKAGE}.exportDataset`]: new ExportDataset(),
	[`${PACKAGE}.verifyExport`]: new VerifyExport(),
	'n8n-nodes-base.scheduleTrigger': new ScheduleTriggerStandIn(),
	'test.items': new ItemsStandIn(),
};

export const nodeTypes: INodeTypes = {
	getByName: (type) => TYPES[type],
	getByNameAndVersion: (type) => {
		const found = TYPES[type];
		if (!found) throw new Error(`unknown node type ${type}`);
		return found;
	},
	getKnownTypes: () => ({}),
};

/** Credentials by id (as referenced from a workflow's node `credentials`). */
export type CredentialStore = Record<string, ICredentialDataDecryptedObject>;

function credentialsHelper(credentials: CredentialStore) {
	return {
		getParentTypes: () => [],
		isCredentialUsableByNode: () => true,
		authenticate: async (_c: unknown, _t: string, options: unknown) => options,
		preAuthentication: async () => undefined,
		runPreAuthentication: async () => undefined,
		getCredentials: async () => {
			throw new Error('not used');
		},
		getDecrypted: async (_data: unknown, details: INodeCredentialsDetails) => {
			const found = details.id ? credentials[details.id] : undefined;
			if (!found) throw new Error(`credential ${details.id} (${details.name}) not found`);
			return found;
		},
		updateCredentials: async () => undefined,
		updateCredentialsOauthTokenData: async () => undefined,
		getCredentialsProperties: () => [],
	};
}

export interface WorkflowJson {
	name?: string;
	nodes: INode[];
	connections: IConnections;
	settings?: IDataObject;
}

export interface RunResult {
	run: IRun;
	/** Output items of a node's main output 0 (its last run). */
	output(node: string, outputIndex?: number): IDataObject[];
	items(node: string, outputIndex?: number): INodeExecutionData[];
	/** Items routed to the node's error output (last output when onError is continueErrorOutput). */
	errors(node: string): INodeExecutionData[];
	error?: Error;
}

/** What WorkflowExecute and node contexts need from n8n's backend, served from memory. */
function additionalDataFor(credentials: CredentialStore, hooks?: ExecutionLifecycleHooks): IWorkflowExecuteAdditionalData {
	return {
		credentialsHelper: credentialsHelper(credentials),
		hooks,
		executionId: 'test-execution',
		restApiUrl: 'http://127.0.0.1:5678/rest',
		instanceBaseUrl: 'http://127.0.0.1:5678',
		webhookBaseUrl: 'http://127.0.0.1:5678/webhook',
		webhookWaitingBaseUrl: 'http://127.0.0.1:5678/webhook-waiting',
		webhookTestBaseUrl: 'http://127.0.0.1:5678/webhook-test',
		formBaseUrl: 'http://127.0.0.1:5678/form',
		formWaitingBaseUrl: 'http://127.0.0.1:5678/form-waiting',
		formTestBaseUrl: 'http://127.0.0.1:5678/form-test',
		mcpBaseUrl: 'http://127.0.0.1:5678/mcp',
		mcpTestBaseUrl: 'http://127.0.0.1:5678/mcp-test',
		currentNodeExecutionIndex: 0,
		variables: {},
		executeWorkflow: async () => {
			throw new Error('sub-workflows are not available in the test harness');
		},
		getRunExecutionData: async () => undefined,
		getRuntimeCredential: async () => undefined,
		logAiEvent: () => undefined,
		startRunnerTask: async () => {
			throw new Error('task runners are not available in the test harness');
		},
	} as unknown as IWorkflowExecuteAdditionalData;
}

/**
 * n8n-nodes-base is not a dependency (it is n8n itself): nodes of it that the harness has no
 * stand-in for (the examples' alert branch: Set, Stop and Error) are left out, with their
 * connections. The end-to-end test in real n8n (scripts/e2e.sh) runs the examples whole.
 */
function withoutUnavailableNodes(workflow: WorkflowJson): WorkflowJson {
	const dropped = new Set(workflow.nodes.filter((n) => n.type.startsWith('n8n-nodes-base.') && !TYPES[n.type]).map((n) => n.name));
	if (!dropped.size) return workflow;
	const connections: IConnections = {};
	for (const [from, byType] of Object.entries(workflow.connections)) {
		if (dropped.has(from)) continue;
		connections[from] = Object.fromEntries(Object.entries(byType).map(([type, outputs]) => [type, outputs.map((targets) => (targets ?? []).filter((t) => !dropped.has(t.node)))]));
	}
	return { ...workflow, nodes: workflow.nodes.filter((n) => !dropped.has(n.name)), connections };
}

/** Sets the time the Schedule Trigger stand-in emits. */
export function setTriggerTime(workflow: WorkflowJson, time: string): void {
	const trigger = workflow.nodes.find((n) => n.type === 'n8n-nodes-base.scheduleTrigger');
	if (!trigger) throw new Error('the workflow has no Schedule Trigger');
	trigger.parameters.testTime = time;
}

/** Run a workflow from its first node without inputs (the trigger) through WorkflowExecute. */
export async function runWorkflow(fullJson: WorkflowJson, credentials: CredentialStore = {}, mode: 'trigger' | 'manual' = 'trigger'): Promise<RunResult> {
	const workflowJson = withoutUnavailableNodes(fullJson);
	const workflow = new Workflow({
		id: 'test-workflow',
		name: workflowJson.name ?? 'test',
		nodes: workflowJson.nodes,
		connections: workflowJson.connections,
		active: false,
		nodeTypes,
		settings: { executionOrder: 'v1', ...(workflowJson.settings ?? {}) },
	});
	const workflowData: IWorkflowBase = {
		id: 'test-workflow',
		name: workflow.name ?? 'test',
		active: false,
		activeVersionId: null,
		nodes: workflowJson.nodes,
		connections: workflowJson.connections,
		createdAt: new Date(),
		updatedAt: new Date(),
		isArchived: false,
	} as unknown as IWorkflowBase;
	const hooks = new ExecutionLifecycleHooks(mode, 'test-execution', workflowData);
	const additionalData = additionalDataFor(credentials, hooks);
	const start = workflowJson.nodes.find((n) => TYPES[n.type]?.description.inputs.length === 0);
	if (!start) throw new Error('the workflow has no trigger node');
	const run = await new WorkflowExecute(additionalData, mode).run({ workflow, startNode: start });
	const runData = run.data.resultData.runData;
	const items = (node: string, outputIndex = 0) => {
		const runs = runData[node];
		if (!runs?.length) return [];
		return runs[runs.length - 1].data?.main?.[outputIndex] ?? [];
	};
	return {
		run,
		items,
		output: (node, outputIndex = 0) => items(node, outputIndex).map((i) => i.json),
		errors: (node) => {
			const main = runData[node]?.[runData[node].length - 1]?.data?.main ?? [];
			const isErrorOutput = workflowJson.nodes.find((n) => n.name === node)?.onError === 'continueErrorOutput';
			return isErrorOutput ? (main[main.length - 1] ?? []) : [];
		},
		error: run.data.resultData.error as Error | undefined,
	};
}

/**
 * Runs a node's listSearch method (a resource locator's searchable list) in n8n-core's own
 * LoadOptionsContext, as the editor does, with the node's parameters as currently set.
 */
export async function listSearch(node: INode, method: string, credentials: CredentialStore = {}, filter?: string): Promise<INodeListSearchResult> {
	const type = TYPES[node.type];
	const search = type?.methods?.listSearch?.[method];
	if (!search) throw new Error(`${node.type} has no listSearch method ${method}`);
	const workflow = new Workflow({ id: 'test-workflow', nodes: [node], connections: {}, active: false, nodeTypes, settings: { executionOrder: 'v1' } });
	const additionalData = additionalDataFor(credentials);
	additionalData.currentNodeParameters = node.parameters;
	return search.call(new LoadOptionsContext(workflow, node, additionalData, 'parameters'), filter);
}

export interface ExampleTarget {
	/** The lake both source nodes read. */
	lake: string;
	/** The one dataset List Eligible Datasets keeps. */
	dataset: string;
	destination: string;
	/** The credential type and the id the harness serves it under. */
	credentialType: string;
	credentialId: string;
	/** Parameters set on Export Dataset and Verify Export (bucket, container, …). */
	both?: IDataObject;
	/** Parameters set on Export Dataset only (file type, options, …). */
	exportOnly?: IDataObject;
	time?: string;
}

/**
 * examples/scheduled-export.json pointed at one dataset of a lake and at a destination: what the
 * destination workflow tests run, so they exercise the example users import.
 */
export function exampleTo(target: ExampleTarget): WorkflowJson {
	const workflow = structuredClone(JSON.parse(readFileSync(join(__dirname, '..', '..', 'examples', 'scheduled-export.json'), 'utf8')) as WorkflowJson);
	const nodes = Object.fromEntries(workflow.nodes.map((n) => [n.name, n]));
	setTriggerTime(workflow, target.time ?? '2026-11-22T06:00:00Z');
	nodes['List Eligible Datasets'].parameters.lakePath = target.lake;
	nodes['List Eligible Datasets'].parameters.filters = { match: target.dataset };
	for (const name of ['Export Dataset', 'Verify Export']) {
		Object.assign(nodes[name].parameters, { destination: target.destination, ...target.both });
		nodes[name].credentials = { [target.credentialType]: { id: target.credentialId, name: target.credentialId } };
	}
	Object.assign(nodes['Export Dataset'].parameters, { lakePath: target.lake, ...target.exportOnly });
	return workflow;
}
