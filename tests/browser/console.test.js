/* End-to-end test of the web console in Debian's Chromium (headless),
 * driven by puppeteer-core (no browser download). Run by
 * tests/integration/t_web_browser.sh, which starts the daemon with the
 * console, makes a conflict between two nodes through a hub, and passes:
 *   SSYNC_BIN      the schoolsync binary (CLI checks of what the web wrote)
 *   WEB_HOME       the home of the node that serves the console
 *   WEB_BASE       http://127.0.0.1:PORT
 *   WEB_LOGIN      the one-time login link of `schoolsync web --json`
 *   WEB_SCHOOL     the school id the new teacher belongs to
 *   WEB_TAKEN      a staff number already in use (the validation error)
 *   WEB_BAD_CSV    GB18030 CSV with one bad line;  WEB_GOOD_CSV  a good one
 *   WEB_SHOTS      where the screenshots go
 *   WEB_SCHOOL_LOGIN  a login link of a district's school node (role school)
 *   CHROMIUM       the browser (default /usr/bin/chromium)
 * Prints "ok"/"FAIL" per step, the screenshots' paths, the figures
 * ("figure ..."), and "N passed, M failed"; exit 1 on any failure.
 * No fixed sleeps: every wait is for a selector, a response or a value. */
'use strict';
const puppeteer = require('puppeteer-core');
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const env = (k, d) => {
	const v = process.env[k] || d;
	if (v === undefined) { console.error(`console.test.js: set ${k}`); process.exit(2); }
	return v;
};
const BIN = env('SSYNC_BIN'), HOME = env('WEB_HOME'), BASE = env('WEB_BASE'), LOGIN = env('WEB_LOGIN');
const SCHOOL = env('WEB_SCHOOL'), TAKEN = env('WEB_TAKEN');
const BAD_CSV = env('WEB_BAD_CSV'), GOOD_CSV = env('WEB_GOOD_CSV'), SHOTS = env('WEB_SHOTS');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const SCHOOL_LOGIN = env('WEB_SCHOOL_LOGIN', '');

let passed = 0, failed = 0, skipped = 0;
const ok = (name) => { passed++; console.log(`ok   ${name}`); };
const bad = (name, why) => { failed++; console.log(`FAIL ${name}`); if (why) console.log(`     ${String(why).split('\n').join('\n     ')}`); };
const check = (name, cond, why) => (cond ? ok(name) : bad(name, why));

/* schoolsync --home WEB_HOME --json ARGS: parsed output. */
function cli(...args) {
	const out = execFileSync(BIN, ['--home', HOME, '--json', ...args],
		{ encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
	return JSON.parse(out);
}
/* The test's own constant SQL (no input from the pages). */
const count = (where) => cli('sql', `SELECT count(*) AS n FROM teacher${where ? ` WHERE ${where}` : ''}`)[0].n;
function teacher(staffNo) {
	try { return cli('teacher', 'show', staffNo); } catch (e) { return null; }
}

async function shot(page, name, opts) {
	const p = path.join(SHOTS, `${name}.png`);
	await page.screenshot(Object.assign({ path: p, fullPage: true }, opts || {}));
	console.log(`screenshot ${p}`);
}
const text = (page, sel) => page.$eval(sel, (e) => e.textContent);
const visible = (sel) => `document.querySelector(${JSON.stringify(sel)}) && !/\\bhidden\\b/.test(document.querySelector(${JSON.stringify(sel)}).className)`;

/* Set a generated form field, an <input> or a <select>. */
async function setField(page, name, value) {
	await page.$eval(`#f-${name}`, (e, v) => {
		if (e.tagName === 'SELECT' && !Array.prototype.some.call(e.options, (o) => o.value === v)) {
			e.appendChild(new Option(v, v)); /* a value the list lacks: let the server judge it */
		}
		e.value = v;
	}, value);
}

/* Which parts of the API the server builds (docs/WEB.md marks the rest
 * "not built"; its router answers those 404 "no API ..."). A step that needs
 * a part not built is reported skipped, by name, never passed. */
const built = {};
async function probeApi(page) {
	const probes = {
		tables: ['GET', '/api/tables'], rows: ['GET', '/api/tables/teacher?limit=1'],
		add: ['POST', '/api/tables/teacher'], edit: ['PATCH', '/api/tables/teacher/no-such-key'],
		import: ['POST', '/api/import/teacher?dry_run=1'], export: ['GET', '/api/export/teacher.csv?bom=1'],
		conflicts: ['GET', '/api/conflicts'], resolve: ['POST', '/api/resolve'],
		history: ['GET', '/api/history/teacher/no-such-key'], reports: ['GET', '/api/reports/rotation'],
	};
	const res = await page.evaluate((probes) => {
		function req(m, p, csrf) {
			return new Promise((done) => {
				const x = new XMLHttpRequest();
				x.open(m, p);
				if (csrf) x.setRequestHeader('X-CSRF-Token', csrf);
				if (m !== 'GET') x.setRequestHeader('Content-Type', 'application/json');
				x.onload = () => done({ status: x.status, body: x.responseText });
				x.send(m === 'GET' ? null : (p.indexOf('/import/') >= 0 ? '' : '{}'));
			});
		}
		return req('GET', '/api/session').then((s) => {
			const csrf = JSON.parse(s.body).csrf, out = {};
			return Promise.all(Object.keys(probes).map((k) => req(probes[k][0], probes[k][1], csrf).then((r) => {
				let msg = '';
				try { msg = JSON.parse(r.body).error.message; } catch (e) { msg = ''; }
				out[k] = !(r.status === 404 && /^no API /.test(msg));
			}))).then(() => out);
		});
	}, probes);
	Object.assign(built, res);
	const missing = Object.keys(res).filter((k) => !res[k]);
	console.log(`# API not built yet (docs/WEB.md): ${missing.length ? missing.join(' ') : 'none'}`);
}

async function step(name, f, needs) {
	const missing = (needs || []).filter((k) => !built[k]);
	if (missing.length) { skipped++; console.log(`skip ${name} (API not built: ${missing.join(', ')})`); return; }
	try { await f(); } catch (e) { bad(name, e && e.stack ? e.stack : e); }
}

/* Time to a ready page: navigation start until the selector is there
 * (performance.now() is measured from navigation start). */
async function loadTime(page, url, readyFn) {
	await page.goto(url);
	await page.waitForFunction(readyFn, { polling: 'mutation' });
	return page.evaluate(() => performance.now());
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/* The pages' sources: ES5 (the old browser of a school's PC) and nothing
 * the CSP (default-src 'self') would block: no inline script, handler or style. */
function checkSources() {
	const dir = path.join(__dirname, '..', '..', 'src', 'web', 'assets');
	const acorn = require('acorn');
	for (const f of fs.readdirSync(dir)) {
		const src = fs.readFileSync(path.join(dir, f), 'utf8');
		if (f.endsWith('.js')) {
			try { acorn.parse(src, { ecmaVersion: 5 }); ok(`${f} is ES5`); } catch (e) { bad(`${f} is ES5`, e.message); }
		}
		if (f.endsWith('.html')) {
			const inline = /<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style/i.exec(src);
			check(`${f}: no inline script, handler or style`, !inline, inline && inline[0]);
		}
	}
}

(async () => {
	fs.mkdirSync(SHOTS, { recursive: true });
	checkSources();
	const browser = await puppeteer.launch({
		executablePath: CHROMIUM, headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--lang=zh-CN'],
	});
	const errors = [];
	try {
		/* 1. No login: the console refuses, the page says how to log in. */
		const anon = await browser.createBrowserContext();
		const ap = await anon.newPage();
		await step('without login: the page asks for the login link', async () => {
			await ap.goto(`${BASE}/data.html`);
			await ap.waitForFunction(visible('#login-needed') + ` || /login/.test(location.pathname)`);
			const body = await ap.evaluate(() => document.body.innerText);
			check('without login: the page asks for the login link', /schoolsync web/.test(body), body.slice(0, 300));
			const st = await ap.evaluate(() => new Promise((res) => {
				const x = new XMLHttpRequest(); x.open('GET', '/api/status'); x.onload = () => res(x.status); x.send();
			}));
			check('without login: /api/status is refused (401)', st === 401, `status ${st}`);
			await shot(ap, '00-login-needed');
		});
		await anon.close();

		const page = await browser.newPage();
		/* Waits are for events; the bound only ends a hung run (the shared
		 * machine may be loaded far beyond its two cores). */
		page.setDefaultTimeout(60000);
		await page.setViewport({ width: 1280, height: 860 });
		page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
		page.on('console', (m) => { if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) errors.push(`console: ${m.text()}`); });

		/* 2. Log in with the one-time link: cookie, then Home. */
		await step('login link opens Home', async () => {
			await page.goto(LOGIN);
			await page.waitForSelector('#cards .card');
			check('login link opens Home', /\/(index\.html)?$/.test(new URL(page.url()).pathname), page.url());
			const again = await (await browser.createBrowserContext()).newPage();
			const r = await again.goto(LOGIN);
			const reused = await again.evaluate(() => document.querySelector('#cards .card') !== null);
			check('the login link works once', !reused || (r && r.status() >= 400), `second use: ${r && r.status()}`);
			await again.browserContext().close();
		});
		await probeApi(page);
		/* A remote nobody answers: its failure, reason and next try on Home. */
		await step('Home shows a link failure with its reason and next try', async () => {
			await page.waitForFunction(() => {
				const r = document.getElementById('remote-school-c');
				return r && r.querySelector('td.failure').textContent !== '' && r.querySelector('td.next').textContent !== '';
			});
			const f = await text(page, '#remote-school-c td.failure');
			check('Home shows a link failure with its reason and next try', /127\.0\.0\.1|refused|connect/i.test(f), f);
			check('the failing remote is backing off', await page.$eval('#remote-school-c', (r) => r.getAttribute('data-state')) === 'backoff');
		});
		const pendingBefore = await page.$eval('#card-pending .value', (e) => parseInt(e.textContent, 10)).catch(() => -1);

		/* 3. Data: add a teacher with a Chinese name; the server's validation
		 *    message next to the form; fix; edit. */
		const NAME = '欧阳志远', STAFF = 'WEB0001';
		await step('add a teacher: validation error shown', async () => {
			await page.goto(`${BASE}/data.html?t=teacher`);
			await page.waitForSelector('#rows tbody tr');
			await page.click('#add');
			await page.waitForSelector('#f-name');
			if (await page.$('#f-school_id:not([disabled])')) await setField(page, 'school_id', SCHOOL);
			await setField(page, 'staff_no', TAKEN);
			await setField(page, 'name', NAME);
			await setField(page, 'subject', '语文');
			await setField(page, 'title', '高级');
			await setField(page, 'birth_year', '1985');
			await setField(page, 'joined_year', '2010');
			await page.click('#save');
			await page.waitForFunction(visible('#form-error'));
			const msg = await text(page, '#form-error');
			check('add a teacher: validation error shown (staff number taken)', /CM0001/.test(msg), msg);
			check('the error is next to the field it names', await page.$('.field.invalid') !== null, msg);
			await shot(page, '01-data-validation', { fullPage: false });
			check('nothing written on a refused add', count(`name = '${NAME}'`) === 0);
		}, ['tables', 'rows', 'add']);
		let key = null;
		await step('add a teacher with a Chinese name', async () => {
			await setField(page, 'staff_no', STAFF);
			await page.click('#save');
			await page.waitForFunction(`document.getElementById('record-form').className.indexOf('hidden') >= 0`);
			const t = teacher(STAFF);
			check('add a teacher with a Chinese name (CLI sees it)', t && t.name === NAME, JSON.stringify(t));
			key = t && t.id;
		}, ['tables', 'rows', 'add']);
		await step('edit the teacher', async () => {
			await page.$eval('#q', (e, v) => { e.value = v; }, NAME);
			await page.click('#search');
			await page.waitForFunction((n) => {
				const rows = document.querySelectorAll('#rows tbody tr[data-key]');
				return rows.length === 1 && rows[0].textContent.indexOf(n) >= 0;
			}, {}, NAME);
			await page.click('#rows tbody tr[data-key] button.edit');
			await page.waitForSelector('#f-subject');
			await setField(page, 'subject', '数学');
			await page.click('#save');
			await page.waitForFunction(() => {
				const r = document.querySelector('#rows tbody tr[data-key]');
				return r && r.textContent.indexOf('数学') >= 0;
			});
			const t = teacher(STAFF);
			check('edit the teacher (CLI sees the new subject)', t && t.subject === '数学', JSON.stringify(t));
			await shot(page, '02-data', { fullPage: false });
		}, ['tables', 'rows', 'add', 'edit']);

		/* A workflow verb: approve the rotation proposed in the setup. */
		await step('approve a rotation', async () => {
			await page.goto(`${BASE}/data.html?t=rotation`);
			await page.waitForSelector('#rows tbody tr[data-key] button.verb-approve');
			await page.click('#rows tbody tr[data-key] button.verb-approve');
			await page.waitForFunction(() => document.getElementById('list-msg').className.indexOf('ok') >= 0);
			const st = cli('sql', 'SELECT status FROM rotation')[0].status;
			check('approve a rotation (CLI sees it approved)', st === 'approved', st);
		}, ['tables', 'rows']);

		/* The venue's week: two schools' bookings on Wednesday, in time order. */
		await step('the bookings\' week view', async () => {
			await page.goto(`${BASE}/data.html?t=booking&week=2026-12-07`);
			await page.waitForSelector('#week-grid[data-week="2026-12-07"] tbody tr');
			const wed = await page.$$eval('#week-grid tbody tr', (trs) => trs.map((tr) =>
				Array.prototype.map.call(tr.cells[3].querySelectorAll('.slot'), (s) => s.textContent)));
			check('the week view shows both schools on Wednesday, in time order',
				wed.length === 1 && wed[0].length === 2 && /^08:00.*城桥中学/.test(wed[0][0]) && /^10:00.*堡镇小学/.test(wed[0][1]),
				JSON.stringify(wed));
			await shot(page, '13-bookings-week', { fullPage: false });
		}, ['tables', 'rows']);

		/* 4. Import: a GB18030 file with one bad line writes nothing; a good one writes. */
		await step('import a GB18030 CSV with a bad line', async () => {
			const n0 = count();
			await page.goto(`${BASE}/import.html?t=teacher`);
			await page.waitForSelector('#table-select option');
			await (await page.$('#csv-file')).uploadFile(BAD_CSV);
			await page.click('#check');
			await page.waitForFunction(visible('#imp-msg'));
			const rows = await page.$$eval('#imp-errors tbody tr', (trs) => trs.map((tr) => tr.textContent));
			check('the dry run lists the bad line and column', rows.length >= 1 && rows.some((r) => /3/.test(r)), JSON.stringify(rows));
			check('confirm stays disabled', await page.$eval('#confirm', (b) => b.disabled));
			await shot(page, '03-import-errors');
			check('nothing written (CLI)', count() === n0 && !teacher('GB0001'), `${n0} -> ${count()}`);
		}, ['tables', 'import']);
		await step('import a good GB18030 CSV', async () => {
			const n0 = count();
			await (await page.$('#csv-file')).uploadFile(GOOD_CSV);
			await page.click('#check');
			await page.waitForFunction(`!document.getElementById('confirm').disabled`);
			check('nothing written by the dry run', count() === n0);
			await page.click('#confirm');
			await page.waitForFunction(() => {
				const m = document.getElementById('imp-msg');
				return m.className.indexOf('ok') >= 0 && document.getElementById('confirm').disabled;
			});
			const t = teacher('GB0011');
			check('the good file is written (CLI)', count() === n0 + 2 && t && t.name === '司马光明', `${n0} -> ${count()}`);
			await shot(page, '04-import');
		}, ['tables', 'import']);
		await step('export link asks for a BOM', async () => {
			const href = await page.$eval('#export', (a) => a.getAttribute('href'));
			const body = await page.evaluate((h) => new Promise((res) => {
				const x = new XMLHttpRequest(); x.open('GET', h); x.responseType = 'arraybuffer';
				x.onload = () => res(Array.prototype.slice.call(new Uint8Array(x.response, 0, 3))); x.send();
			}), href);
			check('export starts with the UTF-8 BOM', body.join(',') === '239,187,191', body.join(','));
		}, ['tables', 'export']);

		/* 5. Conflicts: the one two nodes made through the hub, resolved here. */
		await step('resolve a conflict', async () => {
			await page.goto(`${BASE}/conflicts.html`);
			await page.waitForSelector('.conflict');
			await shot(page, '05-conflicts');
			const loser = await page.$('.conflict tr:not(.winner) input[type=radio]');
			const picked = await page.$eval('.conflict tr:not(.winner) label', (l) => l.textContent);
			await loser.click();
			await page.click('.conflict button.resolve');
			await page.waitForSelector('#no-conflicts');
			check('resolve a conflict (page)', true);
			check('no conflicts left (CLI)', cli('conflicts').length === 0);
			const t = cli('sql', 'SELECT subject FROM teacher WHERE staff_no = \'CM0001\'');
			check('the picked value is the value', JSON.stringify(t).indexOf(picked) >= 0, `${picked} vs ${JSON.stringify(t)}`);
		}, ['conflicts', 'resolve']);

		/* 6. Sync now: the state changes (a round runs, nothing left to send). */
		await step('sync now', async () => {
			await page.goto(`${BASE}/`);
			await page.waitForSelector('#sync-state[data-rounds]');
			await page.waitForSelector('#remote-hub[data-state="ok"]');
			const s0 = await page.$eval('#remote-hub', (e) => e.getAttribute('data-last-success'));
			const p0 = parseInt(await text(page, '#card-pending .value'), 10);
			if (built.add || built.import) check('writes through the web wait to be sent', p0 > 0 || pendingBefore > 0, `pending ${p0}`);
			await page.click('#sync-now');
			/* the hub's round that sync now started: a new last success, then idle */
			await page.waitForFunction((s0) => {
				const r = document.getElementById('remote-hub'), s = document.getElementById('sync-state');
				return r && r.getAttribute('data-last-success') !== s0 && s.getAttribute('data-state') === 'idle';
			}, {}, s0);
			const p1 = parseInt(await text(page, '#card-pending .value'), 10);
			check('sync now: a round ran and nothing is left to send', p1 === 0, `pending ${p0} -> ${p1}`);
			await shot(page, '06-home');
		});

		/* 7. Reports: a fragment, printable. */
		await step('open a report', async () => {
			await page.goto(`${BASE}/reports.html?r=rotation`);
			await page.waitForSelector('#report[data-report="rotation"]');
			const n = await page.$eval('#report', (e) => e.querySelectorAll('table, svg').length);
			check('open a report (rotation: a table or chart)', n > 0);
			await shot(page, '07-report');
			await page.emulateMediaType('print');
			check('print hides the navigation', await page.$eval('header.top', (h) => getComputedStyle(h).display === 'none'));
			await shot(page, '08-report-print');
			await page.emulateMediaType(null);
		}, ['reports']);

		/* 8. History of the teacher added and edited through the web. */
		await step('a record\'s history', async () => {
			await page.goto(`${BASE}/history.html?t=teacher&k=${encodeURIComponent(key || STAFF)}`);
			await page.waitForSelector('#history tbody tr td.change');
			const rows = await page.$$eval('#history tbody tr', (trs) => trs.map((tr) => tr.textContent));
			check('history shows old -> new', rows.some((r) => r.indexOf('语文 → 数学') >= 0), rows.join('\n'));
			check('history: every entry\'s signature verified', (await page.$$('#history td.sig-bad')).length === 0 &&
				(await page.$$('#history td.sig-ok')).length > 0);
			await shot(page, '09-history');
		}, ['history', 'add', 'edit']);

		/* 9. English switch, kept across pages. */
		await step('English', async () => {
			await page.click('#lang-toggle');
			await page.waitForFunction(() => document.documentElement.lang === 'en' && document.querySelector('#nav-home'));
			await page.goto(`${BASE}/`);
			await page.waitForSelector('#cards .card');
			check('English is kept', (await text(page, '#nav-home')) === 'Home');
			await shot(page, '10-home-en');
			await page.click('#lang-toggle');
			await page.waitForFunction(() => document.documentElement.lang === 'zh-CN' && document.querySelector('#nav-home'));
		});

		/* 10. Figures: Home and a 5,000-row list, median of 3 loads each. */
		await step('figure: Home', async () => {
			const home = [];
			for (let i = 0; i < 3; i++) {
				home.push(await loadTime(page, `${BASE}/`, () => document.querySelector('#cards .card')));
			}
			console.log(`figure home_load_ms ${median(home).toFixed(0)} (runs: ${home.map((x) => x.toFixed(0)).join(' ')})`);
		});
		await step('figure: a 5,000-row list', async () => {
			const list = [];
			for (let i = 0; i < 3; i++) {
				await page.goto(`${BASE}/data.html?t=teacher&limit=5000`);
				await page.waitForFunction(() => performance.getEntriesByName('ssync-rows-rendered').length > 0, { timeout: 60000 });
				list.push(await page.evaluate(() => ['ssync-rows-received', 'ssync-rows-rendered']
					.map((n) => performance.getEntriesByName(n)[0].startTime)));
			}
			const nrows = await page.$$eval('#rows tbody tr[data-key]', (r) => r.length);
			check('the 5,000-row list shows 5,000 rows', nrows === 5000, `${nrows} rows`);
			const total = list.map((x) => x[1]), rows = list.map((x) => x[0]);
			console.log(`figure list5000_load_ms ${median(total).toFixed(0)} (runs: ${total.map((x) => x.toFixed(0)).join(' ')}; ` +
				`rows received at ${median(rows).toFixed(0)} ms, drawn in ${median(list.map((x) => x[1] - x[0])).toFixed(0)} ms)`);
			await shot(page, '11-data-5000', { fullPage: false });
		}, ['tables', 'rows']);
		/* 11. A school of a district: what its role may not write is read-only. */
		await step('a school\'s form shows the columns its role may not write read-only', async () => {
			if (!SCHOOL_LOGIN) { bad('a school node\'s login link', 'WEB_SCHOOL_LOGIN is empty'); return; }
			const ctx = await browser.createBrowserContext();
			const sp = await ctx.newPage();
			sp.setDefaultTimeout(60000);
			await sp.setViewport({ width: 1280, height: 860 });
			sp.on('pageerror', (e) => errors.push(`pageerror (school): ${e.message}`));
			await sp.goto(SCHOOL_LOGIN);
			await sp.waitForSelector('#cards .card');
			check('the school node\'s session has role school', /\(school\)/.test(await text(sp, '#who')), await text(sp, '#who'));
			await sp.goto(`${BASE.replace(/:\d+$/, '')}:${new URL(SCHOOL_LOGIN).port}/data.html?t=teacher`);
			await sp.waitForSelector('#range[data-total]'); /* the tables and rows are in */
			await sp.click('#add');
			await sp.waitForSelector('#f-school_id');
			const ro = await sp.$$eval('#fields .field', (fs) => fs.filter((f) => f.querySelector('.ro-note')).map((f) => f.id));
			check('school_id (the owner) is read-only for a school', await sp.$eval('#f-school_id', (e) => e.disabled) &&
				ro.indexOf('field-school_id') >= 0, ro.join(' '));
			await shot(sp, '12-school-form-readonly', { fullPage: false });
			await ctx.close();
		}, ['tables']);
		check('no script errors in the pages', errors.length === 0, errors.join('\n'));
	} finally {
		await browser.close();
	}
	console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
	process.exit(failed ? 1 : 0);
})().catch((e) => { console.log(`FAIL aborted: ${e && e.stack ? e.stack : e}`); process.exit(1); });
