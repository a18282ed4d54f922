#!/usr/bin/python3
"""xapian_bm25.py - the Xapian baseline of bench/bm25.sh (Debian python3-xapian).

usage: /usr/bin/python3 xapian_bm25.py DOCS.tsv QUERIES.tsv K k1 b DBDIR
Indexes with TermGenerator (English stemmer), searches with BM25Weight(k1, k2=0,
k3=1, b, min_normlen=0.5) OR-queries parsed by QueryParser (parsing not timed),
one thread, 2 warm-up passes then the fastest of 3. Prints
"xapian index_s=... index_cpu=... docs=... query_s=... query_cpu=... queries=..."
like the other drivers (wall and this thread's CPU seconds).
"""
import shutil, sys, time
import xapian

docs_path, q_path, k, k1, b, dbdir = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]

def tsv(path):
    out = []
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            i, _, t = line.rstrip('\n').partition('\t')
            out.append((i, t))
    return out

docs, queries = tsv(docs_path), tsv(q_path)
shutil.rmtree(dbdir, ignore_errors=True)
t0, c0 = time.perf_counter(), time.thread_time()
db = xapian.WritableDatabase(dbdir, xapian.DB_CREATE_OR_OVERWRITE)
tg = xapian.TermGenerator()
tg.set_stemmer(xapian.Stem('english'))
for i, t in docs:
    d = xapian.Document()
    tg.set_document(d)
    tg.index_text(t)
    d.set_data(i)
    db.add_document(d)
db.commit()
t_index, c_index = time.perf_counter() - t0, time.thread_time() - c0

qp = xapian.QueryParser()
qp.set_stemmer(xapian.Stem('english'))
qp.set_stemming_strategy(xapian.QueryParser.STEM_SOME)
qp.set_default_op(xapian.Query.OP_OR)
parsed = [qp.parse_query(t, 0) for _, t in queries]
enq = xapian.Enquire(db)
enq.set_weighting_scheme(xapian.BM25Weight(k1, 0, 1, b, 0.5))
hits = 0
t_query = c_query = 1e30
for rep in range(5):  # 2 warm-up passes, then the fastest of 3
    t0, c0 = time.perf_counter(), time.thread_time()
    for q in parsed:
        enq.set_query(q)
        hits += enq.get_mset(0, k).size()
    if rep >= 2:
        t_query, c_query = min(t_query, time.perf_counter() - t0), min(c_query, time.thread_time() - c0)
db.close()
shutil.rmtree(dbdir, ignore_errors=True)
print('xapian index_s=%.4f index_cpu=%.4f docs=%d query_s=%.4f query_cpu=%.4f queries=%d hits=%d' %
      (t_index, c_index, len(docs), t_query, c_query, len(queries), hits))
