/* make_seeds.c - writes small valid inputs for each fuzz harness into DIR/<harness>/
 * (tests/fuzz/run.sh uses them as starting points): indexes of every type, a BM25
 * file, a document store, qrels and runs, corpora, configs, a safetensors file and
 * vocabularies. The first byte of an input selects a harness's mode where it has
 * several (see each fuzz_*.c). Not a test: built and run by tests/fuzz/run.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "winnow.h"
#include "util/util.h"

static char root[512];

static void put(const char *harness, const char *name, int mode, const void *data, size_t n) {
    char dir[700], path[800];
    snprintf(dir, sizeof dir, "%s/%s", root, harness);
    wn_mkdirs(dir, 0755);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) exit(1);
    if (mode >= 0) fputc(mode, f);
    fwrite(data, 1, n, f);
    fclose(f);
}

static void put_file(const char *harness, const char *name, int mode, const char *src) {
    char *d;
    size_t n;
    if (wn_read_file(src, &d, &n) != WN_OK) {
        fprintf(stderr, "make_seeds: %s\n", wn_last_error());
        exit(1);
    }
    put(harness, name, mode, d, n);
    wn_free(d);
}

static void put_str(const char *harness, const char *name, int mode, const char *s) {
    put(harness, name, mode, s, strlen(s));
}

int main(int argc, char **argv) {
    if (argc != 2) return fprintf(stderr, "usage: make_seeds DIR\n"), 2;
    snprintf(root, sizeof root, "%s", argv[1]);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s/tmp", root);
    wn_mkdirs(tmp, 0755);
    char path[700];

    /* indexes: 24 vectors of dim 8, every type, fp32 and int8 */
    float x[24 * 8];
    uint64_t s = 1;
    for (int i = 0; i < 24 * 8; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((s >> 40) % 1000) / 500.0f - 1.0f;
    }
    const int types[] = {WN_INDEX_FLAT, WN_INDEX_HNSW, WN_INDEX_IVF, WN_INDEX_IVFPQ};
    for (int t = 0; t < 4; t++)
        for (int q = 0; q < 2; q++) {
            wn_index_params p = wn_index_default_params();
            p.n_threads = 1, p.m = 4, p.ef_construction = 16, p.nlist = 2, p.pq_m = 2;
            if (q && wn_storage_parse("int8", &p.storage) != WN_OK) return 1;
            wn_index *ix;
            if (wn_index_create((wn_index_type)types[t], 8, q ? WN_METRIC_L2 : WN_METRIC_COS, &p, &ix) != WN_OK ||
                (t >= 2 && wn_index_train(ix, 24, x) != WN_OK) || wn_index_add(ix, 24, x, NULL) != WN_OK) {
                fprintf(stderr, "make_seeds: %s (type %d, storage %d)\n", wn_last_error(), t, q);
                wn_index_free(ix);
                continue;
            }
            if (t == 1) wn_index_remove(ix, 3);
            snprintf(path, sizeof path, "%s/ix.wnix", tmp);
            if (wn_index_save(ix, path) != WN_OK) return fprintf(stderr, "%s\n", wn_last_error()), 1;
            wn_index_free(ix);
            char name[64];
            snprintf(name, sizeof name, "%s_%s.wnix", wn_index_type_name((wn_index_type)types[t]), q ? "int8" : "fp32");
            put_file("fuzz_index_load", name, -1, path);
        }

    /* BM25 */
    wn_bm25 *bm;
    if (wn_bm25_create(NULL, &bm) != WN_OK) return 1;
    const char *docs[] = {"The retrieval of documents by their words.", "Cross-encoders re-rank candidates.",
                          "A bi-encoder embeds queries and documents", "retrieval retrieval, ranking"};
    for (int i = 0; i < 4; i++) wn_bm25_add(bm, i * 3, docs[i]);
    snprintf(path, sizeof path, "%s/bm.wnbm", tmp);
    if (wn_bm25_save(bm, path) != WN_OK) return fprintf(stderr, "%s\n", wn_last_error()), 1;
    wn_bm25_free(bm);
    put_file("fuzz_bm25_load", "small.wnbm", -1, path);
    put_file("fuzz_bm25_load", "v1.wnbm", -1, "tests/fixtures/bm25_v1.wnbm");

    /* eval: qrels (BEIR tsv, TREC) and runs */
    put_str("fuzz_eval", "qrels_beir.tsv", 0, "query-id\tcorpus-id\tscore\n1\td1\t2\n1\td2\t0\n2\td2\t1\n");
    put_str("fuzz_eval", "qrels_trec.txt", 0, "1 0 d1 2\n1 0 d3 1\n2 0 d2 1\n");
    put_str("fuzz_eval", "run.trec", 1, "1 Q0 d1 1 3.5 t\n1 Q0 d3 2 2.25 t\n2 Q0 d2 1 -1e3 t\n2 Q0 d9 2 -2000 t\n");

    /* store: a small docs.sqlite; corpora */
    snprintf(path, sizeof path, "%s/store", tmp);
    wn_store *st;
    if (wn_store_open(path, 1, &st) != WN_OK) return fprintf(stderr, "%s\n", wn_last_error()), 1;
    int64_t row;
    wn_store_add(st, "d1", "Title", "Some text.", "{\"a\":1}", &row);
    wn_store_add(st, "d2", "", "More text", "", &row);
    wn_store_set_meta(st, "model", "tiny");
    wn_store_free(st);
    char db[800];
    snprintf(db, sizeof db, "%s/docs.sqlite", path);
    put_file("fuzz_store", "store.sqlite", 2, db);
    put_str("fuzz_store", "beir.jsonl", 0,
            "{\"_id\": \"d1\", \"title\": \"T\", \"text\": \"x y\", \"metadata\": {\"k\": 1}}\n"
            "{\"_id\": \"d2\", \"title\": \"\", \"text\": \"caf\\u00e9 \\ud83d\\ude00\"}\n");
    put_str("fuzz_store", "plain.jsonl", 0, "{\"id\": 7, \"title\": \"a\", \"text\": \"b\"}\n{\"id\": \"q\", \"text\": \"c\"}\n");
    put_str("fuzz_store", "corpus.tsv", 1, "d1\tsome text\nd2\ta title\tand text\n\xff\xfe\tbad utf-8\n");

    /* model: configs and a tiny safetensors file */
    put_file("fuzz_config", "config.json", -1, "tests/fixtures/model/tiny-bi/config.json");
    put_file("fuzz_config", "pooling.json", -1, "tests/fixtures/model/tiny-bi/1_Pooling/config.json");
    {
        const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],"
                          "\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[16,22]},"
                          "\"c\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[22,24]}}";
        size_t hl = strlen(hdr);
        uint8_t buf[512];
        uint64_t h64 = hl;
        memcpy(buf, &h64, 8);
        memcpy(buf + 8, hdr, hl);
        for (int i = 0; i < 24; i++) buf[8 + hl + i] = (uint8_t)(i * 37);
        put("fuzz_safetensors", "small.safetensors", -1, buf, 8 + hl + 24);
    }

    /* tokenizer: texts (even first byte: the max length), tokenizer.json (1 mod 4), vocab.txt (3 mod 4) */
    put_str("fuzz_tokenizer", "text1", 10, "Hello, world! Ça va? 日本語 unaffable\tand a pair");
    put_str("fuzz_tokenizer", "text2", 40, "  don't  stop-me  \xc3\xa9\xcc\x81 \xe2\x80\x8b x");
    put_file("fuzz_tokenizer", "vocab.txt", 3, "tests/fixtures/tokenizer/tiny/vocab.txt");
    put_str("fuzz_tokenizer", "tokenizer.json", 1,
            "{\"normalizer\":{\"type\":\"BertNormalizer\",\"lowercase\":true,\"strip_accents\":null,"
            "\"clean_text\":true,\"handle_chinese_chars\":true},"
            "\"added_tokens\":[{\"id\":0,\"content\":\"[PAD]\",\"special\":true},{\"id\":1,\"content\":\"[UNK]\",\"special\":true},"
            "{\"id\":2,\"content\":\"[CLS]\",\"special\":true},{\"id\":3,\"content\":\"[SEP]\",\"special\":true}],"
            "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"continuing_subword_prefix\":\"##\","
            "\"max_input_chars_per_word\":100,\"vocab\":{\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3,\"a\":4,\"b\":5,"
            "\"##b\":6,\"c\":7}}}");
    return 0;
}
