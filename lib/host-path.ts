import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * An absolute path on the n8n host. A leading "~" means the home folder of the user n8n runs as
 * (e.g. /home/node in n8n's Docker image), so examples and credentials can name folders that
 * exist on any host without editing.
 */
export function hostPath(path: string): string {
	const trimmed = path.trim();
	if (trimmed === '~') return homedir();
	if (trimmed.startsWith('~/')) return join(homedir(), trimmed.slice(2));
	return resolve(trimmed);
}

/** Whether `child` is `parent` or below it (both absolute, already resolved). */
export function isInside(parent: string, child: string): boolean {
	const rel = relative(parent, child);
	return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

/**
 * n8n's file-access rule for a resolved (real) path: true when n8n refuses access to it
 * (N8N_RESTRICT_FILE_ACCESS_TO, N8N_BLOCK_FILE_ACCESS_TO_N8N_FILES, N8N_BLOCK_FILE_PATTERNS). Inside
 * a running node this is n8n-core's own `helpers.isFilePathBlocked`; the nodes pass it down.
 */
export type FileAccessCheck = (resolvedPath: string) => boolean;

/**
 * The same rule read from the environment, for the editor's dataset pickers (n8n gives list
 * searches no file helpers): the folders in N8N_RESTRICT_FILE_ACCESS_TO (";"-separated, "~" is
 * the home folder; unset or empty: anywhere), minus n8n's own folder unless
 * N8N_BLOCK_FILE_ACCESS_TO_N8N_FILES is "false".
 */
export function fileAccessFromEnv(env: NodeJS.ProcessEnv = process.env): FileAccessCheck {
	const expand = (p: string) => (p.startsWith('~') ? p.replace('~', homedir()) : p);
	const allowed = (env.N8N_RESTRICT_FILE_ACCESS_TO ?? '')
		.split(';')
		.map((p) => p.trim())
		.filter(Boolean)
		.map((p) => resolve(expand(p)));
	const blocked: string[] = [];
	if (env.N8N_BLOCK_FILE_ACCESS_TO_N8N_FILES !== 'false') {
		blocked.push(join(env.N8N_USER_FOLDER ? resolve(env.N8N_USER_FOLDER) : homedir(), '.n8n'));
		for (const p of (env.N8N_CONFIG_FILES ?? '').split(',').filter(Boolean)) blocked.push(resolve(p));
		if (env.N8N_BINARY_DATA_STORAGE_PATH) blocked.push(resolve(env.N8N_BINARY_DATA_STORAGE_PATH));
	}
	return (path) => blocked.some((b) => isInside(b, path)) || (allowed.length > 0 && !allowed.some((a) => isInside(a, path)));
}

/** The message for a path n8n's file-access settings refuse. */
export function accessRefused(what: string): string {
	return `access to ${what} is not allowed by n8n's file access settings (N8N_RESTRICT_FILE_ACCESS_TO lists the folders nodes may use; n8n 2 allows only ~/.n8n-files by default, and N8N_BLOCK_FILE_ACCESS_TO_N8N_FILES keeps nodes out of n8n's own folder)`;
}
