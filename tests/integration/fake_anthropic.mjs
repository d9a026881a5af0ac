// A stand-in for the Anthropic Messages API on loopback, enough for Claude Code to run a turn:
// every POST /v1/messages is answered with one assistant text, streamed (SSE) when asked.
// Records the requests it saw. Used to drive the real Claude Code (installed from npm) offline.
import http from "node:http";

export const FAKE_REPLY = ["hi from ", "the fake API"];

/** Starts the fake API: { url, requests: [{method, url, body}], close() }. */
export function startFakeAnthropic() {
  const requests = [];
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      requests.push({ method: req.method, url: req.url, body });
      if (req.method === "POST" && req.url.includes("count_tokens")) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"input_tokens":3}');
        return;
      }
      if (req.method !== "POST" || !req.url.startsWith("/v1/messages")) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end('{"type":"error","error":{"type":"not_found_error","message":"not in the fake API"}}');
        return;
      }
      const message = { id: "msg_fake_1", type: "message", role: "assistant", model: "claude-sonnet-4-5", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 3, output_tokens: 0 } };
      if (!/"stream":\s*true/.test(body)) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ ...message, content: [{ type: "text", text: FAKE_REPLY.join("") }], stop_reason: "end_turn", usage: { input_tokens: 3, output_tokens: 5 } }));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      const ev = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
      ev("message_start", { message });
      ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
      for (const text of FAKE_REPLY) ev("content_block_delta", { index: 0, delta: { type: "text_delta", text } });
      ev("content_block_stop", { index: 0 });
      ev("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 5 } });
      ev("message_stop", {});
      res.end();
    });
  });
  return new Promise((resolve) =>
    srv.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${srv.address().port}`,
        requests,
        close: () => new Promise((r) => srv.close(r)),
      }),
    ),
  );
}
