#!/usr/bin/env python3
"""A local LLM API server for monkey's agent tests.

Speaks the Anthropic Messages API (POST /v1/messages) and OpenAI-compatible
chat completions (POST .../chat/completions) over real HTTP on 127.0.0.1,
streaming server-sent events the way the real services do.  It is driven by
a script (a JSON file): one step per request, each either a reply (text and
tool calls, streamed with chunk boundaries in awkward places) or an error
(429/529 with retry-after, 401, malformed JSON, a stream cut short), or a
flood: a reply of any size, streamed or as one JSON body, generated as it
is sent.

Every request is validated as the real API would (headers, roles
alternating, a tool_result for every tool_use, ...) plus the step's own
"expect" checks; a failed check is answered with a 400 error naming it and
recorded in the log, one JSON line per request, which tests read.

Usage: llm_server.py --script FILE --port-file FILE --log FILE
The port is written to --port-file once the server listens.
"""

import argparse
import json
import os
import random
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANTHROPIC_VERSION = "2023-06-01"


class Script:
    def __init__(self, path):
        with open(path) as f:
            self.data = json.load(f)
        self.steps = self.data.get("steps", [])
        self.provider = self.data.get("provider", "anthropic")
        self.api_key = self.data.get("api_key", "sk-test-monkey-0123456789")
        self.repeat_last = self.data.get("repeat_last", False)
        self.index = 0
        self.lock = threading.Lock()
        self.rng = random.Random(self.data.get("seed", 1))

    def next_step(self):
        with self.lock:
            i = self.index
            self.index += 1
            if i < len(self.steps):
                return i, self.steps[i]
            if self.repeat_last and self.steps:
                return i, self.steps[-1]
            return i, None


# ---------------------------------------------------------------- validation


def check_anthropic(req, headers, script, v):
    if headers.get("x-api-key") != script.api_key:
        v.append("x-api-key header missing or wrong")
    if headers.get("anthropic-version") != ANTHROPIC_VERSION:
        v.append("anthropic-version header must be " + ANTHROPIC_VERSION)
    if headers.get("authorization", "").startswith("Bearer "):
        v.append("a bearer token sent to the Anthropic API")
    if not isinstance(req.get("model"), str) or not req["model"]:
        v.append("model missing")
    if not isinstance(req.get("max_tokens"), int) or req["max_tokens"] < 1:
        v.append("max_tokens missing or not a positive integer")
    if req.get("stream") is not True:
        v.append("stream must be true")
    tool_names = set()
    for t in req.get("tools", []):
        if not isinstance(t, dict) or not t.get("name"):
            v.append("tool without a name")
            continue
        if t["name"] in tool_names:
            v.append("tool %s declared twice" % t["name"])
        tool_names.add(t["name"])
        schema = t.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            v.append("tool %s: input_schema must be an object schema" % t["name"])
    msgs = req.get("messages")
    if not isinstance(msgs, list) or not msgs:
        v.append("messages must be a non-empty array")
        return
    if msgs[0].get("role") != "user":
        v.append("the first message must have role user")
    pending = None  # tool_use ids the next user message must answer
    for i, m in enumerate(msgs):
        role = m.get("role")
        if role not in ("user", "assistant"):
            v.append("messages[%d]: bad role %r" % (i, role))
            continue
        if i > 0 and role == msgs[i - 1].get("role"):
            v.append("messages[%d]: roles must alternate (two %s messages)" % (i, role))
        content = m.get("content")
        if isinstance(content, str):
            blocks = [{"type": "text", "text": content}]
        elif isinstance(content, list) and content:
            blocks = content
        else:
            v.append("messages[%d]: content must be a string or non-empty array" % i)
            continue
        answered = set()
        seen_other = False
        uses = []
        for b in blocks:
            bt = b.get("type")
            if bt == "text":
                if not isinstance(b.get("text"), str) or not b["text"]:
                    v.append("messages[%d]: text blocks must be non-empty" % i)
                seen_other = True
            elif bt == "tool_use":
                if role != "assistant":
                    v.append("messages[%d]: tool_use in a user message" % i)
                if not b.get("id") or not isinstance(b.get("input"), dict):
                    v.append("messages[%d]: tool_use needs id and an object input" % i)
                uses.append(b.get("id"))
            elif bt == "tool_result":
                if role != "user":
                    v.append("messages[%d]: tool_result in an assistant message" % i)
                if seen_other:
                    v.append("messages[%d]: tool_result blocks must come first" % i)
                tid = b.get("tool_use_id")
                if pending is None or tid not in pending:
                    v.append("messages[%d]: tool_result for unknown tool_use_id %r" % (i, tid))
                if tid in answered:
                    v.append("messages[%d]: two tool_results for %r" % (i, tid))
                answered.add(tid)
                c = b.get("content")
                if not isinstance(c, (str, list)):
                    v.append("messages[%d]: tool_result content must be a string" % i)
                if "is_error" in b and not isinstance(b["is_error"], bool):
                    v.append("messages[%d]: is_error must be a boolean" % i)
            else:
                v.append("messages[%d]: unknown block type %r" % (i, bt))
        if pending is not None:
            missing = [t for t in pending if t not in answered]
            if missing:
                v.append("messages[%d]: no tool_result for tool_use %s" % (i, ", ".join(missing)))
        pending = uses if (role == "assistant" and uses) else None
    if pending:
        v.append("the last assistant message has tool_use blocks without results")


def check_openai(req, headers, script, v):
    if script.api_key is None:
        # A local server that needs no key ("api_key": null).
        if "authorization" in headers:
            v.append("an authorization header sent to a server that needs no key")
    elif headers.get("authorization") != "Bearer " + script.api_key:
        v.append("authorization: Bearer header missing or wrong")
    if "x-api-key" in headers:
        v.append("x-api-key header sent to an OpenAI API")
    if not isinstance(req.get("model"), str) or not req["model"]:
        v.append("model missing")
    if req.get("stream") is not True:
        v.append("stream must be true")
    tool_names = set()
    for t in req.get("tools", []):
        f = t.get("function", {}) if isinstance(t, dict) else {}
        if t.get("type") != "function" or not f.get("name"):
            v.append("tools must be {type: function, function: {name, ...}}")
            continue
        if f["name"] in tool_names:
            v.append("tool %s declared twice" % f["name"])
        tool_names.add(f["name"])
        if not isinstance(f.get("parameters"), dict):
            v.append("tool %s: parameters must be an object" % f["name"])
    msgs = req.get("messages")
    if not isinstance(msgs, list) or not msgs:
        v.append("messages must be a non-empty array")
        return
    pending = []
    for i, m in enumerate(msgs):
        role = m.get("role")
        if role == "tool":
            tid = m.get("tool_call_id")
            if tid not in pending:
                v.append("messages[%d]: tool message for unknown tool_call_id %r" % (i, tid))
            else:
                pending.remove(tid)
            if not isinstance(m.get("content"), str):
                v.append("messages[%d]: tool content must be a string" % i)
            continue
        if pending:
            v.append("messages[%d]: tool calls %s were not answered" % (i, ", ".join(pending)))
            pending = []
        if role == "assistant":
            calls = m.get("tool_calls") or []
            if m.get("content") is None and not calls:
                v.append("messages[%d]: assistant message without content or tool_calls" % i)
            for c in calls:
                f = c.get("function", {})
                if not c.get("id") or c.get("type") != "function":
                    v.append("messages[%d]: tool_call needs id and type function" % i)
                if not isinstance(f.get("arguments"), str):
                    v.append("messages[%d]: arguments must be a JSON string" % i)
                pending.append(c.get("id"))
        elif role in ("user", "system"):
            if not isinstance(m.get("content"), str) or not m["content"]:
                v.append("messages[%d]: %s content must be a non-empty string" % (i, role))
        else:
            v.append("messages[%d]: bad role %r" % (i, role))
    if pending:
        v.append("tool calls %s were not answered" % ", ".join(pending))


def tool_results(req, provider):
    """The results answering the last assistant turn, in order."""
    msgs = req.get("messages") or []
    out = []
    if provider == "anthropic":
        if msgs and isinstance(msgs[-1].get("content"), list):
            for b in msgs[-1]["content"]:
                if b.get("type") == "tool_result":
                    c = b.get("content")
                    if isinstance(c, list):
                        c = "".join(x.get("text", "") for x in c)
                    out.append({"content": c, "is_error": bool(b.get("is_error"))})
    else:
        for m in reversed(msgs):
            if m.get("role") != "tool":
                break
            c = m.get("content", "")
            out.insert(0, {"content": c, "is_error": c.startswith("ERROR: ")})
    return out


def as_list(x):
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def check_expect(req, raw, expect, provider, v):
    results = tool_results(req, provider)
    want = expect.get("tool_results")
    if want is not None:
        if len(want) != len(results):
            v.append("expected %d tool results, got %d" % (len(want), len(results)))
        for i, (w, r) in enumerate(zip(want, results)):
            for s in as_list(w.get("contains")):
                if s not in r["content"]:
                    v.append("tool result %d lacks %r: %r" % (i, s, r["content"][:300]))
            for s in as_list(w.get("not_contains")):
                if s in r["content"]:
                    v.append("tool result %d contains %r" % (i, s))
            if "is_error" in w and w["is_error"] != r["is_error"]:
                v.append("tool result %d: is_error %s, expected %s (%r)" % (i, r["is_error"], w["is_error"], r["content"][:300]))
    for s in as_list(expect.get("body_contains")):
        if s not in raw:
            v.append("request body lacks %r" % s)
    for s in as_list(expect.get("body_not_contains")):
        if s in raw:
            v.append("request body contains %r" % s)
    if "model" in expect and req.get("model") != expect["model"]:
        v.append("model %r, expected %r" % (req.get("model"), expect["model"]))
    if "max_body_bytes" in expect and len(raw) > expect["max_body_bytes"]:
        v.append("request body is %d bytes, more than %d" % (len(raw), expect["max_body_bytes"]))


# ------------------------------------------------------------------ replies


def split_points(s, how, rng):
    """Cut s into pieces: how is an int (every N chars), "random" or a list
    of cut positions."""
    if isinstance(how, list):
        cuts = sorted(set(p for p in how if 0 < p < len(s)))
    elif isinstance(how, int):
        cuts = list(range(how, len(s), how))
    else:
        cuts, p = [], 0
        while True:
            p += rng.randint(1, 9)
            if p >= len(s):
                break
            cuts.append(p)
    pieces, last = [], 0
    for c in cuts + [len(s)]:
        pieces.append(s[last:c])
        last = c
    return pieces


def sse(event, data, step):
    payload = json.dumps(data, separators=(",", ":")) if not isinstance(data, str) else data
    nl = "\r\n" if step.get("crlf") else "\n"
    out = ""
    if event:
        out += "event: " + event + nl
    out += "data: " + payload + nl + nl
    return out


def anthropic_events(step, model, rng, n):
    r = step.get("reply", {})
    calls = r.get("tool_calls", [])
    stop = r.get("stop_reason", "tool_use" if calls else "end_turn")
    ev = []
    ev.append(sse("message_start", {"type": "message_start", "message": {
        "id": "msg_%d" % n, "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 1}}}, step))
    if step.get("ping", True):
        ev.append(sse("ping", {"type": "ping"}, step))
        ev.append(": keep-alive comment\n\n")
    idx = 0
    text = r.get("text")
    if text:
        ev.append(sse("content_block_start", {"type": "content_block_start", "index": idx,
                                              "content_block": {"type": "text", "text": ""}}, step))
        for piece in split_points(text, step.get("text_split", "random"), rng):
            ev.append(sse("content_block_delta", {"type": "content_block_delta", "index": idx,
                                                  "delta": {"type": "text_delta", "text": piece}}, step))
            if step.get("ping", True) and rng.random() < 0.2:
                ev.append(sse("ping", {"type": "ping"}, step))
        ev.append(sse("content_block_stop", {"type": "content_block_stop", "index": idx}, step))
        idx += 1
    for c in calls:
        ev.append(sse("content_block_start", {"type": "content_block_start", "index": idx,
                                              "content_block": {"type": "tool_use", "id": c["id"],
                                                                "name": c["name"], "input": {}}}, step))
        raw = c["raw_input"] if "raw_input" in c else json.dumps(c.get("input", {}))
        # An empty fragment first, as the API sends.
        pieces = [""] + split_points(raw, step.get("json_split", "random"), rng) if raw else [""]
        for piece in pieces:
            ev.append(sse("content_block_delta", {"type": "content_block_delta", "index": idx,
                                                  "delta": {"type": "input_json_delta",
                                                            "partial_json": piece}}, step))
        ev.append(sse("content_block_stop", {"type": "content_block_stop", "index": idx}, step))
        idx += 1
    if "stream_error" in step:
        ev.append(sse("error", {"type": "error", "error": step["stream_error"]}, step))
        return ev
    if step.get("malformed_event"):
        ev.append("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_de\n\n")
    ev.append(sse("message_delta", {"type": "message_delta",
                                    "delta": {"stop_reason": stop, "stop_sequence": None},
                                    "usage": {"output_tokens": 42}}, step))
    if not step.get("cut"):
        ev.append(sse("message_stop", {"type": "message_stop"}, step))
    return ev


OPENAI_FINISH = {"tool_use": "tool_calls", "end_turn": "stop", "max_tokens": "length",
                 "refusal": "content_filter"}


def openai_events(step, model, rng, n):
    r = step.get("reply", {})
    calls = r.get("tool_calls", [])
    stop = r.get("stop_reason", "tool_use" if calls else "end_turn")
    base = {"id": "chatcmpl-%d" % n, "object": "chat.completion.chunk", "created": 1700000000,
            "model": model}

    def chunk(delta, finish=None):
        d = dict(base)
        d["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
        return sse(None, d, step)

    ev = [chunk({"role": "assistant", "content": ""})]
    text = r.get("text")
    if text:
        for piece in split_points(text, step.get("text_split", "random"), rng):
            ev.append(chunk({"content": piece}))
    for k, c in enumerate(calls):
        ev.append(chunk({"tool_calls": [{"index": k, "id": c["id"], "type": "function",
                                         "function": {"name": c["name"], "arguments": ""}}]}))
        raw = c["raw_input"] if "raw_input" in c else json.dumps(c.get("input", {}))
        for piece in split_points(raw, step.get("json_split", "random"), rng) if raw else []:
            ev.append(chunk({"tool_calls": [{"index": k, "function": {"arguments": piece}}]}))
    if "stream_error" in step:
        ev.append(sse(None, {"error": step["stream_error"]}, step))
        return ev
    if step.get("malformed_event"):
        ev.append("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\n\n")
    if step.get("cut"):
        return ev
    ev.append(chunk({}, OPENAI_FINISH.get(stop, stop)))
    ev.append(sse(None, "[DONE]", step))
    return ev


def error_body(provider, err):
    if provider == "anthropic":
        return {"type": "error", "error": {"type": err.get("type", "api_error"),
                                           "message": err.get("message", "error")}}
    return {"error": {"message": err.get("message", "error"), "type": err.get("type"),
                      "param": None, "code": err.get("code")}}


# ------------------------------------------------------------------ floods


def flood_inputs(f):
    """Each flood block in pieces: block_bytes of 'x' in pieces of
    f["piece"]; for tool calls ("kind": "tool", the default) wrapped in the
    JSON text of write_file's input."""
    piece = f.get("piece", 65536)
    filler = "x" * piece
    tool = f.get("kind", "tool") == "tool"
    for i in range(f.get("blocks", 32)):
        def pieces(i=i):
            if tool:
                yield '{"path": "flood%d.txt", "content": "' % i
            left = f.get("block_bytes", 15000000)
            while left > 0:
                n = min(left, piece)
                yield filler[:n]
                left -= n
            if tool:
                yield '"}'
        yield i, pieces()


def flood_anthropic_sse(f, model):
    yield sse("message_start", {"type": "message_start", "message": {
        "id": "msg_flood", "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "usage": {"input_tokens": 1, "output_tokens": 1}}}, {})
    text = f.get("kind") == "text"
    for i, pieces in flood_inputs(f):
        block = {"type": "text", "text": ""} if text else \
            {"type": "tool_use", "id": "flood_%d" % i, "name": "write_file", "input": {}}
        yield sse("content_block_start", {"type": "content_block_start", "index": i,
                                          "content_block": block}, {})
        for p in pieces:
            delta = {"type": "text_delta", "text": p} if text else \
                {"type": "input_json_delta", "partial_json": p}
            yield sse("content_block_delta", {"type": "content_block_delta", "index": i,
                                              "delta": delta}, {})
        yield sse("content_block_stop", {"type": "content_block_stop", "index": i}, {})
    yield sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                                "usage": {"output_tokens": 1}}, {})
    yield sse("message_stop", {"type": "message_stop"}, {})


def flood_openai_sse(f, model):
    base = {"id": "chatcmpl-flood", "object": "chat.completion.chunk", "created": 1700000000,
            "model": model}

    def chunk(delta, finish=None):
        d = dict(base)
        d["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
        return sse(None, d, {})

    yield chunk({"role": "assistant", "content": ""})
    if f.get("kind") == "text":
        for i, pieces in flood_inputs(f):
            for p in pieces:
                yield chunk({"content": p})
        yield chunk({}, "stop")
        yield sse(None, "[DONE]", {})
        return
    for i, pieces in flood_inputs(f):
        yield chunk({"tool_calls": [{"index": i, "id": "flood_%d" % i, "type": "function",
                                     "function": {"name": "write_file", "arguments": ""}}]})
        for p in pieces:
            yield chunk({"tool_calls": [{"index": i, "function": {"arguments": p}}]})
    yield chunk({}, "tool_calls")
    yield sse(None, "[DONE]", {})


def flood_json(f, provider):
    """One non-streamed reply, written piece by piece."""
    if provider == "anthropic":
        yield '{"id": "msg_flood", "type": "message", "role": "assistant", "content": ['
    else:
        yield '{"id": "chatcmpl-flood", "object": "chat.completion", "choices": [{"index": 0, ' \
              '"message": {"role": "assistant", "content": null, "tool_calls": ['
    for i, pieces in flood_inputs(f):
        sep = ", " if i else ""
        if provider == "anthropic":
            yield sep + '{"type": "tool_use", "id": "flood_%d", "name": "write_file", "input": ' % i
            for p in pieces:
                yield p
            yield "}"
        else:
            yield sep + '{"id": "flood_%d", "type": "function", "function": {"name": "write_file", ' \
                        '"arguments": "' % i
            for p in pieces:
                yield p.replace('"', '\\"')
            yield '"}}'
    if provider == "anthropic":
        yield '], "stop_reason": "tool_use"}'
    else:
        yield ']}, "finish_reason": "tool_calls"}]}'


# ------------------------------------------------------------------- server


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The headers and each chunk are written apart: with Nagle's
    # algorithm on, each later write waits for the client's delayed ACK
    # (40 ms a reply here), which a real API server does not make it do.
    disable_nagle_algorithm = True
    server_version = "llm-test-server/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def do_GET(self):
        self.send_json(404, {"error": "only POST"})

    def send_json(self, status, obj, extra_headers=None):
        body = (obj if isinstance(obj, str) else json.dumps(obj)).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        for k, val in (extra_headers or {}).items():
            self.send_header(k, str(val))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_POST(self):
        srv = self.server
        script = srv.script
        length = int(self.headers.get("content-length", "0"))
        raw = self.rfile.read(length).decode("utf-8", "replace")
        headers = {k.lower(): val for k, val in self.headers.items()}
        n, step = script.next_step()
        v = []
        try:
            req = json.loads(raw)
        except ValueError as e:
            req = {}
            v.append("request body is not JSON: %s" % e)
        provider = script.provider
        want_path = "/v1/messages" if provider == "anthropic" else "/v1/chat/completions"
        if self.path != want_path:
            v.append("POST %s, expected %s" % (self.path, want_path))
        if req:
            if provider == "anthropic":
                check_anthropic(req, headers, script, v)
            else:
                check_openai(req, headers, script, v)
        if step is None:
            v.append("no more scripted steps (request %d)" % n)
        elif req:
            check_expect(req, raw, step.get("expect", {}), provider, v)
        srv.record({"n": n, "time": time.monotonic(), "path": self.path,
                    "headers": headers, "body": req, "body_bytes": len(raw),
                    "violations": v})
        if v:
            self.send_json(400, error_body(provider, {
                "type": "invalid_request_error",
                "message": "test server: " + "; ".join(v)}))
            return
        if step.get("delay_ms"):
            time.sleep(step["delay_ms"] / 1000.0)
        if step.get("hang"):
            # Headers, then silence, until the client gives up.
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            try:
                for _ in range(600):
                    time.sleep(0.1)
                    self.write_chunk(b": waiting\n\n")
            except OSError:
                pass
            self.close_connection = True
            return
        if "flood" in step:
            self.flood(step["flood"], script.provider, req.get("model", "?"))
            return
        status = step.get("status", 200)
        if status != 200 or "body" in step:
            body = step.get("body")
            if body is None:
                body = error_body(provider, step.get("error", {}))
            self.send_json(status, body, step.get("headers"))
            return
        self.stream(step, req.get("model", "?"), n, script)

    def flood(self, f, provider, model):
        """A reply far larger than any client should hold: generated as it
        is sent, until the client hangs up."""
        if f.get("as") == "json":
            ctype, events = "application/json", flood_json(f, provider)
        elif provider == "anthropic":
            ctype, events = "text/event-stream", flood_anthropic_sse(f, model)
        else:
            ctype, events = "text/event-stream", flood_openai_sse(f, model)
        self.send_response(200)
        self.send_header("content-type", ctype)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        try:
            for ev in events:
                self.write_chunk(ev.encode())
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True

    def stream(self, step, model, n, script):
        events = (anthropic_events if script.provider == "anthropic" else openai_events)(
            step, model, script.rng, n)
        data = "".join(events).encode()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        for k, val in step.get("headers", {}).items():
            self.send_header(k, str(val))
        self.end_headers()
        self.wfile.flush()
        how = step.get("chunking", "random")
        pieces = [data] if how == "whole" else split_points(
            data, how if isinstance(how, int) else "random", script.rng)
        try:
            for i, p in enumerate(pieces):
                self.write_chunk(p)
                # Let the client see each piece on its own now and then.
                if i < 300 and i % 3 == 0:
                    time.sleep(0.0005)
            if step.get("cut") == "abort":
                # Close in the middle of the chunked body.
                self.wfile.write(b"10\r\npartial")
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, script, log_path):
        super().__init__(("127.0.0.1", 0), Handler)
        self.script = script
        self.log_lock = threading.Lock()
        self.log_path = log_path

    def record(self, entry):
        with self.log_lock, open(self.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    srv = Server(Script(a.script), a.log)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)

    # A test that dies (a failed assertion, a crash) never stops its server:
    # leave with the process that started this one.
    parent = os.getppid()

    def watch_parent():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    try:
        srv.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
