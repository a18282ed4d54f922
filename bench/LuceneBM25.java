/*
 * LuceneBM25.java - Lucene 8 (Debian liblucene8-java) as the reference and the
 * baseline for winnow's BM25: the same analyzer chain Anserini uses (Lucene's
 * EnglishAnalyzer: StandardTokenizer, possessive, lower case, 33 stopwords,
 * Porter) and BM25Similarity(k1, b), documents in one TextField.
 *
 *   java -cp CP LuceneBM25 analyze < lines          one line of terms per input line
 *   java -cp CP LuceneBM25 norms                     SmallFloat's 256 decoded lengths
 *   java -cp CP LuceneBM25 run DOCS.tsv QUERIES.tsv K k1 b > run.trec
 *   java -cp CP LuceneBM25 bench DOCS.tsv QUERIES.tsv K k1 b
 * DOCS.tsv: "id<TAB>text" lines; QUERIES.tsv: "qid<TAB>text" lines. Queries are
 * Anserini's bag of words: one SHOULD TermQuery per analyzed query token.
 * bench prints "lucene index_s=... index_cpu=... docs=... query_s=... query_cpu=...
 * queries=..." (wall and this thread's CPU seconds; one thread with a serial merge
 * scheduler, index in memory, top K by IndexSearcher.search; JIT and GC threads
 * are not counted, which favours Lucene).
 */
import java.io.*;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.*;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.document.*;
import org.apache.lucene.index.*;
import org.apache.lucene.search.*;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;
import org.apache.lucene.util.SmallFloat;

public class LuceneBM25 {
    static List<String> analyze(Analyzer a, String text) throws IOException {
        List<String> out = new ArrayList<>();
        try (TokenStream ts = a.tokenStream("contents", text)) {
            CharTermAttribute t = ts.addAttribute(CharTermAttribute.class);
            ts.reset();
            while (ts.incrementToken()) out.add(t.toString());
            ts.end();
        }
        return out;
    }

    static List<String[]> readTsv(String path) throws IOException {
        List<String[]> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(new FileInputStream(path), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                int tab = line.indexOf('\t');
                if (tab < 0) continue;
                out.add(new String[] {line.substring(0, tab), line.substring(tab + 1)});
            }
        }
        return out;
    }

    static Query bagOfWords(Analyzer a, String text) throws IOException {
        BooleanQuery.Builder b = new BooleanQuery.Builder();
        for (String t : analyze(a, text)) b.add(new TermQuery(new Term("contents", t)), BooleanClause.Occur.SHOULD);
        return b.build();
    }

    public static void main(String[] args) throws Exception {
        Analyzer a = new EnglishAnalyzer();
        String mode = args[0];
        if (mode.equals("analyze")) {
            BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            PrintStream o = new PrintStream(new FileOutputStream(FileDescriptor.out), false, "UTF-8");
            String line;
            while ((line = r.readLine()) != null) o.println(String.join(" ", analyze(a, line)));
            o.flush();
            return;
        }
        if (mode.equals("norms")) {
            for (int i = 0; i < 256; i++) System.out.println(SmallFloat.byte4ToInt((byte) i));
            return;
        }
        List<String[]> docs = readTsv(args[1]);
        List<String[]> queries = readTsv(args[2]);
        int k = Integer.parseInt(args[3]);
        BM25Similarity sim = new BM25Similarity(Float.parseFloat(args[4]), Float.parseFloat(args[5]));
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long t0 = System.nanoTime(), c0 = mx.getCurrentThreadCpuTime();
        Directory dir = new ByteBuffersDirectory();
        IndexWriterConfig cfg = new IndexWriterConfig(a);
        cfg.setSimilarity(sim);
        cfg.setRAMBufferSizeMB(512);
        cfg.setOpenMode(IndexWriterConfig.OpenMode.CREATE);
        cfg.setMergeScheduler(new SerialMergeScheduler()); /* all indexing work on this thread */
        try (IndexWriter w = new IndexWriter(dir, cfg)) {
            for (String[] d : docs) {
                Document doc = new Document();
                doc.add(new StringField("id", d[0], Field.Store.YES));
                doc.add(new TextField("contents", d[1], Field.Store.NO));
                w.addDocument(doc);
            }
            w.commit();
        }
        long t1 = System.nanoTime(), c1 = mx.getCurrentThreadCpuTime();
        DirectoryReader reader = DirectoryReader.open(dir);
        IndexSearcher s = new IndexSearcher(reader);
        s.setSimilarity(sim);
        if (mode.equals("run")) {
            PrintStream o = new PrintStream(new FileOutputStream(FileDescriptor.out), false, "UTF-8");
            for (String[] q : queries) {
                TopDocs td = s.search(bagOfWords(a, q[1]), k);
                int rank = 1;
                for (ScoreDoc sd : td.scoreDocs)
                    o.printf("%s Q0 %s %d %.6f lucene\n", q[0], s.doc(sd.doc).get("id"), rank++, sd.score);
            }
            o.flush();
            return;
        }
        /* bench: build the queries first (not timed) */
        Query[] qs = new Query[queries.size()];
        for (int i = 0; i < qs.length; i++) qs[i] = bagOfWords(a, queries.get(i)[1]);
        long hits = 0, tq = Long.MAX_VALUE, cq = Long.MAX_VALUE;
        for (int pass = 0; pass < 5; pass++) { /* 2 warm-up passes (JIT), then the fastest of 3 */
            long t2 = System.nanoTime(), c2 = mx.getCurrentThreadCpuTime();
            for (Query q : qs) hits += s.search(q, k).scoreDocs.length;
            long t3 = System.nanoTime(), c3 = mx.getCurrentThreadCpuTime();
            if (pass >= 2) {
                tq = Math.min(tq, t3 - t2);
                cq = Math.min(cq, c3 - c2);
            }
        }
        System.out.printf("lucene index_s=%.4f index_cpu=%.4f docs=%d query_s=%.4f query_cpu=%.4f queries=%d hits=%d%n",
                          (t1 - t0) * 1e-9, (c1 - c0) * 1e-9, docs.size(), tq * 1e-9, cq * 1e-9, qs.length,
                          hits);
    }
}
