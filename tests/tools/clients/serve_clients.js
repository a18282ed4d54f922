// serve_clients.js - real clients nobody here wrote, against `winnow serve`
// (tests/t_serve_clients.sh; scripts/capture_client_requests.py records what they send
// for tests/t_serve_replay.sh): the `openai` npm package's embeddings.create (its
// default base64 encoding, and float) against /v1/embeddings, @huggingface/inference's
// featureExtraction against /embed (TEI's shape), and cohere-ai's rerank, v1 client
// (/v1/rerank) and v2 client (/v2/rerank).
//   node tests/tools/clients/serve_clients.js PORT KEY TEXTS_JSON [QUERY]  (after npm i there)
// With QUERY (the server has --rerank) the Cohere clients re-rank TEXTS for it.
// Prints {"openai_base64": [[...]], "openai_float": [[...]], "hf": [[...]], "model": ...,
// "cohere_v1": [{index, relevanceScore, document}], "cohere_v2": [...]}.
const OpenAI = require("openai").default || require("openai");
const { InferenceClient } = require("@huggingface/inference");
const { CohereClient, CohereClientV2 } = require("cohere-ai");

async function main() {
    const [port, key, textsJson, query] = process.argv.slice(2);
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
    const out = {
        openai_base64: b64.data.map((d) => Array.from(d.embedding)),
        openai_float: flt.data.map((d) => d.embedding),
        usage: b64.usage, model: b64.model, denied, hf: fe,
    };
    if (query) {
        const c1 = new CohereClient({ token: key, environment: base });
        const r1 = await c1.rerank({ model: "tiny-ce", query, documents: texts, topN: 2, returnDocuments: true });
        const c2 = new CohereClientV2({ token: key, environment: base });
        const r2 = await c2.rerank({ model: "tiny-ce", query, documents: texts });
        out.cohere_v1 = r1.results;
        out.cohere_v2 = r2.results;
    }
    console.log(JSON.stringify(out));
}
main().catch((e) => { console.error(e); process.exit(1); });
