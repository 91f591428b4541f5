/**
 * n8n's NodeOperationError swaps any message containing a system error code for a generic
 * sentence ("The service refused the connection - perhaps it is offline"), which would hide which
 * endpoint, file or credential failed. ownWords keeps our messages as written.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NodeOperationError, type INode } from 'n8n-workflow';
import { ownWords, toNodeError } from '../../nodes/shared/errors';
import { StoreError } from '../../lib/storage';

const node: INode = { id: '1', name: 'Export Dataset', type: 'n8n-nodes-dataset-export.exportDataset', typeVersion: 1, position: [0, 0], parameters: {} };

describe('error messages survive n8n', () => {
	const cases: [string, RegExp][] = [
		[
			'Destination: S3 credential: cannot reach the endpoint http://127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1)',
			/cannot reach the endpoint http:\/\/127\.0\.0\.1:1 \(connection refused 127\.0\.0\.1:1\)/,
		],
		["Source: cannot read a.json: ENOENT: no such file or directory, open '/lake/a.json'", /cannot read a\.json: no such file or directory, open '\/lake\/a\.json'/],
		['SFTP credential: cannot reach nohost.invalid:22 (getaddrinfo ENOTFOUND nohost.invalid)', /cannot reach nohost\.invalid:22 \(host not found nohost\.invalid\)/],
		["Destination: EACCES: permission denied, mkdir '/root/x'", /^Destination: permission denied, mkdir '\/root\/x'$/],
		['the preexisting manifest', /the pre.existing manifest/],
		// upper-casing lengthens "ß": positions must come from the text itself
		['Source: /daten/Straße/Größe/Maße/Fußball/Spaß/Grüße/deepermost/FileNotFound missing', /Straße\/Größe\/Maße\/Fußball\/Spaß\/Grüße\/dee.permost\/File.NotFound missing/],
	];
	for (const [message, expected] of cases) {
		it(message, () => {
			assert.match(ownWords(message), expected);
			assert.equal(new NodeOperationError(node, ownWords(message)).message, ownWords(message), 'n8n keeps it');
			assert.notEqual(new NodeOperationError(node, message).message, message, 'n8n would have replaced the raw one');
		});
	}
	it('toNodeError applies it to library errors', () => {
		const error = toNodeError(node, new StoreError('S3 credential: cannot reach the endpoint (connect ECONNREFUSED 127.0.0.1:9)', 'io'), 0);
		assert.equal(error.message, 'Destination: S3 credential: cannot reach the endpoint (connection refused 127.0.0.1:9)');
	});
	it('a destination that cannot be reached says so, apart from a refused credential', () => {
		const unreachable = toNodeError(node, new StoreError('S3 credential: cannot reach the endpoint http://127.0.0.1:9', 'unreachable'), 0);
		assert.match(unreachable.description ?? '', /could not connect to the destination: check the host or endpoint and port/);
		assert.equal(unreachable.context.destinationError, 'unreachable');
		const refused = toNodeError(node, new StoreError('S3 credential: the access key is not accepted', 'auth'), 0);
		assert.match(refused.description ?? '', /Check the destination credential/);
		assert.equal(refused.context.destinationError, 'auth');
	});
});
