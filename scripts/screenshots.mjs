// Drives a running n8n editor with headless Chromium (puppeteer-core from .tools/shots) and saves
// the README pictures. Started by scripts/screenshots.sh, which starts n8n and passes:
//   SHOTS_URL          http://127.0.0.1:<port> of a fresh n8n (no owner yet, or the one below)
//   SHOTS_WORKFLOW_ID  id of the imported example workflow
//   SHOTS_OUT          folder for the PNGs
//   SHOTS_CHROMIUM     the Chromium binary
//   SHOTS_TMP          a scratch folder (a debug picture goes there when something fails)
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', '.tools', 'shots', 'package.json'));
const puppeteer = require('puppeteer-core');

const url = process.env.SHOTS_URL ?? 'http://127.0.0.1:5698';
const workflowId = process.env.SHOTS_WORKFLOW_ID;
const outDir = process.env.SHOTS_OUT ?? join(here, '..', 'docs', 'images');
const tmp = process.env.SHOTS_TMP ?? '/tmp';
const owner = {
	email: 'owner@example.com',
	firstName: 'Dana',
	lastName: 'Export',
	password: 'Screenshots-2026',
};
// Canvas: wide and not too tall, so the fitted workflow fills the picture. Node panel: taller, so
// every parameter of Export Dataset is in view. SHOTS_SCALE=2 gives sharper (and bigger) files.
const scale = Number(process.env.SHOTS_SCALE ?? 1);
const canvasViewport = { width: 1440, height: 760, deviceScaleFactor: scale };
const ndvViewport = { width: 1440, height: 1000, deviceScaleFactor: scale };
let viewport = canvasViewport;

function log(message) {
	process.stderr.write(`screenshots.mjs: ${message}\n`);
}

async function rest(path, body) {
	const response = await fetch(url + path, {
		method: body ? 'POST' : 'GET',
		headers: { 'content-type': 'application/json' },
		body: body ? JSON.stringify(body) : undefined,
	});
	const text = await response.text();
	return { status: response.status, text };
}

/** The owner account, through the REST API (once per fresh n8n). */
async function setupOwner() {
	const settings = JSON.parse((await rest('/rest/settings')).text).data;
	if (!settings?.userManagement?.showSetupOnFirstLoad) {
		log('owner already set up');
		return;
	}
	const { status, text } = await rest('/rest/owner/setup', owner);
	if (status !== 200) throw new Error(`owner setup: HTTP ${status} ${text.slice(0, 300)}`);
	log('owner set up');
}

/** Logs the browser in: the auth cookie is set on the editor's origin. */
async function login(page) {
	await page.goto(`${url}/signin`, { waitUntil: 'networkidle0' });
	const result = await page.evaluate(
		async ({ email, password }) => {
			const response = await fetch('/rest/login', {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ emailOrLdapLoginId: email, password }),
				credentials: 'same-origin',
			});
			return { status: response.status, text: (await response.text()).slice(0, 300) };
		},
		{ email: owner.email, password: owner.password },
	);
	if (result.status !== 200) throw new Error(`login: HTTP ${result.status} ${result.text}`);
	log('logged in');
}

/** Closes toasts, popovers and banners that would cover the picture. */
async function tidy(page) {
	await page.evaluate(() => {
		for (const el of document.querySelectorAll('.el-notification, [role="alert"].el-message')) el.remove();
		for (const button of document.querySelectorAll('[data-test-id="banner-close"], [data-test-id="close-button"]')) {
			button.click();
		}
	});
	await page.mouse.move(viewport.width - 5, viewport.height - 5);
	await new Promise((resolve) => setTimeout(resolve, 400));
}

async function waitIdle(page, ms = 800) {
	try {
		await page.waitForNetworkIdle({ idleTime: ms, timeout: 15000 });
	} catch {
		// Some long-poll or push connection keeps the network busy; the page is drawn anyway.
	}
}

async function openWorkflow(page) {
	await page.goto(`${url}/workflow/${workflowId}`, { waitUntil: 'domcontentloaded' });
	await page.waitForSelector('[data-test-id="canvas-node"]', { timeout: 60000 });
	await waitIdle(page);
	// Press Escape for any modal the editor opens on first visit.
	await page.keyboard.press('Escape');
	await tidy(page);
}

async function fitView(page) {
	const fit = await page.$('[data-test-id="zoom-to-fit"]');
	if (fit) await fit.click();
	else {
		await page.click('[data-test-id="canvas-wrapper"]', { offset: { x: 5, y: 5 } }).catch(() => {});
		await page.keyboard.press('1');
	}
	await new Promise((resolve) => setTimeout(resolve, 800));
}

async function setViewport(page, next) {
	viewport = next;
	await page.setViewport(next);
	await new Promise((resolve) => setTimeout(resolve, 500));
}

async function nodeNames(page) {
	return page.$$eval('[data-test-id="canvas-node"]', (nodes) => nodes.map((n) => n.getAttribute('data-node-name')));
}

async function openNode(page, name) {
	const selector = `[data-test-id="canvas-node"][data-node-name="${name}"]`;
	await page.waitForSelector(selector, { timeout: 20000 });
	const node = await page.$(selector);
	const box = await node.boundingBox();
	await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2, { count: 2 });
	await page.waitForSelector('[data-test-id="ndv"] [data-test-id="node-parameters"]', { timeout: 20000 });
	await waitIdle(page, 1000);
	// Let remote options (the dataset list) finish loading.
	await page
		.waitForFunction(() => !document.querySelector('[data-test-id="ndv"] .is-loading, [data-test-id="ndv"] .el-loading-mask'), {
			timeout: 10000,
		})
		.catch(() => {});
	await tidy(page);
}

async function closeNdv(page) {
	await page.keyboard.press('Escape');
	await page.waitForSelector('[data-test-id="ndv"]', { hidden: true, timeout: 10000 }).catch(() => {});
}

async function shoot(page, file) {
	const path = join(outDir, file);
	await page.screenshot({ path, type: 'png' });
	log(`saved ${path}`);
}

async function main() {
	if (!workflowId) throw new Error('SHOTS_WORKFLOW_ID is not set');
	await setupOwner();
	const browser = await puppeteer.launch({
		executablePath: process.env.SHOTS_CHROMIUM ?? '/usr/bin/chromium',
		headless: true,
		defaultViewport: viewport,
		args: [
			'--no-sandbox',
			'--disable-dev-shm-usage',
			'--disable-gpu',
			'--hide-scrollbars',
			'--font-render-hinting=none',
			// Nothing but the local n8n: any other host name does not resolve.
			'--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
		],
	});
	const page = await browser.newPage();
	page.on('pageerror', (error) => log(`page error: ${error.message.split('\n')[0]}`));
	try {
		await login(page);
		await openWorkflow(page);
		const names = await nodeNames(page);
		log(`canvas nodes: ${names.join(', ')}`);
		for (const wanted of ['List Eligible Datasets', 'Export Dataset', 'Verify Export']) {
			if (!names.includes(wanted)) throw new Error(`"${wanted}" is not on the canvas`);
		}
		const missing = await page.$$eval('[data-test-id="canvas-node"]', (nodes) => nodes.filter((n) => /not installed|unknown/i.test(n.textContent ?? '')).map((n) => n.getAttribute('data-node-name')));
		if (missing.length) throw new Error(`nodes drawn as not installed: ${missing.join(', ')}`);

		await setViewport(page, canvasViewport);
		await fitView(page);
		await tidy(page);
		await shoot(page, 'example-workflow.png');

		await setViewport(page, ndvViewport);
		await openNode(page, 'Export Dataset');
		await shoot(page, 'export-dataset-parameters.png');
		await closeNdv(page);

		await openNode(page, 'List Eligible Datasets');
		await shoot(page, 'list-eligible-datasets-parameters.png');
		await closeNdv(page);
	} catch (error) {
		const debug = join(tmp, 'failure.png');
		await page.screenshot({ path: debug }).catch(() => {});
		log(`failed; the page at that moment: ${debug} (${page.url()})`);
		throw error;
	} finally {
		await browser.close();
	}
}

main().catch((error) => {
	log(error.stack ?? String(error));
	process.exit(1);
});
