#!/usr/bin/env python3
"""bm25_corpus.py - the BM25 benchmark's corpus: Debian's English package
descriptions (apt-get update -o Acquire::Languages=en brings them) as
DOCS.tsv ("n<TAB>short description. long description", one line per package)
and QUERIES.tsv: NQ queries, the short descriptions of every (N/NQ)-th package.

usage: bm25_corpus.py OUTDIR [NQ]   (prints the two counts)
"""
import glob, os, subprocess, sys

out, nq = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1000
files = sorted(glob.glob('/var/lib/apt/lists/*_i18n_Translation-en*'))
if not files:
    sys.exit('no Translation-en lists: run apt-get update -o Acquire::Languages=en')
docs, seen = [], set()
for f in files:
    raw = subprocess.run(['/usr/lib/apt/apt-helper', 'cat-file', f], check=True, capture_output=True).stdout
    for para in raw.decode('utf-8', 'replace').split('\n\n'):
        short, body, md5, inbody = None, [], None, False
        for line in para.split('\n'):
            if line.startswith('Description-md5:'):
                md5 = line.split(':', 1)[1].strip()
            if line.startswith('Description-en:'):
                short, inbody = line.split(':', 1)[1].strip(), True
            elif inbody and line.startswith(' '):
                s = line.strip()
                body.append('' if s == '.' else s)
            elif inbody:
                inbody = False
        if short is None or md5 in seen:
            continue
        seen.add(md5)
        text = (short + '. ' + ' '.join(body)).replace('\t', ' ')
        docs.append((short.replace('\t', ' '), text))
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, 'docs.tsv'), 'w') as f:
    for i, (_, t) in enumerate(docs):
        f.write('%d\t%s\n' % (i, t))
step = max(1, len(docs) // nq)
with open(os.path.join(out, 'queries.tsv'), 'w') as f:
    for q, i in enumerate(range(0, len(docs), step)):
        if q >= nq:
            break
        f.write('q%d\t%s\n' % (q, docs[i][0]))
print(len(docs), min(nq, (len(docs) + step - 1) // step))
