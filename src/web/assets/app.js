/* schoolsync web console: the pages' one script (docs/WEB.md, "Pages").
 *
 * Plain ES5 with XMLHttpRequest, so the old browser on a school's Windows PC
 * runs it; no modules, no framework, nothing loaded from elsewhere (the CSP
 * is default-src 'self'). Every value from the server reaches the page as
 * text (textContent), never as markup, except the report fragments the
 * server renders itself. Times come as UTC ISO 8601 and are shown in the
 * browser's local time. Chinese first; the English choice is kept in
 * localStorage (a cookie where that is missing); the browser's language does
 * not switch it, Chinese is the default everywhere. */
(function () {
	'use strict';

	var STR = {
		'nav.home': ['首页', 'Home'], 'nav.data': ['数据', 'Data'], 'nav.import': ['导入/导出', 'Import/Export'],
		'nav.conflicts': ['冲突', 'Conflicts'], 'nav.reports': ['报表', 'Reports'], 'nav.history': ['历史', 'History'],
		'lang.other': ['English', '中文'],
		'login.title': ['需要登录', 'Login needed'],
		'login.body': ['请在这台电脑上运行 schoolsync web，然后打开它打印的一次性登录链接。',
			'Run schoolsync web on this computer and open the one-time login link it prints.'],
		'err.network': ['无法连接控制台服务（守护进程是否在运行？）', 'Cannot reach the console (is the daemon running?)'],
		'err.csrf': ['会话已过期，请重新打开登录链接。', 'The session expired: open a new login link.'],
		'home.title': ['同步状态', 'Sync state'], 'home.syncnow': ['立即同步', 'Sync now'],
		'home.remotes': ['同步对象', 'Remotes'], 'home.remote': ['名称', 'Name'], 'home.state': ['状态', 'State'],
		'home.lastok': ['上次成功', 'Last success'], 'home.error': ['失败原因', 'Failure'], 'home.next': ['下次尝试', 'Next try'],
		'home.schools': ['其他学校的新鲜度', 'Freshness of the other schools'], 'home.node': ['节点', 'Node'],
		'home.school': ['学校', 'School'], 'home.heard': ['最后收到', 'Last heard'], 'home.seq': ['序号', 'Seq'],
		'home.daemonkey': ['守护进程与密钥', 'Daemon and key'], 'home.noremote': ['还没有同步对象', 'No remotes yet'],
		'home.nonode': ['还没有收到其他学校的数据', 'Nothing received from other schools yet'],
		'home.never': ['从未', 'never'], 'home.updated': ['更新于', 'updated'],
		'home.syncing': ['正在同步…', 'Syncing…'], 'home.idle': ['空闲', 'Idle'], 'home.queued': ['已开始同步：', 'Sync started: '],
		'home.done': ['同步完成', 'Sync finished'],
		'card.node': ['本节点', 'This node'], 'card.pending': ['待发送', 'Waiting to send'],
		'card.conflicts': ['冲突', 'Conflicts'], 'card.quarantined': ['隔离', 'Quarantined'],
		'd.daemon': ['守护进程', 'Daemon'], 'd.running': ['运行中', 'running'], 'd.stopped': ['未运行', 'not running'],
		'd.pid': ['进程号', 'pid'], 'd.uptime': ['已运行', 'uptime'], 'd.busy': ['正在同步', 'syncing'],
		'd.role': ['角色', 'Role'], 'd.district': ['学区', 'District'], 'd.managed': ['学区管理', 'Managed by district'],
		'd.enrolled': ['已登记', 'Enrolled'], 'd.cert': ['证书有效期至', 'Certificate valid until'],
		'd.revoked': ['密钥已吊销', 'Key revoked'],
		'd.norole': ['—（未加入学区）', '— (not in a district)'], 'yes': ['是', 'yes'], 'no': ['否', 'no'],
		'st.ok': ['正常', 'ok'], 'st.running': ['同步中', 'running'], 'st.backoff': ['等待重试', 'backing off'],
		'st.waiting': ['等待', 'waiting'],
		'data.title': ['数据', 'Data'], 'data.table': ['表', 'Table'], 'data.search': ['搜索', 'Search'],
		'data.searchbtn': ['搜索', 'Search'], 'data.add': ['新增', 'Add'], 'data.save': ['保存', 'Save'],
		'data.cancel': ['取消', 'Cancel'], 'data.prev': ['上一页', 'Previous'], 'data.next': ['下一页', 'Next'],
		'data.pagesize': ['每页', 'Per page'], 'data.edit': ['修改', 'Edit'], 'data.delete': ['删除', 'Delete'],
		'data.history': ['历史', 'History'], 'data.new': ['新增：', 'New: '], 'data.editing': ['修改：', 'Edit: '],
		'data.readonly': ['（您的角色不能修改）', '(your role cannot change this)'],
		'data.confirmdel': ['确定删除这条记录吗？', 'Delete this record?'], 'data.saved': ['已保存', 'Saved'],
		'data.deleted': ['已删除', 'Deleted'], 'data.empty': ['没有记录', 'No records'],
		'verb.approve': ['批准', 'Approve'], 'verb.reject': ['驳回', 'Reject'], 'verb.complete': ['完成', 'Complete'],
		'verb.share': ['共享', 'Share'], 'verb.done': ['已执行：', 'Done: '],
		'week.title': ['场地周视图（错峰使用）', 'Venues by week (staggered use)'], 'week.prev': ['上一周', 'Previous week'],
		'week.next': ['下一周', 'Next week'], 'week.venue': ['场地', 'Venue'], 'week.people': ['人', ' people'],
		'week.days': ['一二三四五六日', 'MonTueWedThuFriSatSun'],
		'data.range': ['第 {a}–{b} 条，共 {n} 条', '{a}–{b} of {n}'], 'data.actions': ['操作', 'Actions'],
		'imp.title': ['导入与导出', 'Import and export'], 'imp.import': ['导入 CSV', 'Import a CSV file'],
		'imp.note': ['支持 UTF-8 和 GB18030（Excel 另存为 CSV）。先检查，确认后才写入。',
			'UTF-8 or GB18030 (Excel\'s "Save as CSV"). Checked first; nothing is written until you confirm.'],
		'imp.check': ['检查', 'Check'], 'imp.confirm': ['确认导入', 'Import'],
		'imp.line': ['行', 'Line'], 'imp.column': ['列', 'Column'], 'imp.problem': ['问题', 'Problem'],
		'imp.export': ['导出 CSV', 'Export as CSV'], 'imp.exportnote': ['带 BOM 的 UTF-8，Excel 可直接打开。',
			'UTF-8 with a byte order mark, which Excel opens as it is.'], 'imp.download': ['下载 CSV', 'Download CSV'],
		'imp.nofile': ['请先选择一个 CSV 文件。', 'Choose a CSV file first.'],
		'imp.bad': ['发现 {n} 处问题，没有写入任何数据。请修改文件后重新检查。',
			'{n} problems found; nothing was written. Fix the file and check again.'],
		'imp.good': ['检查通过：{n} 行可以导入。', 'Check passed: {n} rows can be imported.'],
		'imp.written': ['已导入 {n} 行。', '{n} rows imported.'],
		'conf.title': ['冲突', 'Conflicts'],
		'conf.note': ['同一单元格在不同学校被同时修改。选一个版本或输入新值；解决后会同步到所有学校。',
			'The same cell was changed at two schools at once. Pick a version or type a value; the choice reaches every school.'],
		'conf.none': ['没有冲突。', 'No conflicts.'], 'conf.value': ['值', 'Value'], 'conf.author': ['修改人', 'Author'],
		'conf.school': ['学校/节点', 'School / node'], 'conf.time': ['时间', 'Time'], 'conf.pick': ['选择', 'Pick'],
		'conf.shown': ['当前显示', 'shown now'], 'conf.own': ['或输入新值：', 'or type a value:'],
		'conf.resolve': ['解决', 'Resolve'], 'conf.resolved': ['已解决', 'Resolved'],
		'conf.choose': ['请选择一个版本或输入新值。', 'Pick a version or type a value.'],
		'rep.title': ['报表', 'Reports'], 'rep.rotation': ['交流轮岗', 'Teacher rotation'],
		'rep.courses': ['共享课程', 'Shared courses'], 'rep.resources': ['资源', 'Resources'],
		'rep.freshness': ['数据新鲜度', 'Freshness'], 'rep.print': ['打印', 'Print'],
		'hist.title': ['修改历史', 'History'], 'hist.key': ['编号或工号', 'id or staff number'],
		'hist.column': ['列（可选）', 'column (optional)'], 'hist.show': ['查看', 'Show'],
		'hist.when': ['时间', 'When'], 'hist.who': ['修改人', 'Who'], 'hist.where': ['学校/节点', 'School / node'],
		'hist.col': ['列', 'Column'], 'hist.change': ['旧值 → 新值', 'Old → new'], 'hist.sig': ['签名', 'Signature'],
		'hist.sigok': ['✓ 签名有效', '✓ signature verified'], 'hist.sigbad': ['✗', '✗'], 'hist.of': ['历史：', 'History of '],
		'hist.none': ['没有历史记录。', 'No history.'], 'hist.row': ['（新建记录）', '(record created)'], 'hist.deleted': ['（删除记录）', '(record deleted)'], 'hist.record': ['（整条记录）', '(the record)'],
		'state.held': ['暂缓', 'held'], 'state.refused': ['被拒绝', 'refused'], 'state.withdrawn': ['已撤回', 'withdrawn'],
		'loading': ['加载中…', 'Loading…']
	};

	var lang = readLang();
	var session = null;

	function readLang() {
		var v = null;
		try { v = window.localStorage.getItem('ssync.lang'); } catch (e) { v = null; }
		if (!v) {
			var m = /(?:^|;\s*)ssync_lang=(\w+)/.exec(document.cookie || '');
			v = m ? m[1] : null;
		}
		return v === 'en' ? 'en' : 'zh';
	}
	function saveLang(v) {
		try { window.localStorage.setItem('ssync.lang', v); } catch (e) { /* private mode: the cookie below */ }
		document.cookie = 'ssync_lang=' + v + '; path=/; SameSite=Strict; max-age=31536000';
	}
	function t(k, vars) {
		var s = STR[k] ? STR[k][lang === 'en' ? 1 : 0] : k;
		if (vars) {
			for (var n in vars) { if (vars.hasOwnProperty(n)) { s = s.split('{' + n + '}').join(String(vars[n])); } }
		}
		return s;
	}
	function $(id) { return document.getElementById(id); }
	function each(list, f) { for (var i = 0; i < list.length; i++) { f(list[i], i); } }
	/* el('td', {className: 'num'}, 'text' | node | [..]): a new element. */
	function el(tag, props, kids) {
		var e = document.createElement(tag), k;
		if (props) { for (k in props) { if (props.hasOwnProperty(k)) { e[k] = props[k]; } } }
		if (kids !== undefined && kids !== null) { append(e, kids); }
		return e;
	}
	function append(e, kids) {
		if (kids instanceof Array) { each(kids, function (c) { append(e, c); }); }
		else if (kids !== undefined && kids !== null) {
			e.appendChild(typeof kids === 'object' ? kids : document.createTextNode(String(kids)));
		}
		return e;
	}
	function clear(e) { while (e.firstChild) { e.removeChild(e.firstChild); } return e; }
	function show(e, on) { if (on) { e.className = e.className.replace(/\s*\bhidden\b/g, ''); } else if (!/\bhidden\b/.test(e.className)) { e.className += ' hidden'; } }
	function qs(name) {
		var m = new RegExp('[?&]' + name + '=([^&#]*)').exec(window.location.search);
		return m ? decodeURIComponent(m[1].replace(/\+/g, ' ')) : null;
	}
	function enc(s) { return encodeURIComponent(s); }

	/* Local time of a UTC ISO 8601 string ("" for null). */
	function when(iso) {
		if (!iso) { return t('home.never'); }
		var d = new Date(iso);
		if (isNaN(d.getTime())) { return String(iso); }
		try {
			return d.toLocaleString(lang === 'en' ? 'en-GB' : 'zh-CN', { hour12: false });
		} catch (e) { return d.toString(); }
	}
	function ago(seconds) {
		if (seconds === null || seconds === undefined) { return ''; }
		var s = Math.round(seconds), u = lang === 'en' ? [' s', ' min', ' h', ' d'] : [' 秒', ' 分钟', ' 小时', ' 天'];
		if (s < 90) { return s + u[0]; }
		if (s < 5400) { return Math.round(s / 60) + u[1]; }
		if (s < 172800) { return Math.round(s / 3600) + u[2]; }
		return Math.round(s / 86400) + u[3];
	}

	/* One message box: {error:{code,message,hint}} or a plain text. */
	function message(box, kind, text, hint) {
		clear(box);
		box.className = 'msg ' + kind;
		append(box, el('span', { className: 'text' }, text));
		if (hint) { append(box, el('span', { className: 'hint' }, hint)); }
		show(box, true);
	}
	function errorBox(box, err) {
		message(box, 'error', err.message || err.code || String(err), err.hint || '');
		box.setAttribute('data-code', err.code || '');
	}

	/* api(method, path, body, done): done(err, json|text, xhr). A non-GET
	 * carries the session's CSRF token. 401 shows the login-needed page. */
	function api(method, path, body, done, opts) {
		var x = new XMLHttpRequest();
		opts = opts || {};
		x.open(method, path, true);
		if (method !== 'GET' && session && session.csrf) { x.setRequestHeader('X-CSRF-Token', session.csrf); }
		if (body !== null && body !== undefined) {
			if (opts.raw) {
				x.setRequestHeader('Content-Type', opts.type || 'text/csv');
			} else {
				x.setRequestHeader('Content-Type', 'application/json');
				body = JSON.stringify(body);
			}
		}
		x.onreadystatechange = function () {
			if (x.readyState !== 4) { return; }
			var data = null, ct = x.getResponseHeader('Content-Type') || '';
			if (/json/.test(ct)) {
				try { data = JSON.parse(x.responseText); } catch (e) { data = null; }
			} else {
				data = x.responseText;
			}
			if (x.status === 0) { done({ code: 'E_NET', message: t('err.network') }, null, x); return; }
			if (x.status === 401 && !opts.noLogin) { loginNeeded(); }
			if (x.status >= 400) {
				var e = data && data.error ? data.error : { code: 'HTTP ' + x.status, message: x.statusText || ('HTTP ' + x.status) };
				if (x.status === 403 && e.code === 'E_CSRF') { e.hint = e.hint || t('err.csrf'); }
				done(e, data, x);
				return;
			}
			done(null, data, x);
		};
		x.send(body === undefined ? null : body);
	}

	function loginNeeded() {
		show($('main'), false);
		var h = document.querySelector('header.top');
		if (h) { h.parentNode.removeChild(h); }
		show($('login-needed'), true);
		applyStrings();
	}

	function applyStrings() {
		document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
		each(document.querySelectorAll('[data-t]'), function (e) { e.textContent = t(e.getAttribute('data-t')); });
		each(document.querySelectorAll('[data-t-ph]'), function (e) { e.placeholder = t(e.getAttribute('data-t-ph')); });
	}

	function header(page) {
		var nav = el('nav'), pages = [['home', 'index.html'], ['data', 'data.html'], ['import', 'import.html'],
			['conflicts', 'conflicts.html'], ['reports', 'reports.html'], ['history', 'history.html']];
		each(pages, function (p) {
			var a = el('a', { href: p[1], id: 'nav-' + p[0] });
			a.setAttribute('data-t', 'nav.' + p[0]);
			if (p[0] === page) { a.className = 'current'; }
			nav.appendChild(a);
		});
		var who = el('span', { className: 'who', id: 'who' },
			session.actor + ' · ' + session.node + (session.role ? ' (' + session.role + ')' : ''));
		var b = el('button', { className: 'lang', id: 'lang-toggle', type: 'button' });
		b.setAttribute('data-t', 'lang.other');
		b.onclick = function () { lang = lang === 'en' ? 'zh' : 'en'; saveLang(lang); window.location.reload(); };
		var h = el('header', { className: 'top' }, [el('span', { className: 'brand' }, 'schoolsync'), nav, who, b]);
		document.body.insertBefore(h, document.body.firstChild);
	}

	/* The tables of /api/tables, loaded once per page. */
	var tables = null;
	function loadTables(done) {
		if (tables) { done(tables); return; }
		api('GET', '/api/tables', null, function (err, d) {
			if (err) { errorBox(firstMsgBox(), err); return; }
			tables = d.tables || d;
			done(tables);
		});
	}
	function tableByName(n) {
		for (var i = 0; tables && i < tables.length; i++) { if (tables[i].name === n) { return tables[i]; } }
		return null;
	}
	function fillTableSelect(sel, want) {
		clear(sel);
		each(tables, function (tb) {
			sel.appendChild(el('option', { value: tb.name }, tableLabel(tb)));
		});
		if (want && tableByName(want)) { sel.value = want; }
	}
	function tableLabel(tb) { return lang === 'en' ? (tb.label_en || tb.name) : (tb.label_zh || tb.label || tb.name); }
	function firstMsgBox() { return document.querySelector('[id$="-msg"]') || $('main'); }

	/* ---------------- Home ---------------- */
	var pollTimer = null, syncWanted = false, lastRounds = null;
	function roundsOf(st) {
		var n = 0;
		each(st.remotes || [], function (r) { n += (r.rounds_ok || 0) + (r.rounds_failed || 0); });
		return n;
	}
	function isBusy(st) {
		var busy = !!(st.daemon && st.daemon.busy);
		each(st.remotes || [], function (r) { if (r.state === 'running') { busy = true; } });
		return busy;
	}
	function card(label, value, kind, href, id) {
		var v = href ? el('a', { href: href }, String(value)) : String(value);
		return el('div', { className: 'card' + (kind ? ' ' + kind : ''), id: id || '' },
			[el('div', { className: 'label' }, label), el('div', { className: 'value' }, v)]);
	}
	function renderHome(st) {
		var node = st.node || {}, d = st.daemon || {};
		var cards = clear($('cards'));
		cards.appendChild(card(t('card.node'), node.node || session.node, '', null, 'card-node'));
		cards.appendChild(card(t('card.pending'), node.pending || 0, node.pending ? 'warn' : '', null, 'card-pending'));
		cards.appendChild(card(t('card.conflicts'), node.conflicts || 0, node.conflicts ? 'warn' : '', 'conflicts.html', 'card-conflicts'));
		cards.appendChild(card(t('card.quarantined'), node.quarantined || 0, node.quarantined ? 'bad' : '', null, 'card-quarantined'));

		var tb = clear($('remotes').tBodies[0]);
		each(st.remotes || [], function (r) {
			var err = r.last_error, errCell = '';
			if (err) {
				errCell = [el('div', null, err.message || err.code), err.hint ? el('div', { className: 'small muted' }, err.hint) : null,
					el('div', { className: 'small muted' }, when(err.at))];
			}
			var state = r.state || 'waiting';
			var tr = el('tr', { id: 'remote-' + r.name }, [
				el('td', null, [el('div', null, r.name), el('div', { className: 'small muted' }, r.url || '')]),
				el('td', null, el('span', { className: 'state state-' + state }, STR['st.' + state] ? t('st.' + state) : state)),
				el('td', null, [when(r.last_success), r.last_success_age_s !== undefined && r.last_success ?
					el('div', { className: 'small muted' }, ago(r.last_success_age_s)) : null]),
				el('td', { className: 'failure' }, errCell),
				el('td', { className: 'next' }, r.next_attempt ? [when(r.next_attempt), r.failures ? el('div', { className: 'small muted' },
					'×' + r.failures) : null] : '')
			]);
			tr.setAttribute('data-state', state);
			tr.setAttribute('data-last-success', r.last_success || '');
			tb.appendChild(tr);
		});
		if (!(st.remotes && st.remotes.length)) { tb.appendChild(el('tr', null, el('td', { colSpan: 5, className: 'muted' }, t('home.noremote')))); }

		var nb = clear($('nodes').tBodies[0]);
		each(node.nodes || [], function (n) {
			nb.appendChild(el('tr', null, [el('td', null, n.node), el('td', null, n.school || ''),
				el('td', null, when(n.last_received)), el('td', { className: 'num' }, n.last_seq === undefined ? '' : n.last_seq)]));
		});
		if (!(node.nodes && node.nodes.length)) { nb.appendChild(el('tr', null, el('td', { colSpan: 4, className: 'muted' }, t('home.nonode')))); }

		var db = clear($('daemon').tBodies[0]);
		function row(k, v) { db.appendChild(el('tr', null, [el('th', null, t(k)), el('td', null, v)])); }
		row('d.daemon', d.running ? t('d.running') + ' · ' + t('d.pid') + ' ' + d.pid + ' · ' + t('d.uptime') + ' ' + ago(d.uptime_s) +
			(d.busy ? ' · ' + t('d.busy') + ' ' + d.busy : '') : t('d.stopped') + (d.problem ? ' · ' + d.problem : ''));
		row('d.district', node.district || session.district || '');
		row('d.role', (node.role || session.role || t('d.norole')) + (node.school ? ' · ' + node.school : ''));
		row('d.managed', node.managed ? t('yes') : t('no'));
		row('d.enrolled', node.enrolled ? t('yes') : t('no'));
		if (node.cert_valid_until) { row('d.cert', when(node.cert_valid_until)); }
		row('d.revoked', node.revoked ? t('yes') : t('no'));

		var busy = isBusy(st), ss = $('sync-state');
		ss.textContent = busy ? t('home.syncing') : t('home.idle');
		ss.setAttribute('data-state', busy ? 'running' : 'idle');
		ss.setAttribute('data-rounds', String(roundsOf(st)));
		$('updated').textContent = t('home.updated') + ' ' + when(new Date().toISOString());
		if (syncWanted && !busy && lastRounds !== null && roundsOf(st) > lastRounds) {
			syncWanted = false;
			message($('sync-msg'), 'ok', t('home.done'));
		}
	}
	/* Live status: a long poll (docs/WEB.md): the server answers when the
	 * status changed since statusSeq, or after at most 25 s. */
	var statusSeq = null, pollGen = 0;
	function pollHome() {
		var gen = ++pollGen, t0 = new Date().getTime();
		if (pollTimer) { window.clearTimeout(pollTimer); pollTimer = null; }
		api('GET', '/api/status' + (statusSeq !== null ? '?since=' + statusSeq : ''), null, function (err, st) {
			if (gen !== pollGen) { return; } /* a newer poll replaced this one */
			if (err) { errorBox($('sync-msg'), err); pollTimer = window.setTimeout(pollHome, 5000); return; }
			var same = st.seq !== undefined && st.seq === statusSeq;
			statusSeq = st.seq !== undefined ? st.seq : null;
			renderHome(st);
			/* A server that answers at once without a change (no long poll):
			 * ask again in a second while a sync runs, else in 10 s. */
			var quick = new Date().getTime() - t0 < 900 && (same || statusSeq === null);
			pollTimer = window.setTimeout(pollHome, quick ? (isBusy(st) || syncWanted ? 1000 : 10000) : 0);
		});
	}
	function initHome() {
		$('sync-now').onclick = function () {
			var b = this;
			b.disabled = true;
			api('GET', '/api/status', null, function (e0, st0) {
				lastRounds = st0 ? roundsOf(st0) : 0;
				api('POST', '/api/sync', {}, function (err, d) {
					b.disabled = false;
					if (err) { errorBox($('sync-msg'), err); return; }
					syncWanted = true;
					message($('sync-msg'), 'info', t('home.queued') + ((d && d.queued) ? d.queued.join(', ') : ''));
					pollHome();
				});
			});
		};
		pollHome();
	}

	/* ---------------- Data ---------------- */
	var dataState = { table: null, offset: 0, limit: 50, q: '', editing: null };
	/* The CLI's workflow verbs the API offers per table (docs/WEB.md §3). */
	var VERBS = { rotation: ['approve', 'reject', 'complete'], course: ['share', 'approve'] };
	function colsOf(tb) { return tb.columns || tb.fields || []; }
	function keyOf(row) { return row.id !== undefined ? row.id : row.key; }
	function loadRows() {
		var tb = tableByName(dataState.table), t0 = window.performance && performance.now ? performance.now() : 0;
		api('GET', '/api/tables/' + enc(dataState.table) + '?q=' + enc(dataState.q) + '&limit=' + dataState.limit +
			'&offset=' + dataState.offset, null, function (err, d) {
			if (err) { errorBox($('list-msg'), err); return; }
			show($('list-msg'), false);
			mark('ssync-rows-received');
			renderRows(tb, d);
			mark('ssync-rows-rendered');
			document.body.setAttribute('data-rows-ms', String(Math.round((window.performance && performance.now ? performance.now() : 0) - t0)));
		});
	}
	/* Marks the browser test reads for its figures (docs/WEB.md). */
	function mark(name) {
		if (window.performance && performance.mark) {
			try { performance.mark(name); } catch (e) { /* old browsers */ }
		}
	}
	function cellText(v) {
		if (v === null || v === undefined) { return ''; }
		return typeof v === 'object' ? JSON.stringify(v) : String(v);
	}
	function renderRows(tb, d) {
		var cols = colsOf(tb), table = $('rows'), head = clear(table.tHead), body = el('tbody');
		var hr = el('tr');
		each(cols, function (c) { hr.appendChild(el('th', null, lang === 'en' ? c.name : (c.label || c.name))); });
		hr.appendChild(el('th', null, t('data.actions')));
		head.appendChild(hr);
		/* Rows are built off the document and swapped in once: one layout for 5,000 rows. */
		each(d.rows || [], function (r, i) {
			var tr = el('tr'), key = keyOf(r);
			tr.setAttribute('data-key', cellText(key));
			tr.setAttribute('data-i', String(i));
			each(cols, function (c) {
				var lab = r._labels && r._labels[c.name];
				tr.appendChild(lab ? el('td', { className: 'ref', title: cellText(r[c.name]) }, [lab, el('span', { className: 'id' }, cellText(r[c.name]))])
					: el('td', null, cellText(r[c.name])));
			});
			var ed = el('button', { type: 'button', className: 'edit' }, t('data.edit'));
			var del = el('button', { type: 'button', className: 'danger delete' }, t('data.delete'));
			var hi = el('a', { href: 'history.html?t=' + enc(tb.name) + '&k=' + enc(key), className: 'history' }, t('data.history'));
			var acts = [ed, ' ', del, ' ', hi];
			each(VERBS[tb.name] || [], function (v) {
				var b = el('button', { type: 'button', className: 'verb verb-' + v }, t('verb.' + v));
				b.setAttribute('data-verb', v);
				acts.push(' ', b);
			});
			tr.appendChild(el('td', { className: 'actions' }, acts));
			body.appendChild(tr);
		});
		if (!(d.rows && d.rows.length)) { body.appendChild(el('tr', null, el('td', { colSpan: cols.length + 1, className: 'muted' }, t('data.empty')))); }
		/* One click handler for every row's buttons (a 5,000-row page would
		 * otherwise make 10,000 closures). */
		body.onclick = function (ev) {
			var b = (ev || window.event).target || (ev || window.event).srcElement, tr = b;
			while (tr && tr.tagName !== 'TR') { tr = tr.parentNode; }
			if (!tr || b.tagName !== 'BUTTON') { return; }
			var r = d.rows[tr.getAttribute('data-i')];
			if (/\bedit\b/.test(b.className)) { openForm(tb, r); } else if (/\bdelete\b/.test(b.className)) { deleteRow(tb, keyOf(r)); }
			else if (b.getAttribute('data-verb')) { runVerb(tb, keyOf(r), b.getAttribute('data-verb')); }
		};
		table.replaceChild(body, table.tBodies[0]);
		var n = d.total || 0, a = n ? dataState.offset + 1 : 0, b = Math.min(n, dataState.offset + (d.rows ? d.rows.length : 0));
		$('range').textContent = t('data.range', { a: a, b: b, n: n });
		$('range').setAttribute('data-total', String(n));
		$('prev').disabled = dataState.offset <= 0;
		$('next').disabled = b >= n;
	}
	function runVerb(tb, key, verb) {
		api('POST', '/api/tables/' + enc(tb.name) + '/' + enc(key) + '/' + verb, {}, function (err, d) {
			if (err) { errorBox($('list-msg'), err); return; }
			message($('list-msg'), 'ok', t('verb.done') + t('verb.' + verb) + ' → ' + ((d && d.result) || ''));
			loadRows();
		});
	}
	function deleteRow(tb, key) {
		if (!window.confirm(t('data.confirmdel'))) { return; }
		api('DELETE', '/api/tables/' + enc(tb.name) + '/' + enc(key), null, function (err) {
			if (err) { errorBox($('list-msg'), err); return; }
			message($('list-msg'), 'ok', t('data.deleted'));
			loadRows();
		});
	}
	function fieldInput(c, value) {
		var inp, id = 'f-' + c.name;
		if (c.choices && c.choices.length) {
			inp = el('select', { id: id, name: c.name });
			if (!c.required) { inp.appendChild(el('option', { value: '' }, '')); }
			each(c.choices, function (ch) {
				var v = typeof ch === 'object' ? ch.value : ch, l = typeof ch === 'object' ? (ch.label || ch.value) : ch;
				inp.appendChild(el('option', { value: v }, l));
			});
			inp.value = value === null || value === undefined ? '' : String(value);
		} else {
			inp = el('input', { id: id, name: c.name, type: 'text' });
			inp.value = value === null || value === undefined ? '' : String(value);
			if (c.type === 'int' || c.type === 'real') { inp.inputMode = 'decimal'; }
			if (c.type === 'date') { inp.placeholder = 'YYYY-MM-DD'; }
			if (c.type === 'time') { inp.placeholder = 'HH:MM'; }
			if (c.type === 'term') { inp.placeholder = 'YYYY-1'; }
		}
		if (c.readonly) {
			inp.disabled = true;
			/* the owner column of a school's row: the server fills in this node's school */
			if (c.name === 'school_id' && !inp.value && session.school) { inp.placeholder = session.school; }
		}
		return inp;
	}
	function openForm(tb, row) {
		dataState.editing = row ? keyOf(row) : null;
		/* the message box may sit among the fields (markInvalid): put it back first */
		$('fields').parentNode.insertBefore($('form-error'), $('fields'));
		var f = $('record-form'), box = clear($('fields'));
		$('form-title').textContent = (row ? t('data.editing') + cellText(row._label || row.name || keyOf(row)) : t('data.new')) +
			' ' + tableLabel(tb);
		show($('form-error'), false);
		each(colsOf(tb), function (c) {
			if (c.type === 'id' && !row) { return; } /* generated on add */
			var lab = el('label', { htmlFor: 'f-' + c.name }, [lang === 'en' ? c.name : (c.label || c.name),
				c.required ? el('span', { className: 'req' }, ' *') : null]);
			var div = el('div', { className: 'field', id: 'field-' + c.name }, [lab, fieldInput(c, row ? row[c.name] : null)]);
			if (c.readonly && c.type !== 'id') { div.appendChild(el('span', { className: 'ro-note' }, t('data.readonly'))); }
			box.appendChild(div);
		});
		show(f, true);
		var first = f.querySelector('input:not([disabled]), select:not([disabled])');
		if (first) { first.focus(); }
	}
	/* The server's message names the column (field, or its name/label in the text): mark it. */
	function markInvalid(tb, err) {
		each(document.querySelectorAll('#fields .field'), function (d) { d.className = 'field'; });
		var hit = null;
		each(colsOf(tb), function (c) {
			if (hit) { return; }
			if (err.column === c.name || err.field === c.name) { hit = c; return; }
			var m = err.message || '';
			if (m.indexOf(c.name) >= 0 || (c.label && m.indexOf(c.label) >= 0)) { hit = c; }
		});
		if (hit) {
			var d = $('field-' + hit.name);
			d.className = 'field invalid';
			d.parentNode.insertBefore($('form-error'), d);
		} else {
			$('fields').parentNode.insertBefore($('form-error'), $('fields'));
		}
	}
	function submitForm(ev) {
		if (ev && ev.preventDefault) { ev.preventDefault(); }
		var tb = tableByName(dataState.table), body = {};
		each(colsOf(tb), function (c) {
			var inp = $('f-' + c.name);
			if (c.readonly || !inp) { return; }
			var v = inp.value;
			if (dataState.editing !== null) { body[c.name] = v === '' ? null : v; } else if (v !== '') { body[c.name] = v; }
		});
		var path = '/api/tables/' + enc(tb.name) + (dataState.editing !== null ? '/' + enc(dataState.editing) : '');
		$('save').disabled = true;
		api(dataState.editing !== null ? 'PATCH' : 'POST', path, body, function (err) {
			$('save').disabled = false;
			if (err) { errorBox($('form-error'), err); markInvalid(tb, err); return; }
			show($('record-form'), false);
			message($('list-msg'), 'ok', t('data.saved'));
			loadRows();
		});
		return false;
	}
	/* The week of bookings per venue: who uses which venue when, so schools
	 * can stagger their use. Dates are the bookings' own (no time zone). */
	function pad2(n) { return (n < 10 ? '0' : '') + n; }
	function ymd(d) { return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate()); }
	function monday(s) {
		var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || ''), d = m ? new Date(+m[1], +m[2] - 1, +m[3]) : new Date();
		d.setDate(d.getDate() - (d.getDay() + 6) % 7);
		return d;
	}
	function dayName(i) { return lang === 'en' ? t('week.days').substr(i * 3, 3) : '周' + t('week.days').charAt(i); }
	function loadWeek() {
		var mon = monday($('week').value), days = [], i;
		for (i = 0; i < 7; i++) { days.push(ymd(new Date(mon.getFullYear(), mon.getMonth(), mon.getDate() + i))); }
		$('week').value = days[0];
		api('GET', '/api/tables/booking?limit=10000', null, function (err, d) {
			if (err) { errorBox($('list-msg'), err); return; }
			var venues = {}, order = [], grid = $('week-grid'), hr = el('tr', null, el('th', null, t('week.venue'))), body = el('tbody');
			each(days, function (day, j) { hr.appendChild(el('th', null, dayName(j) + ' ' + day.substr(5))); });
			clear(grid.tHead).appendChild(hr);
			each(d.rows || [], function (r) {
				var j = -1;
				for (i = 0; i < 7; i++) { if (days[i] === r.day) { j = i; } }
				if (j < 0) { return; }
				if (!venues[r.resource_id]) {
					venues[r.resource_id] = { label: (r._labels && r._labels.resource_id) || r.resource_id, days: [[], [], [], [], [], [], []] };
					order.push(r.resource_id);
				}
				venues[r.resource_id].days[j].push(r);
			});
			each(order, function (v) {
				var tr = el('tr', null, el('th', null, venues[v].label));
				each(venues[v].days, function (list) {
					list.sort(function (a, b) { return a.from_time < b.from_time ? -1 : a.from_time > b.from_time ? 1 : 0; });
					tr.appendChild(el('td', null, list.map(function (r) {
						return el('div', { className: 'slot', title: r.purpose || '' }, r.from_time + '–' + r.to_time + ' ' +
							((r._labels && r._labels.school_id) || r.school_id || '') + (r.people ? ' · ' + r.people + t('week.people') : ''));
					})));
				});
				body.appendChild(tr);
			});
			if (!order.length) { body.appendChild(el('tr', null, el('td', { colSpan: 8, className: 'muted' }, t('data.empty')))); }
			grid.replaceChild(body, grid.tBodies[0]);
			grid.setAttribute('data-week', days[0]);
		});
	}
	function showWeek() {
		var on = dataState.table === 'booking';
		show($('week-box'), on);
		if (on) { loadWeek(); }
	}
	function initData() {
		var lim = parseInt(qs('limit') || '50', 10);
		dataState.limit = lim > 0 && lim <= 5000 ? lim : 50;
		dataState.q = qs('q') || '';
		$('q').value = dataState.q;
		$('page-size').value = String(dataState.limit);
		loadTables(function () {
			fillTableSelect($('table-select'), qs('t') || 'teacher');
			dataState.table = $('table-select').value;
			$('table-select').onchange = function () {
				dataState.table = this.value; dataState.offset = 0; show($('record-form'), false); loadRows(); showWeek();
			};
			$('week').value = qs('week') || '';
			$('week').onchange = loadWeek;
			$('week-prev').onclick = function () { var m = monday($('week').value); m.setDate(m.getDate() - 7); $('week').value = ymd(m); loadWeek(); };
			$('week-next').onclick = function () { var m = monday($('week').value); m.setDate(m.getDate() + 7); $('week').value = ymd(m); loadWeek(); };
			$('search').onclick = function () { dataState.q = $('q').value; dataState.offset = 0; loadRows(); };
			$('q').onkeydown = function (e) { if ((e || window.event).keyCode === 13) { $('search').onclick(); } };
			$('prev').onclick = function () { dataState.offset = Math.max(0, dataState.offset - dataState.limit); loadRows(); };
			$('next').onclick = function () { dataState.offset += dataState.limit; loadRows(); };
			$('page-size').onchange = function () { dataState.limit = parseInt(this.value, 10); dataState.offset = 0; loadRows(); };
			$('add').onclick = function () { openForm(tableByName(dataState.table), null); };
			$('cancel').onclick = function () { show($('record-form'), false); };
			$('record-form').onsubmit = submitForm;
			loadRows();
			showWeek();
		});
	}

	/* ---------------- Import / export ---------------- */
	function initImport() {
		loadTables(function () {
			fillTableSelect($('table-select'), qs('t') || 'teacher');
			var sel = $('table-select');
			function exportLink() { $('export').href = '/api/export/' + enc(sel.value) + '.csv?bom=1'; $('export').setAttribute('download', sel.value + '.csv'); }
			exportLink();
			sel.onchange = function () { exportLink(); $('confirm').disabled = true; show($('imp-errors'), false); show($('imp-msg'), false); };
			$('csv-file').onchange = function () { $('confirm').disabled = true; show($('imp-errors'), false); show($('imp-msg'), false); };
			function send(dry) {
				var f = $('csv-file').files && $('csv-file').files[0];
				if (!f) { message($('imp-msg'), 'error', t('imp.nofile')); return; }
				$('check').disabled = true;
				$('confirm').disabled = true;
				/* The file's bytes as they are: the server detects UTF-8 or GB18030. */
				api('POST', '/api/import/' + enc(sel.value) + (dry ? '?dry_run=1' : ''), f, function (err, d) {
					$('check').disabled = false;
					var errs = (d && d.errors) || [], tbody = clear($('imp-errors').tBodies[0]);
					each(errs, function (e) {
						tbody.appendChild(el('tr', null, [el('td', { className: 'num' }, e.line === undefined ? '' : e.line),
							el('td', null, e.column || ''), el('td', null, e.message || '')]));
					});
					show($('imp-errors'), errs.length > 0);
					if (err && !errs.length) { errorBox($('imp-msg'), err); return; }
					if (errs.length) { message($('imp-msg'), 'error', t('imp.bad', { n: errs.length })); return; }
					if (dry) {
						message($('imp-msg'), 'ok', t('imp.good', { n: d.rows || 0 }));
						$('confirm').disabled = false;
					} else {
						message($('imp-msg'), 'ok', t('imp.written', { n: d.rows || 0 }));
					}
				}, { raw: true, type: 'text/csv' });
			}
			$('check').onclick = function () { send(true); };
			$('confirm').onclick = function () { send(false); };
		});
	}

	/* ---------------- Conflicts ---------------- */
	function versionId(v) { return v.id || (v.node + '#' + v.seq); }
	function renderConflict(c, i) {
		var name = 'pick-' + i, tbody = el('tbody');
		each(c.versions || [], function (v) {
			var r = el('input', { type: 'radio', name: name, value: versionId(v), id: name + '-' + versionId(v) });
			tbody.appendChild(el('tr', { className: v.winner ? 'winner' : '' }, [
				el('td', null, r), el('td', null, el('label', { htmlFor: r.id }, cellText(v.value))),
				el('td', null, v.actor || ''), el('td', null, (v.school ? v.school + ' · ' : '') + (v.node || '')),
				el('td', null, when(v.time)), el('td', { className: 'muted small' }, v.winner ? t('conf.shown') : '')]));
		});
		var own = el('input', { type: 'text', className: 'own-value' });
		var msg = el('div', { className: 'hidden' });
		var b = el('button', { type: 'button', className: 'primary resolve' }, t('conf.resolve'));
		var box = el('div', { className: 'conflict' }, [
			el('h3', null, (c.table_label || c.table) + ' · ' + (c.name ? c.name + ' · ' : '') + c.key + ' · ' + (c.column_label || c.column)),
			el('table', { className: 'grid' }, [el('thead', null, el('tr', null, [el('th', null, t('conf.pick')), el('th', null, t('conf.value')),
				el('th', null, t('conf.author')), el('th', null, t('conf.school')), el('th', null, t('conf.time')), el('th')])), tbody]),
			el('div', { className: 'own' }, [t('conf.own') + ' ', own, ' ', b]), msg]);
		box.setAttribute('data-table', c.table);
		box.setAttribute('data-key', c.key);
		box.setAttribute('data-column', c.column);
		b.onclick = function () {
			var req = { table: c.table, key: c.key, column: c.column }, picked = box.querySelector('input[type=radio]:checked');
			if (own.value !== '') { req.value = own.value; } else if (picked) { req.pick = picked.value; } else {
				message(msg, 'error', t('conf.choose')); return;
			}
			b.disabled = true;
			api('POST', '/api/resolve', req, function (err) {
				b.disabled = false;
				if (err) { errorBox(msg, err); return; }
				message($('conf-msg'), 'ok', t('conf.resolved') + ': ' + c.table + ' ' + c.key + ' ' + c.column);
				loadConflicts();
			});
		};
		return box;
	}
	function loadConflicts() {
		api('GET', '/api/conflicts', null, function (err, d) {
			if (err) { errorBox($('conf-msg'), err); return; }
			var list = clear($('conflicts')), arr = d.conflicts || d;
			each(arr, function (c, i) { list.appendChild(renderConflict(c, i)); });
			list.setAttribute('data-count', String(arr.length));
			if (!arr.length) { list.appendChild(el('p', { className: 'muted', id: 'no-conflicts' }, t('conf.none'))); }
		});
	}

	/* ---------------- Reports ---------------- */
	function loadReport() {
		var name = $('report-select').value, box = $('report');
		box.textContent = t('loading');
		box.setAttribute('data-report', '');
		api('GET', '/api/reports/' + enc(name), null, function (err, d) {
			if (err) { clear(box); errorBox($('rep-msg'), err); return; }
			show($('rep-msg'), false);
			/* Our own server's fragment (it escapes the data it puts in). */
			box.innerHTML = typeof d === 'string' ? d : (d.html || '');
			box.setAttribute('data-report', name);
		});
	}
	/* Printed, the per-school tables are part of the report: open them. */
	function openDetails() { each(document.querySelectorAll('#report details'), function (d) { d.open = true; }); }
	function initReports() {
		var want = qs('r');
		if (want) { $('report-select').value = want; }
		$('report-select').onchange = loadReport;
		$('print').onclick = function () { openDetails(); window.print(); };
		window.onbeforeprint = openDetails;
		loadReport();
	}

	/* ---------------- History ---------------- */
	function sigCell(e) {
		/* Every entry in a node's log had its signature and chain checked
		 * when it was admitted (docs/TRUST.md); its state says what it did:
		 * a refused entry (e.g. past its key's revocation) is marked. */
		var ok = e.signature === 'ok' && e.state !== 'refused';
		return el('td', { className: ok ? 'sig-ok' : 'sig-bad' }, (ok ? t('hist.sigok') : t('hist.sigbad')) +
			(e.state && e.state !== 'applied' ? ' (' + (STR['state.' + e.state] ? t('state.' + e.state) : e.state) + ')' : ''));
	}
	function colLabel(tname, col) {
		var tb = tableByName(tname), l = col === '$row' ? t('hist.record') : col;
		each(tb ? colsOf(tb) : [], function (c) { if (c.name === col && c.label && lang !== 'en') { l = c.label; } });
		return l;
	}
	function loadHistory() {
		var tb = $('table-select').value, key = $('key').value, col = $('column').value;
		if (!key) { return; }
		api('GET', '/api/history/' + enc(tb) + '/' + enc(key) + (col ? '?column=' + enc(col) : ''), null, function (err, d) {
			if (err) { errorBox($('hist-msg'), err); show($('history'), false); return; }
			show($('hist-msg'), false);
			var arr = d.history || d, body = clear($('history').tBodies[0]);
			$('hist-title').textContent = t('hist.of') + (tableByName(tb) ? tableLabel(tableByName(tb)) : tb) + ' ' + key;
			show($('hist-title'), true);
			each(arr, function (e) {
				/* old is the list of values the change overwrote (two after a conflict) */
				var old = e.old instanceof Array ? e.old.join(' / ') : cellText(e.old);
				var change = e.column === '$row' ? (e['new'] === 0 ? t('hist.deleted') : t('hist.row')) :
					(old === '' ? '—' : old) + ' → ' + (e['new'] === null ? '—' : cellText(e['new']));
				body.appendChild(el('tr', null, [el('td', null, when(e.time)), el('td', null, e.actor || ''),
					el('td', null, (e.school ? e.school + ' · ' : '') + (e.node || '') + (e.seq !== undefined ? ' #' + e.seq : '')),
					el('td', null, colLabel(tb, e.column)), el('td', { className: 'change' }, change), sigCell(e)]));
			});
			if (!arr.length) { body.appendChild(el('tr', null, el('td', { colSpan: 6, className: 'muted' }, t('hist.none')))); }
			show($('history'), true);
		});
	}
	function initHistory() {
		loadTables(function () {
			fillTableSelect($('table-select'), qs('t') || 'teacher');
			$('key').value = qs('k') || '';
			$('column').value = qs('column') || '';
			$('hist-form').onsubmit = function (ev) { if (ev && ev.preventDefault) { ev.preventDefault(); } loadHistory(); return false; };
			loadHistory();
		});
	}

	var pages = { home: initHome, data: initData, 'import': initImport, conflicts: function () { loadConflicts(); },
		reports: initReports, history: initHistory };

	function start() {
		var page = document.body.getAttribute('data-page');
		api('GET', '/api/session', null, function (err, s) {
			if (err || !s || !s.csrf) { loginNeeded(); return; }
			session = s;
			header(page);
			applyStrings();
			show($('main'), true);
			if (pages[page]) { pages[page](); }
		}, { noLogin: true });
	}

	if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); } else { start(); }
}());
