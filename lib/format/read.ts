/** Reading helpers the formats' Verify side shares. */
import { HashingCounter, readAll } from '../storage/common';
import type { Store } from '../storage/types';

/** A message or excerpt cut to 120 characters. */
export const short = (text: string) => (text.length > 120 ? `${text.slice(0, 120)}…` : text);

/** Stream a file once through SHA-256 (for formats whose structure is read by ranges). */
export async function hashFile(store: Store, path: string): Promise<{ size: number; sha256: string }> {
	const counter = new HashingCounter();
	const input = await store.read(path);
	input.on('error', (error) => counter.destroy(error));
	for await (const chunk of input.pipe(counter)) void chunk;
	return { size: counter.bytes, sha256: counter.digest() };
}

/** A file read by ranges, as hyparquet's AsyncBuffer (one ranged read per slice). */
export interface RangedFile {
	byteLength: number;
	slice(start: number, end?: number): Promise<ArrayBuffer>;
}

export function rangedFile(store: Store, path: string, size: number): RangedFile {
	return {
		byteLength: size,
		async slice(start: number, end?: number) {
			const buffer = await readAll(await store.read(path, { start, end: end ?? size }));
			return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length) as ArrayBuffer;
		},
	};
}
