import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after } from 'node:test';
import { CODECS, type Codec, type FileType } from '../../lib/format';
import type { Store } from '../../lib/storage/types';

const made: string[] = [];
after(async () => {
	if (!process.env.KEEP_TEST_DIRS) await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })));
});

/** A fresh temporary folder, removed after the test file. */
export function tempDir(label: string): string {
	const dir = mkdtempSync(join(tmpdir(), `dsx-${label}-`));
	made.push(dir);
	return dir;
}

/** Every file below a folder (relative paths, sorted). */
export function filesUnder(dir: string, rel = ''): string[] {
	const out: string[] = [];
	let names: string[];
	try {
		names = readdirSync(join(dir, rel)).sort();
	} catch {
		return out;
	}
	for (const name of names) {
		const path = rel ? `${rel}/${name}` : name;
		if (statSync(join(dir, path)).isDirectory()) out.push(...filesUnder(dir, path));
		else out.push(path);
	}
	return out;
}

/** Data files of a lake dataset, in batch order. */
export function lakeFiles(lake: string, datasetId: string): string[] {
	return filesUnder(join(lake, datasetId))
		.filter((p) => p.startsWith('batches/') && !p.endsWith('batch.json'))
		.map((p) => join(lake, datasetId, p));
}

/** Every file type × codec the package writes (a format or codec added there is tested everywhere this is used). */
export function everyFormat(): Array<[FileType, Codec]> {
	return (Object.keys(CODECS) as FileType[]).flatMap((fileType) => CODECS[fileType].map((codec): [FileType, Codec] => [fileType, codec]));
}

/** Every file of a local folder (a lake) written into a store below `root`; objects already there are left as they are. */
export async function uploadFolder(dir: string, store: Store, root: string): Promise<void> {
	for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
		const path = join(dir, name);
		if (!statSync(path).isFile() || name.startsWith('.')) continue;
		const key = `${root}/${relative(dir, path).split(sep).join('/')}`;
		if (await store.stat(key)) continue;
		const write = await store.openWrite(key);
		write.stream.end(readFileSync(path));
		await write.done;
	}
}
