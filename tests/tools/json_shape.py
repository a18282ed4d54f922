"""json_shape.py - the structure of a JSON value that a client's parser relies on:
objects' keys and their values' shapes, an array as its first element's shape, and
"number" / "string" / "bool" / "null" for the rest. scripts/capture_client_requests.py
records it for each response a real client parsed; tests/t_serve_replay.sh compares
the server's answers with it."""


def shape(v):
    if isinstance(v, dict):
        return {k: shape(x) for k, x in sorted(v.items())}
    if isinstance(v, list):
        return [shape(v[0])] if v else []
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return "null" if v is None else "string"
