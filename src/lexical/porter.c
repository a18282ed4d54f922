/*
 * porter.c - Porter's stemming algorithm (M.F. Porter, "An algorithm for suffix
 * stripping", Program 14(3), 1980), written from the paper's steps 1a-5 with the
 * two departures of Porter's own reference implementation that Lucene's
 * PorterStemmer (and so Anserini) keeps: step 2 maps "bli" -> "ble" (the paper:
 * "abli" -> "able") and adds "logi" -> "log"; and words of one or two
 * characters are not stemmed. Why not Debian's libstemmer "porter": it is
 * the paper's algorithm without those departures (checked: it stems "us" to "u",
 * "possibly" to "possibli" and "archaeology" to "archaeologi", where Lucene gives
 * "us", "possibl" and "archaeolog"), and it allocates outside winnow's allocator.
 *
 * Works on code points; anything but a, e, i, o, u (and y after a consonant)
 * is a consonant, as in Lucene (which works on UTF-16 units).
 */
#include "lexical.h"

typedef struct {
    uint32_t *b; /* the word */
    int k;       /* index of its last character */
    int j;       /* end of the stem for the suffix matched by ends() */
} stemmer;

static int cons(const stemmer *z, int i) {
    switch (z->b[i]) {
    case 'a': case 'e': case 'i': case 'o': case 'u': return 0;
    case 'y': return i == 0 ? 1 : !cons(z, i - 1);
    default: return 1;
    }
}

/* m(): the number of VC sequences in b[0..j] (the paper's [C](VC)^m[V]). */
static int measure(const stemmer *z) {
    int n = 0, i = 0, j = z->j;
    for (;;) {
        if (i > j) return n;
        if (!cons(z, i)) break;
        i++;
    }
    i++;
    for (;;) {
        for (;;) {
            if (i > j) return n;
            if (cons(z, i)) break;
            i++;
        }
        i++;
        n++;
        for (;;) {
            if (i > j) return n;
            if (!cons(z, i)) break;
            i++;
        }
        i++;
    }
}

static int vowel_in_stem(const stemmer *z) {
    for (int i = 0; i <= z->j; i++)
        if (!cons(z, i)) return 1;
    return 0;
}

static int double_cons(const stemmer *z, int j) {
    return j >= 1 && z->b[j] == z->b[j - 1] && cons(z, j);
}

/* cvc(i): b[i-2..i] is consonant-vowel-consonant and b[i] is not w, x or y. */
static int cvc(const stemmer *z, int i) {
    if (i < 2 || !cons(z, i) || cons(z, i - 1) || !cons(z, i - 2)) return 0;
    uint32_t c = z->b[i];
    return !(c == 'w' || c == 'x' || c == 'y');
}

/* The suffix functions take a string literal's length at compile time (ENDS etc.). */
static int ends(stemmer *z, const char *s, int n) {
    if (n > z->k + 1) return 0;
    for (int i = 0; i < n; i++)
        if (z->b[z->k - n + 1 + i] != (uint32_t)(unsigned char)s[i]) return 0;
    z->j = z->k - n;
    return 1;
}

static void set_to(stemmer *z, const char *s, int n) {
    for (int i = 0; i < n; i++) z->b[z->j + 1 + i] = (uint32_t)(unsigned char)s[i];
    z->k = z->j + n;
}

static void replace(stemmer *z, const char *s, int n) {
    if (measure(z) > 0) set_to(z, s, n);
}

#define ENDS(z, s) ends(z, s, (int)sizeof(s) - 1)
#define SET_TO(z, s) set_to(z, s, (int)sizeof(s) - 1)
#define REPLACE(z, s) replace(z, s, (int)sizeof(s) - 1)

/* Step 1a (plurals) and 1b (-ed, -ing). */
static void step1ab(stemmer *z) {
    if (z->b[z->k] == 's') {
        if (ENDS(z, "sses")) z->k -= 2;
        else if (ENDS(z, "ies")) SET_TO(z, "i");
        else if (z->b[z->k - 1] != 's') z->k--;
    }
    if (ENDS(z, "eed")) {
        if (measure(z) > 0) z->k--;
    } else if ((ENDS(z, "ed") || ENDS(z, "ing")) && vowel_in_stem(z)) {
        z->k = z->j; /* a failing ends() leaves j alone, so j == k below */
        if (ENDS(z, "at")) SET_TO(z, "ate");
        else if (ENDS(z, "bl")) SET_TO(z, "ble");
        else if (ENDS(z, "iz")) SET_TO(z, "ize");
        else if (double_cons(z, z->k)) {
            z->k--;
            uint32_t c = z->b[z->k];
            if (c == 'l' || c == 's' || c == 'z') z->k++;
        } else if (measure(z) == 1 && cvc(z, z->k)) {
            SET_TO(z, "e");
        }
    }
}

/* Step 1c: y -> i when the stem has a vowel. */
static void step1c(stemmer *z) {
    if (ENDS(z, "y") && vowel_in_stem(z)) z->b[z->k] = 'i';
}

/* Step 2: double suffixes to single ones, when m > 0. */
static void step2(stemmer *z) {
    if (z->k < 1) return;
    switch (z->b[z->k - 1]) {
    case 'a':
        if (ENDS(z, "ational")) { REPLACE(z, "ate"); break; }
        if (ENDS(z, "tional")) { REPLACE(z, "tion"); break; }
        break;
    case 'c':
        if (ENDS(z, "enci")) { REPLACE(z, "ence"); break; }
        if (ENDS(z, "anci")) { REPLACE(z, "ance"); break; }
        break;
    case 'e':
        if (ENDS(z, "izer")) { REPLACE(z, "ize"); break; }
        break;
    case 'l':
        if (ENDS(z, "bli")) { REPLACE(z, "ble"); break; } /* departure: the paper has abli -> able */
        if (ENDS(z, "alli")) { REPLACE(z, "al"); break; }
        if (ENDS(z, "entli")) { REPLACE(z, "ent"); break; }
        if (ENDS(z, "eli")) { REPLACE(z, "e"); break; }
        if (ENDS(z, "ousli")) { REPLACE(z, "ous"); break; }
        break;
    case 'o':
        if (ENDS(z, "ization")) { REPLACE(z, "ize"); break; }
        if (ENDS(z, "ation")) { REPLACE(z, "ate"); break; }
        if (ENDS(z, "ator")) { REPLACE(z, "ate"); break; }
        break;
    case 's':
        if (ENDS(z, "alism")) { REPLACE(z, "al"); break; }
        if (ENDS(z, "iveness")) { REPLACE(z, "ive"); break; }
        if (ENDS(z, "fulness")) { REPLACE(z, "ful"); break; }
        if (ENDS(z, "ousness")) { REPLACE(z, "ous"); break; }
        break;
    case 't':
        if (ENDS(z, "aliti")) { REPLACE(z, "al"); break; }
        if (ENDS(z, "iviti")) { REPLACE(z, "ive"); break; }
        if (ENDS(z, "biliti")) { REPLACE(z, "ble"); break; }
        break;
    case 'g':
        if (ENDS(z, "logi")) { REPLACE(z, "log"); break; } /* departure */
        break;
    default: break;
    }
}

/* Step 3: -ic-, -full, -ness etc., when m > 0. */
static void step3(stemmer *z) {
    switch (z->b[z->k]) {
    case 'e':
        if (ENDS(z, "icate")) { REPLACE(z, "ic"); break; }
        if (ENDS(z, "ative")) { REPLACE(z, ""); break; }
        if (ENDS(z, "alize")) { REPLACE(z, "al"); break; }
        break;
    case 'i':
        if (ENDS(z, "iciti")) { REPLACE(z, "ic"); break; }
        break;
    case 'l':
        if (ENDS(z, "ical")) { REPLACE(z, "ic"); break; }
        if (ENDS(z, "ful")) { REPLACE(z, ""); break; }
        break;
    case 's':
        if (ENDS(z, "ness")) { REPLACE(z, ""); break; }
        break;
    default: break;
    }
}

/* Step 4: -ant, -ence etc. in context <c>vcvc<v>, when m > 1. */
static void step4(stemmer *z) {
    if (z->k < 1) return;
    switch (z->b[z->k - 1]) {
    case 'a':
        if (ENDS(z, "al")) break;
        return;
    case 'c':
        if (ENDS(z, "ance")) break;
        if (ENDS(z, "ence")) break;
        return;
    case 'e':
        if (ENDS(z, "er")) break;
        return;
    case 'i':
        if (ENDS(z, "ic")) break;
        return;
    case 'l':
        if (ENDS(z, "able")) break;
        if (ENDS(z, "ible")) break;
        return;
    case 'n':
        if (ENDS(z, "ant")) break;
        if (ENDS(z, "ement")) break;
        if (ENDS(z, "ment")) break;
        if (ENDS(z, "ent")) break;
        return;
    case 'o':
        if (ENDS(z, "ion") && z->j >= 0 && (z->b[z->j] == 's' || z->b[z->j] == 't')) break;
        if (ENDS(z, "ou")) break; /* takes care of -ous */
        return;
    case 's':
        if (ENDS(z, "ism")) break;
        return;
    case 't':
        if (ENDS(z, "ate")) break;
        if (ENDS(z, "iti")) break;
        return;
    case 'u':
        if (ENDS(z, "ous")) break;
        return;
    case 'v':
        if (ENDS(z, "ive")) break;
        return;
    case 'z':
        if (ENDS(z, "ize")) break;
        return;
    default: return;
    }
    if (measure(z) > 1) z->k = z->j;
}

/* Step 5: a final -e when m > 1 (or m == 1 and not *o), and -ll -> -l when m > 1. */
static void step5(stemmer *z) {
    z->j = z->k;
    if (z->b[z->k] == 'e') {
        int a = measure(z);
        if (a > 1 || (a == 1 && !cvc(z, z->k - 1))) z->k--;
    }
    if (z->b[z->k] == 'l' && double_cons(z, z->k) && measure(z) > 1) z->k--;
}

int bm25_porter_stem(uint32_t *w, int n) {
    if (n <= 2) return n;
    stemmer z = {w, n - 1, 0};
    step1ab(&z);
    if (z.k > 0) {
        step1c(&z);
        step2(&z);
        step3(&z);
        step4(&z);
        step5(&z);
    }
    return z.k + 1;
}
