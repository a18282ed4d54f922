// hf_ids.js - token ids from HuggingFace's own tokenizer (the Rust `tokenizers`
// library through its Node binding, npm tokenizers@0.23.2) for a tokenizer.json:
// the reference winnow's tokenizers are tested against (exact ids and type ids).
//
//   node scripts/hf_ids.js TOKENIZER_JSON [CASES_JSONL] > OUT.jsonl
//
// CASES_JSONL: one {"a": text, "b": text or null, "max": N (0: no truncation)} a
// line; without it, a built-in list of hard texts (accents, CJK, emoji, control
// characters, long words, whitespace runs, special tokens written in the text),
// pairs of them, and truncation at small lengths. Output: the case with "ids" and
// "type_ids" added (with OFFSETS=1 in the environment, also "offsets": each token's byte
// span in its own text, -1 -1 for special tokens). Padding is switched off; the file's
// own truncation block is replaced by "max". Install the package outside the repository:
//   mkdir /tmp/hf && cd /tmp/hf && npm install tokenizers@0.23.2
//   NODE_PATH=/tmp/hf/node_modules node scripts/hf_ids.js tokenizer.json > out.jsonl
const fs = require('fs');
const { Tokenizer } = require('tokenizers');

const texts = [
  'ΟΔΟΣ ΣΑΣ όσος', 'İstanbul IŞIK', '한국어 텍스트', 'line\u2028next\u2029para', 'a\u00a0b\u3000c',
  'a\u000bb\u000cc\u0085d', 'x\u200bz\u200dw\ufeffv', 'x\ue000z', 'ﬁne ﬀ ﬃ', 'Ångström \u212b \u2126',
  'e\u0301\u0323 o\u0323\u0301', 'Straße STRASSE', '…—«quotes» „low“ ”high”', '$100 €20 ¥5 £3 ¢',
  '^_^ `~` |x| <a> {b} @c #d', '＋full width！ （ｘ）', 'a'.repeat(100), 'a'.repeat(101) + ' b', 'é'.repeat(101),
  '🚀🦙 ✅ ❤️ 👍🏽', '３３３ ⅻ Ⅻ ª º ¹ ½', 'tab\there\nnew\r\nline', 'สวัสดีครับ', 'مَرْحَبًا بالعالم',
  'नमस्ते दुनिया', 'カタカナ ひらがな 漢字かな交じり', '中文分词测试，没有空格。', 'don\'t you’re “smart” — well…',
  'U.S.A. e.g. i.e. 3.14 1,000,000 10:30pm', '\ufffd\ufffd', 'Ｈｅｌｌｏ Ｗｏｒｌｄ', 'ПРИВЕТ Мир ёЁ',
  'naïve café résumé coöperate', 'unaffable unwanted running', '', '   ', ' \t \n  lead and trail  \t ',
  'many     spaces   between\t\t\twords', 'x'.repeat(30) + 'y'.repeat(30), 'supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis',
  'https://example.com/a_b-c?d=e&f=g#h', 'C++ C# F# .NET node.js', '\u0130\u0307 i\u0307', 'ß ẞ', 'Ⓐⓑ ㈱ ㍻',
  'ctrl\u0001chars\u0007bell\u001bescape\u007fdel', 'zero\u200cwidth\u2060joiner',
  '<s> x </s> <pad> <unk> <mask> [UNK] [CLS] [SEP] [PAD] [MASK]', 'hello<mask>world', 'hello <mask> world',
  '  <mask>  two', '<MASK> <UNK> <Unk> <PAD> <S>', 'x<unk>y <unk>z', 'a<pad>b <pad> c<pad>', '</s></s><s>',
  'the <pad> token inside', 'Ünïcödé <UNK> mixed', 'Hello, World! How are you today?',
  'Retrieval-augmented generation (RAG) combines a retriever with a generator.',
  'What is Deep Learning?', 'Ġ Ċ ▁ ## ##s', 'résumé\u0301', '\u00ad soft\u00adhyphen',
];

let seed = 424242;
const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };

function builtin() {
  const cases = [];
  for (const t of texts) cases.push({ a: t, b: null, max: 0 });
  for (let i = 0; i < texts.length; i += 2) cases.push({ a: texts[i], b: texts[(i * 7 + 3) % texts.length], max: 0 });
  const long = texts.slice(40).join(' ');
  for (const max of [3, 4, 5, 6, 7, 8, 9, 12, 16, 17, 33]) {
    cases.push({ a: long, b: null, max });
    cases.push({ a: texts[rnd(texts.length)] + ' ' + long, b: long, max });
    cases.push({ a: 'a b c d', b: 'e f g h i', max });
    // added tokens where the early stop falls (tokenize_with_limit counts them, checks only after words)
    cases.push({ a: 'x <pad> <pad> y<mask> z w <unk> v u t', b: '<s> p q </s> r s <pad> o', max });
    cases.push({ a: 'one two <pad><pad><pad> three four five', b: 'six <mask> seven eight nine ten', max });
  }
  return cases;
}

(async () => {
  const tok = Tokenizer.fromFile(process.argv[2]);
  tok.disablePadding();
  const cases = process.argv[3]
    ? fs.readFileSync(process.argv[3], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    : builtin();
  for (const c of cases) {
    if (c.max) tok.setTruncation(c.max); else tok.disableTruncation();
    const e = c.b === null || c.b === undefined ? await tok.encode(c.a) : await tok.encode(c.a, c.b);
    const row = { a: c.a, b: c.b === undefined ? null : c.b, max: c.max || 0, ids: e.getIds(), type_ids: e.getTypeIds() };
    if (process.env.OFFSETS) { // byte spans in each token's own text; -1 -1 for special tokens
      const bytes = (text, ch) => Buffer.byteLength(Array.from(text).slice(0, ch).join(''), 'utf8');
      const seq = e.getSequenceIds ? e.getSequenceIds() : null;
      const sp = e.getSpecialTokensMask();
      row.offsets = e.getOffsets().map(([s, t], i) => {
        if (sp[i]) return [-1, -1];
        const text = seq && seq[i] === 1 ? row.b : row.a;
        return [bytes(text, s), bytes(text, t)];
      });
    }
    console.log(JSON.stringify(row));
  }
})();
