/*
 * porter.c - Porter's stemming algorithm (M.F. Porter, "An algorithm for suffix
 * stripping", Program 14(3), 1980), written from the paper's steps 1a-5 with the
 * two departures of Porter's own reference implementation that Lucene's
 * PorterStemmer (and so Anserini) keeps: step 2 maps "bli" -> "ble" (the paper:
 * "abli" -> "able") and adds "logi" -> "log"; and words of one or two
 * characters are not stemmed. Why not Debian's libstemmer "porter": it is
 * the paper's algorithm without those departures ("is"/"us" lose their "s",
 * "biology"-type words differ), and it allocates outside winnow's allocator.
 *
 * Works on code points; anything but a, e, i, o, u (and y after a consonant)
 * is a consonant, as in Lucene (which works on UTF-16 units).
 */
#include <string.h>

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

static int ends(stemmer *z, const char *s) {
    int n = (int)strlen(s);
    if (n > z->k + 1) return 0;
    for (int i = 0; i < n; i++)
        if (z->b[z->k - n + 1 + i] != (uint32_t)(unsigned char)s[i]) return 0;
    z->j = z->k - n;
    return 1;
}

static void set_to(stemmer *z, const char *s) {
    int n = (int)strlen(s);
    for (int i = 0; i < n; i++) z->b[z->j + 1 + i] = (uint32_t)(unsigned char)s[i];
    z->k = z->j + n;
}

static void replace(stemmer *z, const char *s) {
    if (measure(z) > 0) set_to(z, s);
}

/* Step 1a (plurals) and 1b (-ed, -ing). */
static void step1ab(stemmer *z) {
    if (z->b[z->k] == 's') {
        if (ends(z, "sses")) z->k -= 2;
        else if (ends(z, "ies")) set_to(z, "i");
        else if (z->b[z->k - 1] != 's') z->k--;
    }
    if (ends(z, "eed")) {
        if (measure(z) > 0) z->k--;
    } else if ((ends(z, "ed") || ends(z, "ing")) && vowel_in_stem(z)) {
        z->k = z->j; /* a failing ends() leaves j alone, so j == k below */
        if (ends(z, "at")) set_to(z, "ate");
        else if (ends(z, "bl")) set_to(z, "ble");
        else if (ends(z, "iz")) set_to(z, "ize");
        else if (double_cons(z, z->k)) {
            z->k--;
            uint32_t c = z->b[z->k];
            if (c == 'l' || c == 's' || c == 'z') z->k++;
        } else if (measure(z) == 1 && cvc(z, z->k)) {
            set_to(z, "e");
        }
    }
}

/* Step 1c: y -> i when the stem has a vowel. */
static void step1c(stemmer *z) {
    if (ends(z, "y") && vowel_in_stem(z)) z->b[z->k] = 'i';
}

/* Step 2: double suffixes to single ones, when m > 0. */
static void step2(stemmer *z) {
    if (z->k < 1) return;
    switch (z->b[z->k - 1]) {
    case 'a':
        if (ends(z, "ational")) { replace(z, "ate"); break; }
        if (ends(z, "tional")) { replace(z, "tion"); break; }
        break;
    case 'c':
        if (ends(z, "enci")) { replace(z, "ence"); break; }
        if (ends(z, "anci")) { replace(z, "ance"); break; }
        break;
    case 'e':
        if (ends(z, "izer")) { replace(z, "ize"); break; }
        break;
    case 'l':
        if (ends(z, "bli")) { replace(z, "ble"); break; } /* departure: the paper has abli -> able */
        if (ends(z, "alli")) { replace(z, "al"); break; }
        if (ends(z, "entli")) { replace(z, "ent"); break; }
        if (ends(z, "eli")) { replace(z, "e"); break; }
        if (ends(z, "ousli")) { replace(z, "ous"); break; }
        break;
    case 'o':
        if (ends(z, "ization")) { replace(z, "ize"); break; }
        if (ends(z, "ation")) { replace(z, "ate"); break; }
        if (ends(z, "ator")) { replace(z, "ate"); break; }
        break;
    case 's':
        if (ends(z, "alism")) { replace(z, "al"); break; }
        if (ends(z, "iveness")) { replace(z, "ive"); break; }
        if (ends(z, "fulness")) { replace(z, "ful"); break; }
        if (ends(z, "ousness")) { replace(z, "ous"); break; }
        break;
    case 't':
        if (ends(z, "aliti")) { replace(z, "al"); break; }
        if (ends(z, "iviti")) { replace(z, "ive"); break; }
        if (ends(z, "biliti")) { replace(z, "ble"); break; }
        break;
    case 'g':
        if (ends(z, "logi")) { replace(z, "log"); break; } /* departure */
        break;
    default: break;
    }
}

/* Step 3: -ic-, -full, -ness etc., when m > 0. */
static void step3(stemmer *z) {
    switch (z->b[z->k]) {
    case 'e':
        if (ends(z, "icate")) { replace(z, "ic"); break; }
        if (ends(z, "ative")) { replace(z, ""); break; }
        if (ends(z, "alize")) { replace(z, "al"); break; }
        break;
    case 'i':
        if (ends(z, "iciti")) { replace(z, "ic"); break; }
        break;
    case 'l':
        if (ends(z, "ical")) { replace(z, "ic"); break; }
        if (ends(z, "ful")) { replace(z, ""); break; }
        break;
    case 's':
        if (ends(z, "ness")) { replace(z, ""); break; }
        break;
    default: break;
    }
}

/* Step 4: -ant, -ence etc. in context <c>vcvc<v>, when m > 1. */
static void step4(stemmer *z) {
    if (z->k < 1) return;
    switch (z->b[z->k - 1]) {
    case 'a':
        if (ends(z, "al")) break;
        return;
    case 'c':
        if (ends(z, "ance")) break;
        if (ends(z, "ence")) break;
        return;
    case 'e':
        if (ends(z, "er")) break;
        return;
    case 'i':
        if (ends(z, "ic")) break;
        return;
    case 'l':
        if (ends(z, "able")) break;
        if (ends(z, "ible")) break;
        return;
    case 'n':
        if (ends(z, "ant")) break;
        if (ends(z, "ement")) break;
        if (ends(z, "ment")) break;
        if (ends(z, "ent")) break;
        return;
    case 'o':
        if (ends(z, "ion") && z->j >= 0 && (z->b[z->j] == 's' || z->b[z->j] == 't')) break;
        if (ends(z, "ou")) break; /* takes care of -ous */
        return;
    case 's':
        if (ends(z, "ism")) break;
        return;
    case 't':
        if (ends(z, "ate")) break;
        if (ends(z, "iti")) break;
        return;
    case 'u':
        if (ends(z, "ous")) break;
        return;
    case 'v':
        if (ends(z, "ive")) break;
        return;
    case 'z':
        if (ends(z, "ize")) break;
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
