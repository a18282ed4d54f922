// serve_clients.js - real clients nobody here wrote, against `winnow serve`
// (tests/t_serve_clients.sh): the `openai` npm package's embeddings.create (its
// default base64 encoding, and float) against /v1/embeddings, and
// @huggingface/inference's featureExtraction against /embed (TEI's shape).
//   node tests/tools/clients/serve_clients.js PORT KEY TEXTS_JSON  (after npm ci there: t_serve_clients.sh)
// Prints {"openai_base64": [[...]], "openai_float": [[...]], "hf": [[...]], "model": ...}.
const OpenAI = require("openai").default || require("openai");
const { InferenceClient } = require("@huggingface/inference");

async function main() {
    const [port, key, textsJson] = process.argv.slice(2);
    const texts = JSON.parse(textsJson);
    const base = `http://127.0.0.1:${port}`;
    const oa = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });
    const b64 = await oa.embeddings.create({ model: "tiny", input: texts });
    const flt = await oa.embeddings.create({ model: "tiny", input: texts, encoding_format: "float" });
    let denied = null;
    try {
        await new OpenAI({ baseURL: `${base}/v1`, apiKey: "wrong", maxRetries: 0 }).embeddings.create({ model: "tiny", input: "x" });
    } catch (e) {
        denied = { status: e.status, name: e.constructor.name, message: e.message };
    }
    const hf = new InferenceClient(key);
    const fe = await hf.featureExtraction({ endpointUrl: `${base}/embed`, inputs: texts });
    console.log(JSON.stringify({
        openai_base64: b64.data.map((d) => Array.from(d.embedding)),
        openai_float: flt.data.map((d) => d.embedding),
        usage: b64.usage, model: b64.model, denied, hf: fe,
    }));
}
main().catch((e) => { console.error(e); process.exit(1); });
