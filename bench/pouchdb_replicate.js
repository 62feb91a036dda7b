// The PouchDB side of bench/bench_sync.sh: N documents shaped like our teacher
// rows, written into one leveldb database, then replicated one way into a
// fresh one. Prints seconds and peak RSS (sampled) as JSON.
const PouchDB = require('pouchdb');
const n = parseInt(process.argv[2] || '100000', 10);
const dir = process.argv[3];
let peak = 0;
const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
(async () => {
	const src = new PouchDB(dir + '/src');
	for (let i = 0; i < n; i += 5000) {
		const docs = [];
		for (let k = i + 1; k <= Math.min(n, i + 5000); k++)
			docs.push({ _id: 'b' + k, school_id: 'sch-a', name: '教师' + k, subject: '数学',
				title: '中级', birth_year: 1960 + k % 40, joined_year: 1990 + k % 30 });
		await src.bulkDocs(docs);
	}
	peak = 0;
	const dst = new PouchDB(dir + '/dst');
	const t0 = process.hrtime.bigint();
	const r = await src.replicate.to(dst, { batch_size: 1000, batches_limit: 10 });
	const secs = Number(process.hrtime.bigint() - t0) / 1e9;
	peak = Math.max(peak, process.memoryUsage().rss);
	clearInterval(sample);
	const info = await dst.info();
	console.log(JSON.stringify({ docs: info.doc_count, written: r.docs_written, seconds: secs,
		peak_rss_mb: peak / 1048576 }));
})().catch((e) => { console.error(e); process.exit(1); });
