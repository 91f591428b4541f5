/**
 * The source contract on the local lake, with both of its layouts: dataset folders with batches
 * (the sample generator's, NDJSON gzip) and a plain folder of files (one file = one batch), the
 * latter holding edge values: 64-bit integers beyond 2^53, decimals, -0, exponents, unicode with
 * line separators, nested objects and lists, nulls, empty strings.
 */
import { join } from 'node:path';
import { LocalLakeSource } from '../../lib/source/local-lake';
import { sourceContract, type SourceContractTarget } from './contract';
import { buildLakeFixture } from './lake-fixture';

let fixture: Promise<SourceContractTarget> | undefined;

async function build(): Promise<SourceContractTarget> {
	const { lake, expected } = await buildLakeFixture();
	return { source: new LocalLakeSource(lake), expected, broken: new LocalLakeSource(join(lake, 'no-such-folder')) };
}

sourceContract('local lake', () => (fixture ??= build()));
