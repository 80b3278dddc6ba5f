import Foundation
import Sandbox
import System

/// A real HTTP server on 127.0.0.1 (Python's `http.server`, threaded) that receives
/// notifications: every POST is recorded with its path, headers, raw body and arrival time; a
/// path decides the answer — `/ok...` 200, `/fail...` 500, `/hang...` nothing for 60 s.
public final class NotifyReceiver: @unchecked Sendable {
    /// One request as it arrived.
    public struct Request: Sendable {
        public var path: String
        public var headers: [String: String]
        public var body: Data
        public var received: Date

        /// The body as JSON.
        public var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
    }

    public let port: Int
    private let log: String
    private let process: ChildProcess

    /// Starts the server.
    public init() throws {
        let directory = try TestHosts.makeTemporaryDirectory(name: "receiver")
        let script = directory + "/receiver.py"
        log = directory + "/requests.jsonl"
        try Self.source.write(toFile: script, atomically: true, encoding: .utf8)
        port = try HostTools.freePort()
        process = try ChildProcess("/usr/bin/python3", [script, String(port), log], stderr: directory + "/receiver.log")
        try HostTools.waitForListener(port: port, prefix: nil)
    }

    deinit { stop() }

    /// Stops the server (by its pid).
    public func stop() {
        process.signal(SIGKILL)
        process.wait()
    }

    /// A URL of this server with `path`.
    public func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Every request received so far, in order.
    public var requests: [Request] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let path = object["path"] as? String, let body = (object["body"] as? String).flatMap({ Data(base64Encoded: $0) }),
                let received = object["time"] as? Double
            else { return nil }
            return Request(
                path: path, headers: object["headers"] as? [String: String] ?? [:], body: body,
                received: Date(timeIntervalSince1970: received))
        }
    }

    static let source = """
        import base64, json, sys, threading, time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        port, log = int(sys.argv[1]), sys.argv[2]
        lock = threading.Lock()
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length)
                entry = {'path': self.path, 'headers': {k: v for k, v in self.headers.items()},
                         'body': base64.b64encode(body).decode(), 'time': time.time()}
                with lock:
                    with open(log, 'a') as f:
                        f.write(json.dumps(entry) + '\\n')
                if self.path.startswith('/hang'):
                    time.sleep(60)
                if self.path.startswith('/redirect'):
                    self.send_response(307)
                    self.send_header('Location', 'http://127.0.0.1:%d/ok/redirected' % port)
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                code = 500 if self.path.startswith('/fail') else 200
                self.send_response(code)
                self.send_header('Content-Length', '2')
                self.end_headers()
                self.wfile.write(b'ok')
            def log_message(self, *args):
                pass
        ThreadingHTTPServer.daemon_threads = True
        ThreadingHTTPServer(('127.0.0.1', port), Handler).serve_forever()
        """
}
