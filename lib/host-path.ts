import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

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
